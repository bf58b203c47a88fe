//! Starts the real `stowage` binary on 127.0.0.1 and talks to it over HTTP.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha1::{Digest, Sha1};

pub const ROOT_ID: &str = "rootkeyid";
pub const ROOT_KEY: &str = "rootkeysecret";

pub struct Server {
    pub url: String,
    pub data: PathBuf,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// With STOWAGE_TEST_PG set, every server is a node of a PostgreSQL deployment: its own database there (kept
/// in `<data>/test-meta-url`, so a restart finds it) and blobs in a directory apart from its own files.
fn cluster_node_args(data: &Path) -> Vec<String> {
    let remembered = data.join("test-meta-url");
    let meta = match std::fs::read_to_string(&remembered) {
        Ok(url) => url,
        Err(_) => {
            let Some(url) = stowage_store::testing::database_from_env() else { return Vec::new() };
            std::fs::create_dir_all(data).expect("data dir");
            std::fs::write(&remembered, &url).expect("remember the database");
            url
        }
    };
    let blobs = data.join("shared-blobs");
    vec!["--meta".into(), meta, "--blobs".into(), blobs.to_str().expect("utf8 path").into()]
}

pub fn blob_dir(data: &Path) -> PathBuf {
    if data.join("test-meta-url").exists() { data.join("shared-blobs") } else { data.join("blobs") }
}

pub fn staging_dir(data: &Path) -> PathBuf {
    match std::fs::read_to_string(data.join("node-id")) {
        Ok(node) if data.join("test-meta-url").exists() => data.join("shared-blobs").join(".tmp").join(node.trim()),
        _ => data.join("tmp"),
    }
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(&[]).await
    }

    /// Starts on a fresh data directory with extra flags (later flags win over the defaults).
    pub async fn start_with(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().to_path_buf();
        let mut server = Server::start_on_with(&data, None, extra).await;
        server._dir = Some(dir);
        server
    }

    /// Starts on an existing data directory (restart tests).
    pub async fn start_on(data: &Path, port: Option<u16>) -> Server {
        Server::start_on_with(data, port, &[]).await
    }

    pub async fn start_on_with(data: &Path, port: Option<u16>, extra: &[&str]) -> Server {
        Server::launch(data, port, cluster_node_args(data), extra).await
    }

    /// Starts an embedded server (SQLite, blobs under `data`) even in a pass against PostgreSQL.
    pub async fn start_embedded_on(data: &Path) -> Server {
        Server::launch(data, None, Vec::new(), &[]).await
    }

    async fn launch(data: &Path, port: Option<u16>, store_args: Vec<String>, extra: &[&str]) -> Server {
        let port = port.unwrap_or_else(free_port);
        let url = format!("http://127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_stowage"))
            .args(["serve", "--data", data.to_str().expect("utf8 path"), "--listen", &format!("127.0.0.1:{port}")])
            .args(["--min-part-size", "5000000", "--recommended-part-size", "5000000", "--test-hooks"])
            .args(["--min-free-space", "32MiB", "--space-reserve", "8MiB"])
            .args(store_args)
            .args(extra)
            .env("STOWAGE_ROOT_KEY_ID", ROOT_ID)
            .env("STOWAGE_ROOT_KEY", ROOT_KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn stowage");
        let server = Server { url, data: data.to_path_buf(), child: Some(child), _dir: None };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if reqwest::get(format!("{}/_health", server.url)).await.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server did not become healthy");
    }

    /// Where the server keeps blob files: `<data>/blobs`, or the directory apart from its files when it is
    /// a node of a PostgreSQL deployment.
    pub fn blob_dir(&self) -> PathBuf {
        blob_dir(&self.data)
    }

    /// Where the server stages blob writes (emptied at start).
    pub fn staging_dir(&self) -> PathBuf {
        staging_dir(&self.data)
    }

    /// Replaces a column of a key's stored record with a document that does not decode, underneath the server.
    pub fn damage_key_record(&self, key_id: &str) {
        // Valid JSON (PostgreSQL's json type takes only that), but not the list of capabilities it must be.
        const DAMAGED: &str = r#"{"damaged": true}"#;
        match std::fs::read_to_string(self.data.join("test-meta-url")) {
            Ok(url) => {
                let sql = format!("UPDATE app_keys SET capabilities = '{DAMAGED}' WHERE key_id = '{key_id}'; NOTIFY stowage_rows;");
                let status = Command::new(stowage_store::testing::program("psql"))
                    .args(["-q", "-v", "ON_ERROR_STOP=1", url.trim(), "-c", &sql])
                    .status()
                    .expect("psql");
                assert!(status.success(), "psql failed");
            }
            Err(_) => {
                let db = rusqlite::Connection::open(self.data.join("metadata.sqlite3")).expect("open metadata");
                db.busy_timeout(Duration::from_secs(10)).expect("busy timeout");
                let changed = db.execute("UPDATE app_keys SET capabilities = ?1 WHERE key_id = ?2", [DAMAGED, key_id]).expect("damage");
                assert_eq!(changed, 1);
            }
        }
    }

