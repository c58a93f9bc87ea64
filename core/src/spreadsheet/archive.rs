//! The zip-bomb check of an XLSX file: its central directory (the archive's
//! table of contents, read without inflating anything) against the
//! [`Limits`]: entry count, each entry's declared uncompressed size, their
//! total, and each entry's compression ratio.
//!
//! The declared sizes are binding: the `zip` crate stops inflating an entry
//! with an error once it produces more than its declared size, so an archive
//! that understates a size fails while being read instead of unpacking.

use super::{mib, too_large, Limits};
use crate::{Error, Result};
use std::io::Cursor;

/// Check the archive `bytes` against `limits`; `field` names the input.
/// An unreadable archive is a [`Error::Validation`] saying so.
pub(super) fn check(bytes: &[u8], limits: &Limits, field: &str) -> Result<()> {
    let not_xlsx = || Error::invalid(field, "不是有效的 xlsx 文件 / not a readable .xlsx file");
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| not_xlsx())?;
    let entries = archive.len() as u64;
    if entries > limits.entries {
        return Err(too_large(
            field,
            limits.entries,
            format!(
                "xlsx 文件内含超过 {0} 个部件（上限）/ the xlsx archive holds more than {0} parts (the limit)",
                limits.entries
            ),
        ));
    }
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).map_err(|_| not_xlsx())?;
        let (size, packed) = (entry.size(), entry.compressed_size());
        if size > limits.entry_bytes {
            return Err(too_large(
                field,
                limits.entry_bytes,
                format!(
                    "xlsx 文件中的一个部件解压后超过 {0}（上限）/ a part of the xlsx archive unpacks to more than {0} (the limit)",
                    mib(limits.entry_bytes)
                ),
            ));
        }
        total = total.saturating_add(size);
        if total > limits.total_bytes {
            return Err(too_large(
                field,
                limits.total_bytes,
                format!(
                    "xlsx 文件解压后超过 {0}（上限）/ the xlsx file unpacks to more than {0} (the limit)",
                    mib(limits.total_bytes)
                ),
            ));
        }
        if size > limits.ratio_from_bytes && size / packed.max(1) > limits.ratio {
            return Err(too_large(
                field,
                limits.ratio,
                format!(
                    "xlsx 文件中的一个部件压缩比超过 {0}:1（上限），疑为压缩炸弹 / a part of the xlsx archive is compressed more than {0}:1 (the limit), like a zip bomb",
                    limits.ratio
                ),
            ));
        }
    }
    Ok(())
}
