#![no_main]
//! Whole requests through the real router, in process, over a real SQLite store and blob directory:
//! SigV4/SigV2 headers and presigned queries, aws-chunked bodies, XML and JSON bodies, Range headers,
//! percent-encoded paths, forms. The input is an HTTP/1.1 request (head, blank line, body); the literal
//! `B2TOKEN` is replaced by a valid account token so B2 calls get past authentication. A 500 or a panic
//! (which the router turns into a 500) is a finding.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use stowage_api::{AppState, ConsoleSessions, Metrics, S3Options};
use stowage_core::Stowage;
use stowage_core::service::{Config, MasterKey, SystemClock};
use stowage_store::blob::LocalBlobStore;
use stowage_store::sqlite::SqliteStore;
use stowage_store::tiered::TieredBlobStore;
use tower::ServiceExt;

struct Harness {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    token: String,
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let (app, token) = runtime.block_on(async {
            let meta = Arc::new(SqliteStore::open(&dir.path().join("meta.sqlite3")).expect("sqlite"));
            let files = LocalBlobStore::open(dir.path()).expect("blobs");
            let blobs = Arc::new(TieredBlobStore::new(meta.clone(), files));
            let clock = Arc::new(SystemClock::default());
            let config =
                Config { master_key: MasterKey([7; 32]), absolute_minimum_part_size: min_part_size_for_tests(), ..Config::default() };
            let core = Arc::new(Stowage::new(meta, blobs, clock.clone(), config).await.expect("core"));
            core.ensure_root_key("fuzzroot", "fuzzsecret").await.expect("root key");
            let auth = core.authorize_account("fuzzroot", "fuzzsecret", None).await.expect("authorize");
            let state = Arc::new(AppState {
                core,
                root_key_id: Some("fuzzroot".into()),
                clock,
                test_hooks: false,
                metrics: Metrics::default(),
                s3: S3Options::default(),
                console_sessions: ConsoleSessions::default(),
            });
            (stowage_api::router(state), auth.token)
        });
        Harness { runtime, app, token, _dir: dir }
    })
}

fn min_part_size_for_tests() -> u64 {
    5
}

fn request_from(data: &[u8], token: &str) -> Option<Request<Body>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(head_len) = parsed.parse(data).ok()? else { return None };
    let mut builder = Request::builder().method(parsed.method?).uri(parsed.path?.replace("B2TOKEN", token));
    for h in parsed.headers.iter() {
        let value = String::from_utf8_lossy(h.value).replace("B2TOKEN", token);
        builder = builder.header(h.name, value);
    }
    builder.body(Body::from(data[head_len..].to_vec())).ok()
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let h = harness();
    let Some(request) = request_from(data, &h.token) else { return };
    let described = format!("{} {}", request.method(), request.uri());
    h.runtime.block_on(async {
        let Ok(response) = h.app.clone().oneshot(request).await;
        let status = response.status();
        let body = tokio::time::timeout(std::time::Duration::from_secs(5), response.into_body().collect()).await;
        let text = match body {
            Ok(Ok(collected)) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
            Ok(Err(_)) => String::new(),
            Err(_) => panic!("{described}: the response body did not end within 5 s"),
        };
        assert!(status.as_u16() != 500, "{described} answered 500: {text}");
    });
});
