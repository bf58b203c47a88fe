//! Large-file state changes racing each other with garbage collection running: every acknowledged
//! result must hold afterwards. Each round fires the calls of one pair at the same moment.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::{B2, Server, sha1_hex};
use serde_json::{Value, json};

/// Rounds per race (`STOWAGE_RACE_ROUNDS` for a longer hunt).
fn rounds() -> usize {
    std::env::var("STOWAGE_RACE_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(60)
}
const MIN_PART: usize = 1024;

fn part_bytes(round: usize, seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed).wrapping_add(round as u8)).collect()
}

/// Calls `/_test/gc/run` in a loop until dropped, so collection runs between every step of the races.
struct GcLoop {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<usize>,
}

impl GcLoop {
    fn start(url: &str) -> GcLoop {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, url) = (stop.clone(), format!("{url}/_test/gc/run"));
        let task = tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut runs = 0;
            while !flag.load(Ordering::Relaxed) {
                let resp = http.post(&url).send().await.expect("gc run");
                assert_eq!(resp.status(), 200, "garbage collection failed: {}", resp.text().await.unwrap_or_default());
                runs += 1;
            }
            runs
        });
        GcLoop { stop, task }
    }

    async fn finish(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("gc loop")
    }
}

async fn start_large(b2: &B2, bucket_id: &str, name: &str) -> String {
    let started = b2
        .call("b2_start_large_file", json!({"bucketId": bucket_id, "fileName": name, "contentType": "application/octet-stream"}))
        .await
        .expect("start large file");
    started["fileId"].as_str().expect("fileId").to_string()
}

/// An upload-part URL and its token.
async fn part_target(b2: &B2, file_id: &str) -> (String, String) {
    let t = b2.call("b2_get_upload_part_url", json!({"fileId": file_id})).await.expect("part url");
    (t["uploadUrl"].as_str().expect("url").to_string(), t["authorizationToken"].as_str().expect("token").to_string())
}

async fn upload_part(b2: &B2, target: &(String, String), number: u32, data: &[u8]) -> u16 {
    b2.http
        .post(&target.0)
        .header("Authorization", &target.1)
        .header("X-Bz-Part-Number", number.to_string())
        .header("X-Bz-Content-Sha1", sha1_hex(data))
        .body(data.to_vec())
        .send()
        .await
        .expect("upload part")
        .status()
        .as_u16()
}

async fn finish(b2: &B2, file_id: &str, parts: [&[u8]; 2]) -> Result<Value, common::Fail> {
    let sha1s: Vec<String> = parts.iter().map(|p| sha1_hex(p)).collect();
    b2.call("b2_finish_large_file", json!({"fileId": file_id, "partSha1Array": sha1s})).await
}

async fn download(b2: &B2, file_id: &str) -> (u16, Vec<u8>) {
    let resp = b2
        .http
        .get(format!("{}/b2api/v4/b2_download_file_by_id?fileId={file_id}", b2.url))
        .header("Authorization", &b2.token)
        .send()
        .await
        .expect("download");
    let status = resp.status().as_u16();
    // A body cut short by a missing blob is an error here, not a short read.
    let body = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_else(|e| panic!("download of {file_id} broke off: {e}"));
    (status, body)
}

/// What a round acknowledged, checked once every race has run and garbage has been collected.
enum Expect {
    Finished { file_id: String, body: Vec<u8> },
    Gone { file_id: String },
}

