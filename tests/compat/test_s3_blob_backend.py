"""`--blobs s3://BUCKET/PREFIX`: a Stowage node keeping its blobs in an S3-compatible service (here a second,
embedded Stowage), driven by b2sdk and boto3."""

import hashlib
import os
import re
import tempfile
import urllib.error
import urllib.request

import boto3
import botocore
import pytest

from conftest import PART_SIZE, ROOT_ID, ROOT_KEY, Server


def s3(url):
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=ROOT_ID, aws_secret_access_key=ROOT_KEY, region_name="us-east-1",
                        config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def backed():
    with tempfile.TemporaryDirectory() as backing_dir, tempfile.TemporaryDirectory() as front_dir:
        backing = Server(backing_dir).start()
        s3(backing.url).create_bucket(Bucket="backing-blobs")
        front = Server(front_dir, ["--blobs", "s3://backing-blobs/node-a", "--blobs-endpoint", backing.url],
                       {"AWS_ACCESS_KEY_ID": ROOT_ID, "AWS_SECRET_ACCESS_KEY": ROOT_KEY, "AWS_REGION": "us-east-1"}).start()
        yield backing, front
        front.stop()
        backing.stop()


def stored_objects(backing):
    listed = s3(backing.url).list_objects_v2(Bucket="backing-blobs", Prefix="node-a/")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_files_live_in_the_backing_bucket(backed):
    from b2sdk import v3
    backing, front = backed
    api = v3.B2Api(v3.InMemoryAccountInfo())
    api.authorize_account(ROOT_ID, ROOT_KEY, realm=front.url)
    bucket = api.create_bucket("front-bucket", "allPrivate")
    small, medium = b"kept in the metadata store", os.urandom(300_000)
    large = os.urandom(2 * PART_SIZE + 4321)
    bucket.upload_bytes(small, "small.txt")
    medium_file = bucket.upload_bytes(medium, "medium.bin")
    bucket.upload_bytes(large, "large.bin")  # b2sdk sends it as a large file of three parts
    client = s3(front.url)
    # A 20 MiB object goes through the backing service's multipart upload.
    big = os.urandom(20 * 1024 * 1024 + 17)
    client.put_object(Bucket="front-bucket", Key="big.bin", Body=big)
    objects = stored_objects(backing)
    # Small bodies stay in the metadata store; the others (the medium file, the large file's parts, the big
    # object) are objects named by blob id under the prefix.
    assert len(objects) >= 4, objects
    assert all(re.fullmatch(r"node-a/[0-9a-f]{32}", key) for key in objects), objects
    for name, data in [("small.txt", small), ("medium.bin", medium), ("large.bin", large), ("big.bin", big)]:
        got = client.get_object(Bucket="front-bucket", Key=name)["Body"].read()
        assert hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), name
    ranged = client.get_object(Bucket="front-bucket", Key="big.bin", Range="bytes=10485700-10485899")["Body"].read()
    assert ranged == big[10485700:10485900]
    # Deleting a file removes its object from the backing bucket once collected.
    bucket.delete_file_version(medium_file.id_, "medium.bin")
    urllib.request.urlopen(urllib.request.Request(front.url + "/_test/gc/run", method="POST")).read()
    assert len(stored_objects(backing)) == len(objects) - 1


def test_readiness_follows_the_backing_service(backed):
    backing, front = backed
    with urllib.request.urlopen(front.url + "/_health/ready") as r:
        assert r.status == 200
    backing.stop()
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(front.url + "/_health/ready", timeout=120)
        assert refused.value.code == 503
    finally:
        backing.start()
