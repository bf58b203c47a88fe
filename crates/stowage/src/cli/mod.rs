//! The client half on the command line: `stowage login`, `ls`, `cp`, `rm`, `mb`, `rb`, `cat` and `share`,
//! over the B2 Native API (the `stowage-client` crate), against B2 or any server that speaks it. Paths
//! are `b2://bucket/path` (the b2 CLI's form) or local paths as they are.
//!
//! Exit codes: 0 success, 1 failure, 2 usage, 3 authorization (a bad key, a missing capability), 4 not
//! found, 5 partial failure (some transfers of several failed).

use std::path::PathBuf;

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use stowage_client::{BucketSettings, Client, ClientConfig, Error, FileVersion, UploadOptions};

mod local;
mod output;
mod sync;
mod tasks;

use local::LocalWalk;
use output::Reporter;
use sync::{PathFilter, SyncPlan, sync};
use tasks::{Running, download_into, settle};

/// Options every client subcommand takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// The saved profile to use (see `stowage login`).
    #[arg(long, env = "STOWAGE_PROFILE", default_value = "default")]
    pub profile: String,
    /// The API's URL (`https://api.backblazeb2.com` for B2; a Stowage server's URL), over the profile's.
    #[arg(long, env = "B2_ENVIRONMENT")]
    pub realm: Option<String>,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
    /// One JSON object per line, for scripts.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum ClientCommand {
    /// Save a key as a profile (B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY when not given), after
    /// checking it with the server.
    Login {
        key_id: Option<String>,
        key: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// List buckets (no path), a folder, or with --recursive everything under a prefix.
    Ls {
        path: Option<String>,
        #[arg(long, short)]
        recursive: bool,
        /// Every version, hidden ones included.
        #[arg(long)]
        versions: bool,
        /// Size, upload time and file id beside each name.
        #[arg(long, short)]
        long: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Copy local → bucket, bucket → local, or bucket → bucket (a copy inside the server); `-` as the source
    /// uploads standard input (any length, a part at a time).
    Cp {
        source: String,
        destination: String,
        /// Copy a folder and everything under it.
        #[arg(long, short)]
        recursive: bool,
        /// Files transferred at once, and parts of a large file at once.
        #[arg(long, default_value_t = 4)]
        threads: usize,
        #[command(flatten)]
        common: Common,
    },
    /// Make a destination match a source, in either direction (local folder and b2://bucket/prefix): new and
    /// changed files are copied; with --delete, files only in the destination go (every version, remotely).
    Sync {
        source: String,
        destination: String,
        /// Remove what the destination has and the source does not.
        #[arg(long)]
        delete: bool,
        /// Say what would happen, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// How files are told apart: size and modification time (`src_last_modified_millis`, as the b2 CLI
        /// records it), size alone, or SHA-1.
        #[arg(long, value_enum, default_value_t = Compare::Modified)]
        compare: Compare,
        /// Only paths (relative to the source) matching one of these globs.
        #[arg(long)]
        include: Vec<String>,
        /// Never paths matching one of these globs.
        #[arg(long)]
        exclude: Vec<String>,
        #[arg(long, default_value_t = 4)]
        threads: usize,
        #[command(flatten)]
        common: Common,
    },
    /// Remove files: the name is hidden (its versions stay) unless --versions, which deletes every version.
    Rm {
        path: String,
        #[arg(long, short)]
        recursive: bool,
        #[arg(long)]
        versions: bool,
        /// Say what would go, remove nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Make a bucket (private unless --public).
    Mb {
        bucket: String,
        #[arg(long)]
        public: bool,
        #[command(flatten)]
        settings: BucketOptions,
        #[command(flatten)]
        common: Common,
    },
    /// Remove a bucket; --force deletes every version and unfinished large file in it first.
    Rb {
        bucket: String,
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Write a file's bytes to standard output.
    Cat {
        path: String,
        #[command(flatten)]
        common: Common,
    },
    /// Rename a file within its bucket: a copy inside the server, then every version of the old name goes.
    Mv {
        source: String,
        destination: String,
        #[command(flatten)]
        common: Common,
    },
    /// A file's description: size, SHA-1, content type, file info, retention, legal hold (JSON).
    Stat {
        path: String,
        #[command(flatten)]
        common: Common,
    },
    /// Files and bytes under a prefix (newest versions), or with --versions every stored version.
    Du {
        path: String,
        #[arg(long)]
        versions: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Application keys: create, list, delete.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Buckets: list, get (JSON), update (type, CORS rules, lifecycle rules, bucket info).
    #[command(subcommand)]
    Bucket(BucketCommand),
    /// A link that downloads a file (or anything under a prefix) for a limited time.
    Share {
        path: String,
        /// How long the link works.
        #[arg(long, default_value_t = 3600)]
        seconds: i64,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum KeyCommand {
    /// Make a key; its secret is printed once.
    Create {
        name: String,
        /// Comma-separated capabilities (listFiles,readFiles,...).
        #[arg(long, value_delimiter = ',', required = true)]
        capabilities: Vec<String>,
        /// Restrict it to this bucket.
        #[arg(long)]
        bucket: Option<String>,
        /// Restrict it to names under this prefix.
        #[arg(long)]
        name_prefix: Option<String>,
        #[arg(long)]
        duration_seconds: Option<i64>,
        #[command(flatten)]
        common: Common,
    },
    List {
        #[command(flatten)]
        common: Common,
    },
    Delete {
        key_id: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum BucketCommand {
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Everything B2 says of a bucket, as JSON.
    Get {
        bucket: String,
        #[command(flatten)]
        common: Common,
    },
    /// Change a bucket's settings; what is not given stays as it is.
    Update {
        bucket: String,
        /// allPublic or allPrivate.
        #[arg(long = "type")]
        bucket_type: Option<String>,
        #[command(flatten)]
        settings: BucketOptions,
        #[command(flatten)]
        common: Common,
    },
}

/// Bucket settings `mb` and `bucket update` take.
#[derive(clap::Args, Debug, Default)]
pub struct BucketOptions {
    /// CORS rules as B2's JSON (an array), or @FILE to read them from a file.
    #[arg(long)]
    cors_rules: Option<String>,
    /// Lifecycle rules as B2's JSON (an array), or @FILE.
    #[arg(long)]
    lifecycle_rules: Option<String>,
    /// Bucket info as a JSON object (e.g. {"Cache-Control":"max-age=3600"}), or @FILE.
    #[arg(long)]
    bucket_info: Option<String>,
    /// Default encryption of new files: SSE-B2, or none.
    #[arg(long, value_parser = ["SSE-B2", "none"])]
    default_encryption: Option<String>,
    /// Turn object lock on (it cannot be turned off again).
    #[arg(long)]
    file_lock_enabled: bool,
    /// Default retention of new files: governance:PERIOD or compliance:PERIOD (PERIOD as 30d or 1y), or none.
    #[arg(long)]
    default_retention: Option<String>,
    /// Event notification rules as B2's JSON (an array; [] removes them all), or @FILE.
    #[arg(long)]
    notification_rules: Option<String>,
}

impl BucketOptions {
    /// The settings B2's create and update calls take (notification rules have a call of their own).
    fn settings(&self, bucket_type: Option<String>) -> anyhow::Result<BucketSettings> {
        Ok(BucketSettings {
            bucket_type,
            cors_rules: self.cors_rules.as_deref().map(|t| json_argument("--cors-rules", t)).transpose()?,
            lifecycle_rules: self.lifecycle_rules.as_deref().map(|t| json_argument("--lifecycle-rules", t)).transpose()?,
            bucket_info: self.bucket_info.as_deref().map(|t| json_argument("--bucket-info", t)).transpose()?,
            default_server_side_encryption: self.default_encryption.as_deref().map(|mode| match mode {
                "none" => serde_json::json!({"mode": null}),
                _ => serde_json::json!({"mode": "SSE-B2", "algorithm": "AES256"}),
            }),
            file_lock_enabled: self.file_lock_enabled.then_some(true),
            default_retention: self.default_retention.as_deref().map(default_retention).transpose()?,
            ..Default::default()
        })
    }

    fn notification_rules(&self) -> anyhow::Result<Option<Vec<stowage_client::NotificationRule>>> {
        self.notification_rules.as_deref().map(|t| json_argument("--notification-rules", t)).transpose()
    }
}

/// `governance:30d`, `compliance:1y` or `none` as B2's `defaultRetention`.
fn default_retention(text: &str) -> anyhow::Result<serde_json::Value> {
    if text == "none" {
        return Ok(serde_json::json!({"mode": null}));
    }
    let usage =
        || usage_error(format!("--default-retention {text:?}: give governance:PERIOD, compliance:PERIOD (PERIOD as 30d or 1y) or none"));
    let (mode, period) = text.split_once(':').ok_or_else(usage)?;
    if mode != "governance" && mode != "compliance" {
        return Err(usage());
    }
    let (digits, unit) = period.split_at(period.len().saturating_sub(1));
    let unit = match unit {
        "d" => "days",
        "y" => "years",
        _ => return Err(usage()),
    };
    let duration: u32 = digits.parse().map_err(|_| usage())?;
    if duration == 0 {
        return Err(usage());
    }
    Ok(serde_json::json!({"mode": mode, "period": {"duration": duration, "unit": unit}}))
}

/// A JSON argument given inline or as `@FILE`.
fn json_argument<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> anyhow::Result<T> {
    let text = match text.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?,
        None => text.to_string(),
    };
    serde_json::from_str(&text).with_context(|| format!("{what} is not valid JSON of B2's shape"))
}

async fn bucket_command(command: BucketCommand) -> anyhow::Result<()> {
    match command {
        BucketCommand::List { common } => {
            for b in client(&common)?.list_buckets().await? {
                if common.json {
                    println!("{}", serde_json::to_string(&b)?);
                } else {
                    println!("{:<24} {:<10} {}", b.bucket_id, b.bucket_type, b.bucket_name);
                }
            }
        }
        BucketCommand::Get { bucket, common } => {
            let name = bucket.trim_start_matches("b2://").trim_end_matches('/');
            let found = client(&common)?.bucket_by_name(name).await?;
            let found = found.ok_or_else(|| not_found("bucket_not_found", format!("no bucket named {name} that this key may see")))?;
            println!("{}", serde_json::to_string_pretty(&found)?);
        }
        BucketCommand::Update { bucket, bucket_type, settings, common } => {
            let name = bucket.trim_start_matches("b2://").trim_end_matches('/');
            let client = client(&common)?;
            let id = bucket_id(&client, name).await?;
            let (changes, rules) = (settings.settings(bucket_type)?, settings.notification_rules()?);
            let updated = client.update_bucket(&id, &changes).await?;
            if let Some(rules) = rules {
                client.set_notification_rules(&id, &rules).await?;
            }
            println!("{}", serde_json::to_string_pretty(&updated)?);
        }
    }
    Ok(())
}

/// How `sync` tells a changed file from an unchanged one.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// Size and modification time.
    Modified,
    Size,
    Sha1,
}

/// A failure and the exit code it is.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        let code = match e.downcast_ref::<Error>() {
            _ if e.is::<UsageError>() => 2,
            Some(err) if matches!(err.status(), Some(401 | 403)) => 3,
            Some(err) if err.status() == Some(404) || err.code().is_some_and(|c| c.contains("not_found") || c == "no_such_file") => 4,
            _ => 1,
        };
        let hint = match e.downcast_ref::<Error>() {
            Some(err) if err.code() == Some("unauthorized") => {
                " (the key lacks a capability this needs, or is restricted to other buckets or names)"
            }
            Some(err) if err.is_expired_auth() => " (log in again: `stowage login`)",
            _ => "",
        };
        Failure { code, message: format!("{e:#}{hint}") }
    }
}

#[derive(Serialize, Deserialize, Default)]
struct Profiles {
    #[serde(flatten)]
    profiles: std::collections::BTreeMap<String, Profile>,
}

#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Profile {
    realm: String,
    key_id: String,
    key: String,
}

fn profiles_path() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("STOWAGE_CONFIG_DIR") {
        return Ok(PathBuf::from(dir).join("profiles.json"));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").context("HOME is not set: set STOWAGE_CONFIG_DIR")?).join(".config"),
    };
    Ok(base.join("stowage").join("profiles.json"))
}

fn load_profiles() -> anyhow::Result<Profiles> {
    let path = profiles_path()?;
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profiles::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes the profiles readable by their owner only (they hold keys).
fn save_profiles(profiles: &Profiles) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = profiles_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let staged = path.with_extension("json.new");
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&staged)?;
    file.write_all(&serde_json::to_vec_pretty(profiles)?)?;
    file.sync_all()?;
    std::fs::rename(&staged, &path)?;
    Ok(path)
}

