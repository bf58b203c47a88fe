//! `stowage sync`: makes a destination (a local folder or a `b2://bucket/prefix`) match a source. Both
//! sides come in B2's name order — the bucket listing a page at a time, the local tree a directory at a
//! time — and are merged as they come, with at most `--threads` transfers running: memory stays flat
//! whatever the number of files.

use std::path::{Path, PathBuf};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use stowage_client::{Client, FileVersion, UploadOptions};
use tokio::io::AsyncReadExt;

use super::local::LocalWalk;
use super::output::Reporter;
use super::tasks::{Running, download_into, settle};
use super::{Common, Compare, Location, bucket_id, client_with_threads, delete_every_version, location};

/// Which relative paths a sync covers.
pub(super) struct PathFilter {
    include: Option<globset::GlobSet>,
    exclude: globset::GlobSet,
}

impl PathFilter {
    pub(super) fn new(include: &[String], exclude: &[String]) -> anyhow::Result<Self> {
        let set = |globs: &[String]| -> anyhow::Result<globset::GlobSet> {
            let mut builder = globset::GlobSetBuilder::new();
            for g in globs {
                builder.add(globset::Glob::new(g).with_context(|| format!("bad glob {g:?}"))?);
            }
            Ok(builder.build()?)
        };
        Ok(PathFilter { include: if include.is_empty() { None } else { Some(set(include)?) }, exclude: set(exclude)? })
    }

    fn covers(&self, relative: &str) -> bool {
        self.include.as_ref().is_none_or(|set| set.is_match(relative)) && !self.exclude.is_match(relative)
    }
}

/// What a sync does besides copying: deletes, a dry run, how files are compared, which, how many at once.
pub(super) struct SyncPlan {
    pub(super) delete: bool,
    pub(super) dry_run: bool,
    pub(super) compare: Compare,
    pub(super) filter: PathFilter,
    pub(super) threads: usize,
}

/// One side's view of a file: size, modification time (ms) and, where known, SHA-1.
#[derive(Clone)]
struct Seen {
    size: u64,
    modified: i64,
    sha1: Option<String>,
}

fn modified_millis(meta: &std::fs::Metadata) -> i64 {
    meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_millis() as i64)
}

fn local_seen(path: &Path) -> anyhow::Result<Seen> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Seen { size: meta.len(), modified: modified_millis(&meta), sha1: None })
}

fn remote_seen(f: &FileVersion) -> Seen {
    let modified = f.file_info.get("src_last_modified_millis").and_then(|v| v.parse().ok()).unwrap_or(f.upload_timestamp);
    Seen { size: f.content_length, modified, sha1: f.sha1().map(str::to_string) }
}

/// The SHA-1 of a local file, read a buffer at a time.
async fn sha1_of(path: &Path) -> anyhow::Result<String> {
    use sha1::Digest;
    let mut file = tokio::fs::File::open(path).await.with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = sha1::Sha1::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

async fn differs(plan: &SyncPlan, local: &Path, local_seen: &Seen, remote: &Seen) -> anyhow::Result<bool> {
    Ok(match plan.compare {
        Compare::Size => local_seen.size != remote.size,
        Compare::Modified => local_seen.size != remote.size || local_seen.modified != remote.modified,
        Compare::Sha1 => local_seen.size != remote.size || remote.sha1.as_deref() != Some(sha1_of(local).await?.as_str()),
    })
}

/// One name of the merge: on the local side, the bucket's, or both.
enum Pair {
    Local(PathBuf, String),
    Remote(FileVersion, String),
    Both(PathBuf, FileVersion, String),
}

/// Makes the destination match the source; returns how many transfers failed.
pub(super) async fn sync(source: &str, destination: &str, plan: &SyncPlan, common: &Common) -> anyhow::Result<usize> {
    let client = client_with_threads(common, Some(plan.threads))?;
    let reporter = Reporter::new(common);
    let (up, local_root, bucket, prefix) = match (location(source), location(destination)) {
        (Location::Local(dir), Location::Remote { bucket, path }) => (true, dir, bucket, path),
        (Location::Remote { bucket, path }, Location::Local(dir)) => (false, dir, bucket, path),
        _ => anyhow::bail!("sync goes between a local folder and a b2://bucket/prefix"),
    };
    let prefix = if prefix.is_empty() || prefix.ends_with('/') { prefix } else { format!("{prefix}/") };
    let id = bucket_id(&client, &bucket).await?;
    if !up {
        tokio::fs::create_dir_all(&local_root).await?;
    }

    let listing = client.list_file_names(&id, &prefix).try_filter(|f| futures::future::ready(f.action == "upload"));
    let mut remote = Box::pin(listing.map_ok(|f| {
        let relative = f.file_name[prefix.len()..].to_string();
        (relative, f)
    }))
    .peekable();
    let mut local = LocalWalk::new(&local_root)?.peekable();
    let mut running = Running::new(plan.threads);
    let side = Side {
        client: &client,
        reporter: &reporter,
        plan,
        common,
        bucket: &bucket,
        bucket_id: &id,
        prefix: &prefix,
        local_root: &local_root,
    };

    loop {
        // The next name in order, from whichever side has it (both when they agree).
        let next_remote = match std::pin::Pin::new(&mut remote).peek().await {
            Some(Ok((relative, _))) => Some(relative.clone()),
            Some(Err(_)) => {
                return Err(remote
                    .next()
                    .await
                    .and_then(Result::err)
                    .map(anyhow::Error::new)
                    .unwrap_or_else(|| anyhow::anyhow!("listing failed")));
            }
            None => None,
        };
        let next_local = match local.peek() {
            Some(Ok((_, relative))) => Some(relative.clone()),
            Some(Err(_)) => return Err(local.next().and_then(Result::err).unwrap_or_else(|| anyhow::anyhow!("walk failed"))),
            None => None,
        };
        let pair = match (next_local, next_remote) {
            (None, None) => break,
            (Some(l), Some(r)) if l.as_bytes() == r.as_bytes() => {
                let (path, relative) = local.next().and_then(Result::ok).context("walk")?;
                let (_, file) = remote.next().await.and_then(Result::ok).context("listing")?;
                Pair::Both(path, file, relative)
            }
            (Some(l), r) if r.as_ref().is_none_or(|r| l.as_bytes() < r.as_bytes()) => {
                let (path, relative) = local.next().and_then(Result::ok).context("walk")?;
                Pair::Local(path, relative)
            }
            _ => {
                let (relative, file) = remote.next().await.and_then(Result::ok).context("listing")?;
                Pair::Remote(file, relative)
            }
        };
        let relative = match &pair {
            Pair::Local(_, r) | Pair::Remote(_, r) | Pair::Both(_, _, r) => r,
        };
        if !plan.filter.covers(relative) {
            continue;
        }
        if up { side.push(pair, &mut running).await? } else { side.pull(pair, &mut running).await? }
    }
    let (started, failures) = running.finish().await;
    settle(started.max(2), failures)
}

/// Everything one sync's steps need.
struct Side<'a> {
    client: &'a Client,
    reporter: &'a Reporter,
    plan: &'a SyncPlan,
    common: &'a Common,
    bucket: &'a str,
    bucket_id: &'a str,
    prefix: &'a str,
    local_root: &'a Path,
}

