//! The shared metadata store: PostgreSQL, for several stateless nodes over one database.
//!
//! Every trait method is one transaction (most are one statement). Steps that decide from a row's current
//! state lock that row first (`SELECT … FOR UPDATE`), so racing nodes serialize on the row, not on the
//! database; bucket creation takes a transaction-scoped advisory lock so the bucket count cannot be
//! overrun. Keys and buckets are cached per node; every change to them sends `NOTIFY stowage_rows` in its
//! transaction and each node's listener drops its cache when one arrives. While a node's listener is not
//! connected, that node reads keys and buckets from the database.
//!
//! Uploads' inserts go through `pg_batch` (group commit). A lost database is `ServiceUnavailable` (503 in
//! both APIs), and the pool reconnects on the next call.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use deadpool_postgres::{GenericClient, Object, Pool, Runtime};
use stowage_core::model::{Action, AppKey, Bucket, DailyUsage, FileVersion, KmsKey, Millis, Part};
use stowage_core::names::prefix_upper_bound;
use stowage_core::service::wall_clock;
use stowage_core::store::{FinishPlan, LatestCheck, ListCursor, MetadataStore, ServerIdentity, VersionChange, VersionCheck};
use stowage_core::{Error, Result};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, Json, ToSql, Type, to_sql_checked};
use tokio_postgres::{AsyncMessage, Row};

use crate::cache::RowCache;
use crate::migrations::{POSTGRES, pending};
use crate::pg_batch::{Insert, InsertBatcher, PendingBodies, flush_unclaimed};
use crate::pg_connect::Database;
use crate::records::{self, BUCKETS, Columns, KEYS, PARTS, VERSIONS, Value};
use crate::tiered::SmallBlobRows;

/// The channel every node listens on for key and bucket changes.
const CHANGES: &str = "stowage_rows";
/// Advisory lock ids (arbitrary, fixed): migrations, bucket creation.
const MIGRATION_LOCK: i64 = 0x5354_4f57_0001;
const BUCKET_CREATE_LOCK: i64 = 0x5354_4f57_0002;
/// How long a caller waits for a pooled connection, or for a new one, before the request is a 503.
const POOL_WAIT: Duration = Duration::from_secs(5);
/// How often an idle listener checks that its connection still answers.
const LISTENER_PING: Duration = Duration::from_secs(5);

type Params<'a> = [&'a (dyn ToSql + Sync)];

#[track_caller]
pub(crate) fn pg_err(e: tokio_postgres::Error) -> Error {
    match e.code() {
        Some(code) if *code == SqlState::DISK_FULL => {
            tracing::warn!(location = %std::panic::Location::caller(), "metadata store: {e}");
            Error::StorageFull("storage is full: the metadata database has no room for the write".into())
        }
        // Connection exceptions, an operator intervention (shutdown, restart), too many connections.
        Some(code) if code.code().starts_with("08") || code.code().starts_with("57") || *code == SqlState::TOO_MANY_CONNECTIONS => {
            unavailable(e)
        }
        Some(_) => match e.as_db_error() {
            Some(db) => Error::internal(format!("metadata store: {} ({})", db.message(), db.code().code())),
            None => Error::internal(format!("metadata store: {e}")),
        },
        None if e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) => unavailable(e),
        None => Error::internal(format!("metadata store: {e}")),
    }
}

#[track_caller]
fn unavailable(e: impl std::fmt::Display) -> Error {
    tracing::warn!(location = %std::panic::Location::caller(), "metadata database unavailable: {e}");
    Error::ServiceUnavailable("the metadata database is unavailable; retry shortly".into())
}

impl Columns for Row {
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.try_get(i).map_err(pg_err)
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        if self.columns().get(i).is_some_and(|c| *c.type_() == Type::INT4) {
            return self.try_get::<_, Option<i32>>(i).map(|n| n.map(i64::from)).map_err(pg_err);
        }
        self.try_get(i).map_err(pg_err)
    }

    fn opt_bool(&self, i: usize) -> Result<Option<bool>> {
        self.try_get(i).map_err(pg_err)
    }

    fn opt_doc<T: serde::de::DeserializeOwned>(&self, i: usize) -> Result<Option<T>> {
        self.try_get::<_, Option<Json<T>>>(i).map(|j| j.map(|j| j.0)).map_err(pg_err)
    }
}

impl ToSql for Value<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            // A document goes in as the JSON text it already is (jsonb's binary form is a version byte and the text).
            Value::Text(s) if *ty == Type::JSON || *ty == Type::JSONB => {
                if *ty == Type::JSONB {
                    out.extend_from_slice(&[1]);
                }
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
            Value::Text(s) => s.as_ref().to_sql_checked(ty, out),
            Value::Int(n) if *ty == Type::INT4 => i32::try_from(*n)?.to_sql_checked(ty, out),
            Value::Int(n) if *ty == Type::BOOL => (*n != 0).to_sql_checked(ty, out),
            Value::Int(n) => n.to_sql_checked(ty, out),
            Value::Bool(b) => b.to_sql_checked(ty, out),
            Value::Bytes(b) => b.as_ref().to_sql_checked(ty, out),
        }
    }

    /// Each variant checks the type it is bound to.
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A record's values as statement parameters.
pub(crate) fn bind<'a>(values: &'a [Value<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

fn decode_all<T>(rows: Vec<Row>, decode: impl Fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(decode).collect()
}

/// Key and bucket rows every request reads, valid while the change listener is connected.
#[derive(Default)]
struct Caches {
    live: AtomicBool,
    keys: RowCache<AppKey>,
    buckets_by_id: RowCache<Bucket>,
    buckets_by_name: RowCache<Bucket>,
}

impl Caches {
    fn invalidate(&self) {
        self.keys.invalidate();
        self.buckets_by_id.invalidate();
        self.buckets_by_name.invalidate();
    }

    /// The row through `cache` while the listener hears every change, else straight from `load`.
    async fn read<T, F, Fut>(&self, cache: &RowCache<T>, key: &str, load: F) -> Result<Option<T>>
    where
        T: Clone,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        if self.live.load(Ordering::Acquire) { cache.read_through(key, load).await } else { load().await }
    }
}

