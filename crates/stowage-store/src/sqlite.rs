//! The embedded metadata store: SQLite in WAL mode with `synchronous=FULL`, one writer connection and a
//! few readers. Rows map to records in `records`; names compare as bytes (SQLite's BINARY collation).
//! The schema is `migrations/sqlite/`, applied at open.

use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use stowage_core::model::{Action, AppKey, Bucket, DailyUsage, FileVersion, KmsKey, Millis, Part};
use stowage_core::names::prefix_upper_bound;
use stowage_core::service::wall_clock;
use stowage_core::store::{FinishPlan, LatestCheck, ListCursor, MetadataStore, ServerIdentity, VersionChange, VersionCheck};
use stowage_core::{Error, Result};

use crate::cache::RowCache;
use crate::records::{self, BUCKETS, Columns, KEYS, PARTS, VERSIONS, Value};
use crate::tiered::SmallBlobRows;

const READERS: usize = 4;

/// A write waiting for the writer thread: it runs inside a savepoint of the current batch and returns
/// whether it failed plus what to do once the batch's commit has succeeded or failed.
type WriteJob = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;
type Completion = Box<dyn FnOnce(Result<()>) + Send>;

/// Most writes one commit (one fsync) covers.
const MAX_BATCH: usize = 512;

pub struct SqliteStore {
    writer: std::sync::mpsc::Sender<WriteJob>,
    readers: Arc<Vec<Mutex<Connection>>>,
    next_reader: AtomicUsize,
    /// Every S3 request reads its key and bucket; these spare the database those reads.
    keys: RowCache<AppKey>,
    buckets_by_id: RowCache<Bucket>,
    buckets_by_name: RowCache<Bucket>,
}

#[track_caller]
fn db_err(e: impl std::fmt::Display) -> Error {
    let text = e.to_string();
    // SQLITE_FULL's fixed message: the disk (or the database's size limit) has no room for the write.
    if text.contains("database or disk is full") {
        tracing::warn!(location = %std::panic::Location::caller(), "metadata store: {text}");
        return Error::StorageFull("storage is full: the metadata store has no room for the write".into());
    }
    Error::internal(format!("metadata store: {text}"))
}

impl Columns for rusqlite::Row<'_> {
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.get(i).map_err(db_err)
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        self.get(i).map_err(db_err)
    }

    fn opt_bool(&self, i: usize) -> Result<Option<bool>> {
        self.get(i).map_err(db_err)
    }

    fn opt_doc<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<Option<T>> {
        // Decoded straight from SQLite's buffer: a listing page is a thousand rows.
        match self.get_ref(i).map_err(db_err)? {
            ValueRef::Null => Ok(None),
            value => serde_json::from_str(value.as_str().map_err(db_err)?).map(Some).map_err(db_err),
        }
    }
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Int(n) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*n)),
            Value::Bool(b) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(i64::from(*b))),
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

// Row decoders for rusqlite's row type (a generic decoder cannot be passed for every row lifetime).
fn version_row(row: &rusqlite::Row<'_>) -> Result<FileVersion> {
    records::version_from(row)
}

fn bucket_row(row: &rusqlite::Row<'_>) -> Result<Bucket> {
    records::bucket_from(row)
}

fn key_row(row: &rusqlite::Row<'_>) -> Result<AppKey> {
    records::key_from(row)
}

fn kms_key_row(row: &rusqlite::Row<'_>) -> Result<KmsKey> {
    Ok(KmsKey { key_id: row.get(0).map_err(db_err)?, sealed: row.get(1).map_err(db_err)?, created: row.get(2).map_err(db_err)? })
}

fn part_row(row: &rusqlite::Row<'_>) -> Result<Part> {
    records::part_from(row)
}

/// Every row `sql` yields, decoded.
fn rows<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    let mut rows = stmt.query(params).map_err(db_err)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(db_err)? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// The first row `sql` yields, decoded.
fn first_row<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(db_err)?;
    let mut rows = stmt.query(params).map_err(db_err)?;
    rows.next().map_err(db_err)?.map(decode).transpose()
}

