//! Browser form uploads (S3 POST Object) stream: a file far larger than the server's memory growth goes
//! straight to storage. Policies signed with SigV4 and SigV2 are checked field by field; expired,
//! too-small, unnamed-field and forged forms are refused in S3's shape and store nothing.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::Server;
use hmac::{Hmac, Mac};
use serde_json::json;

fn hmac256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("hmac");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn iso(offset_secs: i64) -> (String, String) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_secs() as i64 + offset_secs;
    let days = now.div_euclid(86_400);
    let secs = now.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, min, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    (format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}Z"), format!("{y:04}{m:02}{d:02}T{h:02}{min:02}{s:02}Z"))
}

/// The fields of a SigV4-signed form with these extra conditions and fields, expiring in `expires_in` s.
fn signed_v4(conditions: Vec<serde_json::Value>, fields: &[(&str, &str)], expires_in: i64) -> Vec<(String, String)> {
    let (expiration, _) = iso(expires_in);
    let (_, amz_date) = iso(0);
    let date = &amz_date[..8];
    let credential = format!("{}/{date}/us-east-1/s3/aws4_request", common::ROOT_ID);
    let mut all = conditions;
    all.push(json!({"bucket": "form-bucket"}));
    all.push(json!({"x-amz-algorithm": "AWS4-HMAC-SHA256"}));
    all.push(json!({"x-amz-credential": credential}));
    all.push(json!({"x-amz-date": amz_date}));
    let policy = STANDARD.encode(json!({"expiration": expiration, "conditions": all}).to_string());
    let mut key = hmac256(format!("AWS4{}", common::ROOT_KEY).as_bytes(), date);
    for part in ["us-east-1", "s3", "aws4_request"] {
        key = hmac256(&key, part);
    }
    let signature = hex::encode(hmac256(&key, &policy));
    let mut out: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    for (k, v) in [
        ("x-amz-algorithm", "AWS4-HMAC-SHA256".to_string()),
        ("x-amz-credential", credential),
        ("x-amz-date", amz_date.clone()),
        ("policy", policy),
        ("x-amz-signature", signature),
    ] {
        out.push((k.to_string(), v));
    }
    out
}

async fn post_form(server: &Server, fields: &[(String, String)], file_name: &str, file: Vec<u8>) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.clone(), v.clone());
    }
    form = form.part("file", reqwest::multipart::Part::bytes(file).file_name(file_name.to_string()));
    let url = format!("{}/form-bucket", server.url);
    // Redirect answers are looked at, not followed.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    match http.post(&url).multipart(form).send().await {
        Ok(r) => r,
        Err(e) => panic!(
            "post form {file_name} to {url}: {e:?} (server alive: {})",
            reqwest::get(format!("{}/_health", server.url)).await.is_ok()
        ),
    }
}

#[tokio::test]
async fn form_uploads_stream_and_check_their_policy() {
    let server = Server::start().await;
    let b2 = server.root().await;
    b2.create_bucket("form-bucket", "allPrivate").await;

    // 96 MiB through a form: the server's peak memory grows by far less than the file.
    let big: Vec<u8> = (0..96u32 << 20).map(|i| (i % 251) as u8).collect();
    let before = server.peak_rss();
    let fields = signed_v4(vec![json!(["starts-with", "$key", "big/"])], &[("key", "big/${filename}")], 300);
    let resp = post_form(&server, &fields, "big.bin", big.clone()).await;
    assert_eq!(resp.status(), 204, "{:?}", resp.text().await);
    let grown = server.peak_rss().saturating_sub(before);
    eprintln!("96 MiB form upload: server peak memory grew by {:.1} MiB", grown as f64 / 1048576.0);
    assert!(grown < 48 << 20, "peak memory grew by {} MiB for a 96 MiB form file", grown >> 20);
    let got = b2.download_by_name("form-bucket", "big/big.bin", Some(&b2.token), None).await;
    assert_eq!(got.status(), 200);
    assert!(got.bytes().await.expect("body").as_ref() == big.as_slice(), "the stored file is the posted file");

    // A redirect answer carries bucket, key and ETag.
    let fields = signed_v4(
        vec![json!({"key": "r.txt"}), json!(["starts-with", "$success_action_redirect", "https://app.example/"])],
        &[("key", "r.txt"), ("success_action_redirect", "https://app.example/done")],
        300,
    );
    let resp = post_form(&server, &fields, "r.txt", b"redirected".to_vec()).await;
    assert_eq!(resp.status(), 303);
    let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(location.starts_with("https://app.example/done?bucket=form-bucket&key=r.txt&etag="), "{location}");

    // Refusals, each in S3's shape, none storing anything.
    let expired = signed_v4(vec![json!({"key": "expired.txt"})], &[("key", "expired.txt")], -60);
    assert_eq!(common::s3_error_code(post_form(&server, &expired, "e.txt", b"x".to_vec()).await).await, (403, "AccessDenied".into()));
    let small = signed_v4(vec![json!({"key": "small.txt"}), json!(["content-length-range", 10, 100])], &[("key", "small.txt")], 300);
    assert_eq!(common::s3_error_code(post_form(&server, &small, "s.txt", b"tiny".to_vec()).await).await, (400, "EntityTooSmall".into()));
    let unnamed = signed_v4(vec![json!({"key": "extra.txt"})], &[("key", "extra.txt"), ("x-amz-meta-sneaky", "1")], 300);
    assert_eq!(common::s3_error_code(post_form(&server, &unnamed, "x.txt", b"x".to_vec()).await).await, (403, "AccessDenied".into()));
    let mut forged = signed_v4(vec![json!({"key": "forged.txt"})], &[("key", "forged.txt")], 300);
    if let Some(sig) = forged.iter_mut().find(|(k, _)| k == "x-amz-signature") {
        sig.1 = "0".repeat(64);
    }
    assert_eq!(
        common::s3_error_code(post_form(&server, &forged, "f.txt", b"x".to_vec()).await).await,
        (403, "SignatureDoesNotMatch".into())
    );
    let listed = b2.call("b2_list_file_names", json!({"bucketId": b2.call("b2_list_buckets", json!({"accountId": b2.account_id, "bucketName": "form-bucket"})).await.expect("buckets")["buckets"][0]["bucketId"]})).await.expect("list");
    let names: Vec<&str> = listed["files"].as_array().expect("files").iter().filter_map(|f| f["fileName"].as_str()).collect();
    assert_eq!(names, ["big/big.bin", "r.txt"]);

    // SigV2 forms (AWSAccessKeyId + signature) work too.
    let (expiration, _) = iso(300);
    let policy =
        STANDARD.encode(json!({"expiration": expiration, "conditions": [{"bucket": "form-bucket"}, {"key": "v2.txt"}]}).to_string());
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(common::ROOT_KEY.as_bytes()).expect("hmac");
    mac.update(policy.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    let fields: Vec<(String, String)> =
        [("key", "v2.txt".to_string()), ("AWSAccessKeyId", common::ROOT_ID.to_string()), ("policy", policy), ("signature", signature)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
    assert_eq!(post_form(&server, &fields, "v2.txt", b"sigv2".to_vec()).await.status(), 204);
}
