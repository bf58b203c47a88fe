//! CORS for bucket traffic of both APIs: answers preflight `OPTIONS` and decorates actual responses from
//! the bucket's rules (evaluated in the core). Requests without `Origin` pass straight through.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stowage_core::cors::{CorsGrant, CorsOperation, CorsRequest};
use stowage_core::service::CorsTarget;

use crate::AppState;

/// Which bucket a path addresses and which CORS operation the method means there.
struct Classified {
    target: Owned,
    operation: CorsOperation,
    is_s3: bool,
}

enum Owned {
    BucketName(String),
    BucketId(String),
    FileId(String),
}

fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| pair.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v.to_string()))
}

fn classify(path: &str, query: Option<&str>, method: &str) -> Option<Classified> {
    let segments: Vec<&str> = path.trim_start_matches('/').splitn(4, '/').collect();
    let b2 = |target, operation| Some(Classified { target, operation, is_s3: false });
    match segments.as_slice() {
        ["file", bucket, ..] if matches!(method, "GET" | "HEAD") => {
            b2(Owned::BucketName(bucket.to_string()), CorsOperation::B2DownloadFileByName)
        }
        ["b2api", _, "b2_download_file_by_id", ..] => b2(Owned::FileId(query_value(query, "fileId")?), CorsOperation::B2DownloadFileById),
        ["b2api", _, "b2_upload_file", bucket_id, ..] => b2(Owned::BucketId(bucket_id.to_string()), CorsOperation::B2UploadFile),
        ["b2api", _, "b2_upload_part", file_id, ..] => b2(Owned::FileId(file_id.to_string()), CorsOperation::B2UploadPart),
        ["b2api", ..] | ["file", ..] => None,
        [first, ..] if first.is_empty() || first.starts_with('_') => None,
        [bucket, ..] => {
            Some(Classified { target: Owned::BucketName(bucket.to_string()), operation: CorsOperation::of_s3_method(method)?, is_s3: true })
        }
        [] => None,
    }
}

fn put(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// A refused preflight: AWS's words first (clients recognise them), then what to change when the request
/// was understood (`hint`).
fn refused(is_s3: bool, hint: Option<String>) -> Response {
    let aws = "CORSResponse: This CORS request is not allowed. This is usually because the evaluation of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.";
    let message = match hint {
        Some(hint) => format!("{aws} {hint}"),
        None => aws.to_string(),
    };
    if is_s3 {
        let body =
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessForbidden</Code><Message>{message}</Message></Error>");
        (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
    } else {
        let body = serde_json::json!({"status": 403, "code": "access_denied", "message": message});
        (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
    }
}

/// Whether a request goes to S3's bucket or object URLs (path-style or virtual-hosted).
fn addresses_s3_bucket(state: &AppState, request: &Request) -> bool {
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    state.s3.bucket_from_host(host).is_some() || classify(request.uri().path(), None, "GET").is_some_and(|c| c.is_s3)
}

/// S3 answers an `OPTIONS` that is not a complete preflight (no Origin, or no Access-Control-Request-Method)
/// with 400.
fn incomplete_preflight() -> Response {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>BadRequest</Code><Message>Insufficient information. \
                Origin request header and Access-Control-Request-Method are needed.</Message></Error>";
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

pub async fn bucket_cors(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let requested_method = request.headers().get(header::ACCESS_CONTROL_REQUEST_METHOD).and_then(|v| v.to_str().ok()).map(str::to_string);
    let origin = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string);
    if request.method() == Method::OPTIONS && (origin.is_none() || requested_method.is_none()) && addresses_s3_bucket(&state, &request) {
        return incomplete_preflight();
    }
    let Some(origin) = origin else {
        return next.run(request).await;
    };
    let preflight = request.method() == Method::OPTIONS && requested_method.is_some();
    let method = if preflight { requested_method.unwrap_or_default() } else { request.method().as_str().to_string() };
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let classified = match state.s3.bucket_from_host(host) {
        Some(bucket) => CorsOperation::of_s3_method(&method).map(|operation| Classified {
            target: Owned::BucketName(bucket.to_string()),
            operation,
            is_s3: true,
        }),
        None => classify(request.uri().path(), request.uri().query(), &method),
    };
    let Some(classified) = classified else {
        return if preflight { refused(false, None) } else { next.run(request).await };
    };
    let headers: Vec<String> = if preflight {
        request
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .and_then(|v| v.to_str().ok())
            .map(|list| list.split(',').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let target = match &classified.target {
        Owned::BucketName(n) => CorsTarget::BucketName(n),
        Owned::BucketId(id) => CorsTarget::BucketId(id),
        Owned::FileId(id) => CorsTarget::FileId(id),
    };
    let hint = preflight.then(|| {
        let asked = if headers.is_empty() { String::new() } else { format!(" with headers {}", headers.join(", ")) };
        format!(
            "No CORS rule of this bucket allows origin {origin} to {}{asked}: add one that does (B2: corsRules in \
             b2_update_bucket, allowedOperations [\"{}\"]; S3: PutBucketCors).",
            method,
            classified.operation.as_str()
        )
    });
    let grant = state.core.cors(target, &CorsRequest { origin: &origin, operation: classified.operation, headers }).await.ok().flatten();
    if preflight {
        return match grant {
            Some(grant) => preflight_response(&grant),
            None => refused(classified.is_s3, hint),
        };
    }
    let mut response = next.run(request).await;
    if let Some(grant) = grant {
        let h = response.headers_mut();
        put(h, header::ACCESS_CONTROL_ALLOW_ORIGIN, &grant.allow_origin);
        // S3 names the rule's methods on actual responses too.
        put(h, header::ACCESS_CONTROL_ALLOW_METHODS, &grant.allow_methods.join(", "));
        if !grant.expose_headers.is_empty() {
            put(h, header::ACCESS_CONTROL_EXPOSE_HEADERS, &grant.expose_headers.join(", "));
        }
        h.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

fn preflight_response(grant: &CorsGrant) -> Response {
    let mut headers = HeaderMap::new();
    put(&mut headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, &grant.allow_origin);
    put(&mut headers, header::ACCESS_CONTROL_ALLOW_METHODS, &grant.allow_methods.join(", "));
    if !grant.allow_headers.is_empty() {
        put(&mut headers, header::ACCESS_CONTROL_ALLOW_HEADERS, &grant.allow_headers.join(", "));
    }
    if !grant.expose_headers.is_empty() {
        put(&mut headers, header::ACCESS_CONTROL_EXPOSE_HEADERS, &grant.expose_headers.join(", "));
    }
    put(&mut headers, header::ACCESS_CONTROL_MAX_AGE, &grant.max_age_seconds.to_string());
    headers.insert(header::VARY, HeaderValue::from_static("Origin, Access-Control-Request-Headers, Access-Control-Request-Method"));
    (StatusCode::OK, headers).into_response()
}