/// Runs `sql` with a record's column values.
fn execute_values(conn: &Connection, sql: &str, values: &[Value<'_>]) -> Result<usize> {
    conn.prepare_cached(sql).and_then(|mut stmt| stmt.execute(params_from_iter(values))).map_err(db_err)
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(db_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(db_err)?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;").map_err(db_err)?;
    Ok(conn)
}

impl SqliteStore {
    /// Inserts a version (after `check`, if any, accepts the name's newest version) in one write
    /// transaction; SQLite's single writer makes the check and the insert one step.
    async fn insert_checked(&self, version: &FileVersion, check: Option<LatestCheck>) -> Result<()> {
        let v = version.clone();
        self.write(move |tx| {
            let bucket_exists: bool = tx
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM buckets WHERE bucket_id = ?1)")
                .and_then(|mut stmt| stmt.query_row([&v.bucket_id], |r| r.get(0)))
                .map_err(db_err)?;
            if !bucket_exists {
                return Err(Error::BucketNotFound(v.bucket_id.clone()));
            }
            if let Some(check) = check {
                check(latest_version_tx(tx, &v.bucket_id, &v.name)?.as_ref())?;
            }
            execute_values(tx, &VERSIONS.insert('?'), &records::version_values(&v)?)?;
            link_blobs(tx, &v)
        })
        .await
    }

    fn invalidate_buckets(&self) {
        self.buckets_by_id.invalidate();
        self.buckets_by_name.invalidate();
    }

    /// Applies pending migrations to the database at `path` (creating it if needed) and returns their names.
    pub fn migrate_file(path: &Path) -> Result<Vec<&'static str>> {
        migrate(&mut open_connection(path)?)
    }

    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = open_connection(path)?;
        migrate(&mut writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let conn = open_connection(path)?;
            conn.execute_batch("PRAGMA query_only=ON").map_err(db_err)?;
            readers.push(Mutex::new(conn));
        }
        let (jobs, queue) = std::sync::mpsc::channel::<WriteJob>();
        std::thread::Builder::new().name("stowage-sqlite-writer".into()).spawn(move || run_writer(writer, queue)).map_err(db_err)?;
        Ok(SqliteStore {
            writer: jobs,
            readers: Arc::new(readers),
            next_reader: AtomicUsize::new(0),
            keys: RowCache::default(),
            buckets_by_id: RowCache::default(),
            buckets_by_name: RowCache::default(),
        })
    }

    /// Runs `f` atomically on the writer thread. Writes that arrive together share one transaction and
    /// so one fsync (group commit); each runs in its own savepoint, so a failing write leaves no trace and
    /// does not fail the others. The result is returned only once the commit is durable.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (done, outcome) = tokio::sync::oneshot::channel::<Result<T>>();
        let job: WriteJob = Box::new(move |conn: &Connection| {
            let out = f(conn);
            let failed = out.is_err();
            let complete: Completion = Box::new(move |committed: Result<()>| {
                let _ = done.send(committed.and(out));
            });
            (failed, complete)
        });
        self.writer.send(job).map_err(|_| db_err("writer thread has stopped"))?;
        outcome.await.map_err(|_| db_err("writer thread dropped a write"))?
    }

    /// A lookup by key that touches a handful of pages: run it right here when a reader is free, sparing
    /// the hand-off to a blocking thread and back (two context switches that cost more than the query).
    async fn lookup<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.readers.len() {
            if let Ok(conn) = self.readers[(start + i) % self.readers.len()].try_lock() {
                return f(&conn);
            }
        }
        self.read(f).await
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let readers = self.readers.clone();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            // Take a free reader if there is one; otherwise wait for ours.
            for i in 0..readers.len() {
                if let Ok(conn) = readers[(start + i) % readers.len()].try_lock() {
                    return f(&conn);
                }
            }
            let conn = readers[start % readers.len()].lock().map_err(db_err)?;
            f(&conn)
        })
        .await
        .map_err(db_err)?
    }
}

/// Applies the migrations the database lacks. Nothing is written when it has them all, so a store on a
/// full disk still opens.
fn migrate(conn: &mut Connection) -> Result<Vec<&'static str>> {
    let mut applied = Vec::new();
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(db_err)?;
    for m in crate::migrations::pending(crate::migrations::SQLITE, current).map_err(Error::internal)? {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db_err)?;
        tx.execute_batch(m.sql).map_err(|e| db_err(format!("migration {}: {e}", m.name)))?;
        tx.execute_batch(&format!("PRAGMA user_version={}", m.version)).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        tracing::info!(migration = m.name, "metadata schema migrated");
        applied.push(m.name);
    }
    Ok(applied)
}

