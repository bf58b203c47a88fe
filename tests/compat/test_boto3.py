"""boto3 against Stowage's S3 API, and the same objects seen through the B2 API (b2sdk)."""

import datetime
import hashlib
import io
import os
import urllib.error
import urllib.request

import boto3
import requests
import botocore
import pytest
from boto3.s3.transfer import TransferConfig

from conftest import ROOT_ID, ROOT_KEY, Server


def client(server, key_id=ROOT_ID, secret=ROOT_KEY, **config):
    return boto3.client("s3", endpoint_url=server.url, aws_access_key_id=key_id, aws_secret_access_key=secret,
                        region_name="us-east-1", config=botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}, **config))


def error_code(call):
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    return info.value.response["Error"]["Code"]


def b2api(server, key_id=ROOT_ID, key=ROOT_KEY):
    from b2sdk.v3 import B2Api, InMemoryAccountInfo
    api = B2Api(InMemoryAccountInfo())
    api.authorize_account(key_id, key, realm=server.url)
    return api


def test_objects_listings_and_errors(server):
    s3 = client(server)
    s3.create_bucket(Bucket="boto-objects")
    assert "boto-objects" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # Re-creating one's own bucket as it is answers 200 in us-east-1, as AWS does there; otherwise it is owned.
    s3.create_bucket(Bucket="boto-objects")
    assert error_code(lambda: s3.create_bucket(Bucket="boto-objects", ACL="public-read")) == "BucketAlreadyOwnedByYou"
    assert error_code(lambda: s3.create_bucket(Bucket="Upper-Case")) == "InvalidBucketName"
    # S3 names may hold periods (B2's may not); B2 clients see such a bucket like any other.
    s3.create_bucket(Bucket="dotted.bucket.name")
    assert b2api(server).get_bucket_by_name("dotted.bucket.name").name == "dotted.bucket.name"
    assert error_code(lambda: s3.create_bucket(Bucket="double..dot")) == "InvalidBucketName"
    s3.head_bucket(Bucket="boto-objects")
    assert error_code(lambda: s3.head_bucket(Bucket="missing-bucket")) in ("404", "NoSuchBucket")
    # A bucket created through S3 starts unversioned, as on AWS; this test keeps every version.
    assert "Status" not in s3.get_bucket_versioning(Bucket="boto-objects")
    s3.put_bucket_versioning(Bucket="boto-objects", VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket="boto-objects")["Status"] == "Enabled"

    body = os.urandom(10_000)
    put = s3.put_object(Bucket="boto-objects", Key="docs/report.bin", Body=body, ContentType="application/x-report",
                        Metadata={"Author": "Ada"}, CacheControl="max-age=60")
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    got = s3.get_object(Bucket="boto-objects", Key="docs/report.bin")
    assert got["Body"].read() == body
    assert got["ContentType"] == "application/x-report"
    assert got["Metadata"] == {"author": "Ada"}
    assert got["CacheControl"] == "max-age=60"
    assert got["VersionId"] == put["VersionId"]
    part = s3.get_object(Bucket="boto-objects", Key="docs/report.bin", Range="bytes=100-199")
    assert part["Body"].read() == body[100:200] and part["ContentRange"] == "bytes 100-199/10000"
    assert error_code(lambda: s3.get_object(Bucket="boto-objects", Key="docs/report.bin", Range="bytes=20000-")) == "InvalidRange"
    head = s3.head_object(Bucket="boto-objects", Key="docs/report.bin")
    assert head["ContentLength"] == 10_000
    assert error_code(lambda: s3.get_object(Bucket="boto-objects", Key="docs/report.bin", IfNoneMatch=put["ETag"])) == "304"
    assert error_code(lambda: s3.get_object(Bucket="boto-objects", Key="docs/report.bin", IfMatch='"0000"')) == "PreconditionFailed"
    assert error_code(lambda: s3.get_object(Bucket="boto-objects", Key="absent")) == "NoSuchKey"
    assert error_code(lambda: s3.get_object(Bucket="absent-bucket", Key="x")) == "NoSuchBucket"
    assert error_code(lambda: s3.put_object(Bucket="boto-objects", Key="md5.txt", Body=b"abc", ContentMD5="AAAAAAAAAAAAAAAAAAAAAA==")) == "BadDigest"

    # Listings: pagination (v2 and v1), delimiter, start-after, URL encoding.
    keys = [f"list/{i:03d}.txt" for i in range(25)] + ["list/sub/one.txt", "list/sub/two.txt", "list/ünï cødé+.txt"]
    for key in keys:
        s3.put_object(Bucket="boto-objects", Key=key, Body=key.encode())
    seen = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="boto-objects", Prefix="list/", PaginationConfig={"PageSize": 7}):
        seen += [o["Key"] for o in page.get("Contents", [])]
    assert seen == sorted(keys, key=lambda k: k.encode())
    v1 = []
    for page in s3.get_paginator("list_objects").paginate(Bucket="boto-objects", Prefix="list/", PaginationConfig={"PageSize": 10}):
        v1 += [o["Key"] for o in page.get("Contents", [])]
    assert v1 == seen
    folders = s3.list_objects_v2(Bucket="boto-objects", Prefix="list/", Delimiter="/")
    assert [p["Prefix"] for p in folders["CommonPrefixes"]] == ["list/sub/"]
    assert len(folders["Contents"]) == 26
    after = s3.list_objects_v2(Bucket="boto-objects", Prefix="list/", StartAfter="list/023.txt")
    assert [o["Key"] for o in after["Contents"]][:2] == ["list/024.txt", "list/sub/one.txt"]

    # Copy (with metadata replaced), batch delete, versions and delete markers.
    copy = s3.copy_object(Bucket="boto-objects", Key="docs/copy.bin", CopySource={"Bucket": "boto-objects", "Key": "docs/report.bin"},
                          MetadataDirective="REPLACE", Metadata={"copied": "yes"}, ContentType="text/plain")
    assert copy["CopyObjectResult"]["ETag"] == put["ETag"]
    copied = s3.head_object(Bucket="boto-objects", Key="docs/copy.bin")
    assert copied["Metadata"] == {"copied": "yes"} and copied["ContentType"] == "text/plain"
    # Conditional copy: every failed x-amz-copy-source-if-* is a 412 and copies nothing.
    source = {"Bucket": "boto-objects", "Key": "docs/report.bin"}
    s3.copy_object(Bucket="boto-objects", Key="docs/if-match.bin", CopySource=source, CopySourceIfMatch=put["ETag"])
    long_ago, tomorrow = datetime.datetime(2001, 1, 1), datetime.datetime.now() + datetime.timedelta(days=1)
    for condition in [{"CopySourceIfMatch": '"0123456789abcdef0123456789abcdef"'}, {"CopySourceIfNoneMatch": put["ETag"]},
                      {"CopySourceIfUnmodifiedSince": long_ago}, {"CopySourceIfModifiedSince": tomorrow}]:
        assert error_code(lambda: s3.copy_object(Bucket="boto-objects", Key="docs/refused.bin", CopySource=source, **condition)) \
            == "PreconditionFailed", condition
    assert error_code(lambda: s3.head_object(Bucket="boto-objects", Key="docs/refused.bin")) == "404"
    # If-Match wins over a failing If-Unmodified-Since, as on GET.
    s3.copy_object(Bucket="boto-objects", Key="docs/if-both.bin", CopySource=source, CopySourceIfMatch=put["ETag"],
                   CopySourceIfUnmodifiedSince=long_ago)
    result = s3.delete_objects(Bucket="boto-objects", Delete={"Objects": [{"Key": k} for k in keys[:5]]})
    assert len(result["Deleted"]) == 5 and all(d["DeleteMarker"] for d in result["Deleted"])
    assert s3.list_objects_v2(Bucket="boto-objects", Prefix="list/0")["KeyCount"] == 20
    versions = s3.list_object_versions(Bucket="boto-objects", Prefix="list/000.txt")
    assert versions["DeleteMarkers"][0]["IsLatest"] is True
    assert versions["Versions"][0]["IsLatest"] is False
    # Removing the delete marker brings the object back.
    s3.delete_object(Bucket="boto-objects", Key="list/000.txt", VersionId=versions["DeleteMarkers"][0]["VersionId"])
    assert s3.get_object(Bucket="boto-objects", Key="list/000.txt")["Body"].read() == b"list/000.txt"
    older = s3.get_object(Bucket="boto-objects", Key="list/000.txt", VersionId=versions["Versions"][0]["VersionId"])
    assert older["Body"].read() == b"list/000.txt"
    assert error_code(lambda: s3.delete_bucket(Bucket="boto-objects")) == "BucketNotEmpty"


