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

pub use stowage_core::model::ChecksumAlgorithm as Algorithm;

/// What the S3 front-end does with an algorithm: its header, its hasher, its digest.
pub(super) trait Hashing: Copy {
    fn header(self) -> String;
    fn start(self, hasher: &mut ChecksumHasher);
    fn computed(self, c: &s3s::dto::Checksum) -> Option<String>;
    fn digest(self, data: &[u8]) -> Vec<u8>;
    /// Whether parts' checksums of this algorithm combine into the whole object's (the CRCs).
    fn combines(self) -> bool;
}

impl Hashing for Algorithm {
    fn header(self) -> String {
        format!("x-amz-checksum-{}", self.name())
    }

    fn start(self, hasher: &mut ChecksumHasher) {
        match self {
            Algorithm::Crc32 => hasher.crc32 = Some(Crc32::new()),
            Algorithm::Crc32c => hasher.crc32c = Some(Crc32c::new()),
            Algorithm::Crc64Nvme => hasher.crc64nvme = Some(Crc64Nvme::new()),
            Algorithm::Sha1 => hasher.sha1 = Some(Sha1::new()),
            Algorithm::Sha256 => hasher.sha256 = Some(Sha256::new()),
        }
    }

    fn computed(self, c: &s3s::dto::Checksum) -> Option<String> {
        match self {
            Algorithm::Crc32 => c.checksum_crc32.clone(),
            Algorithm::Crc32c => c.checksum_crc32c.clone(),
            Algorithm::Crc64Nvme => c.checksum_crc64nvme.clone(),
            Algorithm::Sha1 => c.checksum_sha1.clone(),
            Algorithm::Sha256 => c.checksum_sha256.clone(),
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Algorithm::Crc32 => Crc32::checksum(data).to_vec(),
            Algorithm::Crc32c => Crc32c::checksum(data).to_vec(),
            Algorithm::Crc64Nvme => Crc64Nvme::checksum(data).to_vec(),
            Algorithm::Sha1 => Sha1::checksum(data).as_ref().to_vec(),
            Algorithm::Sha256 => Sha256::checksum(data).as_ref().to_vec(),
        }
    }

    fn combines(self) -> bool {
        crc_params(self).is_some()
    }
}

/// Checksum values a request carries (as headers, or per part in a CompleteMultipartUpload), by algorithm.
#[derive(Debug, Default)]
pub struct Declared(pub Vec<(Algorithm, String)>);

impl Declared {
    fn get(&self, alg: Algorithm) -> Option<&String> {
        self.0.iter().find(|(a, _)| *a == alg).map(|(_, v)| v)
    }

    /// As stored checksums (algorithm → base64).
    pub fn into_checksums(self) -> Checksums {
        self.0.into_iter().collect()
    }
}

/// The five `checksum_*` fields every s3s input spells the same way, as `Declared`.
macro_rules! declared_checksums {
    ($input:expr) => {{
        use $crate::s3::checksum::Algorithm as A;
        $crate::s3::checksum::Declared(
            [
                (A::Crc32, $input.checksum_crc32.clone()),
                (A::Crc32c, $input.checksum_crc32c.clone()),
                (A::Crc64Nvme, $input.checksum_crc64nvme.clone()),
                (A::Sha1, $input.checksum_sha1.clone()),
                (A::Sha256, $input.checksum_sha256.clone()),
            ]
            .into_iter()
            .filter_map(|(alg, value)| value.map(|v| (alg, v)))
            .collect(),
        )
    }};
}
pub(super) use declared_checksums;

