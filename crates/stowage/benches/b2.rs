//! B2 API benchmark against the release binary, with this machine's baselines measured beside it.
//!
//! `cargo bench --bench b2` prints: the disk's fdatasync write speed and page-cache read speed (dd), then
//! single-stream upload and download MB/s of a 1 GB file, 4 KiB uploads/s with 16 clients, the time of a
//! 1000-name list_file_names page over 100 000 files, and the server's RSS (idle, during the upload, peak).
//! Sizes: STOWAGE_BENCH_MB (default 1024), STOWAGE_BENCH_FILES (default 100000), STOWAGE_BENCH_PAGES (list
//! pages timed, default 50).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

const KEY_ID: &str = "benchrootid";
const KEY: &str = "benchrootsecret";
const CHUNK: usize = 1 << 20;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// dd's own MB/s figure from its last stderr line.
fn dd(args: &[&str]) -> f64 {
    let out = Command::new("dd").args(args).stderr(Stdio::piped()).output().expect("dd");
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().last().unwrap_or("");
    let mut parts = line.rsplit(", ");
    let speed = parts.next().unwrap_or("0 MB/s");
    let mut it = speed.split_whitespace();
    let value: f64 = it.next().and_then(|v| v.replace(',', ".").parse().ok()).unwrap_or(0.0);
    match it.next() {
        Some("GB/s") => value * 1000.0,
        Some("kB/s") => value / 1000.0,
        _ => value,
    }
}

fn pattern_chunk(i: usize) -> Bytes {
    let mut buf = vec![0u8; CHUNK];
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for b in buf.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    Bytes::from(buf)
}

/// What one HTTP stream over loopback carries on this machine with this client and no storage behind it: an
/// axum server streaming `mb` MiB of a static buffer in 512 KiB chunks, read and discarded by reqwest.
async fn loopback_http_ceiling(mb: usize) -> f64 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let chunk = Bytes::from(vec![7u8; 512 * 1024]);
    let app =
        axum::Router::new().route(
            "/",
            axum::routing::get(move || {
                let chunk = chunk.clone();
                async move {
                    axum::body::Body::from_stream(futures::stream::iter((0..mb * 2).map(move |_| Ok::<_, std::io::Error>(chunk.clone()))))
                }
            }),
        );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let started = Instant::now();
    let mut resp = reqwest::get(format!("http://{addr}/")).await.expect("loopback");
    let mut got = 0usize;
    while let Some(piece) = resp.chunk().await.expect("chunk") {
        got += piece.len();
    }
    server.abort();
    got as f64 / 1e6 / started.elapsed().as_secs_f64()
}

struct Client {
    http: reqwest::Client,
    url: String,
    token: String,
}

impl Client {
    async fn call(&self, op: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}/b2api/v2/{op}", self.url))
            .header("Authorization", &self.token)
            .json(&body)
            .send()
            .await
            .expect("call");
        assert!(resp.status().is_success(), "{op}: {}", resp.status());
        resp.json().await.expect("json")
    }
}

