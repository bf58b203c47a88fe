"""The client half on the command line (`stowage login`, `ls`, `cp`, `rm`, `mb`, `rb`, `cat`, `share`) as a
process against the suite's server, read back by b2sdk and the b2 CLI (and the other way round): same bytes,
SHA-1, content type and `src_last_modified_millis`; JSON output and exit codes."""

import hashlib
import json
import os
import subprocess
import time
import uuid

import pytest
import requests
from b2sdk.v3 import B2Api, InMemoryAccountInfo

from conftest import PART_SIZE, ROOT_ID, ROOT_KEY, Server


@pytest.fixture
def cli(server, tmp_path):
    env = dict(os.environ, STOWAGE_CONFIG_DIR=str(tmp_path / "config"))
    env.pop("B2_APPLICATION_KEY_ID", None)
    env.pop("B2_APPLICATION_KEY", None)

    def run(*args, check=True, input=None):
        proc = subprocess.run([Server.binary(), *args], env=env, capture_output=True, timeout=300, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"stowage {' '.join(args)}: exit {proc.returncode}: {proc.stderr.decode()}")
        return proc

    run("login", "--realm", server.url, ROOT_ID, ROOT_KEY)
    return run


def b2sdk_api(server):
    api = B2Api(InMemoryAccountInfo())
    api.authorize_account(ROOT_ID, ROOT_KEY, realm=server.url)
    return api


def test_login_saves_a_private_profile(server, cli, tmp_path):
    profile = tmp_path / "config" / "profiles.json"
    assert oct(profile.stat().st_mode & 0o777) == "0o600"
    assert json.loads(profile.read_text())["default"]["realm"] == server.url
    bad = cli("login", "--realm", server.url, ROOT_ID, "not-the-key", "--profile", "bad", check=False)
    assert bad.returncode == 3, bad.stderr


def test_copy_up_and_down_read_back_by_b2sdk_and_the_b2_cli(server, cli, tmp_path, workdir):
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    cli("mb", f"b2://{bucket}")
    api = b2sdk_api(server)
    b2bucket = api.get_bucket_by_name(bucket)

    small = tmp_path / "notes.txt"
    small.write_bytes(b"small notes")
    os.utime(small, (1_700_000_000, 1_700_000_000))
    large = tmp_path / "large.bin"
    large.write_bytes(os.urandom(2 * PART_SIZE + 12345))
    cli("cp", str(small), f"b2://{bucket}/docs/")
    cli("cp", str(large), f"b2://{bucket}/big/large.bin")

    notes = b2bucket.get_file_info_by_name("docs/notes.txt")
    assert notes.content_sha1 == hashlib.sha1(b"small notes").hexdigest()
    assert notes.content_type == "text/plain"
    assert notes.file_info["src_last_modified_millis"] == "1700000000000"
    big = b2bucket.get_file_info_by_name("big/large.bin")
    assert big.file_info["large_file_sha1"] == hashlib.sha1(large.read_bytes()).hexdigest()
    assert big.size == large.stat().st_size

    # Down again, by stowage and by the b2 CLI, byte for byte.
    back = tmp_path / "back.bin"
    cli("cp", f"b2://{bucket}/big/large.bin", str(back))
    assert back.read_bytes() == large.read_bytes()
    subprocess.run(["b2", "file", "download", f"b2://{bucket}/docs/notes.txt", str(tmp_path / "by-b2.txt")], check=True,
                   env=dict(os.environ, B2_ENVIRONMENT=server.url, B2_APPLICATION_KEY_ID=ROOT_ID, B2_APPLICATION_KEY=ROOT_KEY,
                            B2_ACCOUNT_INFO=str(tmp_path / "b2-account"), HOME=str(tmp_path)), capture_output=True)
    assert (tmp_path / "by-b2.txt").read_bytes() == b"small notes"

    # What b2sdk wrote, stowage reads; a folder copies down recursively.
    b2bucket.upload_bytes(b"from b2sdk", "docs/sdk.txt")
    assert cli("cat", f"b2://{bucket}/docs/sdk.txt").stdout == b"from b2sdk"
    down = tmp_path / "down"
    cli("cp", "--recursive", f"b2://{bucket}/docs/", str(down))
    assert sorted(p.name for p in down.iterdir()) == ["notes.txt", "sdk.txt"]

    # Listings: names, a folder level, long and JSON forms.
    assert cli("ls", f"b2://{bucket}").stdout.decode().split() == ["big/", "docs/"]
    assert cli("ls", "--recursive", f"b2://{bucket}").stdout.decode().split() == ["big/large.bin", "docs/notes.txt", "docs/sdk.txt"]
    lines = [json.loads(line) for line in cli("ls", "--recursive", "--json", f"b2://{bucket}/docs/").stdout.decode().splitlines()]
    assert [(e["fileName"], e["contentLength"]) for e in lines] == [("docs/notes.txt", 11), ("docs/sdk.txt", 10)]
    assert bucket in cli("ls").stdout.decode().split()

    # A server-side copy, a share link, then removal: hidden first (versions stay), then every version.
    cli("cp", f"b2://{bucket}/docs/notes.txt", f"b2://{bucket}/copies/notes.txt")
    assert b2bucket.get_file_info_by_name("copies/notes.txt").content_sha1 == notes.content_sha1
    link = cli("share", f"b2://{bucket}/copies/").stdout.decode().strip()
    assert requests.get(link.replace("/file/" + bucket + "/copies/", "/file/" + bucket + "/copies/notes.txt")).content == b"small notes"
    cli("rm", f"b2://{bucket}/copies/notes.txt")
    versions = [v.action for v, _ in b2bucket.ls("copies/", latest_only=False, recursive=True)]
    assert versions == ["hide", "upload"]
    cli("rm", "--versions", f"b2://{bucket}/copies/notes.txt")
    assert list(b2bucket.ls("copies/", latest_only=False, recursive=True)) == []

    # Exit codes: not found, and a bucket that is not empty until --force.
    missing = cli("cat", f"b2://{bucket}/nothing-here.txt", check=False)
    assert missing.returncode == 4, missing.stderr
    assert cli("rb", f"b2://{bucket}", check=False).returncode != 0
    cli("rb", "--force", f"b2://{bucket}")
    assert bucket not in cli("ls").stdout.decode().split()