pub struct PostgresStore {
    pool: Pool,
    inserts: Arc<InsertBatcher>,
    /// Small bodies waiting for the version or part that names them (see `pg_batch`).
    pending: Arc<PendingBodies>,
    caches: Arc<Caches>,
    /// The change listener and the unclaimed-body flusher.
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn parse_url(url: &str) -> Result<Database> {
    Database::parse(url, POOL_WAIT)
}

/// Applies the migrations the database lacks, under an advisory lock so nodes starting together take
/// turns (the later ones find nothing to do).
pub async fn migrate(url: &str) -> Result<Vec<&'static str>> {
    let (mut client, driver) = parse_url(url)?.connect().await.map_err(pg_err)?;
    let applied = migrate_with(&mut client).await;
    drop(client);
    let _ = driver.await;
    applied
}

async fn migrate_with(client: &mut tokio_postgres::Client) -> Result<Vec<&'static str>> {
    let tx = client.transaction().await.map_err(pg_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(pg_err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, \
         applied timestamptz NOT NULL DEFAULT now())",
    )
    .await
    .map_err(pg_err)?;
    let current: i64 = tx.query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[]).await.map_err(pg_err)?.get(0);
    let mut applied = Vec::new();
    for m in pending(POSTGRES, current).map_err(Error::internal)? {
        tx.batch_execute(m.sql).await.map_err(|e| Error::internal(format!("migration {}: {e}", m.name)))?;
        tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[&m.version, &m.name]).await.map_err(pg_err)?;
        applied.push(m.name);
    }
    tx.commit().await.map_err(pg_err)?;
    Ok(applied)
}

impl PostgresStore {
    /// Connects a pool of at most `pool_size` connections, applies pending migrations and starts the
    /// change listener.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Self> {
        for name in migrate(url).await? {
            tracing::info!(migration = name, "metadata schema migrated");
        }
        let database = parse_url(url)?;
        let pool = Pool::builder(database.manager())
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(POOL_WAIT))
            .recycle_timeout(Some(POOL_WAIT))
            .build()
            .map_err(|e| Error::internal(format!("PostgreSQL pool: {e}")))?;
        let caches = Arc::new(Caches::default());
        let listener = tokio::spawn(listen_for_changes(database, caches.clone()));
        let inserts = Arc::new(InsertBatcher::start(pool.clone()));
        let pending = Arc::new(PendingBodies::default());
        let flusher = tokio::spawn(flush_unclaimed(pending.clone(), inserts.clone()));
        Ok(PostgresStore { inserts, pending, pool, caches, tasks: [listener, flusher] })
    }

    async fn client(&self) -> Result<Object> {
        pooled(&self.pool).await
    }

    async fn query(&self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(pg_err)?;
        client.query(&stmt, params).await.map_err(pg_err)
    }

    async fn query_opt(&self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(pg_err)?;
        client.query_opt(&stmt, params).await.map_err(pg_err)
    }

    async fn execute(&self, sql: &str, params: &Params<'_>) -> Result<u64> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(pg_err)?;
        client.execute(&stmt, params).await.map_err(pg_err)
    }

    /// Commits a key or bucket change together with the notice that makes every node drop its cache.
    async fn commit_change(&self, tx: deadpool_postgres::Transaction<'_>) -> Result<()> {
        tx.execute("SELECT pg_notify($1, '')", &[&CHANGES]).await.map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        self.caches.invalidate();
        Ok(())
    }

    async fn bucket_where(&self, column: &str, value: &str) -> Result<Option<Bucket>> {
        let sql = format!("SELECT {} FROM buckets WHERE {column} = $1", BUCKETS.list());
        self.query_opt(&sql, &[&value]).await?.as_ref().map(records::bucket_from).transpose()
    }
}

/// A connection from the pool; waiting past the pool's timeouts is `ServiceUnavailable`.
pub(crate) async fn pooled(pool: &Pool) -> Result<Object> {
    pool.get().await.map_err(|e| match e {
        deadpool_postgres::PoolError::Backend(e) => pg_err(e),
        other => unavailable(other),
    })
}

