//! The B2 Native API driven over HTTP against the real binary: every operation, its error paths, and the
//! capability matrix.

mod common;

use common::{B2, Server, sha1_hex};
use serde_json::{Value, json};

#[tokio::test]
async fn authorize_shapes_per_version_and_bad_credentials() {
    let server = Server::start().await;
    for version in [1u8, 2] {
        let b2 = B2::authorize(&server.url, common::ROOT_ID, common::ROOT_KEY, version).await.expect("authorize");
        for field in
            ["accountId", "authorizationToken", "apiUrl", "downloadUrl", "s3ApiUrl", "recommendedPartSize", "absoluteMinimumPartSize"]
        {
            assert!(!b2.auth[field].is_null(), "v{version} flat field {field}");
        }
        assert!(b2.auth["allowed"]["capabilities"].as_array().is_some_and(|c| c.len() >= 26));
    }
    for version in [3u8, 4] {
        let b2 = B2::authorize(&server.url, common::ROOT_ID, common::ROOT_KEY, version).await.expect("authorize");
        let api = &b2.auth["apiInfo"]["storageApi"];
        assert_eq!(api["apiUrl"], json!(server.url));
        assert!(api["allowed"]["buckets"].is_null());
        assert!(api["allowed"].get("namePrefix").is_some());
        assert_eq!(api["absoluteMinimumPartSize"], json!(5_000_000));
    }
    // The account id stands in for the root key id.
    let root = server.root().await;
    assert!(B2::authorize(&server.url, &root.account_id, common::ROOT_KEY, 2).await.is_ok());
    let bad = B2::authorize(&server.url, common::ROOT_ID, "wrong", 4).await.err().expect("refused");
    assert_eq!((bad.status, bad.code.as_str()), (401, "unauthorized"));
    let http = reqwest::Client::new();
    let resp = http.get(format!("{}/b2api/v2/b2_authorize_account", server.url)).send().await.expect("send");
    assert_eq!(resp.status(), 401);
    let resp = http.get(format!("{}/b2api/v9/b2_list_buckets", server.url)).send().await.expect("send");
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn bucket_lifecycle_and_errors() {
    let server = Server::start().await;
    let b2 = server.root().await;
    let bucket = b2.create_bucket("photos-bucket", "allPrivate").await;
    let id = bucket["bucketId"].as_str().expect("id").to_string();
    assert_eq!(bucket["revision"], 1);
    assert_eq!(bucket["fileLockConfiguration"]["value"]["defaultRetention"], json!({"mode": null, "period": null}));
    assert_eq!(bucket["defaultServerSideEncryption"]["isClientAuthorizedToRead"], true);

    let dup =
        b2.call("b2_create_bucket", json!({"accountId": b2.account_id, "bucketName": "PHOTOS-bucket", "bucketType": "allPrivate"})).await;
    assert_eq!(dup.err().map(|f| f.code), Some("duplicate_bucket_name".into()));
    for bad in ["abc", "has_underscore", "b2-reserved", "with.dot"] {
        let r = b2.call("b2_create_bucket", json!({"accountId": b2.account_id, "bucketName": bad, "bucketType": "allPrivate"})).await;
        assert_eq!(r.err().map(|f| f.status), Some(400), "{bad}");
    }
    // B2 takes names that begin or end with '-'.
    for fine in ["-leading-dash", "trailing-dash-"] {
        b2.call("b2_create_bucket", json!({"accountId": b2.account_id, "bucketName": fine, "bucketType": "allPrivate"})).await.expect(fine);
    }
    let r = b2.call("b2_create_bucket", json!({"accountId": b2.account_id, "bucketName": "no-type-bucket"})).await;
    assert_eq!(r.err().map(|f| f.code), Some("bad_request".into()));
    let r =
        b2.call("b2_create_bucket", json!({"accountId": b2.account_id, "bucketName": "bad-type-bucket", "bucketType": "allWeird"})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));

    // Listing with b2sdk's filters, and a miss that is an empty list rather than an error.
    let list = b2
        .call("b2_list_buckets", json!({"accountId": b2.account_id, "bucketName": "photos-bucket", "bucketTypes": ["all"]}))
        .await
        .expect("list");
    assert_eq!(list["buckets"].as_array().map(Vec::len), Some(1));
    let list = b2.call("b2_list_buckets", json!({"accountId": b2.account_id, "bucketName": "absent-bucket"})).await.expect("list");
    assert_eq!(list["buckets"], json!([]));
    let r = b2.call("b2_list_buckets", json!({"accountId": b2.account_id, "bucketTypes": ["all", "allPublic"]})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));
    let list = b2.call("b2_list_buckets", json!({"accountId": b2.account_id, "bucketTypes": ["allPublic"]})).await.expect("list");
    assert_eq!(list["buckets"], json!([]));

    // Update: rules replace wholesale, revision increments, ifRevisionIs guards.
    let cors = json!([{"corsRuleName": "allowUploads", "allowedOrigins": ["https://app.example"], "allowedOperations": ["s3_put", "b2_upload_file"], "allowedHeaders": ["*"], "exposeHeaders": null, "maxAgeSeconds": 3600}]);
    let lifecycle = json!([{"fileNamePrefix": "logs/", "daysFromUploadingToHiding": 7, "daysFromHidingToDeleting": 1, "daysFromStartingToCancelingUnfinishedLargeFiles": null}]);
    let updated = b2
        .call("b2_update_bucket", json!({"accountId": b2.account_id, "bucketId": id, "bucketType": "allPublic", "corsRules": cors, "lifecycleRules": lifecycle, "bucketInfo": {"Cache-Control": "max-age=60"}, "ifRevisionIs": 1}))
        .await
        .expect("update");
    assert_eq!(updated["revision"], 2);
    assert_eq!(updated["bucketType"], "allPublic");
    assert_eq!(updated["corsRules"], cors);
    assert_eq!(updated["lifecycleRules"], lifecycle);
    let stale = b2
        .call("b2_update_bucket", json!({"accountId": b2.account_id, "bucketId": id, "bucketType": "allPrivate", "ifRevisionIs": 1}))
        .await;
    assert_eq!(stale.err().map(|f| (f.status, f.code)), Some((409, "conflict".into())));
    let overlapping = json!([{"fileNamePrefix": "a/"}, {"fileNamePrefix": "a/b/", "daysFromUploadingToHiding": 1}]);
    let r = b2.call("b2_update_bucket", json!({"accountId": b2.account_id, "bucketId": id, "lifecycleRules": overlapping})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));
    let r = b2.call("b2_update_bucket", json!({"accountId": b2.account_id, "bucketId": id, "corsRules": [{"corsRuleName": "x", "allowedOrigins": [], "allowedOperations": [], "maxAgeSeconds": 1}]})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));
    let r = b2.call("b2_update_bucket", json!({"accountId": b2.account_id, "bucketId": "0000nosuchbucket"})).await;
    assert_eq!(r.err().map(|f| f.code), Some("bad_bucket_id".into()));

    // A bucket with any version in it cannot be deleted; an empty one can.
    b2.upload(&id, "a.txt", b"x").await.expect("upload");
    let r = b2.call("b2_delete_bucket", json!({"accountId": b2.account_id, "bucketId": id})).await;
    assert_eq!(r.err().map(|f| f.code), Some("cannot_delete_non_empty_bucket".into()));
    let other = b2.create_bucket("empty-bucket", "allPrivate").await;
    let deleted = b2.call("b2_delete_bucket", json!({"accountId": b2.account_id, "bucketId": other["bucketId"]})).await.expect("delete");
    assert_eq!(deleted["bucketName"], "empty-bucket");
}

