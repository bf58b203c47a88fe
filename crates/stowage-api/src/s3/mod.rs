//! The S3-compatible API over the same buckets and files. `s3s` does the wire work (routing, SigV4 and
//! SigV2, aws-chunked bodies, XML); it is imported only inside this module.

mod access;
mod acl;
mod adapter;
mod bucket_config;
mod buckets;
mod checksum;
mod context;
mod copy;
mod error;
mod form_upload;
mod lifecycle;
mod listings;
mod multipart;
mod object_config;
mod objects;
mod operations;
mod values;

pub use form_upload::FormUploads;
#[cfg(feature = "fuzzing")]
pub(crate) use form_upload::fuzz_form_policy;
pub use operations::to_json as operations_json;

use std::sync::Arc;

use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3Result, s3_error};
use stowage_core::Stowage;

/// The largest XML (or JSON policy) request body s3s reads whole.
const MAX_XML_BODY: usize = 20 << 20;

/// Forms that reach s3s (a POST with a query string) are held in memory there: bound them. Browser form
/// uploads to a bucket's URL stream through `form_upload` instead, up to the 5 GB of any upload.
const MAX_S3S_FORM_FILE: u64 = 20 << 20;

/// Access keys are application key ids; their secrets sign requests.
struct KeyAuth {
    core: Arc<Stowage>,
}

#[async_trait::async_trait]
impl S3Auth for KeyAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.core.secret_for_key(access_key).await {
            // A store failure is an InternalError, never a claim that the key does not exist.
            Ok(Some(secret)) => Ok(SecretKey::from(secret)),
            Ok(None) => Err(s3_error!(InvalidAccessKeyId, "The access key ID you provided does not exist")),
            Err(e) => Err(error::to_s3(e)),
        }
    }
}

/// s3s reports transport-level failures (not S3 errors) here; they become an S3 `InternalError` with the
/// reason logged.
pub async fn http_error(err: s3s::HttpError) -> axum::http::Response<s3s::Body> {
    tracing::error!(?err, "S3 transport error");
    xml_error(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &crate::observe::internal_message())
}

/// Refuses, before s3s parses them, SigV4 dates that are not digits where digits belong: the `x-amz-date`
/// (header or presigned query, `YYYYMMDDTHHMMSSZ`) and the credential scope's date (`YYYYMMDD`). s3s's digit
/// parser underflows on bytes below '0' (a panic where overflow checks are on; found by fuzzing,
/// `fuzz/fuzz_targets/http_request.rs`). Answers as s3s does for a bad date. Also refuses a presigned
/// URL's `X-Amz-Expires` outside 0..=604800 seconds as AWS does (403 AuthorizationQueryParametersError).
pub fn screen_sigv4_dates(request: &axum::extract::Request) -> Option<axum::http::Response<s3s::Body>> {
    let amz_date_ok = |v: &str| {
        let b = v.as_bytes();
        b.len() == 16 && b[8] == b'T' && b[15] == b'Z' && b.iter().enumerate().all(|(i, c)| i == 8 || i == 15 || c.is_ascii_digit())
    };
    let scope_date_ok =
        |credential: &str| credential.split('/').nth(1).is_none_or(|d| d.len() == 8 && d.bytes().all(|c| c.is_ascii_digit()));
    let query_value = |name: &str| {
        request.uri().query().and_then(|q| {
            q.split('&').find_map(|pair| {
                let (n, value) = pair.split_once('=')?;
                n.eq_ignore_ascii_case(name).then(|| percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned())
            })
        })
    };
    // Lossy as s3s reads them: it parses headers that are not UTF-8 too.
    let header = |name: &str| request.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()));
    let authorization = header("authorization");
    // Only SigV4 reads these as SigV4 dates: a SigV2 request's x-amz-date is an HTTP date.
    let v4_header = authorization.as_deref().is_some_and(|a| a.starts_with("AWS4-"));
    let query_credential = query_value("X-Amz-Credential");
    if !v4_header && query_credential.is_none() {
        return None;
    }
    // As s3s reads it: the access key runs to the first '/', the date to the next, whatever is between.
    let header_credential = authorization.as_deref().filter(|_| v4_header).and_then(|a| a.split_once("Credential=").map(|(_, rest)| rest));
    let bad = (v4_header && header("x-amz-date").is_some_and(|v| !amz_date_ok(&v)))
        || (query_credential.is_some() && query_value("X-Amz-Date").is_some_and(|v| !amz_date_ok(&v)))
        || header_credential.is_some_and(|c| !scope_date_ok(c))
        || query_credential.as_deref().is_some_and(|c| !scope_date_ok(c));
    if bad {
        return Some(xml_error(
            axum::http::StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "invalid SigV4 date: expected YYYYMMDDTHHMMSSZ and a YYYYMMDD scope",
        ));
    }
    // A presigned URL lives between 0 seconds and a week, as AWS allows.
    let expires = query_credential.is_some().then(|| query_value("X-Amz-Expires")).flatten()?;
    let refusal = match expires.parse::<i64>() {
        Ok(seconds) if seconds < 0 => "X-Amz-Expires must be non-negative",
        Ok(seconds) if seconds > 604_800 => {
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds"
        }
        Ok(_) => return None,
        Err(_) => "X-Amz-Expires should be a number",
    };
    Some(xml_error(axum::http::StatusCode::FORBIDDEN, "AuthorizationQueryParametersError", refusal))
}

