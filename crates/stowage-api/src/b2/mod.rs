//! The Backblaze B2 Native API front-end (v1 to v4 on one router).

pub mod calls;
mod convert;
pub(crate) mod encoding;
pub mod error;
mod ops;
pub(crate) mod params;
mod render;
mod transfer;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Path, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use base64::Engine;
use serde_json::{Value, json};
use stowage_core::Error;
use stowage_core::auth::Principal;

use crate::AppState;
use error::{B2Error, B2Result};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/b2api/{version}/b2_download_file_by_id", any(download_by_id))
        .route("/b2api/{version}/b2_upload_file/{bucket_id}", post(upload_file).fallback(post_only))
        .route("/b2api/{version}/b2_upload_part/{file_id}", post(upload_part).fallback(post_only))
        .route("/b2api/{version}/{op}", any(json_op))
        .route("/file/{bucket}/{*name}", any(download_by_name))
}

/// `Path`, refused in B2's error shape (a path that is not UTF-8 is a `bad_request`, not plain text).
struct B2Path<T>(T);

impl<T, S> FromRequestParts<S> for B2Path<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = B2Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, B2Error> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(B2Path(value)),
            Err(rejection) => Err(B2Error::bad_request(rejection.body_text())),
        }
    }
}

/// The request body of a JSON call, at most axum's default 2 MiB; refusals in B2's error shape.
struct B2Bytes(Bytes);

impl<S: Send + Sync> FromRequest<S> for B2Bytes {
    type Rejection = B2Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, B2Error> {
        use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(B2Bytes(bytes)),
            Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
                Err(B2Error::bad_request("the request body is larger than the 2 MiB a B2 call may send"))
            }
            Err(rejection) => Err(B2Error::bad_request(rejection.body_text())),
        }
    }
}

async fn post_only() -> B2Error {
    B2Error::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "use POST")
}

fn api_version(v: &str) -> B2Result<u8> {
    match v {
        "v1" => Ok(1),
        "v2" => Ok(2),
        "v3" => Ok(3),
        "v4" => Ok(4),
        _ => Err(B2Error::new(StatusCode::NOT_FOUND, "not_found", format!("unknown API version {v}"))),
    }
}

fn json_response(body: Vec<u8>) -> Response {
    let headers = [
        (header::CONTENT_TYPE, header::HeaderValue::from_static("application/json;charset=UTF-8")),
        (header::CACHE_CONTROL, header::HeaderValue::from_static("max-age=0, no-cache, no-store")),
    ];
    (headers, body).into_response()
}

fn json_value_response(value: &Value) -> Response {
    json_response(serde_json::to_vec(value).unwrap_or_default())
}

fn token_from(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query.iter().find(|(k, _)| k == "Authorization").map(|(_, v)| v.clone()))
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> B2Result<Principal> {
    let token = token_from(headers, &[])
        .ok_or_else(|| B2Error::new(StatusCode::UNAUTHORIZED, "bad_auth_token", "Authorization header is missing"))?;
    Ok(state.core.authenticate(&token).await?)
}

/// `X-Bz-Test-Mode`: lets application developers exercise their retry paths.
fn test_mode(headers: &HeaderMap, is_upload: bool) -> B2Result<()> {
    let Some(mode) = headers.get("x-bz-test-mode").and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let roll = rand::random::<f64>();
    match mode {
        "fail_some_uploads" if is_upload && roll < 0.25 => {
            Err(Error::ServiceUnavailable("test mode: upload failed on purpose".into()).into())
        }
        "expire_some_account_authorization_tokens" if !is_upload && roll < 0.25 => Err(Error::ExpiredAuthToken.into()),
        "force_cap_exceeded" => Err(Error::CapExceeded.into()),
        _ => Ok(()),
    }
}

/// Query parameters, `+` and %-escapes decoded (B2 sends GET parameters this way).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (encoding::decode_plus(k), encoding::decode_plus(v))
        })
        .collect()
}

async fn json_op(
    State(state): State<Arc<AppState>>,
    B2Path((version, op)): B2Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    B2Bytes(body): B2Bytes,
) -> Response {
    let result = async {
        let version = api_version(&version)?;
        if method != Method::GET && method != Method::POST {
            return Err(B2Error::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "use GET or POST"));
        }
        if op == "b2_authorize_account" {
            return authorize_account(&state, &headers, version).await.map(|v| serde_json::to_vec(&v).unwrap_or_default());
        }
        test_mode(&headers, false)?;
        let principal = authenticate(&state, &headers).await?;
        expressible_in(version, principal.key.bucket_ids.as_deref())?;
        let params = params::Params::parse(&body, query.as_deref())?;
        ops::dispatch(&op, ops::Call { state: &state, principal: &principal, params, version }).await
    }
    .await;
    match result {
        Ok(value) => json_response(value),
        Err(err) => err.into_response(),
    }
}

/// A key restricted to several buckets (v4's `bucketIds`) cannot be described in v1–v3's single `bucketId`:
/// B2 refuses such calls rather than guess which bucket was meant.
fn expressible_in(version: u8, bucket_ids: Option<&[String]>) -> B2Result<()> {
    match bucket_ids {
        Some(ids) if ids.len() > 1 && version <= 3 => {
            Err(B2Error::bad_request(format!("This request is not currently supported on API version number {version}")))
        }
        _ => Ok(()),
    }
}

