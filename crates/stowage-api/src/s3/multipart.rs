//! Multipart uploads: create, upload part, complete, abort, list parts, list uploads.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, HeaderValue};
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use stowage_core::service::{EncryptionRequest, ListedPart, PartUpload, Sha1Check};

use super::acl::owner;
use super::checksum::{self, Algorithm, Hashing, declared_checksums, set_checksums};
use super::context::{OrS3, StowageS3};
use super::objects::new_file_from;
use super::values::*;

pub async fn create(s3: &StowageS3, mut req: S3Request<CreateMultipartUploadInput>) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let cx = s3.acting(&mut req)?;
    let input = req.input;
    let mut file = new_file_from!(&cx.bucket, s3.core.account_id(), input.key.clone(), input);
    let algorithm = match input.checksum_algorithm.as_ref() {
        Some(name) => Some(
            Algorithm::parse(name.as_str()).ok_or_else(|| s3_error!(InvalidArgument, "unknown checksum algorithm {}", name.as_str()))?,
        ),
        None => None,
    };
    file.checksum_algorithm = algorithm;
    // FULL_OBJECT: the object's checksum is the parts' CRCs combined, which only CRCs allow.
    file.checksum_full_object = match input.checksum_type.as_ref().map(ChecksumType::as_str) {
        Some(ChecksumType::FULL_OBJECT) if algorithm.is_some_and(Algorithm::combines) => true,
        Some(ChecksumType::FULL_OBJECT) => {
            return Err(s3_error!(InvalidRequest, "The FULL_OBJECT checksum type needs a CRC checksum algorithm"));
        }
        Some(ChecksumType::COMPOSITE) | None => false,
        Some(other) => return Err(s3_error!(InvalidRequest, "Unknown checksum type {other}")),
    };
    let started = s3.core.start_large_file(&cx.principal, file).await.s3()?;
    let mut out = CreateMultipartUploadOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(started.file_id.clone()),
        checksum_algorithm: algorithm.map(|a| ChecksumAlgorithm::from(a.s3_name().to_string())),
        checksum_type: checksum_type_out(&started),
        ..CreateMultipartUploadOutput::default()
    };
    set_sse!(out, &started.encryption);
    Ok(S3Response::new(out))
}

pub async fn upload_part(s3: &StowageS3, mut req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
    let cx = s3.acting(&mut req)?;
    let (headers, trailers) = (req.headers, req.trailing_headers);
    let input = req.input;
    let declared = declared_checksums!(input);
    let upload = PartUpload {
        file_id: input.upload_id,
        part_number: part_number(input.part_number)?,
        sha1: Sha1Check::Compute,
        content_length: input.content_length.and_then(|n| u64::try_from(n).ok()),
        sse: sse_c!(input)?,
        expected_md5: content_md5_hex(input.content_md5.as_ref())?,
        key: Some(input.key),
    };
    let (body, check) = checksum::verify(body_stream(input.body), declared, &headers, trailers);
    let stored = s3.core.upload_part(&cx.principal, upload, body, check).await.s3()?;
    let mut out = UploadPartOutput { e_tag: Some(ETag::Strong(stored.part.md5)), ..UploadPartOutput::default() };
    // The part is sealed as its upload is: that encryption is named (an SSE-C key by its MD5).
    set_sse!(out, &stored.encryption);
    set_checksums!(out, checksum::of_part(&stored.part.checksums));
    Ok(S3Response::new(out))
}