/// Refuses a SigV2 header-signed request whose date AWS would refuse before looking at the signature: an
/// `x-amz-date` (or, without one, `Date`) that is not an HTTP date is AccessDenied, one more than 15
/// minutes from now is RequestTimeTooSkewed. (s3s would only report a signature mismatch.)
pub fn screen_sigv2_dates(request: &axum::extract::Request) -> Option<axum::http::Response<s3s::Body>> {
    let headers = request.headers();
    let v2 = headers.get(axum::http::header::AUTHORIZATION).is_some_and(|a| a.as_bytes().starts_with(b"AWS "));
    if !v2 {
        return None;
    }
    let date = headers.get("x-amz-date").or_else(|| headers.get(axum::http::header::DATE));
    let Some(parsed) = date.and_then(|d| d.to_str().ok()).and_then(lenient_http_date) else {
        return Some(xml_error(
            axum::http::StatusCode::FORBIDDEN,
            "AccessDenied",
            "AWS authentication requires a valid Date or x-amz-date header",
        ));
    };
    let now = std::time::SystemTime::now();
    let skew = parsed.duration_since(now).or_else(|_| now.duration_since(parsed)).unwrap_or_default();
    (skew > std::time::Duration::from_secs(15 * 60)).then(|| {
        xml_error(
            axum::http::StatusCode::FORBIDDEN,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        )
    })
}

/// An HTTP date, whatever weekday it names (clients compute it; AWS does not check it).
fn lenient_http_date(text: &str) -> Option<std::time::SystemTime> {
    if let Ok(parsed) = httpdate::parse_http_date(text) {
        return Some(parsed);
    }
    let (_, rest) = text.split_once(", ")?;
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].iter().find_map(|day| httpdate::parse_http_date(&format!("{day}, {rest}")).ok())
}

/// Subresources whose requests carry an XML (or JSON policy) body that s3s reads whole.
const XML_SUBRESOURCES: &[&str] = &[
    "delete",
    "cors",
    "lifecycle",
    "tagging",
    "versioning",
    "policy",
    "acl",
    "encryption",
    "object-lock",
    "notification",
    "replication",
    "website",
    "logging",
    "ownershipControls",
    "publicAccessBlock",
    "requestPayment",
    "accelerate",
    "retention",
    "legal-hold",
    "restore",
    "select",
    "analytics",
    "inventory",
    "metrics",
    "intelligent-tiering",
];

