//! Browser form uploads (S3 POST Object), handled in front of s3s so the file streams to storage instead
//! of being held in memory: `multer` reads the form, fields first; once the `file` part begins, the policy's
//! signature (SigV4, or SigV2) and every condition are checked, and only then does the file flow into the
//! core, bounded by the policy's `content-length-range` while it streams. `${filename}` in the key stands
//! for the uploaded file's name. Nothing is read past the fields of a form that is refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use s3s::{S3Error, S3ErrorCode, s3_error};
use serde_json::Value;
use stowage_core::Stowage;
use stowage_core::service::{NewFile, Sha1Check};
use subtle::ConstantTimeEq;

use super::context::{RequestParts, resolve};
use super::error::to_s3;
use super::operations::POST_OBJECT;
use super::xml_escape;

/// A form's text fields are small (AWS allows 20 KB of them); more is not a browser form.
const MAX_FIELD_BYTES: usize = 64 << 10;
const MAX_FIELDS: usize = 100;
const PLACEHOLDER: &str = "${filename}";

/// Browser form uploads to the buckets of one server.
pub struct FormUploads {
    pub core: Arc<Stowage>,
    pub options: crate::S3Options,
}

/// One policy condition, field names lower-cased without their `$`.
#[derive(Debug, PartialEq)]
enum Condition {
    Eq(String, String),
    StartsWith(String, String),
    LengthRange(u64, u64),
}

#[derive(Debug)]
struct Policy {
    expiration: time::OffsetDateTime,
    conditions: Vec<Condition>,
}

impl Policy {
    fn parse(base64_text: &str) -> Result<Policy, S3Error> {
        let bad = |why: &str| s3_error!(InvalidPolicyDocument, "Invalid Policy: {why}");
        let json = STANDARD.decode(base64_text.trim()).map_err(|_| bad("the policy is not base64"))?;
        let doc: Value = serde_json::from_slice(&json).map_err(|_| bad("the policy is not JSON"))?;
        let expiration = doc["expiration"].as_str().ok_or_else(|| bad("no expiration"))?;
        // ISO 8601 as AWS takes it: a `T` between date and time (RFC 3339 would also take a space).
        let expiration = time::OffsetDateTime::parse(expiration, &time::format_description::well_known::Rfc3339)
            .ok()
            .filter(|_| expiration.contains('T'))
            .ok_or_else(|| bad("expiration is not an ISO 8601 time"))?;
        let mut conditions = Vec::new();
        for c in doc["conditions"].as_array().ok_or_else(|| bad("no conditions"))? {
            let field = |v: &Value| v.as_str().map(|f| f.trim_start_matches('$').to_ascii_lowercase());
            match c {
                Value::Object(map) if map.len() == 1 => {
                    for (name, value) in map {
                        let value = value.as_str().ok_or_else(|| bad("condition values are strings"))?;
                        conditions.push(Condition::Eq(name.to_ascii_lowercase(), value.to_string()));
                    }
                }
                Value::Array(items) => match items.first().and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
                    Some("eq") | Some("starts-with") if items.len() == 3 => {
                        let (name, value) = (field(&items[1]), items[2].as_str());
                        let (Some(name), Some(value)) = (name, value) else { return Err(bad("malformed condition")) };
                        conditions.push(if items[0].as_str().is_some_and(|o| o.eq_ignore_ascii_case("eq")) {
                            Condition::Eq(name, value.to_string())
                        } else {
                            Condition::StartsWith(name, value.to_string())
                        });
                    }
                    Some("content-length-range") if items.len() == 3 => {
                        let (Some(min), Some(max)) = (items[1].as_u64(), items[2].as_u64()) else {
                            return Err(bad("content-length-range needs two non-negative integers"));
                        };
                        conditions.push(Condition::LengthRange(min, max));
                    }
                    _ => return Err(bad("unknown condition")),
                },
                _ => return Err(bad("malformed condition")),
            }
        }
        Ok(Policy { expiration, conditions })
    }

    /// Checks every condition against the form (the bucket is the one addressed) and that every field
    /// the form sends is named by a condition, as S3 requires.
    fn check(&self, fields: &Fields, bucket: &str) -> Result<(), S3Error> {
        let failed = |what: String| s3_error!(AccessDenied, "Invalid according to Policy: Policy Condition failed: {what}");
        let value = |name: &str| if name == "bucket" { Some(bucket) } else { fields.get(name) };
        for condition in &self.conditions {
            match condition {
                Condition::Eq(name, wanted) if value(name) != Some(wanted.as_str()) => {
                    return Err(failed(format!("[\"eq\", \"${name}\", \"{wanted}\"]")));
                }
                Condition::StartsWith(name, prefix) if !value(name).unwrap_or("").starts_with(prefix.as_str()) => {
                    return Err(failed(format!("[\"starts-with\", \"${name}\", \"{prefix}\"]")));
                }
                _ => {}
            }
        }
        for (name, _) in &fields.0 {
            let exempt = matches!(name.as_str(), "policy" | "x-amz-signature" | "signature" | "awsaccesskeyid" | "file")
                || name.starts_with("x-ignore-");
            let named = self.conditions.iter().any(|c| match c {
                Condition::Eq(n, _) | Condition::StartsWith(n, _) => n == name,
                Condition::LengthRange(..) => false,
            });
            if !exempt && !named {
                return Err(s3_error!(AccessDenied, "Invalid according to Policy: Extra input fields: {name}"));
            }
        }
        Ok(())
    }

    fn length_range(&self) -> (u64, u64) {
        self.conditions
            .iter()
            .find_map(|c| match c {
                Condition::LengthRange(min, max) => Some((*min, *max)),
                _ => None,
            })
            .unwrap_or((0, u64::MAX))
    }
}

