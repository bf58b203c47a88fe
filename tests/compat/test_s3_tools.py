"""Command-line S3 tools against Stowage: the AWS CLI, s3cmd, and rclone's s3 backend."""

import hashlib
import os
import subprocess

from conftest import ROOT_ID, ROOT_KEY


def run(args, env=None, ok=True):
    env = dict(os.environ, **(env or {}))
    # rclone's AWS SDK refuses a custom CA bundle with its own transport; plain http needs none.
    env.pop("AWS_CA_BUNDLE", None)
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def aws(server, *args, ok=True):
    env = {"AWS_ACCESS_KEY_ID": ROOT_ID, "AWS_SECRET_ACCESS_KEY": ROOT_KEY, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    return run(["aws", "--endpoint-url", server.url, *args], env, ok)


def write_tree(root, files):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_aws_cli(server, tmp_path):
    aws(server, "s3", "mb", "s3://aws-cli-bucket")
    big = tmp_path / "fifty.bin"
    big.write_bytes(os.urandom(50 * 1024 * 1024))
    aws(server, "s3", "cp", str(big), "s3://aws-cli-bucket/big/fifty.bin")
    head = aws(server, "s3api", "head-object", "--bucket", "aws-cli-bucket", "--key", "big/fifty.bin").stdout
    assert '"ContentLength": 52428800' in head and '-7\\"' in head  # 8 MiB parts: a multipart ETag
    out = tmp_path / "back.bin"
    aws(server, "s3", "cp", "s3://aws-cli-bucket/big/fifty.bin", str(out))
    assert hashlib.md5(out.read_bytes()).digest() == hashlib.md5(big.read_bytes()).digest()

    tree = {"a.txt": b"a", "dir/b.txt": b"b" * 5000, "dir/deep/c.bin": os.urandom(100_000), "spaces and ünïcode.txt": b"u"}
    up, down = tmp_path / "up", tmp_path / "down"
    write_tree(up, tree)
    aws(server, "s3", "sync", str(up), "s3://aws-cli-bucket/tree")
    aws(server, "s3", "sync", "s3://aws-cli-bucket/tree", str(down))
    assert run(["diff", "-r", str(up), str(down)]).returncode == 0
    second = aws(server, "s3", "sync", str(up), "s3://aws-cli-bucket/tree").stdout
    assert "upload:" not in second, "an unchanged tree syncs nothing"
    listing = aws(server, "s3", "ls", "--recursive", "s3://aws-cli-bucket/tree/").stdout
    assert "tree/dir/deep/c.bin" in listing and "tree/spaces and ünïcode.txt" in listing
    # Created through S3, the bucket is unversioned: `aws s3 rm` removes the object outright.
    assert aws(server, "s3api", "get-bucket-versioning", "--bucket", "aws-cli-bucket").stdout.strip() == ""
    aws(server, "s3", "rm", "s3://aws-cli-bucket/tree/a.txt")
    versions = aws(server, "s3api", "list-object-versions", "--bucket", "aws-cli-bucket", "--prefix", "tree/a.txt").stdout
    assert '"DeleteMarkers"' not in versions and '"Versions"' not in versions
    # With versioning enabled, a removal leaves a delete marker and the bucket keeps the old version.
    aws(server, "s3api", "put-bucket-versioning", "--bucket", "aws-cli-bucket", "--versioning-configuration", "Status=Enabled")
    assert '"Status": "Enabled"' in aws(server, "s3api", "get-bucket-versioning", "--bucket", "aws-cli-bucket").stdout
    aws(server, "s3", "rm", "s3://aws-cli-bucket/tree/dir/b.txt")
    versions = aws(server, "s3api", "list-object-versions", "--bucket", "aws-cli-bucket", "--prefix", "tree/dir/b.txt").stdout
    assert '"DeleteMarkers"' in versions
    failed = aws(server, "s3", "rb", "s3://aws-cli-bucket", ok=False)
    assert failed.returncode != 0 and "BucketNotEmpty" in failed.stderr


def test_s3cmd(server, tmp_path):
    host = server.url.removeprefix("http://")
    cfg = tmp_path / "s3cfg"
    cfg.write_text(f"[default]\naccess_key = {ROOT_ID}\nsecret_key = {ROOT_KEY}\nhost_base = {host}\nhost_bucket = {host}\n"
                   "use_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n")
    s3cmd = ["s3cmd", "-c", str(cfg)]
    run([*s3cmd, "mb", "s3://s3cmd-bucket"])
    src = tmp_path / "file.txt"
    src.write_bytes(b"from s3cmd" * 1000)
    run([*s3cmd, "put", str(src), "s3://s3cmd-bucket/dir/file.txt"])
    assert "s3://s3cmd-bucket/dir/file.txt" in run([*s3cmd, "ls", "-r", "s3://s3cmd-bucket"]).stdout
    out = tmp_path / "out.txt"
    run([*s3cmd, "get", "s3://s3cmd-bucket/dir/file.txt", str(out)])
    assert out.read_bytes() == src.read_bytes()
    info = run([*s3cmd, "info", "s3://s3cmd-bucket/dir/file.txt"]).stdout
    assert hashlib.md5(src.read_bytes()).hexdigest() in info
    run([*s3cmd, "del", "s3://s3cmd-bucket/dir/file.txt"])
    assert "dir/file.txt" not in run([*s3cmd, "ls", "-r", "s3://s3cmd-bucket"]).stdout


def test_rclone_s3_backend(server, tmp_path):
    env = {"RCLONE_CONFIG": "/dev/null", "RCLONE_CONFIG_STOWS3_TYPE": "s3", "RCLONE_CONFIG_STOWS3_PROVIDER": "Other",
           "RCLONE_CONFIG_STOWS3_ACCESS_KEY_ID": ROOT_ID, "RCLONE_CONFIG_STOWS3_SECRET_ACCESS_KEY": ROOT_KEY,
           "RCLONE_CONFIG_STOWS3_ENDPOINT": server.url, "RCLONE_CONFIG_STOWS3_FORCE_PATH_STYLE": "true"}
    rclone = ["rclone", "--retries", "1", "--low-level-retries", "1"]
    src = tmp_path / "src"
    files = {"one.txt": b"1", "nested/ünï cødé.txt": "✓".encode(), "big/nine-mb.bin": os.urandom(9 * 1024 * 1024)}
    write_tree(src, files)
    run([*rclone, "mkdir", "stows3:rclone-s3-bucket"], env)
    run([*rclone, "sync", str(src), "stows3:rclone-s3-bucket/data", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"], env)
    run([*rclone, "check", str(src), "stows3:rclone-s3-bucket/data"], env)
    run([*rclone, "check", "--download", str(src), "stows3:rclone-s3-bucket/data"], env)
    listed = set(run([*rclone, "lsf", "-R", "--files-only", "stows3:rclone-s3-bucket/data"], env).stdout.split("\n")) - {""}
    assert listed == set(files)
    run([*rclone, "purge", "stows3:rclone-s3-bucket"], env)
    assert "rclone-s3-bucket" not in run([*rclone, "lsd", "stows3:"], env).stdout