#[tokio::test]
async fn upload_download_verify_and_headers() {
    let server = Server::start().await;
    let b2 = server.root().await;
    let bucket = b2.create_bucket("files-bucket", "allPrivate").await;
    let id = bucket["bucketId"].as_str().expect("id");
    let data = b"hello stowage world".to_vec();

    let file = b2
        .upload_with(
            id,
            "dir/a%20b%2Bc.txt",
            &data,
            &[
                ("X-Bz-Info-Author", "J%C3%B6rg"),
                ("X-Bz-Info-b2-cache-control", "max-age=5"),
                ("X-Bz-Info-src_last_modified_millis", "1700000000000"),
            ],
        )
        .await
        .expect("upload");
    assert_eq!(file["fileName"], "dir/a b+c.txt");
    assert_eq!(file["contentSha1"], sha1_hex(&data));
    assert_eq!(file["contentType"], "text/plain");
    assert_eq!(file["fileInfo"]["author"], "Jörg");
    assert_eq!(file["legalHold"]["value"], Value::Null);
    assert!(file["fileRetention"]["isClientAuthorizedToRead"].as_bool().unwrap_or(false));
    let file_id = file["fileId"].as_str().expect("fileId").to_string();
    assert!(file_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));

    // Private bucket: anonymous download refused, authorized download streams with B2's headers.
    let anon = b2.download_by_name("files-bucket", "dir/a%20b%2Bc.txt", None, None).await;
    assert_eq!(anon.status(), 401);
    let resp = b2.download_by_name("files-bucket", "dir/a+b%2Bc.txt", Some(&b2.token), None).await;
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["x-bz-file-id"], file_id.as_str());
    assert_eq!(h["x-bz-file-name"], "dir/a%20b%2Bc.txt");
    assert_eq!(h["x-bz-content-sha1"], sha1_hex(&data).as_str());
    assert_eq!(h["x-bz-info-author"], "J%C3%B6rg");
    assert_eq!(h["cache-control"], "max-age=5");
    assert!(h.get("x-bz-info-b2-cache-control").is_none());
    assert_eq!(h["content-length"], data.len().to_string().as_str());
    assert_eq!(resp.bytes().await.expect("body").to_vec(), data);

    // Ranges: 206 with the total, suffix ranges, unsatisfiable ranges, malformed ones ignored.
    let resp = b2.download_by_name("files-bucket", "dir/a%20b%2Bc.txt", Some(&b2.token), Some("bytes=6-12")).await;
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()["content-range"], format!("bytes 6-12/{}", data.len()).as_str());
    assert_eq!(resp.bytes().await.expect("body").as_ref(), b"stowage");
    let resp = b2.download_by_name("files-bucket", "dir/a%20b%2Bc.txt", Some(&b2.token), Some("bytes=-5")).await;
    assert_eq!(resp.bytes().await.expect("body").as_ref(), b"world");
    let resp = b2.download_by_name("files-bucket", "dir/a%20b%2Bc.txt", Some(&b2.token), Some("bytes=100-")).await;
    assert_eq!(resp.status(), 416);
    let resp = b2.download_by_name("files-bucket", "dir/a%20b%2Bc.txt", Some(&b2.token), Some("bytes=zz")).await;
    assert_eq!(resp.status(), 200);

    // By id, GET and HEAD (HEAD has the headers and no body).
    let by_id = format!("{}/b2api/v2/b2_download_file_by_id?fileId={file_id}", server.url);
    let resp = b2.http.get(&by_id).header("Authorization", &b2.token).send().await.expect("get");
    assert_eq!(resp.bytes().await.expect("body").to_vec(), data);
    let resp = b2.http.head(&by_id).header("Authorization", &b2.token).send().await.expect("head");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-length"], data.len().to_string().as_str());
    let resp =
        b2.http.head(format!("{}/file/files-bucket/missing", server.url)).header("Authorization", &b2.token).send().await.expect("head");
    assert_eq!(resp.status(), 404);

    // SHA-1 modes: a mismatch stores nothing; digits at end and do_not_verify.
    let target = b2.call("b2_get_upload_url", json!({"bucketId": id})).await.expect("url");
    let post = |name: &'static str, sha: String, body: Vec<u8>| {
        b2.http
            .post(target["uploadUrl"].as_str().expect("url"))
            .header("Authorization", target["authorizationToken"].as_str().expect("token"))
            .header("X-Bz-File-Name", name)
            .header("Content-Type", "application/octet-stream")
            .header("X-Bz-Content-Sha1", sha)
            .body(body)
            .send()
    };
    let resp = post("bad.bin", "0".repeat(40), b"data".to_vec()).await.expect("send");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["message"], "Sha1 did not match data received");
    let mut at_end = b"trailing digits".to_vec();
    at_end.extend(sha1_hex(b"trailing digits").as_bytes());
    let resp: Value = post("end.bin", "hex_digits_at_end".into(), at_end).await.expect("send").json().await.expect("json");
    assert_eq!(resp["contentSha1"], sha1_hex(b"trailing digits"));
    assert_eq!(resp["contentLength"], 15);
    let resp: Value = post("unverified.bin", "do_not_verify".into(), b"abc".to_vec()).await.expect("send").json().await.expect("json");
    assert_eq!(resp["contentSha1"], format!("unverified:{}", sha1_hex(b"abc")));
    let resp = post("bad-sha.bin", "nothex".into(), b"abc".to_vec()).await.expect("send");
    assert_eq!(resp.status(), 400);
    let resp = post("bad%ZZname", sha1_hex(b"abc"), b"abc".to_vec()).await.expect("send");
    assert_eq!(resp.status(), 200, "malformed escapes pass through literally");
    let names = b2.call("b2_list_file_names", json!({"bucketId": id, "maxFileCount": 100})).await.expect("list");
    let listed: Vec<&str> = names["files"].as_array().expect("files").iter().filter_map(|f| f["fileName"].as_str()).collect();
    assert!(!listed.contains(&"bad.bin"), "a failed upload is never listed");

    // Forbidden headers and too many info headers.
    let too_many: Vec<(String, String)> = (0..11).map(|i| (format!("X-Bz-Info-k{i}"), "v".to_string())).collect();
    let refs: Vec<(&str, &str)> = too_many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(b2.upload_with(id, "many.txt", b"x", &refs).await.err().map(|f| f.status), Some(400));
    assert_eq!(b2.upload_with(id, "cd.txt", b"x", &[("Content-Disposition", "inline")]).await.err().map(|f| f.status), Some(400));
    assert_eq!(b2.upload_with(id, "ctl%01.txt", b"x", &[]).await.err().map(|f| f.status), Some(400));
}