/// The key to use: B2_APPLICATION_KEY_ID / B2_APPLICATION_KEY from the environment (as the b2 CLI reads
/// them), else the profile; the realm from --realm / B2_ENVIRONMENT, else the profile, else B2.
fn client(common: &Common) -> anyhow::Result<Client> {
    client_with_threads(common, None)
}

/// A client whose large files move `threads` parts at a time (`cp --threads` means parts as well as files).
fn client_with_threads(common: &Common, threads: Option<usize>) -> anyhow::Result<Client> {
    let env_key = std::env::var("B2_APPLICATION_KEY_ID").ok().zip(std::env::var("B2_APPLICATION_KEY").ok());
    let profile = load_profiles()?.profiles.get(&common.profile).cloned();
    let (key_id, key) = match (env_key, &profile) {
        (Some(pair), _) => pair,
        (None, Some(p)) => (p.key_id.clone(), p.key.clone()),
        (None, None) => anyhow::bail!("no key: run `stowage login`, or set B2_APPLICATION_KEY_ID and B2_APPLICATION_KEY"),
    };
    let realm = common.realm.clone().or(profile.map(|p| p.realm)).unwrap_or_else(|| stowage_client::B2_REALM.to_string());
    let mut config = ClientConfig::new(realm, key_id, key);
    if let Some(threads) = threads {
        config = config.with_part_concurrency(threads);
    }
    Ok(Client::new(config)?)
}