/// An XML body sent without a length (chunked) is cut at the size s3s reads whole, so one past it is
/// refused as malformed XML rather than failing inside s3s as a 500. Only requests naming an XML
/// subresource (or completing a multipart upload) are touched: object bodies are never cut.
pub fn bound_xml_body(request: axum::extract::Request) -> axum::extract::Request {
    use axum::http::Method;
    if request.headers().contains_key(axum::http::header::CONTENT_LENGTH) {
        return request;
    }
    let query = request.uri().query().unwrap_or("");
    let names: Vec<&str> = query.split('&').map(|p| p.split_once('=').map_or(p, |(n, _)| n)).collect();
    let xml = (request.method() == Method::POST && names.contains(&"uploadId"))
        || ((request.method() == Method::PUT || request.method() == Method::POST)
            && !names.contains(&"partNumber")
            && names.iter().any(|n| XML_SUBRESOURCES.contains(n)));
    if !xml {
        return request;
    }
    let (parts, body) = request.into_parts();
    let bounded = futures::StreamExt::scan(body.into_data_stream(), MAX_XML_BODY, |left, chunk| {
        let next = (*left > 0).then(|| {
            chunk.map(|mut bytes| {
                let keep = bytes.len().min(*left);
                *left -= keep;
                bytes.truncate(keep);
                bytes
            })
        });
        std::future::ready(next)
    });
    axum::extract::Request::from_parts(parts, axum::body::Body::from_stream(bounded))
}

/// Text made safe for an XML element.
fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// An S3 `<Error>` document, for refusals made before a request reaches s3s.
pub fn xml_error(status: axum::http::StatusCode, code: &str, message: &str) -> axum::http::Response<s3s::Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
        xml_escape(message),
        crate::observe::request_id().unwrap_or_default()
    );
    let mut response = axum::http::Response::new(s3s::Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/xml"));
    response
}

/// The one door every request s3s routes goes through, after s3s has verified its signature and before
/// its body is read: the credential scope's region, a bound on bodies s3s reads whole, then the request is
/// resolved against the operations table (`context::resolve`) and what was decided rides to the handler
/// in the request's extensions. s3s would refuse every unsigned request; the table decides instead.
struct RequestChecks {
    core: Arc<Stowage>,
    region: Option<String>,
}

/// The region of a SigV4 credential scope (`AKID/20260101/<region>/s3/aws4_request`).
fn scope_region(credential: &str) -> Option<&str> {
    credential.split('/').nth(2)
}

#[async_trait::async_trait]
impl S3Access for RequestChecks {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        // s3s reads every other operation's body whole to parse it, and answers one over its limit with a 500
        // (the limit error is not recognised through its body wrapper): refuse it here, by its length.
        let data_op = matches!(cx.s3_op().name(), "PutObject" | "UploadPart" | "PostObject");
        let length = cx.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if !data_op && length.is_some_and(|n| n > MAX_XML_BODY as u64) {
            return Err(s3_error!(MaxMessageLengthExceeded, "the request body is larger than the {} MiB allowed", MAX_XML_BODY >> 20));
        }
        self.check_region(cx)?;
        self.resolve(cx).await
    }
}

/// What a signature for another region is told (header, query and form signatures alike).
pub(crate) fn wrong_region(region: &str, expected: &str) -> String {
    format!("the region '{region}' is wrong; expecting '{expected}' (this server's --region: set the client's region to it)")
}

impl RequestChecks {
    fn check_region(&self, cx: &S3AccessContext<'_>) -> S3Result<()> {
        let Some(expected) = &self.region else { return Ok(()) };
        let from_header = cx
            .headers()
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("AWS4-HMAC-SHA256 "))
            .and_then(|v| v.split(',').find_map(|part| part.trim().strip_prefix("Credential=")))
            .map(str::to_string);
        let from_query = cx.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|p| p.strip_prefix("X-Amz-Credential="))
                .map(|v| percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned())
        });
        if let Some(credential) = from_header.or(from_query)
            && let Some(region) = scope_region(&credential)
            && region != expected
        {
            return Err(s3_error!(AuthorizationHeaderMalformed, "{}", wrong_region(region, expected)));
        }
        Ok(())
    }

    /// Resolves the request against the operations table; the handler takes what was decided from the
    /// request's extensions (`StowageS3::acting` & co.).
    async fn resolve(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let name = cx.s3_op().name();
        let operation = operations::find(name).ok_or_else(|| s3_error!(NotImplemented, "{name} is not implemented"))?;
        let peer = cx.extensions_mut().get::<crate::PeerAddr>().copied();
        let parts = context::RequestParts { headers: cx.headers(), uri: cx.uri(), peer };
        let path = cx.s3_path();
        let access_key = cx.credentials().map(|c| c.access_key.as_str());
        let resolved = context::resolve(&self.core, operation, &parts, access_key, path.get_bucket_name(), path.get_object_key()).await?;
        cx.extensions_mut().insert(resolved);
        Ok(())
    }
}

