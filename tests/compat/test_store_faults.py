"""A store that fails in the middle of a request: the server's store decorators fail the calls a test arms
(`/_test/faults`, under `--test-hooks`) as a lost database or blob service does. Each API answers in its own
error shape (B2 JSON 503 service_unavailable, S3 XML ServiceUnavailable), nothing half-written is left (no
version appears or disappears, no blob stays behind once queued deletes ran), a step whose acknowledgement
was lost after it committed keeps its data whole, and the real clients' retries then succeed."""

import hashlib
import uuid

import boto3
import botocore
import botocore.config
import pytest
import requests

from conftest import PART_SIZE, ROOT_ID, ROOT_KEY, running_server


@pytest.fixture(scope="module")
def server():
    with running_server() as s:
        yield s


def arm(server, store, op, point="before", times=1):
    requests.post(f"{server.url}/_test/faults", json={"store": store, "op": op, "point": point, "times": times}).raise_for_status()


def disarm(server):
    return requests.delete(f"{server.url}/_test/faults").json()["injected"]


def nothing_left_behind(server):
    """Queued deletes run; then no blob is left that nothing refers to."""
    requests.post(f"{server.url}/_test/gc/run").raise_for_status()
    assert requests.post(f"{server.url}/_test/gc/orphans").json()["removed"] == 0


class B2:
    """The B2 Native API as any client speaks it, to see the error body itself."""

    def __init__(self, server):
        answer = requests.get(f"{server.url}/b2api/v4/b2_authorize_account", auth=(ROOT_ID, ROOT_KEY)).json()
        self.token, self.url, self.account = answer["authorizationToken"], server.url, answer["accountId"]

    def call(self, name, **body):
        return requests.post(f"{self.url}/b2api/v4/{name}", headers={"Authorization": self.token}, json=body)

    def ok(self, name, **body):
        r = self.call(name, **body)
        assert r.status_code == 200, r.text
        return r.json()

    def upload(self, bucket_id, name, data):
        target = self.ok("b2_get_upload_url", bucketId=bucket_id)
        return requests.post(target["uploadUrl"], data=data, headers={
            "Authorization": target["authorizationToken"], "X-Bz-File-Name": name, "Content-Type": "text/plain",
            "X-Bz-Content-Sha1": hashlib.sha1(data).hexdigest()})

    def versions(self, bucket_id):
        files = self.ok("b2_list_file_versions", bucketId=bucket_id, maxFileCount=1000)["files"]
        return sorted((f["fileName"], f["fileId"], f["action"]) for f in files)

    def download(self, bucket_name, name):
        return requests.get(f"{self.url}/file/{bucket_name}/{name}", headers={"Authorization": self.token})


def unavailable_in_b2_shape(response, what):
    assert response.status_code == 503, f"{what}: {response.status_code} {response.text}"
    body = response.json()
    assert body["status"] == 503 and body["code"] == "service_unavailable" and body["message"], f"{what}: {body}"


def test_b2_calls_failing_in_the_store(server):
    b2 = B2(server)
    name = f"faults-{uuid.uuid4().hex[:8]}"
    bucket = b2.ok("b2_create_bucket", accountId=b2.account, bucketName=name, bucketType="allPrivate")["bucketId"]
    kept = b2.upload(bucket, "kept.txt", b"kept body").json()
    before = b2.versions(bucket)

    # An upload whose blob write, or whose commit, fails: 503, and no version, no blob.
    for store, op in (("blobs", "put"), ("metadata", "insert_version")):
        arm(server, store, op)
        unavailable_in_b2_shape(b2.upload(bucket, "new.txt", b"new body"), f"upload with {store}.{op} failing")
        assert disarm(server) == [{"store": store, "op": op}]
        assert b2.versions(bucket) == before
        nothing_left_behind(server)

    # A hide and a copy whose commit fails: nothing appears.
    arm(server, "metadata", "insert_version", times=2)
    unavailable_in_b2_shape(b2.call("b2_hide_file", bucketId=bucket, fileName="kept.txt"), "hide")
    unavailable_in_b2_shape(b2.call("b2_copy_file", sourceFileId=kept["fileId"], fileName="copy.txt"), "copy")
    disarm(server)
    assert b2.versions(bucket) == before
    nothing_left_behind(server)
    assert b2.download(name, "kept.txt").content == b"kept body", "a failed copy must not take its source's blob"

    # A delete whose store call fails: the version stays, whole.
    arm(server, "metadata", "delete_version")
    unavailable_in_b2_shape(b2.call("b2_delete_file_version", fileId=kept["fileId"], fileName="kept.txt"), "delete")
    disarm(server)
    assert b2.versions(bucket) == before
    nothing_left_behind(server)
    assert b2.download(name, "kept.txt").content == b"kept body"

    # A large file whose finish fails: still unfinished with its parts, and finishing again works.
    large = b2.ok("b2_start_large_file", bucketId=bucket, fileName="large.bin", contentType="application/octet-stream")["fileId"]
    parts = [b"1" * PART_SIZE, b"2" * 1000]
    for number, data in enumerate(parts, start=1):
        target = b2.ok("b2_get_upload_part_url", fileId=large)
        r = requests.post(target["uploadUrl"], data=data, headers={
            "Authorization": target["authorizationToken"], "X-Bz-Part-Number": str(number),
            "X-Bz-Content-Sha1": hashlib.sha1(data).hexdigest()})
        assert r.status_code == 200, r.text
    sha1s = [hashlib.sha1(p).hexdigest() for p in parts]
    arm(server, "metadata", "finish_large_file")
    unavailable_in_b2_shape(b2.call("b2_finish_large_file", fileId=large, partSha1Array=sha1s), "finish")
    disarm(server)
    unfinished = b2.ok("b2_list_unfinished_large_files", bucketId=bucket)["files"]
    assert [f["fileId"] for f in unfinished] == [large]
    assert [p["partNumber"] for p in b2.ok("b2_list_parts", fileId=large)["parts"]] == [1, 2]
    nothing_left_behind(server)
    b2.ok("b2_finish_large_file", fileId=large, partSha1Array=sha1s)
    assert b2.download(name, "large.bin").content == b"".join(parts)


