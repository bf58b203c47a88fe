"""b2sdk, through both its current (v3, /b2api/v4) and legacy (v2, /b2api/v3) interfaces."""

import hashlib
import io
import os

import pytest

from conftest import PART_SIZE, ROOT_ID, ROOT_KEY


def apis():
    from b2sdk import v2, v3
    return [("v3", v3), ("v2", v2)]


def authorize(sdk, realm, key_id=ROOT_ID, key=ROOT_KEY):
    api = sdk.B2Api(sdk.InMemoryAccountInfo())
    if sdk.__name__.endswith("v2"):
        api.authorize_account(realm, key_id, key)
    else:
        api.authorize_account(key_id, key, realm=realm)
    return api


def download_bytes(downloaded):
    out = io.BytesIO()
    downloaded.save(out)
    return out.getvalue()


@pytest.mark.parametrize("label,sdk", apis())
def test_b2sdk_full_flow(server, label, sdk, tmp_path):
    api = authorize(sdk, server.url)
    name = f"sdk-{label}-bucket"
    bucket = api.create_bucket(name, "allPrivate", bucket_info={"purpose": "compat"},
                               lifecycle_rules=[{"fileNamePrefix": "tmp/", "daysFromUploadingToHiding": 3, "daysFromHidingToDeleting": 1}])
    assert api.get_bucket_by_name(name).id_ == bucket.id_
    assert any(b.name == name for b in api.list_buckets())

    # Small upload with info, read back by name and id, HEAD info by name.
    data = b"hello from b2sdk " * 100
    fv = bucket.upload_bytes(data, "dir/hello.txt", file_info={"color": "blue"})
    assert fv.content_sha1 == hashlib.sha1(data).hexdigest()
    assert download_bytes(bucket.download_file_by_name("dir/hello.txt")) == data
    assert download_bytes(api.download_file_by_id(fv.id_)) == data
    info = bucket.get_file_info_by_name("dir/hello.txt")
    assert info.file_info["color"] == "blue"
    assert info.size == len(data)
    assert api.get_file_info(fv.id_).file_name == "dir/hello.txt"

    # A large file: more than recommendedPartSize, so b2sdk uploads it in parts, concurrently.
    big = os.urandom(PART_SIZE * 2 + 12345)
    path = tmp_path / "big.bin"
    path.write_bytes(big)
    large = bucket.upload_local_file(str(path), "big/big.bin")
    assert large.size == len(big)
    assert large.content_sha1 in ("none", hashlib.sha1(big).hexdigest())
    assert hashlib.sha1(download_bytes(bucket.download_file_by_name("big/big.bin"))).hexdigest() == hashlib.sha1(big).hexdigest()

    # Server-side copy, whole and ranged.
    copied = bucket.copy(fv.id_, "dir/copy.txt")
    assert download_bytes(bucket.download_file_by_id(copied.id_)) == data
    part = bucket.copy(fv.id_, "dir/part.txt", offset=6, length=4)
    assert download_bytes(bucket.download_file_by_id(part.id_)) == data[6:10]

    # Listing, versions, hide/unhide, delete.
    names = [f.file_name for f, _ in bucket.ls(recursive=True)]
    assert names == ["big/big.bin", "dir/copy.txt", "dir/hello.txt", "dir/part.txt"]
    folders = [folder for _, folder in bucket.ls()]
    assert "big/" in folders and "dir/" in folders
    bucket.upload_bytes(b"v2", "dir/hello.txt")
    versions = list(bucket.list_file_versions("dir/hello.txt"))
    assert len(versions) == 2
    bucket.hide_file("dir/hello.txt")
    assert "dir/hello.txt" not in [f.file_name for f, _ in bucket.ls(recursive=True)]
    bucket.unhide_file("dir/hello.txt")
    assert download_bytes(bucket.download_file_by_name("dir/hello.txt")) == b"v2"
    for v in bucket.list_file_versions("dir/hello.txt"):
        bucket.delete_file_version(v.id_, v.file_name)
    assert list(bucket.list_file_versions("dir/hello.txt")) == []

    # Download authorization scoped to a prefix.
    token = bucket.get_download_authorization("dir/", 60)
    assert token

    # Bucket settings: CORS rules, type, revision guard.
    cors = [{"corsRuleName": "allowPut", "allowedOrigins": ["http://127.0.0.1:9999"], "allowedOperations": ["s3_put"],
             "allowedHeaders": ["*"], "exposeHeaders": ["ETag"], "maxAgeSeconds": 600}]
    updated = bucket.update(bucket_type="allPublic", cors_rules=cors)
    assert updated.type_ == "allPublic"
    assert updated.cors_rules == cors

    # Event notification rules: set, read back, overlap refused, clear.
    rule = {"name": "on-upload", "eventTypes": ["b2:ObjectCreated:*"], "isEnabled": True, "objectNamePrefix": "dir/",
            "targetConfiguration": {"targetType": "webhook", "url": "https://hooks.example/b2", "customHeaders": None,
                                    "hmacSha256SigningSecret": None}, "maxEventsPerBatch": 1}
    stored = bucket.set_notification_rules([rule])
    assert stored[0]["name"] == "on-upload" and stored[0]["isSuspended"] is False
    assert bucket.get_notification_rules()[0]["eventTypes"] == ["b2:ObjectCreated:*"]
    with pytest.raises(Exception):
        bucket.set_notification_rules([rule, dict(rule, name="overlapping", eventTypes=["b2:ObjectCreated:Upload"])])
    assert bucket.set_notification_rules([]) == []

    # A restricted key created through b2sdk and used by b2sdk.
    key = api.create_key(["listBuckets", "listFiles", "readFiles", "writeFiles"], f"sdk-{label}-key",
                         bucket_ids=[bucket.id_], name_prefix="dir/") if label == "v3" else \
        api.create_key(["listBuckets", "listFiles", "readFiles", "writeFiles"], f"sdk-{label}-key",
                       bucket_id=bucket.id_, name_prefix="dir/")
    restricted = authorize(sdk, server.url, key.id_, key.application_key)
    rbucket = restricted.get_bucket_by_name(name)
    rbucket.upload_bytes(b"ok", "dir/allowed.txt")
    with pytest.raises(Exception):
        rbucket.upload_bytes(b"no", "other/denied.txt")
    assert any(k.id_ == key.id_ for k in api.list_keys())
    api.delete_key_by_id(key.id_)

    # Empty the bucket (including the unfinished-large-file listing) and delete it.
    assert list(bucket.list_unfinished_large_files()) == []
    for v, _ in bucket.ls(recursive=True, latest_only=False):
        bucket.delete_file_version(v.id_, v.file_name)
    api.delete_bucket(bucket)
    assert name not in [b.name for b in api.list_buckets()]