/// Keeps a connection listening for key and bucket changes; marks the caches usable only while it is.
async fn listen_for_changes(database: Database, caches: Arc<Caches>) {
    loop {
        let (notices, mut received) = tokio::sync::mpsc::unbounded_channel::<AsyncMessage>();
        match database.connect_listening(notices).await {
            Ok((client, driver)) => {
                if client.batch_execute(&format!("LISTEN {CHANGES}")).await.is_ok() {
                    caches.invalidate();
                    caches.live.store(true, Ordering::Release);
                    let mut ping = tokio::time::interval(LISTENER_PING);
                    loop {
                        tokio::select! {
                            notice = received.recv() => match notice {
                                Some(AsyncMessage::Notification(_)) => caches.invalidate(),
                                Some(_) => {}
                                None => break,
                            },
                            _ = ping.tick() => {
                                let answered = tokio::time::timeout(POOL_WAIT, client.simple_query("SELECT 1")).await;
                                if !matches!(answered, Ok(Ok(_))) {
                                    break;
                                }
                            }
                        }
                    }
                }
                caches.live.store(false, Ordering::Release);
                caches.invalidate();
                driver.abort();
                tracing::warn!("metadata change listener lost its connection; reading keys and buckets uncached until it is back");
            }
            Err(e) => tracing::debug!("metadata change listener cannot connect: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Versions in (name asc, file_id desc) order from a position; `inclusive` says whether the version at
/// (`name`, `file_id`) itself is included.
async fn versions_from(
    client: &impl GenericClient,
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
            "SELECT {} FROM versions WHERE bucket_id = $1 AND name = $2 AND file_id {op} $3 ORDER BY file_id DESC LIMIT $4",
            VERSIONS.list()
        );
        let stmt = client.prepare_cached(&sql).await.map_err(pg_err)?;
        let rows = client.query(&stmt, &[&bucket_id, &name, &file_id, &(limit as i64)]).await.map_err(pg_err)?;
        out = decode_all(rows, records::version_from)?;
        names_after = true;
    }
    if out.len() < limit {
        let op = if names_after { ">" } else { ">=" };
        let upper_clause = if upper.is_some() { "AND name < $4" } else { "" };
        let sql = format!(
            "SELECT {} FROM versions WHERE bucket_id = $1 AND name {op} $2 {upper_clause} ORDER BY name, file_id DESC LIMIT $3",
            VERSIONS.list()
        );
        let stmt = client.prepare_cached(&sql).await.map_err(pg_err)?;
        let remaining = (limit - out.len()) as i64;
        let rows = match upper {
            Some(u) => client.query(&stmt, &[&bucket_id, &name, &remaining, &u]).await,
            None => client.query(&stmt, &[&bucket_id, &name, &remaining]).await,
        };
        out.extend(decode_all(rows.map_err(pg_err)?, records::version_from)?);
    }
    Ok(out)
}

async fn queue_deletes(client: &impl GenericClient, blob_ids: &[String]) -> Result<()> {
    if blob_ids.is_empty() {
        return Ok(());
    }
    let stmt = client
        .prepare_cached("INSERT INTO gc_queue (blob_id, queued) SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING")
        .await
        .map_err(pg_err)?;
    client.execute(&stmt, &[&blob_ids, &wall_clock()]).await.map_err(pg_err)?;
    Ok(())
}

async fn link_blobs(client: &impl GenericClient, version: &FileVersion) -> Result<()> {
    let ids = version.content.blob_ids();
    if ids.is_empty() {
        return Ok(());
    }
    let stmt = client
        .prepare_cached(
            "INSERT INTO version_blobs (blob_id, file_id) SELECT unnest($1::text[]), $2 \
             ON CONFLICT (blob_id) DO UPDATE SET file_id = excluded.file_id",
        )
        .await
        .map_err(pg_err)?;
    client.execute(&stmt, &[&ids, &version.file_id]).await.map_err(pg_err)?;
    Ok(())
}

/// The version, locked against every other change until the transaction ends.
async fn lock_version(client: &impl GenericClient, file_id: &str) -> Result<Option<FileVersion>> {
    let sql = format!("SELECT {} FROM versions WHERE file_id = $1 FOR UPDATE", VERSIONS.list());
    let stmt = client.prepare_cached(&sql).await.map_err(pg_err)?;
    client.query_opt(&stmt, &[&file_id]).await.map_err(pg_err)?.as_ref().map(records::version_from).transpose()
}

/// Runs a conditional write's check on a name's newest version inside the transaction that writes it.
/// A transaction-scoped advisory lock on the name serializes conditional writers of one name, and the
/// newest version is read after taking it (each statement sees what committed before it), so two of them
/// never both pass on the same state.
async fn check_latest(tx: &impl GenericClient, bucket_id: &str, name: &str, check: LatestCheck) -> Result<()> {
    let lock = tx.prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1, 7013))").await.map_err(pg_err)?;
    tx.execute(&lock, &[&format!("{bucket_id}/{name}")]).await.map_err(pg_err)?;
    let sql = format!(
        "SELECT {} FROM versions WHERE bucket_id = $1 AND name = $2 AND action <> 'start' ORDER BY file_id DESC LIMIT 1",
        VERSIONS.list()
    );
    let stmt = tx.prepare_cached(&sql).await.map_err(pg_err)?;
    let latest = tx.query_opt(&stmt, &[&bucket_id, &name]).await.map_err(pg_err)?.as_ref().map(records::version_from).transpose()?;
    check(latest.as_ref())
}

async fn part_blobs(client: &impl GenericClient, file_id: &str) -> Result<Vec<String>> {
    let stmt = client.prepare_cached("SELECT blob_id FROM parts WHERE file_id = $1").await.map_err(pg_err)?;
    Ok(client.query(&stmt, &[&file_id]).await.map_err(pg_err)?.iter().map(|r| r.get(0)).collect())
}

#[async_trait]
impl SmallBlobRows for PostgresStore {
    /// Durable with the version or part that names it (one commit for both), or within seconds as an
    /// orphan when nothing does.
    async fn put_small_blob(&self, blob_id: String, data: Bytes) -> Result<()> {
        self.pending.add(blob_id, data);
        Ok(())
    }

    async fn get_small_blob(&self, blob_id: &str) -> Result<Option<Vec<u8>>> {
        if let Some(data) = self.pending.get(blob_id) {
            return Ok(Some(data.to_vec()));
        }
        Ok(self.query_opt("SELECT data FROM small_blobs WHERE blob_id = $1", &[&blob_id]).await?.map(|row| row.get(0)))
    }

    async fn delete_small_blob(&self, blob_id: &str) -> Result<()> {
        self.pending.remove(blob_id);
        self.execute("DELETE FROM small_blobs WHERE blob_id = $1", &[&blob_id]).await?;
        Ok(())
    }