pub async fn complete(
    s3: &StowageS3,
    mut req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let cx = s3.acting(&mut req)?;
    let (input, headers) = (req.input, req.headers);
    let parts = input.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
    // Whole-object checksums a completion states are checked against the checksums listed per part (which
    // the core checks against the parts in the completing transaction).
    let stated = declared_checksums!(input);
    let mut listed = Vec::with_capacity(parts.len());
    for p in parts {
        let number =
            p.part_number.and_then(|n| u32::try_from(n).ok()).ok_or_else(|| s3_error!(InvalidPart, "each part needs a PartNumber"))?;
        let checksums = declared_checksums!(p).into_checksums();
        let etag = p.e_tag.map(ETag::into_value).ok_or_else(|| s3_error!(InvalidPart, "each part needs an ETag"))?;
        listed.push(ListedPart { number, etag, checksums });
    }
    // A FULL_OBJECT upload's checksum combines the parts' CRCs over their sizes.
    let upload = s3.core.unfinished_upload(&cx.principal, &input.upload_id).await.ok();
    let sizes = match &upload {
        Some(u) if u.checksum_full_object && !stated.0.is_empty() => part_sizes(s3, &cx.principal, &input.upload_id).await?,
        _ => BTreeMap::new(),
    };
    // (A retried completion, its upload already finished, is answered by the core with the object it made.)
    for (alg, value) in stated.0.iter().filter(|_| upload.is_some()) {
        // A whole-object checksum is made of the parts' ones: each part must list its own.
        let per_part: Option<Vec<&str>> = listed.iter().map(|p| p.checksums.get(alg).map(String::as_str)).collect();
        let expected = match (&upload, per_part) {
            (Some(u), Some(values)) if u.checksum_full_object => {
                let with_sizes: Option<Vec<(&str, u64)>> =
                    listed.iter().zip(values).map(|(p, v)| sizes.get(&p.number).map(|size| (v, *size))).collect();
                with_sizes.and_then(|parts| checksum::full_object_of(*alg, &parts))
            }
            (_, Some(values)) => checksum::composite_of(*alg, &values),
            (_, None) => None,
        };
        if expected.as_deref() != Some(value.as_str()) {
            return Err(s3_error!(BadDigest, "The x-amz-checksum-{} you specified did not match the calculated checksum", alg.name()));
        }
    }
    if let Some(upload) = &upload {
        if upload.name != input.key {
            return Err(s3_error!(NoSuchUpload, "The specified upload does not exist for this key"));
        }
        // An upload sealed with a customer key is completed with that key, as its parts were uploaded.
        s3.core.check_sse_c(upload, sse_c_headers(&headers)?.as_ref()).s3()?;
    }
    let condition = write_condition(input.if_none_match.as_ref(), input.if_match.as_ref());
    let version = s3.core.complete_multipart(&cx.principal, &input.upload_id, &listed, condition).await.s3()?;
    let mut out = CompleteMultipartUploadOutput {
        bucket: Some(input.bucket.clone()),
        key: Some(input.key.clone()),
        e_tag: Some(etag(&version)),
        location: Some(format!("{}/{}/{}", s3.core.config().public_url, input.bucket, url_encode_key(&input.key))),
        version_id: version_id_out(&version),
        ..CompleteMultipartUploadOutput::default()
    };
    out.checksum_type = set_checksums!(out, checksum::reported(&version));
    let sse = sse_out(&version.encryption);
    (out.server_side_encryption, out.ssekms_key_id) = (sse.server_side_encryption, sse.kms_key_id);
    // s3s's completion output has no SSE-C fields: the key that sealed the parts is named in headers.
    let mut response = S3Response::new(out);
    for (name, value) in [
        ("x-amz-server-side-encryption-customer-algorithm", sse.customer_algorithm),
        ("x-amz-server-side-encryption-customer-key-md5", sse.customer_key_md5),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.headers.insert(name, value);
        }
    }
    Ok(response)
}

pub async fn abort(s3: &StowageS3, mut req: S3Request<AbortMultipartUploadInput>) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    let cx = s3.acting(&mut req)?;
    s3.core.upload_of_key(&cx.principal, &req.input.upload_id, &req.input.key).await.s3()?;
    s3.core.cancel_large_file(&cx.principal, &req.input.upload_id).await.s3()?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}

pub async fn list_parts(s3: &StowageS3, mut req: S3Request<ListPartsInput>) -> S3Result<S3Response<ListPartsOutput>> {
    let cx = s3.acting(&mut req)?;
    let input = req.input;
    let max = match input.max_parts {
        Some(n) if n < 0 => return Err(s3_error!(InvalidArgument, "max-parts must not be negative")),
        Some(n) => i64::from(n.clamp(1, 1000)),
        None => 1000,
    };
    let start = input.part_number_marker.map(|m| i64::from(m) + 1);
    let upload = s3.core.upload_of_key(&cx.principal, &input.upload_id, &input.key).await.s3()?;
    let (parts, next) = s3.core.list_parts(&cx.principal, &input.upload_id, start, Some(max)).await.s3()?;
    let last = parts.last().map(|p| p.part_number as i32);
    let parts = parts
        .into_iter()
        .map(|p| {
            let mut part = Part {
                part_number: Some(p.part_number as i32),
                e_tag: Some(ETag::Strong(p.md5)),
                size: Some(p.size as i64),
                last_modified: Some(timestamp(p.upload_timestamp)),
                ..Part::default()
            };
            set_checksums!(part, checksum::of_part(&p.checksums));
            part
        })
        .collect();
    Ok(S3Response::new(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        max_parts: Some(max as i32),
        part_number_marker: input.part_number_marker,
        is_truncated: Some(next.is_some()),
        next_part_number_marker: next.and(last),
        parts: Some(parts),
        owner: Some(owner(s3.core.account_id())),
        initiator: Some(initiator(s3.core.account_id())),
        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
        checksum_algorithm: algorithm_out(&upload),
        checksum_type: checksum_type_out(&upload),
        ..ListPartsOutput::default()
    }))
}