def test_event_notifications_reach_webhooks(server):
    """Rules set through b2sdk send B2's webhook body, signature and custom headers to a local receiver."""
    import hmac
    import http.server
    import json
    import threading
    import time

    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{receiver.server_address[1]}"
    try:
        from b2sdk import v3 as sdk
        api = authorize(sdk, server.url)
        bucket = api.create_bucket("sdk-events-bucket", "allPrivate")
        secret = "s3cretS3cretS3cretS3cretS3cret12"
        bucket.set_notification_rules([
            {"name": "created-in-photos", "eventTypes": ["b2:ObjectCreated:*"], "isEnabled": True, "objectNamePrefix": "photos/",
             "targetConfiguration": {"targetType": "webhook", "url": hook + "/created", "hmacSha256SigningSecret": secret,
                                     "customHeaders": [{"name": "X-Team", "value": "storage"}]}, "maxEventsPerBatch": 1},
            {"name": "removals", "eventTypes": ["b2:HideMarkerCreated:Hide", "b2:ObjectDeleted:Delete"], "isEnabled": True,
             "objectNamePrefix": "", "targetConfiguration": {"targetType": "webhook", "url": hook + "/removed"},
             "maxEventsPerBatch": 10},
            {"name": "switched-off", "eventTypes": ["b2:ObjectCreated:*"], "isEnabled": False, "objectNamePrefix": "other/",
             "targetConfiguration": {"targetType": "webhook", "url": hook + "/never"}},
        ])
        photo = bucket.upload_bytes(b"jpeg", "photos/cat.jpg")
        bucket.upload_bytes(b"not watched", "notes/todo.txt")
        bucket.upload_bytes(b"rule is off", "other/skip.txt")
        copy = bucket.copy(photo.id_, "photos/cat-copy.jpg")
        large = bucket.upload_bytes(os.urandom(2 * PART_SIZE + 1000), "photos/big.bin")
        hidden = bucket.hide_file("notes/todo.txt")
        bucket.delete_file_version(photo.id_, "photos/cat.jpg")

        deadline = time.time() + 15
        def events(path):
            return [e for p, _, body in received if p == path for e in json.loads(body)["events"]]
        while time.time() < deadline and (len(events("/created")) < 3 or len(events("/removed")) < 2):
            time.sleep(0.1)
        created, removed = events("/created"), events("/removed")
        assert sorted((e["eventType"], e["objectName"]) for e in created) == [
            ("b2:ObjectCreated:Copy", "photos/cat-copy.jpg"), ("b2:ObjectCreated:MultipartUpload", "photos/big.bin"),
            ("b2:ObjectCreated:Upload", "photos/cat.jpg")]
        assert next(e for e in created if e["eventType"] == "b2:ObjectCreated:MultipartUpload")["objectSize"] == 2 * PART_SIZE + 1000
        assert large.id_
        upload = next(e for e in created if e["eventType"] == "b2:ObjectCreated:Upload")
        assert upload["objectVersionId"] == photo.id_ and upload["objectSize"] == 4 and upload["eventVersion"] == 1
        assert upload["bucketId"] == bucket.id_ and upload["bucketName"] == "sdk-events-bucket"
        assert upload["matchedRuleName"] == "created-in-photos" and upload["accountId"] and upload["eventId"]
        assert next(e for e in created if e["eventType"] == "b2:ObjectCreated:Copy")["objectVersionId"] == copy.id_
        assert sorted((e["eventType"], e["objectName"]) for e in removed) == [
            ("b2:HideMarkerCreated:Hide", "notes/todo.txt"), ("b2:ObjectDeleted:Delete", "photos/cat.jpg")]
        assert next(e for e in removed if e["eventType"] == "b2:HideMarkerCreated:Hide")["objectVersionId"] == hidden.id_
        for path, headers, body in received:
            headers = {k.lower(): v for k, v in headers.items()}
            if path == "/created":
                expected = "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                assert headers["x-bz-event-notification-signature"] == expected
                assert headers["x-team"] == "storage"
            else:
                assert "x-bz-event-notification-signature" not in headers
        assert events("/never") == []
    finally:
        receiver.shutdown()
