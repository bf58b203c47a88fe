"""rclone's b2 backend (Debian's rclone; it calls authorize and everything else through the v1 API)."""

import os
import subprocess

from conftest import ROOT_ID, ROOT_KEY


def rclone(server, *args, ok=True):
    env = dict(os.environ, RCLONE_CONFIG="/dev/null", RCLONE_CONFIG_STOWAGE_TYPE="b2", RCLONE_CONFIG_STOWAGE_ACCOUNT=ROOT_ID,
               RCLONE_CONFIG_STOWAGE_KEY=ROOT_KEY, RCLONE_CONFIG_STOWAGE_ENDPOINT=server.url)
    proc = subprocess.run(["rclone", "--retries", "1", "--low-level-retries", "1", *args], env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, f"rclone {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_rclone_sync_check_purge(server, tmp_path):
    src = tmp_path / "src"
    files = {
        "plain.txt": b"plain",
        "ünïcødé/文件 with spaces.txt": "unicode names ✓".encode(),
        "nested/deeper/emoji-😀.bin": os.urandom(4096),
        "plus+sign & percent%.txt": b"odd characters",
        "big/twelve-mb.bin": os.urandom(12 * 1024 * 1024),
    }
    for name, data in files.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    rclone(server, "mkdir", "stowage:rclone-bucket")
    rclone(server, "sync", str(src), "stowage:rclone-bucket/data", "--b2-chunk-size", "5M", "--b2-upload-cutoff", "5M", "--transfers", "4")
    listed = set(rclone(server, "lsf", "-R", "--files-only", "stowage:rclone-bucket/data").stdout.split("\n")) - {""}
    assert listed == set(files)
    # Directory listing uses the delimiter.
    top = set(rclone(server, "lsf", "stowage:rclone-bucket/data").stdout.split("\n")) - {""}
    assert top == {"plain.txt", "ünïcødé/", "nested/", "plus+sign & percent%.txt", "big/"}
    # Compare by hash, then by downloading every file.
    rclone(server, "check", str(src), "stowage:rclone-bucket/data")
    rclone(server, "check", "--download", str(src), "stowage:rclone-bucket/data")
    out = tmp_path / "out"
    rclone(server, "copy", "stowage:rclone-bucket/data", str(out))
    for name, data in files.items():
        assert (out / name).read_bytes() == data, name

    # Server-side copy and a delete (which hides), then purge removes everything.
    rclone(server, "copyto", "stowage:rclone-bucket/data/plain.txt", "stowage:rclone-bucket/data/plain-copy.txt")
    assert rclone(server, "cat", "stowage:rclone-bucket/data/plain-copy.txt").stdout == "plain"
    rclone(server, "deletefile", "stowage:rclone-bucket/data/plain.txt")
    remaining = rclone(server, "lsf", "stowage:rclone-bucket/data").stdout.split("\n")
    assert "plain.txt" not in remaining and "plain-copy.txt" in remaining
    rclone(server, "purge", "stowage:rclone-bucket")
    buckets = rclone(server, "lsd", "stowage:").stdout
    assert "rclone-bucket" not in buckets