enum Location {
    Remote { bucket: String, path: String },
    Local(PathBuf),
}

fn location(text: &str) -> Location {
    match text.strip_prefix("b2://") {
        Some(rest) => {
            let (bucket, path) = rest.split_once('/').unwrap_or((rest, ""));
            Location::Remote { bucket: bucket.to_string(), path: path.to_string() }
        }
        None => Location::Local(PathBuf::from(text)),
    }
}

fn remote(text: &str) -> anyhow::Result<(String, String)> {
    match location(text) {
        Location::Remote { bucket, path } if !bucket.is_empty() => Ok((bucket, path)),
        _ => anyhow::bail!("{text:?} is not a b2://bucket/path"),
    }
}

/// A command line this tool cannot act on (exit code 2).
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage_error(message: String) -> anyhow::Error {
    anyhow::Error::new(UsageError(message))
}

/// A "not found" failure (exit code 4) of this tool's own, in the shape the server's are.
fn not_found(code: &str, message: String) -> anyhow::Error {
    anyhow::Error::new(Error::Api { status: 404, code: code.into(), message, retry_after: None })
}

async fn bucket_id(client: &Client, name: &str) -> anyhow::Result<String> {
    match client.bucket_by_name(name).await? {
        Some(b) => Ok(b.bucket_id),
        None => Err(not_found("bucket_not_found", format!("no bucket named {name} that this key may see"))),
    }
}