#[tokio::test]
async fn listing_hiding_versions_and_pagination() {
    let server = Server::start().await;
    let b2 = server.root().await;
    let id = b2.create_bucket("list-bucket", "allPrivate").await["bucketId"].as_str().expect("id").to_string();
    for name in ["a.txt", "photos/2024/x.jpg", "photos/2024/y.jpg", "photos/cat.jpg", "photos0.txt", "z.txt"] {
        b2.upload(&id, name, name.as_bytes()).await.expect("upload");
    }
    let v2 = b2.upload(&id, "a.txt", b"second").await.expect("upload");

    let names = |page: &Value| {
        page["files"].as_array().expect("files").iter().map(|f| f["fileName"].as_str().unwrap_or("").to_string()).collect::<Vec<_>>()
    };
    let page = b2.call("b2_list_file_names", json!({"bucketId": id, "delimiter": "/", "prefix": ""})).await.expect("list");
    assert_eq!(names(&page), ["a.txt", "photos/", "photos0.txt", "z.txt"]);
    assert_eq!(page["files"][1]["action"], "folder");
    let page = b2.call("b2_list_file_names", json!({"bucketId": id, "delimiter": "/", "prefix": "photos/"})).await.expect("list");
    assert_eq!(names(&page), ["photos/2024/", "photos/cat.jpg"]);
    assert_eq!(page["files"][0]["fileId"], Value::Null);

    // Pagination: nextFileName continues exactly where the page stopped.
    let page = b2.call("b2_list_file_names", json!({"bucketId": id, "maxFileCount": 2})).await.expect("list");
    assert_eq!(names(&page), ["a.txt", "photos/2024/x.jpg"]);
    let page = b2
        .call("b2_list_file_names", json!({"bucketId": id, "maxFileCount": 2, "startFileName": page["nextFileName"]}))
        .await
        .expect("list");
    assert_eq!(names(&page), ["photos/2024/y.jpg", "photos/cat.jpg"]);
    let r = b2.call("b2_list_file_names", json!({"bucketId": id, "maxFileCount": 10001})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));

    // Versions newest first; hide masks the name in list_file_names but not in versions.
    let hidden = b2.call("b2_hide_file", json!({"bucketId": id, "fileName": "a.txt"})).await.expect("hide");
    assert_eq!(hidden["action"], "hide");
    assert_eq!(hidden["contentType"], "application/x-bz-hide-marker");
    let again = b2.call("b2_hide_file", json!({"bucketId": id, "fileName": "a.txt"})).await;
    assert_eq!(again.err().map(|f| f.code), Some("already_hidden".into()));
    let none = b2.call("b2_hide_file", json!({"bucketId": id, "fileName": "never.txt"})).await;
    assert_eq!(none.err().map(|f| f.code), Some("no_such_file".into()));
    let page = b2.call("b2_list_file_names", json!({"bucketId": id, "prefix": "a"})).await.expect("list");
    assert!(names(&page).is_empty());
    let versions =
        b2.call("b2_list_file_versions", json!({"bucketId": id, "prefix": "a.txt", "startFileName": "a.txt"})).await.expect("versions");
    let actions: Vec<&str> = versions["files"].as_array().expect("files").iter().filter_map(|f| f["action"].as_str()).collect();
    assert_eq!(actions, ["hide", "upload", "upload"]);
    assert_eq!(versions["files"][1]["fileId"], v2["fileId"]);
    let paged = b2.call("b2_list_file_versions", json!({"bucketId": id, "maxFileCount": 2})).await.expect("versions");
    let next = b2
        .call(
            "b2_list_file_versions",
            json!({"bucketId": id, "maxFileCount": 2, "startFileName": paged["nextFileName"], "startFileId": paged["nextFileId"]}),
        )
        .await
        .expect("versions");
    assert_eq!(next["files"][0]["fileId"], versions["files"][2]["fileId"]);
    let r = b2.call("b2_list_file_versions", json!({"bucketId": id, "startFileName": "a.txt", "startFileId": "4_zbogus"})).await;
    assert_eq!(r.err().map(|f| f.code), Some("invalid_file_id".into()));

    // Unhide = delete the hide marker; delete needs a matching name.
    let wrong = b2.call("b2_delete_file_version", json!({"fileId": hidden["fileId"], "fileName": "b.txt"})).await;
    assert_eq!(wrong.err().map(|f| f.code), Some("file_not_present".into()));
    b2.call("b2_delete_file_version", json!({"fileId": hidden["fileId"], "fileName": "a.txt"})).await.expect("unhide");
    let resp = b2.download_by_name("list-bucket", "a.txt", Some(&b2.token), None).await;
    assert_eq!(resp.bytes().await.expect("body").as_ref(), b"second");
    let info = b2.call("b2_get_file_info", json!({"fileId": v2["fileId"]})).await.expect("info");
    assert_eq!(info["fileName"], "a.txt");
    let missing = b2.call("b2_get_file_info", json!({"fileId": "4_znothing"})).await;
    assert_eq!(missing.err().map(|f| (f.status, f.code)), Some((404, "not_found".into())));

    // v1 entries carry `size` for rclone; GET with query parameters works like POST.
    let v1 = B2::authorize(&server.url, common::ROOT_ID, common::ROOT_KEY, 1).await.expect("v1");
    let page = v1.call("b2_list_file_names", json!({"bucketId": id, "prefix": "z"})).await.expect("list");
    assert_eq!(page["files"][0]["size"], 5);
    let resp = b2
        .http
        .get(format!("{}/b2api/v2/b2_list_file_names?bucketId={id}&maxFileCount=1", server.url))
        .header("Authorization", &b2.token)
        .send()
        .await
        .expect("get");
    let page: Value = resp.json().await.expect("json");
    assert_eq!(page["files"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn large_files_and_copies() {
    let server = Server::start().await;
    let b2 = server.root().await;
    let id = b2.create_bucket("large-bucket", "allPrivate").await["bucketId"].as_str().expect("id").to_string();
    let part1: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    let part2 = b"tail of the large file".to_vec();

    let start = b2
        .call("b2_start_large_file", json!({"bucketId": id, "fileName": "big.bin", "contentType": "application/octet-stream", "fileInfo": {"large_file_sha1": "none"}}))
        .await
        .expect("start");
    assert_eq!(start["action"], "start");
    let file_id = start["fileId"].as_str().expect("id").to_string();
    let unfinished = b2.call("b2_list_unfinished_large_files", json!({"bucketId": id, "namePrefix": "big"})).await.expect("unfinished");
    assert_eq!(unfinished["files"][0]["fileId"], file_id.as_str());
    // An unfinished file is not visible by name.
    assert_eq!(b2.download_by_name("large-bucket", "big.bin", Some(&b2.token), None).await.status(), 404);

    let upload_part = |n: u32, data: Vec<u8>| {
        let b2 = &b2;
        let file_id = file_id.clone();
        async move {
            let target = b2.call("b2_get_upload_part_url", json!({"fileId": file_id})).await.expect("part url");
            let resp = b2
                .http
                .post(target["uploadUrl"].as_str().expect("url"))
                .header("Authorization", target["authorizationToken"].as_str().expect("token"))
                .header("X-Bz-Part-Number", n.to_string())
                .header("X-Bz-Content-Sha1", sha1_hex(&data))
                .body(data)
                .send()
                .await
                .expect("upload part");
            (resp.status().as_u16(), resp.json::<Value>().await.expect("json"))
        }
    };
    let (status, p2) = upload_part(2, part2.clone()).await;
    assert_eq!(status, 200, "{p2}");
    let (status, _) = upload_part(10_001, b"x".to_vec()).await;
    assert_eq!(status, 400);
    // Finishing with part 1 missing.
    let r = b2.call("b2_finish_large_file", json!({"fileId": file_id, "partSha1Array": [sha1_hex(&part2)]})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));
    let (status, p1) = upload_part(1, part1.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(p1["contentSha1"], sha1_hex(&part1));
    // A part names the encryption its file seals it under (none here), as B2's part responses do.
    assert_eq!(p1["serverSideEncryption"], json!({"mode": null, "algorithm": null}));
    let parts = b2.call("b2_list_parts", json!({"fileId": file_id, "startPartNumber": 0, "maxPartCount": 1})).await.expect("parts");
    assert_eq!(parts["parts"][0]["partNumber"], 1);
    assert_eq!(parts["nextPartNumber"], 2);
    let r = b2.call("b2_finish_large_file", json!({"fileId": file_id, "partSha1Array": [sha1_hex(&part2), sha1_hex(&part1)]})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));
    let done = b2
        .call("b2_finish_large_file", json!({"fileId": file_id, "partSha1Array": [sha1_hex(&part1), sha1_hex(&part2)]}))
        .await
        .expect("finish");
    assert_eq!(done["action"], "upload");
    assert_eq!(done["contentSha1"], "none");
    assert_eq!(done["contentLength"], (part1.len() + part2.len()) as u64);
    assert_eq!(done["fileId"], file_id.as_str());

    let whole: Vec<u8> = part1.iter().chain(part2.iter()).copied().collect();
    let resp = b2.download_by_name("large-bucket", "big.bin", Some(&b2.token), None).await;
    assert_eq!(sha1_hex(&resp.bytes().await.expect("body")), sha1_hex(&whole));
    // A range that spans both parts.
    let resp = b2.download_by_name("large-bucket", "big.bin", Some(&b2.token), Some("bytes=4999990-5000004")).await;
    assert_eq!(resp.bytes().await.expect("body").to_vec(), whole[4_999_990..=5_000_004].to_vec());

    // Parts smaller than the minimum are refused at finish; cancel removes everything.
    let small =
        b2.call("b2_start_large_file", json!({"bucketId": id, "fileName": "small.bin", "contentType": "b2/x-auto"})).await.expect("start");
    let small_id = small["fileId"].as_str().expect("id").to_string();
    for n in 1..=2u32 {
        let target = b2.call("b2_get_upload_part_url", json!({"fileId": small_id})).await.expect("url");
        let resp = b2
            .http
            .post(target["uploadUrl"].as_str().expect("url"))
            .header("Authorization", target["authorizationToken"].as_str().expect("token"))
            .header("X-Bz-Part-Number", n.to_string())
            .header("X-Bz-Content-Sha1", sha1_hex(b"tiny"))
            .body("tiny")
            .send()
            .await
            .expect("part");
        assert_eq!(resp.status(), 200);
    }
    let r = b2.call("b2_finish_large_file", json!({"fileId": small_id, "partSha1Array": [sha1_hex(b"tiny"), sha1_hex(b"tiny")]})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));
    let canceled = b2.call("b2_cancel_large_file", json!({"fileId": small_id})).await.expect("cancel");
    assert_eq!(canceled["fileName"], "small.bin");
    let r = b2.call("b2_cancel_large_file", json!({"fileId": small_id})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));

    // Server-side copies: whole, ranged, REPLACE needs a content type, and copy_part into a new large file.
    let copy = b2.call("b2_copy_file", json!({"sourceFileId": file_id, "fileName": "copy.bin"})).await.expect("copy");
    assert_eq!(copy["action"], "copy");
    assert_eq!(copy["contentLength"], whole.len() as u64);
    let ranged =
        b2.call("b2_copy_file", json!({"sourceFileId": file_id, "fileName": "slice.bin", "range": "bytes=0-9"})).await.expect("copy");
    assert_eq!(ranged["contentSha1"], sha1_hex(&whole[..10]));
    let r = b2.call("b2_copy_file", json!({"sourceFileId": file_id, "fileName": "x.bin", "metadataDirective": "REPLACE"})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));
    let r = b2.call("b2_copy_file", json!({"sourceFileId": file_id, "fileName": "x.bin", "contentType": "text/plain"})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));
    let replaced = b2
        .call("b2_copy_file", json!({"sourceFileId": ranged["fileId"], "fileName": "r.txt", "metadataDirective": "REPLACE", "contentType": "text/plain", "fileInfo": {"Note": "x"}}))
        .await
        .expect("copy");
    assert_eq!(replaced["fileInfo"], json!({"note": "x"}));
    let target = b2
        .call("b2_start_large_file", json!({"bucketId": id, "fileName": "assembled.bin", "contentType": "b2/x-auto"}))
        .await
        .expect("start");
    let p1 = b2
        .call(
            "b2_copy_part",
            json!({"sourceFileId": file_id, "largeFileId": target["fileId"], "partNumber": 1, "range": "bytes=0-4999999"}),
        )
        .await
        .expect("copy part");
    let p2 = b2
        .call(
            "b2_copy_part",
            json!({"sourceFileId": file_id, "largeFileId": target["fileId"], "partNumber": 2, "range": "bytes=5000000-5000021"}),
        )
        .await
        .expect("copy part");
    let done = b2
        .call("b2_finish_large_file", json!({"fileId": target["fileId"], "partSha1Array": [p1["contentSha1"], p2["contentSha1"]]}))
        .await
        .expect("finish");
    assert_eq!(done["contentLength"], whole.len() as u64);
}

