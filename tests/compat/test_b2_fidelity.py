"""B2 fidelity, part 2 (issue 20): the details b2sdk and the b2 CLI rely on, each shown through b2sdk as a new
user would meet it — bucket names with '-' at either end, SSE-C (answers and refusals), file info values of
any UTF-8, and object lock errors in B2's words."""

import base64
import hashlib
import io
import os
import time
import uuid

import pytest
from b2sdk.v3 import (B2Api, EncryptionAlgorithm, EncryptionKey, EncryptionMode, EncryptionSetting,
                      FileRetentionSetting, InMemoryAccountInfo, LegalHold, RetentionMode)
from b2sdk.v3.exception import B2Error, RetentionWriteError, SSECKeyError

from conftest import ROOT_ID, ROOT_KEY, Server


def api_for(server, key_id=ROOT_ID, key=ROOT_KEY):
    api = B2Api(InMemoryAccountInfo())
    api.authorize_account(key_id, key, realm=server.url)
    return api


def sse_c(secret, key_id="my-key"):
    return EncryptionSetting(mode=EncryptionMode.SSE_C, algorithm=EncryptionAlgorithm.AES256,
                             key=EncryptionKey(secret=secret, key_id=key_id))


def saved(downloaded):
    out = io.BytesIO()
    downloaded.save(out)
    return out.getvalue()


def test_bucket_names_may_begin_and_end_with_a_dash(server):
    api = api_for(server)
    for name in (f"-lead-{uuid.uuid4().hex[:8]}", f"trail-{uuid.uuid4().hex[:8]}-"):
        bucket = api.create_bucket(name, "allPrivate")
        bucket.upload_bytes(b"x", "f.txt")
        assert api.get_bucket_by_name(name).id_ == bucket.id_
    with pytest.raises(B2Error):
        api.create_bucket(f"b2-{uuid.uuid4().hex[:8]}", "allPrivate")


def test_sse_c_answers_and_refusals(server):
    api = api_for(server)
    bucket = api.create_bucket(f"ssec-{uuid.uuid4().hex[:10]}", "allPrivate")
    secret, other = os.urandom(32), os.urandom(32)
    md5 = base64.b64encode(hashlib.md5(secret).digest()).decode()

    # The upload's answer names the key's MD5 (never the key), as B2's does; so do large files' starts.
    raw, url = api.session.raw_api, api.account_info.get_api_url()
    token = api.account_info.get_account_auth_token()
    upload = raw.get_upload_url(url, token, bucket.id_)
    data = b"secret bytes"
    answer = raw.upload_file(upload["uploadUrl"], upload["authorizationToken"], "raw.bin", len(data), "b2/x-auto",
                             hashlib.sha1(data).hexdigest(), {}, io.BytesIO(data), server_side_encryption=sse_c(secret))
    assert answer["serverSideEncryption"] == {"mode": "SSE-C", "algorithm": "AES256", "customerKeyMd5": md5}
    started = raw.start_large_file(url, token, bucket.id_, "large.bin", "b2/x-auto", {}, server_side_encryption=sse_c(secret))
    assert started["serverSideEncryption"]["customerKeyMd5"] == md5
    raw.cancel_large_file(url, token, started["fileId"])

    # Reading or copying without the key, or with another, is B2's refusal: b2sdk raises SSECKeyError.
    version = bucket.upload_bytes(b"hello sse-c", "doc.txt", encryption=sse_c(secret))
    assert version.server_side_encryption.mode == EncryptionMode.SSE_C
    assert saved(bucket.download_file_by_name("doc.txt", encryption=sse_c(secret))) == b"hello sse-c"
    for attempt in (None, sse_c(other)):
        with pytest.raises(SSECKeyError):
            saved(bucket.download_file_by_name("doc.txt", encryption=attempt))
    # Its description (a HEAD by name, as b2sdk and `b2 file info` ask without a key) is not its content.
    described = bucket.get_file_info_by_name("doc.txt")
    assert described.server_side_encryption.mode == EncryptionMode.SSE_C and described.size == len(b"hello sse-c")
    with pytest.raises(SSECKeyError):
        bucket.copy(version.id_, "copy.txt")
    copied = bucket.copy(version.id_, "copy.txt", source_encryption=sse_c(secret), destination_encryption=sse_c(other))
    assert saved(bucket.download_file_by_id(copied.id_, encryption=sse_c(other))) == b"hello sse-c"