/// Copies reported checksums into the five `checksum_*` fields every s3s output spells the same way;
/// evaluates to the checksum type to report.
macro_rules! set_checksums {
    ($out:expr, $reported:expr) => {{
        let r: $crate::s3::checksum::Reported = $reported;
        $out.checksum_crc32 = r.crc32;
        $out.checksum_crc32c = r.crc32c;
        $out.checksum_crc64nvme = r.crc64nvme;
        $out.checksum_sha1 = r.sha1;
        $out.checksum_sha256 = r.sha256;
        r.kind.map(s3s::dto::ChecksumType::from_static)
    }};
}
pub(super) use set_checksums;

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
    let wanted: Vec<Algorithm> =
        Algorithm::ALL.into_iter().filter(|alg| declared.get(*alg).is_some() || announced.contains(&alg.header())).collect();
    if wanted.is_empty() {
        return (body, None);
    }
    let mut hasher = ChecksumHasher::default();
    for alg in &wanted {
        alg.start(&mut hasher);
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
    let check: BodyCheck = Box::new(move || {
        let computed = state.lock().ok().and_then(|mut g| g.take()).map(ChecksumHasher::finalize).unwrap_or_default();
        let trailing = trailers.and_then(|t| t.take()).unwrap_or_default();
        let mut verified = Checksums::new();
        for alg in wanted {
            let expected = declared
                .get(alg)
                .cloned()
                .or_else(|| trailing.get(alg.header().as_str()).and_then(|v| v.to_str().ok()).map(str::to_string));
            let actual = alg.computed(&computed);
            match expected {
                Some(expected) if Some(&expected) != actual.as_ref() => {
                    return Err(stowage_core::Error::BadDigest(format!(
                        "The {} you specified did not match the calculated checksum",
                        alg.header()
                    )));
                }
                None => return Err(stowage_core::Error::invalid(format!("{} was announced but not sent", alg.header()))),
                Some(expected) => {
                    verified.insert(alg, expected);
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
        Content::Parts(parts) if version.checksum_full_object => (full_object(parts), "FULL_OBJECT"),
        Content::Parts(parts) => (composite(parts), "COMPOSITE"),
        _ => (version.checksums.clone(), "FULL_OBJECT"),
    };
    Reported { kind: (!values.is_empty()).then_some(kind), ..of_part(&values) }
}

/// Reports a part's verified checksums (ListParts, UploadPart).
pub fn of_part(checksums: &Checksums) -> Reported {
    let get = |alg: Algorithm| checksums.get(&alg).cloned();
    Reported {
        crc32: get(Algorithm::Crc32),
        crc32c: get(Algorithm::Crc32c),
        crc64nvme: get(Algorithm::Crc64Nvme),
        sha1: get(Algorithm::Sha1),
        sha256: get(Algorithm::Sha256),
        kind: None,
    }
}

/// For the CRC algorithms, (width in bits, reflected polynomial): their checksums of concatenated data can
/// be combined from the parts' checksums and lengths (S3's FULL_OBJECT checksum type for multipart).
fn crc_params(alg: Algorithm) -> Option<(u32, u64)> {
    match alg {
        Algorithm::Crc32 => Some((32, 0xEDB8_8320)),
        Algorithm::Crc32c => Some((32, 0x82F6_3B78)),
        Algorithm::Crc64Nvme => Some((64, 0x9A6C_9329_AC4B_C9B5)),
        Algorithm::Sha1 | Algorithm::Sha256 => None,
    }
}

/// a·b modulo the CRC polynomial, both in the reflected representation (zlib's `multmodp`).
fn multmodp(a: u64, mut b: u64, width: u32, poly: u64) -> u64 {
    let mut m = 1u64 << (width - 1);
    let mut p = 0u64;
    loop {
        if a & m != 0 {
            p ^= b;
            if a & (m - 1) == 0 {
                break;
            }
        }
        m >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ poly } else { b >> 1 };
    }
    p
}

/// x^(8·len) modulo the polynomial: what a CRC is multiplied by to move it past `len` bytes.
fn shift_for(len: u64, width: u32, poly: u64) -> u64 {
    let mut result = 1u64 << (width - 1); // x^0
    let mut square = 1u64 << (width - 2); // x^1, squared as bits of 8·len are consumed
    let mut n = len.saturating_mul(8);
    while n != 0 {
        if n & 1 != 0 {
            result = multmodp(square, result, width, poly);
        }
        square = multmodp(square, square, width, poly);
        n >>= 1;
    }
    result
}

/// The CRC of A‖B from CRC(A), CRC(B) and B's length, for CRCs with all-ones initial and final XOR values.
fn crc_combine(crc_a: u64, crc_b: u64, len_b: u64, width: u32, poly: u64) -> u64 {
    multmodp(shift_for(len_b, width, poly), crc_a, width, poly) ^ crc_b
}

/// The FULL_OBJECT checksum of parts given as (base64 checksum, size), in order: their CRCs combined.
pub fn full_object_of(alg: Algorithm, parts: &[(&str, u64)]) -> Option<String> {
    let (width, poly) = crc_params(alg)?;
    let bytes = (width / 8) as usize;
    let mut combined: Option<u64> = None;
    for (value, size) in parts {
        let raw = BASE64.decode(value).ok().filter(|r| r.len() == bytes)?;
        let crc = raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        combined = Some(match combined {
            None => crc,
            Some(a) => crc_combine(a, crc, *size, width, poly),
        });
    }
    let value = combined?;
    Some(BASE64.encode(&value.to_be_bytes()[8 - bytes..]))
}

/// The composite checksum (`base64-N`) of parts' checksums of one algorithm, given in order.
pub fn composite_of(alg: Algorithm, part_checksums: &[&str]) -> Option<String> {
    let raw: Option<Vec<Vec<u8>>> = part_checksums.iter().map(|b| BASE64.decode(b).ok()).collect();
    Some(format!("{}-{}", BASE64.encode(alg.digest(&raw?.concat())), part_checksums.len()))
}

/// The FULL_OBJECT checksums of a multipart object: each CRC every part has, combined over the parts.
fn full_object(parts: &[PartRef]) -> Checksums {
    Algorithm::ALL
        .into_iter()
        .filter_map(|alg| {
            let listed: Option<Vec<(&str, u64)>> = parts.iter().map(|p| p.checksums.get(&alg).map(|v| (v.as_str(), p.size))).collect();
            Some((alg, full_object_of(alg, &listed?)?))
        })
        .collect()
}

fn composite(parts: &[PartRef]) -> Checksums {
    let mut out = Checksums::new();
    if parts.is_empty() {
        return out;
    }
    for alg in Algorithm::ALL {
        let raw: Option<Vec<Vec<u8>>> = parts.iter().map(|p| p.checksums.get(&alg).and_then(|b| BASE64.decode(b).ok())).collect();
        let Some(raw) = raw else { continue };
        let digest = alg.digest(&raw.concat());
        out.insert(alg, format!("{}-{}", BASE64.encode(digest), parts.len()));
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
            checksums: checksums.iter().map(|(a, v)| (Algorithm::parse(a).expect("algorithm"), v.to_string())).collect(),
        }
    }

    #[test]
    fn full_object_crcs_combine_the_parts() {
        let (a, b, c) = (b"first part of the object".as_slice(), b"second".as_slice(), vec![7u8; 70_000]);
        let whole = [a, b, &c].concat();
        for alg in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme] {
            let of = |data: &[u8]| BASE64.encode(alg.digest(data));
            let parts = [(of(a), a.len() as u64), (of(b), b.len() as u64), (of(&c), c.len() as u64)];
            let listed: Vec<(&str, u64)> = parts.iter().map(|(v, n)| (v.as_str(), *n)).collect();
            assert_eq!(full_object_of(alg, &listed), Some(of(&whole)), "{alg:?}");
        }
        assert_eq!(full_object_of(Algorithm::Sha256, &[("x", 1)]), None);
    }

    #[test]
    fn composite_is_the_checksum_of_the_part_checksums() {
        let (a, b) = (Crc32::checksum(b"first part"), Crc32::checksum(b"second part"));
        let parts = [part(&[("crc32", &BASE64.encode(a))]), part(&[("crc32", &BASE64.encode(b)), ("sha256", "x")])];
        let got = composite(&parts);
        let expected = format!("{}-2", BASE64.encode(Crc32::checksum(&[a, b].concat())));
        assert_eq!(got.get(&Algorithm::Crc32), Some(&expected));
        // Only one part has a SHA-256, so there is no composite for it.
        assert_eq!(got.get(&Algorithm::Sha256), None);
    }
}