#[tokio::main]
async fn main() {
    let mb = env_usize("STOWAGE_BENCH_MB", 1024);
    let files = env_usize("STOWAGE_BENCH_FILES", 100_000);
    let root = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("bench dir");

    println!("== baselines (same disk as the data directory)");
    let dd_file = root.join("dd.bin");
    let dd_path = format!("of={}", dd_file.display());
    let fdatasync = dd(&["if=/dev/zero", &dd_path, "bs=1M", "count=2048", "conv=fdatasync"]);
    let cache_in = format!("if={}", dd_file.display());
    dd(&[&cache_in, "of=/dev/null", "bs=1M"]);
    let cache_read = dd(&[&cache_in, "of=/dev/null", "bs=1M"]);
    let _ = std::fs::remove_file(&dd_file);
    println!("dd write 2 GiB conv=fdatasync   {fdatasync:8.0} MB/s");
    println!("dd read, page cache             {cache_read:8.0} MB/s");
    let http_ceiling = loopback_http_ceiling(mb).await;
    println!("HTTP over loopback, no disk     {http_ceiling:8.0} MB/s   (axum server, this client)");

    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let url = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_stowage"))
        .args(["serve", "--data", root.join("data").to_str().expect("path"), "--listen", &format!("127.0.0.1:{port}")])
        .env("STOWAGE_ROOT_KEY_ID", KEY_ID)
        .env("STOWAGE_ROOT_KEY", KEY)
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn server");
    let pid = child.id();
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client");
    while http.get(format!("{url}/_health")).send().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let auth: Value = http
        .get(format!("{url}/b2api/v2/b2_authorize_account"))
        .basic_auth(KEY_ID, Some(KEY))
        .send()
        .await
        .expect("auth")
        .json()
        .await
        .expect("json");
    let client =
        Arc::new(Client { http: http.clone(), url: url.clone(), token: auth["authorizationToken"].as_str().expect("token").into() });
    let bucket = client
        .call("b2_create_bucket", json!({"accountId": auth["accountId"], "bucketName": "bench-bucket", "bucketType": "allPrivate"}))
        .await;
    let bucket_id = bucket["bucketId"].as_str().expect("id").to_string();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_kib(pid, "VmRSS:");
    println!("\n== Stowage B2 API (durable: fsync file + dir, SQLite synchronous=FULL)");
    println!("RSS idle                        {:8.1} MB", idle_rss as f64 / 1024.0);

    // Single-stream upload of one large file, SHA-1 given up front and verified by the server.
    let mut sha = Sha1::new();
    for i in 0..mb {
        sha.update(pattern_chunk(i));
    }
    let sha_hex = hex::encode(sha.finalize());
    let target = client.call("b2_get_upload_url", json!({"bucketId": bucket_id})).await;
    let sampling = Arc::new(AtomicBool::new(true));
    let max_rss = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (sampling, max_rss) = (sampling.clone(), max_rss.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                max_rss.fetch_max(rss_kib(pid, "VmRSS:"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let body = futures::stream::iter((0..mb).map(|i| Ok::<_, std::io::Error>(pattern_chunk(i))));
    let started = Instant::now();
    let resp = http
        .post(target["uploadUrl"].as_str().expect("url"))
        .header("Authorization", target["authorizationToken"].as_str().expect("token"))
        .header("X-Bz-File-Name", "big.bin")
        .header("Content-Type", "application/octet-stream")
        .header("X-Bz-Content-Sha1", &sha_hex)
        .header("Content-Length", (mb * CHUNK).to_string())
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .expect("upload");
    let upload_secs = started.elapsed().as_secs_f64();
    assert!(resp.status().is_success(), "upload {}", resp.status());
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let upload_mbs = (mb * CHUNK) as f64 / 1e6 / upload_secs;
    println!("upload {mb} MiB, one stream       {upload_mbs:8.0} MB/s   ({:.0} % of dd fdatasync)", upload_mbs / fdatasync * 100.0);
    println!("RSS max during that upload      {:8.1} MB", max_rss.load(Ordering::Relaxed) as f64 / 1024.0);

    // Download it back (page cache warm, as dd's read above).
    let started = Instant::now();
    let mut resp =
        http.get(format!("{url}/file/bench-bucket/big.bin")).header("Authorization", &client.token).send().await.expect("download");
    let mut got = 0usize;
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        got += chunk.len();
    }
    let download_mbs = got as f64 / 1e6 / started.elapsed().as_secs_f64();
    assert_eq!(got, mb * CHUNK);
    println!(
        "download {mb} MiB, one stream     {download_mbs:8.0} MB/s   ({:.0} % of page-cache read, {:.0} % of loopback HTTP)",
        download_mbs / cache_read * 100.0,
        download_mbs / http_ceiling * 100.0
    );

    // Small uploads: 16 clients, each with its own upload URL, uploading 4 KiB files.
    let small_total = files.max(4000);
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..16 {
        let (client, bucket_id, counter) = (client.clone(), bucket_id.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let target = client.call("b2_get_upload_url", json!({"bucketId": bucket_id})).await;
            let (upload_url, token) =
                (target["uploadUrl"].as_str().expect("url").to_string(), target["authorizationToken"].as_str().expect("t").to_string());
            let data = vec![w as u8; 4096];
            let sha = hex::encode(Sha1::digest(&data));
            loop {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if n >= small_total as u64 {
                    break;
                }
                let resp = client
                    .http
                    .post(&upload_url)
                    .header("Authorization", &token)
                    .header("X-Bz-File-Name", format!("small/{n:08}.bin"))
                    .header("Content-Type", "application/octet-stream")
                    .header("X-Bz-Content-Sha1", &sha)
                    .body(data.clone())
                    .send()
                    .await
                    .expect("small upload");
                assert!(resp.status().is_success());
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let small_secs = started.elapsed().as_secs_f64();
    println!(
        "4 KiB uploads, 16 clients       {:8.0} uploads/s ({small_total} files in {small_secs:.1} s)",
        small_total as f64 / small_secs
    );

    // list_file_names pages of 1000 names over those files, from spread-out start names.
    let mut page_ms = Vec::new();
    for i in 0..env_usize("STOWAGE_BENCH_PAGES", 50) {
        let start = format!("small/{:08}.bin", (i * 7919 * 13) % small_total);
        let started = Instant::now();
        let page = client.call("b2_list_file_names", json!({"bucketId": bucket_id, "startFileName": start, "maxFileCount": 1000})).await;
        page_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        assert!(!page["files"].as_array().expect("files").is_empty());
    }
    page_ms.sort_by(f64::total_cmp);
    println!(
        "list_file_names 1000 of {small_total}  {:8.2} ms median, {:.2} ms p90",
        page_ms[page_ms.len() / 2],
        page_ms[page_ms.len() * 9 / 10]
    );
    println!("RSS peak (VmHWM)                {:8.1} MB", rss_kib(pid, "VmHWM:") as f64 / 1024.0);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&root);
}