/// The form's text fields, names lower-cased (S3 field names are case-insensitive).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

type HmacSha256 = Hmac<sha2::Sha256>;
/// Computes a form's signature from the signing key's secret.
type SignWith = Box<dyn FnOnce(&str) -> String + Send>;

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; an empty result could only fail the signature comparison.
    let Ok(mut mac) = <HmacSha256 as Mac>::new_from_slice(key) else { return Vec::new() };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

impl FormUploads {
    /// The bucket a request uploads a form to, if it is a browser form upload (a multipart POST to a
    /// bucket's URL, path style or virtual-hosted).
    pub fn target(&self, request: &Request) -> Option<String> {
        if request.method() != Method::POST || request.uri().query().is_some_and(|q| !q.is_empty()) {
            return None;
        }
        let content_type = request.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
        if !content_type.trim_start().to_ascii_lowercase().starts_with("multipart/form-data") {
            return None;
        }
        let path = request.uri().path();
        let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok());
        if let Some(bucket) = host.and_then(|h| self.options.bucket_from_host(h)) {
            return (path == "/").then(|| bucket.to_string());
        }
        let bucket = path.strip_prefix('/')?.trim_end_matches('/');
        let bucket = percent_encoding::percent_decode_str(bucket).decode_utf8().ok()?;
        (!bucket.is_empty() && !bucket.contains('/') && !bucket.starts_with('_')).then(|| bucket.into_owned())
    }

    pub async fn handle(&self, bucket: String, request: Request) -> Response {
        match self.upload(&bucket, request).await {
            Ok(response) => response,
            Err(err) => error_response(&err),
        }
    }

    async fn upload(&self, bucket_name: &str, request: Request) -> Result<Response, S3Error> {
        let malformed =
            |why: String| s3_error!(MalformedPOSTRequest, "The body of your POST request is not well-formed multipart/form-data: {why}");
        let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let boundary = multer::parse_boundary(content_type).map_err(|e| malformed(e.to_string()))?;
        let (head, body) = request.into_parts();
        let mut form = multer::Multipart::new(body.into_data_stream(), boundary);
        let mut fields = Fields(Vec::new());
        let file = loop {
            let Some(mut field) = form.next_field().await.map_err(|e| malformed(e.to_string()))? else {
                return Err(s3_error!(MalformedPOSTRequest, "POST requires exactly one file upload per request"));
            };
            let name = field.name().unwrap_or("").to_ascii_lowercase();
            if name == "file" {
                break field;
            }
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| malformed(e.to_string()))? {
                value.extend_from_slice(&chunk);
                if value.len() > MAX_FIELD_BYTES {
                    return Err(s3_error!(MaxPostPreDataLengthExceededError, "the form field {name} is too large"));
                }
            }
            fields.0.push((name, String::from_utf8_lossy(&value).into_owned()));
            if fields.0.len() > MAX_FIELDS {
                return Err(s3_error!(MaxPostPreDataLengthExceededError, "the form has too many fields"));
            }
        };

        // `${filename}` stands for the uploaded file's name, and the policy judges the key it makes.
        let file_name = file.file_name().map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_string()).unwrap_or_default();
        let key_field = fields.0.iter_mut().find(|(n, _)| n == "key");
        let Some((_, key_value)) = key_field else {
            return Err(s3_error!(InvalidArgument, "Bucket POST must contain a field named 'key'"));
        };
        *key_value = key_value.replace(PLACEHOLDER, &file_name);
        let key = key_value.clone();
        // A form with no policy and no signature is anonymous: the bucket's ACL or policy must let anyone write.
        let signed =
            ["policy", "signature", "x-amz-signature", "awsaccesskeyid", "x-amz-credential"].iter().any(|f| fields.get(f).is_some());
        let access_key = if signed {
            let access_key = self.verify_signature(&fields).await?;
            let policy = Policy::parse(fields.get("policy").unwrap_or(""))?;
            if time::OffsetDateTime::now_utc() >= policy.expiration {
                return Err(s3_error!(AccessDenied, "Invalid according to Policy: Policy expired."));
            }
            // The policy judges the fields as sent, the key with `${filename}` filled in.
            policy.check(&fields, bucket_name)?;
            Some((access_key, policy.length_range()))
        } else {
            None
        };
        // Resolved as every S3 request is: caller, bucket, the bucket's policy and ACL (an unsigned form
        // needs one that lets anyone write), then the key's capabilities for PostObject.
        let parts = RequestParts { headers: &head.headers, uri: &head.uri, peer: head.extensions.get::<crate::PeerAddr>().copied() };
        let key_id = access_key.as_ref().map(|(id, _)| id.as_str());
        let resolved = resolve(&self.core, &POST_OBJECT, &parts, key_id, Some(bucket_name), Some(&key)).await?;
        let (Some(principal), Some(bucket)) = (resolved.principal, resolved.bucket) else {
            return Err(s3_error!(AccessDenied, "Anonymous uploads need a bucket that lets anyone write; sign the form"));
        };
        let (min, max) = access_key.map_or((0, u64::MAX), |(_, range)| range);
        let grants = match fields.get("acl") {
            Some(name) => super::acl::canned(name)?,
            None => Vec::new(),
        };

        let mut info = BTreeMap::new();
        for (name, value) in &fields.0 {
            if let Some(meta) = name.strip_prefix("x-amz-meta-") {
                info.insert(meta.to_string(), value.clone());
            }
        }
        for (field, info_key) in [
            ("cache-control", "b2-cache-control"),
            ("content-disposition", "b2-content-disposition"),
            ("content-encoding", "b2-content-encoding"),
            ("content-language", "b2-content-language"),
            ("expires", "b2-expires"),
        ] {
            if let Some(value) = fields.get(field) {
                info.insert(info_key.to_string(), value.to_string());
            }
        }
        // The same encryption fields as a PutObject's headers: SSE-S3, SSE-KMS or SSE-C.
        let sse = fields.get("x-amz-server-side-encryption").map(|v| s3s::dto::ServerSideEncryption::from(v.to_string()));
        let encryption = super::values::encryption_request(
            sse.as_ref(),
            fields.get("x-amz-server-side-encryption-aws-kms-key-id"),
            fields.get("x-amz-server-side-encryption-customer-algorithm"),
            fields.get("x-amz-server-side-encryption-customer-key"),
            fields.get("x-amz-server-side-encryption-customer-key-md5"),
        )?;
        // `tagging` holds a Tagging document, as PutObjectTagging's body.
        let tags = match fields.get("tagging") {
            Some(xml) => {
                let mut de = s3s::xml::Deserializer::new(xml.as_bytes());
                let tagging = <s3s::dto::Tagging as s3s::xml::Deserialize>::deserialize(&mut de)
                    .map_err(|_| s3_error!(MalformedXML, "the tagging field is not a Tagging document"))?;
                super::values::tag_map(tagging.tag_set)?
            }
            None => BTreeMap::new(),
        };
        let new_file = NewFile {
            bucket_id: bucket.id.clone(),
            name: key,
            tags,
            content_type: fields.get("content-type").unwrap_or("b2/x-auto").to_string(),
            info,
            encryption,
            null_version: bucket.versioning.writes_null_versions(),
            grants,
            ..NewFile::default()
        };

        // The file streams straight into storage, cut off past the policy's maximum.
        let (seen, too_large) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (counter, flag) = (seen.clone(), too_large.clone());
        let body = file.map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            if counter.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64 > max {
                flag.store(true, Ordering::Relaxed);
                return Err(std::io::Error::other("the file is larger than the policy allows"));
            }
            Ok(chunk)
        });
        let length_check: stowage_core::service::BodyCheck = Box::new(move || {
            let size = seen.load(Ordering::Relaxed);
            if size < min {
                return Err(stowage_core::Error::EntityTooSmall(format!(
                    "Your proposed upload ({size} bytes) is smaller than the policy's minimum of {min}"
                )));
            }
            Ok(stowage_core::model::Checksums::new())
        });
        let uploaded = self.core.upload_file(&principal, new_file, Sha1Check::Compute, None, Box::pin(body), Some(length_check)).await;
        let version = match uploaded {
            Ok(v) => v,
            Err(_) if too_large.load(Ordering::Relaxed) => {
                return Err(s3_error!(EntityTooLarge, "Your proposed upload exceeds the maximum allowed size"));
            }
            Err(err) => return Err(to_s3(err)),
        };
        Ok(self.answer(&fields, &bucket.name, &version))
    }

    /// Checks the form's signature over its policy; returns the access key that signed it.
    async fn verify_signature(&self, fields: &Fields) -> Result<String, S3Error> {
        let policy =
            fields.get("policy").ok_or_else(|| s3_error!(AccessDenied, "a form upload needs a policy signed with an application key"))?;
        let (access_key, expected, compute): (String, &str, SignWith) = if let Some(signature) = fields.get("x-amz-signature") {
            if fields.get("x-amz-algorithm") != Some("AWS4-HMAC-SHA256") {
                return Err(s3_error!(InvalidArgument, "x-amz-algorithm must be AWS4-HMAC-SHA256"));
            }
            let credential = fields.get("x-amz-credential").ok_or_else(|| s3_error!(InvalidArgument, "x-amz-credential is missing"))?;
            let parts: Vec<&str> = credential.split('/').collect();
            let [key_id, date, region, service, "aws4_request"] = parts.as_slice() else {
                return Err(s3_error!(InvalidArgument, "x-amz-credential is malformed"));
            };
            if let Some(expected_region) = &self.options.region
                && region != expected_region
            {
                return Err(s3_error!(AuthorizationQueryParametersError, "{}", super::wrong_region(region, expected_region)));
            }
            let (date, region, service, policy) = (date.to_string(), region.to_string(), service.to_string(), policy.to_string());
            let compute = Box::new(move |secret: &str| {
                let mut key = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
                for part in [region.as_str(), service.as_str(), "aws4_request"] {
                    key = hmac_sha256(&key, part.as_bytes());
                }
                hex::encode(hmac_sha256(&key, policy.as_bytes()))
            });
            (key_id.to_string(), signature, compute)
        } else if let Some(signature) = fields.get("signature") {
            let key_id = fields.get("awsaccesskeyid").ok_or_else(|| s3_error!(InvalidArgument, "AWSAccessKeyId is missing"))?;
            let policy = policy.to_string();
            let compute = Box::new(move |secret: &str| {
                let Ok(mut mac) = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()) else { return String::new() };
                mac.update(policy.as_bytes());
                STANDARD.encode(mac.finalize().into_bytes())
            });
            (key_id.to_string(), signature, compute)
        } else {
            // A policy with no signature is a malformed form (S3 answers 400), not an anonymous one.
            return Err(s3_error!(InvalidArgument, "Bucket POST must contain a field named 'Signature' (or 'x-amz-signature')"));
        };
        let secret = self
            .core
            .secret_for_key(&access_key)
            .await
            .map_err(to_s3)?
            .ok_or_else(|| s3_error!(InvalidAccessKeyId, "The access key ID you provided does not exist"))?;
        let computed = compute(&secret);
        if !bool::from(computed.as_bytes().ct_eq(expected.trim().as_bytes())) {
            return Err(s3_error!(SignatureDoesNotMatch, "The request signature we calculated does not match the signature you provided"));
        }
        Ok(access_key)
    }

    /// S3's answer to a stored form: a redirect when asked, else 200, 201 (with the XML) or 204.
    fn answer(&self, fields: &Fields, bucket: &str, version: &stowage_core::model::FileVersion) -> Response {
        let etag = format!("\"{}\"", version.etag());
        let location = format!("{}/{}/{}", self.core.config().public_url, bucket, super::values::url_encode_key(&version.name));
        let redirect = fields.get("success_action_redirect").or_else(|| fields.get("redirect")).filter(|r| !r.is_empty());
        let mut response = if let Some(target) = redirect {
            let enc = |s: &str| super::values::url_encode_key(s).replace('/', "%2F");
            let sep = if target.contains('?') { '&' } else { '?' };
            let url = format!("{target}{sep}bucket={}&key={}&etag={}", enc(bucket), enc(&version.name), enc(&etag));
            let mut r = StatusCode::SEE_OTHER.into_response();
            if let Ok(v) = HeaderValue::from_str(&url) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        } else {
            match fields.get("success_action_status") {
                Some("200") => StatusCode::OK.into_response(),
                Some("201") => {
                    let xml = format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>{}</Location><Bucket>{}</Bucket><Key>{}</Key><ETag>{}</ETag></PostResponse>",
                        xml_escape(&location),
                        xml_escape(bucket),
                        xml_escape(&version.name),
                        xml_escape(&etag)
                    );
                    (StatusCode::CREATED, [(header::CONTENT_TYPE, "application/xml")], xml).into_response()
                }
                _ => StatusCode::NO_CONTENT.into_response(),
            }
        };
        let headers = response.headers_mut();
        for (name, value) in [("etag", etag.as_str()), ("x-amz-version-id", version.file_id.as_str())] {
            if let Ok(v) = HeaderValue::from_str(value) {
                headers.insert(name, v);
            }
        }
        if redirect.is_none()
            && let Ok(v) = HeaderValue::from_str(&location)
        {
            headers.insert(header::LOCATION, v);
        }
        response
    }
}