def test_recursive_upload_with_json_progress(server, cli, tmp_path):
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    cli("mb", f"b2://{bucket}")
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    for rel, body in {"one.txt": b"1", "a/two.txt": b"22", "a/b/three.txt": b"333"}.items():
        (tree / rel).write_bytes(body)
    out = cli("cp", "--recursive", "--json", "--threads", "2", str(tree), f"b2://{bucket}/up").stdout.decode()
    done = sorted(json.loads(line)["destination"] for line in out.splitlines())
    assert done == [f"b2://{bucket}/up/a/b/three.txt", f"b2://{bucket}/up/a/two.txt", f"b2://{bucket}/up/one.txt"]
    names = [f.file_name for f, _ in b2sdk_api(server).get_bucket_by_name(bucket).ls(recursive=True)]
    assert names == ["up/a/b/three.txt", "up/a/two.txt", "up/one.txt"]


def test_sync_both_ways_with_the_b2_cli(server, cli, tmp_path):
    """Files the b2 CLI uploaded sync down with their modification times; a second sync moves nothing; a
    changed file goes up alone; --delete removes exactly the extra files; --dry-run and --exclude change
    nothing they name."""
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    cli("mb", f"b2://{bucket}")
    seed = tmp_path / "seed"
    (seed / "sub").mkdir(parents=True)
    for rel, body in {"a.txt": b"alpha", "sub/b.txt": b"bravo", "sub/c.log": b"charlie"}.items():
        (seed / rel).write_bytes(body)
        os.utime(seed / rel, (1_700_000_000, 1_700_000_000 + len(rel)))
    b2env = dict(os.environ, B2_ENVIRONMENT=server.url, B2_APPLICATION_KEY_ID=ROOT_ID, B2_APPLICATION_KEY=ROOT_KEY,
                 B2_ACCOUNT_INFO=str(tmp_path / "b2-account"), HOME=str(tmp_path))
    subprocess.run(["b2", "sync", "--no-progress", str(seed), f"b2://{bucket}/data"], check=True, env=b2env, capture_output=True)

    down = tmp_path / "down"
    first = cli("sync", "--json", f"b2://{bucket}/data", str(down)).stdout.decode().splitlines()
    assert [json.loads(line)["action"] for line in first].count("download") == 3
    for rel in ("a.txt", "sub/b.txt", "sub/c.log"):
        assert (down / rel).read_bytes() == (seed / rel).read_bytes()
        assert int((down / rel).stat().st_mtime) == int((seed / rel).stat().st_mtime), rel
    again = cli("sync", "--json", f"b2://{bucket}/data", str(down)).stdout.decode().splitlines()
    assert again == [], f"a second sync transfers nothing: {again}"

    # Up: only the changed file goes; excluded files never; --dry-run changes nothing.
    (down / "a.txt").write_bytes(b"alpha, changed")
    (down / "new.log").write_bytes(b"excluded")
    dry = cli("sync", "--dry-run", "--exclude", "*.log", str(down), f"b2://{bucket}/data").stdout.decode()
    assert "would upload data/a.txt" in dry
    api = b2sdk_api(server)
    b2bucket = api.get_bucket_by_name(bucket)
    assert b2bucket.get_file_info_by_name("data/a.txt").size == 5, "a dry run uploads nothing"
    up = cli("sync", "--json", "--exclude", "*.log", str(down), f"b2://{bucket}/data").stdout.decode().splitlines()
    assert [json.loads(line)["destination"] for line in up if json.loads(line)["action"] == "upload"] == [f"b2://{bucket}/data/a.txt"]
    assert b2bucket.get_file_info_by_name("data/a.txt").size == len(b"alpha, changed")

    # --delete: the remote file the local folder lacks goes (every version); nothing else does.
    b2bucket.upload_bytes(b"extra", "data/extra.txt")
    cli("sync", "--delete", "--exclude", "*.log", str(down), f"b2://{bucket}/data")
    left = sorted(f.file_name for f, _ in b2bucket.ls("data/", recursive=True))
    assert left == ["data/a.txt", "data/sub/b.txt", "data/sub/c.log"]
    assert not [v for v, _ in b2bucket.ls("data/", latest_only=False, recursive=True) if v.file_name == "data/extra.txt"]