pub async fn run(command: ClientCommand) -> Result<(), Failure> {
    match command {
        ClientCommand::Login { key_id, key, common } => login(key_id, key, &common).await?,
        ClientCommand::Ls { path, recursive, versions, long, common } => ls(path.as_deref(), recursive, versions, long, &common).await?,
        ClientCommand::Cp { source, destination, recursive, threads, common } => {
            let failed = cp(&source, &destination, recursive, threads.max(1), &common).await?;
            if failed > 0 {
                return Err(Failure { code: 5, message: format!("{failed} transfer(s) failed") });
            }
        }
        ClientCommand::Rm { path, recursive, versions, dry_run, common } => rm(&path, recursive, versions, dry_run, &common).await?,
        ClientCommand::Sync { source, destination, delete, dry_run, compare, include, exclude, threads, common } => {
            let plan = SyncPlan { delete, dry_run, compare, filter: PathFilter::new(&include, &exclude)?, threads: threads.max(1) };
            let failed = sync(&source, &destination, &plan, &common).await?;
            if failed > 0 {
                return Err(Failure { code: 5, message: format!("{failed} transfer(s) failed") });
            }
        }
        ClientCommand::Mb { bucket, public, settings, common } => {
            let name = bucket.trim_start_matches("b2://").trim_end_matches('/');
            let (changes, rules) =
                (settings.settings(Some(if public { "allPublic" } else { "allPrivate" }.into()))?, settings.notification_rules()?);
            let client = client(&common)?;
            let made = client.create_bucket(name, &changes).await.map_err(anyhow::Error::new)?;
            if let Some(rules) = rules {
                client.set_notification_rules(&made.bucket_id, &rules).await.map_err(anyhow::Error::new)?;
            }
            if common.json {
                println!("{}", serde_json::to_string(&made).unwrap_or_default());
            } else {
                println!("{}", made.bucket_id);
            }
        }
        ClientCommand::Rb { bucket, force, common } => {
            let name = bucket.trim_start_matches("b2://").trim_end_matches('/');
            let client = client(&common)?;
            let id = bucket_id(&client, name).await?;
            if force {
                empty_bucket(&client, &id).await?;
            }
            client.delete_bucket(&id).await.map_err(anyhow::Error::new)?;
        }
        ClientCommand::Cat { path, common } => {
            use std::io::Write;
            let (bucket, name) = remote(&path)?;
            let download = client(&common)?.download_by_name(&bucket, &name, None).await.map_err(anyhow::Error::new)?;
            let mut body = download.body;
            while let Some(chunk) = body.next().await {
                std::io::stdout().write_all(&chunk.map_err(anyhow::Error::new)?).map_err(|e| anyhow::anyhow!(e))?;
            }
            std::io::stdout().flush().map_err(|e| anyhow::anyhow!(e))?;
        }
        ClientCommand::Mv { source, destination, common } => {
            let ((bucket, from), (to_bucket, to)) = (remote(&source)?, remote(&destination)?);
            if bucket != to_bucket {
                return Err(Failure { code: 2, message: "mv renames within a bucket; use cp then rm across buckets".into() });
            }
            let client = client(&common)?;
            let id = bucket_id(&client, &bucket).await?;
            let current = exact_file(&client, &id, &bucket, &from).await?;
            let to = if to.is_empty() || to.ends_with('/') { format!("{to}{}", from.rsplit('/').next().unwrap_or(&from)) } else { to };
            client.copy(&current, &id, &to).await.map_err(anyhow::Error::new)?;
            delete_every_version(&client, &id, &from).await?;
            if !common.quiet {
                eprintln!("moved b2://{bucket}/{from} -> b2://{bucket}/{to}");
            }
        }
        ClientCommand::Stat { path, common } => {
            let (bucket, name) = remote(&path)?;
            let client = client(&common)?;
            let id = bucket_id(&client, &bucket).await?;
            let listed = exact_file(&client, &id, &bucket, &name).await?;
            let full = client.get_file_info(&listed.file_id).await.map_err(anyhow::Error::new)?;
            println!("{}", serde_json::to_string_pretty(&full).unwrap_or_default());
        }
        ClientCommand::Du { path, versions, common } => {
            let (bucket, prefix) = remote(&path)?;
            let client = client(&common)?;
            let id = bucket_id(&client, &bucket).await?;
            let entries: Vec<FileVersion> = if versions {
                client.list_file_versions(&id, &prefix).try_collect().await.map_err(anyhow::Error::new)?
            } else {
                client.list_file_names(&id, &prefix).try_collect().await.map_err(anyhow::Error::new)?
            };
            let stored: Vec<&FileVersion> = entries.iter().filter(|f| f.action == "upload").collect();
            let bytes: u64 = stored.iter().map(|f| f.content_length).sum();
            if common.json {
                println!("{}", serde_json::json!({"path": path, "files": stored.len(), "bytes": bytes}));
            } else {
                println!("{} files, {bytes} bytes\t{path}", stored.len());
            }
        }
        ClientCommand::Key(command) => key(command).await?,
        ClientCommand::Bucket(command) => bucket_command(command).await?,
        ClientCommand::Share { path, seconds, common } => {
            let (bucket, prefix) = remote(&path)?;
            let client = client(&common)?;
            let id = bucket_id(&client, &bucket).await?;
            let token = client.get_download_authorization(&id, &prefix, seconds).await.map_err(anyhow::Error::new)?;
            let base = client.authorization().await.map_err(anyhow::Error::new)?.api_info.storage_api.download_url.clone();
            let url = format!("{}/file/{bucket}/{prefix}?Authorization={}", base.trim_end_matches('/'), token.authorization_token);
            if common.json {
                println!("{}", serde_json::json!({"url": url, "validSeconds": seconds}));
            } else {
                println!("{url}");
            }
        }
    }
    Ok(())
}