async fn authorize_account(state: &AppState, headers: &HeaderMap, version: u8) -> B2Result<Value> {
    let bad =
        || B2Error::new(StatusCode::UNAUTHORIZED, "unauthorized", "Authorization must be Basic base64(applicationKeyId:applicationKey)");
    let header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(bad)?;
    let encoded = header.strip_prefix("Basic ").or_else(|| header.strip_prefix("basic ")).ok_or_else(bad)?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (key_id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let auth = state.core.authorize_account(key_id, secret, state.root_key_id.as_deref()).await?;
    expressible_in(version, auth.key.bucket_ids.as_deref())?;
    let config = state.core.config();
    let url = &config.public_url;
    let key = &auth.key;
    let (single_id, single_name) = match auth.allowed_buckets.as_deref() {
        Some([(id, name), ..]) => (Some(id.clone()), name.clone()),
        _ => (None, None),
    };
    let buckets =
        auth.allowed_buckets.as_ref().map(|list| list.iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>());
    let allowed = json!({
        "buckets": buckets,
        "bucketId": single_id,
        "bucketName": single_name,
        "capabilities": key.capabilities,
        "namePrefix": key.name_prefix,
    });
    let body = if version <= 2 {
        json!({
            "accountId": state.core.account_id(),
            "authorizationToken": auth.token,
            "allowed": allowed,
            "apiUrl": url,
            "downloadUrl": url,
            "s3ApiUrl": url,
            "recommendedPartSize": config.recommended_part_size,
            "absoluteMinimumPartSize": config.absolute_minimum_part_size,
            "minimumPartSize": config.recommended_part_size,
        })
    } else {
        json!({
            "accountId": state.core.account_id(),
            "authorizationToken": auth.token,
            "applicationKeyExpirationTimestamp": key.expires,
            "apiInfo": {
                "storageApi": {
                    "infoType": "storageApi",
                    "apiUrl": url,
                    "downloadUrl": url,
                    "s3ApiUrl": url,
                    "absoluteMinimumPartSize": config.absolute_minimum_part_size,
                    "recommendedPartSize": config.recommended_part_size,
                    "allowed": allowed,
                    "bucketId": single_id,
                    "bucketName": single_name,
                    "capabilities": key.capabilities,
                    "namePrefix": key.name_prefix,
                },
                "groupsApi": {},
            },
        })
    };
    Ok(body)
}

async fn upload_file(
    State(state): State<Arc<AppState>>,
    B2Path((version, bucket_id)): B2Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        let version = api_version(&version)?;
        test_mode(&headers, true)?;
        let principal = authenticate(&state, &headers).await?;
        transfer::upload_file(&state, &principal, bucket_id, &headers, body, version).await
    }
    .await;
    match result {
        Ok(value) => json_value_response(&value),
        Err(err) => err.into_response(),
    }
}

async fn upload_part(
    State(state): State<Arc<AppState>>,
    B2Path((version, file_id)): B2Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let result = async {
        api_version(&version)?;
        test_mode(&headers, true)?;
        let principal = authenticate(&state, &headers).await?;
        transfer::upload_part(&state, &principal, file_id, &headers, body).await
    }
    .await;
    match result {
        Ok(value) => json_value_response(&value),
        Err(err) => err.into_response(),
    }
}

/// An optional caller: anonymous requests are fine for public buckets; a bad token is still an error.
async fn optional_principal(state: &AppState, headers: &HeaderMap, query: &[(String, String)]) -> B2Result<Option<Principal>> {
    match token_from(headers, query) {
        None => Ok(None),
        Some(token) => Ok(Some(state.core.authenticate(&token).await?)),
    }
}

async fn download_by_id(
    State(state): State<Arc<AppState>>,
    B2Path(version): B2Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    B2Bytes(body): B2Bytes,
) -> Response {
    let is_head = method == Method::HEAD;
    let result = async {
        api_version(&version)?;
        let query = query_pairs(query.as_deref());
        let file_id = match query.iter().find(|(k, _)| k == "fileId") {
            Some((_, id)) => id.clone(),
            None => params::Params::parse(&body, None)?.req_str("fileId")?,
        };
        test_mode(&headers, false)?;
        let principal = optional_principal(&state, &headers, &[]).await?;
        let sse = transfer::sse_c_headers(&headers)?;
        let download =
            state.core.download_by_id(principal.as_ref(), &file_id, transfer::range_header(&headers), sse.as_ref(), !is_head).await?;
        Ok(transfer::download_response(download, principal.as_ref(), &query, &method))
    }
    .await;
    result.unwrap_or_else(|e: B2Error| e.for_head(is_head).into_response())
}

async fn download_by_name(
    State(state): State<Arc<AppState>>,
    B2Path((bucket, _)): B2Path<(String, String)>,
    uri: axum::http::Uri,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let is_head = method == Method::HEAD;
    let result = async {
        if method != Method::GET && method != Method::HEAD {
            return Err(B2Error::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "use GET or HEAD"));
        }
        // The raw path, so that `+` means space and `%2B` means plus, as B2 decodes names.
        let raw_name = uri.path().splitn(4, '/').nth(3).unwrap_or("");
        let name =
            encoding::decode_plus_strict(raw_name).ok_or_else(|| B2Error::bad_request("file name is not valid percent-encoded UTF-8"))?;
        let query = query_pairs(uri.query());
        test_mode(&headers, false)?;
        let principal = optional_principal(&state, &headers, &query).await?;
        let sse = transfer::sse_c_headers(&headers)?;
        let download = state
            .core
            .download_by_name(principal.as_ref(), &bucket, &name, transfer::range_header(&headers), sse.as_ref(), !is_head)
            .await?;
        Ok(transfer::download_response(download, principal.as_ref(), &query, &method))
    }
    .await;
    result.unwrap_or_else(|e: B2Error| e.for_head(is_head).into_response())
}
