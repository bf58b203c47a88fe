"""The access matrix, generated from the server's own table of S3 operations (`/_test/s3-operations`): for
every operation, boto3 with a key holding exactly the capabilities the table names (restricted to the
bucket where they are bucket-level) succeeds, and a key missing one of them is refused with S3's
AccessDenied and changes nothing. Then a bucket policy's Deny holds for every way of writing and of reading,
browser forms included; and what B2's b2_list_buckets withholds from a key, S3's getters withhold too."""

import datetime
import hashlib
import io
import json
import uuid

import botocore
import pytest
import requests

from conftest import PART_SIZE, ROOT_ID, ROOT_KEY, running_server
from test_boto3 import b2api, client

# Capabilities a key restricted to a bucket may not hold (B2 refuses them on such keys).
ACCOUNT_LEVEL = {"listKeys", "writeKeys", "deleteKeys", "writeBuckets", "deleteBuckets",
                 "readBucketReplications", "writeBucketReplications"}
# A capability no S3 operation needs: what a key given "nothing" holds (B2 keys need at least one).
FILLER = "readBucketNotifications"

CORS = {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://example.com"]}]}
LIFECYCLE = {"Rules": [{"ID": "old", "Status": "Enabled", "Filter": {"Prefix": "old/"}, "Expiration": {"Days": 30}}]}
ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}


@pytest.fixture(scope="module")
def server():
    """A server of this module's own: the matrix makes a few hundred keys, which other modules' key listings
    should not page through."""
    with running_server() as s:
        yield s


def operations(server):
    return requests.get(f"{server.url}/_test/s3-operations").json()


class Fixture:
    """A bucket with object lock, a few objects and every setting the getters read, made with the root key."""

    def __init__(self, server, root):
        self.server, self.root = server, root
        self.bucket = f"matrix-{uuid.uuid4().hex[:10]}"
        root.create_bucket(Bucket=self.bucket, ObjectLockEnabledForBucket=True)
        b = self.bucket
        root.put_object(Bucket=b, Key="a.txt", Body=b"hello matrix", Tagging="k=v")
        root.put_bucket_cors(Bucket=b, CORSConfiguration=CORS)
        root.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
        root.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration=LIFECYCLE)
        root.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration=ENCRYPTION)
        root.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": False})
        root.put_bucket_ownership_controls(Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
        self.put_policy()
        self.version = root.head_object(Bucket=b, Key="a.txt")["VersionId"]
        self.bucket_id = b2api(server).get_bucket_by_name(b).id_

    def put_policy(self):
        # A policy that decides nothing for the keys under test (it names the root key only): keys decide.
        self.root.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ROOT_ID}, "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{self.bucket}/*"}]}))

    def state(self):
        """What the root key sees of the bucket: versions and the settings any operation could change."""
        r, b = self.root, self.bucket
        versions = r.list_object_versions(Bucket=b)
        seen = [sorted((v["Key"], v["VersionId"]) for v in versions.get("Versions", []) + versions.get("DeleteMarkers", []))]
        seen.append(sorted(u["UploadId"] for u in r.list_multipart_uploads(Bucket=b).get("Uploads", [])))
        for call in (r.get_bucket_cors, r.get_bucket_tagging, r.get_bucket_lifecycle_configuration, r.get_bucket_encryption,
                     r.get_bucket_policy, r.get_bucket_versioning, r.get_bucket_acl, r.get_public_access_block,
                     r.get_bucket_ownership_controls, r.get_object_lock_configuration):
            try:
                answer = call(Bucket=b)
                answer.pop("ResponseMetadata", None)
                seen.append(json.dumps(answer, sort_keys=True, default=str))
            except botocore.exceptions.ClientError as e:
                seen.append(e.response["Error"]["Code"])
        seen.append(sorted(t["Key"] for t in r.get_object_tagging(Bucket=b, Key="a.txt")["TagSet"]))
        seen.append([bk["Name"] for bk in r.list_buckets()["Buckets"]])
        return seen

    def upload(self, key="mp.bin"):
        return self.root.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]


def until(days):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)