def test_multipart_presigned_and_credentials(server, tmp_path):
    s3 = client(server)
    s3.create_bucket(Bucket="boto-multipart")
    data = os.urandom(12 * 1024 * 1024 + 777)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=4)
    s3.upload_file(str(src), "boto-multipart", "big.bin", Config=config)
    head = s3.head_object(Bucket="boto-multipart", Key="big.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-3"')
    out = tmp_path / "out.bin"
    s3.download_file("boto-multipart", "big.bin", str(out), Config=config)
    assert out.read_bytes() == data

    # Low-level multipart: list uploads and parts, abort; completing with a wrong ETag fails.
    upload = s3.create_multipart_upload(Bucket="boto-multipart", Key="manual.bin")
    uid = upload["UploadId"]
    p1 = s3.upload_part(Bucket="boto-multipart", Key="manual.bin", UploadId=uid, PartNumber=1, Body=b"x" * (5 * 1024 * 1024))
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket="boto-multipart")["Uploads"]] == [uid]
    assert [p["PartNumber"] for p in s3.list_parts(Bucket="boto-multipart", Key="manual.bin", UploadId=uid)["Parts"]] == [1]
    bad = {"Parts": [{"PartNumber": 1, "ETag": '"deadbeef"'}]}
    assert error_code(lambda: s3.complete_multipart_upload(Bucket="boto-multipart", Key="manual.bin", UploadId=uid, MultipartUpload=bad)) == "InvalidPart"
    one = s3.complete_multipart_upload(Bucket="boto-multipart", Key="manual.bin", UploadId=uid,
                                       MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}]})
    assert one["ETag"].endswith('-1"')
    # A retried completion answers with the object made; with other parts the upload is gone.
    again = s3.complete_multipart_upload(Bucket="boto-multipart", Key="manual.bin", UploadId=uid,
                                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p1["ETag"]}]})
    assert again["ETag"] == one["ETag"]
    assert error_code(lambda: s3.complete_multipart_upload(Bucket="boto-multipart", Key="manual.bin", UploadId=uid,
                                                           MultipartUpload=bad)) == "NoSuchUpload"
    doomed = s3.create_multipart_upload(Bucket="boto-multipart", Key="doomed.bin")["UploadId"]
    s3.abort_multipart_upload(Bucket="boto-multipart", Key="doomed.bin", UploadId=doomed)
    assert error_code(lambda: s3.abort_multipart_upload(Bucket="boto-multipart", Key="doomed.bin", UploadId=doomed)) == "NoSuchUpload"

    # Presigned GET and PUT used with plain HTTP; tampering and expiry are refused.
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "boto-multipart", "Key": "presigned.txt"}, ExpiresIn=300)
    # requests sends no Content-Type of its own, so the signature (which covers it) holds.
    assert requests.put(url, data=b"via presigned put").status_code == 200
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "boto-multipart", "Key": "presigned.txt"}, ExpiresIn=300)
    assert urllib.request.urlopen(get_url).read() == b"via presigned put"
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(get_url.replace("presigned.txt", "big.bin"))
    assert denied.value.code == 403
    sigv4 = client(server, signature_version="s3v4")
    v4_url = sigv4.generate_presigned_url("get_object", Params={"Bucket": "boto-multipart", "Key": "presigned.txt"}, ExpiresIn=300)
    assert urllib.request.urlopen(v4_url).read() == b"via presigned put"

    # Wrong secret and unknown keys.
    assert error_code(lambda: client(server, secret="wrong").list_buckets()) == "SignatureDoesNotMatch"
    assert error_code(lambda: client(server, key_id="nobody").list_buckets()) == "InvalidAccessKeyId"

    # SigV2 header auth (older tools still sign this way).
    sigv2 = client(server, signature_version="s3")
    sigv2.put_object(Bucket="boto-multipart", Key="sigv2.txt", Body=b"signed with v2", Metadata={"via": "v2"})
    got = sigv2.get_object(Bucket="boto-multipart", Key="sigv2.txt")
    assert got["Body"].read() == b"signed with v2" and got["Metadata"] == {"via": "v2"}
    assert error_code(lambda: client(server, secret="wrong", signature_version="s3").list_buckets()) == "SignatureDoesNotMatch"


def test_same_objects_through_both_apis(server):
    s3 = client(server)
    s3.create_bucket(Bucket="cross-api-bucket")
    # Unversioned (created through S3): a PUT names no version and the next PUT of the key replaces it.
    assert "VersionId" not in s3.put_object(Bucket="cross-api-bucket", Key="from-s3.txt", Body=b"first draft")
    put = s3.put_object(Bucket="cross-api-bucket", Key="from-s3.txt", Body=b"written by boto3", Metadata={"origin": "s3"})
    assert "VersionId" not in put
    api = b2api(server)
    bucket = api.get_bucket_by_name("cross-api-bucket")
    # B2 sees one file version with a file id; S3 lists it as the key's `null` version.
    versions = list(bucket.list_file_versions("from-s3.txt"))
    assert len(versions) == 1
    info = bucket.get_file_info_by_name("from-s3.txt")
    assert info.id_ == versions[0].id_
    assert [v["VersionId"] for v in s3.list_object_versions(Bucket="cross-api-bucket", Prefix="from-s3.txt")["Versions"]] == ["null"]
    assert info.file_info["origin"] == "s3"
    assert info.content_sha1 == hashlib.sha1(b"written by boto3").hexdigest()
    out = io.BytesIO()
    bucket.download_file_by_name("from-s3.txt").save(out)
    assert out.getvalue() == b"written by boto3"

    fv = bucket.upload_bytes(b"written by b2sdk", "from-b2.txt", file_info={"origin": "b2"})
    got = s3.get_object(Bucket="cross-api-bucket", Key="from-b2.txt")
    assert got["Body"].read() == b"written by b2sdk" and got["VersionId"] == fv.id_ and got["Metadata"] == {"origin": "b2"}
    assert got["ETag"] == f'"{hashlib.md5(b"written by b2sdk").hexdigest()}"'

    # A B2 hide marker is an S3 delete marker, and an S3 delete is a B2 hide.
    bucket.hide_file("from-b2.txt")
    assert error_code(lambda: s3.get_object(Bucket="cross-api-bucket", Key="from-b2.txt")) == "NoSuchKey"
    # Unversioned: an S3 delete removes the object itself, no hide marker is left.
    s3.delete_object(Bucket="cross-api-bucket", Key="from-s3.txt")
    assert list(bucket.list_file_versions("from-s3.txt")) == []
    # Versioning enabled: an S3 delete is a B2 hide marker.
    s3.put_bucket_versioning(Bucket="cross-api-bucket", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="cross-api-bucket", Key="kept.txt", Body=b"v1")
    s3.delete_object(Bucket="cross-api-bucket", Key="kept.txt")
    assert [(v.action, v.id_) for v in bucket.list_file_versions("kept.txt")][1] == ("upload", first["VersionId"])
    # Suspended: PUTs replace the key's null version and keep the versions that have ids.
    s3.put_bucket_versioning(Bucket="cross-api-bucket", VersioningConfiguration={"Status": "Suspended"})
    for body in (b"v2", b"v3"):
        s3.put_object(Bucket="cross-api-bucket", Key="kept.txt", Body=body)
    assert [v.action for v in bucket.list_file_versions("kept.txt")] == ["upload", "hide", "upload"]
    listed = s3.list_object_versions(Bucket="cross-api-bucket", Prefix="kept.txt")
    assert [v["VersionId"] for v in listed["Versions"]] == ["null", first["VersionId"]]
    assert s3.get_object(Bucket="cross-api-bucket", Key="kept.txt", VersionId="null")["Body"].read() == b"v3"
    s3.delete_object(Bucket="cross-api-bucket", Key="kept.txt", VersionId="null")
    assert s3.get_object(Bucket="cross-api-bucket", Key="kept.txt", VersionId=first["VersionId"])["Body"].read() == b"v1"
    # A key's older null version is replaced even behind many versions with ids.
    s3.put_object(Bucket="cross-api-bucket", Key="many.txt", Body=b"old null")
    s3.put_bucket_versioning(Bucket="cross-api-bucket", VersioningConfiguration={"Status": "Enabled"})
    for i in range(20):
        s3.put_object(Bucket="cross-api-bucket", Key="many.txt", Body=b"%d" % i)
    s3.put_bucket_versioning(Bucket="cross-api-bucket", VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket="cross-api-bucket", Key="many.txt", Body=b"new null")
    listed = s3.list_object_versions(Bucket="cross-api-bucket", Prefix="many.txt")["Versions"]
    assert len(listed) == 21 and [v["VersionId"] for v in listed].count("null") == 1
    assert s3.get_object(Bucket="cross-api-bucket", Key="many.txt", VersionId="null")["Body"].read() == b"new null"
    # Object lock keeps versioning enabled.
    s3.create_bucket(Bucket="locked-versioning", ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket="locked-versioning")["Status"] == "Enabled"
    assert error_code(lambda: s3.put_bucket_versioning(Bucket="locked-versioning",
                                                       VersioningConfiguration={"Status": "Suspended"})) == "InvalidBucketState"

    # An application key restricted to a bucket and prefix is an S3 access key with the same limits.
    key = api.create_key(["listBuckets", "listFiles", "readFiles", "writeFiles", "deleteFiles"], "s3-restricted",
                         bucket_ids=[bucket.id_], name_prefix="shared/")
    limited = client(server, key.id_, key.application_key)
    limited.put_object(Bucket="cross-api-bucket", Key="shared/ok.txt", Body=b"ok")
    assert error_code(lambda: limited.put_object(Bucket="cross-api-bucket", Key="private.txt", Body=b"no")) == "AccessDenied"
    assert error_code(lambda: limited.get_object(Bucket="cross-api-bucket", Key="from-b2.txt")) == "AccessDenied"
    assert [o["Key"] for o in limited.list_objects_v2(Bucket="cross-api-bucket", Prefix="shared/")["Contents"]] == ["shared/ok.txt"]
    assert error_code(lambda: limited.list_objects_v2(Bucket="cross-api-bucket")) == "AccessDenied"
    s3.create_bucket(Bucket="other-bucket-x")
    assert error_code(lambda: limited.list_objects_v2(Bucket="other-bucket-x")) == "AccessDenied"


