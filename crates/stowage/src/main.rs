//! The `stowage` binary: `stowage serve` runs the server; `stowage login`, `ls`, `cp`, ... are the client.

mod cli;
mod disk;
mod listener;
mod webhooks;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use stowage_api::{AppState, Metrics, S3Options};
use stowage_core::service::{MasterKey, SystemClock};
use stowage_core::store::{BlobStore, MetadataStore};
use stowage_core::store_faults::StoreFaults;
use stowage_core::store_timing::{StoreTimings, TimedBlobStore, TimedMetadataStore};
use stowage_core::{Config, Stowage};
use stowage_store::blob::LocalBlobStore;
use stowage_store::postgres::PostgresStore;
use stowage_store::s3_blobs::S3BlobStore;
use stowage_store::sqlite::SqliteStore;
use stowage_store::tiered::{SmallBlobRows, TieredBlobStore};

#[derive(Parser)]
#[command(
    name = "stowage",
    version,
    about = "Self-hosted object storage speaking the Backblaze B2 Native API, and a client for it",
    after_help = "Client exit codes: 0 success, 1 failure, 2 usage, 3 authorization (bad key, missing capability), 4 not found, 5 some transfers failed."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    #[command(flatten)]
    Client(cli::ClientCommand),
    /// Administer the metadata database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Administer the keys SSE-KMS encrypts with (they are kept by Stowage, sealed under the master key).
    #[command(subcommand)]
    Kms(KmsCommand),
    /// Copy an embedded deployment's metadata into an empty PostgreSQL database, so nodes on it serve the
    /// same keys, buckets and files without re-uploading (stop the embedded server first).
    MigrateMeta {
        /// The embedded deployment's data directory.
        #[arg(long, env = "STOWAGE_DATA", default_value = "./stowage-data")]
        data: PathBuf,
        /// The PostgreSQL database to fill: postgres://…
        #[arg(long, env = "STOWAGE_META")]
        meta: String,
        /// Also copy the blob files into this blob directory (the nodes' --blobs); without it, give the nodes
        /// --blobs <data>/blobs.
        #[arg(long)]
        copy_blobs_to: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KmsCommand {
    /// Create a key for SSE-KMS (`x-amz-server-side-encryption: aws:kms` with this key id): random key
    /// material sealed under the master key. Keys are never deleted: objects encrypted under one need it.
    Create {
        key_id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the SSE-KMS keys.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Which deployment an administrative command works on: the same settings as `serve`.
#[derive(clap::Args)]
struct StoreArgs {
    /// The metadata store: postgres://… (default: the SQLite file under --data).
    #[arg(long, env = "STOWAGE_META")]
    meta: Option<String>,
    #[arg(long, env = "STOWAGE_DATA", default_value = "./stowage-data")]
    data: PathBuf,
    /// The master key (default: <data>/master.key).
    #[arg(long, env = "STOWAGE_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Apply the schema migrations the metadata database lacks, then exit (a node also applies them when
    /// it starts; run this first to upgrade a deployment's schema before its nodes).
    Migrate {
        /// The metadata store: postgres://… (default: the SQLite file under --data).
        #[arg(long, env = "STOWAGE_META")]
        meta: Option<String>,
        #[arg(long, env = "STOWAGE_DATA", default_value = "./stowage-data")]
        data: PathBuf,
    },
}

#[derive(Parser)]
// A flag given twice takes its last value (scripts append overrides to a base command line).
#[command(args_override_self = true)]
struct ServeArgs {
    /// This node's own directory: the embedded metadata store and blobs unless --meta/--blobs say
    /// otherwise, generated keys, the node id.
    #[arg(long, env = "STOWAGE_DATA", default_value = "./stowage-data")]
    data: PathBuf,
    /// The metadata store: a postgres:// URL shared by every node of a deployment (default: SQLite in
    /// <data>/metadata.sqlite3, one node).
    #[arg(long, env = "STOWAGE_META")]
    meta: Option<String>,
    /// Most connections this node opens to a PostgreSQL metadata store.
    #[arg(long, env = "STOWAGE_META_POOL", default_value_t = 32)]
    meta_pool: usize,
    /// Where blobs live: a directory (default <data>/blobs), which the nodes of one deployment share (NFS,
    /// CephFS, …; each blob is written once under a new id, and each node stages its writes in its own
    /// <blobs>/.tmp/<node id>), or s3://BUCKET[/PREFIX] on any S3-compatible service (credentials from
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).
    #[arg(long, env = "STOWAGE_BLOBS")]
    blobs: Option<String>,
    /// The S3-compatible service's URL for --blobs s3://… (default: AWS).
    #[arg(long, env = "STOWAGE_BLOBS_ENDPOINT")]
    blobs_endpoint: Option<String>,
    #[arg(long, env = "STOWAGE_LISTEN", default_value = "127.0.0.1:8180")]
    listen: SocketAddr,
    /// The base URL clients reach this server at (default: derived from --listen).
    #[arg(long, env = "STOWAGE_PUBLIC_URL")]
    public_url: Option<String>,
    #[arg(long, env = "STOWAGE_ROOT_KEY_ID", requires = "root_key")]
    root_key_id: Option<String>,
    #[arg(long, env = "STOWAGE_ROOT_KEY", requires = "root_key_id", hide_env_values = true)]
    root_key: Option<String>,
    /// absoluteMinimumPartSize reported to clients and enforced at finish (tests lower it).
    #[arg(long, default_value_t = 5_000_000)]
    min_part_size: u64,
    /// recommendedPartSize reported to clients (their large-file threshold and part size).
    #[arg(long, default_value_t = 100_000_000)]
    recommended_part_size: u64,
    /// Region S3 signatures must name (default: any region is accepted, us-east-1 is reported).
    #[arg(long, env = "STOWAGE_REGION")]
    region: Option<String>,
    /// Base domain for virtual-hosted-style S3 requests (`<bucket>.<domain>`); path style always works.
    #[arg(long, env = "STOWAGE_DOMAIN")]
    domain: Option<String>,
    /// 64 hex digits: the root key of SSE-B2 encryption at rest (default: generated into <data>/master.key).
    #[arg(long, env = "STOWAGE_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// Below this much free disk space new uploads are refused (507 storage full); reads and deletes go on.
    #[arg(long, env = "STOWAGE_MIN_FREE_SPACE", default_value = "256MiB")]
    min_free_space: disk::ByteSize,
    /// Room held back in <data>/space-reserve and released when storage is full, so deletes can commit.
    #[arg(long, env = "STOWAGE_SPACE_RESERVE", default_value = "64MiB")]
    space_reserve: disk::ByteSize,
    /// A client must send a request's headers within this many seconds of the server waiting for them;
    /// a keep-alive connection idle this long is closed.
    #[arg(long, env = "STOWAGE_HEADER_TIMEOUT", default_value_t = 30)]
    header_timeout: u64,
    /// An upload whose body sends nothing for this many seconds is failed (400).
    #[arg(long, env = "STOWAGE_BODY_TIMEOUT", default_value_t = 60)]
    body_timeout: u64,
    /// Most client connections at once (also kept below the descriptor limit); more are answered 503.
    #[arg(long, env = "STOWAGE_MAX_CONNECTIONS", default_value_t = 4096)]
    max_connections: usize,
    /// Buckets created through S3 keep every version from the start, as B2's do (default: they start
    /// unversioned, as on AWS, until PutBucketVersioning enables it).
    #[arg(long, env = "STOWAGE_S3_BUCKETS_VERSIONED")]
    s3_buckets_versioned: bool,
    /// Seconds between runs of every background job, for tests (default: collection every 30 s, orphan
    /// collection and lifecycle hourly).
    #[arg(long, hide = true)]
    jobs_every: Option<u64>,
    /// Enables /_test/* endpoints that move the clock and run background jobs on demand.
    #[arg(long, env = "STOWAGE_TEST_HOOKS")]
    test_hooks: bool,
}

/// The root key persisted beside the data, generated on first start when none is configured.
fn load_or_create_root_key(data: &Path, account_id: &str) -> anyhow::Result<(String, String, bool)> {
    let path = data.join("root-key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let mut lines = text.lines();
        if let (Some(id), Some(secret)) = (lines.next(), lines.next()) {
            return Ok((id.to_string(), secret.to_string(), false));
        }
    }
    use rand::Rng;
    let mut rng = rand::thread_rng();
    // Like B2's master application key, the generated root key's id is the account id.
    let id = account_id.to_string();
    let secret: String = (0..31).map(|_| rng.sample(rand::distributions::Alphanumeric) as char).collect();
    let secret = format!("K000{secret}");
    let tmp = data.join("root-key.tmp");
    std::fs::write(&tmp, format!("{id}\n{secret}\n"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok((id, secret, true))
}

fn parse_master_key(hex_digits: &str) -> anyhow::Result<MasterKey> {
    let bytes: Vec<u8> = (0..hex_digits.len())
        .step_by(2)
        .map(|i| hex_digits.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<_>>()
        .context("master key must be 64 hex digits")?;
    let key: [u8; 32] = bytes.try_into().map_err(|_| anyhow::anyhow!("master key must be 64 hex digits"))?;
    Ok(MasterKey(key))
}

/// The SSE-B2 root key: configured, or generated once into `<data>/master.key` (keep it with backups:
/// without it, SSE-B2 files cannot be read).
fn load_or_create_master_key(data: &Path, configured: Option<&str>) -> anyhow::Result<MasterKey> {
    if let Some(hex_digits) = configured {
        return parse_master_key(hex_digits.trim());
    }
    let path = data.join("master.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return parse_master_key(text.trim());
    }
    let key: [u8; 32] = rand::random();
    let hex_digits: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = data.join("master.key.tmp");
    std::fs::write(&tmp, format!("{hex_digits}\n"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(MasterKey(key))
}

fn banner(url: &str, key_id: &str, key: &str, show_secret: bool) {
    let secret = if show_secret { key.to_string() } else { "<the root key you configured or saved in <data>/root-key>".into() };
    println!(
        "\nStowage is listening on {url}\n\
         \n  Web console     {url}/_console/  (sign in with an application key)\
         \n  B2 Native API   {url}  (b2_authorize_account at {url}/b2api/v4/b2_authorize_account)\
         \n  S3 API          {url}  (path style; region us-east-1 unless --region)\
         \n  Health          {url}/_health    Metrics  {url}/_metrics\
         \n\n  Root application key ID  {key_id}\
         \n  Root application key     {secret}\
         \n\nReady to paste:\
         \n  b2 CLI:        B2_ENVIRONMENT={url} b2 account authorize {key_id} {secret}\
         \n  b2sdk:         B2Api(InMemoryAccountInfo()).authorize_account('{key_id}', '<key>', realm='{url}')\
         \n  backblaze-b2:  require('backblaze-b2/conf').API_AUTHORIZE__URL = '{url}/b2api/v2/b2_authorize_account'\
         \n  rclone:        rclone lsd :b2,account={key_id},key=<key>,endpoint='{url}':\n"
    );
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data).with_context(|| format!("creating {}", args.data.display()))?;
    let disk_guard = disk::DiskGuard::prepare(&args.data, args.space_reserve.0, args.min_free_space.0)
        .with_context(|| format!("reading free space of {}", args.data.display()))?;
    let node = node_id(&args.data)?;
    let (meta, small) = open_metadata(args.meta.as_deref(), &args.data, args.meta_pool).await?;
    let (files, space_probe) = open_blobs(args.blobs.as_deref(), args.blobs_endpoint.as_deref(), &args.data, &node)?;
    let blobs: Arc<dyn BlobStore> = Arc::new(TieredBlobStore::new(small, files));
    let store_timings = Arc::new(StoreTimings::default());
    let store_faults = Arc::new(StoreFaults::default());
    let armable = args.test_hooks.then(|| store_faults.clone());
    let meta = Arc::new(TimedMetadataStore::new(meta, store_timings.clone(), armable.clone()));
    let blobs = Arc::new(TimedBlobStore::new(blobs, store_timings.clone(), armable));
    let clock = Arc::new(SystemClock::default());
    let public_url = args.public_url.clone().unwrap_or_else(|| format!("http://{}", args.listen)).trim_end_matches('/').to_string();
    let config = Config {
        public_url: public_url.clone(),
        absolute_minimum_part_size: args.min_part_size,
        recommended_part_size: args.recommended_part_size.max(args.min_part_size),
        max_buckets: 100,
        master_key: load_or_create_master_key(&args.data, args.master_key.as_deref())?,
        body_idle_timeout: Duration::from_secs(args.body_timeout.max(1)),
        s3_buckets_versioned: args.s3_buckets_versioned,
    };
    let core = Stowage::new(meta, blobs, clock.clone(), config).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    core.join_deployment().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let core = Arc::new(core);
    // Webhooks are an extra: a machine whose TLS roots cannot be loaded still serves; its events stay queued
    // for a node that can send them.
    if let Err(err) = webhooks::start(core.clone(), node.clone(), args.test_hooks) {
        tracing::error!(%err, "this node sends no event notifications: the webhook client could not be built");
    }
    let (root_id, root_secret, generated) = match (args.root_key_id, args.root_key) {
        (Some(id), Some(secret)) => (id, secret, false),
        // A node joining a deployment whose root key was made elsewhere leaves it alone.
        _ if !args.data.join("root-key").exists() && core.key_exists(core.account_id()).await.map_err(|e| anyhow::anyhow!("{e}"))? => {
            (core.account_id().to_string(), String::new(), false)
        }
        _ => load_or_create_root_key(&args.data, core.account_id())?,
    };
    if !root_secret.is_empty() {
        core.ensure_root_key(&root_id, &root_secret).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let probe_dir = space_probe;
    core.capacity().set_probe(args.min_free_space.0, Box::new(move || disk::free_space(&probe_dir).ok().map(|(free, _)| free)));
    tokio::spawn(disk_guard.run(core.clone()));
    spawn_background_jobs(core.clone(), node, args.jobs_every.map(Duration::from_secs));
    let state = Arc::new(AppState {
        core,
        root_key_id: Some(root_id.clone()),
        clock,
        test_hooks: args.test_hooks,
        metrics: Metrics::default(),
        store_timings,
        store_faults,
        s3: S3Options { region: args.region.clone(), domain: args.domain.clone() },
    });
    let app = stowage_api::router(state);
    let listener = tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let limits = listener::Limits {
        header_read_timeout: Duration::from_secs(args.header_timeout.max(1)),
        max_connections: listener::connections_that_fit(args.max_connections.max(1)),
    };
    banner(&public_url, &root_id, &root_secret, generated);
    tracing::info!(%public_url, max_connections = limits.max_connections, "listening");
    listener::serve(listener, app, limits, shutdown_signal()).await?;
    Ok(())
}

/// This node's id, generated once into `<data>/node-id`: it names the node's staging directory and its
/// leases.
fn node_id(data: &Path) -> anyhow::Result<String> {
    let path = data.join("node-id");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Some(id) = text.lines().next().filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        return Ok(id.to_string());
    }
    let id: String = (0..16).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    let tmp = data.join("node-id.tmp");
    std::fs::write(&tmp, format!("{id}\n"))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(id)
}

/// The blob store `--blobs` names, and the directory whose free space decides whether uploads fit.
fn open_blobs(blobs: Option<&str>, endpoint: Option<&str>, data: &Path, node: &str) -> anyhow::Result<(Arc<dyn BlobStore>, PathBuf)> {
    match blobs {
        Some(url) if url.starts_with("s3://") => {
            let store = S3BlobStore::open(url, endpoint).map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok((Arc::new(store), data.to_path_buf()))
        }
        Some(dir) => {
            let dir = PathBuf::from(dir);
            let staging = dir.join(".tmp").join(node);
            let store = LocalBlobStore::open_at(&dir, &staging).with_context(|| format!("opening blobs in {}", dir.display()))?;
            Ok((Arc::new(store), dir))
        }
        None => {
            let dir = data.join("blobs");
            let store = LocalBlobStore::open_at(&dir, &data.join("tmp")).with_context(|| format!("opening blobs in {}", dir.display()))?;
            Ok((Arc::new(store), dir))
        }
    }
}

fn is_postgres(meta: &str) -> bool {
    meta.starts_with("postgres://") || meta.starts_with("postgresql://")
}

/// The metadata store `--meta` names, and where it keeps small blobs.
async fn open_metadata(meta: Option<&str>, data: &Path, pool: usize) -> anyhow::Result<(Arc<dyn MetadataStore>, Arc<dyn SmallBlobRows>)> {
    match meta {
        None | Some("" | "sqlite") => {
            let store = Arc::new(SqliteStore::open(&data.join("metadata.sqlite3")).map_err(|e| anyhow::anyhow!("{e}"))?);
            Ok((store.clone(), store))
        }
        Some(url) if is_postgres(url) => {
            let store = Arc::new(PostgresStore::connect(url, pool).await.map_err(|e| anyhow::anyhow!("PostgreSQL metadata store: {e}"))?);
            Ok((store.clone(), store))
        }
        Some(other) => anyhow::bail!("--meta must be a postgres:// URL or sqlite, not {other:?}"),
    }
}

async fn kms(command: KmsCommand) -> anyhow::Result<()> {
    let (KmsCommand::Create { store, .. } | KmsCommand::List { store }) = &command;
    let (meta, _) = open_metadata(store.meta.as_deref(), &store.data, 2).await?;
    match &command {
        KmsCommand::Create { key_id, store } => {
            let master = load_or_create_master_key(&store.data, store.master_key.as_deref())?;
            let now = stowage_core::service::wall_clock();
            let key =
                stowage_core::service::create_kms_key(meta.as_ref(), &master.0, key_id, now).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("created KMS key {}", key.key_id);
        }
        KmsCommand::List { .. } => {
            for key in meta.list_kms_keys().await.map_err(|e| anyhow::anyhow!("{e}"))? {
                println!("{}\tcreated {}", key.key_id, key.created);
            }
        }
    }
    Ok(())
}

async fn migrate_metadata(meta: Option<&str>, data: &Path) -> anyhow::Result<()> {
    let applied = match meta {
        Some(url) if is_postgres(url) => stowage_store::postgres::migrate(url).await.map_err(|e| anyhow::anyhow!("{e}"))?,
        _ => {
            std::fs::create_dir_all(data)?;
            SqliteStore::migrate_file(&data.join("metadata.sqlite3")).map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    if applied.is_empty() {
        println!("the metadata schema is up to date");
    }
    for name in applied {
        println!("applied {name}");
    }
    Ok(())
}

async fn migrate_meta(data: &Path, meta: &str, copy_blobs_to: Option<&Path>) -> anyhow::Result<()> {
    let report = stowage_store::copy::sqlite_to_postgres(&data.join("metadata.sqlite3"), meta).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "copied {} keys, {} buckets, {} file versions, {} parts, {} small bodies, {} queued deletions",
        report.keys, report.buckets, report.versions, report.parts, report.small_blobs, report.queued_deletes
    );
    if let Some(target) = copy_blobs_to {
        let copied = stowage_store::copy::copy_blob_files(data, target).map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("copied {copied} blob files into {}", target.display());
    }
    println!("start the nodes with --meta {meta} and the master key in {} (STOWAGE_MASTER_KEY)", data.join("master.key").display());
    Ok(())
}

/// A background job's period and the lease that makes one node of a deployment run it: held for three
/// periods, so a dead node's share moves to another within that.
struct Job {
    name: &'static str,
    every: Duration,
}

impl Job {
    async fn run_when_leased<F, Fut>(self, core: Arc<Stowage>, node: String, work: F)
    where
        F: Fn(Arc<Stowage>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut tick = tokio::time::interval(self.every);
        let ttl = (self.every.as_millis() * 3) as i64;
        loop {
            tick.tick().await;
            match core.hold_lease(self.name, &node, ttl).await {
                Ok(true) => {
                    work(core.clone()).await;
                    tracing::debug!(target: "stowage::jobs", job = self.name, %node, "background job ran");
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(job = self.name, "cannot take the job's lease: {e}"),
            }
        }
    }
}

fn spawn_background_jobs(core: Arc<Stowage>, node: String, every: Option<Duration>) {
    let every = |default: u64| every.unwrap_or(Duration::from_secs(default));
    tokio::spawn(Job { name: "blob-collection", every: every(30) }.run_when_leased(core.clone(), node.clone(), |gc| async move {
        if let Err(e) = gc.collect_garbage().await {
            tracing::warn!("blob collection failed: {e}");
        }
    }));
    // Blobs written but never committed (a crash between the two) are collected once an hour old.
    tokio::spawn(Job { name: "orphan-collection", every: every(3600) }.run_when_leased(core.clone(), node.clone(), |core| async move {
        match core.collect_orphans(3_600_000).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("collected {n} orphaned blobs"),
            Err(e) => tracing::warn!("orphan collection failed: {e}"),
        }
    }));
    // A figure per bucket and day for the console's usage chart (recorded hourly: the day's last one stays).
    tokio::spawn(Job { name: "usage-history", every: every(3600) }.run_when_leased(core.clone(), node.clone(), |core| async move {
        if let Err(e) = core.record_daily_usage().await {
            tracing::warn!("recording usage failed: {e}");
        }
    }));
    tokio::spawn(Job { name: "lifecycle", every: every(3600) }.run_when_leased(core, node, |core| async move {
        match core.run_lifecycle().await {
            Ok(report) => tracing::debug!(?report, "lifecycle rules applied"),
            Err(e) => tracing::warn!("lifecycle run failed: {e}"),
        }
    }));
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut sig) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            sig.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,stowage::request=warn")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Client(command) => match runtime.block_on(cli::run(command)) {
            Ok(()) => Ok(()),
            Err(failure) => {
                eprintln!("stowage: {}", failure.message);
                std::process::exit(failure.code);
            }
        },
        Command::Serve(args) => runtime.block_on(serve(*args)),
        Command::Db(DbCommand::Migrate { meta, data }) => runtime.block_on(migrate_metadata(meta.as_deref(), &data)),
        Command::Kms(command) => runtime.block_on(kms(command)),
        Command::MigrateMeta { data, meta, copy_blobs_to } => runtime.block_on(migrate_meta(&data, &meta, copy_blobs_to.as_deref())),
    }
}