# How to call each operation: prepare with the root key (returns the arguments), then call with the key
# under test. A new operation in the table without a case here fails `test_every_operation_has_a_case`.
def cases(fx):
    b, root = fx.bucket, fx.root
    new = lambda: f"new-{uuid.uuid4().hex[:8]}"  # noqa: E731

    def upload_part(c, key="mp.bin"):
        upload = fx.upload(key)
        return lambda: c.upload_part(Bucket=b, Key=key, UploadId=upload, PartNumber=1, Body=b"x")

    def complete(c):
        upload = fx.upload()
        etag = root.upload_part(Bucket=b, Key="mp.bin", UploadId=upload, PartNumber=1, Body=b"x")["ETag"]
        return lambda: c.complete_multipart_upload(Bucket=b, Key="mp.bin", UploadId=upload,
                                                   MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})

    def form_upload(c):
        post = c.generate_presigned_post(b, "form.txt")
        return lambda: raise_for(requests.post(post["url"], data=post["fields"], files={"file": ("form.txt", b"form")}))

    return {
        "ListBuckets": lambda c: lambda: c.list_buckets(),
        "CreateBucket": lambda c: lambda: c.create_bucket(Bucket=f"matrix-made-{uuid.uuid4().hex[:8]}"),
        "HeadBucket": lambda c: lambda: c.head_bucket(Bucket=b),
        "DeleteBucket": lambda c: (lambda name: (root.create_bucket(Bucket=name), lambda: c.delete_bucket(Bucket=name))[1])(
            f"matrix-gone-{uuid.uuid4().hex[:8]}"),
        "ListObjects": lambda c: lambda: c.list_objects(Bucket=b),
        "ListObjectsV2": lambda c: lambda: c.list_objects_v2(Bucket=b),
        "ListObjectVersions": lambda c: lambda: c.list_object_versions(Bucket=b),
        "ListMultipartUploads": lambda c: lambda: c.list_multipart_uploads(Bucket=b),
        "DeleteObjects": lambda c: (lambda k: (root.put_object(Bucket=b, Key=k, Body=b"x"), lambda: raise_for_errors(
            c.delete_objects(Bucket=b, Delete={"Objects": [{"Key": k}]})))[1])(new()),
        "GetBucketLocation": lambda c: lambda: c.get_bucket_location(Bucket=b),
        "GetBucketVersioning": lambda c: lambda: c.get_bucket_versioning(Bucket=b),
        "PutBucketVersioning": lambda c: lambda: c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"}),
        "GetBucketAcl": lambda c: lambda: c.get_bucket_acl(Bucket=b),
        "PutBucketAcl": lambda c: lambda: c.put_bucket_acl(Bucket=b, ACL="private"),
        "GetBucketPolicy": lambda c: lambda: c.get_bucket_policy(Bucket=b),
        "PutBucketPolicy": lambda c: lambda: c.put_bucket_policy(Bucket=b, Policy=root.get_bucket_policy(Bucket=b)["Policy"]),
        "DeleteBucketPolicy": lambda c: lambda: c.delete_bucket_policy(Bucket=b),
        "GetBucketPolicyStatus": lambda c: lambda: c.get_bucket_policy_status(Bucket=b),
        "GetPublicAccessBlock": lambda c: lambda: c.get_public_access_block(Bucket=b),
        "PutPublicAccessBlock": lambda c: lambda: c.put_public_access_block(
            Bucket=b, PublicAccessBlockConfiguration={"BlockPublicAcls": True}),
        "DeletePublicAccessBlock": lambda c: lambda: c.delete_public_access_block(Bucket=b),
        "GetBucketOwnershipControls": lambda c: lambda: c.get_bucket_ownership_controls(Bucket=b),
        "PutBucketOwnershipControls": lambda c: lambda: c.put_bucket_ownership_controls(
            Bucket=b, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}),
        "DeleteBucketOwnershipControls": lambda c: lambda: c.delete_bucket_ownership_controls(Bucket=b),
        "GetBucketCors": lambda c: lambda: c.get_bucket_cors(Bucket=b),
        "PutBucketCors": lambda c: lambda: c.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["PUT"], "AllowedOrigins": ["https://other.example"]}]}),
        "DeleteBucketCors": lambda c: lambda: c.delete_bucket_cors(Bucket=b),
        "GetBucketTagging": lambda c: lambda: c.get_bucket_tagging(Bucket=b),
        "PutBucketTagging": lambda c: lambda: c.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "t", "Value": "2"}]}),
        "DeleteBucketTagging": lambda c: lambda: c.delete_bucket_tagging(Bucket=b),
        "GetBucketLifecycleConfiguration": lambda c: lambda: c.get_bucket_lifecycle_configuration(Bucket=b),
        "PutBucketLifecycleConfiguration": lambda c: lambda: c.put_bucket_lifecycle_configuration(
            Bucket=b, LifecycleConfiguration={"Rules": [dict(LIFECYCLE["Rules"][0], ID="other")]}),
        "DeleteBucketLifecycle": lambda c: lambda: c.delete_bucket_lifecycle(Bucket=b),
        "GetBucketEncryption": lambda c: lambda: c.get_bucket_encryption(Bucket=b),
        "PutBucketEncryption": lambda c: lambda: c.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration=ENCRYPTION),
        "DeleteBucketEncryption": lambda c: lambda: c.delete_bucket_encryption(Bucket=b),
        "GetObjectLockConfiguration": lambda c: lambda: c.get_object_lock_configuration(Bucket=b),
        "PutObjectLockConfiguration": lambda c: lambda: c.put_object_lock_configuration(Bucket=b, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}),
        "GetObject": lambda c: lambda: c.get_object(Bucket=b, Key="a.txt")["Body"].read(),
        "HeadObject": lambda c: lambda: c.head_object(Bucket=b, Key="a.txt"),
        "GetObjectAttributes": lambda c: lambda: c.get_object_attributes(Bucket=b, Key="a.txt", ObjectAttributes=["ETag"]),
        "PutObject": lambda c: lambda: c.put_object(Bucket=b, Key=new(), Body=b"new"),
        "PostObject": form_upload,
        "DeleteObject": lambda c: lambda: c.delete_object(Bucket=b, Key="a.txt"),
        "CopyObject": lambda c: lambda: c.copy_object(Bucket=b, Key=new(), CopySource={"Bucket": b, "Key": "a.txt"}),
        "GetObjectAcl": lambda c: lambda: c.get_object_acl(Bucket=b, Key="a.txt"),
        "PutObjectAcl": lambda c: lambda: c.put_object_acl(Bucket=b, Key="a.txt", ACL="private"),
        "GetObjectTagging": lambda c: lambda: c.get_object_tagging(Bucket=b, Key="a.txt"),
        "PutObjectTagging": lambda c: lambda: c.put_object_tagging(Bucket=b, Key="a.txt", Tagging={"TagSet": [{"Key": "n", "Value": "1"}]}),
        "DeleteObjectTagging": lambda c: lambda: c.delete_object_tagging(Bucket=b, Key="a.txt"),
        "GetObjectRetention": lambda c: (root.put_object_retention(Bucket=b, Key="a.txt", Retention={
            "Mode": "GOVERNANCE", "RetainUntilDate": until(1)}), lambda: c.get_object_retention(Bucket=b, Key="a.txt"))[1],
        "PutObjectRetention": lambda c: (root.put_object(Bucket=b, Key="r.txt", Body=b"r"), lambda: c.put_object_retention(
            Bucket=b, Key="r.txt", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until(2)}))[1],
        "GetObjectLegalHold": lambda c: (root.put_object_legal_hold(Bucket=b, Key="a.txt", LegalHold={"Status": "OFF"}),
                                         lambda: c.get_object_legal_hold(Bucket=b, Key="a.txt"))[1],
        "PutObjectLegalHold": lambda c: (root.put_object(Bucket=b, Key="r.txt", Body=b"r"), lambda: c.put_object_legal_hold(
            Bucket=b, Key="r.txt", LegalHold={"Status": "ON"}))[1],
        "CreateMultipartUpload": lambda c: lambda: c.create_multipart_upload(Bucket=b, Key=new()),
        "UploadPart": upload_part,
        "UploadPartCopy": lambda c: (lambda upload: lambda: c.upload_part_copy(
            Bucket=b, Key="mp.bin", UploadId=upload, PartNumber=1, CopySource={"Bucket": b, "Key": "a.txt"}))(fx.upload()),
        "CompleteMultipartUpload": complete,
        "AbortMultipartUpload": lambda c: (lambda upload: lambda: c.abort_multipart_upload(
            Bucket=b, Key="mp.bin", UploadId=upload))(fx.upload()),
        "ListParts": lambda c: (lambda upload: lambda: c.list_parts(Bucket=b, Key="mp.bin", UploadId=upload))(fx.upload()),
    }