def test_sync_merges_names_in_b2_order(server, cli, tmp_path):
    """Sync walks the local tree and the bucket listing in step: names whose order differs between a
    directory walk and B2's byte order ('-' < '/' < '0', capitals, non-ASCII) are matched, so a second sync
    in either direction moves nothing and --delete removes exactly the names one side lacks."""
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    cli("mb", f"b2://{bucket}")
    tree = tmp_path / "tree"
    names = ["a-b.txt", "a/x.txt", "a/y-", "a/y/z.txt", "a0.txt", "B.txt", "b.txt", "d/e/f/g.txt", "\u00fc.txt", "\u00fc/x"]
    for rel in names:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_bytes(rel.encode())
    up = cli("sync", "--json", str(tree), f"b2://{bucket}/t").stdout.decode().splitlines()
    assert sorted(json.loads(line)["destination"] for line in up) == sorted(f"b2://{bucket}/t/{n}" for n in names)
    assert cli("sync", "--json", str(tree), f"b2://{bucket}/t").stdout.decode().splitlines() == []
    down = tmp_path / "down"
    assert len(cli("sync", "--json", f"b2://{bucket}/t", str(down)).stdout.decode().splitlines()) == len(names)
    assert cli("sync", "--json", f"b2://{bucket}/t", str(down)).stdout.decode().splitlines() == []
    for rel in names:
        assert (down / rel).read_bytes() == rel.encode()

    # One name gone on each side: --delete removes exactly it, in each direction.
    (tree / "a/y-").unlink()
    gone = cli("sync", "--json", "--delete", str(tree), f"b2://{bucket}/t").stdout.decode().splitlines()
    assert [json.loads(line) for line in gone] == [{"action": "delete", "path": "t/a/y-", "dryRun": False}]
    (down / "extra-local.txt").write_bytes(b"x")
    removed = cli("sync", "--json", "--delete", f"b2://{bucket}/t", str(down)).stdout.decode().splitlines()
    assert sorted(json.loads(line)["path"] for line in removed) == sorted([str(down / "a/y-"), str(down / "extra-local.txt")])


