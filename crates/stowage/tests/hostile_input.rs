//! Input an attacker or a broken client sends: every refusal is an answer in the API's own error shape
//! with a 4xx status, never a panic, a 500 or a dropped connection, and the server keeps serving.

mod common;

use common::{Server, s3_error_code};
use serde_json::{Value, json};

/// Sends `head` then `body` on a raw connection while reading the whole answer (until the server closes).
async fn raw_exchange(port: u16, head: Vec<u8>, body: Vec<u8>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let sender = tokio::spawn(async move {
        // The server may stop reading once it has answered; a broken pipe here is expected.
        let _ = writer.write_all(&head).await;
        let _ = writer.write_all(&body).await;
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), reader.read_to_end(&mut answer)).await;
    sender.abort();
    assert!(read.is_ok(), "no answer within 30 s");
    String::from_utf8_lossy(&answer).into_owned()
}

async fn assert_alive(server: &Server) {
    let health = reqwest::get(format!("{}/_health", server.url)).await.expect("health after hostile input");
    assert_eq!(health.status(), 200);
}

/// A B2 error body, after checking it is `{status, code, message}` matching the HTTP status.
async fn b2_error(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(content_type.starts_with("application/json"), "B2 refusals are JSON, got {content_type}");
    let body: Value = resp.json().await.expect("B2 error JSON");
    assert_eq!(body["status"].as_u64(), Some(u64::from(status)), "{body}");
    assert!(body["code"].is_string() && body["message"].is_string(), "{body}");
    (status, body)
}

#[tokio::test]
async fn browser_forms_with_multi_byte_part_headers_are_answered() {
    let server = Server::start().await;
    let b2 = server.root().await;
    b2.create_bucket("form-bucket", "allPrivate").await;
    let http = reqwest::Client::new();
    // Multi-byte characters around byte 20 of a part header line once panicked the connection task before
    // any authentication.
    for header in ["Content-Dispositioné: form-data; name=\"key\"", "Content-Dispositio\u{e9}n: x", "ééééééééééééééééééééééé: y"]
    {
        let body = format!(
            "--XyZ\r\n{header}\r\n\r\nvalue\r\n--XyZ\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\neyJ9\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"é.txt\"\r\n\r\ndata\r\n--XyZ--\r\n"
        );
        let resp = http
            .post(format!("{}/form-bucket", server.url))
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body(body)
            .send()
            .await
            .expect("the form gets an answer, not a dropped connection");
        let (status, code) = s3_error_code(resp).await;
        assert!((400..500).contains(&status), "{status} {code}");
    }
    assert_alive(&server).await;
}

#[tokio::test]
async fn oversized_and_malformed_bodies_and_paths_are_refused_in_shape() {
    let server = Server::start().await;
    let b2 = server.root().await;
    b2.create_bucket("hostile-bucket", "allPrivate").await;
    let http = reqwest::Client::new();

    // S3: an XML body past the 20 MiB s3s reads whole (DeleteObjects, bucket CORS) is a 400, not a 500.
    // The server answers before reading such a body, so the client must read the answer while it sends.
    for (method, query) in [("POST", "delete"), ("PUT", "cors")] {
        let mut xml = b"<Delete><Object><Key>k</Key></Object>".to_vec();
        xml.resize(21 << 20, b' ');
        xml.extend_from_slice(b"</Delete>");
        let head = format!(
            "{method} /hostile-bucket?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            xml.len()
        );
        let answer = raw_exchange(server.port(), head.into_bytes(), xml).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "?{query}: {answer}");
        assert!(answer.contains("<Code>MaxMessageLengthExceeded</Code>"), "?{query}: {answer}");
    }
    // The same without a length (chunked): cut where s3s stops reading, never a 500.
    let mut chunked = Vec::new();
    for _ in 0..21 {
        chunked.extend_from_slice(format!("{:x}\r\n", 1 << 20).as_bytes());
        chunked.extend(std::iter::repeat_n(b' ', 1 << 20));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let head = "POST /hostile-bucket?delete HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let answer = raw_exchange(server.port(), head.as_bytes().to_vec(), chunked).await;
    assert!(answer.starts_with("HTTP/1.1 4"), "chunked big XML: {answer}");
    assert!(answer.contains("<Code>"), "chunked big XML: {answer}");
    // S3: malformed XML and a key that is not UTF-8.
    // Access is decided before a body is read, as AWS does: unsigned, malformed XML is AccessDenied (signed,
    // it is MalformedXML: tests/compat/test_boto3.py).
    let resp = http.put(format!("{}/hostile-bucket?cors", server.url)).body("<CORSConfiguration><<<").send().await.expect("bad xml");
    assert_eq!(s3_error_code(resp).await, (403, "AccessDenied".to_string()));
    let resp = http.get(format!("{}/hostile-bucket/%ff%fe", server.url)).send().await.expect("bad key");
    let (status, _) = s3_error_code(resp).await;
    assert_eq!(status, 400);

    // B2: a JSON body over 2 MiB, broken JSON, and a download name that is not UTF-8.
    let big = json!({"accountId": "a".repeat(3 << 20)}).to_string().into_bytes();
    let head = format!(
        "POST /b2api/v4/b2_list_buckets HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        b2.token,
        big.len()
    );
    let answer = raw_exchange(server.port(), head.into_bytes(), big).await;
    assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("application/json"), "{answer}");
    assert!(answer.contains("\"code\":\"bad_request\"") && answer.contains("\"status\":400"), "{answer}");
    let resp = http
        .post(format!("{}/b2api/v4/b2_list_buckets", server.url))
        .header("Authorization", &b2.token)
        .body("{\"accountId\":")
        .send()
        .await
        .expect("broken json");
    let (status, body) = b2_error(resp).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_json")));
    for path in ["/file/hostile-bucket/%ff%fe", "/b2api/v4/b2_upload_file/%ff", "/b2api/%c3/b2_list_buckets"] {
        let resp = http.get(format!("{}{path}", server.url)).send().await.expect("bad path");
        let (status, body) = b2_error(resp).await;
        assert!((400..500).contains(&status), "{path}: {status} {body}");
    }
    assert_alive(&server).await;
}