def raise_for(response):
    if response.status_code >= 300:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": response.text.split("<Code>")[-1].split("</Code>")[0]}, "ResponseMetadata": {
                "HTTPStatusCode": response.status_code}}, "PostObject")
    return response


def raise_for_errors(answer):
    if answer.get("Errors"):
        error = answer["Errors"][0]
        raise botocore.exceptions.ClientError({"Error": {"Code": error["Code"]}, "ResponseMetadata": {"HTTPStatusCode": 403}},
                                              "DeleteObjects")
    return answer


def key_client(server, api, fx, capabilities, restricted=True):
    capabilities = sorted(set(capabilities)) or [FILLER]
    bucket_level = restricted and not (set(capabilities) & ACCOUNT_LEVEL)
    key = api.create_key(capabilities, f"m-{uuid.uuid4().hex[:10]}", bucket_ids=[fx.bucket_id] if bucket_level else None)
    return client(server, key.id_, key.application_key)


def test_every_operation_has_a_case(server):
    names = {op["name"] for op in operations(server)}
    missing = names - set(cases(_Stub()).keys())
    assert not missing, f"operations without a matrix case: {sorted(missing)}"
    assert {"GetBucketEncryption", "GetObjectLockConfiguration", "PostObject", "DeleteObjects"} <= names


class _Stub:
    bucket = root = None