/// The current version of exactly `name` (not of a longer name it begins).
async fn exact_file(client: &Client, bucket_id: &str, bucket: &str, name: &str) -> anyhow::Result<FileVersion> {
    let first: Vec<FileVersion> = client.list_file_names(bucket_id, name).take(1).try_collect().await?;
    first
        .into_iter()
        .find(|f| f.file_name == name && f.action == "upload")
        .ok_or_else(|| not_found("no_such_file", format!("no file b2://{bucket}/{name}")))
}

async fn key(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Create { name, capabilities, bucket, name_prefix, duration_seconds, common } => {
            let client = client(&common)?;
            let bucket_ids = match bucket {
                Some(b) => Some(vec![bucket_id(&client, b.trim_start_matches("b2://").trim_end_matches('/')).await?]),
                None => None,
            };
            let new = stowage_client::NewKey {
                key_name: name,
                capabilities,
                valid_duration_in_seconds: duration_seconds,
                bucket_ids,
                name_prefix,
            };
            let made = client.create_key(&new).await?;
            if common.json {
                println!("{}", serde_json::json!({"applicationKeyId": made.application_key_id, "applicationKey": made.application_key}));
            } else {
                println!("{} {}", made.application_key_id, made.application_key.unwrap_or_default());
            }
        }
        KeyCommand::List { common } => {
            let client = client(&common)?;
            let keys: Vec<stowage_client::Key> = client.list_keys().try_collect().await?;
            for k in keys {
                if common.json {
                    println!(
                        "{}",
                        serde_json::json!({"applicationKeyId": k.application_key_id, "keyName": k.key_name, "capabilities": k.capabilities,
                        "bucketIds": k.bucket_ids, "namePrefix": k.name_prefix, "expirationTimestamp": k.expiration_timestamp})
                    );
                } else {
                    println!("{} {:<24} {}", k.application_key_id, k.key_name, k.capabilities.join(","));
                }
            }
        }
        KeyCommand::Delete { key_id, common } => {
            client(&common)?.delete_key(&key_id).await?;
        }
    }
    Ok(())
}

