//! `x-amz-checksum-*` verification: the body is hashed as it streams to the store, and the digests are
//! compared with the header values or, for aws-chunked uploads with trailers, the trailing values, before
//! the version is committed.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use futures::StreamExt;
use s3s::TrailingHeaders;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::{Checksum, Crc32, Crc32c, Crc64Nvme, Sha1, Sha256};
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
                    Some(_) => {}
                }
            }
            Ok(())
        });
    (body, Some(check))
}