#[tokio::test]
async fn keys_restrictions_and_capability_matrix() {
    let server = Server::start().await;
    let root = server.root().await;
    let a = root.create_bucket("bucket-alpha", "allPrivate").await["bucketId"].as_str().expect("id").to_string();
    let b = root.create_bucket("bucket-bravo", "allPrivate").await["bucketId"].as_str().expect("id").to_string();
    let up = root.upload(&a, "docs/readme.txt", b"readme").await.expect("upload");
    root.upload(&a, "private/secret.txt", b"secret").await.expect("upload");
    root.upload(&b, "other.txt", b"other").await.expect("upload");

    let r = root.call("b2_create_key", json!({"accountId": root.account_id, "keyName": "bad name!", "capabilities": ["listFiles"]})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));
    let r = root.call("b2_create_key", json!({"accountId": root.account_id, "keyName": "k", "capabilities": ["flyToMoon"]})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));
    let r = root.call("b2_create_key", json!({"accountId": root.account_id, "keyName": "k", "capabilities": []})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));
    let r = root
        .call("b2_create_key", json!({"accountId": root.account_id, "keyName": "k", "capabilities": ["writeKeys"], "bucketId": a}))
        .await;
    assert_eq!(r.err().map(|f| f.status), Some(400), "account-level capabilities are refused on bucket keys");

    let make = |name: &str, caps: Value, extra: Value| {
        let mut body = json!({"accountId": root.account_id, "keyName": name, "capabilities": caps});
        if let (Some(obj), Some(more)) = (body.as_object_mut(), extra.as_object()) {
            obj.extend(more.clone());
        }
        body
    };
    let all_file_caps = json!(["listBuckets", "listFiles", "readFiles", "writeFiles", "deleteFiles", "shareFiles"]);
    let restricted = root
        .call("b2_create_key", make("restricted", all_file_caps.clone(), json!({"bucketIds": [a], "namePrefix": "docs/"})))
        .await
        .expect("key");
    assert!(restricted["applicationKey"].is_string());
    assert_eq!(restricted["bucketIds"], json!([a]));
    let rk = B2::authorize(
        &server.url,
        restricted["applicationKeyId"].as_str().expect("id"),
        restricted["applicationKey"].as_str().expect("key"),
        4,
    )
    .await
    .expect("authorize");
    assert_eq!(rk.auth["apiInfo"]["storageApi"]["allowed"]["buckets"], json!([{"id": a, "name": "bucket-alpha"}]));
    assert_eq!(rk.auth["apiInfo"]["storageApi"]["allowed"]["namePrefix"], "docs/");

    let denied = |r: common::Reply| r.err().map(|f| (f.status, f.code));
    let unauthorized = Some((401u16, "unauthorized".to_string()));
    // Bucket restriction.
    assert_eq!(denied(rk.call("b2_list_file_names", json!({"bucketId": b})).await), unauthorized);
    assert_eq!(denied(rk.call("b2_get_upload_url", json!({"bucketId": b})).await), unauthorized);
    assert_eq!(denied(rk.call("b2_list_buckets", json!({"accountId": rk.account_id})).await), unauthorized);
    let own = rk.call("b2_list_buckets", json!({"accountId": rk.account_id, "bucketId": a})).await.expect("own bucket");
    assert_eq!(own["buckets"].as_array().map(Vec::len), Some(1));
    // Prefix restriction: listings, uploads, downloads, hides, copies.
    assert_eq!(denied(rk.call("b2_list_file_names", json!({"bucketId": a})).await), unauthorized);
    assert!(rk.call("b2_list_file_names", json!({"bucketId": a, "prefix": "docs/"})).await.is_ok());
    assert_eq!(denied(rk.upload(&a, "private/x.txt", b"x").await), unauthorized);
    assert!(rk.upload(&a, "docs/new.txt", b"x").await.is_ok());
    assert_eq!(rk.download_by_name("bucket-alpha", "private/secret.txt", Some(&rk.token), None).await.status(), 401);
    assert_eq!(rk.download_by_name("bucket-alpha", "docs/readme.txt", Some(&rk.token), None).await.status(), 200);
    assert_eq!(denied(rk.call("b2_hide_file", json!({"bucketId": a, "fileName": "private/secret.txt"})).await), unauthorized);
    assert_eq!(denied(rk.call("b2_copy_file", json!({"sourceFileId": up["fileId"], "fileName": "private/copy.txt"})).await), unauthorized);
    // Account-level operations.
    assert_eq!(
        denied(
            rk.call("b2_create_bucket", json!({"accountId": rk.account_id, "bucketName": "sneaky-bucket", "bucketType": "allPrivate"}))
                .await
        ),
        unauthorized
    );
    assert_eq!(denied(rk.call("b2_list_keys", json!({"accountId": rk.account_id})).await), unauthorized);

    // Each capability missing in turn: the operation needing it is refused with 401 unauthorized.
    let cases: Vec<(&str, &str, Value)> = vec![
        ("listFiles", "b2_list_file_names", json!({"bucketId": a})),
        ("listFiles", "b2_list_file_versions", json!({"bucketId": a})),
        ("listFiles", "b2_list_unfinished_large_files", json!({"bucketId": a})),
        ("writeFiles", "b2_get_upload_url", json!({"bucketId": a})),
        ("writeFiles", "b2_start_large_file", json!({"bucketId": a, "fileName": "x", "contentType": "b2/x-auto"})),
        ("writeFiles", "b2_hide_file", json!({"bucketId": a, "fileName": "docs/readme.txt"})),
        ("writeFiles", "b2_copy_file", json!({"sourceFileId": up["fileId"], "fileName": "c.txt"})),
        ("readFiles", "b2_get_file_info", json!({"fileId": up["fileId"]})),
        ("deleteFiles", "b2_delete_file_version", json!({"fileId": up["fileId"], "fileName": "docs/readme.txt"})),
        ("shareFiles", "b2_get_download_authorization", json!({"bucketId": a, "fileNamePrefix": "", "validDurationInSeconds": 60})),
        ("writeBuckets", "b2_update_bucket", json!({"accountId": root.account_id, "bucketId": a, "bucketType": "allPublic"})),
        (
            "writeBuckets",
            "b2_create_bucket",
            json!({"accountId": root.account_id, "bucketName": "another-one", "bucketType": "allPrivate"}),
        ),
        ("deleteBuckets", "b2_delete_bucket", json!({"accountId": root.account_id, "bucketId": b})),
        // Bucket settings with capabilities of their own (the same ones S3's getters and setters need).
        (
            "writeBucketEncryption",
            "b2_update_bucket",
            json!({"accountId": root.account_id, "bucketId": a, "defaultServerSideEncryption": {"mode": "SSE-B2", "algorithm": "AES256"}}),
        ),
        ("writeBucketRetentions", "b2_update_bucket", json!({"accountId": root.account_id, "bucketId": a, "fileLockEnabled": true})),
        ("readBucketNotifications", "b2_get_bucket_notification_rules", json!({"bucketId": a})),
        ("writeBucketNotifications", "b2_set_bucket_notification_rules", json!({"bucketId": a, "eventNotificationRules": []})),
        ("listBuckets", "b2_list_buckets", json!({"accountId": root.account_id})),
        ("writeKeys", "b2_create_key", json!({"accountId": root.account_id, "keyName": "x", "capabilities": ["listFiles"]})),
        ("listKeys", "b2_list_keys", json!({"accountId": root.account_id})),
        ("deleteKeys", "b2_delete_key", json!({"applicationKeyId": restricted["applicationKeyId"]})),
        (
            "writeFileRetentions",
            "b2_update_file_retention",
            json!({"fileId": up["fileId"], "fileName": "docs/readme.txt", "fileRetention": {"mode": null}}),
        ),
        (
            "writeFileLegalHolds",
            "b2_update_file_legal_hold",
            json!({"fileId": up["fileId"], "fileName": "docs/readme.txt", "legalHold": "on"}),
        ),
    ];
    let everything: Vec<&str> = stowage_caps();
    for (missing, op, body) in &cases {
        let caps: Vec<&str> =
            everything.iter().copied().filter(|c| c != missing && !(*missing == "listBuckets" && *c == "listAllBucketNames")).collect();
        let key = root.call("b2_create_key", make(&format!("lacks-{missing}"), json!(caps), json!({}))).await.expect("key");
        let client =
            B2::authorize(&server.url, key["applicationKeyId"].as_str().expect("id"), key["applicationKey"].as_str().expect("key"), 2)
                .await
                .expect("auth");
        // B2 refuses retention and legal-hold writes outright (403 access_denied: b2sdk's RetentionWriteError).
        let expected = if op.starts_with("b2_update_file_") { Some((403u16, "access_denied".to_string())) } else { unauthorized.clone() };
        assert_eq!(denied(client.call(op, body.clone()).await), expected, "{op} without {missing}");
    }
    // Nothing a refused call asked for was changed.
    let alpha = root.call("b2_list_buckets", json!({"accountId": root.account_id, "bucketId": a})).await.expect("list");
    assert_eq!(alpha["buckets"][0]["defaultServerSideEncryption"]["value"]["mode"], Value::Null);
    assert_eq!(alpha["buckets"][0]["fileLockConfiguration"]["value"]["isFileLockEnabled"], false);
    assert_eq!(alpha["buckets"][0]["bucketType"], "allPrivate");

    // The same operations from a key restricted to the other bucket, and from one restricted to another prefix.
    let bucket_caps: Vec<&str> = everything
        .iter()
        .copied()
        .filter(|c| {
            !["listKeys", "writeKeys", "deleteKeys", "writeBuckets", "deleteBuckets", "readBucketReplications", "writeBucketReplications"]
                .contains(c)
        })
        .collect();
    let other_bucket = root.call("b2_create_key", make("other-bucket", json!(bucket_caps), json!({"bucketIds": [b]}))).await.expect("key");
    let other_prefix =
        root.call("b2_create_key", make("other-prefix", json!(everything), json!({"namePrefix": "elsewhere/"}))).await.expect("key");
    for key in [&other_bucket, &other_prefix] {
        let client =
            B2::authorize(&server.url, key["applicationKeyId"].as_str().expect("id"), key["applicationKey"].as_str().expect("key"), 2)
                .await
                .expect("auth");
        for (_, op, body) in
            cases.iter().filter(|(_, op, _)| !op.contains("key") && !op.contains("create_bucket") && !op.contains("list_buckets"))
        {
            let refused = denied(client.call(op, body.clone()).await);
            // Bucket settings and upload URLs are not name-scoped: a prefix key may use them.
            if key == &other_prefix && ((op.contains("bucket") && !op.contains("file")) || *op == "b2_get_upload_url") {
                continue;
            }
            assert_eq!(refused, unauthorized, "{op} from key {}", key["keyName"]);
        }
    }
    // A key that expires: every operation answers expired_auth_token once its time has passed.
    let soon =
        root.call("b2_create_key", make("expires-soon", json!(everything), json!({"validDurationInSeconds": 30}))).await.expect("key");
    let soon = B2::authorize(&server.url, soon["applicationKeyId"].as_str().expect("id"), soon["applicationKey"].as_str().expect("key"), 2)
        .await
        .expect("auth");

    // Deleted keys stop working at once; expired keys are refused too.
    let gone = root.call("b2_create_key", make("short-lived", all_file_caps.clone(), json!({}))).await.expect("key");
    let client =
        B2::authorize(&server.url, gone["applicationKeyId"].as_str().expect("id"), gone["applicationKey"].as_str().expect("key"), 2)
            .await
            .expect("auth");
    root.call("b2_delete_key", json!({"applicationKeyId": gone["applicationKeyId"]})).await.expect("delete key");
    assert_eq!(client.call("b2_list_file_names", json!({"bucketId": a})).await.err().map(|f| f.code), Some("bad_auth_token".into()));
    let expiring = root.call("b2_create_key", make("expiring", all_file_caps, json!({"validDurationInSeconds": 60}))).await.expect("key");
    assert!(expiring["expirationTimestamp"].is_i64());
    let client = B2::authorize(
        &server.url,
        expiring["applicationKeyId"].as_str().expect("id"),
        expiring["applicationKey"].as_str().expect("key"),
        2,
    )
    .await
    .expect("auth");
    reqwest::Client::new().post(format!("{}/_test/clock/advance?seconds=120", server.url)).send().await.expect("advance");
    assert_eq!(client.call("b2_list_file_names", json!({"bucketId": a})).await.err().map(|f| f.code), Some("expired_auth_token".into()));
    for (_, op, body) in &cases {
        assert_eq!(soon.call(op, body.clone()).await.err().map(|f| f.code), Some("expired_auth_token".into()), "{op} with an expired key");
    }
    let r = B2::authorize(
        &server.url,
        expiring["applicationKeyId"].as_str().expect("id"),
        expiring["applicationKey"].as_str().expect("key"),
        2,
    )
    .await;
    assert_eq!(r.err().map(|f| f.status), Some(401));

    // list_keys pagination.
    let page = root.call("b2_list_keys", json!({"accountId": root.account_id, "maxKeyCount": 2})).await.expect("keys");
    assert_eq!(page["keys"].as_array().map(Vec::len), Some(2));
    assert!(page["keys"][0].get("applicationKey").is_none());
    let next = root
        .call(
            "b2_list_keys",
            json!({"accountId": root.account_id, "maxKeyCount": 2, "startApplicationKeyId": page["nextApplicationKeyId"]}),
        )
        .await
        .expect("keys");
    assert_eq!(next["keys"][0]["applicationKeyId"], page["nextApplicationKeyId"]);
}

