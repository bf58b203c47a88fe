//! Stowage's HTTP front-ends over one router: the B2 Native API now; S3 and the console mount here too.

pub mod b2;
/// The client's address as the listener saw the connection, set on every request it serves (bucket
/// policies' `aws:SourceIp`). Behind a proxy this is the proxy's address.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub std::net::SocketAddr);

mod console;
mod cors;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod observe;
mod s3;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use stowage_core::Stowage;
use stowage_core::service::SystemClock;

pub use observe::Metrics;

pub struct AppState {
    pub core: Arc<Stowage>,
    /// The root key's id, so `b2_authorize_account` can accept the account id in its place.
    pub root_key_id: Option<String>,
    pub clock: Arc<SystemClock>,
    /// Enables `/_test/*` hooks (clock and lifecycle control) for test suites.
    pub test_hooks: bool,
    pub metrics: Metrics,
    /// Latencies of the metadata and blob stores' operations, for `/_metrics`.
    pub store_timings: Arc<stowage_core::store_timing::StoreTimings>,
    /// Store failures a test arms through `/_test/faults` (the stores consult them under `--test-hooks` only).
    pub store_faults: Arc<stowage_core::store_faults::StoreFaults>,
    pub s3: S3Options,
}

/// How the S3 API is addressed.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// When set, SigV4 requests must name this region in their credential scope (as AWS and B2 require);
    /// when unset any region is accepted and `us-east-1` is reported.
    pub region: Option<String>,
    /// When set, `<bucket>.<domain>` hosts address buckets (virtual-hosted style) besides path style.
    pub domain: Option<String>,
}

impl S3Options {
    /// The bucket a virtual-hosted-style Host header names, if any.
    pub fn bucket_from_host<'a>(&self, host: &'a str) -> Option<&'a str> {
        let domain = self.domain.as_deref()?;
        let host = host.rsplit_once(':').map_or(host, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { host });
        host.strip_suffix(domain)?.strip_suffix('.').filter(|b| !b.is_empty())
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    let mut router = Router::new()
        .route("/_health", get(|| async { "ok\n" }))
        .route("/_health/live", get(|| async { "ok\n" }))
        .route("/_health/ready", get(observe::readiness))
        .route("/_metrics", get(observe::render_metrics))
        .merge(b2::routes())
        .merge(console::routes());
    if state.test_hooks {
        router = router.merge(observe::test_routes());
    }
    // Everything the B2 routes and our own `/_…` paths do not claim is S3 (path-style `/<bucket>/<key>`);
    // virtual-hosted-style requests go to S3 whatever their path.
    let s3s = axum::error_handling::HandleError::new(s3::service(state.core.clone(), &state.s3), s3::http_error);
    let forms = Arc::new(s3::FormUploads { core: state.core.clone(), options: state.s3.clone() });
    // Browser form uploads stream through our own handler; everything else is s3s's.
    let s3 = tower::service_fn(move |request: axum::extract::Request| {
        let (s3s, forms) = (s3s.clone(), forms.clone());
        async move {
            if let Some(bucket) = forms.target(&request) {
                return Ok::<_, std::convert::Infallible>(forms.handle(bucket, request).await);
            }
            if let Some(refusal) = s3::screen_sigv4_dates(&request).or_else(|| s3::screen_sigv2_dates(&request)) {
                return Ok(refusal.map(axum::body::Body::new));
            }
            let head = request.method() == axum::http::Method::HEAD;
            let mut response = tower::ServiceExt::oneshot(s3s, s3::bound_xml_body(request)).await?;
            if head {
                s3::partial_head_status(&mut response);
            }
            Ok(response.map(axum::body::Body::new))
        }
    });
    router
        .fallback_service(s3.clone())
        .layer(axum::middleware::from_fn_with_state((state.clone(), s3), s3::virtual_host))
        .layer(axum::middleware::from_fn_with_state(state.clone(), cors::bucket_cors))
        .layer(axum::middleware::from_fn(console::isolate_stored_files))
        .layer(axum::middleware::from_fn(s3::unquote_attributes_etag))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe::observe))
        .with_state(state)
}
