//! The S3 API driven by the AWS SDK for Rust against the real binary: its default checksums and
//! multipart, paginated listings, presigned URLs (valid, tampered, expired), wrong secrets and unknown keys.

mod common;

use std::time::{Duration, SystemTime};

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart};
use common::Server;

fn client_at(server: &Server, key_id: &str, secret: &str) -> aws_sdk_s3::Client {
    common::s3_client(&server.url, key_id, secret)
}

fn client(server: &Server) -> aws_sdk_s3::Client {
    client_at(server, common::ROOT_ID, common::ROOT_KEY)
}

fn code<E: aws_sdk_s3::error::ProvideErrorMetadata>(err: &E) -> String {
    err.code().unwrap_or("").to_string()
}

#[tokio::test]
async fn sdk_objects_multipart_and_listing() {
    let server = Server::start().await;
    let s3 = client(&server);
    s3.create_bucket().bucket("sdk-bucket").send().await.expect("create bucket");
    // Versions with ids, as B2 keeps them (a bucket created through S3 starts unversioned).
    common::enable_versioning(&s3, "sdk-bucket").await;

    // The SDK's defaults: CRC32 checksums (as trailers on streamed bodies), SigV4.
    let body = vec![7u8; 300_000];
    let put = s3.put_object().bucket("sdk-bucket").key("dir/seven.bin").body(ByteStream::from(body.clone())).send().await.expect("put");
    assert!(put.version_id().is_some_and(|v| v.starts_with("4_z")));
    let got = s3.get_object().bucket("sdk-bucket").key("dir/seven.bin").range("bytes=10-19").send().await.expect("get");
    assert_eq!(got.content_range(), Some("bytes 10-19/300000"));
    assert_eq!(got.body.collect().await.expect("body").into_bytes().as_ref(), &body[10..20]);
    let missing = s3.get_object().bucket("sdk-bucket").key("nope").send().await.expect_err("missing");
    assert_eq!(code(&missing), "NoSuchKey");

    // Every checksum algorithm the SDK offers is verified on upload, stored, and returned with checksum mode
    // (the SDK validates the returned value against the body it reads).
    for algorithm in [ChecksumAlgorithm::Crc32C, ChecksumAlgorithm::Crc64Nvme, ChecksumAlgorithm::Sha1, ChecksumAlgorithm::Sha256] {
        let key = format!("sums/{}", algorithm.as_str());
        let put = s3
            .put_object()
            .bucket("sdk-bucket")
            .key(&key)
            .checksum_algorithm(algorithm.clone())
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .expect("put with checksum");
        let got = s3.get_object().bucket("sdk-bucket").key(&key).checksum_mode(ChecksumMode::Enabled).send().await.expect("get");
        let sent = [put.checksum_crc32_c(), put.checksum_crc64_nvme(), put.checksum_sha1(), put.checksum_sha256()];
        let returned = [got.checksum_crc32_c(), got.checksum_crc64_nvme(), got.checksum_sha1(), got.checksum_sha256()];
        assert_eq!(sent.iter().flatten().count(), 1, "{algorithm:?}");
        assert_eq!(sent, returned, "{algorithm:?}");
        assert_eq!(got.body.collect().await.expect("body").into_bytes().as_ref(), &body[..]);
    }

    // Multipart with the SDK: three parts, the last small; ETag is md5-of-md5s-3.
    let upload = s3.create_multipart_upload().bucket("sdk-bucket").key("multi.bin").send().await.expect("create mpu");
    let upload_id = upload.upload_id().expect("upload id").to_string();
    let mut parts = Vec::new();
    for (n, size) in [(1, 5 * 1024 * 1024), (2, 5 * 1024 * 1024), (3, 1234)] {
        let part = s3
            .upload_part()
            .bucket("sdk-bucket")
            .key("multi.bin")
            .upload_id(&upload_id)
            .part_number(n)
            .body(ByteStream::from(vec![n as u8; size]))
            .send()
            .await
            .expect("upload part");
        parts.push(CompletedPart::builder().part_number(n).e_tag(part.e_tag().expect("etag")).build());
    }
    let done = s3
        .complete_multipart_upload()
        .bucket("sdk-bucket")
        .key("multi.bin")
        .upload_id(&upload_id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .expect("complete");
    assert!(done.e_tag().is_some_and(|e| e.ends_with("-3\"")));
    let head = s3.head_object().bucket("sdk-bucket").key("multi.bin").send().await.expect("head");
    assert_eq!(head.content_length(), Some(10 * 1024 * 1024 + 1234));

    // Paginated listing, delimiter.
    for i in 0..12 {
        s3.put_object().bucket("sdk-bucket").key(format!("list/{i:02}")).body(ByteStream::from_static(b"x")).send().await.expect("put");
    }
    let mut keys = Vec::new();
    let mut pages = s3.list_objects_v2().bucket("sdk-bucket").prefix("list/").max_keys(5).into_paginator().send();
    while let Some(page) = pages.next().await {
        keys.extend(page.expect("page").contents().iter().filter_map(|o| o.key().map(str::to_string)));
    }
    assert_eq!(keys, (0..12).map(|i| format!("list/{i:02}")).collect::<Vec<_>>());
    let top = s3.list_objects_v2().bucket("sdk-bucket").delimiter("/").send().await.expect("list");
    let prefixes: Vec<&str> = top.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["dir/", "list/", "sums/"]);
}