def test_capability_matrix(server):
    api, root = b2api(server), client(server)
    fx = Fixture(server, root)
    table = {op["name"]: op for op in operations(server)}
    refusals = {}
    for name, case in cases(fx).items():
        op = table[name]
        needed = op["needsAll"] or op["needsAny"][:1]
        # A copy also reads its source, under the table's entry for that.
        if op["also"] and "copySource" in op["also"]:
            needed = needed + table[op["also"]["copySource"]]["needsAll"]
        # Without a needed capability: refused in S3's shape, nothing changed.
        missing_one = [set(needed) - {c} for c in needed] if op["needsAll"] else [set()]
        for held in missing_one:
            without = key_client(server, api, fx, held)
            call = case(without)
            before = fx.state()
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                call()
            code = refused.value.response["Error"]["Code"]
            status = refused.value.response["ResponseMetadata"]["HTTPStatusCode"]
            # A HEAD answer has no body: boto3 names its status instead.
            expected = "403" if name.startswith("Head") else "AccessDenied"
            assert (code, status) == (expected, 403), f"{name} without {set(needed) - held}: {code} {status}"
            assert fx.state() == before, f"{name} refused, yet it changed something"
            refusals[name] = code
        # With exactly what the table names (restricted to the bucket where B2 allows): it works.
        with_key = key_client(server, api, fx, needed)
        try:
            case(with_key)()
        except botocore.exceptions.ClientError as e:
            pytest.fail(f"{name} with {needed}: {e.response['Error']}")
        # Put back what the call changed that later cases read.
        fx.put_policy()
        root.put_bucket_cors(Bucket=fx.bucket, CORSConfiguration=CORS)
        root.put_bucket_lifecycle_configuration(Bucket=fx.bucket, LifecycleConfiguration=LIFECYCLE)
        root.put_bucket_encryption(Bucket=fx.bucket, ServerSideEncryptionConfiguration=ENCRYPTION)
        root.put_bucket_tagging(Bucket=fx.bucket, Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
        root.put_public_access_block(Bucket=fx.bucket, PublicAccessBlockConfiguration={"BlockPublicAcls": False})
        root.put_bucket_ownership_controls(Bucket=fx.bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
        root.put_object_lock_configuration(Bucket=fx.bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
        if name == "DeleteObject":
            root.put_object(Bucket=fx.bucket, Key="a.txt", Body=b"hello matrix", Tagging="k=v")
    assert set(refusals) == set(table)

    # A key limited to another prefix is refused every object operation on a.txt.
    key = api.create_key(["readFiles", "writeFiles", "deleteFiles"], "m-prefix", bucket_ids=[fx.bucket_id], name_prefix="other/")
    prefixed = client(server, key.id_, key.application_key)
    for call in (lambda: prefixed.get_object(Bucket=fx.bucket, Key="a.txt"), lambda: prefixed.put_object(Bucket=fx.bucket, Key="a.txt", Body=b"x"),
                 lambda: prefixed.delete_object(Bucket=fx.bucket, Key="a.txt")):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_what_b2_withholds_s3_withholds(server):
    """The issue's holes 2 and 3: a key without readBucketEncryption / readBucketRetentions reads neither
    through S3, as b2_list_buckets withholds both from it."""
    api, root = b2api(server), client(server)
    fx = Fixture(server, root)
    key = api.create_key(["listBuckets", "listFiles", "readFiles", "writeFiles"], "m-plain", bucket_ids=[fx.bucket_id])
    s3 = client(server, key.id_, key.application_key)
    for call in (s3.get_bucket_encryption, s3.get_object_lock_configuration):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call(Bucket=fx.bucket)
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    raw = requests.post(f"{server.url}/b2api/v4/b2_list_buckets", headers={"Authorization": b2_token(server, key)},
                        json={"accountId": api.account_info.get_account_id(), "bucketId": fx.bucket_id}).json()
    bucket = raw["buckets"][0]
    assert bucket["defaultServerSideEncryption"] == {"isClientAuthorizedToRead": False}
    assert bucket["fileLockConfiguration"]["isClientAuthorizedToRead"] is False
    # With the capabilities, both APIs show the same settings.
    key = api.create_key(["listBuckets", "readBucketEncryption", "readBucketRetentions"], "m-reader", bucket_ids=[fx.bucket_id])
    s3 = client(server, key.id_, key.application_key)
    rule = s3.get_bucket_encryption(Bucket=fx.bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_object_lock_configuration(Bucket=fx.bucket)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    raw = requests.post(f"{server.url}/b2api/v4/b2_list_buckets", headers={"Authorization": b2_token(server, key)},
                        json={"accountId": api.account_info.get_account_id(), "bucketId": fx.bucket_id}).json()
    assert raw["buckets"][0]["defaultServerSideEncryption"]["value"]["mode"] == "SSE-B2"
    assert raw["buckets"][0]["fileLockConfiguration"]["value"]["isFileLockEnabled"] is True


def b2_token(server, key):
    answer = requests.get(f"{server.url}/b2api/v4/b2_authorize_account", auth=(key.id_, key.application_key)).json()
    return answer["authorizationToken"]


def test_policy_deny_holds_for_every_write_and_read(server):
    """The issue's hole 1 and its kin: a bucket policy's Deny refuses every way of writing (signed and
    presigned PUT, browser form, copy, multipart create and complete, DeleteObjects) and of reading (GET,
    HEAD, presigned and ranged GET, copy source, GetObjectAttributes); nothing is stored or removed."""
    root = client(server)
    bucket = f"deny-{uuid.uuid4().hex[:10]}"
    root.create_bucket(Bucket=bucket)
    root.put_object(Bucket=bucket, Key="kept.txt", Body=b"kept")
    root.put_object(Bucket=bucket, Key="readable.txt", Body=b"readable")
    started = root.create_multipart_upload(Bucket=bucket, Key="mp.bin")["UploadId"]
    etag = root.upload_part(Bucket=bucket, Key="mp.bin", UploadId=started, PartNumber=1, Body=b"part")["ETag"]

    def deny(action, resource="*"):
        root.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": action, "Resource": f"arn:aws:s3:::{bucket}/{resource}"}]}))

    def refused(call, what):
        try:
            answer = call()
        except botocore.exceptions.ClientError as e:
            # A HEAD answer has no body: boto3 names its status instead.
            assert e.response["Error"]["Code"] in ("AccessDenied", "403") and e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, what
            return
        if isinstance(answer, requests.Response):
            assert answer.status_code == 403 and "<Code>AccessDenied</Code>" in answer.text, f"{what}: {answer.status_code}"
            return
        if isinstance(answer, dict) and "Errors" in answer:
            assert [e["Code"] for e in answer["Errors"]] == ["AccessDenied"], what
            assert not answer.get("Deleted"), what
            return
        pytest.fail(f"{what} was not refused: {answer}")

    def listing():
        return sorted(o["Key"] for o in root.list_objects_v2(Bucket=bucket).get("Contents", []))

    deny("s3:PutObject")
    post = root.generate_presigned_post(bucket, "form.txt")
    presigned_put = root.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "presigned.txt"})
    writes = {
        "PUT": lambda: root.put_object(Bucket=bucket, Key="put.txt", Body=b"x"),
        "presigned PUT": lambda: requests.put(presigned_put, data=b"x"),
        "browser form": lambda: requests.post(post["url"], data=post["fields"], files={"file": ("form.txt", b"form body")}),
        "copy": lambda: root.copy_object(Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket, "Key": "kept.txt"}),
        "multipart create": lambda: root.create_multipart_upload(Bucket=bucket, Key="mp2.bin"),
        "multipart complete": lambda: root.complete_multipart_upload(
            Bucket=bucket, Key="mp.bin", UploadId=started, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}),
    }
    for what, call in writes.items():
        refused(call, what)
    assert listing() == ["kept.txt", "readable.txt"]

    deny("s3:DeleteObject")
    refused(lambda: root.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "kept.txt"}]}), "DeleteObjects")
    refused(lambda: root.delete_object(Bucket=bucket, Key="kept.txt"), "DeleteObject")
    assert listing() == ["kept.txt", "readable.txt"]

    deny("s3:GetObject", "readable.txt")
    presigned_get = root.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "readable.txt"})
    reads = {
        "GET": lambda: root.get_object(Bucket=bucket, Key="readable.txt"),
        "HEAD": lambda: root.head_object(Bucket=bucket, Key="readable.txt"),
        "presigned GET": lambda: requests.get(presigned_get),
        "ranged GET": lambda: root.get_object(Bucket=bucket, Key="readable.txt", Range="bytes=0-3"),
        "copy source": lambda: root.copy_object(Bucket=bucket, Key="from-copy.txt", CopySource={"Bucket": bucket, "Key": "readable.txt"}),
        "GetObjectAttributes": lambda: root.get_object_attributes(Bucket=bucket, Key="readable.txt", ObjectAttributes=["ETag"]),
    }
    for what, call in reads.items():
        refused(call, what)
    assert listing() == ["kept.txt", "readable.txt"]
    # What the policy does not name still works.
    assert root.get_object(Bucket=bucket, Key="kept.txt")["Body"].read() == b"kept"
    root.delete_bucket_policy(Bucket=bucket)
    assert root.get_object(Bucket=bucket, Key="readable.txt")["Body"].read() == b"readable"