def test_file_info_values_hold_any_utf8(server):
    api = api_for(server)
    bucket = api.create_bucket(f"info-{uuid.uuid4().hex[:10]}", "allPrivate")
    info = {"sse_c_key_id": "line one\nline two", "note": "caf\u00e9 \u2014 \u00fcber\ttabbed"}
    version = bucket.upload_bytes(b"body", "info.txt", file_info=info)
    assert api.get_file_info(version.id_).file_info == info
    downloaded = bucket.download_file_by_name("info.txt")
    assert downloaded.download_version.file_info == info
    assert saved(downloaded) == b"body"
    # Reserved b2-* values become response headers as they are: control characters stay refused there.
    with pytest.raises(B2Error):
        bucket.upload_bytes(b"x", "bad.txt", file_info={"b2-content-disposition": "inline\nx"})


def test_object_lock_errors_in_b2s_words(server):
    api = api_for(server)
    plain = api.create_bucket(f"nolock-{uuid.uuid4().hex[:10]}", "allPrivate")
    locked = api.create_bucket(f"lock-{uuid.uuid4().hex[:10]}", "allPrivate", is_file_lock_enabled=True)
    future = int(time.time() * 1000) + 86_400_000
    retention = FileRetentionSetting(RetentionMode.GOVERNANCE, future)

    with pytest.raises(B2Error) as refused:
        plain.upload_bytes(b"x", "a.txt", file_retention=retention)
    assert refused.value.code == "bucket_missing_file_lock"
    version = plain.upload_bytes(b"x", "b.txt")
    with pytest.raises(B2Error) as refused:
        api.update_file_retention(version.id_, "b.txt", retention)
    assert refused.value.code == "bucket_missing_file_lock"
    with pytest.raises(B2Error) as refused:
        api.update_file_legal_hold(version.id_, "b.txt", LegalHold.ON)
    assert refused.value.code == "bucket_missing_file_lock"

    with pytest.raises(B2Error) as refused:
        locked.upload_bytes(b"x", "past.txt", file_retention=FileRetentionSetting(RetentionMode.GOVERNANCE, 1_000))
    assert refused.value.code == "retain_until_timestamp_must_be_in_future"

    # A key without writeFileRetentions: B2's 403 access_denied, which b2sdk raises as RetentionWriteError.
    kept = locked.upload_bytes(b"x", "kept.txt")
    key = api.create_key(["listBuckets", "listFiles", "readFiles", "writeFiles"], "no-retention-writes")
    limited = api_for(server, key.id_, key.application_key)
    with pytest.raises(RetentionWriteError):
        limited.update_file_retention(kept.id_, "kept.txt", retention)
    assert api.get_file_info(kept.id_).file_retention.mode in (None, RetentionMode.NONE)

    # A large file of one part is B2's "large files must have at least 2 parts".
    raw, url = api.session.raw_api, api.account_info.get_api_url()
    token = api.account_info.get_account_auth_token()
    large = raw.start_large_file(url, token, locked.id_, "one-part.bin", "b2/x-auto", {})
    part_url = raw.get_upload_part_url(url, token, large["fileId"])
    data = b"p" * 1000
    raw.upload_part(part_url["uploadUrl"], part_url["authorizationToken"], 1, len(data), hashlib.sha1(data).hexdigest(), io.BytesIO(data))
    with pytest.raises(B2Error) as refused:
        raw.finish_large_file(url, token, large["fileId"], [hashlib.sha1(data).hexdigest()])
    assert "large files must have at least 2 parts" in str(refused.value)