    /// The server process's peak resident memory so far (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let pid = self.child.as_ref().map(Child::id).expect("running server");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .expect("VmHWM")
    }

    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn root(&self) -> B2 {
        B2::authorize(&self.url, ROOT_ID, ROOT_KEY, 4).await.expect("root authorize")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An AWS SDK for Rust client for the server, path style, signing as `key_id`.
pub fn s3_client(url: &str, key_id: &str, secret: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .endpoint_url(url)
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(key_id, secret, None, None, "stowage-tests"))
        .force_path_style(true)
        .behavior_version_latest()
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Turns versioning on for a bucket created through S3 (which starts unversioned), so every upload keeps
/// its own version id, as in a B2 bucket.
pub async fn enable_versioning(s3: &aws_sdk_s3::Client, bucket: &str) {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build())
        .send()
        .await
        .expect("enable versioning");
}

/// Status and `<Code>` of an S3 `<Error>` answer (panics if the body is not one).
pub async fn s3_error_code(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("error body");
    let code =
        text.split("<Code>").nth(1).and_then(|rest| rest.split("</Code>").next()).unwrap_or_else(|| panic!("not an S3 error: {text}"));
    (status, code.to_string())
}

pub fn sha1_hex(data: &[u8]) -> String {
    hex::encode(Sha1::digest(data))
}

/// A B2 error as the server sent it.
#[derive(Debug, Clone)]
pub struct Fail {
    pub status: u16,
    pub code: String,
    pub message: String,
}

pub type Reply = Result<Value, Fail>;

pub struct B2 {
    pub http: reqwest::Client,
    pub url: String,
    pub token: String,
    pub account_id: String,
    pub version: u8,
    pub auth: Value,
}

async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let has_date = resp.headers().contains_key("date");
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(has_date, "every response carries a Date header");
    if status == 200 {
        Ok(body)
    } else {
        assert_eq!(body["status"].as_u64(), Some(u64::from(status)), "error body status matches HTTP status: {body}");
        Err(Fail {
            status,
            code: body["code"].as_str().unwrap_or("").to_string(),
            message: body["message"].as_str().unwrap_or("").to_string(),
        })
    }
}

impl B2 {
    pub async fn authorize(url: &str, key_id: &str, key: &str, version: u8) -> Result<B2, Fail> {
        let http = reqwest::Client::new();
        let resp = http
            .get(format!("{url}/b2api/v{version}/b2_authorize_account"))
            .basic_auth(key_id, Some(key))
            .send()
            .await
            .expect("authorize request");
        let auth = reply(resp).await?;
        Ok(B2 {
            http,
            url: url.to_string(),
            token: auth["authorizationToken"].as_str().expect("token").to_string(),
            account_id: auth["accountId"].as_str().expect("account").to_string(),
            version,
            auth,
        })
    }

    pub async fn call(&self, op: &str, body: Value) -> Reply {
        let resp = self
            .http
            .post(format!("{}/b2api/v{}/{op}", self.url, self.version))
            .header("Authorization", &self.token)
            .json(&body)
            .send()
            .await
            .expect("request");
        reply(resp).await
    }

    pub async fn raw_call(&self, op: &str, body: &'static str) -> Reply {
        let resp = self
            .http
            .post(format!("{}/b2api/v{}/{op}", self.url, self.version))
            .header("Authorization", &self.token)
            .body(body)
            .send()
            .await
            .expect("request");
        reply(resp).await
    }

    pub async fn create_bucket(&self, name: &str, kind: &str) -> Value {
        self.call("b2_create_bucket", json!({"accountId": self.account_id, "bucketName": name, "bucketType": kind}))
            .await
            .expect("create bucket")
    }

    pub async fn upload(&self, bucket_id: &str, name: &str, data: &[u8]) -> Reply {
        self.upload_with(bucket_id, name, data, &[]).await
    }

    pub async fn upload_with(&self, bucket_id: &str, name: &str, data: &[u8], headers: &[(&str, &str)]) -> Reply {
        let target = self.call("b2_get_upload_url", json!({"bucketId": bucket_id})).await?;
        let mut req = self
            .http
            .post(target["uploadUrl"].as_str().expect("uploadUrl"))
            .header("Authorization", target["authorizationToken"].as_str().expect("token"))
            .header("X-Bz-File-Name", name)
            .header("Content-Type", "b2/x-auto")
            .header("X-Bz-Content-Sha1", sha1_hex(data));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        reply(req.body(data.to_vec()).send().await.expect("upload")).await
    }

    pub async fn download_by_name(&self, bucket: &str, name: &str, token: Option<&str>, range: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(format!("{}/file/{bucket}/{name}", self.url));
        if let Some(t) = token {
            req = req.header("Authorization", t);
        }
        if let Some(r) = range {
            req = req.header("Range", r);
        }
        req.send().await.expect("download")
    }
}
