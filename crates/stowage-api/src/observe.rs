//! Request logs, Prometheus metrics, and the opt-in test hooks.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Query, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;

const LATENCY_BUCKETS: &[f64] = &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0];

#[derive(Default)]
struct OpStats {
    by_status: BTreeMap<u16, u64>,
    latency_counts: [u64; 9],
    latency_sum: f64,
    latency_count: u64,
}

#[derive(Default)]
pub struct Metrics {
    ops: Mutex<BTreeMap<String, OpStats>>,
    bytes_in: std::sync::atomic::AtomicU64,
    bytes_out: std::sync::atomic::AtomicU64,
}

impl Metrics {
    fn record(&self, op: &str, status: u16, seconds: f64, bytes_in: u64, bytes_out: u64) {
        use std::sync::atomic::Ordering::Relaxed;
        self.bytes_in.fetch_add(bytes_in, Relaxed);
        self.bytes_out.fetch_add(bytes_out, Relaxed);
        if let Ok(mut ops) = self.ops.lock() {
            let stats = ops.entry(op.to_string()).or_default();
            *stats.by_status.entry(status).or_default() += 1;
            for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    stats.latency_counts[i] += 1;
                }
            }
            stats.latency_sum += seconds;
            stats.latency_count += 1;
        }
    }

    fn render(&self) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let mut out = String::new();
        let _ = writeln!(out, "# TYPE stowage_requests_total counter");
        let ops = self
            .ops
            .lock()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.by_status.clone(), v.latency_counts, v.latency_sum, v.latency_count))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for (op, statuses, _, _, _) in &ops {
            for (status, n) in statuses {
                let _ = writeln!(out, "stowage_requests_total{{op=\"{op}\",status=\"{status}\"}} {n}");
            }
        }
        let _ = writeln!(out, "# TYPE stowage_request_duration_seconds histogram");
        for (op, _, buckets, sum, count) in &ops {
            for (bound, n) in LATENCY_BUCKETS.iter().zip(buckets) {
                let _ = writeln!(out, "stowage_request_duration_seconds_bucket{{op=\"{op}\",le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "stowage_request_duration_seconds_bucket{{op=\"{op}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(out, "stowage_request_duration_seconds_sum{{op=\"{op}\"}} {sum}");
            let _ = writeln!(out, "stowage_request_duration_seconds_count{{op=\"{op}\"}} {count}");
        }
        let _ = writeln!(out, "# TYPE stowage_bytes_received_total counter\nstowage_bytes_received_total {}", self.bytes_in.load(Relaxed));
        let _ = writeln!(out, "# TYPE stowage_bytes_sent_total counter\nstowage_bytes_sent_total {}", self.bytes_out.load(Relaxed));
        out
    }
}

/// The operation name a request is counted under.
fn op_name(path: &str) -> String {
    let mut parts = path.trim_start_matches('/').split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("b2api"), Some(_), Some(op)) if op.starts_with("b2_") => op.to_string(),
        (Some("file"), _, _) => "b2_download_file_by_name".into(),
        (Some(first), _, _) if first.starts_with('_') => first.to_string(),
        _ => "other".into(),
    }
}

fn content_length(headers: &axum::http::HeaderMap) -> u64 {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The id of the request being served, if called while serving one: error answers name it, the log lines
/// about it carry it.
pub fn request_id() -> Option<String> {
    stowage_core::request::current_id()
}

/// The message a client gets for a failure inside the server: the details stay in the log, under this
/// request's id.
pub fn internal_message() -> String {
    match request_id() {
        Some(id) => format!("An internal error occurred (request id {id}); the server log has the details"),
        None => "An internal error occurred; the server log has the details".into(),
    }
}

pub async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let bytes_in = content_length(request.headers());
    let sends_body = bytes_in > 0 || request.headers().contains_key(header::TRANSFER_ENCODING);
    let id = format!("{:016X}", rand::random::<u64>());
    let b2_shaped = path.starts_with("/b2api/") || path.starts_with("/file/") || path.starts_with("/_");
    // A panic in a handler is a bug; the client still gets an answer in its API's shape, not a cut connection.
    let handled = std::panic::AssertUnwindSafe(next.run(request));
    let mut response = match stowage_core::request::with_id(id.clone(), futures::FutureExt::catch_unwind(handled)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(request_id = %id, %method, %path, "request handler panicked");
            stowage_core::request::with_id(id.clone(), async { panic_response(b2_shaped) }).await
        }
    };
    // A refusal may come before the request body was read; the connection then cannot carry another
    // request, and saying so spares clients from sending their next request into a closing socket.
    if sends_body && (response.status().is_client_error() || response.status().is_server_error()) {
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    }
    if let Ok(value) = header::HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value.clone());
        response.headers_mut().entry("x-amz-request-id").or_insert(value);
    }
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    let op = op_name(&path);
    state.metrics.record(&op, status, seconds, bytes_in, content_length(response.headers()));
    tracing::info!(target: "stowage::request", request_id = %id, %method, %path, op, status, ms = seconds * 1000.0, "request");
    response
}