# --- The B2 Native API: the same matrix, generated from the server's table of B2 calls (`/_test/b2-operations`),
# driven through b2sdk's raw API (the layer b2sdk's own B2Api calls).

class B2Key:
    """A key's session on the raw API: what each call needs besides its own arguments."""

    def __init__(self, server, raw, key_id, secret):
        answer = raw.authorize_account(server.url, key_id, secret)
        storage = answer["apiInfo"]["storageApi"]
        self.raw, self.token, self.url = raw, answer["authorizationToken"], storage["apiUrl"]
        self.download_url, self.account = storage["downloadUrl"], answer["accountId"]


class B2Fixture:
    """A bucket with file lock, a file, and an unfinished large file with a part, made with the root key."""

    def __init__(self, server):
        from b2sdk.v3 import B2Api, InMemoryAccountInfo
        self.server = server
        api = B2Api(InMemoryAccountInfo())
        api.authorize_account(ROOT_ID, ROOT_KEY, realm=server.url)
        self.api, self.raw = api, api.session.raw_api
        self.root = B2Key(server, self.raw, ROOT_ID, ROOT_KEY)
        self.name = f"b2matrix-{uuid.uuid4().hex[:10]}"
        self.bucket_id = self.raw.create_bucket(self.root.url, self.root.token, self.root.account, self.name, "allPrivate",
                                                is_file_lock_enabled=True)["bucketId"]
        self.file_id = self.upload("docs/a.txt")["fileId"]

    def upload(self, name, data=b"hello b2 matrix"):
        r = self.root
        target = r.raw.get_upload_url(r.url, r.token, self.bucket_id)
        return r.raw.upload_file(target["uploadUrl"], target["authorizationToken"], name, len(data), "text/plain",
                                 hashlib.sha1(data).hexdigest(), {}, io.BytesIO(data))

    def start_large(self, name="large.bin"):
        r = self.root
        return r.raw.start_large_file(r.url, r.token, self.bucket_id, name, "application/octet-stream", {})["fileId"]

    def upload_part(self, session, large_id, number, data):
        target = session.raw.get_upload_part_url(session.url, session.token, large_id)
        return session.raw.upload_part(target["uploadUrl"], target["authorizationToken"], number, len(data),
                                       hashlib.sha1(data).hexdigest(), io.BytesIO(data))

    def reset(self):
        """Undo what a successful call changed that later cases depend on (new files get no retention)."""
        from b2sdk.v3 import BucketRetentionSetting, RetentionMode
        r = self.root
        self.raw.update_bucket(r.url, r.token, r.account, self.bucket_id, default_retention=BucketRetentionSetting(RetentionMode.NONE))

    def state(self):
        """What the root key sees: files and their locks, unfinished large files and their parts, the bucket,
        its notification rules, the account's buckets and the keys not made by the test itself."""
        r, raw = self.root, self.raw
        versions = raw.list_file_versions(r.url, r.token, self.bucket_id, max_file_count=1000)["files"]
        seen = [sorted((f["fileName"], f["fileId"], f["action"], json.dumps(f["fileInfo"], sort_keys=True)) for f in versions)]
        for f in versions:
            if f["action"] == "upload":
                info = raw.get_file_info_by_id(r.url, r.token, f["fileId"])
                seen.append((info.get("fileRetention"), info.get("legalHold")))
        large = raw.list_unfinished_large_files(r.url, r.token, self.bucket_id, max_file_count=100)["files"]
        for f in large:
            parts = raw.list_parts(r.url, r.token, f["fileId"], 1, 100)["parts"]
            seen.append((f["fileId"], [p["partNumber"] for p in parts]))
        seen.append(raw.list_buckets(r.url, r.token, r.account, bucket_id=self.bucket_id)["buckets"])
        seen.append(raw.get_bucket_notification_rules(r.url, r.token, self.bucket_id))
        seen.append(sorted(b["bucketName"] for b in raw.list_buckets(r.url, r.token, r.account)["buckets"]))
        keys = raw.list_keys(r.url, r.token, r.account, max_key_count=10000)["keys"]
        seen.append(sorted(k["keyName"] for k in keys if not k["keyName"].startswith("m-")))
        return seen