async fn check_all(b2: &B2, server: &Server, expectations: &[Expect]) {
    // Collect everything queued, twice over, before looking.
    for _ in 0..2 {
        let resp = reqwest::Client::new().post(format!("{}/_test/gc/run", server.url)).send().await.expect("gc");
        assert_eq!(resp.status(), 200);
    }
    for expect in expectations {
        match expect {
            Expect::Finished { file_id, body } => {
                let (status, got) = download(b2, file_id).await;
                assert_eq!(status, 200, "acknowledged finished file {file_id} is not downloadable");
                assert!(got == *body, "acknowledged finished file {file_id} has other bytes ({} vs {})", got.len(), body.len());
            }
            Expect::Gone { file_id } => {
                let info = b2.call("b2_get_file_info", json!({"fileId": file_id})).await;
                assert!(info.is_err(), "canceled large file {file_id} still exists: {info:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn b2_finish_races_part_uploads_and_cancels() {
    let server = Server::start_with(&["--min-part-size", &MIN_PART.to_string(), "--recommended-part-size", "4096"]).await;
    let b2 = server.root().await;
    let bucket = b2.create_bucket("race-b2", "allPrivate").await;
    let bucket_id = bucket["bucketId"].as_str().expect("bucketId").to_string();
    let gc = GcLoop::start(&server.url);
    let mut expectations = Vec::new();
    let (mut both_acknowledged, mut finish_won, mut cancel_won) = (0, 0, 0);

    for round in 0..rounds() {
        let (part1, part2) = (part_bytes(round, 1, 2 * MIN_PART), part_bytes(round, 2, MIN_PART / 2));

        // Finish racing a re-upload of part 1 with the same bytes: both may succeed, and the finished file
        // must then still read whole once the replaced part's blob is collected.
        let file_id = start_large(&b2, &bucket_id, &format!("same/{round}")).await;
        let target = part_target(&b2, &file_id).await;
        assert_eq!(upload_part(&b2, &target, 1, &part1).await, 200);
        assert_eq!(upload_part(&b2, &target, 2, &part2).await, 200);
        let (finished, reuploaded) = tokio::join!(finish(&b2, &file_id, [&part1, &part2]), upload_part(&b2, &target, 1, &part1));
        let finished = finished.expect("finish with matching SHA-1s");
        assert_eq!(finished["action"], "upload");
        if reuploaded == 200 {
            both_acknowledged += 1;
        }
        expectations.push(Expect::Finished { file_id, body: [part1.clone(), part2.clone()].concat() });

        // Finish racing a re-upload of part 1 with other bytes: the finish holds exactly the parts whose
        // SHA-1s it named, or fails because part 1 changed under it.
        let other = part_bytes(round, 9, 2 * MIN_PART);
        let file_id = start_large(&b2, &bucket_id, &format!("other/{round}")).await;
        let target = part_target(&b2, &file_id).await;
        assert_eq!(upload_part(&b2, &target, 1, &part1).await, 200);
        assert_eq!(upload_part(&b2, &target, 2, &part2).await, 200);
        let (finished, reuploaded) = tokio::join!(finish(&b2, &file_id, [&part1, &part2]), upload_part(&b2, &target, 1, &other));
        match finished {
            Ok(_) => expectations.push(Expect::Finished { file_id, body: [part1.clone(), part2.clone()].concat() }),
            Err(fail) => {
                assert_eq!(reuploaded, 200, "finish failed ({fail:?}) though part 1 was not replaced");
                finish(&b2, &file_id, [&other, &part2]).await.expect("finish with the new part's SHA-1");
                expectations.push(Expect::Finished { file_id, body: [other, part2.clone()].concat() });
            }
        }

        // Finish, cancel and a second finish together: exactly one of them wins.
        let file_id = start_large(&b2, &bucket_id, &format!("cancel/{round}")).await;
        let target = part_target(&b2, &file_id).await;
        assert_eq!(upload_part(&b2, &target, 1, &part1).await, 200);
        assert_eq!(upload_part(&b2, &target, 2, &part2).await, 200);
        let (first, canceled, second) = tokio::join!(
            finish(&b2, &file_id, [&part1, &part2]),
            b2.call("b2_cancel_large_file", json!({"fileId": file_id})),
            finish(&b2, &file_id, [&part1, &part2]),
        );
        let winners = [first.is_ok(), canceled.is_ok(), second.is_ok()].iter().filter(|w| **w).count();
        assert_eq!(winners, 1, "finish {first:?}, cancel {canceled:?}, finish {second:?}");
        for loser in [&first, &canceled, &second].into_iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(loser.status, 400, "a losing call is refused, not failed: {loser:?}");
        }
        if canceled.is_ok() {
            cancel_won += 1;
            expectations.push(Expect::Gone { file_id });
        } else {
            finish_won += 1;
            expectations.push(Expect::Finished { file_id, body: [part1.clone(), part2.clone()].concat() });
        }
    }
    let gc_runs = gc.finish().await;
    check_all(&b2, &server, &expectations).await;
    eprintln!(
        "{} rounds, {gc_runs} collections: finish+re-upload both acknowledged {both_acknowledged} times; \
         finish won {finish_won}, cancel won {cancel_won}",
        rounds()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_complete_races_upload_part_and_abort() {
    let server = Server::start_with(&["--min-part-size", &MIN_PART.to_string(), "--recommended-part-size", "4096"]).await;
    let b2 = server.root().await;
    let s3 = common::s3_client(&server.url, common::ROOT_ID, common::ROOT_KEY);
    s3.create_bucket().bucket("race-s3").send().await.expect("create bucket");
    // Every completed upload is its own version (as in a B2 bucket) so each can be checked by id.
    common::enable_versioning(&s3, "race-s3").await;
    let gc = GcLoop::start(&server.url);
    let mut expectations = Vec::new();

    for round in 0..rounds() {
        let (part1, part2) = (part_bytes(round, 3, 2 * MIN_PART), part_bytes(round, 4, MIN_PART / 2));
        for abort in [false, true] {
            let key = format!("{}/{round}", if abort { "abort" } else { "reupload" });
            let created = s3.create_multipart_upload().bucket("race-s3").key(&key).send().await.expect("create upload");
            let upload_id = created.upload_id().expect("upload id").to_string();
            let put = |n: i32, data: Vec<u8>| {
                s3.upload_part().bucket("race-s3").key(&key).upload_id(&upload_id).part_number(n).body(ByteStream::from(data)).send()
            };
            let e1 = put(1, part1.clone()).await.expect("part 1").e_tag().expect("etag").to_string();
            let e2 = put(2, part2.clone()).await.expect("part 2").e_tag().expect("etag").to_string();
            let parts = CompletedMultipartUpload::builder()
                .parts(CompletedPart::builder().part_number(1).e_tag(&e1).build())
                .parts(CompletedPart::builder().part_number(2).e_tag(&e2).build())
                .build();
            let complete = s3.complete_multipart_upload().bucket("race-s3").key(&key).upload_id(&upload_id).multipart_upload(parts).send();
            if abort {
                let aborted = s3.abort_multipart_upload().bucket("race-s3").key(&key).upload_id(&upload_id).send();
                let (completed, aborted) = tokio::join!(complete, aborted);
                assert!(completed.is_ok() != aborted.is_ok(), "complete {completed:?} and abort {aborted:?}: exactly one wins");
                if let Ok(done) = completed {
                    let file_id = done.version_id().expect("version id").to_string();
                    expectations.push(Expect::Finished { file_id, body: [part1.clone(), part2.clone()].concat() });
                }
            } else {
                let (completed, _) = tokio::join!(complete, put(1, part1.clone()));
                let file_id = completed.expect("complete with matching ETags").version_id().expect("version id").to_string();
                expectations.push(Expect::Finished { file_id, body: [part1.clone(), part2.clone()].concat() });
            }
        }
    }
    gc.finish().await;
    check_all(&b2, &server, &expectations).await;
    // The aborted uploads are gone from the listing too.
    let listed = s3.list_multipart_uploads().bucket("race-s3").send().await.expect("list uploads");
    assert!(listed.uploads().is_empty(), "uploads left behind: {:?}", listed.uploads());
}
