//! Crash safety: SIGKILL the server during concurrent uploads, restart it, and check that every
//! acknowledged upload reads back byte-identical and nothing partial is listed.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{B2, Server, sha1_hex};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_during_uploads_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start_on(dir.path(), None).await;
    let b2 = Arc::new(server.root().await);
    let bucket_id = b2.create_bucket("crash-bucket", "allPrivate").await["bucketId"].as_str().expect("id").to_string();
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();

    let mut writers = Vec::new();
    for writer in 0..8u32 {
        let (b2, bucket_id, acknowledged) = (b2.clone(), bucket_id.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            for i in 0..10_000u32 {
                let size = 1000 + ((writer * 7919 + i * 104_729) % 1_500_000) as usize;
                let data: Vec<u8> = (0..size).map(|j| (j as u32).wrapping_mul(31).wrapping_add(writer + i) as u8).collect();
                let name = format!("w{writer}/f{i:05}.bin");
                match b2.upload(&bucket_id, &name, &data).await {
                    Ok(file) => {
                        assert_eq!(file["contentSha1"], sha1_hex(&data));
                        acknowledged.lock().expect("lock").push((name, sha1_hex(&data)));
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let port = server.port();
    server.kill();
    for w in writers {
        // Writers stop at their first failed upload (or their upload is cut off mid-request).
        let _ = tokio::time::timeout(Duration::from_secs(30), w).await;
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(acknowledged.len() >= 8, "the writers got some uploads in before the kill ({})", acknowledged.len());

    let server = Server::start_on(dir.path(), Some(port)).await;
    let b2 = B2::authorize(&server.url, common::ROOT_ID, common::ROOT_KEY, 2).await.expect("authorize");
    for (name, sha1) in &acknowledged {
        let resp = b2.download_by_name("crash-bucket", name, Some(&b2.token), None).await;
        assert_eq!(resp.status(), 200, "{name} was acknowledged but is gone");
        assert_eq!(&sha1_hex(&resp.bytes().await.expect("body")), sha1, "{name} changed");
    }
    // Everything listed is complete: its bytes match its recorded SHA-1.
    let mut start: Option<String> = None;
    let mut listed = 0;
    loop {
        let page = b2
            .call("b2_list_file_names", json!({"bucketId": bucket_id, "maxFileCount": 1000, "startFileName": start}))
            .await
            .expect("list");
        for file in page["files"].as_array().expect("files") {
            let name = file["fileName"].as_str().expect("name");
            let resp = b2.download_by_name("crash-bucket", name, Some(&b2.token), None).await;
            let body = resp.bytes().await.expect("body");
            assert_eq!(body.len() as u64, file["contentLength"].as_u64().expect("length"), "{name}");
            assert_eq!(file["contentSha1"].as_str(), Some(sha1_hex(&body).as_str()), "{name}");
            listed += 1;
        }
        match page["nextFileName"].as_str() {
            Some(next) => start = Some(next.to_string()),
            None => break,
        }
    }
    assert!(listed >= acknowledged.len());
    let leftovers = std::fs::read_dir(common::staging_dir(dir.path())).expect("staging dir").count();
    assert_eq!(leftovers, 0, "interrupted writes are discarded at start");
}
