//! The web console at `/_console/`: static ES modules compiled into the binary, and a thin session layer.
//!
//! Signing in runs `b2_authorize_account` with the given key; the account token it returns stays on the
//! server, in a session named by an HttpOnly, SameSite=Strict cookie. Every console call is a B2 Native
//! API call proxied with that token (`/_console/api/b2/<op>`), so the console can never do more than the
//! signed-in key may, and capability checks stay where they are (the core). Upload URLs and their
//! upload-only tokens do reach the page, so files go straight to storage as with any B2 client.

mod assets;
mod presign;
mod thumbnail;
mod zip;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use base64::Engine;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::AppState;
use crate::b2::error::B2Error;

const COOKIE: &str = "stowage_console";
/// A session lasts as long as the account token behind it (B2 tokens live 24 hours).
const SESSION_TTL: Duration = Duration::from_secs(24 * 3600);
/// Requests that change something must carry this header: a cross-site form cannot set it.
const CSRF_HEADER: &str = "x-stowage-console";

/// A signed-in session, kept in the metadata store under the hash of its cookie value, so every node
/// of a deployment knows it and a restart signs nobody out.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Session {
    token: String,
    /// The `b2_authorize_account` answer without its token, for the page.
    info: Value,
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/_console", get(|| async { Redirect::permanent("/_console/") }))
        .route("/_console/", get(|| async { assets::serve("index.html") }))
        .route("/_console/assets/{file}", get(|Path(file): Path<String>| async move { assets::serve(&file) }))
        .route("/_console/api/session", get(session_info).post(sign_in).delete(sign_out))
        .route("/_console/api/b2/{op}", any(b2_call))
        .route("/_console/api/overview", get(overview))
        .route("/_console/api/vocabulary", get(vocabulary))
        .route("/_console/api/download/{bucket}/{*name}", get(download))
        .route("/_console/api/zip/{bucket}", get(zip::zip))
        .route("/_console/api/thumbnail/{file_id}", get(thumbnail::thumbnail))
        .route("/_console/api/search/{bucket}", get(search))
        .route("/_console/api/usage/{bucket}", get(usage_history))
        .route("/_console/api/s3/presign", axum::routing::post(presign::presign))
}

fn error(status: StatusCode, code: &'static str, message: &str) -> Response {
    B2Error::new(status, code, message).into_response()
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE).then(|| value.to_string())
    })
}

/// The request's session; a store that cannot be read counts as signed out (the page asks again).
async fn session(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let id = session_id(headers)?;
    let record = state.core.load_session(&id).await.ok()??;
    serde_json::from_str(&record).ok()
}

/// The signed-in key as the core knows it (capabilities, restrictions), for the console's own reads; the
/// refusal to send when nobody is signed in or the key is gone.
async fn signed_in(state: &AppState, headers: &HeaderMap) -> Result<stowage_core::auth::Principal, Box<Response>> {
    let s = session(state, headers).await.ok_or_else(|| Box::new(not_signed_in()))?;
    state.core.authenticate(&s.token).await.map_err(|e| Box::new(B2Error::from(e).into_response()))
}

fn not_signed_in() -> Response {
    error(StatusCode::UNAUTHORIZED, "bad_auth_token", "Not signed in, or the session has ended")
}

/// Runs a request through the B2 Native API router, as a B2 client would send it.
async fn b2(state: &Arc<AppState>, request: Request) -> Response {
    match crate::b2::routes().with_state(state.clone()).oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// The session cookie; `Secure` when the server is reached over https (its public URL says so).
fn cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let secure = if state.core.config().public_url.starts_with("https://") { "; Secure" } else { "" };
    let text = format!("{COOKIE}={value}; Path=/_console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Defence in depth beside the console header and the SameSite cookie: a browser's `Sec-Fetch-Site` must
/// say the request came from this site, and an `Origin`, when sent, must be this server's (its public URL,
/// or the host the request was sent to). Clients that send neither (not browsers) pass.
fn cross_site_refusal(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    let refuse = |why: &str| Some(error(StatusCode::FORBIDDEN, "forbidden", why));
    let text = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return refuse("console calls must come from the console's own pages");
    }
    let origin = text(header::ORIGIN.as_str())?;
    let public = state.core.config().public_url.trim_end_matches('/');
    let public_origin = public.split('/').take(3).collect::<Vec<_>>().join("/");
    let sent_to_host = text(header::HOST.as_str())
        .is_some_and(|host| origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host));
    if origin.eq_ignore_ascii_case(&public_origin) || sent_to_host {
        None
    } else {
        refuse("console calls are accepted only from the console's own origin")
    }
}