async fn login(key_id: Option<String>, key: Option<String>, common: &Common) -> anyhow::Result<()> {
    let key_id =
        key_id.or_else(|| std::env::var("B2_APPLICATION_KEY_ID").ok()).context("give the key id (or set B2_APPLICATION_KEY_ID)")?;
    let key = key.or_else(|| std::env::var("B2_APPLICATION_KEY").ok()).context("give the key (or set B2_APPLICATION_KEY)")?;
    let realm = common.realm.clone().unwrap_or_else(|| stowage_client::B2_REALM.to_string());
    let client = Client::new(ClientConfig::new(&realm, &key_id, &key))?;
    let auth = client.authorization().await?;
    let mut profiles = load_profiles()?;
    profiles.profiles.insert(common.profile.clone(), Profile { realm: realm.clone(), key_id: key_id.clone(), key });
    let saved = save_profiles(&profiles)?;
    if !common.quiet {
        eprintln!(
            "Logged in to {realm} as key {key_id} (account {}); profile {:?} saved in {}",
            auth.account_id,
            common.profile,
            saved.display()
        );
    }
    Ok(())
}

fn print_entry(f: &FileVersion, bucket: &str, long: bool, json: bool) {
    if json {
        println!("{}", serde_json::to_string(f).unwrap_or_default());
    } else if long {
        let when = if f.upload_timestamp > 0 { format_millis(f.upload_timestamp) } else { "-".into() };
        println!("{:<8} {:>14} {:<19} {:<50} b2://{bucket}/{}", f.action, f.content_length, when, f.file_id, f.file_name);
    } else {
        println!("{}", f.file_name);
    }
}

/// UTC `YYYY-MM-DD HH:MM:SS` of a B2 timestamp.
fn format_millis(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(t) => format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second()),
        Err(_) => ms.to_string(),
    }
}

async fn ls(path: Option<&str>, recursive: bool, versions: bool, long: bool, common: &Common) -> anyhow::Result<()> {
    let client = client(common)?;
    let Some(path) = path else {
        for b in client.list_buckets().await? {
            if common.json {
                println!("{}", serde_json::to_string(&b)?);
            } else if long {
                println!("{:<24} {:<10} {}", b.bucket_id, b.bucket_type, b.bucket_name);
            } else {
                println!("{}", b.bucket_name);
            }
        }
        return Ok(());
    };
    let (bucket, prefix) = remote(path)?;
    let id = bucket_id(&client, &bucket).await?;
    let folder = if prefix.is_empty() || prefix.ends_with('/') { prefix.clone() } else { format!("{prefix}/") };
    let mut entries: std::pin::Pin<Box<dyn futures::Stream<Item = stowage_client::Result<FileVersion>> + Send + '_>> = if versions {
        Box::pin(client.list_file_versions(&id, &prefix))
    } else if recursive {
        Box::pin(client.list_file_names(&id, &prefix))
    } else {
        Box::pin(client.list_folder(&id, &folder))
    };
    while let Some(entry) = entries.try_next().await? {
        if versions && !recursive && entry.file_name[prefix.len()..].contains('/') {
            continue;
        }
        print_entry(&entry, &bucket, long, common.json);
    }
    Ok(())
}

