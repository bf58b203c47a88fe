"""The b2 command-line tool (b2 4.x/5.x on b2sdk), as a user runs it."""

import json
import os
import subprocess
import urllib.request

import pytest

from conftest import ROOT_ID, ROOT_KEY


class Cli:
    def __init__(self, server, home):
        self.env = dict(os.environ, B2_ENVIRONMENT=server.url, B2_ACCOUNT_INFO=str(home / "account_info"),
                        XDG_CONFIG_HOME=str(home), HOME=str(home))
        self.env.pop("B2_APPLICATION_KEY_ID", None)
        self.env.pop("B2_APPLICATION_KEY", None)

    def run(self, *args, ok=True, cwd=None):
        proc = subprocess.run(["b2", *args], env=self.env, capture_output=True, text=True, cwd=cwd, timeout=300)
        if ok:
            assert proc.returncode == 0, f"b2 {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def json(self, *args):
        # Some commands print a few lines of text before their JSON.
        out = self.run(*args).stdout
        start = min(i for i in (out.find("{"), out.find("[")) if i >= 0)
        return json.loads(out[start:])


@pytest.fixture
def cli(server, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    c = Cli(server, home)
    c.run("account", "authorize", ROOT_ID, ROOT_KEY)
    return c


def write_tree(root, files):
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def test_b2_cli_end_to_end(server, cli, tmp_path):
    cors = [{"corsRuleName": "browserUploads", "allowedOrigins": ["http://127.0.0.1:3000"], "allowedOperations": ["s3_put", "b2_upload_file"],
             "allowedHeaders": ["*"], "exposeHeaders": ["x-bz-content-sha1"], "maxAgeSeconds": 3600}]
    rule = {"fileNamePrefix": "logs/", "daysFromUploadingToHiding": 30, "daysFromHidingToDeleting": 7}
    bucket_id = cli.run("bucket", "create", "--cors-rules", json.dumps(cors), "--lifecycle-rule", json.dumps(rule),
                        "--bucket-info", json.dumps({"team": "compat"}), "cli-bucket", "allPrivate").stdout.strip()
    assert len(bucket_id) == 24

    got = cli.json("bucket", "get", "cli-bucket")
    assert got["corsRules"] == cors
    assert got["lifecycleRules"] == [dict(rule, daysFromStartingToCancelingUnfinishedLargeFiles=None)]
    assert got["bucketInfo"] == {"team": "compat"}
    updated = cli.json("bucket", "update", "--cors-rules", "[]", "cli-bucket", "allPublic")
    assert updated["bucketType"] == "allPublic" and updated["corsRules"] == []
    assert any(b["bucketName"] == "cli-bucket" for b in cli.json("bucket", "list", "--json"))

    # Upload with file info, list, info, download.
    src = tmp_path / "photo.txt"
    src.write_bytes(b"a photo, honestly")
    up = cli.json("file", "upload", "--info", "camera=pinhole", "--no-progress", "cli-bucket", str(src), "photos/photo.txt")
    assert up["fileInfo"]["camera"] == "pinhole"
    assert "photos/photo.txt" in cli.run("ls", "-r", "b2://cli-bucket").stdout.split()
    info = cli.json("file", "info", "b2://cli-bucket/photos/photo.txt")
    assert info["fileId"] == up["fileId"] and info["fileInfo"]["camera"] == "pinhole"
    out = tmp_path / "out.txt"
    cli.run("file", "download", "--no-progress", "b2://cli-bucket/photos/photo.txt", str(out))
    assert out.read_bytes() == b"a photo, honestly"
    cli.run("file", "download", "--no-progress", f"b2id://{up['fileId']}", str(tmp_path / "byid.txt"))
    assert (tmp_path / "byid.txt").read_bytes() == b"a photo, honestly"
    # Public bucket: plain HTTP download without a token.
    with urllib.request.urlopen(f"{server.url}/file/cli-bucket/photos/photo.txt") as r:
        assert r.read() == b"a photo, honestly"

    # Sync a tree up, then down elsewhere, and compare.
    tree = {"a.txt": b"A", "sub/b.txt": b"B" * 1000, "sub/deeper/c.bin": os.urandom(70_000), "ünïcødé name.txt": b"u"}
    up_dir, down_dir = tmp_path / "up", tmp_path / "down"
    write_tree(up_dir, tree)
    cli.run("sync", "--no-progress", str(up_dir), "b2://cli-bucket/tree")
    cli.run("sync", "--no-progress", "b2://cli-bucket/tree", str(down_dir))
    assert subprocess.run(["diff", "-r", str(up_dir), str(down_dir)]).returncode == 0
    # A second sync uploads nothing new: modification times round-trip through src_last_modified_millis.
    before = set(cli.run("ls", "-r", "--versions", "b2://cli-bucket/tree").stdout.split())
    cli.run("sync", "--no-progress", str(up_dir), "b2://cli-bucket/tree")
    assert set(cli.run("ls", "-r", "--versions", "b2://cli-bucket/tree").stdout.split()) == before

    # Hide, and see it gone from ls but present in versions.
    cli.run("file", "hide", "b2://cli-bucket/tree/a.txt")
    assert "tree/a.txt" not in cli.run("ls", "-r", "b2://cli-bucket").stdout.split()
    assert "tree/a.txt" in cli.run("ls", "-r", "--versions", "b2://cli-bucket").stdout.split()

    # A key restricted to a bucket and prefix, used by the CLI itself.
    key = cli.run("key", "create", "--bucket", "cli-bucket", "--name-prefix", "tree/", "tree-writer",
                  "listBuckets,listFiles,readFiles,writeFiles").stdout.split()
    key_id, key_secret = key[0], key[1]
    home2 = tmp_path / "home2"
    home2.mkdir()
    restricted = Cli(server, home2)
    restricted.run("account", "authorize", key_id, key_secret)
    restricted.run("file", "upload", "--no-progress", "cli-bucket", str(src), "tree/by-key.txt")
    denied = restricted.run("file", "upload", "--no-progress", "cli-bucket", str(src), "photos/by-key.txt", ok=False)
    assert denied.returncode != 0
    assert "tree/by-key.txt" in restricted.run("ls", "-r", "b2://cli-bucket/tree/").stdout.split()
    auth = cli.run("bucket", "get-download-auth", "--prefix", "tree/", "--duration", "60", "cli-bucket").stdout.strip()
    assert auth.startswith("stw1_")

    # Remove every version, then the bucket.
    cli.run("rm", "--versions", "-r", "--no-progress", "b2://cli-bucket")
    assert cli.run("ls", "-r", "--versions", "b2://cli-bucket").stdout.strip() == ""
    cli.run("bucket", "delete", "cli-bucket")
    assert all(b["bucketName"] != "cli-bucket" for b in cli.json("bucket", "list", "--json"))
    cli.run("key", "delete", key_id)


def test_b2_cli_large_file_upload(server, cli, tmp_path):
    cli.run("bucket", "create", "cli-large-bucket", "allPrivate")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(12 * 1024 * 1024))
    up = cli.json("file", "upload", "--no-progress", "cli-large-bucket", str(big), "big.bin")
    assert up["size"] == 12 * 1024 * 1024
    out = tmp_path / "big.out"
    cli.run("file", "download", "--no-progress", "b2://cli-large-bucket/big.bin", str(out))
    assert out.read_bytes() == big.read_bytes()