/// Fuzz entry: a policy (raw, base64-encoded here), a NUL, then `name=value` lines of form fields.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_form_policy(data: &[u8]) {
    let (policy, rest) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let fields = Fields(
        String::from_utf8_lossy(rest)
            .lines()
            .filter_map(|l| l.split_once('=').map(|(n, v)| (n.to_ascii_lowercase(), v.to_string())))
            .collect(),
    );
    if let Ok(policy) = Policy::parse(&STANDARD.encode(policy)) {
        let _ = policy.check(&fields, "fuzz-bucket");
        let _ = policy.length_range();
    }
}

fn error_response(err: &S3Error) -> Response {
    let status = err.status_code().unwrap_or(StatusCode::BAD_REQUEST);
    let code = match err.code() {
        S3ErrorCode::Custom(c) => c.to_string(),
        other => other.as_str().to_string(),
    };
    super::xml_error(status, &code, err.message().unwrap_or("")).map(Body::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(json: &str) -> String {
        STANDARD.encode(json)
    }

    #[test]
    fn policies_parse_both_condition_forms() {
        let policy = Policy::parse(&encoded(
            r#"{"expiration":"2030-01-01T00:00:00.000Z","conditions":[{"bucket":"b"},["starts-with","$key","up/"],["content-length-range",1,10],["eq","$Content-Type","text/plain"]]}"#,
        ))
        .expect("policy");
        assert_eq!(policy.conditions.len(), 4);
        assert_eq!(policy.conditions[1], Condition::StartsWith("key".into(), "up/".into()));
        assert_eq!(policy.conditions[3], Condition::Eq("content-type".into(), "text/plain".into()));
        assert_eq!(policy.length_range(), (1, 10));
        for bad in [
            "not base64!",
            &encoded("[]"),
            &encoded(r#"{"expiration":"soon","conditions":[]}"#),
            &encoded(r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["gt","$a",1]]}"#),
        ] {
            assert!(Policy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_field_must_be_named_and_satisfy_its_condition() {
        let policy = Policy::parse(&encoded(
            r#"{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"b"},["starts-with","$key","up/"],{"x-amz-date":"d"}]}"#,
        ))
        .expect("policy");
        let form = |pairs: &[(&str, &str)]| Fields(pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect());
        assert!(policy.check(&form(&[("key", "up/a"), ("x-amz-date", "d"), ("policy", "p"), ("x-ignore-me", "1")]), "b").is_ok());
        assert!(policy.check(&form(&[("key", "elsewhere/a"), ("x-amz-date", "d")]), "b").is_err());
        assert!(policy.check(&form(&[("key", "up/a"), ("x-amz-date", "d")]), "other-bucket").is_err());
        assert!(policy.check(&form(&[("key", "up/a"), ("x-amz-date", "d"), ("acl", "public-read")]), "b").is_err());
    }
}