/// Copies; returns how many of several transfers failed (each failure is reported as it happens).
async fn cp(source: &str, destination: &str, recursive: bool, threads: usize, common: &Common) -> anyhow::Result<usize> {
    let client = client_with_threads(common, Some(threads))?;
    let reporter = Reporter::new(common);
    // Files start as the walk or the listing reaches them, never more than `threads` at once.
    let mut running = Running::new(threads);
    match (location(source), location(destination)) {
        // Standard input, of any length, a part at a time as it is read.
        (Location::Local(from), Location::Remote { bucket, path }) if from.as_os_str() == "-" => {
            if path.is_empty() || path.ends_with('/') {
                return Err(usage_error("copying standard input needs a file name: b2://bucket/name".into()));
            }
            let id = bucket_id(&client, &bucket).await?;
            let (bar, progress) = reporter.bar(&path, 0);
            let options = UploadOptions { progress, ..Default::default() };
            let stored = client.upload_reader(&id, &path, tokio::io::stdin(), &options).await.context("uploading standard input")?;
            reporter.done(bar, "upload", "-", &format!("b2://{bucket}/{}", stored.file_name), stored.content_length);
            return Ok(0);
        }
        (Location::Local(from), Location::Remote { bucket, path }) => {
            let id = bucket_id(&client, &bucket).await?;
            let files: Box<dyn Iterator<Item = anyhow::Result<(PathBuf, String)>>> = if recursive {
                let base = if path.is_empty() || path.ends_with('/') { path.clone() } else { format!("{path}/") };
                Box::new(LocalWalk::new(&from)?.map(move |entry| entry.map(|(file, rel)| (file, format!("{base}{rel}")))))
            } else {
                let file_name = from.file_name().map(|n| n.to_string_lossy().to_string()).context("the source names no file")?;
                let name = if path.is_empty() || path.ends_with('/') { format!("{path}{file_name}") } else { path.clone() };
                Box::new(std::iter::once(Ok((from.clone(), name))))
            };
            for entry in files {
                let (file, name) = entry?;
                let (client, id, bucket, reporter) = (client.clone(), id.clone(), bucket.clone(), reporter.clone());
                running
                    .start(async move {
                        let len = tokio::fs::metadata(&file).await.with_context(|| format!("reading {}", file.display()))?.len();
                        let (bar, progress) = reporter.bar(&name, len);
                        let options = UploadOptions { progress, ..Default::default() };
                        let stored = client
                            .upload_file(&id, &name, &file, &options)
                            .await
                            .with_context(|| format!("uploading {}", file.display()))?;
                        let to = format!("b2://{bucket}/{}", stored.file_name);
                        reporter.done(bar, "upload", &file.display().to_string(), &to, stored.content_length);
                        Ok(())
                    })
                    .await;
            }
        }
        (Location::Remote { bucket, path }, Location::Local(to)) => {
            let id = bucket_id(&client, &bucket).await?;
            let mut files: futures::stream::BoxStream<'_, stowage_client::Result<FileVersion>> = if recursive {
                Box::pin(client.list_file_names(&id, &path))
            } else {
                Box::pin(futures::stream::once(futures::future::ready(Ok(exact_file(&client, &id, &bucket, &path).await?))))
            };
            while let Some(f) = files.try_next().await? {
                let target = if recursive {
                    to.join(f.file_name[path.len()..].trim_start_matches('/'))
                } else if to.is_dir() {
                    to.join(f.file_name.rsplit('/').next().unwrap_or(&f.file_name))
                } else {
                    to.clone()
                };
                let (client, bucket, reporter) = (client.clone(), bucket.clone(), reporter.clone());
                running.start(async move { download_into(&client, &reporter, &bucket, &f, &target, None).await }).await;
            }
        }
        (Location::Remote { bucket, path }, Location::Remote { bucket: to_bucket, path: to_path }) => {
            let from_id = bucket_id(&client, &bucket).await?;
            let to_id = bucket_id(&client, &to_bucket).await?;
            let mut files = Box::pin(client.list_file_names(&from_id, &path));
            while let Some(f) = files.try_next().await? {
                if !recursive && f.file_name != path {
                    continue;
                }
                let name = if recursive {
                    format!("{}{}", to_path, &f.file_name[path.len()..])
                } else if to_path.is_empty() || to_path.ends_with('/') {
                    format!("{to_path}{}", f.file_name.rsplit('/').next().unwrap_or(&f.file_name))
                } else {
                    to_path.clone()
                };
                let (client, to_id, bucket, to_bucket, reporter) =
                    (client.clone(), to_id.clone(), bucket.clone(), to_bucket.clone(), reporter.clone());
                running
                    .start(async move {
                        let (bar, progress) = reporter.bar(&name, f.content_length);
                        let copied = client.copy_with_progress(&f, &to_id, &name, progress).await?;
                        let (from, to) = (format!("b2://{bucket}/{}", f.file_name), format!("b2://{to_bucket}/{name}"));
                        reporter.done(bar, "copy", &from, &to, copied.content_length);
                        Ok(())
                    })
                    .await;
            }
        }
        (Location::Local(_), Location::Local(_)) => anyhow::bail!("one side of a copy is a b2://bucket/path"),
    }
    let (started, failures) = running.finish().await;
    if started == 0 && !matches!(location(source), Location::Local(_)) {
        return Err(not_found("not_found", format!("nothing at {source}")));
    }
    settle(started, failures)
}