def test_bucket_cors_both_apis_and_lifecycle(server):
    s3 = client(server)
    s3.create_bucket(Bucket="cors-bucket")
    app = "http://127.0.0.1:3000"
    assert error_code(lambda: s3.get_bucket_cors(Bucket="cors-bucket")) == "NoSuchCORSConfiguration"

    def preflight(path, method, origin=app, headers="content-type"):
        return requests.options(server.url + path, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                                            "Access-Control-Request-Headers": headers})

    # No rule: preflight refused.
    assert preflight("/cors-bucket/upload.txt", "PUT").status_code == 403
    s3.put_bucket_cors(Bucket="cors-bucket", CORSConfiguration={"CORSRules": [
        {"ID": "browser-uploads", "AllowedOrigins": [app], "AllowedMethods": ["PUT", "GET"], "AllowedHeaders": ["*"],
         "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000}]})
    rules = s3.get_bucket_cors(Bucket="cors-bucket")["CORSRules"]
    assert rules[0]["AllowedMethods"] == ["PUT", "GET"] and rules[0]["AllowedOrigins"] == [app]
    # The same rule, seen through the B2 API.
    b2_rules = b2api(server).get_bucket_by_name("cors-bucket").cors_rules
    assert b2_rules[0]["allowedOperations"] == ["s3_put", "s3_get"] and b2_rules[0]["corsRuleName"] == "browser-uploads"

    ok = preflight("/cors-bucket/upload.txt", "PUT")
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == app
    assert "PUT" in ok.headers["Access-Control-Allow-Methods"]
    assert ok.headers["Access-Control-Max-Age"] == "3000"
    assert preflight("/cors-bucket/upload.txt", "PUT", origin="http://evil.example").status_code == 403
    assert preflight("/cors-bucket/upload.txt", "DELETE").status_code == 403

    # The actual presigned PUT from that origin carries the CORS response headers.
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "cors-bucket", "Key": "upload.txt"}, ExpiresIn=300)
    put = requests.put(url, data=b"from the browser", headers={"Origin": app})
    assert put.status_code == 200
    assert put.headers["Access-Control-Allow-Origin"] == app
    assert put.headers["Access-Control-Expose-Headers"] == "ETag"

    # B2 rules answer preflights on B2 download and upload URLs.
    api = b2api(server)
    bucket = api.get_bucket_by_name("cors-bucket")
    bucket.update(cors_rules=[{"corsRuleName": "downloads", "allowedOrigins": ["*"], "allowedOperations": ["b2_download_file_by_name", "b2_upload_file"],
                               "allowedHeaders": ["authorization", "x-bz-*", "content-type"], "exposeHeaders": None, "maxAgeSeconds": 60}])
    dl = preflight("/file/cors-bucket/upload.txt", "GET", headers="authorization")
    assert dl.status_code == 200 and dl.headers["Access-Control-Allow-Origin"] == "*"
    up = preflight(f"/b2api/v2/b2_upload_file/{bucket.id_}", "POST", headers="authorization, x-bz-file-name, x-bz-content-sha1")
    assert up.status_code == 200
    assert preflight(f"/b2api/v2/b2_upload_file/{bucket.id_}", "POST", headers="x-custom").status_code == 403
    # S3 operations are no longer allowed: PutBucketCors and corsRules are one rule set.
    assert preflight("/cors-bucket/upload.txt", "PUT").status_code == 403
    s3.delete_bucket_cors(Bucket="cors-bucket")
    assert api.get_bucket_by_name("cors-bucket").get_fresh_state().cors_rules == []

    # Lifecycle: S3 rules map onto B2's, both ways.
    assert error_code(lambda: s3.get_bucket_lifecycle_configuration(Bucket="cors-bucket")) == "NoSuchLifecycleConfiguration"
    s3.put_bucket_lifecycle_configuration(Bucket="cors-bucket", LifecycleConfiguration={"Rules": [
        {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 7}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}]})
    b2_rules = api.get_bucket_by_name("cors-bucket").get_fresh_state().lifecycle_rules
    assert b2_rules == [{"fileNamePrefix": "logs/", "daysFromUploadingToHiding": 30, "daysFromHidingToDeleting": 7,
                         "daysFromStartingToCancelingUnfinishedLargeFiles": 2}]
    back = s3.get_bucket_lifecycle_configuration(Bucket="cors-bucket")["Rules"][0]
    assert back["Filter"]["Prefix"] == "logs/" and back["Expiration"]["Days"] == 30 and back["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7
    s3.delete_bucket_lifecycle(Bucket="cors-bucket")
    assert api.get_bucket_by_name("cors-bucket").get_fresh_state().lifecycle_rules == []


def test_browser_form_post_with_policy(server):
    s3 = client(server, signature_version="s3v4")
    s3.create_bucket(Bucket="post-bucket")
    post = s3.generate_presigned_post("post-bucket", "uploads/form.txt", Fields={"Content-Type": "text/plain"},
                                      Conditions=[{"Content-Type": "text/plain"}, ["content-length-range", 1, 1000]], ExpiresIn=300)
    ok = requests.post(post["url"], data=post["fields"], files={"file": ("form.txt", b"posted from a form")})
    assert ok.status_code == 204
    got = s3.get_object(Bucket="post-bucket", Key="uploads/form.txt")
    assert got["Body"].read() == b"posted from a form" and got["ContentType"] == "text/plain"
    too_big = requests.post(post["url"], data=post["fields"], files={"file": ("big.txt", b"x" * 2000)})
    assert too_big.status_code == 400 and "EntityTooLarge" in too_big.text
    moved = dict(post["fields"], key="elsewhere/form.txt")
    assert requests.post(post["url"], data=moved, files={"file": ("x.txt", b"x")}).status_code in (400, 403)
    forged = dict(post["fields"], **{"x-amz-signature": "0" * 64})
    refused = requests.post(post["url"], data=forged, files={"file": ("x.txt", b"x")})
    assert refused.status_code == 403 and "SignatureDoesNotMatch" in refused.text

    # A form without a signed policy is refused before its file is read, and stores nothing.
    anonymous = requests.post(f"{server.url}/post-bucket", data={"key": "anon.bin"}, files={"file": ("anon.bin", b"x" * 5_000_000)})
    assert 400 <= anonymous.status_code < 500, anonymous.text
    assert error_code(lambda: s3.head_object(Bucket="post-bucket", Key="anon.bin")) == "404"

    # "${filename}" in the key is the uploaded file's name; the 204 carries ETag and Location, a 201 the XML.
    named = s3.generate_presigned_post("post-bucket", "by-name/${filename}", Conditions=[["starts-with", "$key", "by-name/"]])
    ok = requests.post(named["url"], data=named["fields"], files={"file": ("holiday photo.jpg", b"jpeg bytes")})
    assert ok.status_code == 204, ok.text
    assert ok.headers["ETag"] == '"%s"' % hashlib.md5(b"jpeg bytes").hexdigest()
    assert ok.headers["Location"] == f"{server.url}/post-bucket/by-name/holiday%20photo.jpg"
    assert s3.get_object(Bucket="post-bucket", Key="by-name/holiday photo.jpg")["Body"].read() == b"jpeg bytes"
    with_status = s3.generate_presigned_post("post-bucket", "by-name/${filename}", Fields={"success_action_status": "201"},
                                             Conditions=[["starts-with", "$key", "by-name/"], {"success_action_status": "201"}])
    created = requests.post(with_status["url"], data=with_status["fields"], files={"file": ("second.txt", b"second")})
    assert created.status_code == 201 and "<Key>by-name/second.txt</Key>" in created.text


def test_tagging_object_lock_attributes_and_acl(server):
    s3 = client(server)
    s3.create_bucket(Bucket="tags-bucket")
    s3.put_object(Bucket="tags-bucket", Key="tagged.txt", Body=b"t", Tagging="project=stowage&tier=gold")
    assert s3.get_object(Bucket="tags-bucket", Key="tagged.txt")["TagCount"] == 2
    tags = s3.get_object_tagging(Bucket="tags-bucket", Key="tagged.txt")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("project", "stowage"), ("tier", "gold")]
    s3.put_object_tagging(Bucket="tags-bucket", Key="tagged.txt", Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
    assert s3.get_object_tagging(Bucket="tags-bucket", Key="tagged.txt")["TagSet"] == [{"Key": "only", "Value": "one"}]
    s3.delete_object_tagging(Bucket="tags-bucket", Key="tagged.txt")
    assert s3.get_object_tagging(Bucket="tags-bucket", Key="tagged.txt")["TagSet"] == []
    assert error_code(lambda: s3.get_bucket_tagging(Bucket="tags-bucket")) == "NoSuchTagSet"
    s3.put_bucket_tagging(Bucket="tags-bucket", Tagging={"TagSet": [{"Key": "team", "Value": "storage"}]})
    assert s3.get_bucket_tagging(Bucket="tags-bucket")["TagSet"] == [{"Key": "team", "Value": "storage"}]
    s3.delete_bucket_tagging(Bucket="tags-bucket")

    attrs = s3.get_object_attributes(Bucket="tags-bucket", Key="tagged.txt", ObjectAttributes=["ETag", "ObjectSize", "StorageClass"])
    assert attrs["ObjectSize"] == 1 and attrs["ETag"] == hashlib.md5(b"t").hexdigest() and attrs["StorageClass"] == "STANDARD"

    # ACLs choose between B2's private and public buckets.
    s3.put_bucket_acl(Bucket="tags-bucket", ACL="public-read")
    assert requests.get(f"{server.url}/tags-bucket/tagged.txt").content == b"t"
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in s3.get_bucket_acl(Bucket="tags-bucket")["Grants"])
    s3.put_bucket_acl(Bucket="tags-bucket", ACL="private")
    assert requests.get(f"{server.url}/tags-bucket/tagged.txt").status_code == 403

    # Object lock: bucket configuration, default retention, per-object retention and legal hold.
    s3.create_bucket(Bucket="lock-s3-bucket", ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket="lock-s3-bucket", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    config = s3.get_object_lock_configuration(Bucket="lock-s3-bucket")["ObjectLockConfiguration"]
    assert config["Rule"]["DefaultRetention"] == {"Mode": "GOVERNANCE", "Days": 1}
    put = s3.put_object(Bucket="lock-s3-bucket", Key="kept.txt", Body=b"k")
    assert s3.get_object_retention(Bucket="lock-s3-bucket", Key="kept.txt")["Retention"]["Mode"] == "GOVERNANCE"
    assert error_code(lambda: s3.delete_object(Bucket="lock-s3-bucket", Key="kept.txt", VersionId=put["VersionId"])) == "AccessDenied"
    s3.put_object_legal_hold(Bucket="lock-s3-bucket", Key="kept.txt", LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket="lock-s3-bucket", Key="kept.txt")["LegalHold"]["Status"] == "ON"
    assert error_code(lambda: s3.delete_object(Bucket="lock-s3-bucket", Key="kept.txt", VersionId=put["VersionId"],
                                               BypassGovernanceRetention=True)) == "AccessDenied"
    s3.put_object_legal_hold(Bucket="lock-s3-bucket", Key="kept.txt", LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket="lock-s3-bucket", Key="kept.txt", VersionId=put["VersionId"], BypassGovernanceRetention=True)
    assert error_code(lambda: s3.get_object_lock_configuration(Bucket="tags-bucket")) == "ObjectLockConfigurationNotFoundError"


def test_checksums_are_verified(server):
    import base64
    s3 = client(server)
    s3.create_bucket(Bucket="checksum-bucket")
    body = b"checked bytes" * 1000
    sha256 = base64.b64encode(hashlib.sha256(body).digest()).decode()
    s3.put_object(Bucket="checksum-bucket", Key="good.bin", Body=body, ChecksumSHA256=sha256)
    assert s3.get_object(Bucket="checksum-bucket", Key="good.bin")["Body"].read() == body
    # The SDK's default (a CRC32 computed by botocore, sent as a header or an aws-chunked trailer) passes.
    for algorithm in ["CRC32", "SHA1", "SHA256"]:  # CRC32C and CRC64NVME need botocore[crt]
        s3.put_object(Bucket="checksum-bucket", Key=f"alg-{algorithm}.bin", Body=body, ChecksumAlgorithm=algorithm)
    # A checksum that does not match the body is refused, and nothing is stored.
    assert error_code(lambda: s3.put_object(Bucket="checksum-bucket", Key="bad.bin", Body=body, ChecksumCRC32="AAAAAA==")) == "BadDigest"
    assert error_code(lambda: s3.head_object(Bucket="checksum-bucket", Key="bad.bin")) == "404"
    upload = s3.create_multipart_upload(Bucket="checksum-bucket", Key="parts.bin")["UploadId"]
    assert error_code(lambda: s3.upload_part(Bucket="checksum-bucket", Key="parts.bin", UploadId=upload, PartNumber=1, Body=body,
                                             ChecksumSHA256=base64.b64encode(b"x" * 32).decode())) == "BadDigest"
    assert s3.list_parts(Bucket="checksum-bucket", Key="parts.bin", UploadId=upload).get("Parts", []) == []

    # Verified checksums are stored and returned: on HEAD/GET with checksum mode, in GetObjectAttributes, on parts,
    # and as the composite (checksum of the part checksums, "-N") of a multipart object.
    head = s3.head_object(Bucket="checksum-bucket", Key="good.bin", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == sha256 and head["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket="checksum-bucket", Key="good.bin", ChecksumMode="ENABLED")
    assert got["ChecksumSHA256"] == sha256 and got["Body"].read() == body
    assert "ChecksumSHA256" not in s3.head_object(Bucket="checksum-bucket", Key="good.bin")
    attrs = s3.get_object_attributes(Bucket="checksum-bucket", Key="good.bin", ObjectAttributes=["Checksum"])
    assert attrs["Checksum"]["ChecksumSHA256"] == sha256
    created = s3.create_multipart_upload(Bucket="checksum-bucket", Key="composite.bin", ChecksumAlgorithm="SHA256")
    assert created["ChecksumAlgorithm"] == "SHA256"
    upload = created["UploadId"]
    chunks = [os.urandom(5_000_000), b"tail"]
    digests = [hashlib.sha256(c).digest() for c in chunks]
    etags = [s3.upload_part(Bucket="checksum-bucket", Key="composite.bin", UploadId=upload, PartNumber=n + 1, Body=c,
                            ChecksumAlgorithm="SHA256")["ETag"] for n, c in enumerate(chunks)]
    listing = s3.list_parts(Bucket="checksum-bucket", Key="composite.bin", UploadId=upload)
    assert listing["ChecksumAlgorithm"] == "SHA256"
    listed = listing["Parts"]
    assert [p["ChecksumSHA256"] for p in listed] == [base64.b64encode(d).decode() for d in digests]
    # A whole-object checksum a completion states must be the composite of the parts' listed ones.
    composite = base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode() + "-2"
    bare = {"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]}
    assert error_code(lambda: s3.complete_multipart_upload(Bucket="checksum-bucket", Key="composite.bin", UploadId=upload,
                                                           MultipartUpload=bare, ChecksumSHA256=composite)) == "BadDigest"
    good = {"Parts": [{"PartNumber": n + 1, "ETag": e, "ChecksumSHA256": base64.b64encode(d).decode()}
                      for n, (e, d) in enumerate(zip(etags, digests))]}
    assert error_code(lambda: s3.complete_multipart_upload(Bucket="checksum-bucket", Key="composite.bin", UploadId=upload,
                                                           MultipartUpload=good, ChecksumSHA256="AAAA-2")) == "BadDigest"
    wrong = {"Parts": [{"PartNumber": n + 1, "ETag": e, "ChecksumSHA256": base64.b64encode(hashlib.sha256(b"other").digest()).decode()}
                       for n, e in enumerate(etags)]}
    assert error_code(lambda: s3.complete_multipart_upload(Bucket="checksum-bucket", Key="composite.bin", UploadId=upload,
                                                           MultipartUpload=wrong)) == "InvalidPart"
    done = s3.complete_multipart_upload(Bucket="checksum-bucket", Key="composite.bin", UploadId=upload, MultipartUpload=good,
                                        ChecksumSHA256=composite)
    assert done["ChecksumSHA256"] == composite
    head = s3.head_object(Bucket="checksum-bucket", Key="composite.bin", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == composite and head["ChecksumType"] == "COMPOSITE"
    attrs = s3.get_object_attributes(Bucket="checksum-bucket", Key="composite.bin", ObjectAttributes=["ObjectParts"], MaxParts=1)
    parts_page = attrs["ObjectParts"]
    assert parts_page["TotalPartsCount"] == 2 and parts_page["IsTruncated"] and parts_page["NextPartNumberMarker"] == 1
    assert parts_page["Parts"] == [{"PartNumber": 1, "Size": len(chunks[0]), "ChecksumSHA256": base64.b64encode(digests[0]).decode()}]
    # Reading one part names that part's checksum.
    part = s3.get_object(Bucket="checksum-bucket", Key="composite.bin", PartNumber=2)
    assert part["ChecksumSHA256"] == base64.b64encode(digests[1]).decode() and part["ChecksumType"] == "COMPOSITE"


def test_aws_chunked_trailing_checksums(server):
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER bodies, as current SDKs send them: the trailing CRC is verified."""
    import base64
    import zlib
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    class TrailerAuth(S3SigV4Auth):
        def payload(self, request):
            return "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

    client(server).create_bucket(Bucket="trailer-bucket")

    def put(key, data, crc):
        body = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n" + f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode()
        request = AWSRequest(method="PUT", url=f"{server.url}/trailer-bucket/{key}", data=body, headers={
            "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)), "x-amz-trailer": "x-amz-checksum-crc32"})
        TrailerAuth(Credentials(ROOT_ID, ROOT_KEY), "s3", "us-east-1").add_auth(request)
        prepared = request.prepare()
        return requests.put(prepared.url, data=body, headers=dict(prepared.headers))

    data = b"chunked with a trailer" * 500
    good = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    assert put("good.bin", data, good).status_code == 200
    assert client(server).get_object(Bucket="trailer-bucket", Key="good.bin")["Body"].read() == data
    bad = put("bad.bin", data, "AAAAAA==")
    assert bad.status_code == 400 and "BadDigest" in bad.text
    assert error_code(lambda: client(server).head_object(Bucket="trailer-bucket", Key="bad.bin")) == "404"

    # Malformed framing gets a 4xx (never a 500 or a hang) and stores nothing.
    def raw(key, body, decoded_length):
        request = AWSRequest(method="PUT", url=f"{server.url}/trailer-bucket/{key}", data=body, headers={
            "content-encoding": "aws-chunked", "x-amz-decoded-content-length": str(decoded_length), "x-amz-trailer": "x-amz-checksum-crc32"})
        TrailerAuth(Credentials(ROOT_ID, ROOT_KEY), "s3", "us-east-1").add_auth(request)
        prepared = request.prepare()
        return requests.put(prepared.url, data=body, headers=dict(prepared.headers), timeout=30)

    trailer = f"x-amz-checksum-crc32:{good}\r\n\r\n".encode()
    malformed = {
        "not-hex": b"zz\r\n" + data + b"\r\n0\r\n" + trailer,
        "size-beyond-body": f"{len(data) + 100:x}\r\n".encode() + data + b"\r\n0\r\n" + trailer,
        "no-final-chunk": f"{len(data):x}\r\n".encode() + data + b"\r\n",
        "no-crlf-after-data": f"{len(data):x}\r\n".encode() + data + b"0\r\n" + trailer,
        "decoded-length-lies": f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n" + trailer,
    }
    for name, body in malformed.items():
        answer = raw(name, body, len(data) + (7 if name == "decoded-length-lies" else 0))
        assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text)
        assert error_code(lambda: client(server).head_object(Bucket="trailer-bucket", Key=name)) == "404", name
    assert 'status="500"' not in server.metrics()


def test_clock_skew_limit(server, monkeypatch):
    """Header-signed requests more than 15 minutes away from the server's clock are refused."""
    import botocore.auth
    real = botocore.auth.datetime.datetime

    def at(offset):
        class Skewed(real):
            @classmethod
            def utcnow(cls):
                return real.utcnow() + offset

            @classmethod
            def now(cls, tz=None):
                return real.now(tz) + offset
        return Skewed

    monkeypatch.setattr(botocore.auth.datetime, "datetime", at(datetime.timedelta(minutes=-20)))
    assert error_code(lambda: client(server).list_buckets()) == "RequestTimeTooSkewed"
    monkeypatch.setattr(botocore.auth.datetime, "datetime", at(datetime.timedelta(minutes=20)))
    assert error_code(lambda: client(server).list_buckets()) == "RequestTimeTooSkewed"
    monkeypatch.setattr(botocore.auth.datetime, "datetime", at(datetime.timedelta(minutes=-5)))
    client(server).list_buckets()


def test_emptying_a_versioned_bucket_page_by_page(server):
    """The cleanup loop of every S3 tool: list a page of versions, delete them, list the next page from the
    markers of the last answer (which name versions that no longer exist), then delete the bucket, whose only
    other content is an abandoned multipart upload."""
    s3 = client(server)
    s3.create_bucket(Bucket="boto-emptying")
    s3.put_bucket_versioning(Bucket="boto-emptying", VersioningConfiguration={"Status": "Enabled"})
    for i in range(7):
        for _ in range(2):
            s3.put_object(Bucket="boto-emptying", Key=f"k{i}", Body=b"x")
    s3.delete_object(Bucket="boto-emptying", Key="k3")  # a delete marker among the versions
    abandoned = s3.create_multipart_upload(Bucket="boto-emptying", Key="abandoned")["UploadId"]
    s3.upload_part(Bucket="boto-emptying", Key="abandoned", UploadId=abandoned, PartNumber=1, Body=b"p" * 1024)

    deleted, markers, pages = 0, {}, 0
    while True:
        page = s3.list_object_versions(Bucket="boto-emptying", MaxKeys=4, **markers)
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        s3.delete_objects(Bucket="boto-emptying",
                          Delete={"Objects": [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in entries]})
        deleted += len(entries)
        pages += 1
        if not page["IsTruncated"]:
            break
        markers = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert (deleted, pages) == (15, 4)
    assert "Versions" not in s3.list_object_versions(Bucket="boto-emptying")

    s3.delete_bucket(Bucket="boto-emptying")
    assert error_code(lambda: s3.head_bucket(Bucket="boto-emptying")) == "404"
    # Through B2 a bucket with an unfinished large file is still not empty.
    api = b2api(server)
    bucket = api.create_bucket("unfinished-from-b2", "allPrivate")
    api.session.start_large_file(bucket.id_, "big.bin", "b2/x-auto", {})
    with pytest.raises(Exception, match="cannot_delete_non_empty_bucket"):
        api.delete_bucket(bucket)


def test_listing_edges_and_tag_limits(server):
    s3 = client(server)
    s3.create_bucket(Bucket="boto-edges")
    for key in ("a/1", "a/2", "b"):
        s3.put_object(Bucket="boto-edges", Key=key, Body=b"x")
    v1 = s3.list_objects(Bucket="boto-edges", Delimiter="")
    assert v1["Marker"] == "" and "Delimiter" not in v1 and [o["Key"] for o in v1["Contents"]] == ["a/1", "a/2", "b"]
    assert "Delimiter" not in s3.list_objects_v2(Bucket="boto-edges", Delimiter="")
    for listing in (s3.list_objects(Bucket="boto-edges", MaxKeys=0), s3.list_objects_v2(Bucket="boto-edges", MaxKeys=0)):
        assert listing["IsTruncated"] is False and "Contents" not in listing
    # Paging by one with a delimiter: a marker naming a common prefix goes past it.
    first = s3.list_objects(Bucket="boto-edges", Delimiter="/", MaxKeys=1)
    assert [p["Prefix"] for p in first["CommonPrefixes"]] == ["a/"] and first["NextMarker"] == "a/"
    second = s3.list_objects(Bucket="boto-edges", Delimiter="/", MaxKeys=1, Marker="a/")
    assert [o["Key"] for o in second["Contents"]] == ["b"] and "CommonPrefixes" not in second and not second["IsTruncated"]
    empty_token = s3.list_objects_v2(Bucket="boto-edges", ContinuationToken="")
    assert empty_token["ContinuationToken"] == "" and empty_token["KeyCount"] == 3
    too_many = {"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}
    assert error_code(lambda: s3.put_object_tagging(Bucket="boto-edges", Key="b", Tagging=too_many)) == "InvalidTag"
    long_key = {"TagSet": [{"Key": "k" * 129, "Value": "v"}]}
    assert error_code(lambda: s3.put_object_tagging(Bucket="boto-edges", Key="b", Tagging=long_key)) == "InvalidTag"


def test_copy_and_digest_refusals(server):
    s3 = client(server)
    s3.create_bucket(Bucket="boto-refusals")
    s3.put_object(Bucket="boto-refusals", Key="src", Body=b"12345")
    # Copying an object onto itself must change something.
    same = {"Bucket": "boto-refusals", "Key": "src"}
    assert error_code(lambda: s3.copy_object(Bucket="boto-refusals", Key="src", CopySource=same)) == "InvalidRequest"
    s3.copy_object(Bucket="boto-refusals", Key="src", CopySource=same, MetadataDirective="REPLACE", Metadata={"k": "v"})
    assert s3.head_object(Bucket="boto-refusals", Key="src")["Metadata"] == {"k": "v"}
    # A part copied from a range past the end of the source is refused.
    upload = s3.create_multipart_upload(Bucket="boto-refusals", Key="dest")["UploadId"]
    assert error_code(lambda: s3.upload_part_copy(Bucket="boto-refusals", Key="dest", UploadId=upload, PartNumber=1,
                                                  CopySource=same, CopySourceRange="bytes=0-21")) == "InvalidRange"
    # An empty Content-MD5 is not a digest.
    signed = s3.generate_presigned_url("put_object", Params={"Bucket": "boto-refusals", "Key": "empty-md5"}, ExpiresIn=60)
    assert "InvalidDigest" in requests.put(signed, data=b"x", headers={"Content-MD5": ""}).text
    assert error_code(lambda: s3.head_object(Bucket="boto-refusals", Key="empty-md5")) == "404"


def test_object_lock_validation_in_aws_order(server):
    s3 = client(server)
    s3.create_bucket(Bucket="lock-checks", ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket="no-lock-checks")
    s3.put_object(Bucket="lock-checks", Key="k", Body=b"x")
    s3.put_object(Bucket="no-lock-checks", Key="k", Body=b"x")

    def lock_config(**retention):
        return lambda: s3.put_object_lock_configuration(Bucket="lock-checks", ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}})
    assert error_code(lock_config(Mode="GOVERNANCE", Days=0)) == "InvalidRetentionPeriod"
    assert error_code(lock_config(Mode="GOVERNANCE", Years=-1)) == "InvalidRetentionPeriod"
    assert error_code(lock_config(Mode="governance", Days=1)) == "MalformedXML"
    until = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    assert error_code(lambda: s3.put_object_retention(Bucket="lock-checks", Key="k",
                                                      Retention={"Mode": "abc", "RetainUntilDate": until})) == "MalformedXML"
    assert error_code(lambda: s3.put_object_legal_hold(Bucket="lock-checks", Key="k", LegalHold={"Status": "abc"})) == "MalformedXML"
    # A bucket without object lock: InvalidRequest before the body is looked at; a missing bucket first.
    assert error_code(lambda: s3.get_object_retention(Bucket="no-lock-checks", Key="k")) == "InvalidRequest"
    assert error_code(lambda: s3.get_object_legal_hold(Bucket="no-lock-checks", Key="k")) == "InvalidRequest"
    assert error_code(lambda: s3.put_object_legal_hold(Bucket="no-lock-checks", Key="k", LegalHold={"Status": "ON"})) == "InvalidRequest"
    assert error_code(lambda: s3.put_object_retention(Bucket="missing-lock-bucket", Key="k",
                                                      Retention={"Mode": "abc", "RetainUntilDate": until})) == "NoSuchBucket"


def test_lifecycle_rules_are_validated(server):
    s3 = client(server)
    s3.create_bucket(Bucket="lifecycle-checks")

    def put(*rules):
        return lambda: s3.put_bucket_lifecycle_configuration(Bucket="lifecycle-checks", LifecycleConfiguration={"Rules": list(rules)})
    rule = {"ID": "r1", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 3}}
    assert error_code(put({**rule, "ID": "x" * 256})) == "InvalidArgument"
    assert error_code(put(rule, {**rule, "Filter": {"Prefix": "tmp/"}})) == "InvalidArgument"
    assert error_code(put({**rule, "Status": "enabled"})) == "MalformedXML"
    put(rule, {**rule, "ID": "r2", "Filter": {"Prefix": "old/"}, "Status": "Disabled"})()
    rules = s3.get_bucket_lifecycle_configuration(Bucket="lifecycle-checks")["Rules"]
    # A disabled rule is kept (and read back) as AWS keeps it; it does nothing.
    assert [(r["Filter"]["Prefix"], r["Status"]) for r in rules] == [("logs/", "Enabled"), ("old/", "Disabled")]


def test_s3_lifecycle_rules_are_kept_as_written_and_applied(tmp_path):
    """Tag, size and And filters, dates, delete-marker expiry and kept noncurrent versions, on the server's
    test clock; B2 clients see the rules B2 can express, and a B2 update replaces the S3 configuration."""
    server = Server(str(tmp_path)).start()
    try:
        s3 = client(server)
        s3.create_bucket(Bucket="aging")
        s3.put_bucket_versioning(Bucket="aging", VersioningConfiguration={"Status": "Enabled"})
        rules = [
            {"ID": "temp-logs", "Filter": {"And": {"Prefix": "logs/", "Tags": [{"Key": "temp", "Value": "yes"}]}},
             "Status": "Enabled", "Expiration": {"Days": 1}},
            {"ID": "tiny", "Filter": {"And": {"Prefix": "sized/", "ObjectSizeLessThan": 10}}, "Status": "Enabled",
             "Expiration": {"Days": 1}},
            {"ID": "markers", "Filter": {"Prefix": "gone/"}, "Status": "Enabled", "Expiration": {"ExpiredObjectDeleteMarker": True}},
            {"ID": "history", "Filter": {"Prefix": "hist/"}, "Status": "Enabled",
             "NoncurrentVersionExpiration": {"NoncurrentDays": 1, "NewerNoncurrentVersions": 1}},
            {"ID": "off", "Prefix": "off/", "Status": "Disabled", "Expiration": {"Days": 1}},
            {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 30}},
        ]
        s3.put_bucket_lifecycle_configuration(Bucket="aging", LifecycleConfiguration={"Rules": rules})
        assert s3.get_bucket_lifecycle_configuration(Bucket="aging")["Rules"] == rules
        # B2's form holds prefixes and day counts: only the plain rule shows there.
        api = b2api(server)
        assert api.get_bucket_by_name("aging").get_fresh_state().lifecycle_rules == [
            {"fileNamePrefix": "tmp/", "daysFromUploadingToHiding": 30, "daysFromHidingToDeleting": None,
             "daysFromStartingToCancelingUnfinishedLargeFiles": None}]

        s3.put_object(Bucket="aging", Key="logs/temp.txt", Body=b"t", Tagging="temp=yes")
        s3.put_object(Bucket="aging", Key="logs/keep.txt", Body=b"k", Tagging="temp=no")
        s3.put_object(Bucket="aging", Key="sized/tiny", Body=b"12345")
        s3.put_object(Bucket="aging", Key="sized/large", Body=b"x" * 100)
        gone = s3.put_object(Bucket="aging", Key="gone/x", Body=b"g")["VersionId"]
        s3.delete_object(Bucket="aging", Key="gone/x")
        s3.delete_object(Bucket="aging", Key="gone/x", VersionId=gone)
        for n in range(4):
            s3.put_object(Bucket="aging", Key="hist/h", Body=f"v{n}".encode())
        s3.put_object(Bucket="aging", Key="off/o", Body=b"o")

        requests.post(server.url + "/_test/clock/advance?days=2").raise_for_status()
        report = requests.post(server.url + "/_test/lifecycle/run").json()
        assert report == {"hidden": 2, "deleted": 3, "canceled": 0}, report

        listing = s3.list_object_versions(Bucket="aging")
        versions = {}
        for v in listing.get("Versions", []):
            versions.setdefault(v["Key"], []).append(v)
        markers = {m["Key"]: m for m in listing.get("DeleteMarkers", [])}
        assert set(markers) == {"logs/temp.txt", "sized/tiny"}, markers
        assert all(m["IsLatest"] for m in markers.values())
        assert set(versions) == {"logs/temp.txt", "logs/keep.txt", "sized/tiny", "sized/large", "hist/h", "off/o"}
        assert [s3.get_object(Bucket="aging", Key="hist/h", VersionId=v["VersionId"])["Body"].read() for v in versions["hist/h"]] == [b"v3", b"v2"]

        # An unversioned bucket's expired objects are removed, not hidden; a date rule expires at its date.
        s3.create_bucket(Bucket="aging-plain")
        s3.put_object(Bucket="aging-plain", Key="old.txt", Body=b"o")
        s3.put_bucket_lifecycle_configuration(Bucket="aging-plain", LifecycleConfiguration={"Rules": [
            {"ID": "dated", "Filter": {}, "Status": "Enabled", "Expiration": {"Date": datetime.datetime(2020, 1, 1)}}]})
        assert requests.post(server.url + "/_test/lifecycle/run").json()["deleted"] == 1
        plain = s3.list_object_versions(Bucket="aging-plain")
        assert "Versions" not in plain and "DeleteMarkers" not in plain
        assert error_code(lambda: s3.put_bucket_lifecycle_configuration(Bucket="aging-plain", LifecycleConfiguration={"Rules": [
            {"ID": "noon", "Filter": {}, "Status": "Enabled", "Expiration": {"Date": datetime.datetime(2020, 1, 1, 12)}}]})) == "InvalidArgument"
        assert error_code(lambda: s3.put_bucket_lifecycle_configuration(Bucket="aging-plain", LifecycleConfiguration={"Rules": [
            {"ID": "both", "Filter": {"Prefix": "a/", "ObjectSizeLessThan": 5}, "Status": "Enabled", "Expiration": {"Days": 1}}]})) == "MalformedXML"
        assert error_code(lambda: s3.put_bucket_lifecycle_configuration(Bucket="aging-plain", LifecycleConfiguration={"Rules": [
            {"ID": "glacier", "Filter": {}, "Status": "Enabled", "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}]}]})) == "NotImplemented"

        # A B2 client's rules replace the S3 configuration; S3 then shows them as prefix rules.
        bucket = api.get_bucket_by_name("aging")
        bucket.update(lifecycle_rules=[{"fileNamePrefix": "b2/", "daysFromUploadingToHiding": 5, "daysFromHidingToDeleting": 1}])
        back = s3.get_bucket_lifecycle_configuration(Bucket="aging")["Rules"]
        assert [(r["Filter"]["Prefix"], r["Expiration"]["Days"], r["NoncurrentVersionExpiration"]["NoncurrentDays"]) for r in back] == [("b2/", 5, 1)]
    finally:
        server.stop()


def test_part_and_range_reads_and_version_listing_encoding(server):
    s3 = client(server)
    s3.create_bucket(Bucket="part-reads")
    chunks = [os.urandom(5 * 1024 * 1024), b"last part"]
    upload = s3.create_multipart_upload(Bucket="part-reads", Key="big")["UploadId"]
    parts = [{"PartNumber": n + 1, "ETag": s3.upload_part(Bucket="part-reads", Key="big", UploadId=upload, PartNumber=n + 1,
                                                          Body=c)["ETag"]} for n, c in enumerate(chunks)]
    # A part of an object not yet completed is not there.
    assert error_code(lambda: s3.get_object(Bucket="part-reads", Key="big", PartNumber=1)) == "NoSuchKey"
    etag = s3.complete_multipart_upload(Bucket="part-reads", Key="big", UploadId=upload, MultipartUpload={"Parts": parts})["ETag"]
    for number, chunk in enumerate(chunks, start=1):
        got = s3.get_object(Bucket="part-reads", Key="big", PartNumber=number)
        assert got["Body"].read() == chunk and got["PartsCount"] == 2 and got["ETag"] == etag
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
        head = s3.head_object(Bucket="part-reads", Key="big", PartNumber=number)
        assert head["ContentLength"] == len(chunk) and head["PartsCount"] == 2
    assert error_code(lambda: s3.get_object(Bucket="part-reads", Key="big", PartNumber=3)) == "InvalidPart"
    # A simple object is its own part 1.
    s3.put_object(Bucket="part-reads", Key="small", Body=b"0123456789")
    assert s3.get_object(Bucket="part-reads", Key="small", PartNumber=1)["Body"].read() == b"0123456789"
    # HEAD with a Range answers as GET would, without the body.
    head = s3.head_object(Bucket="part-reads", Key="small", Range="bytes=2-5")
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 206 and head["ContentLength"] == 4
    assert head["ResponseMetadata"]["HTTPHeaders"]["content-range"] == "bytes 2-5/10"
    # Version listings URL-encode keys when asked (boto3 leaves them encoded when the caller asks itself).
    s3.put_object(Bucket="part-reads", Key="a key+with/odd\u00e9", Body=b"x")
    listed = s3.list_object_versions(Bucket="part-reads", Prefix="a key", EncodingType="url")
    assert listed["EncodingType"] == "url" and [v["Key"] for v in listed["Versions"]] == ["a%20key%2Bwith/odd%C3%A9"]


def test_s3_cors_rules_as_aws_accepts_them(server):
    s3 = client(server)
    s3.create_bucket(Bucket="s3-cors-origins", ACL="public-read")
    s3.put_object(Bucket="s3-cors-origins", Key="k", Body=b"v")
    url = f"{server.url}/s3-cors-origins/k"
    # OPTIONS that is not a complete preflight is a 400, with or without rules.
    assert requests.options(url).status_code == 400
    assert requests.options(url, headers={"Origin": "foo.suffix"}).status_code == 400
    # Origins without a scheme, a wildcard anywhere, and a day-plus MaxAgeSeconds: S3 accepts them.
    s3.put_bucket_cors(Bucket="s3-cors-origins", CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["*suffix", "start*end"], "MaxAgeSeconds": 172800},
        {"AllowedMethods": ["PUT"], "AllowedOrigins": ["*.put"]}]})
    for origin, allowed in [("foo.suffix", True), ("start12end", True), ("0start12end", False), ("foo.bar", False)]:
        got = requests.get(url, headers={"Origin": origin})
        assert got.status_code == 200
        assert got.headers.get("access-control-allow-origin") == (origin if allowed else None)
        assert got.headers.get("access-control-allow-methods") == ("GET" if allowed else None)
        pre = requests.options(url, headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
        assert pre.status_code == (200 if allowed else 403)
    assert requests.options(url, headers={"Origin": "a.put", "Access-Control-Request-Method": "PUT"}).status_code == 200
    assert error_code(lambda: s3.put_bucket_cors(Bucket="s3-cors-origins", CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["*two*wildcards"]}]})) == "InvalidArgument"
    # B2 clients read the same rules.
    rules = b2api(server).get_bucket_by_name("s3-cors-origins").cors_rules
    assert rules[0]["allowedOrigins"] == ["*suffix", "start*end"] and rules[0]["maxAgeSeconds"] == 172800
    # A public-read bucket can be listed by anyone through S3.
    listing = requests.get(f"{server.url}/s3-cors-origins?list-type=2")
    assert listing.status_code == 200 and "<Key>k</Key>" in listing.text


def test_conditional_writes(server):
    from concurrent.futures import ThreadPoolExecutor
    s3 = client(server)
    s3.create_bucket(Bucket="conditional-writes")
    first = s3.put_object(Bucket="conditional-writes", Key="k", Body=b"one", IfNoneMatch="*")
    assert error_code(lambda: s3.put_object(Bucket="conditional-writes", Key="k", Body=b"two", IfNoneMatch="*")) == "PreconditionFailed"
    assert error_code(lambda: s3.put_object(Bucket="conditional-writes", Key="k", Body=b"two", IfMatch='"0000"')) == "PreconditionFailed"
    # If-None-Match with an ETag: refused while the current object has that ETag.
    assert error_code(lambda: s3.put_object(Bucket="conditional-writes", Key="k", Body=b"two", IfNoneMatch=first["ETag"])) == "PreconditionFailed"
    s3.put_object(Bucket="conditional-writes", Key="k", Body=b"one", IfNoneMatch='"0000"')
    s3.put_object(Bucket="conditional-writes", Key="k", Body=b"two", IfMatch=first["ETag"])
    assert s3.get_object(Bucket="conditional-writes", Key="k")["Body"].read() == b"two"
    assert error_code(lambda: s3.put_object(Bucket="conditional-writes", Key="absent", Body=b"x", IfMatch=first["ETag"])) == "NoSuchKey"
    # After a delete the key is free again.
    s3.delete_object(Bucket="conditional-writes", Key="k")
    s3.put_object(Bucket="conditional-writes", Key="k", Body=b"three", IfNoneMatch="*")

    # Racing writers with If-None-Match: * — exactly one creates the key.
    def create(i):
        try:
            s3.put_object(Bucket="conditional-writes", Key="race", Body=f"writer {i}".encode(), IfNoneMatch="*")
            return i
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] in ("PreconditionFailed", "ConditionalRequestConflict")
            return None
    with ThreadPoolExecutor(8) as pool:
        winners = [w for w in pool.map(create, range(8)) if w is not None]
    assert len(winners) == 1
    assert s3.get_object(Bucket="conditional-writes", Key="race")["Body"].read() == f"writer {winners[0]}".encode()

    # CompleteMultipartUpload takes the same conditions, checked as the object commits.
    upload = s3.create_multipart_upload(Bucket="conditional-writes", Key="race")["UploadId"]
    etag = s3.upload_part(Bucket="conditional-writes", Key="race", UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    assert error_code(lambda: s3.complete_multipart_upload(Bucket="conditional-writes", Key="race", UploadId=upload,
                                                           MultipartUpload=parts, IfNoneMatch="*")) == "PreconditionFailed"
    s3.complete_multipart_upload(Bucket="conditional-writes", Key="race", UploadId=upload, MultipartUpload=parts,
                                 IfMatch=s3.head_object(Bucket="conditional-writes", Key="race")["ETag"])
    assert s3.get_object(Bucket="conditional-writes", Key="race")["Body"].read() == b"part"


def test_sse_c_requests_are_validated(server):
    import base64
    s3 = client(server)
    s3.create_bucket(Bucket="sse-c-checks")
    key = os.urandom(32)
    sse = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(key).decode(),
           "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode()}
    put = s3.put_object(Bucket="sse-c-checks", Key="secret", Body=b"sealed", **sse)
    assert put["SSECustomerAlgorithm"] == "AES256"
    assert s3.get_object(Bucket="sse-c-checks", Key="secret", **sse)["Body"].read() == b"sealed"
    # Reading without the key, with another key, or asking attributes without it: 400 InvalidRequest.
    assert error_code(lambda: s3.get_object(Bucket="sse-c-checks", Key="secret")) == "InvalidRequest"
    assert error_code(lambda: s3.head_object(Bucket="sse-c-checks", Key="secret")) == "400"
    other = os.urandom(32)
    wrong = {**sse, "SSECustomerKey": base64.b64encode(other).decode(),
             "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(other).digest()).decode()}
    assert error_code(lambda: s3.get_object(Bucket="sse-c-checks", Key="secret", **wrong)) == "InvalidRequest"
    assert error_code(lambda: s3.get_object_attributes(Bucket="sse-c-checks", Key="secret", ObjectAttributes=["ETag"])) == "InvalidRequest"
    assert s3.get_object_attributes(Bucket="sse-c-checks", Key="secret", ObjectAttributes=["ETag"], **sse)["ETag"]
    # Incomplete SSE-C headers, or SSE-C with another kind of encryption, are refused before anything is stored.
    raw = {"x-amz-server-side-encryption-customer-algorithm": "AES256",
           "x-amz-server-side-encryption-customer-key": sse["SSECustomerKey"],
           "x-amz-server-side-encryption-customer-key-md5": sse["SSECustomerKeyMD5"]}
    for missing in raw:
        partial = client(server)
        headers = {k: v for k, v in raw.items() if k != missing}
        partial.meta.events.register("before-call.s3.PutObject", lambda params, headers=headers, **_: params["headers"].update(headers))
        assert error_code(lambda: partial.put_object(Bucket="sse-c-checks", Key="partial", Body=b"x")) == "InvalidArgument"
    assert error_code(lambda: s3.put_object(Bucket="sse-c-checks", Key="both", Body=b"x", ServerSideEncryption="AES256", **sse)) == "InvalidArgument"
    assert error_code(lambda: s3.head_object(Bucket="sse-c-checks", Key="partial")) == "404"
    # A copy between SSE-C keys reports the destination's key.
    copied = s3.copy_object(Bucket="sse-c-checks", Key="copy", CopySource={"Bucket": "sse-c-checks", "Key": "secret"},
                            CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=sse["SSECustomerKey"],
                            CopySourceSSECustomerKeyMD5=sse["SSECustomerKeyMD5"], **wrong)
    assert copied["SSECustomerKeyMD5"] == wrong["SSECustomerKeyMD5"]
    assert s3.get_object(Bucket="sse-c-checks", Key="copy", **wrong)["Body"].read() == b"sealed"


def test_sse_kms_with_keys_stowage_keeps(server):
    s3 = client(server)
    created = server.admin("kms", "create", "app-key-1")
    assert created.returncode == 0, created.stderr
    assert server.admin("kms", "create", "app-key-1").returncode != 0, "a key id is created once"
    assert "app-key-1" in server.admin("kms", "list").stdout
    s3.create_bucket(Bucket="kms-bucket")
    body = os.urandom(200_000)
    put = s3.put_object(Bucket="kms-bucket", Key="k", Body=body, ServerSideEncryption="aws:kms", SSEKMSKeyId="app-key-1")
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"]) == ("aws:kms", "app-key-1")
    got = s3.get_object(Bucket="kms-bucket", Key="k", Range="bytes=70000-70009")
    assert got["Body"].read() == body[70000:70010] and got["SSEKMSKeyId"] == "app-key-1"
    assert s3.head_object(Bucket="kms-bucket", Key="k")["ServerSideEncryption"] == "aws:kms"
    # The stored bytes are not the plaintext.
    blobs = [os.path.join(root, f) for root, _, files in os.walk(server.data_dir) for f in files]
    assert not any(body[:4096] in open(path, "rb").read() for path in blobs if os.path.getsize(path) > 100_000)
    # Without a key id, the default key; an unknown key or a key id without aws:kms is refused.
    assert s3.put_object(Bucket="kms-bucket", Key="d", Body=b"x", ServerSideEncryption="aws:kms")["SSEKMSKeyId"] == "stowage/default"
    assert error_code(lambda: s3.put_object(Bucket="kms-bucket", Key="u", Body=b"x", ServerSideEncryption="aws:kms",
                                            SSEKMSKeyId="no-such-key")) == "KMS.NotFoundException"
    bare = client(server)
    bare.meta.events.register("before-call.s3.PutObject",
                              lambda params, **_: params["headers"].update({"x-amz-server-side-encryption-aws-kms-key-id": "app-key-1"}))
    assert error_code(lambda: bare.put_object(Bucket="kms-bucket", Key="u", Body=b"x")) == "InvalidArgument"
    # Multipart uploads and copies under a key.
    upload = s3.create_multipart_upload(Bucket="kms-bucket", Key="big", ServerSideEncryption="aws:kms", SSEKMSKeyId="app-key-1")
    assert upload["SSEKMSKeyId"] == "app-key-1"
    chunks = [os.urandom(5 * 1024 * 1024), b"end"]
    uploaded = [s3.upload_part(Bucket="kms-bucket", Key="big", UploadId=upload["UploadId"], PartNumber=n + 1, Body=c)
                for n, c in enumerate(chunks)]
    # Each part names the key its upload seals it under.
    assert [(u["ServerSideEncryption"], u["SSEKMSKeyId"]) for u in uploaded] == [("aws:kms", "app-key-1")] * 2
    parts = [{"PartNumber": n + 1, "ETag": u["ETag"]} for n, u in enumerate(uploaded)]
    s3.complete_multipart_upload(Bucket="kms-bucket", Key="big", UploadId=upload["UploadId"], MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket="kms-bucket", Key="big")["Body"].read() == b"".join(chunks)
    # A part copied from an SSE-C object into a KMS upload is read with the source key and sealed under the upload's.
    import base64
    customer = os.urandom(32)
    sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(customer).decode(),
             "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(customer).digest()).decode()}
    s3.put_object(Bucket="kms-bucket", Key="customer", Body=chunks[0], **sse_c)
    into = s3.create_multipart_upload(Bucket="kms-bucket", Key="mixed", ServerSideEncryption="aws:kms", SSEKMSKeyId="app-key-1")["UploadId"]
    copied_part = s3.upload_part_copy(Bucket="kms-bucket", Key="mixed", UploadId=into, PartNumber=1,
                                      CopySource={"Bucket": "kms-bucket", "Key": "customer"},
                                      **{"CopySource" + k: v for k, v in sse_c.items()})
    assert (copied_part["ServerSideEncryption"], copied_part["SSEKMSKeyId"]) == ("aws:kms", "app-key-1")
    s3.complete_multipart_upload(Bucket="kms-bucket", Key="mixed", UploadId=into,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": copied_part["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket="kms-bucket", Key="mixed")["Body"].read() == chunks[0]
    # An SSE-C upload is completed with its key (as its parts are uploaded), and the completion names it.
    sealed = s3.create_multipart_upload(Bucket="kms-bucket", Key="sealed", **sse_c)["UploadId"]
    part = s3.upload_part(Bucket="kms-bucket", Key="sealed", UploadId=sealed, PartNumber=1, Body=b"tail", **sse_c)
    listed = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
    assert error_code(lambda: s3.complete_multipart_upload(Bucket="kms-bucket", Key="sealed", UploadId=sealed,
                                                           MultipartUpload=listed)) == "InvalidRequest"
    done = s3.complete_multipart_upload(Bucket="kms-bucket", Key="sealed", UploadId=sealed, MultipartUpload=listed, **sse_c)
    assert done["ResponseMetadata"]["HTTPHeaders"]["x-amz-server-side-encryption-customer-key-md5"] == sse_c["SSECustomerKeyMD5"]
    assert s3.get_object(Bucket="kms-bucket", Key="sealed", **sse_c)["Body"].read() == b"tail"
    copied = s3.copy_object(Bucket="kms-bucket", Key="copy", CopySource={"Bucket": "kms-bucket", "Key": "k"},
                            ServerSideEncryption="aws:kms", SSEKMSKeyId="app-key-1")
    assert copied["SSEKMSKeyId"] == "app-key-1" and s3.get_object(Bucket="kms-bucket", Key="copy")["Body"].read() == body

    # Bucket default encryption: new objects take it; B2 clients see server-side encryption and read them.
    assert error_code(lambda: s3.get_bucket_encryption(Bucket="kms-bucket")) == "ServerSideEncryptionConfigurationNotFoundError"
    rule = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "app-key-1"}}]}
    s3.put_bucket_encryption(Bucket="kms-bucket", ServerSideEncryptionConfiguration=rule)
    got_rule = s3.get_bucket_encryption(Bucket="kms-bucket")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert got_rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "app-key-1"}
    assert s3.put_object(Bucket="kms-bucket", Key="by-default", Body=b"defaulted")["SSEKMSKeyId"] == "app-key-1"
    missing = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "no-such-key"}}]}
    assert error_code(lambda: s3.put_bucket_encryption(Bucket="kms-bucket", ServerSideEncryptionConfiguration=missing)) \
        == "KMS.NotFoundException"
    api = b2api(server)
    b2_bucket = api.get_bucket_by_name("kms-bucket")
    assert b2_bucket.default_server_side_encryption.mode.value == "SSE-B2"
    b2_file = b2_bucket.get_file_info_by_name("by-default")
    assert b2_file.server_side_encryption.mode.value == "SSE-B2"
    out = io.BytesIO()
    b2_bucket.download_file_by_name("by-default").save(out)
    assert out.getvalue() == b"defaulted"
    s3.delete_bucket_encryption(Bucket="kms-bucket")
    assert "ServerSideEncryption" not in s3.put_object(Bucket="kms-bucket", Key="plain", Body=b"p")


