//! `stowage migrate-meta`: an embedded deployment moved onto PostgreSQL and a shared blob directory serves
//! the same keys, tokens, buckets, files and unfinished large files, without re-uploading anything.

mod common;

use common::{B2, ROOT_ID, ROOT_KEY, Server, sha1_hex};
use serde_json::json;
use stowage_store::testing::TestPostgres;

async fn upload_part(b2: &B2, file_id: &str, number: u32, data: &[u8]) {
    let target = b2.call("b2_get_upload_part_url", json!({"fileId": file_id})).await.expect("part url");
    let uploaded = b2
        .http
        .post(target["uploadUrl"].as_str().expect("url"))
        .header("Authorization", target["authorizationToken"].as_str().expect("token"))
        .header("X-Bz-Part-Number", number.to_string())
        .header("X-Bz-Content-Sha1", sha1_hex(data))
        .body(data.to_vec())
        .send()
        .await
        .expect("part");
    assert_eq!(uploaded.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_embedded_deployment_moves_onto_postgresql() {
    let Some(pg) = TestPostgres::start_or_skip("an_embedded_deployment_moves_onto_postgresql") else { return };
    let url = pg.create_database("moved");
    let dir = tempfile::tempdir().expect("tempdir");
    let (embedded_data, node_data, shared_blobs) = (dir.path().join("embedded"), dir.path().join("node"), dir.path().join("blobs"));
    std::fs::create_dir_all(&embedded_data).expect("mkdir");

    // The embedded deployment: a bucket, a small file (kept in the database), a larger one (a blob file),
    // a restricted key and a large file with one part uploaded.
    let mut embedded = Server::start_embedded_on(&embedded_data).await;
    let root = embedded.root().await;
    let bucket = root.create_bucket("moving-house", "allPrivate").await;
    let bucket_id = bucket["bucketId"].as_str().expect("bucket id").to_string();
    let small = b"small body".to_vec();
    let large: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    root.upload(&bucket_id, "small.txt", &small).await.expect("upload small");
    root.upload(&bucket_id, "dir/large.bin", &large).await.expect("upload large");
    let key = root
        .call(
            "b2_create_key",
            json!({"accountId": root.account_id, "keyName": "reader", "capabilities": ["listFiles", "readFiles"], "bucketId": bucket_id}),
        )
        .await
        .expect("create key");
    let started = root
        .call("b2_start_large_file", json!({"bucketId": bucket_id, "fileName": "unfinished.bin", "contentType": "b2/x-auto"}))
        .await
        .expect("start large file");
    let file_id = started["fileId"].as_str().expect("file id").to_string();
    let first_part: Vec<u8> = vec![3u8; 5_000_000];
    upload_part(&root, &file_id, 1, &first_part).await;
    embedded.kill();

    let master_key = std::fs::read_to_string(embedded_data.join("master.key")).expect("master key");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stowage"))
        .args(["migrate-meta", "--data", embedded_data.to_str().expect("path"), "--meta", &url])
        .args(["--copy-blobs-to", shared_blobs.to_str().expect("path")])
        .output()
        .expect("migrate-meta");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("3 file versions") && printed.contains("1 parts") && printed.contains("1 small bodies"), "{printed}");

    // A node on PostgreSQL and the copied blobs, with the embedded deployment's master key.
    let node = Server::start_on_with(
        &node_data,
        None,
        &["--meta", &url, "--blobs", shared_blobs.to_str().expect("path"), "--master-key", master_key.trim()],
    )
    .await;
    // The token the embedded server issued still works: the signing secret moved with the data.
    let old_session = B2 { url: node.url.clone(), ..root };
    let listed = old_session.call("b2_list_file_names", json!({"bucketId": bucket_id})).await.expect("list with the old token");
    let names: Vec<&str> = listed["files"].as_array().expect("files").iter().filter_map(|f| f["fileName"].as_str()).collect();
    assert_eq!(names, ["dir/large.bin", "small.txt"]);
    for (name, body) in [("small.txt", &small), ("dir/large.bin", &large)] {
        let got = old_session.download_by_name("moving-house", name, Some(&old_session.token), None).await;
        assert_eq!(got.status(), 200);
        assert_eq!(got.bytes().await.expect("body").as_ref(), body.as_slice(), "{name}");
    }
    // The restricted key signs in and keeps its restriction.
    let reader = B2::authorize(&node.url, key["applicationKeyId"].as_str().expect("id"), key["applicationKey"].as_str().expect("key"), 2)
        .await
        .expect("reader signs in");
    assert_eq!(reader.auth["allowed"]["bucketId"].as_str(), Some(bucket_id.as_str()));
    // The root key is the same.
    B2::authorize(&node.url, ROOT_ID, ROOT_KEY, 4).await.expect("root signs in");
    // The unfinished large file finishes on the new node with the part uploaded before the move.
    let last: Vec<u8> = vec![4u8; 1000];
    upload_part(&old_session, &file_id, 2, &last).await;
    old_session
        .call("b2_finish_large_file", json!({"fileId": file_id, "partSha1Array": [sha1_hex(&first_part), sha1_hex(&last)]}))
        .await
        .expect("finish after the move");
    let whole = old_session.download_by_name("moving-house", "unfinished.bin", Some(&old_session.token), None).await;
    let body = whole.bytes().await.expect("body");
    assert_eq!(sha1_hex(&body), sha1_hex(&[first_part, last].concat()));

    // A second copy into the now-used database is refused, changing nothing.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_stowage"))
        .args(["migrate-meta", "--data", embedded_data.to_str().expect("path"), "--meta", &url])
        .output()
        .expect("migrate-meta");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds"));
}