async fn sign_in(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    if !headers.contains_key(CSRF_HEADER) {
        return error(StatusCode::FORBIDDEN, "forbidden", "missing the console's request header");
    }
    if let Some(refusal) = cross_site_refusal(&state, &headers) {
        return refusal;
    }
    let Ok(form) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "expected JSON {\"keyId\": …, \"key\": …}");
    };
    let (Some(key_id), Some(key)) = (form["keyId"].as_str(), form["key"].as_str()) else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "keyId and key are required");
    };
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", key_id.trim(), key.trim()));
    let request = Request::builder()
        .method(Method::GET)
        .uri("/b2api/v4/b2_authorize_account")
        .header(header::AUTHORIZATION, format!("Basic {basic}"))
        .body(Body::empty());
    let Ok(request) = request else { return error(StatusCode::BAD_REQUEST, "bad_request", "invalid key id") };
    let answer = b2(&state, request).await;
    if answer.status() != StatusCode::OK {
        return answer;
    }
    let Ok(bytes) = axum::body::to_bytes(answer.into_body(), 1 << 20).await else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "authorization answer unreadable");
    };
    let Ok(mut info) = serde_json::from_slice::<Value>(&bytes) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "authorization answer unreadable");
    };
    let token = info.get("authorizationToken").and_then(Value::as_str).unwrap_or_default().to_string();
    if let Some(map) = info.as_object_mut() {
        map.remove("authorizationToken");
        map.insert("applicationKeyId".into(), json!(key_id.trim()));
    }
    let id: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    let record = match serde_json::to_string(&Session { token, info: info.clone() }) {
        Ok(record) => record,
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "session unrecordable"),
    };
    let expires = state.core.now() + SESSION_TTL.as_millis() as i64;
    if let Err(e) = state.core.save_session(&id, &record, expires).await {
        return crate::b2::error::B2Error::from(e).into_response();
    }
    let mut response = axum::Json(info).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie(&state, &id, SESSION_TTL.as_secs()));
    response
}

/// The signed-in key's authorization, or 204 when nobody is signed in (not an error: the page then asks).
/// The names the server accepts, so the console's editors offer exactly these (no copies in the page).
async fn vocabulary() -> axum::Json<serde_json::Value> {
    use stowage_core::auth::Capability;
    use stowage_core::cors::CorsOperation;
    use stowage_core::events::EventType;
    axum::Json(serde_json::json!({
        "capabilities": Capability::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "corsOperations": CorsOperation::ALL.iter().map(|op| op.as_str()).collect::<Vec<_>>(),
        "eventTypes": EventType::rule_names(),
    }))
}

async fn session_info(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match session(&state, &headers).await {
        Some(s) => axum::Json(s.info).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn sign_out(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(refusal) = cross_site_refusal(&state, &headers) {
        return refusal;
    }
    if let Some(id) = session_id(&headers)
        && let Err(e) = state.core.end_session(&id).await
    {
        return crate::b2::error::B2Error::from(e).into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie(&state, "", 0));
    response
}

/// `POST /_console/api/b2/<op>` with the operation's JSON: the B2 call, made with the session's token.
async fn b2_call(State(state): State<Arc<AppState>>, Path(op): Path<String>, method: Method, headers: HeaderMap, body: Bytes) -> Response {
    if method != Method::POST || !headers.contains_key(CSRF_HEADER) {
        return error(StatusCode::FORBIDDEN, "forbidden", "console calls are POSTs with the console's request header");
    }
    if let Some(refusal) = cross_site_refusal(&state, &headers) {
        return refusal;
    }
    if op == "b2_authorize_account" {
        return error(StatusCode::BAD_REQUEST, "bad_request", "sign in through /_console/api/session");
    }
    let Some(s) = session(&state, &headers).await else { return not_signed_in() };
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/b2api/v4/{op}"))
        .header(header::AUTHORIZATION, s.token)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body));
    match request {
        Ok(request) => b2(&state, request).await,
        Err(_) => error(StatusCode::BAD_REQUEST, "bad_request", "invalid operation name"),
    }
}

