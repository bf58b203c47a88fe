"""S3 addressing options: an enforced region (--region) and virtual-hosted-style buckets (--domain)."""

import tempfile

import boto3
import botocore
import pytest
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ROOT_ID, ROOT_KEY, Server

DOMAIN = "s3.stowage.test"


@pytest.fixture(scope="module")
def regional():
    with tempfile.TemporaryDirectory() as data:
        server = Server(data, ["--region", "us-west-004", "--domain", DOMAIN]).start()
        yield server
        server.stop()


def s3_client(server, region):
    return boto3.client("s3", endpoint_url=server.url, aws_access_key_id=ROOT_ID, aws_secret_access_key=ROOT_KEY, region_name=region,
                        config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def test_region_is_enforced_and_reported(regional):
    good = s3_client(regional, "us-west-004")
    good.create_bucket(Bucket="regional-bucket")
    assert good.get_bucket_location(Bucket="regional-bucket")["LocationConstraint"] == "us-west-004"
    with pytest.raises(botocore.exceptions.ClientError) as wrong:
        s3_client(regional, "eu-central-1").list_buckets()
    assert wrong.value.response["Error"]["Code"] == "AuthorizationHeaderMalformed"
    url = s3_client(regional, "eu-central-1").generate_presigned_url("list_objects_v2", Params={"Bucket": "regional-bucket"})
    assert requests.get(url).status_code == 400
    # A browser form carries its credential in a field; its region is checked too.
    for region, status in [("eu-central-1", 400), ("us-west-004", 204)]:
        post = s3_client(regional, region).generate_presigned_post("regional-bucket", "form.txt")
        assert requests.post(post["url"], data=post["fields"], files={"file": ("f.txt", b"x")}).status_code == status, region


def test_virtual_hosted_style(regional):
    s3_client(regional, "us-west-004").create_bucket(Bucket="vhost-bucket")
    port = regional.url.rsplit(":", 1)[1]

    def send(method, key, body=b""):
        # Sign for the virtual host, send to 127.0.0.1 with that Host header.
        request = AWSRequest(method=method, url=f"http://vhost-bucket.{DOMAIN}:{port}/{key}", data=body)
        S3SigV4Auth(Credentials(ROOT_ID, ROOT_KEY), "s3", "us-west-004").add_auth(request)
        headers = dict(request.prepare().headers, Host=f"vhost-bucket.{DOMAIN}:{port}")
        return requests.request(method, f"{regional.url}/{key}", data=body, headers=headers)

    # Even keys that look like B2 paths reach S3 when the host names a bucket.
    assert send("PUT", "file/b2api/v2/looks-like-b2.txt", b"virtual host").status_code == 200
    assert send("GET", "file/b2api/v2/looks-like-b2.txt").content == b"virtual host"
    path_style = s3_client(regional, "us-west-004").get_object(Bucket="vhost-bucket", Key="file/b2api/v2/looks-like-b2.txt")
    assert path_style["Body"].read() == b"virtual host"
    listing = send("GET", "?list-type=2")
    assert listing.status_code == 200 and b"looks-like-b2.txt" in listing.content