async fn rm(path: &str, recursive: bool, versions: bool, dry_run: bool, common: &Common) -> anyhow::Result<()> {
    let (bucket, name) = remote(path)?;
    let client = client(common)?;
    let id = bucket_id(&client, &bucket).await?;
    let mut doomed: Vec<FileVersion> = client.list_file_versions(&id, &name).try_collect().await?;
    doomed.retain(|v| recursive || v.file_name == name);
    if doomed.is_empty() {
        return Err(not_found("not_found", format!("nothing at {path}")));
    }
    let mut names: Vec<String> = doomed.iter().map(|v| v.file_name.clone()).collect();
    names.dedup();
    for file_name in names {
        // Oldest first: a failure part-way never brings an older version back under the name.
        let mine: Vec<&FileVersion> = doomed.iter().filter(|v| v.file_name == file_name).rev().collect();
        if versions {
            for v in mine {
                if dry_run {
                    println!("would delete b2://{bucket}/{} {}", v.file_name, v.file_id);
                    continue;
                }
                client.delete_file_version(&v.file_name, &v.file_id, false).await?;
                if !common.quiet {
                    eprintln!("deleted b2://{bucket}/{} {}", v.file_name, v.file_id);
                }
            }
        } else if mine.last().is_some_and(|newest| newest.action == "upload") {
            if dry_run {
                println!("would hide b2://{bucket}/{file_name}");
                continue;
            }
            client.hide_file(&id, &file_name).await?;
            if !common.quiet {
                eprintln!("hidden b2://{bucket}/{file_name} (its versions stay; --versions deletes them)");
            }
        }
    }
    Ok(())
}

/// Deletes every version of one name, oldest first, so a refusal part-way never brings an older version
/// back under the name.
async fn delete_every_version(client: &Client, bucket_id: &str, name: &str) -> anyhow::Result<()> {
    let versions: Vec<FileVersion> = client.list_file_versions(bucket_id, name).try_collect().await?;
    for v in versions.iter().filter(|v| v.file_name == name).rev() {
        client.delete_file_version(&v.file_name, &v.file_id, false).await?;
    }
    Ok(())
}

/// Deletes every version and unfinished large file of a bucket (before removing it).
async fn empty_bucket(client: &Client, id: &str) -> anyhow::Result<()> {
    let all: Vec<FileVersion> = client.list_file_versions(id, "").try_collect().await?;
    for v in all.iter().rev() {
        client.delete_file_version(&v.file_name, &v.file_id, false).await?;
    }
    let open: Vec<FileVersion> = client.list_unfinished_large_files(id, "").try_collect().await?;
    for f in open {
        client.cancel_large_file(&f.file_id).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_retention_reads_mode_and_period() {
        assert_eq!(
            default_retention("governance:30d").expect("valid"),
            serde_json::json!({"mode": "governance", "period": {"duration": 30, "unit": "days"}})
        );
        assert_eq!(default_retention("compliance:2y").expect("valid")["period"]["unit"], "years");
        assert_eq!(default_retention("none").expect("valid"), serde_json::json!({"mode": null}));
        for bad in ["governance", "legal:1d", "governance:0d", "governance:7w", "compliance:d", "governance:-1d"] {
            assert!(default_retention(bad).expect_err(bad).is::<UsageError>(), "{bad}");
        }
    }

    #[test]
    fn timestamps_print_as_utc() {
        assert_eq!(format_millis(0), "1970-01-01 00:00:00");
        assert_eq!(format_millis(1_765_148_400_000), "2025-12-07 23:00:00");
    }

    #[test]
    fn paths_are_b2_urls_or_local() {
        assert!(
            matches!(location("b2://bucket/a/b.txt"), Location::Remote { ref bucket, ref path } if bucket == "bucket" && path == "a/b.txt")
        );
        assert!(matches!(location("b2://bucket"), Location::Remote { ref path, .. } if path.is_empty()));
        assert!(matches!(location("./here"), Location::Local(_)));
    }
}