#[tokio::test]
async fn presigned_urls_expiry_tampering_and_bad_credentials() {
    let server = Server::start().await;
    let s3 = client(&server);
    s3.create_bucket().bucket("presign-bucket").send().await.expect("create bucket");
    s3.put_object().bucket("presign-bucket").key("a.txt").body(ByteStream::from_static(b"presigned")).send().await.expect("put");
    let http = reqwest::Client::new();

    let ok = s3
        .get_object()
        .bucket("presign-bucket")
        .key("a.txt")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(60)).expect("cfg"))
        .await
        .expect("presign");
    assert_eq!(http.get(ok.uri()).send().await.expect("get").bytes().await.expect("body").as_ref(), b"presigned");
    // Tampering with the signed URL (another key) is refused.
    let tampered = ok.uri().replace("/a.txt", "/b.txt");
    assert_eq!(http.get(&tampered).send().await.expect("get").status(), 403);
    // An expired URL is refused.
    let past = PresigningConfig::builder()
        .start_time(SystemTime::now() - Duration::from_secs(3600))
        .expires_in(Duration::from_secs(60))
        .build()
        .expect("cfg");
    let expired = s3.get_object().bucket("presign-bucket").key("a.txt").presigned(past).await.expect("presign");
    let resp = http.get(expired.uri()).send().await.expect("get");
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.expect("text").contains("AccessDenied"));
    // More than seven days is not a valid presigned URL.
    let too_long = PresigningConfig::expires_in(Duration::from_secs(8 * 24 * 3600));
    assert!(too_long.is_err(), "the SDK itself refuses more than 7 days");

    // Requests signed with a wrong secret, or for an unknown key, are refused. (Clock skew is tested from
    // Python, where the signing clock can be moved: tests/compat/test_boto3.py.)
    let wrong = client_at(&server, common::ROOT_ID, "not-the-secret");
    let err = wrong.list_buckets().send().await.expect_err("refused");
    assert_eq!(code(&err), "SignatureDoesNotMatch");
    let unknown = client_at(&server, "no-such-key", "whatever");
    assert_eq!(code(&unknown.list_buckets().send().await.expect_err("refused")), "InvalidAccessKeyId");

    // Unsigned requests to a private bucket are refused; garbage XML is a MalformedXML, never a 500.
    assert_eq!(http.get(format!("{}/presign-bucket/a.txt", server.url)).send().await.expect("get").status(), 403);
    let metrics = http.get(format!("{}/_metrics", server.url)).send().await.expect("metrics").text().await.expect("text");
    assert!(!metrics.contains("status=\"500\""), "{metrics}");
}
