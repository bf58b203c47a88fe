//! `x-amz-checksum-*` verification: the body is hashed as it streams to the store, and the digests are
//! compared with the header values or, for aws-chunked uploads with trailers, the trailing values, before
//! the version is committed.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures::StreamExt;
use s3s::TrailingHeaders;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum, Crc32, Crc32c, Crc64Nvme, Sha1, Sha256};
use stowage_core::model::{Checksums, Content, FileVersion, PartRef};
use stowage_core::service::BodyCheck;
use stowage_core::store::ByteStream;

const ALGORITHMS: [&str; 5] = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

/// Checksum values a request carries as headers (name without the `x-amz-checksum-` prefix → base64).
pub struct Declared(pub Vec<(&'static str, Option<String>)>);

/// Wraps `body` so it is hashed with every algorithm the request declares (as a header value or as an
/// announced trailer); returns the wrapped body and the check to run once it is stored.
pub fn verify(
    body: ByteStream,
    declared: Declared,
    headers: &HeaderMap,
    trailers: Option<TrailingHeaders>,
) -> (ByteStream, Option<BodyCheck>) {
    let announced: Vec<String> = headers
        .get("x-amz-trailer")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').map(|t| t.trim().to_ascii_lowercase()).collect())
        .unwrap_or_default();
    let wanted: Vec<&'static str> = ALGORITHMS
        .into_iter()
        .filter(|alg| {
            declared.0.iter().any(|(a, v)| a == alg && v.is_some()) || announced.iter().any(|t| *t == format!("x-amz-checksum-{alg}"))
        })
        .collect();
    if wanted.is_empty() {
        return (body, None);
    }
    let mut hasher = ChecksumHasher::default();
    for alg in &wanted {
        match *alg {
            "crc32" => hasher.crc32 = Some(Crc32::new()),
            "crc32c" => hasher.crc32c = Some(Crc32c::new()),
            "crc64nvme" => hasher.crc64nvme = Some(Crc64Nvme::new()),
            "sha1" => hasher.sha1 = Some(Sha1::new()),
            _ => hasher.sha256 = Some(Sha256::new()),
        }
    }
    let state = Arc::new(Mutex::new(Some(hasher)));
    let tee = state.clone();
    let body: ByteStream = Box::pin(body.map(move |chunk| {
        if let (Ok(bytes), Ok(mut guard)) = (&chunk, tee.lock())
            && let Some(h) = guard.as_mut()
        {
            h.update(bytes);
        }
        chunk
    }));
    let check: BodyCheck =
        Box::new(move || {
            let computed = state.lock().ok().and_then(|mut g| g.take()).map(ChecksumHasher::finalize).unwrap_or_default();
            let trailing = trailers.and_then(|t| t.take()).unwrap_or_default();
            let mut verified = Checksums::new();
            for alg in wanted {
                let expected =
                    declared.0.iter().find(|(a, _)| *a == alg).and_then(|(_, v)| v.clone()).or_else(|| {
                        trailing.get(format!("x-amz-checksum-{alg}").as_str()).and_then(|v| v.to_str().ok()).map(str::to_string)
                    });
                let actual = match alg {
                    "crc32" => computed.checksum_crc32.clone(),
                    "crc32c" => computed.checksum_crc32c.clone(),
                    "crc64nvme" => computed.checksum_crc64nvme.clone(),
                    "sha1" => computed.checksum_sha1.clone(),
                    _ => computed.checksum_sha256.clone(),
                };
                match expected {
                    Some(expected) if Some(&expected) != actual.as_ref() => {
                        return Err(stowage_core::Error::BadDigest(format!(
                            "The x-amz-checksum-{alg} you specified did not match the calculated checksum"
                        )));
                    }
                    None => return Err(stowage_core::Error::invalid(format!("x-amz-checksum-{alg} was announced but not sent"))),
                    Some(expected) => {
                        verified.insert(alg.to_string(), expected);
                    }
                }
            }
            Ok(verified)
        });
    (body, Some(check))
}

/// The checksums S3 reports for a version, one optional base64 value per algorithm.
#[derive(Default)]
pub struct Reported {
    pub crc32: Option<String>,
    pub crc32c: Option<String>,
    pub crc64nvme: Option<String>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    /// `FULL_OBJECT` for a simple upload, `COMPOSITE` for a multipart one (a checksum of the parts'
    /// checksums, suffixed `-N`, which is what S3 reports for multipart uploads).
    pub kind: Option<&'static str>,
}

/// What a version reports: the checksums verified when it was uploaded, or for a multipart object the
/// composite over its parts when every part was uploaded with that algorithm.
pub fn reported(version: &FileVersion) -> Reported {
    let (values, kind) = match &version.content {
        Content::Parts(parts) => (composite(parts), "COMPOSITE"),
        _ => (version.checksums.clone(), "FULL_OBJECT"),
    };
    Reported { kind: (!values.is_empty()).then_some(kind), ..of_part(&values) }
}

/// Reports a part's verified checksums (ListParts, UploadPart).
pub fn of_part(checksums: &Checksums) -> Reported {
    let get = |alg: &str| checksums.get(alg).cloned();
    Reported {
        crc32: get("crc32"),
        crc32c: get("crc32c"),
        crc64nvme: get("crc64nvme"),
        sha1: get("sha1"),
        sha256: get("sha256"),
        kind: None,
    }
}

fn composite(parts: &[PartRef]) -> Checksums {
    let mut out = Checksums::new();
    if parts.is_empty() {
        return out;
    }
    for alg in ALGORITHMS {
        let raw: Option<Vec<Vec<u8>>> = parts.iter().map(|p| p.checksums.get(alg).and_then(|b| BASE64.decode(b).ok())).collect();
        let Some(raw) = raw else { continue };
        let joined = raw.concat();
        let digest: Vec<u8> = match alg {
            "crc32" => Crc32::checksum(&joined).to_vec(),
            "crc32c" => Crc32c::checksum(&joined).to_vec(),
            "crc64nvme" => Crc64Nvme::checksum(&joined).to_vec(),
            "sha1" => Sha1::checksum(&joined).as_ref().to_vec(),
            _ => Sha256::checksum(&joined).as_ref().to_vec(),
        };
        out.insert(alg.to_string(), format!("{}-{}", BASE64.encode(digest), parts.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(checksums: &[(&str, &str)]) -> PartRef {
        PartRef {
            blob_id: String::new(),
            size: 0,
            md5: String::new(),
            salt: None,
            checksums: checksums.iter().map(|(a, v)| (a.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn composite_is_the_checksum_of_the_part_checksums() {
        let (a, b) = (Crc32::checksum(b"first part"), Crc32::checksum(b"second part"));
        let parts = [part(&[("crc32", &BASE64.encode(a))]), part(&[("crc32", &BASE64.encode(b)), ("sha256", "x")])];
        let got = composite(&parts);
        let expected = format!("{}-2", BASE64.encode(Crc32::checksum(&[a, b].concat())));
        assert_eq!(got.get("crc32"), Some(&expected));
        // Only one part has a SHA-256, so there is no composite for it.
        assert_eq!(got.get("sha256"), None);
    }
}