def test_a_key_of_several_buckets_is_refused_on_v3(server):
    """v1-v3 describe a key's bucket restriction as one bucketId: a key restricted to several buckets gets
    B2's 400 there (b2sdk's v2 interface speaks /b2api/v3), and works on v4."""
    from b2sdk import v2
    api = api_for(server)
    first = api.create_bucket(f"multi-{uuid.uuid4().hex[:10]}", "allPrivate")
    second = api.create_bucket(f"multi-{uuid.uuid4().hex[:10]}", "allPrivate")
    key = api.create_key(["listBuckets", "listFiles", "readFiles"], "two-buckets", bucket_ids=[first.id_, second.id_])
    old = v2.B2Api(v2.InMemoryAccountInfo())
    with pytest.raises(B2Error) as refused:
        old.authorize_account(server.url, key.id_, key.application_key)
    assert "not currently supported on API version number 3" in str(refused.value)
    modern = api_for(server, key.id_, key.application_key)
    assert [modern.get_bucket_by_name(b.name).id_ for b in (first, second)] == [first.id_, second.id_]
    single = api.create_key(["listBuckets", "listFiles"], "one-bucket", bucket_ids=[first.id_])
    old.authorize_account(server.url, single.id_, single.application_key)
    assert old.get_bucket_by_name(first.name).id_ == first.id_