def test_sigv2_dates_refused_as_aws_refuses_them(server):
    v2 = client(server, signature_version="s3")
    client(server).create_bucket(Bucket="sigv2-dates")
    v2.put_object(Bucket="sigv2-dates", Key="ok", Body=b"x")
    for date, code in [("Bad Date", "AccessDenied"), ("", "AccessDenied"), ("Tue, 07 Jul 1950 21:53:04 GMT", "AccessDenied"),
                       ("Tue, 07 Jul 2010 21:53:04 GMT", "RequestTimeTooSkewed"), ("Tue, 07 Jul 9999 21:53:04 GMT", "RequestTimeTooSkewed")]:
        bad = client(server, signature_version="s3")
        bad.meta.events.register("before-call.s3.PutObject", lambda params, date=date, **_: params["headers"].update({"x-amz-date": date}))
        assert error_code(lambda: bad.put_object(Bucket="sigv2-dates", Key="bad", Body=b"x")) == code, date
    assert error_code(lambda: v2.head_object(Bucket="sigv2-dates", Key="bad")) == "404"


def test_bucket_pages_expected_owner_and_request_ids(server):
    s3 = client(server)
    for name in ("page-b", "page-a", "page-c"):
        s3.create_bucket(Bucket=name)
    first = s3.list_buckets(MaxBuckets=2, Prefix="page-")
    assert [b["Name"] for b in first["Buckets"]] == ["page-a", "page-b"] and first["ContinuationToken"]
    rest = s3.list_buckets(MaxBuckets=2, Prefix="page-", ContinuationToken=first["ContinuationToken"])
    assert [b["Name"] for b in rest["Buckets"]] == ["page-c"] and "ContinuationToken" not in rest
    account = b2api(server).account_info.get_account_id()
    s3.put_object(Bucket="page-a", Key="k", Body=b"x", ExpectedBucketOwner=account)
    assert error_code(lambda: s3.put_object(Bucket="page-a", Key="k", Body=b"x", ExpectedBucketOwner="someone-else")) == "AccessDenied"
    # An error's body names the request as its x-amz-request-id header does.
    missing = requests.get(s3.generate_presigned_url("get_object", Params={"Bucket": "page-a", "Key": "missing"}))
    assert missing.status_code == 404
    assert f"<RequestId>{missing.headers['x-amz-request-id']}</RequestId>" in missing.text
    # aws-chunked is how a body was sent, not how the object is encoded.
    s3.put_object(Bucket="page-a", Key="gz", Body=b"x", ContentEncoding="gzip, aws-chunked")
    assert s3.head_object(Bucket="page-a", Key="gz")["ContentEncoding"] == "gzip"