pub async fn list_uploads(
    s3: &StowageS3,
    mut req: S3Request<ListMultipartUploadsInput>,
) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
    let cx = s3.acting(&mut req)?;
    let input = req.input;
    let max = match input.max_uploads {
        Some(n) if n < 0 => return Err(s3_error!(InvalidArgument, "max-uploads must not be negative")),
        Some(n) => n.clamp(1, 1000) as usize,
        None => 1000,
    };
    let prefix = input.prefix.clone().unwrap_or_default();
    // An upload id marker means something only beside a key marker (AWS ignores it alone).
    let key_marker = input.key_marker.as_deref().filter(|m| !m.is_empty());
    let upload_marker = input.upload_id_marker.as_deref().filter(|m| !m.is_empty());
    let after = key_marker.map(|key| (key, upload_marker));
    let listing =
        s3.core.list_multipart_uploads(&cx.principal, &cx.bucket.id, &prefix, input.delimiter.as_deref(), after, max).await.s3()?;
    let enc = super::listings::url_encoding(input.encoding_type.as_ref());
    let uploads = listing
        .uploads
        .into_iter()
        .map(|f| MultipartUpload {
            checksum_algorithm: algorithm_out(&f),
            key: Some(enc(&f.name)),
            upload_id: Some(f.file_id),
            initiated: Some(timestamp(f.upload_timestamp)),
            owner: Some(owner(s3.core.account_id())),
            initiator: Some(initiator(s3.core.account_id())),
            storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
            ..MultipartUpload::default()
        })
        .collect();
    let common_prefixes = listing.common_prefixes.iter().map(|p| CommonPrefix { prefix: Some(enc(p)) }).collect::<Vec<_>>();
    let (next_key_marker, next_upload_id_marker) = listing.next.map_or((None, None), |(k, u)| (Some(enc(&k)), u));
    Ok(S3Response::new(ListMultipartUploadsOutput {
        bucket: Some(input.bucket),
        prefix: input.prefix,
        delimiter: input.delimiter,
        key_marker: input.key_marker,
        upload_id_marker: input.upload_id_marker,
        max_uploads: Some(max as i32),
        is_truncated: Some(listing.truncated),
        next_key_marker,
        next_upload_id_marker,
        common_prefixes: (!common_prefixes.is_empty()).then_some(common_prefixes),
        uploads: Some(uploads),
        encoding_type: input.encoding_type,
        ..ListMultipartUploadsOutput::default()
    }))
}

/// The checksum algorithm an upload was started with, as S3 names it.
fn algorithm_out(upload: &stowage_core::model::FileVersion) -> Option<ChecksumAlgorithm> {
    upload.checksum_algorithm.map(|a| ChecksumAlgorithm::from(a.s3_name().to_string()))
}

/// The checksum type an upload with a checksum algorithm reports.
fn checksum_type_out(upload: &stowage_core::model::FileVersion) -> Option<ChecksumType> {
    upload.checksum_algorithm.as_ref()?;
    Some(ChecksumType::from_static(if upload.checksum_full_object { ChecksumType::FULL_OBJECT } else { ChecksumType::COMPOSITE }))
}

/// Each uploaded part's size by part number.
async fn part_sizes(s3: &StowageS3, principal: &stowage_core::auth::Principal, upload_id: &str) -> S3Result<BTreeMap<u32, u64>> {
    let mut sizes = BTreeMap::new();
    let mut start = Some(1i64);
    while let Some(from) = start {
        let (parts, next) = s3.core.list_parts(principal, upload_id, Some(from), Some(1000)).await.s3()?;
        start = next.map(i64::from);
        sizes.extend(parts.into_iter().map(|p| (p.part_number, p.size)));
    }
    Ok(sizes)
}

/// Who started an upload: the account, as for every object here.
fn initiator(account_id: &str) -> Initiator {
    Initiator { id: Some(account_id.to_string()), display_name: Some(account_id.to_string()) }
}

/// SSE-C headers of a request whose s3s input does not carry them (CompleteMultipartUpload).
fn sse_c_headers(headers: &HeaderMap) -> S3Result<Option<EncryptionRequest>> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    encryption_request(
        None,
        None,
        header("x-amz-server-side-encryption-customer-algorithm"),
        header("x-amz-server-side-encryption-customer-key"),
        header("x-amz-server-side-encryption-customer-key-md5"),
    )
}