impl Side<'_> {
    /// Says a planned step on a dry run (a real one reports each transfer as it ends); deletes always.
    fn say(&self, what: &str, path: &str) {
        let plan = self.plan;
        if !plan.dry_run && what != "delete" {
            return;
        }
        if self.common.json {
            println!("{}", serde_json::json!({"action": what, "path": path, "dryRun": plan.dry_run}));
        } else if !self.common.quiet || plan.dry_run {
            println!("{}{what} {path}", if plan.dry_run { "would " } else { "" });
        }
    }

    /// Local → bucket: upload what is new or changed; with --delete, every version of what is only remote.
    async fn push(&self, pair: Pair, running: &mut Running) -> anyhow::Result<()> {
        match pair {
            Pair::Local(path, relative) => {
                self.upload(path, relative, running).await;
                Ok(())
            }
            Pair::Both(path, file, relative) => {
                let seen = local_seen(&path)?;
                if differs(self.plan, &path, &seen, &remote_seen(&file)).await? {
                    self.upload(path, relative, running).await;
                }
                Ok(())
            }
            Pair::Remote(file, _) if self.plan.delete => {
                self.say("delete", &file.file_name);
                if !self.plan.dry_run {
                    let (client, id) = (self.client.clone(), self.bucket_id.to_string());
                    running.start(async move { delete_every_version(&client, &id, &file.file_name).await }).await;
                }
                Ok(())
            }
            Pair::Remote(..) => Ok(()),
        }
    }

    async fn upload(&self, path: PathBuf, relative: String, running: &mut Running) {
        let name = format!("{}{relative}", self.prefix);
        self.say("upload", &name);
        if self.plan.dry_run {
            return;
        }
        let (client, id, bucket, reporter) =
            (self.client.clone(), self.bucket_id.to_string(), self.bucket.to_string(), self.reporter.clone());
        running
            .start(async move {
                let size = tokio::fs::metadata(&path).await.with_context(|| format!("reading {}", path.display()))?.len();
                let (bar, progress) = reporter.bar(&name, size);
                let stored = client.upload_file(&id, &name, &path, &UploadOptions { progress, ..Default::default() }).await?;
                reporter.done(bar, "upload", &path.display().to_string(), &format!("b2://{bucket}/{name}"), stored.content_length);
                Ok(())
            })
            .await;
    }

    /// Bucket → local: download what is new or changed; with --delete, remove local files the bucket lacks.
    async fn pull(&self, pair: Pair, running: &mut Running) -> anyhow::Result<()> {
        match pair {
            Pair::Remote(file, relative) => {
                self.download(file, relative, running).await;
                Ok(())
            }
            Pair::Both(path, file, relative) => {
                let seen = local_seen(&path)?;
                if differs(self.plan, &path, &seen, &remote_seen(&file)).await? {
                    self.download(file, relative, running).await;
                }
                Ok(())
            }
            Pair::Local(path, _) if self.plan.delete => {
                self.say("delete", &path.display().to_string());
                if !self.plan.dry_run {
                    std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
                }
                Ok(())
            }
            Pair::Local(..) => Ok(()),
        }
    }

    async fn download(&self, file: FileVersion, relative: String, running: &mut Running) {
        let target = self.local_root.join(&relative);
        self.say("download", &target.display().to_string());
        if self.plan.dry_run {
            return;
        }
        let (client, bucket, reporter) = (self.client.clone(), self.bucket.to_string(), self.reporter.clone());
        // The file's recorded modification time, so the next sync sees it unchanged.
        let modified = Some(remote_seen(&file).modified);
        running.start(async move { download_into(&client, &reporter, &bucket, &file, &target, modified).await }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_filters_include_then_exclude() {
        let filter = PathFilter::new(&["*.txt".into(), "docs/**".into()], &["**/secret*".into()]).expect("globs");
        assert!(filter.covers("a.txt") && filter.covers("docs/x.bin"));
        assert!(!filter.covers("a.bin") && !filter.covers("docs/secret.txt"));
        assert!(PathFilter::new(&[], &[]).expect("globs").covers("anything/at/all"));
    }
}
