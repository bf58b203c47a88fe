//! The accept loop: HTTP/1.1 connections served by hyper with the limits a server facing the open network
//! needs, which `axum::serve` does not set. A header-read timeout (it also bounds how long a keep-alive
//! connection may sit idle before its next request, since hyper starts the clock when it waits for a head)
//! closes slowloris and idle connections; a connection limit kept below the process's file-descriptor
//! limit answers excess connections with a 503 instead of letting the process run out of descriptors.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Descriptors kept for what is not a client connection (SQLite, blob files, webhooks, the listener).
const SPARE_DESCRIPTORS: u64 = 256;
/// Connections still open at shutdown get this long to finish.
const DRAIN_FOR: Duration = Duration::from_secs(10);

pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

/// Raises the soft descriptor limit to the hard one and returns how many connections fit under it.
pub fn connections_that_fit(wanted: usize) -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let Some(hard) = limit.maximum
        && limit.current.is_some_and(|soft| soft < hard)
    {
        let _ = setrlimit(Resource::Nofile, Rlimit { current: Some(hard), maximum: Some(hard) });
    }
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    let fit = soft.saturating_sub(SPARE_DESCRIPTORS).max(16);
    let chosen = (wanted as u64).min(fit) as usize;
    if chosen < wanted {
        tracing::warn!(wanted, chosen, descriptor_limit = soft, "connection limit lowered to fit the descriptor limit");
    }
    chosen
}

/// Logs at most once a second that a limit refused something, with how many since the last line.
#[derive(Default)]
struct RateLimitedLog {
    last: std::sync::Mutex<Option<Instant>>,
    count: AtomicU64,
    /// Routine events (idle connections timing out) log at info, refusals at warn.
    routine: bool,
}

impl RateLimitedLog {
    fn note(&self, what: &str) {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut last) = self.last.lock()
            && last.is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            *last = Some(Instant::now());
            self.count.store(0, Ordering::Relaxed);
            if self.routine {
                tracing::info!(count = n, "{what}");
            } else {
                tracing::warn!(count = n, "{what}");
            }
        }
    }
}

const REFUSAL_BODY: &str = r#"{"status":503,"code":"service_unavailable","message":"too many connections; retry shortly"}"#;

/// Tells a connection over the limit why it is closed, then closes it.
async fn refuse(mut tcp: tokio::net::TcpStream) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{REFUSAL_BODY}",
        REFUSAL_BODY.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = tcp.write_all(answer.as_bytes()).await;
        let _ = tcp.shutdown().await;
    })
    .await;
}

pub async fn serve(listener: TcpListener, app: Router, limits: Limits, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    let graceful = GracefulShutdown::new();
    let over_limit = Arc::new(RateLimitedLog::default());
    let accept_failed = RateLimitedLog::default();
    let timed_out = Arc::new(RateLimitedLog { routine: true, ..RateLimitedLog::default() });
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // Out of descriptors or memory for a moment: the listener stays, new connections wait.
                    accept_failed.note(&format!("accepting a connection failed: {err}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small responses otherwise wait ~40 ms on delayed ACKs.
        let _ = tcp.set_nodelay(true);
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            over_limit.note(&format!("connection limit ({}) reached: refusing connections with 503", limits.max_connections));
            tokio::spawn(refuse(tcp));
            continue;
        };
        let app = tower::ServiceExt::map_request(app.clone(), move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(stowage_api::PeerAddr(peer));
            request
        });
        let connection = http.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(app));
        let connection = graceful.watch(connection);
        let timed_out = timed_out.clone();
        let header_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            // Errors here are clients going away or timing out; each request was logged already.
            match connection.await {
                Err(err) if err.is_timeout() => {
                    timed_out.note(&format!("closed connections idle or slow past the header timeout ({header_timeout:?})"));
                }
                Err(err) => tracing::debug!(%err, "connection ended"),
                Ok(()) => {}
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_FOR, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN_FOR:?} at shutdown were cut");
    }
    Ok(())
}