def test_mv_stat_du_and_keys(server, cli, tmp_path):
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    cli("mb", f"b2://{bucket}")
    api = b2sdk_api(server)
    b2bucket = api.get_bucket_by_name(bucket)
    b2bucket.upload_bytes(b"first", "old/name.txt")
    b2bucket.upload_bytes(b"second", "old/name.txt")
    cli("mv", f"b2://{bucket}/old/name.txt", f"b2://{bucket}/new/")
    names = [(v.file_name, v.action) for v, _ in b2bucket.ls("", latest_only=False, recursive=True)]
    assert names == [("new/name.txt", "upload")], "the old name's versions are gone, the current bytes moved"
    stat = json.loads(cli("stat", f"b2://{bucket}/new/name.txt").stdout)
    assert stat["contentSha1"] == hashlib.sha1(b"second").hexdigest()
    assert json.loads(cli("du", "--json", f"b2://{bucket}/").stdout) == {"path": f"b2://{bucket}/", "files": 1, "bytes": 6}
    assert cli("stat", f"b2://{bucket}/new/name", check=False).returncode == 4, "a prefix of a name is not the name"

    made = json.loads(cli("key", "create", "reader", "--capabilities", "listFiles,readFiles", "--bucket", bucket, "--json").stdout)
    listed = [json.loads(line) for line in cli("key", "list", "--json").stdout.decode().splitlines()]
    mine = [k for k in listed if k["applicationKeyId"] == made["applicationKeyId"]]
    assert mine and mine[0]["capabilities"] == ["listFiles", "readFiles"] and mine[0]["bucketIds"] == [b2bucket.id_]
    # The new key reads, and may not write (exit code 3 names the refusal).
    reader = dict(os.environ, B2_APPLICATION_KEY_ID=made["applicationKeyId"], B2_APPLICATION_KEY=made["applicationKey"],
                  B2_ENVIRONMENT=server.url, STOWAGE_CONFIG_DIR=str(tmp_path / "reader"))
    run = lambda *a: subprocess.run([Server.binary(), *a], env=reader, capture_output=True, timeout=60)  # noqa: E731
    assert run("cat", f"b2://{bucket}/new/name.txt").stdout == b"second"
    (tmp_path / "w.txt").write_bytes(b"w")
    refused = run("cp", str(tmp_path / "w.txt"), f"b2://{bucket}/w.txt")
    assert refused.returncode == 3 and b"capability" in refused.stderr, refused.stderr
    cli("key", "delete", made["applicationKeyId"])
    assert made["applicationKeyId"] not in cli("key", "list").stdout.decode()


def test_an_interrupted_large_upload_resumes(server, cli, tmp_path):
    """`stowage cp` killed in the middle of a large upload leaves it on the server; the same `cp` again
    finishes that upload (the same large file id), sending only the parts that are missing."""
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    cli("mb", f"b2://{bucket}")
    api = b2sdk_api(server)
    b2bucket = api.get_bucket_by_name(bucket)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(40 * PART_SIZE))
    env = dict(os.environ, STOWAGE_CONFIG_DIR=str(tmp_path / "config"))
    proc = subprocess.Popen([Server.binary(), "cp", "--quiet", str(big), f"b2://{bucket}/big.bin"], env=env)
    started = None
    for _ in range(400):
        unfinished = list(b2bucket.list_unfinished_large_files())
        if unfinished and list(b2bucket.list_parts(unfinished[0].file_id)):
            started = unfinished[0].file_id
            break
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    if started is None or proc.returncode == 0:
        pytest.skip("the upload finished before it could be interrupted on this machine")
    cli("cp", "--quiet", str(big), f"b2://{bucket}/big.bin")
    done = b2bucket.get_file_info_by_name("big.bin")
    assert done.id_ == started, "the interrupted upload was finished, not another started"
    assert done.file_info["large_file_sha1"] == hashlib.sha1(big.read_bytes()).hexdigest()
    assert list(b2bucket.list_unfinished_large_files()) == []


