//! `stowage migrate-meta`: an embedded deployment's metadata copied into an empty PostgreSQL database, row for
//! row (the record bodies are the same JSON in both stores), in one PostgreSQL transaction: a copy that fails
//! part-way leaves the target as it was.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use stowage_core::{Error, Result};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

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

/// One SQLite value as a parameter for PostgreSQL (the copy's columns are text, integers and blobs).
fn value(row: &rusqlite::Row<'_>, i: usize) -> Result<Box<dyn ToSql + Sync + Send>> {
    use rusqlite::types::ValueRef;
    Ok(match row.get_ref(i).map_err(sqlite_err)? {
        ValueRef::Integer(n) => Box::new(n),
        ValueRef::Text(t) => Box::new(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Box::new(b.to_vec()),
        ValueRef::Real(r) => Box::new(r),
        ValueRef::Null => Box::new(Option::<String>::None),
    })
}

/// Copies every row `select` yields from SQLite into PostgreSQL through `insert` (same columns, in order).
async fn copy_table(source: &Connection, target: &tokio_postgres::Transaction<'_>, select: &str, insert: &str) -> Result<u64> {
    let insert = target.prepare(insert).await.map_err(pg_err)?;
    let mut stmt = source.prepare(select).map_err(sqlite_err)?;
    let columns = stmt.column_count();
    let mut rows = stmt.query([]).map_err(sqlite_err)?;
    let mut batch: Vec<Vec<Box<dyn ToSql + Sync + Send>>> = Vec::with_capacity(PIPELINE);
    let mut copied = 0u64;
    loop {
        let row = rows.next().map_err(sqlite_err)?;
        if let Some(row) = row {
            batch.push((0..columns).map(|i| value(row, i)).collect::<Result<_>>()?);
        }
        if batch.len() == PIPELINE || (row.is_none() && !batch.is_empty()) {
            let pending = batch.iter().map(|values| {
                let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref() as &(dyn ToSql + Sync)).collect();
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
    let config: tokio_postgres::Config = url.parse().map_err(|e| Error::invalid(format!("invalid PostgreSQL URL: {e}")))?;
    let (mut client, connection) = config.connect(NoTls).await.map_err(pg_err)?;
    let driver = tokio::spawn(connection);
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
        keys: copy_table(
            &source,
            &tx,
            "SELECT key_id, body FROM app_keys",
            "INSERT INTO app_keys (key_id, body) VALUES ($1, $2::text::json)",
        )
        .await?,
        buckets: copy_table(
            &source,
            &tx,
            "SELECT bucket_id, name_lower, revision, body FROM buckets",
            "INSERT INTO buckets (bucket_id, name_lower, revision, body) VALUES ($1, $2, $3, $4::text::json)",
        )
        .await?,
        ..CopyReport::default()
    };
    report.versions = copy_table(
        &source,
        &tx,
        "SELECT file_id, bucket_id, name, action, size, upload_ts, body FROM versions",
        "INSERT INTO versions (file_id, bucket_id, name, action, size, upload_ts, body) VALUES ($1, $2, $3, $4, $5, $6, $7::text::json)",
    )
    .await?;
    copy_table(&source, &tx, "SELECT blob_id, file_id FROM version_blobs", "INSERT INTO version_blobs (blob_id, file_id) VALUES ($1, $2)")
        .await?;
    report.parts = copy_table(
        &source,
        &tx,
        "SELECT file_id, part_number, blob_id, body FROM parts",
        "INSERT INTO parts (file_id, part_number, blob_id, body) VALUES ($1, $2::bigint::integer, $3, $4::text::json)",
    )
    .await?;
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
