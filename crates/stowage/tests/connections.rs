//! Connections that never finish a request, sit idle, or come in excess: slowloris and idle keep-alive
//! connections are closed after the header timeout, excess connections get a 503 answer, and normal
//! requests keep being served throughout.

mod common;

use std::time::{Duration, Instant};

use common::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FLAGS: &[&str] = &["--header-timeout", "2", "--max-connections", "40", "--body-timeout", "2"];

/// Waits for the server to close `conn`; returns how long that took.
async fn closed_within(mut conn: TcpStream, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => panic!("connection still open after {limit:?}"),
        }
    }
}

async fn health_ok(server: &Server) {
    let started = Instant::now();
    let resp = reqwest::get(format!("{}/_health", server.url)).await.expect("health");
    assert_eq!(resp.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(1), "health took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_idle_and_excess_connections_are_bounded() {
    let server = Server::start_with(FLAGS).await;
    let addr = ("127.0.0.1", server.port());

    // Slowloris: a partial request line, then one byte every 300 ms, never finishing the headers.
    let mut slow = Vec::new();
    for _ in 0..10 {
        let mut conn = TcpStream::connect(addr).await.expect("connect");
        conn.write_all(b"GET /_health HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.expect("write");
        slow.push(tokio::spawn(async move {
            let started = Instant::now();
            while conn.write_all(b"a").await.is_ok() && started.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            started.elapsed()
        }));
    }
    // Idle keep-alive connections after one complete request.
    let mut idle = Vec::new();
    for _ in 0..10 {
        let mut conn = TcpStream::connect(addr).await.expect("connect");
        conn.write_all(b"GET /_health HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("request");
        let mut buf = [0u8; 512];
        let n = conn.read(&mut buf).await.expect("answer");
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        idle.push(tokio::spawn(closed_within(conn, Duration::from_secs(8))));
    }
    health_ok(&server).await;
    for task in slow {
        let lasted = task.await.expect("slowloris");
        assert!(lasted < Duration::from_secs(6), "a slowloris connection lasted {lasted:?}");
    }
    for task in idle {
        let lasted = task.await.expect("idle");
        assert!(lasted >= Duration::from_millis(1500), "idle connection closed too early ({lasted:?})");
    }

    // An upload whose body stalls part-way is failed, not held open.
    let b2 = server.root().await;
    let bucket = b2.create_bucket("stall-bucket", "allPrivate").await;
    let target = b2.call("b2_get_upload_url", serde_json::json!({"bucketId": bucket["bucketId"]})).await.expect("upload url");
    let path = target["uploadUrl"]
        .as_str()
        .and_then(|u| u.split_once("://"))
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, p)| p)
        .expect("path");
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /{path} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nX-Bz-File-Name: stalled.bin\r\nX-Bz-Content-Sha1: do_not_verify\r\nContent-Length: 1000\r\n\r\n0123456789",
        target["authorizationToken"].as_str().expect("token")
    );
    conn.write_all(head.as_bytes()).await.expect("write");
    let started = Instant::now();
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(8), conn.read_to_string(&mut answer)).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "stalled upload answered: {answer}");
    assert!(started.elapsed() < Duration::from_secs(6), "stalled upload held {:?}", started.elapsed());

    // Past the limit: 40 held connections, then the next ones are told 503 in B2's JSON shape.
    let mut held = Vec::new();
    for _ in 0..40 {
        let conn = TcpStream::connect(addr).await.expect("connect");
        held.push(conn);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(addr).await.expect("connect past the limit");
    extra.write_all(b"GET /_health HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), extra.read_to_string(&mut answer)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"code\":\"service_unavailable\"") && answer.contains("Retry-After: 1"), "{answer}");
    // Slots come back when connections go: a normal request is served again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(300)).await;
    health_ok(&server).await;
}

#[tokio::test]
async fn readiness_is_reported_apart_from_liveness() {
    let server = Server::start().await;
    let ready = reqwest::get(format!("{}/_health/ready", server.url)).await.expect("ready");
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!((body["ready"].as_bool(), body["metadata"].as_str(), body["blobs"].as_str()), (Some(true), Some("ok"), Some("ok")));
    // The blob directory goes away (an unmounted share): not ready, still alive.
    let blobs = server.blob_dir();
    let aside = server.data.join("blobs-aside");
    std::fs::rename(&blobs, &aside).expect("move blobs");
    let not_ready = reqwest::get(format!("{}/_health/ready", server.url)).await.expect("ready");
    assert_eq!(not_ready.status(), 503);
    let body: serde_json::Value = not_ready.json().await.expect("json");
    assert_eq!((body["metadata"].as_str(), body["blobs"].as_str()), (Some("ok"), Some("unavailable")));
    let live = reqwest::get(format!("{}/_health/live", server.url)).await.expect("live");
    assert_eq!(live.status(), 200);
    std::fs::rename(&aside, &blobs).expect("move back");
    assert_eq!(reqwest::get(format!("{}/_health/ready", server.url)).await.expect("ready").status(), 200);
}
