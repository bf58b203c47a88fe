//! `POST /_console/api/s3/presign`: S3 requests presigned (SigV4, query string) with the signed-in key, so
//! the page uploads through the S3 API as it does through B2 upload URLs, and reads and sets an object's S3
//! tags (which the B2 API has no call for), without holding the key's secret. Only the four multipart calls
//! and the object tagging calls on one object are signed, for the host the browser used.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings, UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Value, json};

use super::{CSRF_HEADER, cross_site_refusal, error, not_signed_in, session};
use crate::AppState;
use crate::b2::error::B2Error;

/// What SigV4 leaves unescaped in a path segment or query component.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// How long a presigned request stays valid: long enough for a part over a slow link.
const VALID_FOR: Duration = Duration::from_secs(3600);

/// The S3 calls the console may have signed, by method and the query they carry (sorted by name).
fn allowed(method: &str, query: &[(String, String)]) -> bool {
    let names: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
    matches!(
        (method, names.as_slice()),
        ("POST", ["uploads"])
            | ("PUT", ["partNumber", "uploadId"])
            | ("POST", ["uploadId"])
            | ("DELETE", ["uploadId"])
            | ("GET" | "PUT", ["tagging"] | ["tagging", "versionId"])
    )
}

pub async fn presign(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    if !headers.contains_key(CSRF_HEADER) {
        return error(StatusCode::FORBIDDEN, "forbidden", "missing the console's request header");
    }
    if let Some(refusal) = cross_site_refusal(&state, &headers) {
        return refusal;
    }
    let Some(s) = session(&state, &headers).await else { return not_signed_in() };
    let Ok(form) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "expected JSON {method, bucket, key, query}");
    };
    let (Some(method), Some(bucket), Some(key)) = (form["method"].as_str(), form["bucket"].as_str(), form["key"].as_str()) else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "method, bucket and key are required");
    };
    let mut query: Vec<(String, String)> = form["query"]
        .as_object()
        .map(|q| q.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect())
        .unwrap_or_default();
    query.sort();
    if !allowed(method, &query) {
        return error(StatusCode::BAD_REQUEST, "bad_request", "only S3 multipart upload and object tagging requests are presigned here");
    }
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return error(StatusCode::BAD_REQUEST, "bad_request", "the request names no host");
    };
    let key_id = s.info["applicationKeyId"].as_str().unwrap_or_default().to_string();
    let secret = match state.core.secret_for_key(&key_id).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return not_signed_in(),
        Err(e) => return B2Error::from(e).into_response(),
    };
    let encode = |s: &str| percent_encoding::utf8_percent_encode(s, UNRESERVED).to_string();
    let path = format!("/{}/{}", encode(bucket), key.split('/').map(encode).collect::<Vec<_>>().join("/"));
    let query_string = query
        .iter()
        .map(|(k, v)| if v.is_empty() { encode(k) } else { format!("{}={}", encode(k), encode(v)) })
        .collect::<Vec<_>>()
        .join("&");
    // User metadata of a CreateMultipartUpload (the whole file's `large_file_sha1`), signed as headers the
    // page then sends: `x-amz-meta-<name>`, file info `<name>` to B2 clients.
    let mut signed_headers: Vec<(String, String)> = Vec::new();
    if let Some(metadata) = form["metadata"].as_object() {
        if method != "POST" || query.first().map(|(k, _)| k.as_str()) != Some("uploads") {
            return error(StatusCode::BAD_REQUEST, "bad_request", "metadata is signed for CreateMultipartUpload only");
        }
        for (name, value) in metadata {
            let (Some(value), true) = (value.as_str(), name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "metadata names are letters, digits, '_' and '-'; values are strings",
                );
            };
            signed_headers.push((format!("x-amz-meta-{}", name.to_ascii_lowercase()), value.to_string()));
        }
    }
    let scheme = if state.core.config().public_url.starts_with("https://") { "https" } else { "http" };
    let url = format!("{scheme}://{host}{path}?{query_string}");
    match presigned(&url, method, &signed_headers, &key_id, &secret, state.s3.region.as_deref().unwrap_or("us-east-1")) {
        Ok(signed) => axum::Json(json!({"url": signed})).into_response(),
        Err(why) => error(StatusCode::BAD_REQUEST, "bad_request", &why),
    }
}

/// `url` with SigV4 query parameters for `method` and `headers` (besides the host), an unsigned payload,
/// valid for `VALID_FOR`.
fn presigned(url: &str, method: &str, headers: &[(String, String)], key_id: &str, secret: &str, region: &str) -> Result<String, String> {
    let identity: Identity = Credentials::new(key_id, secret, None, None, "stowage-console").into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(VALID_FOR);
    // S3 signs the path as sent: escaped once, never normalised.
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let host = url.split('/').nth(2).unwrap_or_default();
    let signed = std::iter::once(("host", host)).chain(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let signable = SignableRequest::new(method, url, signed, SignableBody::UnsignedPayload).map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params).map_err(|e| e.to_string())?.into_parts();
    let mut request = axum::http::Request::builder().method(method).uri(url).body(()).map_err(|e| e.to_string())?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request.uri().to_string())
}
