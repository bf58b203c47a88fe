//! Object lock is shown only to keys that may read it, the same on both APIs: a key without
//! `readFileRetentions` / `readFileLegalHolds` sees neither through B2 (file info, listings, download
//! headers) nor through S3 (HEAD/GET `x-amz-object-lock-*`, GetObjectRetention, GetObjectLegalHold).

mod common;

use common::{B2, Server};
use serde_json::json;

async fn key_with(root: &B2, name: &str, capabilities: &[&str]) -> (String, String) {
    let key = root
        .call("b2_create_key", json!({"accountId": root.account_id, "keyName": name, "capabilities": capabilities}))
        .await
        .expect("create key");
    (key["applicationKeyId"].as_str().expect("id").to_string(), key["applicationKey"].as_str().expect("key").to_string())
}

#[tokio::test]
async fn retention_and_legal_hold_need_their_read_capabilities_on_both_apis() {
    let server = Server::start().await;
    let root = server.root().await;
    let bucket = root
        .call(
            "b2_create_bucket",
            json!({"accountId": root.account_id, "bucketName": "lock-view", "bucketType": "allPrivate", "fileLockEnabled": true}),
        )
        .await
        .expect("bucket");
    let bucket_id = bucket["bucketId"].as_str().expect("id");
    let until =
        (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_millis() as i64 + 86_400_000).to_string();
    let file = root
        .upload_with(
            bucket_id,
            "held.txt",
            b"held",
            &[
                ("X-Bz-File-Retention-Mode", "governance"),
                ("X-Bz-File-Retention-Retain-Until-Timestamp", &until),
                ("X-Bz-File-Legal-Hold", "on"),
            ],
        )
        .await
        .expect("upload");
    let file_id = file["fileId"].as_str().expect("fileId");

    let reading = ["listBuckets", "listFiles", "readFiles"];
    let blind = key_with(&root, "blind", &reading).await;
    let sighted = key_with(&root, "sighted", &[&reading[..], &["readFileRetentions", "readFileLegalHolds"]].concat()).await;

    for ((key_id, secret), sees) in [(&blind, false), (&sighted, true)] {
        // B2: file info and a listing say whether the caller may read, and give values only if so.
        let b2 = B2::authorize(&server.url, key_id, secret, 4).await.expect("authorize");
        let info = b2.call("b2_get_file_info", json!({"fileId": file_id})).await.expect("file info");
        let listed = b2.call("b2_list_file_versions", json!({"bucketId": bucket_id})).await.expect("list");
        for v in [&info, &listed["files"][0]] {
            assert_eq!(v["fileRetention"]["isClientAuthorizedToRead"], sees, "{v}");
            assert_eq!(v["legalHold"]["isClientAuthorizedToRead"], sees, "{v}");
            assert_eq!(v["fileRetention"]["value"]["mode"].as_str() == Some("governance"), sees, "{v}");
            assert_eq!(v["legalHold"]["value"].as_str() == Some("on"), sees, "{v}");
        }
        // B2 download headers.
        let resp = b2.download_by_name("lock-view", "held.txt", Some(&b2.token), None).await;
        assert_eq!(resp.status(), 200);
        let h = resp.headers();
        assert_eq!(h.get("x-bz-file-retention-mode").is_some(), sees);
        assert_eq!(h.get("x-bz-file-legal-hold").is_some(), sees);
        assert_eq!(h.get("x-bz-client-unauthorized-to-read").is_some(), !sees);

        // S3: HEAD and GET headers, and the two subresources.
        let s3 = common::s3_client(&server.url, key_id, secret);
        let head = s3.head_object().bucket("lock-view").key("held.txt").send().await.expect("head");
        assert_eq!(head.object_lock_mode().is_some(), sees, "{head:?}");
        assert_eq!(head.object_lock_retain_until_date().is_some(), sees);
        assert_eq!(head.object_lock_legal_hold_status().is_some(), sees);
        let get = s3.get_object().bucket("lock-view").key("held.txt").send().await.expect("get");
        assert_eq!(get.object_lock_mode().is_some(), sees);
        assert_eq!(get.object_lock_legal_hold_status().is_some(), sees);
        let retention = s3.get_object_retention().bucket("lock-view").key("held.txt").send().await;
        let hold = s3.get_object_legal_hold().bucket("lock-view").key("held.txt").send().await;
        if sees {
            assert_eq!(retention.expect("retention").retention().and_then(|r| r.mode()).map(|m| m.as_str()), Some("GOVERNANCE"));
            assert_eq!(hold.expect("hold").legal_hold().and_then(|h| h.status()).map(|s| s.as_str()), Some("ON"));
        } else {
            let codes = [
                aws_sdk_s3::error::ProvideErrorMetadata::code(&retention.expect_err("retention withheld")).map(str::to_string),
                aws_sdk_s3::error::ProvideErrorMetadata::code(&hold.expect_err("hold withheld")).map(str::to_string),
            ];
            assert_eq!(codes, [Some("AccessDenied".to_string()), Some("AccessDenied".to_string())]);
        }
    }
}
