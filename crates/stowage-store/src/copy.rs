//! `stowage migrate-meta`: an embedded deployment's metadata copied into an empty PostgreSQL database, row for
//! row (both schemas have the same columns, `records`), in one PostgreSQL transaction: a copy that fails
//! part-way leaves the target as it was.

use std::borrow::Cow;
use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use stowage_core::{Error, Result};

use crate::pg_connect::Database;
use crate::postgres::bind;
use crate::records::{BUCKETS, KEYS, PARTS, Table, VERSIONS, Value};

/// Rows copied per table.
#[derive(Debug, Default)]
pub struct CopyReport {
    pub keys: u64,
    pub buckets: u64,
    pub versions: u64,
    pub parts: u64,
    pub small_blobs: u64,
    pub queued_deletes: u64,
}

/// Statements sent before their answers are awaited (tokio-postgres pipelines them on one connection).
const PIPELINE: usize = 256;

fn sqlite_err(e: rusqlite::Error) -> Error {
    Error::internal(format!("reading the embedded store: {e}"))
}

fn pg_err(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => Error::internal(format!("writing to PostgreSQL: {} ({})", db.message(), db.code().code())),
        None => Error::internal(format!("writing to PostgreSQL: {e}")),
    }
}

/// One SQLite value as a parameter for PostgreSQL; the target column's type decides its encoding (SQLite's
/// integer booleans, JSON documents kept as text).
fn value(row: &rusqlite::Row<'_>, i: usize) -> Result<Value<'static>> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(i).map_err(sqlite_err)? {
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Text(t) => Value::Text(Cow::Owned(String::from_utf8_lossy(t).into_owned())),
        ValueRef::Blob(b) => Value::Bytes(Cow::Owned(b.to_vec())),
        ValueRef::Null => Value::Null,
        ValueRef::Real(r) => return Err(Error::internal(format!("unexpected real value {r} in column {i}"))),
    })
}

/// Copies every row `select` yields from SQLite into PostgreSQL through `insert` (same columns, in order).
async fn copy_table(source: &Connection, target: &tokio_postgres::Transaction<'_>, select: &str, insert: &str) -> Result<u64> {
    let insert = target.prepare(insert).await.map_err(pg_err)?;
    let mut stmt = source.prepare(select).map_err(sqlite_err)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query([]).map_err(sqlite_err)?;
    let mut batch: Vec<Vec<Value<'static>>> = Vec::with_capacity(PIPELINE);
    let mut copied = 0u64;
    loop {
        let row = rows.next().map_err(sqlite_err)?;
        if let Some(row) = row {
            batch.push((0..columns).map(|i| value(row, i)).collect::<Result<_>>()?);
        }
        if batch.len() == PIPELINE || (row.is_none() && !batch.is_empty()) {
            let pending = batch.iter().map(|values| {
                let params = bind(values);
                let insert = &insert;
                async move { target.execute(insert, &params).await }
            });
            for done in futures::future::join_all(pending).await {
                done.map_err(pg_err)?;
            }
            copied += batch.len() as u64;
            batch.clear();
        }
        if row.is_none() {
            return Ok(copied);
        }
    }
}

/// Copies a table of records, every column.
async fn copy_records(source: &Connection, target: &tokio_postgres::Transaction<'_>, table: &Table) -> Result<u64> {
    copy_table(source, target, &format!("SELECT {} FROM {}", table.list(), table.name), &table.insert('$')).await
}

