//! A small HTTP proxy in front of the real server that breaks chosen requests the ways networks and busy
//! services do: a connection reset in the middle of an upload, a `503` with `Retry-After`, an answer that
//! never comes (past the client's timeout), a download whose body breaks off. Each fault hits the first
//! `n` matching requests and is counted, so a test can show every fault happened.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::body::Body;
use futures::StreamExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// How many of the next matching requests each fault hits.
#[derive(Default)]
pub struct Faults {
    /// Uploads (`b2_upload_file`, `b2_upload_part`): read some of the body, then drop the connection.
    pub reset_uploads: AtomicU32,
    /// Uploads: answer `503 service_unavailable` with `Retry-After: 1`, without forwarding.
    pub unavailable_uploads: AtomicU32,
    /// Uploads: hold the request and never answer it (it is not forwarded).
    pub stall_uploads: AtomicU32,
    /// JSON calls (but authorization): answer `503` with `Retry-After: 1`, without forwarding.
    pub unavailable_calls: AtomicU32,
    /// JSON calls: never answer (not forwarded).
    pub stall_calls: AtomicU32,
    /// Downloads: forward, then cut the body off after its first chunk.
    pub break_downloads: AtomicU32,
}

impl Faults {
    /// Sets every fault's count at once.
    pub fn arm(
        &self,
        reset_uploads: u32,
        unavailable_uploads: u32,
        stall_uploads: u32,
        unavailable_calls: u32,
        stall_calls: u32,
        break_downloads: u32,
    ) {
        self.reset_uploads.store(reset_uploads, Ordering::SeqCst);
        self.unavailable_uploads.store(unavailable_uploads, Ordering::SeqCst);
        self.stall_uploads.store(stall_uploads, Ordering::SeqCst);
        self.unavailable_calls.store(unavailable_calls, Ordering::SeqCst);
        self.stall_calls.store(stall_calls, Ordering::SeqCst);
        self.break_downloads.store(break_downloads, Ordering::SeqCst);
    }

    /// The faults armed but not yet injected, in `arm`'s order.
    pub fn pending(&self) -> [u32; 6] {
        [
            &self.reset_uploads,
            &self.unavailable_uploads,
            &self.stall_uploads,
            &self.unavailable_calls,
            &self.stall_calls,
            &self.break_downloads,
        ]
        .map(|c| c.load(Ordering::SeqCst))
    }
}

/// Takes one from a fault's count; whether the fault hits this request.
fn take(count: &AtomicU32) -> bool {
    count.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
}

/// Serves the proxy on `listener`, forwarding to `upstream` (`http://127.0.0.1:port`), until the test ends.
pub fn start(listener: TcpListener, upstream: String, faults: Arc<Faults>) {
    let http = reqwest::Client::new();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (http, upstream, faults) = (http.clone(), upstream.clone(), faults.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| forward(request, http.clone(), upstream.clone(), faults.clone()));
                // A fault ends its connection with an error; that is the point.
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
}

fn unavailable() -> Response<Body> {
    let mut response = Response::new(Body::from(r#"{"status":503,"code":"service_unavailable","message":"injected by the test proxy"}"#));
    *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
    response.headers_mut().insert("Retry-After", hyper::header::HeaderValue::from_static("1"));
    response.headers_mut().insert("Content-Type", hyper::header::HeaderValue::from_static("application/json"));
    response
}

async fn forward(request: Request<Incoming>, http: reqwest::Client, upstream: String, faults: Arc<Faults>) -> io::Result<Response<Body>> {
    let path = request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let upload = path.contains("/b2_upload_file/") || path.contains("/b2_upload_part/");
    let download = path.starts_with("/file/") || path.contains("/b2_download_file_by_id");
    let call = path.starts_with("/b2api/") && !upload && !download && !path.contains("b2_authorize_account");
    if upload && take(&faults.reset_uploads) {
        let mut body = Body::new(request.into_body()).into_data_stream();
        let _ = body.next().await;
        return Err(io::Error::new(io::ErrorKind::ConnectionReset, "injected: connection reset mid-upload"));
    }
    if (upload && take(&faults.unavailable_uploads)) || (call && take(&faults.unavailable_calls)) {
        return Ok(unavailable());
    }
    if (upload && take(&faults.stall_uploads)) || (call && take(&faults.stall_calls)) {
        tokio::time::sleep(Duration::from_secs(30)).await;
        return Err(io::Error::new(io::ErrorKind::TimedOut, "injected: no answer"));
    }
    let break_body = download && take(&faults.break_downloads);

    let (parts, body) = request.into_parts();
    let mut outgoing = http.request(parts.method, format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.body(reqwest::Body::wrap_stream(Body::new(body).into_data_stream())).send().await.map_err(io::Error::other)?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != hyper::header::TRANSFER_ENCODING && name != hyper::header::CONNECTION {
            response = response.header(name, value);
        }
    }
    let stream = answer.bytes_stream().map(|chunk| chunk.map_err(io::Error::other));
    let body = if break_body {
        Body::from_stream(
            stream
                .take(1)
                .chain(futures::stream::once(async { Err(io::Error::new(io::ErrorKind::ConnectionReset, "injected: download cut off")) })),
        )
    } else {
        Body::from_stream(stream)
    };
    response.body(body).map_err(io::Error::other)
}
