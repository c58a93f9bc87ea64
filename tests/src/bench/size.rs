//! Store size on disk against gzip'd JSON of the same data. The store is
//! measured closed and checkpointed: a plain (or SQLCipher-keyed) rusqlite
//! connection runs `PRAGMA wal_checkpoint(TRUNCATE)`, so every page is in the
//! main file and the `-wal` file is empty; its size is reported anyway. A
//! per-table breakdown (tables with their indexes, from `dbstat`) and the
//! size after `VACUUM INTO` say where the bytes go.

use super::{Export, Res, BENCH_KEY};
use flate2::write::GzEncoder;
use flate2::Compression;
use rusqlite::Connection;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// The store's footprint on disk.
#[derive(Debug, Serialize)]
pub struct StoreSize {
    /// Main database file after `wal_checkpoint(TRUNCATE)`.
    pub main_bytes: u64,
    /// `-wal` file after the checkpoint (0 when absent).
    pub wal_bytes: u64,
    /// Free pages inside the main file (`freelist_count × page_size`).
    pub free_bytes: u64,
    /// Bytes of the Automerge document tables (`docs`, `doc_chunks`,
    /// `sync_docs`, with their indexes).
    pub doc_bytes: u64,
    /// Bytes of every other table (read models, device) with its indexes.
    pub read_model_bytes: u64,
    /// Size of a `VACUUM INTO` copy, if SQLite could make one.
    pub vacuumed_bytes: Option<u64>,
    /// Largest tables (with their indexes), bytes, largest first.
    pub tables: Vec<(String, u64)>,
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// Open a raw connection to the store file, keyed like the store.
fn open_raw(path: &Path, encrypted: bool) -> Res<Connection> {
    let conn = Connection::open(path)?;
    if encrypted {
        let hex: String = BENCH_KEY.iter().map(|b| format!("{b:02x}")).collect();
        conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))?;
    }
    Ok(conn)
}

/// An integer pragma. SQLCipher answers some of them (`page_size`) as text.
fn pragma_int(conn: &Connection, name: &str) -> Res<i64> {
    let value: rusqlite::types::Value =
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?;
    Ok(match value {
        rusqlite::types::Value::Integer(i) => i,
        rusqlite::types::Value::Text(t) => t.trim().parse()?,
        other => return Err(format!("PRAGMA {name} returned {other:?}").into()),
    })
}

/// Measure the store file at `path`. The store must be closed.
pub fn measure_store(path: &Path, encrypted: bool) -> Res<StoreSize> {
    let conn = open_raw(path, encrypted)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let page = pragma_int(&conn, "page_size")?;
    let free = pragma_int(&conn, "freelist_count")?;
    let mut stmt = conn.prepare(
        "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s
         LEFT JOIN sqlite_master m ON m.name = s.name GROUP BY 1 ORDER BY 2 DESC",
    )?;
    let tables = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    drop(stmt);
    let is_doc = |t: &str| matches!(t, "docs" | "doc_chunks" | "sync_docs");
    let doc_bytes = tables
        .iter()
        .filter(|(t, _)| is_doc(t))
        .map(|(_, b)| b)
        .sum();
    let read_model_bytes = tables
        .iter()
        .filter(|(t, _)| !is_doc(t))
        .map(|(_, b)| b)
        .sum();
    let copy = with_suffix(path, ".vacuumed");
    let vacuumed_bytes = conn
        .execute("VACUUM INTO ?1", [copy.to_string_lossy()])
        .ok()
        .map(|_| file_len(&copy));
    let _ = std::fs::remove_file(&copy);
    drop(conn);
    Ok(StoreSize {
        main_bytes: file_len(path),
        wal_bytes: file_len(&with_suffix(path, "-wal")),
        free_bytes: (free * page) as u64,
        doc_bytes,
        read_model_bytes,
        vacuumed_bytes,
        tables,
    })
}

/// The same data as JSON: (plain bytes, gzip bytes at the default level).
pub fn gzip_json(data: &Export) -> Res<(u64, u64)> {
    let json = serde_json::to_vec(data)?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&json)?;
    let gz = gz.finish()?;
    Ok((json.len() as u64, gz.len() as u64))
}