def test_presigned_expiry_bounds(server):
    s3 = client(server, signature_version="s3v4")
    s3.create_bucket(Bucket="presign-bounds")
    s3.put_object(Bucket="presign-bounds", Key="k", Body=b"x")
    params = {"Bucket": "presign-bounds", "Key": "k"}
    assert requests.get(s3.generate_presigned_url("get_object", Params=params, ExpiresIn=604800)).status_code == 200
    for expires in (604801, -1000):
        refused = requests.get(s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires))
        assert refused.status_code == 403 and "AuthorizationQueryParametersError" in refused.text


def test_upload_ids_belong_to_their_key_and_directives_are_checked(server):
    s3 = client(server)
    s3.create_bucket(Bucket="upload-keys")
    upload = s3.create_multipart_upload(Bucket="upload-keys", Key="right")["UploadId"]
    assert error_code(lambda: s3.upload_part(Bucket="upload-keys", Key="wrong", UploadId=upload, PartNumber=1, Body=b"x")) == "NoSuchUpload"
    assert error_code(lambda: s3.list_parts(Bucket="upload-keys", Key="wrong", UploadId=upload)) == "NoSuchUpload"
    assert error_code(lambda: s3.abort_multipart_upload(Bucket="upload-keys", Key="wrong", UploadId=upload)) == "NoSuchUpload"
    etag = s3.upload_part(Bucket="upload-keys", Key="right", UploadId=upload, PartNumber=1, Body=b"x")["ETag"]
    assert error_code(lambda: s3.complete_multipart_upload(Bucket="upload-keys", Key="wrong", UploadId=upload,
                                                           MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})) == "NoSuchUpload"
    # More than B2's 100 unfinished uploads in one page, as S3 allows.
    for i in range(120):
        s3.create_multipart_upload(Bucket="upload-keys", Key=f"many/{i:03}")
    assert len(s3.list_multipart_uploads(Bucket="upload-keys", Prefix="many/")["Uploads"]) == 120
    page = s3.list_multipart_uploads(Bucket="upload-keys", Prefix="many/", MaxUploads=50)
    assert len(page["Uploads"]) == 50 and page["IsTruncated"]
    # Pages follow key order, uploads of one key in the order they started, resumed by key and upload id
    # markers as boto3's paginator sends them; a delimiter rolls keys up into common prefixes.
    s3.create_bucket(Bucket="upload-order")
    started = []
    for key in ["b", "a/2", "b", "a/1", "c", "b"]:
        started.append((key, s3.create_multipart_upload(Bucket="upload-order", Key=key)["UploadId"]))
    expected = sorted(started, key=lambda s: (s[0], [u for _, u in started].index(s[1])))
    listed = []
    for got in s3.get_paginator("list_multipart_uploads").paginate(Bucket="upload-order", PaginationConfig={"PageSize": 2}):
        assert len(got.get("Uploads", [])) <= 2
        listed += [(u["Key"], u["UploadId"]) for u in got.get("Uploads", [])]
    assert listed == expected
    first = s3.list_multipart_uploads(Bucket="upload-order", MaxUploads=3)
    assert (first["NextKeyMarker"], first["NextUploadIdMarker"]) == expected[2]
    rest = s3.list_multipart_uploads(Bucket="upload-order", KeyMarker="b")
    assert [u["Key"] for u in rest["Uploads"]] == ["c"]
    rolled = s3.list_multipart_uploads(Bucket="upload-order", Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["a/"]
    assert [u["Key"] for u in rolled["Uploads"]] == ["b", "b", "b", "c"]
    one = s3.list_multipart_uploads(Bucket="upload-order", Delimiter="/", MaxUploads=1)
    assert one["IsTruncated"] and one["NextKeyMarker"] == "a/" and [p["Prefix"] for p in one["CommonPrefixes"]] == ["a/"]
    after_prefix = s3.list_multipart_uploads(Bucket="upload-order", Delimiter="/", KeyMarker="a/")
    assert "CommonPrefixes" not in after_prefix and [u["Key"] for u in after_prefix["Uploads"]] == ["b", "b", "b", "c"]
    s3.put_object(Bucket="upload-keys", Key="src", Body=b"x")
    bad = client(server)
    bad.meta.events.register("before-call.s3.CopyObject", lambda params, **_: params["headers"].update({"x-amz-metadata-directive": "GARBAGE"}))
    assert error_code(lambda: bad.copy_object(Bucket="upload-keys", Key="dst", CopySource={"Bucket": "upload-keys", "Key": "src"})) == "InvalidArgument"


def test_full_object_crc_checksums_for_multipart(server):
    import base64
    import zlib
    s3 = client(server)
    s3.create_bucket(Bucket="full-object-crc")
    created = s3.create_multipart_upload(Bucket="full-object-crc", Key="crc", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")
    assert (created["ChecksumAlgorithm"], created["ChecksumType"]) == ("CRC32", "FULL_OBJECT")
    upload = created["UploadId"]
    chunks = [os.urandom(5 * 1024 * 1024), os.urandom(1234)]
    crc = lambda data: base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    parts = [{"PartNumber": n + 1, "ChecksumCRC32": crc(c),
              "ETag": s3.upload_part(Bucket="full-object-crc", Key="crc", UploadId=upload, PartNumber=n + 1, Body=c,
                                     ChecksumCRC32=crc(c))["ETag"]} for n, c in enumerate(chunks)]
    whole = crc(b"".join(chunks))
    assert error_code(lambda: s3.complete_multipart_upload(Bucket="full-object-crc", Key="crc", UploadId=upload,
                                                           MultipartUpload={"Parts": parts}, ChecksumCRC32="AAAAAA==")) == "BadDigest"
    done = s3.complete_multipart_upload(Bucket="full-object-crc", Key="crc", UploadId=upload, MultipartUpload={"Parts": parts},
                                        ChecksumCRC32=whole)
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    head = s3.head_object(Bucket="full-object-crc", Key="crc", ChecksumMode="ENABLED")
    assert (head["ChecksumCRC32"], head["ChecksumType"]) == (whole, "FULL_OBJECT")
    # SHA-256 cannot be combined: FULL_OBJECT needs a CRC.
    assert error_code(lambda: s3.create_multipart_upload(Bucket="full-object-crc", Key="sha", ChecksumAlgorithm="SHA256",
                                                         ChecksumType="FULL_OBJECT")) == "InvalidRequest"