def test_a_commit_whose_acknowledgement_is_lost_keeps_its_data(server):
    """The store committed, then the call failed (a connection lost after COMMIT): the client saw 503, the
    data is there and whole, and collecting queued deletes never takes a blob a version refers to."""
    b2 = B2(server)
    name = f"lost-ack-{uuid.uuid4().hex[:8]}"
    bucket = b2.ok("b2_create_bucket", accountId=b2.account, bucketName=name, bucketType="allPrivate")["bucketId"]

    arm(server, "metadata", "insert_version", point="after")
    unavailable_in_b2_shape(b2.upload(bucket, "upload.txt", b"uploaded once"), "upload, acknowledgement lost")
    source = b2.upload(bucket, "source.txt", b"copied body").json()
    arm(server, "metadata", "insert_version", point="after")
    unavailable_in_b2_shape(b2.call("b2_copy_file", sourceFileId=source["fileId"], fileName="copy.txt"), "copy, acknowledgement lost")
    disarm(server)
    requests.post(f"{server.url}/_test/gc/run").raise_for_status()
    assert b2.download(name, "upload.txt").content == b"uploaded once"
    assert b2.download(name, "copy.txt").content == b"copied body"
    assert b2.download(name, "source.txt").content == b"copied body"
    assert requests.post(f"{server.url}/_test/gc/orphans").json()["removed"] == 0


def test_b2sdk_retries_through_a_failing_store(server):
    """b2sdk answers a 503 on upload with a new upload URL and tries again: one version, whole."""
    from b2sdk.v3 import B2Api, InMemoryAccountInfo
    api = B2Api(InMemoryAccountInfo())
    api.authorize_account(ROOT_ID, ROOT_KEY, realm=server.url)
    bucket = api.create_bucket(f"retry-{uuid.uuid4().hex[:8]}", "allPrivate")
    arm(server, "metadata", "insert_version")
    bucket.upload_bytes(b"after one failure", "retried.txt")
    assert disarm(server) == [{"store": "metadata", "op": "insert_version"}], "the fault was used by the first attempt"
    versions = [v.file_name for v, _ in bucket.ls(latest_only=False)]
    assert versions == ["retried.txt"]
    nothing_left_behind(server)


def test_s3_operations_failing_in_the_store(server):
    # One attempt: each answer is the server's own (boto3 retries a 503 by itself otherwise).
    s3 = boto3.client("s3", endpoint_url=server.url, aws_access_key_id=ROOT_ID, aws_secret_access_key=ROOT_KEY,
                      region_name="us-east-1", config=botocore.config.Config(retries={"total_max_attempts": 1}))
    bucket = f"faults-s3-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=bucket, Key="kept.txt", Body=b"kept body")["VersionId"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp.bin")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp.bin", UploadId=upload, PartNumber=1, Body=b"part")["ETag"]

    def versions():
        answer = s3.list_object_versions(Bucket=bucket)
        return sorted((v["Key"], v["VersionId"]) for v in answer.get("Versions", []) + answer.get("DeleteMarkers", []))

    before = versions()
    calls = {
        ("blobs", "put"): lambda: s3.put_object(Bucket=bucket, Key="new.txt", Body=b"new"),
        ("metadata", "insert_version"): lambda: s3.put_object(Bucket=bucket, Key="new.txt", Body=b"new"),
        ("metadata", "finish_large_file"): lambda: s3.complete_multipart_upload(
            Bucket=bucket, Key="mp.bin", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}),
        ("metadata", "delete_version"): lambda: s3.delete_object(Bucket=bucket, Key="kept.txt", VersionId=kept),
    }
    for (store, op), call in calls.items():
        arm(server, store, op)
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call()
        error = refused.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ServiceUnavailable", 503), f"{store}.{op}"
        assert disarm(server) == [{"store": store, "op": op}]
        assert versions() == before, f"{store}.{op} changed the bucket"
        nothing_left_behind(server)
    # A copy and a delete marker whose commits fail.
    arm(server, "metadata", "insert_version", times=2)
    for call in (lambda: s3.copy_object(Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket, "Key": "kept.txt"}),
                 lambda: s3.delete_object(Bucket=bucket, Key="kept.txt")):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
    disarm(server)
    assert versions() == before
    nothing_left_behind(server)
    # The upload is still there to complete, and the object still reads whole.
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [upload]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp.bin", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=bucket, Key="mp.bin")["Body"].read() == b"part"
    assert s3.get_object(Bucket=bucket, Key="kept.txt")["Body"].read() == b"kept body"
