//! A full disk is survivable: on a small tmpfs the test mounts itself, uploads are refused with 507 in
//! each API's shape once free space falls below the floor, the disk is then filled to the last byte by
//! another writer, and still reads, listings and deletes work (the space reserve is released), the server
//! restarts on the full disk in read-and-delete mode, deletes give space back promptly, and uploads resume
//! once there is room. Skipped, saying so, where mounting is not permitted.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use common::{B2, Server, sha1_hex};
use serde_json::json;

const FLOOR: &[&str] = &["--min-free-space", "6MiB", "--space-reserve", "4MiB"];
const FILE: usize = 1 << 20;

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().to_path_buf();
        let status = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(&path).status();
        match status {
            Ok(s) if s.success() => Some(SmallDisk { _dir: dir, path }),
            other => {
                eprintln!("SKIPPED disk_full: cannot mount a tmpfs here ({other:?}); run as root to test a full disk");
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn file_bytes(i: usize) -> Vec<u8> {
    (0..FILE).map(|n| (n as u8).wrapping_mul(7).wrapping_add(i as u8)).collect()
}

/// The value of one `/_metrics` line.
async fn metric(server: &Server, name: &str) -> u64 {
    let text = reqwest::get(format!("{}/_metrics", server.url)).await.expect("metrics").text().await.expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /_metrics"))
}

async fn wait_for(server: &Server, name: &str, wanted: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while metric(server, name).await != wanted {
        assert!(Instant::now() < deadline, "{name} never became {wanted}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Writes one more file of another program until the filesystem refuses: the disk is full to the byte.
fn fill_to_the_byte(dir: &Path) -> PathBuf {
    let path = dir.join("someone-elses-file");
    let mut file = std::fs::File::create(&path).expect("filler");
    let chunk = vec![1u8; 64 * 1024];
    loop {
        if file.write_all(&chunk).is_err() {
            break;
        }
    }
    let small = [1u8; 512];
    while file.write_all(&small).is_ok() {}
    let _ = file.sync_all();
    path
}

async fn list_names(b2: &B2, bucket_id: &str) -> Vec<String> {
    let listed = b2.call("b2_list_file_names", json!({"bucketId": bucket_id, "maxFileCount": 1000})).await.expect("list while full");
    listed["files"].as_array().expect("files").iter().map(|f| f["fileName"].as_str().unwrap_or("").to_string()).collect()
}

async fn download_ok(server: &Server, b2: &B2, name: &str, i: usize) {
    let resp = b2.download_by_name("full-bucket", name, Some(&b2.token), None).await;
    assert_eq!(resp.status(), 200, "download {name}");
    let body = resp.bytes().await.expect("body");
    assert_eq!(sha1_hex(&body), sha1_hex(&file_bytes(i)), "{name} read back whole from {}", server.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_keeps_reads_and_deletes_and_recovers() {
    let Some(disk) = SmallDisk::mount("48m") else { return };
    let data = disk.path.join("data");
    let mut server = Server::start_on_with(&data, None, FLOOR).await;
    let b2 = server.root().await;
    let bucket = b2.create_bucket("full-bucket", "allPrivate").await;
    let bucket_id = bucket["bucketId"].as_str().expect("bucketId").to_string();
    wait_for(&server, "stowage_storage_full", 0).await;
    assert!(data.join("space-reserve").exists(), "the reserve is made while there is room");

    // Upload until refused: the refusal is 507 storage_full in B2's shape.
    let mut stored: Vec<(String, String, usize)> = Vec::new();
    let refusal = loop {
        let i = stored.len();
        assert!(i < 60, "48 MiB never filled up");
        let name = format!("file-{i:02}.bin");
        match b2.upload(&bucket_id, &name, &file_bytes(i)).await {
            Ok(v) => stored.push((name, v["fileId"].as_str().expect("fileId").to_string(), i)),
            Err(fail) => break fail,
        }
    };
    assert_eq!((refusal.status, refusal.code.as_str()), (507, "storage_full"), "{refusal:?}");
    assert!(stored.len() >= 20, "only {} files fit before refusal", stored.len());
    // Uploads stop at the floor: what is left is less than the floor plus one more file.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let free = metric(&server, "stowage_disk_free_bytes").await;
    assert!(free >= 6 << 20 && free < (6 << 20) + FILE as u64 + (256 << 10), "uploads stopped at the floor, free {free}");

    // The S3 API refuses too, in its shape.
    let s3 = common::s3_client(&server.url, common::ROOT_ID, common::ROOT_KEY);
    let err = s3.put_object().bucket("full-bucket").key("s3.bin").body(ByteStream::from(file_bytes(99))).send().await.expect_err("put");
    let raw = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(raw, Some(507), "{err:?}");
    assert_eq!(aws_sdk_s3::error::ProvideErrorMetadata::code(&err), Some("StorageFull"));

    // Another program takes the last byte: the reserve is released so SQLite can still commit deletes.
    let filler = fill_to_the_byte(&disk.path);
    wait_for(&server, "stowage_storage_full", 1).await;
    assert!(!data.join("space-reserve").exists(), "the reserve is released when the disk is out of room");
    assert_eq!(list_names(&b2, &bucket_id).await.len(), stored.len());
    download_ok(&server, &b2, &stored[0].0, stored[0].2).await;
    let free_before = metric(&server, "stowage_disk_free_bytes").await;
    for (name, file_id, _) in stored.drain(..3) {
        b2.call("b2_delete_file_version", json!({"fileName": name, "fileId": file_id})).await.expect("B2 delete on a full disk");
    }
    let (name, file_id, _) = stored.remove(0);
    s3.delete_object().bucket("full-bucket").key(&name).version_id(&file_id).send().await.expect("S3 delete on a full disk");
    // Deleted files give their space back within seconds, not at the next half-minute collection.
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(&server, "stowage_disk_free_bytes").await < free_before + 3 * FILE as u64 {
        assert!(Instant::now() < deadline, "deleted files' space did not come back promptly");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A restart on the full disk serves reads and deletes, and refuses uploads.
    server.kill();
    let mut server = Server::start_on_with(&data, None, FLOOR).await;
    let b2 = server.root().await;
    assert_eq!(list_names(&b2, &bucket_id).await.len(), stored.len());
    download_ok(&server, &b2, &stored[0].0, stored[0].2).await;
    let refused = b2.upload(&bucket_id, "after-restart.bin", &file_bytes(7)).await.expect_err("refused after restart");
    assert_eq!(refused.status, 507);
    let (name, file_id, _) = stored.remove(0);
    b2.call("b2_delete_file_version", json!({"fileName": name, "fileId": file_id})).await.expect("delete after restart");

    // The other program's file goes: the server takes uploads again and holds its reserve once more.
    std::fs::remove_file(filler).expect("remove filler");
    wait_for(&server, "stowage_storage_full", 0).await;
    assert!(data.join("space-reserve").exists(), "the reserve is made again");
    let again = b2.upload(&bucket_id, "after-recovery.bin", &file_bytes(5)).await.expect("upload after recovery");
    assert_eq!(again["contentLength"], FILE);
    for (name, _, i) in &stored {
        download_ok(&server, &b2, name, *i).await;
    }
    server.kill();
}