def test_errors_say_what_to_change(server, tmp_path):
    """Refusals the caller can fix name what to change, in each API's shape: a missing capability, a bucket
    or prefix restriction, a preflight no CORS rule allows, a signature for another region."""
    import boto3
    import botocore.config
    import requests
    from botocore.exceptions import ClientError

    api = api_for(server)
    bucket = api.create_bucket(f"teach-{uuid.uuid4().hex[:10]}", "allPrivate")
    other = api.create_bucket(f"teach-{uuid.uuid4().hex[:10]}", "allPrivate")
    reader = api.create_key(["listBuckets", "listFiles", "readFiles"], "reads-only", bucket_ids=[bucket.id_], name_prefix="in/")
    limited = api_for(server, reader.id_, reader.application_key)
    with pytest.raises(B2Error) as refused:
        limited.get_bucket_by_name(bucket.name).upload_bytes(b"x", "in/a.txt")
    assert "lacks the writeFiles capability" in str(refused.value) and "use a key that has it" in str(refused.value)

    raw, url, token = limited.session.raw_api, limited.account_info.get_api_url(), limited.account_info.get_account_auth_token()
    with pytest.raises(B2Error) as refused:
        raw.list_file_names(url, token, other.id_)
    assert f"restricted to bucket {bucket.id_}" in str(refused.value)
    with pytest.raises(B2Error) as refused:
        raw.list_file_names(url, token, bucket.id_, prefix="out/")
    assert 'restricted to names starting with "in/"' in str(refused.value)

    preflight = requests.options(f"{server.url}/file/{bucket.name}/in/a.txt",
                                 headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 403
    body = preflight.json()
    assert body["code"] == "access_denied" and body["message"].startswith("CORSResponse: This CORS request is not allowed.")
    assert "origin https://app.example.com" in body["message"] and "b2_download_file_by_name" in body["message"]

    # A server started with --region refuses signatures for another one, saying which it expects.
    (tmp_path / "regional").mkdir()
    regional = Server(str(tmp_path / "regional"), extra_args=["--region", "eu-central-1"]).start()
    try:
        s3 = boto3.client("s3", endpoint_url=regional.url, aws_access_key_id=ROOT_ID, aws_secret_access_key=ROOT_KEY,
                          region_name="us-east-1",
                          config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
        with pytest.raises(ClientError) as wrong:
            s3.list_buckets()
        assert "expecting 'eu-central-1'" in str(wrong.value) and "set the client's region" in str(wrong.value)
    finally:
        regional.stop()


def test_a_failing_webhook_suspends_its_rule_and_keeps_its_events(server):
    """A webhook that keeps failing gets its rule suspended (isSuspended, suspensionReason, as B2 reports them);
    the events it could not take stay queued and go once the rules are set again, which re-enables the rule."""
    import http.server
    import json
    import threading

    failing, received = [True], []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if failing[0]:
                self.send_response(500)
            else:
                received.extend(e["objectName"] for e in json.loads(body)["events"])
                self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        api = api_for(server)
        bucket = api.create_bucket(f"hooks-{uuid.uuid4().hex[:10]}", "allPrivate")
        rule = {"name": "flaky", "eventTypes": ["b2:ObjectCreated:*"], "isEnabled": True, "objectNamePrefix": "",
                "targetConfiguration": {"targetType": "webhook", "url": f"http://127.0.0.1:{receiver.server_address[1]}/hook"}}
        bucket.set_notification_rules([rule])
        bucket.upload_bytes(b"1", "first.txt")
        deadline = time.time() + 15
        while time.time() < deadline and not bucket.get_notification_rules()[0]["isSuspended"]:
            time.sleep(0.1)
        suspended = bucket.get_notification_rules()[0]
        assert suspended["isSuspended"] and "500" in suspended["suspensionReason"], suspended

        # Suspended: new events are not queued; the undelivered one waits.
        failing[0] = False
        bucket.upload_bytes(b"2", "while-suspended.txt")
        time.sleep(1)
        assert received == []

        # Setting the rule again re-enables it, and the kept event is delivered.
        assert bucket.set_notification_rules([rule])[0]["isSuspended"] is False
        bucket.upload_bytes(b"3", "after.txt")
        deadline = time.time() + 15
        while time.time() < deadline and len(received) < 2:
            time.sleep(0.1)
        assert received == ["first.txt", "after.txt"]
        assert bucket.get_notification_rules()[0] == dict(bucket.get_notification_rules()[0], isSuspended=False, suspensionReason="")
    finally:
        receiver.shutdown()


def test_b2_cli_syncs_sse_c_files_every_way(server, tmp_path):
    """`b2 sync` with SSE-C keys up, down and bucket to bucket (a server-side copy that re-encrypts), and a
    download without the key fails with the b2 CLI's own SSE-C message."""
    import subprocess

    key = base64.b64encode(os.urandom(32)).decode()
    env = dict(os.environ, B2_ENVIRONMENT=server.url, B2_APPLICATION_KEY_ID=ROOT_ID, B2_APPLICATION_KEY=ROOT_KEY,
               B2_ACCOUNT_INFO=str(tmp_path / "account"), HOME=str(tmp_path), B2_SOURCE_SSE_C_KEY_B64=key,
               B2_DESTINATION_SSE_C_KEY_B64=key, B2_DESTINATION_SSE_C_KEY_ID="key-1")

    def b2(*args, ok=True):
        proc = subprocess.run(["b2", *args], env=env, capture_output=True, text=True, timeout=300)
        assert (proc.returncode == 0) == ok, f"b2 {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc.stdout + proc.stderr

    bucket = f"ssec-{uuid.uuid4().hex[:10]}"
    b2("bucket", "create", bucket, "allPrivate")
    src = tmp_path / "src"
    src.mkdir()
    for name, body in {"a.txt": b"alpha", "b.txt": b"bravo" * 1000}.items():
        (src / name).write_bytes(body)
    sse = ("--destination-server-side-encryption", "SSE-C")
    b2("sync", "--no-progress", *sse, str(src), f"b2://{bucket}/up")
    b2("sync", "--no-progress", "--source-server-side-encryption", "SSE-C", *sse, f"b2://{bucket}/up", f"b2://{bucket}/copied")
    down = tmp_path / "down"
    b2("sync", "--no-progress", "--source-server-side-encryption", "SSE-C", f"b2://{bucket}/copied", str(down))
    assert {p.name: p.read_bytes() for p in down.iterdir()} == {p.name: p.read_bytes() for p in src.iterdir()}
    info = api_for(server).get_bucket_by_name(bucket).get_file_info_by_name("copied/a.txt")
    assert info.server_side_encryption.mode == EncryptionMode.SSE_C and info.file_info.get("sse_c_key_id") == "key-1"
    env.pop("B2_SOURCE_SSE_C_KEY_B64")
    refused = b2("file", "download", f"b2://{bucket}/up/a.txt", str(tmp_path / "nokey.txt"), ok=False)
    assert "Wrong or no SSE-C key provided when reading a file." in refused