/// `/_health/ready`: 200 when the metadata and blob stores answer, 503 naming the one that does not (the
/// details go to the log). `/_health` and `/_health/live` only say the process serves HTTP.
pub async fn readiness(State(state): State<Arc<AppState>>) -> Response {
    let (metadata, blobs) = state.core.check_ready().await;
    let word = |r: &stowage_core::Result<()>| if r.is_ok() { "ok" } else { "unavailable" };
    let status = if metadata.is_ok() && blobs.is_ok() { axum::http::StatusCode::OK } else { axum::http::StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "ready": status.is_success(),
        "metadata": word(&metadata),
        "blobs": word(&blobs),
        "storageFull": state.core.capacity().is_full(),
    });
    (status, Json(body)).into_response()
}

fn panic_response(b2_shaped: bool) -> Response {
    let message = internal_message();
    if b2_shaped {
        let status = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
        crate::b2::error::B2Error::new(status, "internal_error", message).into_response()
    } else {
        crate::s3::xml_error(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &message).into_response()
    }
}

pub async fn render_metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let mut text = state.metrics.render();
    let capacity = state.core.capacity();
    let (free, total) = capacity.space();
    let _ = writeln!(text, "# TYPE stowage_disk_free_bytes gauge\nstowage_disk_free_bytes {free}");
    let _ = writeln!(text, "# TYPE stowage_disk_total_bytes gauge\nstowage_disk_total_bytes {total}");
    let _ = writeln!(text, "# TYPE stowage_storage_full gauge\nstowage_storage_full {}", u8::from(capacity.is_full()));
    render_store_timings(&mut text, &state.store_timings.snapshot());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// `stowage_store_duration_seconds{store, op}` histograms and `stowage_store_errors_total{store, op}`.
fn render_store_timings(out: &mut String, timings: &[((&str, &str), stowage_core::store_timing::Latency)]) {
    use stowage_core::store_timing::LATENCY_BUCKETS;
    let _ = writeln!(out, "# TYPE stowage_store_duration_seconds histogram");
    for ((store, op), latency) in timings {
        let labels = format!("store=\"{store}\",op=\"{op}\"");
        for (bound, n) in LATENCY_BUCKETS.iter().zip(latency.buckets) {
            let _ = writeln!(out, "stowage_store_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "stowage_store_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", latency.count);
        let _ = writeln!(out, "stowage_store_duration_seconds_sum{{{labels}}} {}", latency.sum_seconds);
        let _ = writeln!(out, "stowage_store_duration_seconds_count{{{labels}}} {}", latency.count);
    }
    let _ = writeln!(out, "# TYPE stowage_store_errors_total counter");
    for ((store, op), latency) in timings {
        let _ = writeln!(out, "stowage_store_errors_total{{store=\"{store}\",op=\"{op}\"}} {}", latency.errors);
    }
}

#[derive(serde::Deserialize)]
struct Advance {
    days: Option<i64>,
    seconds: Option<i64>,
}

/// Test hooks (enabled by `--test-hooks`): move the clock, run lifecycle and collection now; the S3
/// operations table (the access matrix test is generated from it).
pub fn test_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/_test/clock/advance",
            post(|State(state): State<Arc<AppState>>, Query(a): Query<Advance>| async move {
                let millis = a.days.unwrap_or(0) * 86_400_000 + a.seconds.unwrap_or(0) * 1000;
                state.clock.advance(millis);
                Json(json!({"now": state.core.now()}))
            }),
        )
        .route(
            "/_test/lifecycle/run",
            post(|State(state): State<Arc<AppState>>| async move {
                match state.core.run_lifecycle().await {
                    Ok(r) => Json(json!({"hidden": r.hidden, "deleted": r.deleted, "canceled": r.canceled})).into_response(),
                    Err(e) => crate::b2::error::B2Error::from(e).into_response(),
                }
            }),
        )
        .route(
            "/_test/usage/record",
            post(|State(state): State<Arc<AppState>>| async move {
                match state.core.record_daily_usage().await {
                    Ok(n) => Json(json!({"buckets": n})).into_response(),
                    Err(e) => crate::b2::error::B2Error::from(e).into_response(),
                }
            }),
        )
        .route("/_test/s3-operations", axum::routing::get(|| async { Json(crate::s3::operations_json()) }))
        .route(
            "/_test/faults",
            post(|State(state): State<Arc<AppState>>, Json(fault): Json<stowage_core::store_faults::Fault>| async move {
                state.store_faults.arm(fault);
                Json(json!({"armed": true}))
            })
            .delete(|State(state): State<Arc<AppState>>| async move {
                let injected: Vec<serde_json::Value> =
                    state.store_faults.clear().into_iter().map(|(store, op)| json!({"store": store, "op": op})).collect();
                Json(json!({"injected": injected}))
            }),
        )
        .route("/_test/b2-operations", axum::routing::get(|| async { Json(crate::b2::calls::to_json()) }))
        .route(
            "/_test/gc/run",
            post(|State(state): State<Arc<AppState>>| async move {
                match state.core.collect_garbage().await {
                    Ok(n) => Json(json!({"collected": n})).into_response(),
                    Err(e) => crate::b2::error::B2Error::from(e).into_response(),
                }
            }),
        )
        // Blobs nothing refers to, whatever their age: after `/_test/gc/run`, a step that failed part-way
        // must have left none (the orphan collector is for crashes, not for errors).
        .route(
            "/_test/gc/orphans",
            post(|State(state): State<Arc<AppState>>| async move {
                match state.core.collect_orphans(0).await {
                    Ok(n) => Json(json!({"removed": n})).into_response(),
                    Err(e) => crate::b2::error::B2Error::from(e).into_response(),
                }
            }),
        )
}
