//! Transfers running at once: at most a limit, each a task of its own (so a listing that is being read
//! never holds up the transfers already going), their failures kept for the end.

use tokio::task::JoinSet;

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