def test_bucket_settings_and_a_large_download_in_parallel_ranges(server, cli, tmp_path):
    bucket = f"cli-{uuid.uuid4().hex[:10]}"
    cli("mb", f"b2://{bucket}")
    rules = tmp_path / "cors.json"
    rules.write_text(json.dumps([{"corsRuleName": "app-reads", "allowedOrigins": ["https://app.example.com"],
                                  "allowedOperations": ["b2_download_file_by_name"], "maxAgeSeconds": 60}]))
    cli("bucket", "update", bucket, "--type", "allPublic", "--cors-rules", f"@{rules}",
        "--lifecycle-rules", '[{"fileNamePrefix": "tmp/", "daysFromUploadingToHiding": 3}]')
    got = json.loads(cli("bucket", "get", bucket).stdout)
    assert got["bucketType"] == "allPublic"
    assert [r["corsRuleName"] for r in got["corsRules"]] == ["app-reads"]
    assert got["lifecycleRules"][0]["daysFromUploadingToHiding"] == 3
    b2bucket = b2sdk_api(server).get_bucket_by_name(bucket)
    assert b2bucket.type_ == "allPublic" and b2bucket.cors_rules[0]["corsRuleName"] == "app-reads"
    assert bucket in cli("bucket", "list").stdout.decode()
    bad = cli("bucket", "update", bucket, "--cors-rules", "not json", check=False)
    assert bad.returncode == 1 and b"valid JSON" in bad.stderr

    # Encryption, object lock, default retention and notification rules, read back by b2sdk.
    hooks = [{"name": "on-upload", "eventTypes": ["b2:ObjectCreated:*"], "objectNamePrefix": "in/", "isEnabled": True,
              "targetConfiguration": {"targetType": "webhook", "url": "https://hooks.example.com/b2"}}]
    cli("bucket", "update", bucket, "--default-encryption", "SSE-B2", "--file-lock-enabled",
        "--notification-rules", json.dumps(hooks))
    cli("bucket", "update", bucket, "--default-retention", "governance:7d")
    b2bucket = b2sdk_api(server).get_bucket_by_name(bucket)
    assert b2bucket.default_server_side_encryption.mode.value == "SSE-B2"
    assert b2bucket.is_file_lock_enabled
    assert b2bucket.default_retention.mode.value == "governance"
    assert b2bucket.default_retention.period.duration == 7
    assert [r["name"] for r in b2bucket.get_notification_rules()] == ["on-upload"]
    bad = cli("bucket", "update", bucket, "--default-retention", "forever", check=False)
    assert bad.returncode == 2 and b"governance:PERIOD" in bad.stderr
    locked = f"cli-{uuid.uuid4().hex[:10]}"
    cli("mb", f"b2://{locked}", "--file-lock-enabled", "--default-encryption", "SSE-B2")
    made = b2sdk_api(server).get_bucket_by_name(locked)
    assert made.is_file_lock_enabled and made.default_server_side_encryption.mode.value == "SSE-B2"

    # Standard input of unknown length: a large file in parts once past the threshold, bytes intact.
    piped = os.urandom(2 * PART_SIZE + 1234)
    cli("cp", "-", f"b2://{locked}/piped/stdin.bin", input=piped)
    assert b2sdk_api(server).get_bucket_by_name(locked).get_file_info_by_name("piped/stdin.bin").size == len(piped)
    assert cli("cat", f"b2://{locked}/piped/stdin.bin").stdout == piped
    assert cli("cp", "-", f"b2://{locked}/", input=b"x", check=False).returncode == 2

    # A file of several parts written by b2sdk comes down in parallel ranges, its SHA-1 checked.
    data = os.urandom(3 * PART_SIZE + 777)
    b2bucket.upload_bytes(data, "big/ranges.bin")
    back = tmp_path / "ranges.bin"
    cli("cp", f"b2://{bucket}/big/ranges.bin", str(back))
    assert back.read_bytes() == data
    empty = tmp_path / "empty.txt"
    b2bucket.upload_bytes(b"", "big/empty.txt")
    cli("cp", f"b2://{bucket}/big/empty.txt", str(empty))
    assert empty.read_bytes() == b""
