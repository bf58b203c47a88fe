//! Stowage's HTTP front-ends over one router: the B2 Native API now; S3 and the console mount here too.

pub mod b2;
mod cors;
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
}

pub fn router(state: Arc<AppState>) -> Router {
    let mut router =
        Router::new().route("/_health", get(|| async { "ok\n" })).route("/_metrics", get(observe::render_metrics)).merge(b2::routes());
    if state.test_hooks {
        router = router.merge(observe::test_routes());
    }
    // Everything the B2 routes and our own `/_…` paths do not claim is S3 (path-style `/<bucket>/<key>`).
    let s3 = axum::error_handling::HandleError::new(s3::service(state.core.clone()), s3::http_error);
    router
        .fallback_service(s3)
        .layer(axum::middleware::from_fn_with_state(state.clone(), cors::bucket_cors))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe::observe))
        .with_state(state)
}