    async fn list_small_blobs(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Millis)>> {
        let rows = self
            .query(
                "SELECT blob_id, written FROM small_blobs WHERE blob_id > $1 ORDER BY blob_id LIMIT $2",
                &[&after.unwrap_or(""), &(limit as i64)],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

#[async_trait]
impl MetadataStore for PostgresStore {
    async fn identity(&self) -> Result<ServerIdentity> {
        let account_id: String = (0..6).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        let secret: Vec<u8> = (0..32).map(|_| rand::random::<u8>()).collect();
        let account_id = String::from_utf8_lossy(&self.settle("account_id", account_id.as_bytes()).await?).into_owned();
        let token_secret = self.settle("token_secret", &secret).await?;
        Ok(ServerIdentity { account_id, token_secret })
    }

    async fn insert_key(&self, key: &AppKey) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let values = records::key_values(key)?;
        match tx.execute(&KEYS.insert('$'), &bind(&values)).await {
            Ok(_) => self.commit_change(tx).await,
            Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Err(Error::Conflict(format!("key {} exists", key.key_id))),
            Err(e) => Err(pg_err(e)),
        }
    }

    async fn get_key(&self, key_id: &str) -> Result<Option<AppKey>> {
        let load = || async {
            let sql = format!("SELECT {} FROM app_keys WHERE key_id = $1", KEYS.list());
            self.query_opt(&sql, &[&key_id]).await?.as_ref().map(records::key_from).transpose()
        };
        self.caches.read(&self.caches.keys, key_id, load).await
    }

    async fn list_keys(&self, start_key_id: Option<&str>, limit: usize) -> Result<Vec<AppKey>> {
        let sql = format!("SELECT {} FROM app_keys WHERE key_id >= $1 ORDER BY key_id LIMIT $2", KEYS.list());
        decode_all(self.query(&sql, &[&start_key_id.unwrap_or(""), &(limit as i64)]).await?, records::key_from)
    }

    async fn delete_key(&self, key_id: &str) -> Result<Option<AppKey>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let sql = format!("DELETE FROM app_keys WHERE key_id = $1 RETURNING {}", KEYS.list());
        let row = tx.query_opt(&sql, &[&key_id]).await.map_err(pg_err)?;
        let deleted = row.as_ref().map(records::key_from).transpose()?;
        self.commit_change(tx).await?;
        Ok(deleted)
    }

    async fn create_bucket(&self, bucket: &Bucket, max_buckets: usize) -> Result<()> {
        let lower = bucket.name.to_ascii_lowercase();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        // Creates take turns, so two cannot both see room for one more bucket.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&BUCKET_CREATE_LOCK]).await.map_err(pg_err)?;
        let taken = tx.query_opt("SELECT 1 FROM buckets WHERE name_lower = $1", &[&lower]).await.map_err(pg_err)?;
        if taken.is_some() {
            return Err(Error::DuplicateBucketName(bucket.name.clone()));
        }
        let count: i64 = tx.query_one("SELECT count(*) FROM buckets", &[]).await.map_err(pg_err)?.get(0);
        if count as usize >= max_buckets {
            return Err(Error::TooManyBuckets(max_buckets));
        }
        let values = records::bucket_values(bucket)?;
        tx.execute(&BUCKETS.insert('$'), &bind(&values)).await.map_err(pg_err)?;
        self.commit_change(tx).await
    }

    async fn get_bucket(&self, bucket_id: &str) -> Result<Option<Bucket>> {
        self.caches.read(&self.caches.buckets_by_id, bucket_id, || self.bucket_where("bucket_id", bucket_id)).await
    }

    async fn get_bucket_by_name(&self, name: &str) -> Result<Option<Bucket>> {
        let lower = name.to_ascii_lowercase();
        self.caches.read(&self.caches.buckets_by_name, &lower, || self.bucket_where("name_lower", &lower)).await
    }

    async fn list_buckets(&self) -> Result<Vec<Bucket>> {
        decode_all(self.query(&format!("SELECT {} FROM buckets ORDER BY name_lower", BUCKETS.list()), &[]).await?, records::bucket_from)
    }

    async fn update_bucket(&self, bucket: &Bucket, expected_revision: i64) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let mut values = records::bucket_values(bucket)?;
        values.push(Value::Int(expected_revision));
        let sql = format!("{} AND revision = ${}", BUCKETS.update('$'), values.len());
        let changed = tx.execute(&sql, &bind(&values)).await.map_err(pg_err)?;
        self.commit_change(tx).await?;
        Ok(changed == 1)
    }