def b2_cases(fx):
    """How to call each B2 call: prepare with the root key, return what the key under test calls. `call.field`
    names a call with a field that needs a capability of its own."""
    from b2sdk.v3 import (BucketRetentionSetting, EncryptionAlgorithm, EncryptionMode, EncryptionSetting,
                          FileRetentionSetting, LegalHold, RetentionMode, RetentionPeriod)
    b, raw, root = fx.bucket_id, fx.raw, fx.root
    sse_b2 = EncryptionSetting(mode=EncryptionMode.SSE_B2, algorithm=EncryptionAlgorithm.AES256)
    new = lambda: f"docs/new-{uuid.uuid4().hex[:8]}"  # noqa: E731
    made = lambda: f"made-{uuid.uuid4().hex[:10]}"  # noqa: E731

    def fresh_file(k, then):
        file_id = fx.upload(name := new())["fileId"]
        return lambda: then(k, file_id, name)

    def doomed_key(k):
        key_id = raw.create_key(root.url, root.token, root.account, ["listFiles"], made(), None, None, None)["applicationKeyId"]
        return lambda: raw.delete_key(k.url, k.token, key_id)

    def doomed_bucket(k):
        bucket_id = raw.create_bucket(root.url, root.token, root.account, made(), "allPrivate")["bucketId"]
        return lambda: raw.delete_bucket(k.url, k.token, k.account, bucket_id)

    def upload_file(k):
        def go():
            target = raw.get_upload_url(k.url, k.token, b)
            return raw.upload_file(target["uploadUrl"], target["authorizationToken"], new(), 1, "text/plain",
                                   hashlib.sha1(b"x").hexdigest(), {}, io.BytesIO(b"x"))
        return go

    def finish(k):
        large = fx.start_large()
        first = fx.upload_part(root, large, 1, b"1" * PART_SIZE)["contentSha1"]
        second = fx.upload_part(root, large, 2, b"2")["contentSha1"]
        return lambda: raw.finish_large_file(k.url, k.token, large, [first, second])

    def download(k, by_name):
        url = (raw.get_download_url_by_name(k.download_url, fx.name, "docs/a.txt") if by_name
               else raw.get_download_url_by_id(k.download_url, fx.file_id))

        def go():
            with raw.download_file_from_url(k.token, url) as response:
                return response.content
        return go

    def retention(k, file_id, name):
        until = int((datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).timestamp() * 1000)
        return raw.update_file_retention(k.url, k.token, file_id, name, FileRetentionSetting(RetentionMode.GOVERNANCE, until))

    return {
        "b2_authorize_account": lambda k: lambda: raw.authorize_account(fx.server.url, k.key_id, k.secret),
        "b2_create_key": lambda k: lambda: raw.create_key(k.url, k.token, k.account, ["listFiles"], made(), None, None, None),
        "b2_list_keys": lambda k: lambda: raw.list_keys(k.url, k.token, k.account),
        "b2_delete_key": doomed_key,
        "b2_list_buckets": lambda k: lambda: raw.list_buckets(k.url, k.token, k.account, bucket_id=b),
        "b2_create_bucket": lambda k: lambda: raw.create_bucket(k.url, k.token, k.account, made(), "allPrivate"),
        "b2_create_bucket.defaultServerSideEncryption": lambda k: lambda: raw.create_bucket(
            k.url, k.token, k.account, made(), "allPrivate", default_server_side_encryption=sse_b2),
        "b2_create_bucket.fileLockEnabled": lambda k: lambda: raw.create_bucket(
            k.url, k.token, k.account, made(), "allPrivate", is_file_lock_enabled=True),
        "b2_update_bucket": lambda k: lambda: raw.update_bucket(k.url, k.token, k.account, b, bucket_info={"n": made()}),
        "b2_update_bucket.defaultServerSideEncryption": lambda k: lambda: raw.update_bucket(
            k.url, k.token, k.account, b, default_server_side_encryption=sse_b2),
        "b2_update_bucket.fileLockEnabled": lambda k: lambda: raw.update_bucket(k.url, k.token, k.account, b, is_file_lock_enabled=True),
        "b2_update_bucket.defaultRetention": lambda k: lambda: raw.update_bucket(
            k.url, k.token, k.account, b, default_retention=BucketRetentionSetting(RetentionMode.GOVERNANCE, RetentionPeriod(days=1))),
        "b2_delete_bucket": doomed_bucket,
        "b2_get_bucket_notification_rules": lambda k: lambda: raw.get_bucket_notification_rules(k.url, k.token, b),
        "b2_set_bucket_notification_rules": lambda k: lambda: raw.set_bucket_notification_rules(k.url, k.token, b, []),
        "b2_list_file_names": lambda k: lambda: raw.list_file_names(k.url, k.token, b),
        "b2_list_file_versions": lambda k: lambda: raw.list_file_versions(k.url, k.token, b),
        "b2_list_unfinished_large_files": lambda k: lambda: raw.list_unfinished_large_files(k.url, k.token, b),
        "b2_get_upload_url": lambda k: lambda: raw.get_upload_url(k.url, k.token, b),
        "b2_upload_file": upload_file,
        "b2_start_large_file": lambda k: lambda: raw.start_large_file(k.url, k.token, b, new(), "text/plain", {}),
        "b2_get_upload_part_url": lambda k: (lambda large: lambda: raw.get_upload_part_url(k.url, k.token, large))(fx.start_large()),
        "b2_upload_part": lambda k: (lambda large: lambda: fx.upload_part(k, large, 1, b"p"))(fx.start_large()),
        "b2_list_parts": lambda k: (lambda large: lambda: raw.list_parts(k.url, k.token, large, 1, 10))(fx.start_large()),
        "b2_finish_large_file": finish,
        "b2_cancel_large_file": lambda k: (lambda large: lambda: raw.cancel_large_file(k.url, k.token, large))(fx.start_large()),
        "b2_copy_file": lambda k: lambda: raw.copy_file(k.url, k.token, fx.file_id, new()),
        "b2_copy_part": lambda k: (lambda large: lambda: raw.copy_part(k.url, k.token, fx.file_id, large, 1))(fx.start_large()),
        "b2_hide_file": lambda k: fresh_file(k, lambda k, _, name: raw.hide_file(k.url, k.token, b, name)),
        "b2_delete_file_version": lambda k: fresh_file(k, lambda k, file_id, name: raw.delete_file_version(k.url, k.token, file_id, name)),
        "b2_update_file_retention": lambda k: fresh_file(k, retention),
        "b2_update_file_legal_hold": lambda k: fresh_file(
            k, lambda k, file_id, name: raw.update_file_legal_hold(k.url, k.token, file_id, name, LegalHold.ON)),
        "b2_get_file_info": lambda k: lambda: raw.get_file_info_by_id(k.url, k.token, fx.file_id),
        "b2_get_download_authorization": lambda k: lambda: raw.get_download_authorization(k.url, k.token, b, "docs/", 60),
        "b2_download_file_by_id": lambda k: download(k, by_name=False),
        "b2_download_file_by_name": lambda k: download(k, by_name=True),
    }