fn stowage_caps() -> Vec<&'static str> {
    vec![
        "listKeys",
        "writeKeys",
        "deleteKeys",
        "listBuckets",
        "listAllBucketNames",
        "readBuckets",
        "writeBuckets",
        "deleteBuckets",
        "readBucketEncryption",
        "writeBucketEncryption",
        "readBucketRetentions",
        "writeBucketRetentions",
        "readFileRetentions",
        "writeFileRetentions",
        "readFileLegalHolds",
        "writeFileLegalHolds",
        "readBucketReplications",
        "writeBucketReplications",
        "bypassGovernance",
        "listFiles",
        "readFiles",
        "shareFiles",
        "writeFiles",
        "deleteFiles",
        "readBucketNotifications",
        "writeBucketNotifications",
    ]
}

#[tokio::test]
async fn download_authorization_public_buckets_and_object_lock() {
    let server = Server::start().await;
    let b2 = server.root().await;
    let id = b2.create_bucket("share-bucket", "allPrivate").await["bucketId"].as_str().expect("id").to_string();
    b2.upload(&id, "shared/a.txt", b"a").await.expect("upload");
    b2.upload(&id, "hidden/b.txt", b"b").await.expect("upload");
    let auth = b2
        .call("b2_get_download_authorization", json!({"bucketId": id, "fileNamePrefix": "shared/", "validDurationInSeconds": 60}))
        .await
        .expect("auth");
    let token = auth["authorizationToken"].as_str().expect("token");
    let ok = b2.http.get(format!("{}/file/share-bucket/shared/a.txt?Authorization={token}", server.url)).send().await.expect("get");
    assert_eq!(ok.status(), 200);
    let head =
        b2.http.head(format!("{}/file/share-bucket/shared/a.txt", server.url)).header("Authorization", token).send().await.expect("head");
    assert_eq!(head.status(), 200);
    let outside = b2.http.get(format!("{}/file/share-bucket/hidden/b.txt?Authorization={token}", server.url)).send().await.expect("get");
    assert_eq!(outside.status(), 401);
    // A download token is not an account token.
    let r = reqwest::Client::new()
        .post(format!("{}/b2api/v2/b2_list_file_names", server.url))
        .header("Authorization", token)
        .json(&json!({"bucketId": id}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let r = b2.call("b2_get_download_authorization", json!({"bucketId": id, "fileNamePrefix": "", "validDurationInSeconds": 604801})).await;
    assert_eq!(r.err().map(|f| f.status), Some(400));
    let overrides = b2
        .http
        .get(format!("{}/file/share-bucket/shared/a.txt?Authorization={token}&b2ContentDisposition=attachment", server.url))
        .send()
        .await
        .expect("get");
    assert_eq!(overrides.headers()["content-disposition"], "attachment");

    // Public buckets need no token.
    let pub_id = b2.create_bucket("public-bucket", "allPublic").await["bucketId"].as_str().expect("id").to_string();
    let f = b2.upload(&pub_id, "open.txt", b"open").await.expect("upload");
    assert_eq!(reqwest::get(format!("{}/file/public-bucket/open.txt", server.url)).await.expect("get").status(), 200);
    let by_id = reqwest::get(format!("{}/b2api/v1/b2_download_file_by_id?fileId={}", server.url, f["fileId"].as_str().expect("id")))
        .await
        .expect("get");
    assert_eq!(by_id.status(), 200);

    // Object lock: retention blocks deletes (governance unless bypassed), legal hold blocks too.
    let lock = b2
        .call(
            "b2_create_bucket",
            json!({"accountId": b2.account_id, "bucketName": "locked-bucket", "bucketType": "allPrivate", "fileLockEnabled": true}),
        )
        .await
        .expect("create");
    assert_eq!(lock["fileLockConfiguration"]["value"]["isFileLockEnabled"], true);
    let lock_id = lock["bucketId"].as_str().expect("id").to_string();
    let off = b2.call("b2_update_bucket", json!({"accountId": b2.account_id, "bucketId": lock_id, "fileLockEnabled": false})).await;
    assert_eq!(off.err().map(|f| f.code), Some("file_lock_conflict".into()));
    let until =
        (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_millis() as i64 + 86_400_000).to_string();
    let kept = b2
        .upload_with(
            &lock_id,
            "kept.txt",
            b"kept",
            &[("X-Bz-File-Retention-Mode", "governance"), ("X-Bz-File-Retention-Retain-Until-Timestamp", &until)],
        )
        .await
        .expect("upload");
    assert_eq!(kept["fileRetention"]["value"]["mode"], "governance");
    let r = b2.call("b2_delete_file_version", json!({"fileId": kept["fileId"], "fileName": "kept.txt"})).await;
    assert_eq!(r.err().map(|f| (f.status, f.code)), Some((401, "access_denied".into())));
    let held = b2
        .call("b2_update_file_legal_hold", json!({"fileId": kept["fileId"], "fileName": "kept.txt", "legalHold": "on"}))
        .await
        .expect("hold");
    assert_eq!(held["legalHold"], "on");
    let r = b2.call("b2_delete_file_version", json!({"fileId": kept["fileId"], "fileName": "kept.txt", "bypassGovernance": true})).await;
    assert_eq!(r.err().map(|f| f.code), Some("access_denied".into()));
    b2.call("b2_update_file_legal_hold", json!({"fileId": kept["fileId"], "fileName": "kept.txt", "legalHold": "off"}))
        .await
        .expect("release");
    b2.call("b2_delete_file_version", json!({"fileId": kept["fileId"], "fileName": "kept.txt", "bypassGovernance": true}))
        .await
        .expect("bypass delete");
    // Retention updates: extend freely; shorten governance only with bypass; compliance only extends.
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("time").as_millis() as i64;
    let gov = b2.upload(&lock_id, "gov.txt", b"g").await.expect("upload");
    let set = |file: &Value, mode: &str, until: i64, bypass: bool| {
        b2.call("b2_update_file_retention", json!({"fileId": file["fileId"], "fileName": file["fileName"], "fileRetention": {"mode": mode, "retainUntilTimestamp": until}, "bypassGovernance": bypass}))
    };
    assert_eq!(set(&gov, "governance", now_ms + 7_200_000, false).await.expect("set")["fileRetention"]["mode"], "governance");
    assert_eq!(set(&gov, "governance", now_ms + 3_600_000, false).await.err().map(|f| f.status), Some(403));
    set(&gov, "governance", now_ms + 3_600_000, true).await.expect("shorten with bypass");
    set(&gov, "compliance", now_ms + 3_600_000, false).await.expect("governance to compliance");
    assert_eq!(set(&gov, "compliance", now_ms + 1_800_000, true).await.err().map(|f| f.status), Some(403));
    assert_eq!(set(&gov, "governance", now_ms + 9_000_000, true).await.err().map(|f| f.status), Some(403));
    set(&gov, "compliance", now_ms + 9_000_000, false).await.expect("extend compliance");
    let r = b2.call("b2_delete_file_version", json!({"fileId": gov["fileId"], "fileName": "gov.txt", "bypassGovernance": true})).await;
    assert_eq!(r.err().map(|f| f.code), Some("access_denied".into()), "compliance cannot be bypassed");
    let resp = b2.download_by_name("locked-bucket", "gov.txt", Some(&b2.token), None).await;
    assert_eq!(resp.headers()["x-bz-file-retention-mode"], "compliance");
    // A bucket default retention applies to new uploads.
    let with_default = b2
        .call("b2_update_bucket", json!({"accountId": b2.account_id, "bucketId": lock_id, "defaultRetention": {"mode": "governance", "period": {"duration": 2, "unit": "days"}}}))
        .await
        .expect("default retention");
    assert_eq!(with_default["fileLockConfiguration"]["value"]["defaultRetention"]["period"], json!({"duration": 2, "unit": "days"}));
    let defaulted = b2.upload(&lock_id, "defaulted.txt", b"d").await.expect("upload");
    assert_eq!(defaulted["fileRetention"]["value"]["mode"], "governance");
    let r = b2.upload_with(&id, "x.txt", b"x", &[("X-Bz-File-Legal-Hold", "on")]).await;
    assert_eq!(r.err().map(|f| f.status), Some(400), "lock settings need a lock-enabled bucket");

    // SSE: bucket default SSE-B2 applies; SSE-C needs the key to read back.
    let upd = b2
        .call(
            "b2_update_bucket",
            json!({"accountId": b2.account_id, "bucketId": id, "defaultServerSideEncryption": {"mode": "SSE-B2", "algorithm": "AES256"}}),
        )
        .await
        .expect("update");
    assert_eq!(upd["defaultServerSideEncryption"]["value"]["mode"], "SSE-B2");
    let enc = b2.upload(&id, "enc.txt", b"enc").await.expect("upload");
    assert_eq!(enc["serverSideEncryption"]["mode"], "SSE-B2");
    let key_b64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let key_md5 = "hRasmdxgYDKV3nvbahU1MA==";
    let sse_c = [
        ("X-Bz-Server-Side-Encryption-Customer-Algorithm", "AES256"),
        ("X-Bz-Server-Side-Encryption-Customer-Key", key_b64),
        ("X-Bz-Server-Side-Encryption-Customer-Key-Md5", key_md5),
    ];
    let c = b2.upload_with(&id, "customer.txt", b"ssec", &sse_c).await;
    let c = c.expect("sse-c upload");
    assert_eq!(c["serverSideEncryption"]["mode"], "SSE-C");
    assert_eq!(b2.download_by_name("share-bucket", "customer.txt", Some(&b2.token), None).await.status(), 403);
    let mut req = b2.http.get(format!("{}/file/share-bucket/customer.txt", server.url)).header("Authorization", &b2.token);
    for (k, v) in sse_c {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.expect("get").bytes().await.expect("body").as_ref(), b"ssec");
}

#[tokio::test]
async fn bad_input_gets_b2_errors_never_500() {
    let server = Server::start().await;
    let b2 = server.root().await;
    let id = b2.create_bucket("input-bucket", "allPrivate").await["bucketId"].as_str().expect("id").to_string();
    assert_eq!(b2.raw_call("b2_list_buckets", "{not json").await.err().map(|f| f.code), Some("bad_json".into()));
    assert_eq!(b2.raw_call("b2_list_buckets", "[1,2]").await.err().map(|f| f.code), Some("bad_json".into()));
    assert_eq!(b2.call("b2_list_file_names", json!({"bucketId": 42})).await.err().map(|f| f.status), Some(400));
    assert_eq!(b2.call("b2_list_file_names", json!({})).await.err().map(|f| f.status), Some(400));
    assert_eq!(b2.call("b2_list_file_names", json!({"bucketId": id, "maxFileCount": "many"})).await.err().map(|f| f.status), Some(400));
    assert_eq!(b2.call("b2_list_file_names", json!({"bucketId": "nope"})).await.err().map(|f| f.code), Some("bad_bucket_id".into()));
    assert_eq!(b2.call("b2_no_such_operation", json!({})).await.err().map(|f| f.status), Some(404));
    assert_eq!(b2.call("b2_list_buckets", json!({"accountId": "someone-else"})).await.err().map(|f| f.status), Some(401));
    let bogus =
        B2 { token: "stw1_forged.token".into(), ..B2::authorize(&server.url, common::ROOT_ID, common::ROOT_KEY, 2).await.expect("auth") };
    assert_eq!(
        bogus.call("b2_list_buckets", json!({"accountId": b2.account_id})).await.err().map(|f| f.code),
        Some("bad_auth_token".into())
    );
    let resp = b2
        .http
        .post(format!("{}/b2api/v2/b2_list_buckets", server.url))
        .header("X-Bz-Test-Mode", "force_cap_exceeded")
        .header("Authorization", &b2.token)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 403);
    // Upload without the required headers.
    let target = b2.call("b2_get_upload_url", json!({"bucketId": id})).await.expect("url");
    let resp = b2
        .http
        .post(target["uploadUrl"].as_str().expect("url"))
        .header("Authorization", target["authorizationToken"].as_str().expect("t"))
        .body("x")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    let resp = b2.http.post(target["uploadUrl"].as_str().expect("url")).body("x").send().await.expect("send");
    assert_eq!(resp.status(), 401);
    // An upload token only works for its own bucket.
    let other = b2.create_bucket("other-input-bucket", "allPrivate").await["bucketId"].as_str().expect("id").to_string();
    let resp = b2
        .http
        .post(format!("{}/b2api/v2/b2_upload_file/{other}", server.url))
        .header("Authorization", target["authorizationToken"].as_str().expect("t"))
        .header("X-Bz-File-Name", "x")
        .header("X-Bz-Content-Sha1", "do_not_verify")
        .body("x")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 401);
    let metrics = reqwest::get(format!("{}/_metrics", server.url)).await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("stowage_requests_total{op=\"b2_list_file_names\",status=\"400\"}"));
    assert!(!metrics.contains("status=\"500\""), "no request ended in a 500:\n{metrics}");
}