    async fn delete_bucket(&self, bucket_id: &str) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        match tx.execute("DELETE FROM buckets WHERE bucket_id = $1", &[&bucket_id]).await {
            Ok(_) => self.commit_change(tx).await,
            // A version still refers to it (or an upload is committing into it right now).
            Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => Err(Error::BucketNotEmpty),
            Err(e) => Err(pg_err(e)),
        }
    }

    async fn insert_version(&self, version: &FileVersion) -> Result<()> {
        let bodies = self.pending.claim(&version.content.blob_ids());
        self.inserts.insert(Insert::Version { version: Box::new(version.clone()), bodies }).await
    }

    async fn insert_kms_key(&self, key: &KmsKey) -> Result<bool> {
        let sql = "INSERT INTO kms_keys (key_id, sealed, created) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING";
        Ok(self.execute(sql, &[&key.key_id, &key.sealed, &key.created]).await? == 1)
    }

    async fn get_kms_key(&self, key_id: &str) -> Result<Option<KmsKey>> {
        let row = self.query_opt("SELECT key_id, sealed, created FROM kms_keys WHERE key_id = $1", &[&key_id]).await?;
        Ok(row.map(|r| KmsKey { key_id: r.get(0), sealed: r.get(1), created: r.get(2) }))
    }

    async fn list_kms_keys(&self) -> Result<Vec<KmsKey>> {
        let rows = self.query("SELECT key_id, sealed, created FROM kms_keys ORDER BY key_id", &[]).await?;
        Ok(rows.iter().map(|r| KmsKey { key_id: r.get(0), sealed: r.get(1), created: r.get(2) }).collect())
    }

    async fn insert_version_if(&self, version: &FileVersion, check: LatestCheck) -> Result<()> {
        // Not batched: the check and the write share one transaction of their own.
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        check_latest(&tx, &version.bucket_id, &version.name, check).await?;
        let bodies = self.pending.claim(&version.content.blob_ids());
        crate::pg_batch::write_in(&tx, &Insert::Version { version: Box::new(version.clone()), bodies }).await?;
        tx.commit().await.map_err(pg_err)
    }

    async fn get_version(&self, file_id: &str) -> Result<Option<FileVersion>> {
        let sql = format!("SELECT {} FROM versions WHERE file_id = $1", VERSIONS.list());
        self.query_opt(&sql, &[&file_id]).await?.as_ref().map(records::version_from).transpose()
    }

    async fn modify_version(&self, file_id: &str, change: VersionChange) -> Result<FileVersion> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let current = lock_version(&tx, file_id).await?.ok_or_else(|| Error::FileNotPresent(file_id.to_string()))?;
        let (bucket_id, name, action) = (current.bucket_id.clone(), current.name.clone(), current.action);
        let changed = change(current)?;
        if changed.file_id != file_id || changed.bucket_id != bucket_id || changed.name != name || changed.action != action {
            return Err(Error::internal(format!("a version change may not move or re-kind version {file_id}")));
        }
        tx.execute(&VERSIONS.update('$'), &bind(&records::version_values(&changed)?)).await.map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(changed)
    }

    async fn delete_version(&self, file_id: &str, check: VersionCheck) -> Result<Option<FileVersion>> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let Some(version) = lock_version(&tx, file_id).await? else { return Ok(None) };
        check(&version)?;
        let mut blobs = version.content.blob_ids();
        blobs.extend(part_blobs(&tx, file_id).await?);
        for sql in [
            "DELETE FROM parts WHERE file_id = $1",
            "DELETE FROM version_blobs WHERE file_id = $1",
            "DELETE FROM versions WHERE file_id = $1",
        ] {
            tx.execute(sql, &[&file_id]).await.map_err(pg_err)?;
        }
        queue_deletes(&tx, &blobs).await?;
        tx.commit().await.map_err(pg_err)?;
        Ok(Some(version))
    }

    async fn latest_version(&self, bucket_id: &str, name: &str) -> Result<Option<FileVersion>> {
        let sql = format!(
            "SELECT {} FROM versions WHERE bucket_id = $1 AND name = $2 AND action <> 'start' ORDER BY file_id DESC LIMIT 1",
            VERSIONS.list()
        );
        self.query_opt(&sql, &[&bucket_id, &name]).await?.as_ref().map(records::version_from).transpose()
    }

    async fn list_versions(&self, bucket_id: &str, cursor: &ListCursor, latest_only: bool, limit: usize) -> Result<Vec<FileVersion>> {
        let upper = prefix_upper_bound(&cursor.prefix);
        let client = self.client().await?;
        if !latest_only {
            let start_file_id = cursor.start_file_id.as_deref();
            return versions_from(&client, bucket_id, &cursor.start_name, start_file_id, true, upper.as_deref(), limit).await;
        }
        let upper_clause = if upper.is_some() { "AND name < $4" } else { "" };
        let sql = format!(
            "SELECT DISTINCT ON (name) {} FROM versions WHERE bucket_id = $1 AND name >= $2 {upper_clause} \
             AND action <> 'start' ORDER BY name, file_id DESC LIMIT $3",
            VERSIONS.list()
        );
        let stmt = client.prepare_cached(&sql).await.map_err(pg_err)?;
        let rows = match &upper {
            Some(u) => client.query(&stmt, &[&bucket_id, &cursor.start_name, &(limit as i64), u]).await,
            None => client.query(&stmt, &[&bucket_id, &cursor.start_name, &(limit as i64)]).await,
        };
        decode_all(rows.map_err(pg_err)?, records::version_from)
    }

    async fn list_unfinished(
        &self,
        bucket_id: &str,
        name_prefix: &str,
        start_file_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FileVersion>> {
        let sql = format!(
            "SELECT {} FROM versions WHERE bucket_id = $1 AND action = 'start' AND file_id >= $2 \
             AND starts_with(name, $3) ORDER BY file_id LIMIT $4",
            VERSIONS.list()
        );
        let rows = self.query(&sql, &[&bucket_id, &start_file_id.unwrap_or(""), &name_prefix, &(limit as i64)]).await?;
        decode_all(rows, records::version_from)
    }

    async fn list_unfinished_by_name(
        &self,
        bucket_id: &str,
        name_prefix: &str,
        after: Option<(&str, Option<&str>)>,
        limit: usize,
    ) -> Result<Vec<FileVersion>> {
        let (after_name, after_id) = after.map_or(("", None), |(n, f)| (n, f));
        // Without an upload id, every upload of `after_name` is passed.
        let position = if after_id.is_some() { "(name > $2 OR (name = $2 AND file_id > $3))" } else { "name > $2 AND $3 = ''" };
        let sql = format!(
            "SELECT {} FROM versions WHERE bucket_id = $1 AND action = 'start' AND {position} \
             AND starts_with(name, $4) ORDER BY name, file_id LIMIT $5",
            VERSIONS.list()
        );
        let rows = self.query(&sql, &[&bucket_id, &after_name, &after_id.unwrap_or(""), &name_prefix, &(limit as i64)]).await?;
        decode_all(rows, records::version_from)
    }

    async fn count_versions(&self, bucket_id: &str) -> Result<u64> {
        let rows = self.query("SELECT count(*) FROM versions WHERE bucket_id = $1", &[&bucket_id]).await?;
        Ok(rows.first().map_or(0, |r| r.get::<_, i64>(0)) as u64)
    }

    async fn put_part(&self, part: &Part) -> Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        // A share lock: parts of one file land side by side, while a finish or cancel (which lock the
        // version for update) waits for them, or they for it.
        let action = tx.query_opt("SELECT action FROM versions WHERE file_id = $1 FOR SHARE", &[&part.file_id]).await.map_err(pg_err)?;
        if action.map(|row| row.get::<_, String>(0)).as_deref() != Some(Action::Start.as_str()) {
            return Err(Error::NoSuchUpload(format!("No active upload for: {}", part.file_id)));
        }
        for (blob_id, data) in self.pending.claim(std::slice::from_ref(&part.blob_id)) {
            tx.execute(
                "INSERT INTO small_blobs (blob_id, written, data) VALUES ($1, $2, $3) ON CONFLICT (blob_id) DO NOTHING",
                &[&blob_id, &wall_clock(), &data.as_ref()],
            )
            .await
            .map_err(pg_err)?;
        }
        let number = part.part_number as i32;
        let replaced = tx
            .query_opt("SELECT blob_id FROM parts WHERE file_id = $1 AND part_number = $2 FOR UPDATE", &[&part.file_id, &number])
            .await
            .map_err(pg_err)?;
        if let Some(old) = replaced {
            queue_deletes(&tx, &[old.get::<_, String>(0)]).await?;
        }
        // The replaced part's row goes first: its number is taken by the new one.
        tx.execute("DELETE FROM parts WHERE file_id = $1 AND part_number = $2", &[&part.file_id, &number]).await.map_err(pg_err)?;
        tx.execute(&PARTS.insert('$'), &bind(&records::part_values(part)?)).await.map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)
    }

    async fn list_parts(&self, file_id: &str, start_part: u32, limit: usize) -> Result<Vec<Part>> {
        let sql = format!("SELECT {} FROM parts WHERE file_id = $1 AND part_number >= $2 ORDER BY part_number LIMIT $3", PARTS.list());
        decode_all(self.query(&sql, &[&file_id, &(start_part.min(i32::MAX as u32) as i32), &(limit as i64)]).await?, records::part_from)
    }

    async fn finish_large_file(&self, file_id: &str, plan: FinishPlan, check: Option<LatestCheck>) -> Result<FileVersion> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg_err)?;
        let unfinished = lock_version(&tx, file_id)
            .await?
            .filter(|v| v.action == Action::Start)
            .ok_or_else(|| Error::NoSuchUpload(format!("No active upload for: {file_id}")))?;
        if let Some(check) = check {
            check_latest(&tx, &unfinished.bucket_id, &unfinished.name, check).await?;
        }
        let sql = format!("SELECT {} FROM parts WHERE file_id = $1 ORDER BY part_number", PARTS.list());
        let parts: Vec<Part> = decode_all(tx.query(&sql, &[&file_id]).await.map_err(pg_err)?, records::part_from)?;
        let all_blobs: Vec<String> = parts.iter().map(|p| p.blob_id.clone()).collect();
        let v = plan(unfinished, parts)?;
        if v.file_id != file_id || v.action == Action::Start {
            return Err(Error::internal(format!("a finish plan must finish large file {file_id}")));
        }
        tx.execute(&VERSIONS.update('$'), &bind(&records::version_values(&v)?)).await.map_err(pg_err)?;
        link_blobs(&tx, &v).await?;
        // Parts left out of the finished file (S3 may complete with a subset) are collected.
        let used = v.content.blob_ids();
        let unused: Vec<String> = all_blobs.into_iter().filter(|b| !used.contains(b)).collect();
        queue_deletes(&tx, &unused).await?;
        tx.execute("DELETE FROM parts WHERE file_id = $1", &[&file_id]).await.map_err(pg_err)?;
        tx.commit().await.map_err(pg_err)?;
        Ok(v)
    }

    async fn queue_blob_deletes(&self, blob_ids: &[String]) -> Result<()> {
        let client = self.client().await?;
        queue_deletes(&client, blob_ids).await
    }

    async fn pending_blob_deletes(&self, limit: usize) -> Result<Vec<String>> {
        let rows = self.query("SELECT blob_id FROM gc_queue ORDER BY queued LIMIT $1", &[&(limit as i64)]).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn forget_blob_deletes(&self, blob_ids: &[String]) -> Result<()> {
        self.execute("DELETE FROM gc_queue WHERE blob_id = ANY($1)", &[&blob_ids]).await?;
        Ok(())
    }

    async fn blob_referenced(&self, blob_id: &str) -> Result<bool> {
        let rows = self
            .query(
                "SELECT EXISTS(SELECT 1 FROM version_blobs WHERE blob_id = $1) OR EXISTS(SELECT 1 FROM parts WHERE blob_id = $1)",
                &[&blob_id],
            )
            .await?;
        Ok(rows.first().is_some_and(|r| r.get(0)))
    }

    async fn scan_versions(&self, bucket_id: &str, prefix: &str, after: Option<(&str, &str)>, limit: usize) -> Result<Vec<FileVersion>> {
        let upper = prefix_upper_bound(prefix);
        let (name, file_id) = match after {
            Some((n, f)) => (n, Some(f)),
            None => (prefix, None),
        };
        let client = self.client().await?;
        versions_from(&client, bucket_id, name, file_id, false, upper.as_deref(), limit).await
    }

    async fn bucket_usage(&self, bucket_id: &str, prefix: &str) -> Result<(u64, u64, Option<Millis>)> {
        let rows = self
            .query(
                "SELECT count(*), coalesce(sum(size), 0)::bigint, max(upload_ts) FROM versions \
                 WHERE bucket_id = $1 AND action = 'upload' AND starts_with(name, $2)",
                &[&bucket_id, &prefix],
            )
            .await?;
        let row = rows.first().ok_or_else(|| Error::internal("bucket usage returned no row"))?;
        Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64, row.get(2)))
    }

    async fn record_usage(&self, bucket_id: &str, usage: DailyUsage) -> Result<()> {
        self.execute(
            "INSERT INTO usage_daily (bucket_id, day, files, bytes) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (bucket_id, day) DO UPDATE SET files = excluded.files, bytes = excluded.bytes",
            &[&bucket_id, &usage.day, &(usage.files as i64), &(usage.bytes as i64)],
        )
        .await?;
        Ok(())
    }

    async fn usage_history(&self, bucket_id: &str, since_day: i64) -> Result<Vec<DailyUsage>> {
        let rows = self
            .query("SELECT day, files, bytes FROM usage_daily WHERE bucket_id = $1 AND day >= $2 ORDER BY day", &[&bucket_id, &since_day])
            .await?;
        Ok(rows.iter().map(|r| DailyUsage { day: r.get(0), files: r.get::<_, i64>(1) as u64, bytes: r.get::<_, i64>(2) as u64 }).collect())
    }

    async fn settle(&self, name: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.execute("INSERT INTO meta (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING", &[&name, &value]).await?;
        let row = self.query_opt("SELECT v FROM meta WHERE k = $1", &[&name]).await?;
        row.map(|r| r.get(0)).ok_or_else(|| Error::internal(format!("meta value {name} vanished")))
    }

    async fn acquire_lease(&self, name: &str, holder: &str, now: Millis, until: Millis) -> Result<bool> {
        let taken = self
            .execute(
                "INSERT INTO leases (name, holder, expires) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE \
                 SET holder = excluded.holder, expires = excluded.expires WHERE leases.expires < $4 OR leases.holder = excluded.holder",
                &[&name, &holder, &until, &now],
            )
            .await?;
        Ok(taken == 1)
    }

    async fn put_session(&self, id_hash: &str, record: &str, expires: Millis, now: Millis) -> Result<()> {
        self.execute("DELETE FROM console_sessions WHERE expires <= $1", &[&now]).await?;
        self.execute(
            "INSERT INTO console_sessions (id_hash, record, expires) VALUES ($1, $2, $3) \
             ON CONFLICT (id_hash) DO UPDATE SET record = excluded.record, expires = excluded.expires",
            &[&id_hash, &record, &expires],
        )
        .await?;
        Ok(())
    }

    async fn get_session(&self, id_hash: &str, now: Millis) -> Result<Option<String>> {
        Ok(self
            .query_opt("SELECT record FROM console_sessions WHERE id_hash = $1 AND expires > $2", &[&id_hash, &now])
            .await?
            .map(|r| r.get(0)))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<()> {
        self.execute("DELETE FROM console_sessions WHERE id_hash = $1", &[&id_hash]).await?;
        Ok(())
    }

    async fn queue_events(&self, records: &[String]) -> Result<()> {
        // unnest keeps the array's order, and the sequence numbers follow it.
        self.execute("INSERT INTO event_outbox (record) SELECT unnest($1::text[])", &[&records]).await?;
        Ok(())
    }

    async fn pending_events(&self, limit: usize) -> Result<Vec<(i64, String)>> {
        let rows = self.query("SELECT seq, record FROM event_outbox ORDER BY seq LIMIT $1", &[&(limit as i64)]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn forget_events(&self, seqs: &[i64]) -> Result<()> {
        self.execute("DELETE FROM event_outbox WHERE seq = ANY($1)", &[&seqs]).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::testing::TestPostgres;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn meets_the_metadata_store_contract() {
        let Some(pg) = TestPostgres::start_or_skip("meets_the_metadata_store_contract") else { return };
        let counter = AtomicUsize::new(0);
        crate::conformance::check_all(|| {
            let url = pg.create_database(&format!("contract_{}", counter.fetch_add(1, Ordering::Relaxed)));
            async move { Arc::new(PostgresStore::connect(&url, 8).await.expect("connect")) }
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn nodes_starting_together_migrate_once_and_share_facts() {
        let Some(pg) = TestPostgres::start_or_skip("nodes_starting_together_migrate_once_and_share_facts") else { return };
        let url = pg.create_database("together");
        let nodes: Vec<_> = (0..4)
            .map(|_| {
                tokio::spawn({
                    let url = url.clone();
                    async move { PostgresStore::connect(&url, 2).await.expect("connect") }
                })
            })
            .collect();
        let mut stores = Vec::new();
        for node in nodes {
            stores.push(node.await.expect("join"));
        }
        let first = stores[0].identity().await.expect("identity");
        for store in &stores[1..] {
            let other = store.identity().await.expect("identity");
            assert_eq!((other.account_id, other.token_secret), (first.account_id.clone(), first.token_secret.clone()));
        }
        assert_eq!(migrate(&url).await.expect("migrate"), Vec::<&str>::new());
        // A change on one node reaches another's cache.
        let bucket = crate::conformance::bucket("b1", "shared-bucket");
        stores[0].create_bucket(&bucket, 10).await.expect("create");
        assert_eq!(stores[1].get_bucket("b1").await.expect("get").map(|b| b.revision), Some(1));
        let mut changed = bucket.clone();
        changed.revision = 2;
        assert!(stores[0].update_bucket(&changed, 1).await.expect("update"));
        let mut seen = 0;
        for _ in 0..100 {
            seen = stores[1].get_bucket("b1").await.expect("get").map_or(0, |b| b.revision);
            if seen == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(seen, 2, "the other node's cache kept the old bucket");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn small_bodies_commit_with_their_version_or_alone() {
        let Some(pg) = TestPostgres::start_or_skip("small_bodies_commit_with_their_version_or_alone") else { return };
        let url = pg.create_database("bodies");
        let store = PostgresStore::connect(&url, 4).await.expect("connect");
        store.create_bucket(&crate::conformance::bucket("b1", "bodies"), 10).await.expect("create");
        store.put_small_blob("sclaimed".into(), Bytes::from_static(b"claimed")).await.expect("put");
        store.put_small_blob("sorphan".into(), Bytes::from_static(b"orphan")).await.expect("put");
        let mut version = crate::conformance::version("b1", "a.txt", "f1", Action::Upload);
        version.content = stowage_core::model::Content::Blob { id: "sclaimed".into(), salt: None };
        store.insert_version(&version).await.expect("insert");
        // Another node (a fresh store on the same database) reads the body the version names at once.
        let other = PostgresStore::connect(&url, 2).await.expect("connect");
        assert_eq!(other.get_small_blob("sclaimed").await.expect("get").as_deref(), Some(&b"claimed"[..]));
        assert!(other.blob_referenced("sclaimed").await.expect("referenced"));
        // The body nothing claimed is written alone within seconds, unreferenced, for collection.
        let mut written = None;
        for _ in 0..100 {
            written = other.get_small_blob("sorphan").await.expect("get");
            if written.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(written.as_deref(), Some(&b"orphan"[..]));
        assert!(!other.blob_referenced("sorphan").await.expect("referenced"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_stopped_database_is_unavailable_then_back() {
        let Some(mut pg) = TestPostgres::start_or_skip("a_stopped_database_is_unavailable_then_back") else { return };
        let url = pg.create_database("outage");
        let store = PostgresStore::connect(&url, 4).await.expect("connect");
        store.create_bucket(&crate::conformance::bucket("b1", "kept"), 10).await.expect("create");
        pg.stop();
        match store.list_buckets().await {
            Err(Error::ServiceUnavailable(_)) => {}
            other => panic!("expected ServiceUnavailable, got {other:?}"),
        }
        pg.resume();
        let mut names = Vec::new();
        for _ in 0..50 {
            if let Ok(buckets) = store.list_buckets().await {
                names = buckets.into_iter().map(|b| b.name).collect();
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(names, vec!["kept".to_string()]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrates_json_bodies_into_columns() {
        let Some(pg) = TestPostgres::start_or_skip("migrates_json_bodies_into_columns") else { return };
        let url = pg.create_database("legacy");
        {
            let (client, driver) = parse_url(&url).expect("url").connect().await.expect("connect");
            client.batch_execute(POSTGRES[0].sql).await.expect("first schema");
            client
                .batch_execute(
                    "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, name text NOT NULL, \
                     applied timestamptz NOT NULL DEFAULT now()); INSERT INTO schema_migrations VALUES (1, '0001_initial')",
                )
                .await
                .expect("first version");
            client.batch_execute(crate::records::tests::LEGACY_ROWS).await.expect("legacy rows");
            drop(client);
            let _ = driver.await;
        }
        let store = PostgresStore::connect(&url, 2).await.expect("connect migrates");
        crate::records::tests::check_legacy_rows(&store).await;
        // Column names, order and types are the ones `records` binds.
        for table in [&KEYS, &BUCKETS, &VERSIONS, &PARTS] {
            let rows = store
                .query(
                    "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
                    &[&table.name],
                )
                .await
                .expect("columns");
            let found: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            let expected: Vec<(String, String)> = table.columns.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
            let mut found_sorted = found.clone();
            found_sorted.sort();
            let mut expected_sorted = expected.clone();
            expected_sorted.sort();
            assert_eq!(found_sorted, expected_sorted, "{}", table.name);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connects_over_tls_when_the_url_asks() {
        let Some(mut pg) = TestPostgres::start_or_skip("connects_over_tls_when_the_url_asks") else { return };
        let url = pg.create_database("tls");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().expect("ca key")).expect("ca");
        let server_key = rcgen::KeyPair::generate().expect("server key");
        let server_cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .expect("server params")
            .signed_by(&server_key, &*ca)
            .expect("server cert");
        pg.enable_tls(&server_cert.pem(), &server_key.serialize_pem());
        let ca_file = pg.dir().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).expect("ca file");
        async fn on_tls(store: &PostgresStore) -> bool {
            let sql = "SELECT coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)";
            store.query(sql, &[]).await.expect("pg_stat_ssl")[0].get::<_, bool>(0)
        }

        let secure = format!("{url}?sslmode=verify-full&sslrootcert={}", ca_file.display());
        let store = PostgresStore::connect(&secure, 2).await.expect("connect over TLS");
        store.create_bucket(&crate::conformance::bucket("b1", "over-tls"), 10).await.expect("create");
        assert!(on_tls(&store).await);
        // A CA the system does not trust is refused, never downgraded to plain text.
        assert!(PostgresStore::connect(&format!("{url}?sslmode=require"), 1).await.is_err());
        // Without sslmode the connection is plain TCP (a database on a private network).
        let plain = PostgresStore::connect(&url, 1).await.expect("plain");
        assert!(!on_tls(&plain).await);
        assert_eq!(plain.list_buckets().await.expect("list").len(), 1);
    }
}