def b2_key(fx, capabilities, restricted=True, name_prefix=None, lacking=()):
    capabilities = sorted(set(capabilities)) or [next(c for c in (FILLER, "readBucketEncryption") if c not in lacking)]
    bucket_level = restricted and not (set(capabilities) & ACCOUNT_LEVEL)
    r = fx.root
    key = fx.raw.create_key(r.url, r.token, r.account, capabilities, f"m-{uuid.uuid4().hex[:10]}", None,
                            [fx.bucket_id] if bucket_level else None, name_prefix)
    session = B2Key(fx.server, fx.raw, key["applicationKeyId"], key["applicationKey"])
    session.key_id, session.secret = key["applicationKeyId"], key["applicationKey"]
    return session


def b2_table(server):
    return {c["name"]: c for c in requests.get(f"{server.url}/_test/b2-operations").json()}


# Retention and legal-hold writes by a key without the capability are B2's 403 access_denied (b2sdk's
# RetentionWriteError); every other refusal is 401 unauthorized.
DENIED_OUTRIGHT = {("b2_update_file_retention", "writeFileRetentions"), ("b2_update_file_legal_hold", "writeFileLegalHolds")}


def b2_refused(fx, attempt, what, denied=False):
    """`attempt` is refused with B2's 401 unauthorized (403 access_denied when `denied`) and changes nothing."""
    from b2sdk.v3.exception import AccessDenied, B2Error
    before = fx.state()
    try:
        answer = attempt()
    except B2Error as e:
        if denied:
            assert isinstance(e, AccessDenied), f"{what}: {e!r}"
        else:
            assert getattr(e, "code", None) == "unauthorized", f"{what}: {e!r}"
    else:
        pytest.fail(f"{what} was not refused: {str(answer)[:200]}")
    assert fx.state() == before, f"{what}: refused, yet it changed something"


