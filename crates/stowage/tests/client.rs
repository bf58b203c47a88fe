//! The Rust client (`crates/stowage-client`) against the real server, as a process on 127.0.0.1 (each server
//! a node on PostgreSQL in `./test.sh`'s second pass): its typed calls, listings that page, streamed and
//! large transfers with their SHA-1s, a resumed large upload, and B2's retry model under the server's test
//! modes.

mod common;
mod fault_proxy;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{ROOT_ID, ROOT_KEY, Server, sha1_hex};
use futures::{StreamExt, TryStreamExt};
use stowage_client::{BucketSettings, Client, ClientConfig, CorsRule, FileMetadata, LifecycleRule, NewKey, UploadOptions};

fn client(server: &Server) -> Client {
    Client::new(ClientConfig::new(&server.url, ROOT_ID, ROOT_KEY)).expect("client")
}

fn random_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|_| rand::random::<u8>()).collect()
}

#[tokio::test]
async fn typed_calls_listings_and_transfers() {
    let server = Server::start().await;
    let client = client(&server);

    // Buckets, with the settings B2 keeps.
    let cors = CorsRule {
        cors_rule_name: "reads-from-app".into(),
        allowed_origins: vec!["https://app.example.com".into()],
        allowed_operations: vec!["b2_download_file_by_name".into()],
        allowed_headers: None,
        expose_headers: None,
        max_age_seconds: 600,
    };
    let lifecycle = LifecycleRule {
        file_name_prefix: "tmp/".into(),
        days_from_uploading_to_hiding: Some(7),
        days_from_hiding_to_deleting: Some(1),
        days_from_starting_to_canceling_unfinished_large_files: None,
    };
    let settings = BucketSettings {
        cors_rules: Some(vec![cors.clone()]),
        lifecycle_rules: Some(vec![lifecycle.clone()]),
        file_lock_enabled: Some(true),
        ..Default::default()
    };
    let bucket = client.create_bucket("client-bucket", &settings).await.expect("create bucket");
    assert_eq!((bucket.cors_rules.clone(), bucket.lifecycle_rules.clone()), (vec![cors], vec![lifecycle]));
    let public = BucketSettings { bucket_type: Some("allPublic".into()), if_revision_is: Some(bucket.revision), ..Default::default() };
    let updated = client.update_bucket(&bucket.bucket_id, &public).await.expect("update");
    assert_eq!((updated.bucket_type.as_str(), updated.revision), ("allPublic", bucket.revision + 1));
    let stale = client.update_bucket(&bucket.bucket_id, &public).await.expect_err("an old revision is refused");
    assert!(!stale.is_retryable() && stale.status() == Some(409), "{stale}");
    assert!(client.list_buckets().await.expect("list").iter().any(|b| b.bucket_id == bucket.bucket_id));
    assert_eq!(client.bucket_by_name("client-bucket").await.expect("by name").map(|b| b.bucket_id), Some(bucket.bucket_id.clone()));
    assert!(client.get_notification_rules(&bucket.bucket_id).await.expect("rules").is_empty());

    // Keys.
    let key = client
        .create_key(&NewKey {
            key_name: "client-made".into(),
            capabilities: vec!["listFiles".into(), "readFiles".into()],
            bucket_ids: Some(vec![bucket.bucket_id.clone()]),
            ..Default::default()
        })
        .await
        .expect("create key");
    assert!(key.application_key.is_some());
    let keys: Vec<_> = client.list_keys().try_collect().await.expect("keys");
    assert!(keys.iter().any(|k| k.application_key_id == key.application_key_id));
    client.delete_key(&key.application_key_id).await.expect("delete key");

    // Files: 1 005 small uploads in parallel, then listings that page past 1 000 for the caller.
    let id = bucket.bucket_id.as_str();
    let meta = FileMetadata { content_type: "text/plain".into(), info: BTreeMap::from([("owner".into(), "tests".into())]) };
    futures::stream::iter(0..1005)
        .map(|i| {
            let (client, meta) = (client.clone(), meta.clone());
            async move { client.upload_bytes(id, &format!("many/{i:04}.txt"), format!("file {i}").into(), &meta).await }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .expect("uploads");
    let names: Vec<_> = client.list_file_names(id, "many/").try_collect().await.expect("names");
    assert_eq!(names.len(), 1005);
    assert_eq!(names[1004].file_name, "many/1004.txt");
    assert_eq!(names[7].sha1(), Some(sha1_hex(b"file 7").as_str()));
    assert_eq!(names[7].file_info.get("owner").map(String::as_str), Some("tests"));

    // Versions, hide, delete, copy, retention and legal hold, download authorizations.
    let first = client.upload_bytes(id, "doc.txt", "one".into(), &meta).await.expect("upload");
    client.upload_bytes(id, "doc.txt", "two".into(), &meta).await.expect("upload");
    client.hide_file(id, "doc.txt").await.expect("hide");
    let versions: Vec<_> = client.list_file_versions(id, "doc.txt").try_collect().await.expect("versions");
    assert_eq!(versions.iter().map(|v| v.action.as_str()).collect::<Vec<_>>(), ["hide", "upload", "upload"]);
    client.delete_file_version("doc.txt", &versions[0].file_id, false).await.expect("delete the hide marker");
    let copy = client.copy_file(&first.file_id, "doc-copy.txt", None, None).await.expect("copy");
    assert_eq!(client.get_file_info(&copy.file_id).await.expect("info").sha1(), Some(sha1_hex(b"one").as_str()));
    let until = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64 + 86_400_000;
    client.update_file_retention("doc-copy.txt", &copy.file_id, Some(("governance", until)), false).await.expect("retention");
    client.update_file_legal_hold("doc-copy.txt", &copy.file_id, true).await.expect("legal hold");
    let held = client.get_file_info(&copy.file_id).await.expect("info");
    assert_eq!(held.legal_hold.as_ref().and_then(|h| h["value"].as_str()), Some("on"));
    let refused = client.delete_file_version("doc-copy.txt", &copy.file_id, false).await.expect_err("held files stay");
    assert!(!refused.is_retryable(), "{refused}");
    let share = client.get_download_authorization(id, "doc", 60).await.expect("share");
    assert_eq!(share.file_name_prefix, "doc");

    // A large file from disk: parts in parallel, progress to the byte, large_file_sha1 recorded, and a
    // download that checks it.
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("large.bin");
    let data = random_bytes(12_000_123);
    std::fs::write(&source, &data).expect("write");
    let seen = Arc::new(AtomicU64::new(0));
    let counted = seen.clone();
    let options = UploadOptions { progress: Some(Arc::new(move |done, _| counted.store(done, Ordering::Relaxed))), ..Default::default() };
    let large = client.upload_file(id, "large.bin", &source, &options).await.expect("large upload");
    assert_eq!(seen.load(Ordering::Relaxed), data.len() as u64);
    assert_eq!(large.content_sha1.as_deref(), Some("none"));
    assert_eq!(large.file_info.get("large_file_sha1"), Some(&sha1_hex(&data)));
    assert!(large.file_info.contains_key("src_last_modified_millis"));
    let back = dir.path().join("back.bin");
    assert_eq!(client.download_to_file("client-bucket", "large.bin", &back, None).await.expect("download"), data.len() as u64);
    assert_eq!(std::fs::read(&back).expect("read"), data);
    let ranged = client.download_by_name("client-bucket", "large.bin", Some((5, 14))).await.expect("range");
    let bytes: Vec<u8> = ranged.body.map_ok(|b| b.to_vec()).try_concat().await.expect("body");
    assert_eq!(bytes, data[5..15]);

    // A small file from disk goes in one upload, its SHA-1 sent at the end.
    let small = dir.path().join("small.txt");
    std::fs::write(&small, b"small file").expect("write");
    let up = client.upload_file(id, "small.txt", &small, &UploadOptions::default()).await.expect("small upload");
    assert_eq!(up.content_sha1.as_deref(), Some(sha1_hex(b"small file").as_str()));

    // Resume: an unfinished large file of the same name and SHA-1, with its first part sent, is finished
    // by the next upload, which sends only what is missing.
    let resumed_data = random_bytes(11_000_000);
    let resumed_path = dir.path().join("resumed.bin");
    std::fs::write(&resumed_path, &resumed_data).expect("write");
    let mut info = BTreeMap::new();
    info.insert("large_file_sha1".to_string(), sha1_hex(&resumed_data));
    let open = client.start_large_file(id, "resumed.bin", &FileMetadata { content_type: String::new(), info }).await.expect("start");
    let target = client.get_upload_part_url(&open.file_id).await.expect("part url");
    let first_part = &resumed_data[..5_000_000];
    let sent = reqwest::Client::new()
        .post(&target.upload_url)
        .header("Authorization", &target.authorization_token)
        .header("X-Bz-Part-Number", "1")
        .header("X-Bz-Content-Sha1", sha1_hex(first_part))
        .body(first_part.to_vec())
        .send()
        .await
        .expect("part");
    assert!(sent.status().is_success());
    let uploaded = Arc::new(AtomicU64::new(0));
    let counter = uploaded.clone();
    let options = UploadOptions { progress: Some(Arc::new(move |done, _| counter.store(done, Ordering::Relaxed))), ..Default::default() };
    let finished = client.upload_file(id, "resumed.bin", &resumed_path, &options).await.expect("resumed upload");
    assert_eq!(finished.file_id, open.file_id, "the unfinished large file was finished, not another started");
    let back = dir.path().join("resumed-back.bin");
    client.download_to_file("client-bucket", "resumed.bin", &back, None).await.expect("download");
    assert_eq!(std::fs::read(&back).expect("read"), resumed_data);

    // Errors carry B2's status and code, and say whether to retry.
    let missing = client.get_file_info("4_zmissing_f0000000000000000_d20260101_m000000_c000_v0000000_t0000_u00000000000000").await;
    let missing = missing.expect_err("no such file");
    assert!(matches!(missing.status(), Some(400 | 404)) && !missing.is_retryable(), "{missing}");
}

#[tokio::test]
async fn retries_follow_b2s_model_under_the_servers_test_modes() {
    let server = Server::start().await;
    let root = client(&server);
    let bucket = root.create_bucket("retry-bucket", &BucketSettings::default()).await.expect("bucket");
    let id = bucket.bucket_id.as_str();
    let quick = stowage_client::RetryPolicy {
        attempts: 8,
        base_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(50),
    };

    // A quarter of uploads fail with 503: each gets a new upload URL and lands once.
    let failing = Client::new(
        ClientConfig::new(&server.url, ROOT_ID, ROOT_KEY).with_header("X-Bz-Test-Mode", "fail_some_uploads").with_retry(quick.clone()),
    )
    .expect("client");
    for i in 0..40 {
        failing
            .upload_bytes(id, &format!("flaky/{i}.txt"), format!("body {i}").into(), &FileMetadata::default())
            .await
            .expect("upload lands");
    }
    let versions: Vec<_> = root.list_file_versions(id, "flaky/").try_collect().await.expect("versions");
    assert_eq!(versions.len(), 40, "each upload landed exactly once");
    assert!(
        versions.iter().all(|v| v.sha1() == Some(sha1_hex(format!("body {}", &v.file_name[6..v.file_name.len() - 4]).as_bytes()).as_str()))
    );

    // A quarter of calls answer expired_auth_token: the client authorizes again and goes on.
    let expiring = Client::new(
        ClientConfig::new(&server.url, ROOT_ID, ROOT_KEY)
            .with_header("X-Bz-Test-Mode", "expire_some_account_authorization_tokens")
            .with_retry(quick.clone()),
    )
    .expect("client");
    for _ in 0..40 {
        expiring.get_file_info(&versions[0].file_id).await.expect("re-authorized");
    }

    // A cap exceeded is not retried: it comes back at once with B2's code.
    let capped = Client::new(
        ClientConfig::new(&server.url, ROOT_ID, ROOT_KEY).with_header("X-Bz-Test-Mode", "force_cap_exceeded").with_retry(quick),
    )
    .expect("client");
    let refused = capped.get_file_info(&versions[0].file_id).await.expect_err("capped");
    assert_eq!(refused.code(), Some("cap_exceeded"));
    assert!(!refused.is_retryable());
}

/// Through a proxy that resets uploads halfway, answers 503 with `Retry-After`, never answers some
/// requests (past the client's timeout) and cuts downloads off: every upload lands exactly once with the
/// right bytes, each download comes down whole, and every armed fault was hit.
#[tokio::test]
async fn transfers_survive_a_proxy_that_resets_refuses_stalls_and_cuts_off() {
    use std::time::Duration;
    use stowage_client::{CallOptions, RetryPolicy};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("proxy port");
    let proxy_url = format!("http://{}", listener.local_addr().expect("address"));
    // The server hands out the proxy's URL (upload URLs included), so every request goes through it.
    let server = Server::start_with(&["--public-url", &proxy_url]).await;
    let faults = Arc::new(fault_proxy::Faults::default());
    fault_proxy::start(listener, server.url.clone(), faults.clone());

    let retry = RetryPolicy { attempts: 8, base_delay: Duration::from_millis(20), max_delay: Duration::from_secs(2) };
    let client = Client::new(ClientConfig::new(&proxy_url, ROOT_ID, ROOT_KEY).with_retry(retry).with_part_concurrency(3))
        .expect("client")
        .with_options(CallOptions { timeout: Some(Duration::from_secs(3)), ..Default::default() });
    let bucket = client.create_bucket("proxied-bucket", &BucketSettings::default()).await.expect("bucket");
    let id = bucket.bucket_id.as_str();
    let dir = tempfile::tempdir().expect("tempdir");

    // Small files (bytes, a file) and large ones (a file in parts, a reader in parts: 5 MB parts here).
    faults.arm(4, 2, 1, 3, 1, 0);
    let small = random_bytes(70_000);
    client.upload_bytes(id, "small-bytes", small.clone().into(), &FileMetadata::default()).await.expect("small bytes");
    let small_path = dir.path().join("small.bin");
    std::fs::write(&small_path, &small).expect("write");
    client.upload_file(id, "small-file", &small_path, &UploadOptions::default()).await.expect("small file");
    let large = random_bytes(13_000_000);
    let large_path = dir.path().join("large.bin");
    std::fs::write(&large_path, &large).expect("write");
    client.upload_file(id, "large-file", &large_path, &UploadOptions::default()).await.expect("large file");
    client.upload_reader(id, "large-reader", &large[..], &UploadOptions::default()).await.expect("large reader");
    assert_eq!(faults.pending(), [0, 0, 0, 0, 0, 0], "every armed fault was hit");

    let versions: Vec<_> = client.list_file_versions(id, "").try_collect().await.expect("versions");
    let names: Vec<&str> = versions.iter().map(|v| v.file_name.as_str()).collect();
    assert_eq!(names, ["large-file", "large-reader", "small-bytes", "small-file"], "each upload landed exactly once");
    let unfinished: Vec<_> = client.list_unfinished_large_files(id, "").try_collect().await.expect("unfinished");
    assert!(unfinished.is_empty(), "no large file left behind: {unfinished:?}");
    assert_eq!(versions[0].sha1(), Some(sha1_hex(&large).as_str()), "large_file_sha1 recorded");
    assert_eq!(versions[2].sha1(), Some(sha1_hex(&small).as_str()));
    assert_eq!(versions[3].sha1(), Some(sha1_hex(&small).as_str()));

    // Downloads whose bodies break off (the first range, and later ones) come down whole.
    faults.arm(0, 0, 0, 1, 0, 3);
    let info = client.get_file_info(&versions[0].file_id).await.expect("a 503 is tried again");
    assert_eq!(info.file_name, "large-file");
    for name in ["large-file", "large-reader"] {
        let target = dir.path().join(format!("{name}.down"));
        let bytes = client.download_to_file("proxied-bucket", name, &target, None).await.expect("download");
        assert_eq!(bytes, large.len() as u64);
        assert!(std::fs::read(&target).expect("read") == large, "{name} came down whole");
    }
    assert_eq!(faults.pending(), [0, 0, 0, 0, 0, 0], "every armed fault was hit");
}

/// A reader of any length: short ones go up as one file, longer ones as a large file in parts (with
/// parts sent as they are read), and public `upload_part` builds a large file by hand.
#[tokio::test]
async fn readers_and_hand_made_large_files() {
    let server = Server::start().await;
    let client = Client::new(ClientConfig::new(&server.url, ROOT_ID, ROOT_KEY).with_part_concurrency(2)).expect("client");
    let bucket = client.create_bucket("reader-bucket", &BucketSettings::default()).await.expect("bucket");
    let id = bucket.bucket_id.as_str();

    let short = random_bytes(1000);
    let stored = client.upload_reader(id, "short", &short[..], &UploadOptions::default()).await.expect("short");
    assert_eq!((stored.action.as_str(), stored.sha1()), ("upload", Some(sha1_hex(&short).as_str())));

    // Exactly the threshold is one file; one byte more is a large file of two parts.
    let edge = random_bytes(5_000_000);
    let stored = client.upload_reader(id, "edge", &edge[..], &UploadOptions::default()).await.expect("edge");
    assert_eq!(stored.content_sha1.as_deref(), Some(sha1_hex(&edge).as_str()));
    let over = random_bytes(5_000_001);
    let done = Arc::new(AtomicU64::new(0));
    let seen = done.clone();
    let options = UploadOptions { progress: Some(Arc::new(move |n, _| seen.store(n, Ordering::Relaxed))), ..Default::default() };
    let stored = client.upload_reader(id, "over", &over[..], &options).await.expect("over");
    assert_eq!((stored.content_length, stored.content_sha1.as_deref()), (5_000_001, Some("none")));
    assert_eq!(done.load(Ordering::Relaxed), 5_000_001, "progress counted every byte");
    let down = client.download_by_name("reader-bucket", "over", None).await.expect("download");
    let body: Vec<u8> = down
        .body
        .try_fold(Vec::new(), |mut all, chunk| async move {
            all.extend_from_slice(&chunk);
            Ok(all)
        })
        .await
        .expect("body");
    assert!(body == over);

    // By hand: start, parts in any order, finish.
    let large = client.start_large_file(id, "by-hand", &FileMetadata::default()).await.expect("start");
    let (first, second) = (random_bytes(5_000_000), random_bytes(123));
    let part2 = client.upload_part(&large.file_id, 2, second.clone().into()).await.expect("part 2");
    let part1 = client.upload_part(&large.file_id, 1, first.clone().into()).await.expect("part 1");
    assert_eq!((part1.content_sha1.as_str(), part2.content_length), (sha1_hex(&first).as_str(), 123));
    let finished = client.finish_large_file(&large.file_id, &[part1.content_sha1, part2.content_sha1]).await.expect("finish");
    assert_eq!(finished.content_length, 5_000_123);

    // A copy above the large-file threshold goes as parallel b2_copy_part ranges, with progress, and
    // keeps the source's large_file_sha1.
    let dir = tempfile::tempdir().expect("tempdir");
    let data = random_bytes(12_000_000);
    let path = dir.path().join("source.bin");
    std::fs::write(&path, &data).expect("write");
    let source = client.upload_file(id, "copy-source", &path, &UploadOptions::default()).await.expect("upload");
    let by_parts = Client::new(ClientConfig::new(&server.url, ROOT_ID, ROOT_KEY).with_large_file_threshold(5_000_000)).expect("client");
    let copied_bytes = Arc::new(AtomicU64::new(0));
    let seen = copied_bytes.clone();
    let progress: stowage_client::Progress = Arc::new(move |n, total| {
        assert_eq!(total, 12_000_000);
        seen.store(n, Ordering::Relaxed);
    });
    let copied = by_parts.copy_with_progress(&source, id, "copy-target", Some(progress)).await.expect("copy");
    assert_eq!((copied.content_sha1.as_deref(), copied.sha1()), (Some("none"), Some(sha1_hex(&data).as_str())), "copied in parts");
    assert_eq!(copied_bytes.load(Ordering::Relaxed), 12_000_000);
    let back = dir.path().join("back.bin");
    client.download_to_file("reader-bucket", "copy-target", &back, None).await.expect("download");
    assert!(std::fs::read(&back).expect("read") == data);
}