pub fn service(core: Arc<Stowage>, options: &crate::S3Options) -> S3Service {
    let mut builder = S3ServiceBuilder::new(context::StowageS3 { core: core.clone(), region: options.region.clone() });
    builder.set_auth(KeyAuth { core: core.clone() });
    let mut config = s3s::config::S3Config::default();
    config.post_object_max_file_size = MAX_S3S_FORM_FILE;
    config.xml_max_body_size = MAX_XML_BODY;
    builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(config))));
    builder.set_access(RequestChecks { core: core.clone(), region: options.region.clone() });
    if options.domain.is_some() {
        builder.set_host(Hosts(options.clone()));
    }
    builder.build()
}

/// Virtual-hosted-style addressing under `--domain`, whatever the port; any other host is path style
/// (s3s's own `SingleDomain` compares hosts with their port and takes unknown hosts for bucket names).
struct Hosts(crate::S3Options);

impl s3s::host::S3Host for Hosts {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<s3s::host::VirtualHost<'a>> {
        Ok(match self.0.bucket_from_host(host) {
            Some(bucket) => s3s::host::VirtualHost::new(host).with_bucket(bucket),
            None => s3s::host::VirtualHost::new(host),
        })
    }
}

/// Sends virtual-hosted-style requests (`<bucket>.<domain>`) to S3 before path routing can claim them.
pub async fn virtual_host<S>(
    axum::extract::State((state, s3)): axum::extract::State<(Arc<crate::AppState>, S)>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response
where
    S: tower::Service<axum::extract::Request, Error = std::convert::Infallible> + Clone + Send + 'static,
    S::Response: axum::response::IntoResponse,
    S::Future: Send,
{
    use axum::response::IntoResponse;
    use tower::ServiceExt;
    let host = request.headers().get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if state.s3.bucket_from_host(host).is_none() {
        return next.run(request).await;
    }
    match s3.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// A HEAD with a Range (or partNumber) answers 206 as GET does; s3s's HeadObject always answers 200, so
/// the status follows the Content-Range the handler set.
pub fn partial_head_status<B>(response: &mut axum::http::Response<B>) {
    if response.status() == axum::http::StatusCode::OK && response.headers().contains_key(axum::http::header::CONTENT_RANGE) {
        *response.status_mut() = axum::http::StatusCode::PARTIAL_CONTENT;
    }
}

/// GetObjectAttributes answers with the ETag unquoted (unlike every other S3 response); s3s always quotes
/// it, so the quotes are taken off here, on that operation's small XML body only.
pub async fn unquote_attributes_etag(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let is_attributes = request.method() == axum::http::Method::GET
        && request.uri().query().is_some_and(|q| q.split('&').any(|p| p == "attributes" || p.starts_with("attributes=")));
    let response = next.run(request).await;
    let small_xml = response.headers().get(axum::http::header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().ends_with(b"xml"))
        && axum::body::HttpBody::size_hint(response.body()).upper().is_some_and(|len| len <= 64 * 1024);
    if !is_attributes || !response.status().is_success() || !small_xml {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return axum::response::Response::from_parts(parts, axum::body::Body::empty());
    };
    let text = String::from_utf8_lossy(&bytes);
    let fixed = match (text.find("<ETag>\""), text.find("\"</ETag>")) {
        (Some(start), Some(end)) if start < end => format!("{}<ETag>{}</ETag>{}", &text[..start], &text[start + 7..end], &text[end + 8..]),
        _ => text.into_owned(),
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    axum::response::Response::from_parts(parts, axum::body::Body::from(fixed))
}