def test_every_b2_call_has_a_case(server):
    table = b2_table(server)
    expected = set(table) | {f"{name}.{field}" for name, c in table.items() for field in c["fields"]}
    assert expected == set(b2_cases(_B2Stub()).keys())


class _B2Stub:
    bucket_id = raw = root = server = name = file_id = None


def test_b2_capability_matrix(server):
    """For every B2 call (and every field that needs a capability of its own): a key with exactly what the
    table names succeeds; a key missing any one of it is refused with 401 unauthorized (403 access_denied for
    retention and legal-hold writes, as B2) and nothing changes."""
    from b2sdk.v3.exception import B2Error
    fx = B2Fixture(server)
    table = b2_table(server)
    refused = set()
    for name, case in b2_cases(fx).items():
        call, _, field = name.partition(".")
        row = table[call]
        needed = row["needsAll"] or row["needsAny"][:1]
        if field:
            needed = needed + [row["fields"][field]]
        for missing in needed:
            held = set(needed) - {missing}
            key = b2_key(fx, held, lacking=needed)
            attempt = case(key)
            b2_refused(fx, attempt, f"{name} without {missing}", denied=(name, missing) in DENIED_OUTRIGHT)
            refused.add(name)
        key = b2_key(fx, needed)
        try:
            case(key)()
        except B2Error as e:
            pytest.fail(f"{name} with exactly {needed}: {e!r}")
        fx.reset()
    assert refused == {n for n in b2_cases(fx) if n.split(".")[0] != "b2_authorize_account"}

    # A key restricted to another bucket, or to another prefix, is refused what its restriction excludes.
    other = fx.raw.create_bucket(fx.root.url, fx.root.token, fx.root.account, f"b2other-{uuid.uuid4().hex[:8]}", "allPrivate")
    everything = sorted({c for row in table.values() for c in row["needsAll"] + row["needsAny"] + list(row["fields"].values())}
                        - ACCOUNT_LEVEL)
    elsewhere = B2Key(server, fx.raw, *(lambda k: (k["applicationKeyId"], k["applicationKey"]))(fx.raw.create_key(
        fx.root.url, fx.root.token, fx.root.account, everything, "m-elsewhere", None, [other["bucketId"]], None)))
    elsewhere.restriction = "another bucket"
    prefixed = b2_key(fx, everything, name_prefix="other/")
    prefixed.restriction = "prefix other/"
    for name, case in b2_cases(fx).items():
        row = table[name.split(".")[0]]
        if row["target"] == "Account":
            continue
        for key, applies in ((elsewhere, True), (prefixed, row["target"] == "Files")):
            if not applies:
                continue
            b2_refused(fx, case(key), f"{name} outside {key.restriction}")