#[tokio::test]
async fn lifecycle_rules_run_on_the_test_clock() {
    let server = Server::start().await;
    let b2 = server.root().await;
    let rules = json!([
        {"fileNamePrefix": "tmp/", "daysFromUploadingToHiding": 1, "daysFromHidingToDeleting": 1},
        {"fileNamePrefix": "big/", "daysFromStartingToCancelingUnfinishedLargeFiles": 2}
    ]);
    let bucket = b2
        .call(
            "b2_create_bucket",
            json!({"accountId": b2.account_id, "bucketName": "cycle-bucket", "bucketType": "allPrivate", "lifecycleRules": rules}),
        )
        .await
        .expect("create");
    let id = bucket["bucketId"].as_str().expect("id").to_string();
    // Lifecycle actions are event notifications too: a webhook receiver collects them.
    let (hook, received) = webhook_receiver().await;
    let rule = json!({"name": "lifecycle-events", "isEnabled": true, "objectNamePrefix": "tmp/",
        "eventTypes": ["b2:HideMarkerCreated:LifecycleRule", "b2:ObjectDeleted:LifecycleRule"],
        "targetConfiguration": {"targetType": "webhook", "url": hook}});
    b2.call("b2_set_bucket_notification_rules", json!({"bucketId": id, "eventNotificationRules": [rule]})).await.expect("rules");
    b2.upload(&id, "tmp/old.txt", b"old").await.expect("upload");
    b2.upload(&id, "keep/forever.txt", b"keep").await.expect("upload");
    b2.call("b2_start_large_file", json!({"bucketId": id, "fileName": "big/unfinished.bin", "contentType": "b2/x-auto"}))
        .await
        .expect("start");
    let http = reqwest::Client::new();
    let run = || async {
        http.post(format!("{}/_test/lifecycle/run", server.url)).send().await.expect("run").json::<Value>().await.expect("json")
    };
    assert_eq!(run().await, json!({"hidden": 0, "deleted": 0, "canceled": 0}));
    http.post(format!("{}/_test/clock/advance?days=1", server.url)).send().await.expect("advance");
    assert_eq!(run().await["hidden"], 1);
    // A day later the old account token has expired, as on B2.
    let expired = b2.call("b2_list_file_names", json!({"bucketId": id})).await;
    assert_eq!(expired.err().map(|f| f.code), Some("expired_auth_token".into()));
    let b2 = server.root().await;
    let names = b2.call("b2_list_file_names", json!({"bucketId": id})).await.expect("list");
    assert_eq!(names["files"].as_array().map(Vec::len), Some(1));
    http.post(format!("{}/_test/clock/advance?days=2", server.url)).send().await.expect("advance");
    let report = run().await;
    let b2 = server.root().await;
    assert_eq!(report["canceled"], 1);
    assert_eq!(report["deleted"], 2, "the hidden upload and then its hide marker");
    let versions = b2.call("b2_list_file_versions", json!({"bucketId": id})).await.expect("versions");
    let left: Vec<&str> = versions["files"].as_array().expect("files").iter().filter_map(|f| f["fileName"].as_str()).collect();
    assert_eq!(left, ["keep/forever.txt"]);
    let mut events = Vec::new();
    for _ in 0..100 {
        events = received.lock().map(|r| r.clone()).unwrap_or_default();
        if events.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let kinds: Vec<(String, String)> =
        events.iter().map(|e| (e["eventType"].as_str().unwrap_or("").into(), e["objectName"].as_str().unwrap_or("").into())).collect();
    assert_eq!(
        kinds,
        [
            ("b2:HideMarkerCreated:LifecycleRule".to_string(), "tmp/old.txt".to_string()),
            ("b2:ObjectDeleted:LifecycleRule".into(), "tmp/old.txt".into()),
            ("b2:ObjectDeleted:LifecycleRule".into(), "tmp/old.txt".into()),
        ]
    );
}

/// A local webhook endpoint: its URL, and the events POSTed to it so far.
async fn webhook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| async move {
            let parsed: Value = serde_json::from_slice(&body).expect("webhook body is JSON");
            sink.lock().expect("lock").extend(parsed["events"].as_array().cloned().unwrap_or_default());
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (url, received)
}

#[tokio::test]
async fn data_and_keys_survive_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = Server::start_on(dir.path(), None).await;
    let b2 = server.root().await;
    let id = b2.create_bucket("durable-bucket", "allPrivate").await["bucketId"].as_str().expect("id").to_string();
    b2.upload(&id, "kept.txt", b"still here").await.expect("upload");
    let key = b2
        .call(
            "b2_create_key",
            json!({"accountId": b2.account_id, "keyName": "survivor", "capabilities": ["listBuckets", "listFiles", "readFiles"]}),
        )
        .await
        .expect("key");
    let port = server.port();
    server.kill();
    let server = Server::start_on(dir.path(), Some(port)).await;
    // Tokens are stateless and signed with a persisted secret: the old token still works.
    let resp = b2.download_by_name("durable-bucket", "kept.txt", Some(&b2.token), None).await;
    assert_eq!(resp.bytes().await.expect("body").as_ref(), b"still here");
    let client = B2::authorize(&server.url, key["applicationKeyId"].as_str().expect("id"), key["applicationKey"].as_str().expect("key"), 4)
        .await
        .expect("auth");
    let names = client.call("b2_list_file_names", json!({"bucketId": id})).await.expect("list");
    assert_eq!(names["files"][0]["fileName"], "kept.txt");
    // Key secrets are sealed under the master key in the metadata store: neither the created key's secret
    // nor the root key's appears in the database files.
    let secret = key["applicationKey"].as_str().expect("key");
    assert!(!metadata_containing(dir.path(), secret.as_bytes()), "an application key secret is stored in the clear");
    assert!(!metadata_containing(dir.path(), common::ROOT_KEY.as_bytes()), "the root key secret is stored in the clear");
}

