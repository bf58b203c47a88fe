//! Transfers running at once: at most a limit, each a task of its own (so a listing that is being read
//! never holds up the transfers already going), their failures kept for the end.

use std::path::Path;

use stowage_client::{Client, FileVersion};
use tokio::task::JoinSet;

use super::output::Reporter;

pub(super) struct Running {
    tasks: JoinSet<anyhow::Result<()>>,
    limit: usize,
    started: usize,
    failures: Vec<anyhow::Error>,
}

impl Running {
    pub(super) fn new(limit: usize) -> Self {
        Running { tasks: JoinSet::new(), limit: limit.max(1), started: 0, failures: Vec::new() }
    }

    /// Starts `job`, first waiting for a place.
    pub(super) async fn start(&mut self, job: impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static) {
        while self.tasks.len() >= self.limit {
            self.reap().await;
        }
        self.started += 1;
        self.tasks.spawn(job);
    }

    async fn reap(&mut self) {
        match self.tasks.join_next().await {
            Some(Ok(Ok(()))) | None => {}
            Some(Ok(Err(e))) => self.failures.push(e),
            Some(Err(e)) => self.failures.push(anyhow::anyhow!("a transfer stopped: {e}")),
        }
    }

    /// Waits for every job; answers how many were started and the failures.
    pub(super) async fn finish(mut self) -> (usize, Vec<anyhow::Error>) {
        while !self.tasks.is_empty() {
            self.reap().await;
        }
        (self.started, self.failures)
    }
}

/// Reports failures and answers how many there were; a single job's failure is the command's own error
/// (so its exit code says what it was).
pub(super) fn settle(started: usize, failures: Vec<anyhow::Error>) -> anyhow::Result<usize> {
    if started == 1 && failures.len() == 1 {
        return Err(failures.into_iter().next().unwrap_or_else(|| anyhow::anyhow!("failed")));
    }
    for e in &failures {
        eprintln!("failed: {e:#}");
    }
    Ok(failures.len())
}

/// One download job of `cp` and `sync`: the file into `target` (its folders made), with a bar and a line at
/// the end; with `modified`, the local file gets that modification time (so a later sync sees it unchanged).
pub(super) async fn download_into(
    client: &Client,
    reporter: &Reporter,
    bucket: &str,
    file: &FileVersion,
    target: &Path,
    modified: Option<i64>,
) -> anyhow::Result<()> {
    if let Some(dir) = target.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let (bar, progress) = reporter.bar(&file.file_name, file.content_length);
    let bytes = client.download_to_file(bucket, &file.file_name, target, progress).await?;
    if let Some(millis) = modified {
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_millis(millis.max(0) as u64);
        std::fs::File::options().write(true).open(target)?.set_modified(when)?;
    }
    reporter.done(bar, "download", &format!("b2://{bucket}/{}", file.file_name), &target.display().to_string(), bytes);
    Ok(())
}