/// Downloads (and image thumbnails) by name with the session's token; `?fileId=` picks a version.
async fn download(
    State(state): State<Arc<AppState>>,
    Path((bucket, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Some(s) = session(&state, &headers).await else { return not_signed_in() };
    let params = crate::b2::query_pairs(query.as_deref());
    let param = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let encode = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    let mut target = match param("fileId") {
        Some(id) => format!("/b2api/v4/b2_download_file_by_id?fileId={}", encode(&id)),
        None => format!("/file/{}/{}?", encode(&bucket), crate::b2::encoding::encode(&name)),
    };
    if param("attachment").is_some() {
        let file_name = name.rsplit('/').next().unwrap_or(&name);
        let disposition = format!("attachment; filename*=UTF-8''{}", encode(file_name));
        target.push_str(&format!("&b2ContentDisposition={}", encode(&disposition)));
    }
    let Ok(uri) = target.parse::<Uri>() else { return error(StatusCode::BAD_REQUEST, "bad_request", "invalid file name") };
    let mut request = Request::builder().method(Method::GET).uri(uri).header(header::AUTHORIZATION, s.token);
    if let Some(range) = headers.get(header::RANGE) {
        request = request.header(header::RANGE, range);
    }
    match request.body(Body::empty()) {
        Ok(request) => b2(&state, request).await,
        Err(_) => error(StatusCode::BAD_REQUEST, "bad_request", "invalid request"),
    }
}

/// Names looked at per search request: a stretch answers in bounded time, and the page asks for the next.
const SEARCH_BUDGET: usize = 20_000;

/// `GET /_console/api/search/<bucket>?q=<text>&after=<name>`: files whose names contain the text anywhere,
/// across the bucket (what the key may list), a stretch at a time.
async fn search(State(state): State<Arc<AppState>>, Path(bucket): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(refusal) => return *refusal,
    };
    let params = crate::b2::query_pairs(query.as_deref());
    let param = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let Some(needle) = param("q").filter(|q| !q.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "q names the text to find");
    };
    let found = match state.core.bucket_for(Some(&principal), &bucket).await {
        Ok(bucket) => state.core.find_names(&principal, &bucket.id, &needle, param("after").as_deref(), 100, SEARCH_BUDGET).await,
        Err(e) => Err(e),
    };
    match found {
        Ok(found) => {
            let files: Vec<Value> = found
                .matches
                .iter()
                .map(|v| {
                    json!({"fileName": v.name, "fileId": v.file_id, "contentLength": v.size, "contentType": v.content_type,
                        "uploadTimestamp": v.upload_timestamp, "action": "upload"})
                })
                .collect();
            axum::Json(json!({"files": files, "next": found.resume_after, "scanned": found.scanned})).into_response()
        }
        Err(e) => B2Error::from(e).into_response(),
    }
}

/// `GET /_console/api/usage/<bucket id>?days=30`: the bucket's daily files and bytes, oldest first.
async fn usage_history(
    State(state): State<Arc<AppState>>,
    Path(bucket_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(refusal) => return *refusal,
    };
    let params = crate::b2::query_pairs(query.as_deref());
    let days = params.iter().find(|(k, _)| k == "days").and_then(|(_, v)| v.parse::<i64>().ok()).unwrap_or(30);
    match state.core.usage_history(&principal, &bucket_id, days).await {
        Ok(history) => {
            let days: Vec<Value> =
                history.iter().map(|d| json!({"date": d.day * stowage_core::lifecycle::DAY, "files": d.files, "bytes": d.bytes})).collect();
            axum::Json(json!({"days": days})).into_response()
        }
        Err(e) => B2Error::from(e).into_response(),
    }
}

/// The storage overview: files, bytes and last upload per bucket the key may list.
async fn overview(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(refusal) => return *refusal,
    };
    let filter = stowage_core::service::BucketFilter::default();
    let buckets = match state.core.list_buckets(&principal, &filter, false).await {
        Ok(b) => b,
        Err(e) => return B2Error::from(e).into_response(),
    };
    let mut rows = Vec::new();
    let (mut files, mut bytes, mut last) = (0u64, 0u64, None::<i64>);
    for bucket in buckets {
        // A key that may list buckets but not files in one still sees the bucket, without figures.
        let usage = state.core.bucket_usage(&principal, &bucket.id).await.ok();
        if let Some((f, b, l)) = usage {
            files += f;
            bytes += b;
            last = last.max(l);
        }
        rows.push(json!({
            "bucketId": bucket.id,
            "bucketName": bucket.name,
            "bucketType": bucket.bucket_type.as_str(),
            "files": usage.map(|u| u.0),
            "bytes": usage.map(|u| u.1),
            "lastUpload": usage.and_then(|u| u.2),
        }));
    }
    axum::Json(json!({"buckets": rows, "files": files, "bytes": bytes, "lastUpload": last})).into_response()
}

/// Stored files are served from the console's origin (one port serves everything, where B2 uses a separate
/// download domain). An HTML file someone uploaded must not run as that origin, or its scripts could call
/// the console's API with a signed-in visitor's cookie. Every response outside the console's own pages is
/// therefore sandboxed: scripts in it still run, but in an opaque origin with no access to the console.
pub async fn isolate_stored_files(request: Request, next: axum::middleware::Next) -> Response {
    let console_page = request.uri().path().starts_with("/_console/") && !request.uri().path().starts_with("/_console/api/download/");
    let mut response = next.run(request).await;
    if !console_page {
        response.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("sandbox allow-scripts allow-forms allow-popups allow-downloads"),
        );
    }
    response
}