#[async_trait]
impl SmallBlobRows for SqliteStore {
    /// Small blobs kept in the database (see `tiered`): durable once this returns, like a file blob.
    async fn put_small_blob(&self, blob_id: String, data: Bytes) -> Result<()> {
        self.write(move |tx| {
            tx.prepare_cached("INSERT INTO small_blobs (blob_id, written, data) VALUES (?1, ?2, ?3)")
                .and_then(|mut stmt| stmt.execute(params![blob_id, wall_clock(), data.as_ref()]))
                .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_small_blob(&self, blob_id: &str) -> Result<Option<Vec<u8>>> {
        let id = blob_id.to_string();
        self.lookup(move |c| {
            let mut stmt = c.prepare_cached("SELECT data FROM small_blobs WHERE blob_id = ?1").map_err(db_err)?;
            stmt.query_row([id], |r| r.get(0)).optional().map_err(db_err)
        })
        .await
    }

    async fn delete_small_blob(&self, blob_id: &str) -> Result<()> {
        let id = blob_id.to_string();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM small_blobs WHERE blob_id = ?1").and_then(|mut stmt| stmt.execute([id])).map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn list_small_blobs(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Millis)>> {
        let after = after.unwrap_or("").to_string();
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT blob_id, written FROM small_blobs WHERE blob_id > ?1 ORDER BY blob_id LIMIT ?2")
                .map_err(db_err)?;
            let rows = stmt.query_map(params![after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?;
            rows.map(|r| r.map_err(db_err)).collect()
        })
        .await
    }
}

/// The writer thread: takes every queued write, runs them in one transaction, commits once.
fn run_writer(mut conn: Connection, queue: std::sync::mpsc::Receiver<WriteJob>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH
            && let Ok(next) = queue.try_recv()
        {
            batch.push(next);
        }
        let mut completions = Vec::with_capacity(batch.len());
        let committed = (|| -> Result<()> {
            let mut tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(db_err)?;
            for job in batch.drain(..) {
                let mut savepoint = tx.savepoint().map_err(db_err)?;
                let (failed, complete) = job(&savepoint);
                completions.push(complete);
                if failed {
                    savepoint.rollback().map_err(db_err)?;
                }
                savepoint.commit().map_err(db_err)?;
            }
            tx.commit().map_err(db_err)
        })();
        // Jobs never reached (after a failure) are dropped: their callers see the writer drop them.
        for complete in completions {
            complete(committed.clone());
        }
    }
}

fn get_version_tx(conn: &Connection, file_id: &str) -> Result<Option<FileVersion>> {
    first_row(conn, &format!("SELECT {} FROM versions WHERE file_id = ?1", VERSIONS.list()), &[&file_id], version_row)
}

/// The newest upload-or-hide version of a name (unfinished large files never count).
fn latest_version_tx(conn: &Connection, bucket_id: &str, name: &str) -> Result<Option<FileVersion>> {
    let sql = format!(
        "SELECT {} FROM versions WHERE bucket_id = ?1 AND name = ?2 AND action != 'start' ORDER BY file_id DESC LIMIT 1",
        VERSIONS.list()
    );
    first_row(conn, &sql, &[&bucket_id, &name], version_row)
}

fn bucket_where(conn: &Connection, column: &str, value: &str) -> Result<Option<Bucket>> {
    first_row(conn, &format!("SELECT {} FROM buckets WHERE {column} = ?1", BUCKETS.list()), &[&value], bucket_row)
}

fn queue_deletes(tx: &Connection, blob_ids: &[String]) -> Result<()> {
    let now = wall_clock();
    let mut stmt = tx.prepare_cached("INSERT OR IGNORE INTO gc_queue (blob_id, queued) VALUES (?1, ?2)").map_err(db_err)?;
    for id in blob_ids {
        stmt.execute(params![id, now]).map_err(db_err)?;
    }
    Ok(())
}

fn part_blobs(tx: &Connection, file_id: &str) -> Result<Vec<String>> {
    let mut stmt = tx.prepare_cached("SELECT blob_id FROM parts WHERE file_id = ?1").map_err(db_err)?;
    let rows = stmt.query_map([file_id], |r| r.get::<_, String>(0)).map_err(db_err)?;
    rows.map(|r| r.map_err(db_err)).collect()
}

fn link_blobs(tx: &Connection, version: &FileVersion) -> Result<()> {
    let mut stmt = tx.prepare_cached("INSERT OR REPLACE INTO version_blobs (blob_id, file_id) VALUES (?1, ?2)").map_err(db_err)?;
    for id in version.content.blob_ids() {
        stmt.execute(params![id, version.file_id]).map_err(db_err)?;
    }
    Ok(())
}

/// Versions in (name asc, file_id desc) order from a position. `inclusive` says whether the version at
/// (`name`, `file_id`) itself is included.
fn versions_from(
    conn: &Connection,
    bucket_id: &str,
    name: &str,
    file_id: Option<&str>,
    inclusive: bool,
    upper: Option<&str>,
    limit: usize,
) -> Result<Vec<FileVersion>> {
    let mut out = Vec::new();
    let mut names_after = false;
    if let Some(file_id) = file_id {
        let op = if inclusive { "<=" } else { "<" };
        let sql = format!(
            "SELECT {} FROM versions WHERE bucket_id = ?1 AND name = ?2 AND file_id {op} ?3 ORDER BY file_id DESC LIMIT ?4",
            VERSIONS.list()
        );
        out = rows(conn, &sql, &[&bucket_id, &name, &file_id, &(limit as i64)], version_row)?;
        names_after = true;
    }
    if out.len() < limit {
        let op = if names_after { ">" } else { ">=" };
        let upper_clause = if upper.is_some() { "AND name < ?4" } else { "" };
        let sql = format!(
            "SELECT {} FROM versions WHERE bucket_id = ?1 AND name {op} ?2 {upper_clause} ORDER BY name ASC, file_id DESC LIMIT ?3",
            VERSIONS.list()
        );
        let remaining = (limit - out.len()) as i64;
        let more = match upper {
            Some(u) => rows(conn, &sql, &[&bucket_id, &name, &remaining, &u], version_row)?,
            None => rows(conn, &sql, &[&bucket_id, &name, &remaining], version_row)?,
        };
        out.extend(more);
    }
    Ok(out)
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn identity(&self) -> Result<ServerIdentity> {
        self.write(|tx| {
            let get = |k: &str| -> Result<Option<Vec<u8>>> {
                tx.query_row("SELECT v FROM meta WHERE k = ?1", [k], |r| r.get(0)).optional().map_err(db_err)
            };
            let account_id = match get("account_id")? {
                Some(v) => String::from_utf8_lossy(&v).into_owned(),
                None => {
                    let id: String = (0..6).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
                    tx.execute("INSERT INTO meta (k, v) VALUES ('account_id', ?1)", [id.as_bytes()]).map_err(db_err)?;
                    id
                }
            };
            let token_secret = match get("token_secret")? {
                Some(v) => v,
                None => {
                    let secret: Vec<u8> = (0..32).map(|_| rand::random::<u8>()).collect();
                    tx.execute("INSERT INTO meta (k, v) VALUES ('token_secret', ?1)", [&secret]).map_err(db_err)?;
                    secret
                }
            };
            Ok(ServerIdentity { account_id, token_secret })
        })
        .await
    }

    async fn insert_key(&self, key: &AppKey) -> Result<()> {
        let key = key.clone();
        let written = self
            .write(move |tx| {
                execute_values(tx, &KEYS.insert('?'), &records::key_values(&key)?)?;
                Ok(())
            })
            .await;
        self.keys.invalidate();
        written
    }

    async fn get_key(&self, key_id: &str) -> Result<Option<AppKey>> {
        let id = key_id.to_string();
        let load =
            || self.lookup(move |c| first_row(c, &format!("SELECT {} FROM app_keys WHERE key_id = ?1", KEYS.list()), &[&id], key_row));
        self.keys.read_through(key_id, load).await
    }

    async fn list_keys(&self, start_key_id: Option<&str>, limit: usize) -> Result<Vec<AppKey>> {
        let start = start_key_id.unwrap_or("").to_string();
        self.read(move |c| {
            let sql = format!("SELECT {} FROM app_keys WHERE key_id >= ?1 ORDER BY key_id LIMIT ?2", KEYS.list());
            rows(c, &sql, &[&start, &(limit as i64)], key_row)
        })
        .await
    }

    async fn delete_key(&self, key_id: &str) -> Result<Option<AppKey>> {
        let id = key_id.to_string();
        let deleted = self
            .write(move |tx| {
                let key = first_row(tx, &format!("SELECT {} FROM app_keys WHERE key_id = ?1", KEYS.list()), &[&id], key_row)?;
                tx.execute("DELETE FROM app_keys WHERE key_id = ?1", [&id]).map_err(db_err)?;
                Ok(key)
            })
            .await;
        self.keys.invalidate();
        deleted
    }

    async fn create_bucket(&self, bucket: &Bucket, max_buckets: usize) -> Result<()> {
        let (bucket, lower) = (bucket.clone(), bucket.name.to_ascii_lowercase());
        let written = self
            .write(move |tx| {
                let taken: bool =
                    tx.query_row("SELECT EXISTS(SELECT 1 FROM buckets WHERE name_lower = ?1)", [&lower], |r| r.get(0)).map_err(db_err)?;
                if taken {
                    return Err(Error::DuplicateBucketName(bucket.name));
                }
                let count: i64 = tx.query_row("SELECT count(*) FROM buckets", [], |r| r.get(0)).map_err(db_err)?;
                if count as usize >= max_buckets {
                    return Err(Error::TooManyBuckets(max_buckets));
                }
                execute_values(tx, &BUCKETS.insert('?'), &records::bucket_values(&bucket)?)?;
                Ok(())
            })
            .await;
        self.invalidate_buckets();
        written
    }

    async fn get_bucket(&self, bucket_id: &str) -> Result<Option<Bucket>> {
        let id = bucket_id.to_string();
        let load = || self.lookup(move |c| bucket_where(c, "bucket_id", &id));
        self.buckets_by_id.read_through(bucket_id, load).await
    }

    async fn get_bucket_by_name(&self, name: &str) -> Result<Option<Bucket>> {
        let lower = name.to_ascii_lowercase();
        let key = lower.clone();
        let load = || self.lookup(move |c| bucket_where(c, "name_lower", &key));
        self.buckets_by_name.read_through(&lower, load).await
    }

    async fn list_buckets(&self) -> Result<Vec<Bucket>> {
        self.read(|c| rows(c, &format!("SELECT {} FROM buckets ORDER BY name_lower", BUCKETS.list()), &[], bucket_row)).await
    }

    async fn update_bucket(&self, bucket: &Bucket, expected_revision: i64) -> Result<bool> {
        let bucket = bucket.clone();
        let written = self
            .write(move |tx| {
                let mut values = records::bucket_values(&bucket)?;
                values.push(Value::Int(expected_revision));
                let sql = format!("{} AND revision = ?{}", BUCKETS.update('?'), values.len());
                Ok(execute_values(tx, &sql, &values)? == 1)
            })
            .await;
        self.invalidate_buckets();
        written
    }

    async fn delete_bucket(&self, bucket_id: &str) -> Result<()> {
        let id = bucket_id.to_string();
        let written = self
            .write(move |tx| {
                let used: bool =
                    tx.query_row("SELECT EXISTS(SELECT 1 FROM versions WHERE bucket_id = ?1)", [&id], |r| r.get(0)).map_err(db_err)?;
                if used {
                    return Err(Error::BucketNotEmpty);
                }
                tx.execute("DELETE FROM buckets WHERE bucket_id = ?1", [&id]).map_err(db_err)?;
                Ok(())
            })
            .await;
        self.invalidate_buckets();
        written
    }

    async fn insert_version(&self, version: &FileVersion) -> Result<()> {
        self.insert_checked(version, None).await
    }

    async fn insert_version_if(&self, version: &FileVersion, check: LatestCheck) -> Result<()> {
        self.insert_checked(version, Some(check)).await
    }

    async fn insert_kms_key(&self, key: &KmsKey) -> Result<bool> {
        let k = key.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO kms_keys (key_id, sealed, created) VALUES (?1, ?2, ?3) ON CONFLICT (key_id) DO NOTHING",
                rusqlite::params![k.key_id, k.sealed, k.created],
            )
            .map(|inserted| inserted == 1)
            .map_err(db_err)
        })
        .await
    }

    async fn get_kms_key(&self, key_id: &str) -> Result<Option<KmsKey>> {
        let id = key_id.to_string();
        self.lookup(move |c| first_row(c, "SELECT key_id, sealed, created FROM kms_keys WHERE key_id = ?1", &[&id], kms_key_row)).await
    }

    async fn list_kms_keys(&self) -> Result<Vec<KmsKey>> {
        self.read(move |c| rows(c, "SELECT key_id, sealed, created FROM kms_keys ORDER BY key_id", &[], kms_key_row)).await
    }

    async fn get_version(&self, file_id: &str) -> Result<Option<FileVersion>> {
        let id = file_id.to_string();
        self.lookup(move |c| get_version_tx(c, &id)).await
    }

    async fn modify_version(&self, file_id: &str, change: VersionChange) -> Result<FileVersion> {
        let id = file_id.to_string();
        self.write(move |tx| {
            let current = get_version_tx(tx, &id)?.ok_or_else(|| Error::FileNotPresent(id.clone()))?;
            let (bucket_id, name, action) = (current.bucket_id.clone(), current.name.clone(), current.action);
            let changed = change(current)?;
            if changed.file_id != id || changed.bucket_id != bucket_id || changed.name != name || changed.action != action {
                return Err(Error::internal(format!("a version change may not move or re-kind version {id}")));
            }
            execute_values(tx, &VERSIONS.update('?'), &records::version_values(&changed)?)?;
            Ok(changed)
        })
        .await
    }

    async fn delete_version(&self, file_id: &str, check: VersionCheck) -> Result<Option<FileVersion>> {
        let id = file_id.to_string();
        self.write(move |tx| {
            let Some(version) = get_version_tx(tx, &id)? else { return Ok(None) };
            check(&version)?;
            let mut blobs = version.content.blob_ids();
            blobs.extend(part_blobs(tx, &id)?);
            tx.execute("DELETE FROM parts WHERE file_id = ?1", [&id]).map_err(db_err)?;
            tx.execute("DELETE FROM version_blobs WHERE file_id = ?1", [&id]).map_err(db_err)?;
            tx.execute("DELETE FROM versions WHERE file_id = ?1", [&id]).map_err(db_err)?;
            queue_deletes(tx, &blobs)?;
            Ok(Some(version))
        })
        .await
    }

    async fn latest_version(&self, bucket_id: &str, name: &str) -> Result<Option<FileVersion>> {
        let (b, n) = (bucket_id.to_string(), name.to_string());
        self.lookup(move |c| latest_version_tx(c, &b, &n)).await
    }

    async fn list_versions(&self, bucket_id: &str, cursor: &ListCursor, latest_only: bool, limit: usize) -> Result<Vec<FileVersion>> {
        let (b, cursor) = (bucket_id.to_string(), cursor.clone());
        let upper = prefix_upper_bound(&cursor.prefix);
        self.read(move |c| {
            if !latest_only {
                return versions_from(c, &b, &cursor.start_name, cursor.start_file_id.as_deref(), true, upper.as_deref(), limit);
            }
            // SQLite gives bare columns from the row holding max(file_id): the newest version per name.
            let upper_clause = if upper.is_some() { "AND name < ?4" } else { "" };
            let sql = format!(
                "SELECT {}, max(file_id) FROM versions WHERE bucket_id = ?1 AND name >= ?2 {upper_clause} AND action != 'start' \
                 GROUP BY name ORDER BY name LIMIT ?3",
                VERSIONS.list()
            );
            match &upper {
                Some(u) => rows(c, &sql, &[&b, &cursor.start_name, &(limit as i64), u], version_row),
                None => rows(c, &sql, &[&b, &cursor.start_name, &(limit as i64)], version_row),
            }
        })
        .await
    }

    async fn list_unfinished(
        &self,
        bucket_id: &str,
        name_prefix: &str,
        start_file_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FileVersion>> {
        let (b, prefix, start) = (bucket_id.to_string(), name_prefix.to_string(), start_file_id.unwrap_or("").to_string());
        self.read(move |c| {
            let sql = format!(
                "SELECT {} FROM versions WHERE bucket_id = ?1 AND action = 'start' AND file_id >= ?2 \
                 AND substr(name, 1, length(?3)) = ?3 ORDER BY file_id LIMIT ?4",
                VERSIONS.list()
            );
            rows(c, &sql, &[&b, &start, &prefix, &(limit as i64)], version_row)
        })
        .await
    }

    async fn list_unfinished_by_name(
        &self,
        bucket_id: &str,
        name_prefix: &str,
        after: Option<(&str, Option<&str>)>,
        limit: usize,
    ) -> Result<Vec<FileVersion>> {
        let (b, prefix) = (bucket_id.to_string(), name_prefix.to_string());
        let (after_name, after_id) = after.map_or((String::new(), None), |(n, f)| (n.to_string(), f.map(str::to_string)));
        self.read(move |c| {
            // Without an upload id, every upload of `after_name` is passed (ids are never empty).
            let position = if after_id.is_some() { "(name > ?2 OR (name = ?2 AND file_id > ?3))" } else { "name > ?2 AND ?3 = ''" };
            let sql = format!(
                "SELECT {} FROM versions WHERE bucket_id = ?1 AND action = 'start' AND {position} \
                 AND substr(name, 1, length(?4)) = ?4 ORDER BY name, file_id LIMIT ?5",
                VERSIONS.list()
            );
            let after_id = after_id.unwrap_or_default();
            rows(c, &sql, &[&b, &after_name, &after_id, &prefix, &(limit as i64)], version_row)
        })
        .await
    }

    async fn count_versions(&self, bucket_id: &str) -> Result<u64> {
        let b = bucket_id.to_string();
        self.read(move |c| {
            let n: i64 = c.query_row("SELECT count(*) FROM versions WHERE bucket_id = ?1", [b], |r| r.get(0)).map_err(db_err)?;
            Ok(n as u64)
        })
        .await
    }

    async fn put_part(&self, part: &Part) -> Result<()> {
        let p = part.clone();
        self.write(move |tx| {
            let action: Option<String> =
                tx.query_row("SELECT action FROM versions WHERE file_id = ?1", [&p.file_id], |r| r.get(0)).optional().map_err(db_err)?;
            if action.as_deref() != Some(Action::Start.as_str()) {
                return Err(Error::NoSuchUpload(format!("No active upload for: {}", p.file_id)));
            }
            let replaced: Option<String> = tx
                .query_row("SELECT blob_id FROM parts WHERE file_id = ?1 AND part_number = ?2", params![p.file_id, p.part_number], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(db_err)?;
            if let Some(old) = replaced {
                queue_deletes(tx, &[old])?;
            }
            execute_values(tx, &PARTS.insert('?').replacen("INSERT", "INSERT OR REPLACE", 1), &records::part_values(&p)?)?;
            Ok(())
        })
        .await
    }

    async fn list_parts(&self, file_id: &str, start_part: u32, limit: usize) -> Result<Vec<Part>> {
        let id = file_id.to_string();
        self.read(move |c| {
            let sql = format!("SELECT {} FROM parts WHERE file_id = ?1 AND part_number >= ?2 ORDER BY part_number LIMIT ?3", PARTS.list());
            rows(c, &sql, &[&id, &start_part, &(limit as i64)], part_row)
        })
        .await
    }

    async fn finish_large_file(&self, file_id: &str, plan: FinishPlan, check: Option<LatestCheck>) -> Result<FileVersion> {
        let id = file_id.to_string();
        self.write(move |tx| {
            let unfinished = get_version_tx(tx, &id)?
                .filter(|v| v.action == Action::Start)
                .ok_or_else(|| Error::NoSuchUpload(format!("No active upload for: {id}")))?;
            if let Some(check) = check {
                check(latest_version_tx(tx, &unfinished.bucket_id, &unfinished.name)?.as_ref())?;
            }
            let parts = rows(tx, &format!("SELECT {} FROM parts WHERE file_id = ?1 ORDER BY part_number", PARTS.list()), &[&id], part_row)?;
            let all_blobs: Vec<String> = parts.iter().map(|p| p.blob_id.clone()).collect();
            let v = plan(unfinished, parts)?;
            if v.file_id != id || v.action == Action::Start {
                return Err(Error::internal(format!("a finish plan must finish large file {id}")));
            }
            execute_values(tx, &VERSIONS.update('?'), &records::version_values(&v)?)?;
            link_blobs(tx, &v)?;
            // Parts left out of the finished file (S3 may complete with a subset) are collected.
            let used = v.content.blob_ids();
            let unused: Vec<String> = all_blobs.into_iter().filter(|b| !used.contains(b)).collect();
            queue_deletes(tx, &unused)?;
            tx.execute("DELETE FROM parts WHERE file_id = ?1", [&id]).map_err(db_err)?;
            Ok(v)
        })
        .await
    }

    async fn queue_blob_deletes(&self, blob_ids: &[String]) -> Result<()> {
        let ids = blob_ids.to_vec();
        self.write(move |tx| queue_deletes(tx, &ids)).await
    }

    async fn pending_blob_deletes(&self, limit: usize) -> Result<Vec<String>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached("SELECT blob_id FROM gc_queue ORDER BY queued LIMIT ?1").map_err(db_err)?;
            let rows = stmt.query_map([limit as i64], |r| r.get::<_, String>(0)).map_err(db_err)?;
            rows.map(|r| r.map_err(db_err)).collect()
        })
        .await
    }

    async fn forget_blob_deletes(&self, blob_ids: &[String]) -> Result<()> {
        let ids = blob_ids.to_vec();
        self.write(move |tx| {
            let mut stmt = tx.prepare_cached("DELETE FROM gc_queue WHERE blob_id = ?1").map_err(db_err)?;
            for id in ids {
                stmt.execute([id]).map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn blob_referenced(&self, blob_id: &str) -> Result<bool> {
        let id = blob_id.to_string();
        self.read(move |c| {
            c.query_row(
                "SELECT EXISTS(SELECT 1 FROM version_blobs WHERE blob_id = ?1) OR EXISTS(SELECT 1 FROM parts WHERE blob_id = ?1)",
                [id],
                |r| r.get(0),
            )
            .map_err(db_err)
        })
        .await
    }

    async fn scan_versions(&self, bucket_id: &str, prefix: &str, after: Option<(&str, &str)>, limit: usize) -> Result<Vec<FileVersion>> {
        let b = bucket_id.to_string();
        let upper = prefix_upper_bound(prefix);
        let (name, file_id) = match after {
            Some((n, f)) => (n.to_string(), Some(f.to_string())),
            None => (prefix.to_string(), None),
        };
        self.read(move |c| versions_from(c, &b, &name, file_id.as_deref(), false, upper.as_deref(), limit)).await
    }

    async fn bucket_usage(&self, bucket_id: &str, prefix: &str) -> Result<(u64, u64, Option<Millis>)> {
        let (b, prefix) = (bucket_id.to_string(), prefix.to_string());
        self.read(move |c| {
            c.query_row(
                "SELECT count(*), coalesce(sum(size), 0), max(upload_ts) FROM versions \
                 WHERE bucket_id = ?1 AND action = 'upload' AND substr(name, 1, length(?2)) = ?2",
                [b, prefix],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, r.get::<_, Option<i64>>(2)?)),
            )
            .map_err(db_err)
        })
        .await
    }

    async fn record_usage(&self, bucket_id: &str, usage: DailyUsage) -> Result<()> {
        let b = bucket_id.to_string();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO usage_daily (bucket_id, day, files, bytes) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (bucket_id, day) DO UPDATE SET files = excluded.files, bytes = excluded.bytes",
                rusqlite::params![b, usage.day, usage.files as i64, usage.bytes as i64],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn usage_history(&self, bucket_id: &str, since_day: i64) -> Result<Vec<DailyUsage>> {
        let b = bucket_id.to_string();
        self.read(move |c| {
            let mut statement = c
                .prepare_cached("SELECT day, files, bytes FROM usage_daily WHERE bucket_id = ?1 AND day >= ?2 ORDER BY day")
                .map_err(db_err)?;
            let rows = statement
                .query_map(rusqlite::params![b, since_day], |r| {
                    Ok(DailyUsage { day: r.get(0)?, files: r.get::<_, i64>(1)? as u64, bytes: r.get::<_, i64>(2)? as u64 })
                })
                .map_err(db_err)?;
            rows.collect::<std::result::Result<Vec<_>, _>>().map_err(db_err)
        })
        .await
    }

    async fn settle(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        let (name, value) = (name.to_string(), value.to_vec());
        self.write(move |tx| {
            tx.execute("INSERT OR IGNORE INTO meta (k, v) VALUES (?1, ?2)", params![name, value]).map_err(db_err)?;
            tx.query_row("SELECT v FROM meta WHERE k = ?1", [&name], |r| r.get(0)).map_err(db_err)
        })
        .await
    }

    async fn acquire_lease(&self, name: &str, holder: &str, now: Millis, until: Millis) -> Result<bool> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.write(move |tx| {
            let taken = tx
                .execute(
                    "INSERT INTO leases (name, holder, expires) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE \
                     SET holder = excluded.holder, expires = excluded.expires WHERE leases.expires < ?4 OR leases.holder = excluded.holder",
                    params![name, holder, until, now],
                )
                .map_err(db_err)?;
            Ok(taken == 1)
        })
        .await
    }

    async fn put_session(&self, id_hash: &str, record: &str, expires: Millis, now: Millis) -> Result<()> {
        let (id, record) = (id_hash.to_string(), record.to_string());
        self.write(move |tx| {
            tx.execute("DELETE FROM console_sessions WHERE expires <= ?1", [now]).map_err(db_err)?;
            tx.execute(
                "INSERT OR REPLACE INTO console_sessions (id_hash, record, expires) VALUES (?1, ?2, ?3)",
                params![id, record, expires],
            )
            .map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn get_session(&self, id_hash: &str, now: Millis) -> Result<Option<String>> {
        let id = id_hash.to_string();
        self.lookup(move |c| {
            let mut stmt = c.prepare_cached("SELECT record FROM console_sessions WHERE id_hash = ?1 AND expires > ?2").map_err(db_err)?;
            stmt.query_row(params![id, now], |r| r.get(0)).optional().map_err(db_err)
        })
        .await
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        let id = id_hash.to_string();
        self.write(move |tx| {
            tx.execute("DELETE FROM console_sessions WHERE id_hash = ?1", [id]).map_err(db_err)?;
            Ok(())
        })
        .await
    }

    async fn queue_events(&self, records: &[String]) -> Result<()> {
        let records = records.to_vec();
        self.write(move |tx| {
            let mut stmt = tx.prepare_cached("INSERT INTO event_outbox (record) VALUES (?1)").map_err(db_err)?;
            for record in records {
                stmt.execute([record]).map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }

    async fn pending_events(&self, limit: usize) -> Result<Vec<(i64, String)>> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached("SELECT seq, record FROM event_outbox ORDER BY seq LIMIT ?1").map_err(db_err)?;
            let rows = stmt.query_map([limit as i64], |r| Ok((r.get(0)?, r.get(1)?))).map_err(db_err)?;
            rows.map(|r| r.map_err(db_err)).collect()
        })
        .await
    }

    async fn forget_events(&self, seqs: &[i64]) -> Result<()> {
        let seqs = seqs.to_vec();
        self.write(move |tx| {
            let mut stmt = tx.prepare_cached("DELETE FROM event_outbox WHERE seq = ?1").map_err(db_err)?;
            for seq in seqs {
                stmt.execute([seq]).map_err(db_err)?;
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(name: &str) -> Bucket {
        crate::conformance::bucket(&format!("id-{name}"), name)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn meets_the_metadata_store_contract() {
        let dir = tempfile::tempdir().expect("tempdir");
        let counter = std::sync::atomic::AtomicUsize::new(0);
        crate::conformance::check_all(|| {
            let path = dir.path().join(format!("meta-{}.sqlite3", counter.fetch_add(1, Ordering::Relaxed)));
            async move { Arc::new(SqliteStore::open(&path).expect("open")) }
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn grouped_writes_fail_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(SqliteStore::open(&dir.path().join("meta.sqlite3")).expect("open"));
        let mut tasks = Vec::new();
        for i in 0..200 {
            let store = store.clone();
            // Every tenth create reuses a name, so some writes in each batch fail.
            let name = if i % 10 == 9 { format!("bucket-{:03}", i - 1) } else { format!("bucket-{i:03}") };
            tasks.push(tokio::spawn(async move { store.create_bucket(&Bucket { id: format!("id-{i}"), ..bucket(&name) }, 1000).await }));
        }
        let mut failures = 0;
        for t in tasks {
            match t.await.expect("join") {
                Ok(()) => {}
                Err(Error::DuplicateBucketName(_)) => failures += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(failures, 20);
        assert_eq!(store.list_buckets().await.expect("list").len(), 180);
        // Reopening sees exactly what was acknowledged.
        drop(store);
        let store = SqliteStore::open(&dir.path().join("meta.sqlite3")).expect("reopen");
        assert_eq!(store.list_buckets().await.expect("list").len(), 180);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrates_json_bodies_into_columns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.sqlite3");
        {
            let conn = Connection::open(&path).expect("open");
            for m in &crate::migrations::SQLITE[..2] {
                conn.execute_batch(m.sql).expect(m.name);
            }
            conn.execute_batch("PRAGMA user_version=2").expect("version");
            conn.execute_batch(crate::records::tests::LEGACY_ROWS).expect("legacy rows");
        }
        let store = SqliteStore::open(&path).expect("open migrates");
        crate::records::tests::check_legacy_rows(&store).await;
    }

    #[test]
    fn tables_have_the_record_columns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.sqlite3");
        drop(SqliteStore::open(&path).expect("open"));
        let conn = Connection::open(&path).expect("open");
        for table in [&KEYS, &BUCKETS, &VERSIONS, &PARTS] {
            let names: Vec<String> = conn
                .prepare(&format!("SELECT name FROM pragma_table_info('{}') ORDER BY cid", table.name))
                .and_then(|mut stmt| stmt.query_map([], |r| r.get(0)).and_then(|rows| rows.collect()))
                .expect("columns");
            assert_eq!(names.join(", "), table.list(), "{}", table.name);
        }
    }
}
