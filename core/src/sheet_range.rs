//! Reading one worksheet of an untrusted `.xlsx` with bounded memory.
//!
//! calamine's `worksheet_range` lays the cells out densely over their
//! bounding box: a 7 KB workbook with one cell in `A1` and one in
//! `XFD1048576` asks for 17 billion cells (512 GiB) and the allocation
//! failure aborts the process — the phone app or the server importing a
//! register or an XLSForm. Found by the fuzz targets (issue 12 §5). Here the
//! cells are streamed and the box is refused above [`MAX_CELLS`] before
//! anything dense is allocated; otherwise the result is what
//! `worksheet_range` gives.

use calamine::{Cell, Data, DataRef, Range, Xlsx, XlsxError};
use std::io::{Read, Seek};

/// Most cells (rows × columns of the used box) a sheet may span: far above
/// any register or form (10 000 rows × 50 columns is 500 000), far below
/// what would strain a phone (`Data` is 32 bytes: 64 MiB).
pub(crate) const MAX_CELLS: u64 = 2_000_000;

/// Why a sheet was not read.
#[derive(Debug)]
pub(crate) enum SheetError {
    /// calamine could not read it.
    Unreadable,
    /// Its used cells span more than [`MAX_CELLS`].
    TooLarge,
}

/// Sheet `name` of `book` as a dense range, like calamine's
/// `worksheet_range` (empty cells dropped, a chart sheet is empty), but
/// refused when its cells span more than [`MAX_CELLS`].
pub(crate) fn worksheet_range<R: Read + Seek>(
    book: &mut Xlsx<R>,
    name: &str,
) -> Result<Range<Data>, SheetError> {
    let mut reader = match book.worksheet_cells_reader(name) {
        Ok(reader) => reader,
        Err(XlsxError::NotAWorksheet(_)) => return Ok(Range::default()),
        Err(_) => return Err(SheetError::Unreadable),
    };
    let mut cells: Vec<Cell<Data>> = Vec::new();
    let (mut low, mut high) = ((u32::MAX, u32::MAX), (0u32, 0u32));
    while let Some(cell) = reader.next_cell().map_err(|_| SheetError::Unreadable)? {
        if matches!(cell.get_value(), DataRef::Empty) {
            continue;
        }
        let (row, col) = cell.get_position();
        low = (low.0.min(row), low.1.min(col));
        high = (high.0.max(row), high.1.max(col));
        let area = (u64::from(high.0 - low.0) + 1) * (u64::from(high.1 - low.1) + 1);
        if area > MAX_CELLS {
            return Err(SheetError::TooLarge);
        }
        cells.push(Cell::new((row, col), Data::from(cell.get_value().clone())));
    }
    Ok(Range::from_sparse(cells))
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::Reader;
    use std::io::Cursor;

    fn book(cells: &[(u32, u16, &str)]) -> Xlsx<Cursor<Vec<u8>>> {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        for (row, col, text) in cells {
            sheet.write_string(*row, *col, *text).unwrap();
        }
        let bytes = workbook.save_to_buffer().unwrap();
        calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap()
    }

    #[test]
    fn reads_what_calamine_reads() {
        let cells = [(1, 1, "a"), (1, 3, "b"), (4, 2, "c")];
        let ours = worksheet_range(&mut book(&cells), "Sheet1").unwrap();
        let theirs = book(&cells).worksheet_range("Sheet1").unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.start(), Some((1, 1)));
        assert_eq!(ours.get_value((4, 2)), Some(&Data::String("c".into())));
    }

    /// The fuzz finding: two cells in opposite corners of the largest sheet
    /// (a 7 KB file) used to abort the process on a 512 GiB allocation.
    #[test]
    fn a_sheet_spanning_the_whole_grid_is_refused_not_allocated() {
        let mut far = book(&[(0, 0, "a"), (1_048_575, 16_383, "z")]);
        assert!(matches!(
            worksheet_range(&mut far, "Sheet1"),
            Err(SheetError::TooLarge)
        ));
        let mut wide = book(&[(0, 0, "a"), (0, 16_383, "z"), (200, 0, "b")]);
        assert!(matches!(
            worksheet_range(&mut wide, "Sheet1"),
            Err(SheetError::TooLarge)
        ));
        let mut missing = book(&[(0, 0, "a")]);
        assert!(matches!(
            worksheet_range(&mut missing, "Nope"),
            Err(SheetError::Unreadable)
        ));
    }
}