/// Every blob file under the data directory whose bytes contain `needle`.
fn blobs_containing(data: &std::path::Path, needle: &[u8]) -> usize {
    let mut found = 0;
    let blobs = common::blob_dir(data);
    for shard in 0..=255u8 {
        for entry in std::fs::read_dir(blobs.join(format!("{shard:02x}"))).expect("read") {
            let bytes = std::fs::read(entry.expect("entry").path()).expect("blob");
            if bytes.windows(needle.len()).any(|w| w == needle) {
                found += 1;
            }
        }
    }
    found
}

#[tokio::test]
async fn encryption_at_rest_sse_b2_and_sse_c() {
    let server = Server::start().await;
    let b2 = server.root().await;
    let plain_id = b2.create_bucket("plain-bucket", "allPrivate").await["bucketId"].as_str().expect("id").to_string();
    let sealed = b2
        .call("b2_create_bucket", json!({"accountId": b2.account_id, "bucketName": "sealed-bucket", "bucketType": "allPrivate", "defaultServerSideEncryption": {"mode": "SSE-B2", "algorithm": "AES256"}}))
        .await
        .expect("create");
    let sealed_id = sealed["bucketId"].as_str().expect("id").to_string();
    let marker = b"PLAINTEXT-MARKER-0123456789".repeat(10_000);

    b2.upload(&plain_id, "visible.bin", &marker).await.expect("upload");
    assert_eq!(blobs_containing(&server.data, b"PLAINTEXT-MARKER-0123456789"), 1, "unencrypted blobs hold plaintext");
    let file = b2.upload(&sealed_id, "secret.bin", &marker).await.expect("upload");
    assert_eq!(file["serverSideEncryption"]["mode"], "SSE-B2");
    let key_b64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let sse_c = [
        ("X-Bz-Server-Side-Encryption-Customer-Algorithm", "AES256"),
        ("X-Bz-Server-Side-Encryption-Customer-Key", key_b64),
        ("X-Bz-Server-Side-Encryption-Customer-Key-Md5", "hRasmdxgYDKV3nvbahU1MA=="),
    ];
    b2.upload_with(&plain_id, "customer.bin", &marker, &sse_c).await.expect("upload");
    assert_eq!(blobs_containing(&server.data, b"PLAINTEXT-MARKER-0123456789"), 1, "SSE-B2 and SSE-C blobs are sealed");

    // Reads decrypt, whole and by range (across 64 KiB segments).
    let resp = b2.download_by_name("sealed-bucket", "secret.bin", Some(&b2.token), None).await;
    assert_eq!(resp.headers()["x-bz-server-side-encryption"], "AES256");
    assert_eq!(resp.bytes().await.expect("body").to_vec(), marker);
    let resp = b2.download_by_name("sealed-bucket", "secret.bin", Some(&b2.token), Some("bytes=65530-131080")).await;
    assert_eq!(resp.bytes().await.expect("body").to_vec(), marker[65530..=131080].to_vec());
    let mut req = b2
        .http
        .get(format!("{}/file/plain-bucket/customer.bin", server.url))
        .header("Authorization", &b2.token)
        .header("Range", "bytes=100000-");
    for (k, v) in sse_c {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.expect("get").bytes().await.expect("body").to_vec(), marker[100_000..].to_vec());
    let wrong = [
        sse_c[0],
        ("X-Bz-Server-Side-Encryption-Customer-Key", "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="),
        ("X-Bz-Server-Side-Encryption-Customer-Key-Md5", "x"),
    ];
    let mut req = b2.http.get(format!("{}/file/plain-bucket/customer.bin", server.url)).header("Authorization", &b2.token);
    for (k, v) in wrong {
        req = req.header(k, v);
    }
    assert_eq!(req.send().await.expect("get").status(), 400, "a malformed key MD5 is a bad request");

    // Copies re-seal under the destination's settings; large files seal every part.
    let copy = b2
        .call("b2_copy_file", json!({"sourceFileId": file["fileId"], "fileName": "copy.bin", "destinationBucketId": plain_id}))
        .await
        .expect("copy");
    assert_eq!(copy["serverSideEncryption"]["mode"], Value::Null);
    assert_eq!(copy["contentSha1"], sha1_hex(&marker));
    let start = b2
        .call("b2_start_large_file", json!({"bucketId": sealed_id, "fileName": "large.bin", "contentType": "b2/x-auto"}))
        .await
        .expect("start");
    let parts = [marker.repeat(20), b"the end".to_vec()];
    let mut sha1s = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let target = b2.call("b2_get_upload_part_url", json!({"fileId": start["fileId"]})).await.expect("url");
        let resp = b2
            .http
            .post(target["uploadUrl"].as_str().expect("url"))
            .header("Authorization", target["authorizationToken"].as_str().expect("t"))
            .header("X-Bz-Part-Number", (i + 1).to_string())
            .header("X-Bz-Content-Sha1", sha1_hex(part))
            .body(part.clone())
            .send()
            .await
            .expect("part");
        assert_eq!(resp.status(), 200);
        sha1s.push(sha1_hex(part));
    }
    b2.call("b2_finish_large_file", json!({"fileId": start["fileId"], "partSha1Array": sha1s})).await.expect("finish");
    let whole: Vec<u8> = parts.concat();
    let resp = b2.download_by_name("sealed-bucket", "large.bin", Some(&b2.token), Some("bytes=5399990-")).await;
    assert_eq!(resp.bytes().await.expect("body").to_vec(), whole[5_399_990..].to_vec());
    assert_eq!(blobs_containing(&server.data, b"PLAINTEXT-MARKER-0123456789"), 2, "only the two unencrypted files hold plaintext");

    // Small bodies are kept in the metadata database rather than as files: sealed there too.
    let small_marker = b"SMALL-SECRET-MARKER-9876543210";
    b2.upload(&plain_id, "small-plain.txt", small_marker).await.expect("upload");
    assert!(metadata_containing(&server.data, small_marker), "a small unencrypted body is stored as is");
    let small_sealed = b"SEALED-SMALL-MARKER-1357924680";
    b2.upload(&sealed_id, "small-sealed.txt", small_sealed).await.expect("upload");
    assert!(!metadata_containing(&server.data, small_sealed), "a small sealed body is stored encrypted");
    let resp = b2.download_by_name("sealed-bucket", "small-sealed.txt", Some(&b2.token), None).await;
    assert_eq!(resp.bytes().await.expect("body").to_vec(), small_sealed.to_vec());
}

/// Whether the metadata database (with its write-ahead log) holds `needle` anywhere.
fn metadata_containing(data: &std::path::Path, needle: &[u8]) -> bool {
    let holds = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    // A node of a PostgreSQL deployment (STOWAGE_TEST_PG): its whole database, dumped (bytea as hex).
    if let Ok(url) = std::fs::read_to_string(data.join("test-meta-url")) {
        let dump = std::process::Command::new(stowage_store::testing::program("pg_dump"))
            .args(["--data-only", url.trim()])
            .output()
            .expect("pg_dump");
        assert!(dump.status.success(), "pg_dump failed");
        return holds(&dump.stdout, needle) || holds(&dump.stdout, hex::encode(needle).as_bytes());
    }
    ["metadata.sqlite3", "metadata.sqlite3-wal"]
        .iter()
        .any(|name| std::fs::read(data.join(name)).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle)))
}