#[tokio::test]
async fn internal_failures_name_a_request_id_and_keep_their_details_in_the_log() {
    let server = Server::start().await;
    let b2 = server.root().await;
    let bucket = b2.create_bucket("broken-bucket", "allPrivate").await;
    let bucket_id = bucket["bucketId"].as_str().expect("bucketId");
    // Big enough to be a file blob rather than a metadata row; then the file disappears underneath us.
    let uploaded = b2.upload(bucket_id, "lost.bin", &vec![5u8; 100_000]).await.expect("upload");
    let blobs = server.blob_dir();
    let mut removed = 0;
    for shard in 0..=255u8 {
        for file in std::fs::read_dir(blobs.join(format!("{shard:02x}"))).expect("blob shard").flatten() {
            std::fs::remove_file(file.path()).expect("remove blob");
            removed += 1;
        }
    }
    assert_eq!(removed, 1);

    let file_id = uploaded["fileId"].as_str().expect("fileId");
    let resp = b2
        .http
        .get(format!("{}/b2api/v4/b2_download_file_by_id?fileId={file_id}", server.url))
        .header("Authorization", &b2.token)
        .send()
        .await
        .expect("download");
    let request_id = resp.headers().get("x-request-id").and_then(|v| v.to_str().ok()).expect("request id header").to_string();
    let (status, body) = b2_error(resp).await;
    assert_eq!((status, body["code"].as_str()), (500, Some("internal_error")));
    let message = body["message"].as_str().unwrap_or("");
    assert!(message.contains(&request_id), "the message names the request id: {message}");
    assert!(!message.contains("blob") && !message.contains('/') && !message.contains("No such file"), "details leaked: {message}");

    // The same failure through S3.
    let s3 = common::s3_client(&server.url, common::ROOT_ID, common::ROOT_KEY);
    let err = s3.get_object().bucket("broken-bucket").key("lost.bin").send().await.expect_err("lost blob");
    let text = format!("{err:?}");
    assert!(text.contains("InternalError") && !text.contains("No such file"), "{text}");
}

#[tokio::test]
async fn console_calls_from_another_origin_are_refused() {
    let server = Server::start().await;
    let http = reqwest::Client::new();
    let sign_in = |origin: Option<&str>, site: Option<&str>| {
        let mut req = http
            .post(format!("{}/_console/api/session", server.url))
            .header("x-stowage-console", "1")
            .json(&json!({"keyId": common::ROOT_ID, "key": common::ROOT_KEY}));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(s) = site {
            req = req.header("sec-fetch-site", s);
        }
        req.send()
    };
    // The console's own page: its origin and a same-origin fetch.
    let ok = sign_in(Some(&server.url), Some("same-origin")).await.expect("sign in");
    assert_eq!(ok.status(), 200);
    let cookie =
        ok.headers().get("set-cookie").and_then(|v| v.to_str().ok()).and_then(|c| c.split(';').next()).expect("cookie").to_string();
    for (origin, site) in [(Some("http://evil.example"), None), (None, Some("cross-site")), (Some("null"), Some("same-site"))] {
        let refused = sign_in(origin, site).await.expect("sign in");
        let (status, body) = b2_error(refused).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{origin:?} {site:?}");
        // A signed-in session's mutating call with the console header but from elsewhere.
        let mut call = http
            .post(format!("{}/_console/api/b2/b2_create_bucket", server.url))
            .header("x-stowage-console", "1")
            .header("cookie", &cookie)
            .json(&json!({"bucketName": "csrf-bucket", "bucketType": "allPublic"}));
        if let Some(o) = origin {
            call = call.header("origin", o);
        }
        if let Some(s) = site {
            call = call.header("sec-fetch-site", s);
        }
        let (status, _) = b2_error(call.send().await.expect("call")).await;
        assert_eq!(status, 403, "{origin:?} {site:?}");
    }
    // Nothing was created by the refused calls; the same call from the console's origin works.
    let root = server.root().await;
    let buckets = root.call("b2_list_buckets", json!({"accountId": root.account_id})).await.expect("list");
    assert_eq!(buckets["buckets"].as_array().map(Vec::len), Some(0));
    let made = http
        .post(format!("{}/_console/api/b2/b2_create_bucket", server.url))
        .header("x-stowage-console", "1")
        .header("cookie", &cookie)
        .header("origin", &server.url)
        .json(&json!({"accountId": root.account_id, "bucketName": "console-made", "bucketType": "allPrivate"}))
        .send()
        .await
        .expect("call");
    assert_eq!(made.status(), 200);
}