/// Copies the embedded store at `sqlite_path` into the PostgreSQL database at `url`, which must hold no
/// keys, buckets or files yet (nodes may have started on it: the facts they settled are replaced by the
/// embedded deployment's, so its key ids and tokens stay valid).
pub async fn sqlite_to_postgres(sqlite_path: &Path, url: &str) -> Result<CopyReport> {
    if !sqlite_path.exists() {
        return Err(Error::invalid(format!("no embedded metadata store at {}", sqlite_path.display())));
    }
    // The source is brought to this build's schema first, so the copy reads the columns it expects.
    crate::sqlite::SqliteStore::migrate_file(sqlite_path)?;
    crate::postgres::migrate(url).await?;
    let source = Connection::open_with_flags(sqlite_path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite_err)?;
    let database = Database::parse(url, std::time::Duration::from_secs(30))?;
    let (mut client, driver) = database.connect().await.map_err(pg_err)?;
    let tx = client.transaction().await.map_err(pg_err)?;
    for table in ["app_keys", "buckets", "versions"] {
        let used: bool = tx.query_one(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[]).await.map_err(pg_err)?.get(0);
        if used {
            return Err(Error::invalid(format!("the PostgreSQL database already holds {table}: migrate-meta copies into an empty one")));
        }
    }
    copy_table(
        &source,
        &tx,
        "SELECT k, v FROM meta",
        "INSERT INTO meta (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
    )
    .await?;
    let mut report = CopyReport {
        keys: copy_records(&source, &tx, &KEYS).await?,
        buckets: copy_records(&source, &tx, &BUCKETS).await?,
        ..CopyReport::default()
    };
    report.versions = copy_records(&source, &tx, &VERSIONS).await?;
    copy_table(&source, &tx, "SELECT blob_id, file_id FROM version_blobs", "INSERT INTO version_blobs (blob_id, file_id) VALUES ($1, $2)")
        .await?;
    report.parts = copy_records(&source, &tx, &PARTS).await?;
    report.queued_deletes = copy_table(
        &source,
        &tx,
        "SELECT blob_id, queued FROM gc_queue",
        "INSERT INTO gc_queue (blob_id, queued) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .await?;
    report.small_blobs = copy_table(
        &source,
        &tx,
        "SELECT blob_id, written, data FROM small_blobs",
        "INSERT INTO small_blobs (blob_id, written, data) VALUES ($1, $2, $3)",
    )
    .await?;
    copy_table(
        &source,
        &tx,
        "SELECT key_id, sealed, created FROM kms_keys",
        "INSERT INTO kms_keys (key_id, sealed, created) VALUES ($1, $2, $3)",
    )
    .await?;
    copy_table(
        &source,
        &tx,
        "SELECT bucket_id, day, files, bytes FROM usage_daily",
        "INSERT INTO usage_daily (bucket_id, day, files, bytes) VALUES ($1, $2, $3, $4)",
    )
    .await?;
    copy_table(
        &source,
        &tx,
        "SELECT id_hash, record, expires FROM console_sessions",
        "INSERT INTO console_sessions (id_hash, record, expires) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .await?;
    tx.commit().await.map_err(pg_err)?;
    drop(client);
    let _ = driver.await;
    Ok(report)
}

/// Copies the embedded layout's blob files (`<data>/blobs/xx/<id>`) into `target` (a shared blob directory),
/// each fsynced, skipping files already there with the same length. Returns how many were copied.
pub fn copy_blob_files(data: &Path, target: &Path) -> Result<u64> {
    let source = data.join("blobs");
    let mut copied = 0;
    for i in 0..=255u8 {
        let shard = format!("{i:02x}");
        let (from, to) = (source.join(&shard), target.join(&shard));
        std::fs::create_dir_all(&to)?;
        let Ok(entries) = std::fs::read_dir(&from) else { continue };
        for entry in entries {
            let entry = entry?;
            let dest = to.join(entry.file_name());
            let len = entry.metadata()?.len();
            if std::fs::metadata(&dest).is_ok_and(|m| m.len() == len) {
                continue;
            }
            let staged = to.join(format!(".{}.copying", entry.file_name().to_string_lossy()));
            std::fs::copy(entry.path(), &staged)?;
            std::fs::File::open(&staged)?.sync_all()?;
            std::fs::rename(&staged, &dest)?;
            copied += 1;
        }
        std::fs::File::open(&to)?.sync_all()?;
    }
    Ok(copied)
}