#[tokio::test]
async fn a_store_failure_looking_up_an_access_key_is_not_an_unknown_key() {
    let server = Server::start().await;
    let root = server.root().await;
    let key = root
        .call("b2_create_key", json!({"accountId": root.account_id, "keyName": "damaged", "capabilities": ["listBuckets"]}))
        .await
        .expect("create key");
    let (key_id, secret) = (key["applicationKeyId"].as_str().expect("id"), key["applicationKey"].as_str().expect("key"));
    // The key's stored record becomes unreadable underneath the server (a damaged database).
    server.damage_key_record(key_id);

    let err = common::s3_client(&server.url, key_id, secret).list_buckets().send().await.expect_err("store failure");
    assert_eq!(aws_sdk_s3::error::ProvideErrorMetadata::code(&err), Some("InternalError"), "{err:?}");
    let message = aws_sdk_s3::error::ProvideErrorMetadata::message(&err).unwrap_or("");
    assert!(message.contains("request id") && !message.contains("json") && !message.contains("metadata store"), "{message}");
    // An unknown key is still InvalidAccessKeyId.
    let err = common::s3_client(&server.url, "no-such-key", "x").list_buckets().send().await.expect_err("unknown key");
    assert_eq!(aws_sdk_s3::error::ProvideErrorMetadata::code(&err), Some("InvalidAccessKeyId"));
}

/// Found by `fuzz/run.sh` (target `http_request`): an `x-amz-date` or credential-scope date with a byte
/// below '0' where a digit belongs made s3s's date parser underflow (a panic with overflow checks on, as in
/// this debug build).
#[tokio::test]
async fn a_malformed_amz_date_is_a_bad_request() {
    let server = Server::start().await;
    let http = reqwest::Client::new();
    // (x-amz-date, the credential between `Credential=` and its region): each case is one finding.
    let cases = [
        ("2026010-T000000Z", "rootkeyid/20260101"),
        ("20260101T000000Z", "rootkeyid/009$1228"),
        // An access key with a space and a comma in it, then a bad date.
        ("20260101T000000Z", "root key,id/009+1228"),
    ];
    for (date, credential) in cases {
        let authorization = format!("AWS4-HMAC-SHA256 Credential={credential}/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00");
        let resp = http
            .get(format!("{}/fuzz-bucket/key?list-type=2", server.url))
            .header("x-amz-date", date)
            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
            .header("authorization", authorization)
            .send()
            .await
            .expect("request");
        assert_eq!(s3_error_code(resp).await, (400, "InvalidRequest".to_string()), "{date} {credential}");
    }
    // The presigned form of the date.
    let presigned = format!(
        "{}/fuzz-bucket/key?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=rootkeyid%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
         &X-Amz-Date=2026+101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
        server.url
    );
    let resp = http.get(presigned).send().await.expect("presigned");
    assert_eq!(s3_error_code(resp).await, (400, "InvalidRequest".to_string()));
    // A SigV2 request's x-amz-date is an HTTP date, not screened: it reaches the signature check.
    let resp = http
        .get(format!("{}/fuzz-bucket/key", server.url))
        .header("x-amz-date", "Tue, 01 Dec 2026 19:36:42 +0000")
        .header("authorization", format!("AWS {}:bm90LWEtc2lnbmF0dXJl", common::ROOT_ID))
        .send()
        .await
        .expect("sigv2");
    let (status, code) = s3_error_code(resp).await;
    assert_ne!(code, "InvalidRequest", "{status} {code}");
    assert_alive(&server).await;
}
