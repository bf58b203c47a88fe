"""S3 access control through boto3 (signed and unsigned) and what B2 clients see of it: bucket policies,
the public access block, object ownership and ACLs, always alongside the key's own capabilities."""

import json

import botocore
import pytest
import requests

from conftest import ROOT_ID
from test_boto3 import b2api, client, error_code


def policy(bucket, *statements):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"], **s} for s in statements]})


def anonymous(server):
    return client(server, signature_version=botocore.UNSIGNED)


def test_bucket_policies(server):
    s3, anon = client(server), anonymous(server)
    s3.create_bucket(Bucket="policy-bucket")
    for key in ("public/a.txt", "private/b.txt"):
        s3.put_object(Bucket="policy-bucket", Key=key, Body=key.encode())
    assert error_code(lambda: s3.get_bucket_policy(Bucket="policy-bucket")) == "NoSuchBucketPolicy"
    assert s3.get_bucket_policy_status(Bucket="policy-bucket")["PolicyStatus"]["IsPublic"] is False
    assert error_code(lambda: anon.get_object(Bucket="policy-bucket", Key="public/a.txt")) == "AccessDenied"

    # Anonymous reads of a prefix, and listing it; the document is returned as sent.
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::policy-bucket/public/*"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::policy-bucket",
         "Condition": {"StringLike": {"s3:prefix": "public/*"}}}]})
    s3.put_bucket_policy(Bucket="policy-bucket", Policy=doc)
    assert s3.get_bucket_policy(Bucket="policy-bucket")["Policy"] == doc
    assert s3.get_bucket_policy_status(Bucket="policy-bucket")["PolicyStatus"]["IsPublic"] is True
    assert anon.get_object(Bucket="policy-bucket", Key="public/a.txt")["Body"].read() == b"public/a.txt"
    assert error_code(lambda: anon.get_object(Bucket="policy-bucket", Key="private/b.txt")) == "AccessDenied"
    assert [o["Key"] for o in anon.list_objects_v2(Bucket="policy-bucket", Prefix="public/")["Contents"]] == ["public/a.txt"]
    assert error_code(lambda: anon.list_objects_v2(Bucket="policy-bucket")) == "AccessDenied"
    assert error_code(lambda: anon.put_object(Bucket="policy-bucket", Key="public/new", Body=b"x")) == "AccessDenied"
    # A plain URL works too, as for a public bucket.
    assert requests.get(f"{server.url}/policy-bucket/public/a.txt").content == b"public/a.txt"

    # A policy can deny what a key's capabilities allow, here by source address.
    s3.put_bucket_policy(Bucket="policy-bucket", Policy=policy("policy-bucket",
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}))
    assert error_code(lambda: s3.delete_object(Bucket="policy-bucket", Key="public/a.txt")) == "AccessDenied"
    assert s3.get_object(Bucket="policy-bucket", Key="public/a.txt")["Body"].read() == b"public/a.txt"
    # ... and a policy that denies everything still lets the owner's keys manage the policy.
    s3.put_bucket_policy(Bucket="policy-bucket", Policy=policy("policy-bucket", {"Effect": "Deny", "Principal": "*", "Action": "s3:*"}))
    assert error_code(lambda: s3.get_object(Bucket="policy-bucket", Key="public/a.txt")) == "AccessDenied"
    s3.delete_bucket_policy(Bucket="policy-bucket")
    s3.delete_object(Bucket="policy-bucket", Key="public/a.txt")

    # A policy never lets a key exceed its capabilities.
    api = b2api(server)
    bucket = api.get_bucket_by_name("policy-bucket")
    key = api.create_key(["listFiles", "readFiles"], "policy-reader", bucket_ids=[bucket.id_])
    reader = client(server, key.id_, key.application_key)
    s3.put_bucket_policy(Bucket="policy-bucket", Policy=policy("policy-bucket",
        {"Effect": "Allow", "Principal": {"AWS": [key.id_, f"arn:aws:iam::{api.account_info.get_account_id()}:root"]}, "Action": "s3:*"}))
    assert error_code(lambda: reader.put_object(Bucket="policy-bucket", Key="private/c", Body=b"x")) == "AccessDenied"
    assert reader.get_object(Bucket="policy-bucket", Key="private/b.txt")["Body"].read() == b"private/b.txt"
    # A key named as a principal can be denied alone.
    s3.put_bucket_policy(Bucket="policy-bucket", Policy=policy("policy-bucket",
        {"Effect": "Deny", "Principal": {"AWS": key.id_}, "Action": "s3:GetObject"}))
    assert error_code(lambda: reader.get_object(Bucket="policy-bucket", Key="private/b.txt")) == "AccessDenied"
    assert s3.get_object(Bucket="policy-bucket", Key="private/b.txt")["Body"].read() == b"private/b.txt"

    # Malformed policies are refused with MalformedPolicy.
    for bad in ("not json", json.dumps({"Statement": []}),
                policy("policy-bucket", {"Effect": "Allow", "NotPrincipal": {"AWS": "x"}, "Action": "s3:ListBucket"}),
                policy("policy-bucket", {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                         "Condition": {"StringSorta": {"s3:prefix": "x"}}}),
                policy("other-bucket", {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"})):
        assert error_code(lambda: s3.put_bucket_policy(Bucket="policy-bucket", Policy=bad)) == "MalformedPolicy"


def test_policies_on_existing_object_tags(server):
    s3, anon = client(server), anonymous(server)
    s3.create_bucket(Bucket="tag-policy")
    for key, tags in (("open", "security=public"), ("closed", "security=private"), ("secret", "classified=yes")):
        s3.put_object(Bucket="tag-policy", Key=key, Body=key.encode(), Tagging=tags)
    s3.put_bucket_policy(Bucket="tag-policy", Policy=policy("tag-policy",
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/security": "public"}}},
        {"Effect": "Deny", "Principal": "*", "Action": ["s3:GetObject", "s3:GetObjectTagging"],
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/classified": "yes"}}}))
    # Anonymous callers read what the object's tags open to them, and nothing else.
    assert anon.get_object(Bucket="tag-policy", Key="open")["Body"].read() == b"open"
    assert error_code(lambda: anon.get_object(Bucket="tag-policy", Key="closed")) == "AccessDenied"
    # A key reads what its capabilities allow, except what the tags deny.
    assert s3.get_object(Bucket="tag-policy", Key="closed")["Body"].read() == b"closed"
    assert error_code(lambda: s3.get_object(Bucket="tag-policy", Key="secret")) == "AccessDenied"
    assert error_code(lambda: s3.get_object_tagging(Bucket="tag-policy", Key="secret")) == "AccessDenied"
    # Retagging changes the decision; a copy's source is judged by its own tags.
    s3.put_object_tagging(Bucket="tag-policy", Key="closed", Tagging={"TagSet": [{"Key": "security", "Value": "public"}]})
    assert anon.get_object(Bucket="tag-policy", Key="closed")["Body"].read() == b"closed"
    assert error_code(lambda: s3.copy_object(Bucket="tag-policy", Key="copy", CopySource={"Bucket": "tag-policy", "Key": "secret"})) == "AccessDenied"
    s3.delete_bucket_policy(Bucket="tag-policy")
    assert s3.get_object(Bucket="tag-policy", Key="secret")["Body"].read() == b"secret"


def test_public_access_block_and_ownership(server):
    s3, anon = client(server), anonymous(server)
    s3.create_bucket(Bucket="blocked-bucket")
    s3.put_object(Bucket="blocked-bucket", Key="k", Body=b"v")
    assert error_code(lambda: s3.get_public_access_block(Bucket="blocked-bucket")) == "NoSuchPublicAccessBlockConfiguration"
    public = policy("blocked-bucket", {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"})
    s3.put_bucket_policy(Bucket="blocked-bucket", Policy=public)
    assert anon.get_object(Bucket="blocked-bucket", Key="k")["Body"].read() == b"v"
    conf = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    s3.put_public_access_block(Bucket="blocked-bucket", PublicAccessBlockConfiguration=conf)
    assert s3.get_public_access_block(Bucket="blocked-bucket")["PublicAccessBlockConfiguration"] == conf
    # RestrictPublicBuckets: the public policy no longer grants anonymous callers anything.
    assert error_code(lambda: anon.get_object(Bucket="blocked-bucket", Key="k")) == "AccessDenied"
    assert s3.get_object(Bucket="blocked-bucket", Key="k")["Body"].read() == b"v"
    # BlockPublicPolicy and BlockPublicAcls refuse new public policies and ACLs.
    assert error_code(lambda: s3.put_bucket_policy(Bucket="blocked-bucket", Policy=public)) == "AccessDenied"
    assert error_code(lambda: s3.put_object(Bucket="blocked-bucket", Key="p", Body=b"x", ACL="public-read")) == "AccessDenied"
    assert error_code(lambda: s3.put_bucket_acl(Bucket="blocked-bucket", ACL="public-read")) == "AccessDenied"
    s3.put_object(Bucket="blocked-bucket", Key="p", Body=b"x", ACL="private")
    s3.delete_public_access_block(Bucket="blocked-bucket")
    assert error_code(lambda: s3.get_public_access_block(Bucket="blocked-bucket")) == "NoSuchPublicAccessBlockConfiguration"
    assert anon.get_object(Bucket="blocked-bucket", Key="k")["Body"].read() == b"v"

    # Object ownership: enforcing it turns ACLs off, and needs a private bucket.
    assert error_code(lambda: s3.get_bucket_ownership_controls(Bucket="blocked-bucket")) == "OwnershipControlsNotFoundError"
    enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    s3.put_bucket_ownership_controls(Bucket="blocked-bucket", OwnershipControls=enforced)
    assert s3.get_bucket_ownership_controls(Bucket="blocked-bucket")["OwnershipControls"] == enforced
    assert error_code(lambda: s3.put_object_acl(Bucket="blocked-bucket", Key="k", ACL="public-read")) == "AccessControlListNotSupported"
    s3.put_object(Bucket="blocked-bucket", Key="owned", Body=b"x", ACL="bucket-owner-full-control")
    s3.delete_bucket_ownership_controls(Bucket="blocked-bucket")
    s3.create_bucket(Bucket="public-owned", ACL="public-read")
    assert error_code(lambda: s3.put_bucket_ownership_controls(Bucket="public-owned", OwnershipControls=enforced)) \
        == "InvalidBucketAclWithObjectOwnership"
    s3.create_bucket(Bucket="created-enforced", ObjectOwnership="BucketOwnerEnforced")
    assert s3.get_bucket_ownership_controls(Bucket="created-enforced")["OwnershipControls"] == enforced


def test_acls_and_what_b2_sees(server):
    s3, anon = client(server), anonymous(server)
    api = b2api(server)
    account = api.account_info.get_account_id()
    s3.create_bucket(Bucket="acl-bucket")
    s3.put_object(Bucket="acl-bucket", Key="shared.txt", Body=b"shared")
    s3.put_object(Bucket="acl-bucket", Key="secret.txt", Body=b"secret")
    owner_full = {"Grantee": {"ID": account, "DisplayName": account, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}
    assert s3.get_object_acl(Bucket="acl-bucket", Key="shared.txt")["Grants"] == [owner_full]

    # A public-read object in a private bucket: anyone may read it, nothing else.
    s3.put_object_acl(Bucket="acl-bucket", Key="shared.txt", ACL="public-read")
    all_users = {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}
    assert s3.get_object_acl(Bucket="acl-bucket", Key="shared.txt")["Grants"] == [owner_full, {"Grantee": all_users, "Permission": "READ"}]
    assert anon.get_object(Bucket="acl-bucket", Key="shared.txt")["Body"].read() == b"shared"
    assert error_code(lambda: anon.get_object(Bucket="acl-bucket", Key="secret.txt")) == "AccessDenied"
    assert error_code(lambda: anon.get_object(Bucket="acl-bucket", Key="missing.txt")) == "AccessDenied"
    assert error_code(lambda: anon.list_objects_v2(Bucket="acl-bucket")) == "AccessDenied"
    s3.put_object(Bucket="acl-bucket", Key="born-public.txt", Body=b"p", ACL="public-read")
    assert anon.get_object(Bucket="acl-bucket", Key="born-public.txt")["Body"].read() == b"p"

    # A public-read bucket is B2's allPublic, both ways; public-read-write also lets anyone write.
    s3.put_bucket_acl(Bucket="acl-bucket", ACL="public-read")
    assert api.get_bucket_by_name("acl-bucket").type_ == "allPublic"
    assert anon.get_object(Bucket="acl-bucket", Key="secret.txt")["Body"].read() == b"secret"
    s3.put_bucket_acl(Bucket="acl-bucket", ACL="public-read-write")
    anon.put_object(Bucket="acl-bucket", Key="dropbox.txt", Body=b"from anyone")
    assert s3.get_object(Bucket="acl-bucket", Key="dropbox.txt")["Body"].read() == b"from anyone"
    grants = s3.get_bucket_acl(Bucket="acl-bucket")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL", "READ", "WRITE"]
    api.get_bucket_by_name("acl-bucket").update(bucket_type="allPrivate")
    assert [g["Permission"] for g in s3.get_bucket_acl(Bucket="acl-bucket")["Grants"]] == ["FULL_CONTROL", "WRITE"]
    s3.put_bucket_acl(Bucket="acl-bucket", ACL="private")
    assert error_code(lambda: anon.put_object(Bucket="acl-bucket", Key="dropbox2.txt", Body=b"x")) == "AccessDenied"

    # Grants through headers and bodies; grantees S3 could not resolve are refused as S3 refuses them.
    s3.put_bucket_acl(Bucket="acl-bucket", GrantRead='uri="http://acs.amazonaws.com/groups/global/AuthenticatedUsers"',
                      GrantFullControl=f'id="{account}"')
    assert s3.get_bucket_policy_status(Bucket="acl-bucket")["PolicyStatus"]["IsPublic"] is True
    assert error_code(lambda: s3.put_bucket_acl(Bucket="acl-bucket", GrantRead='id="nobody-here"')) == "InvalidArgument"
    assert error_code(lambda: s3.put_bucket_acl(Bucket="acl-bucket", GrantRead='emailAddress="a@example.com"')) \
        == "UnresolvableGrantByEmailAddress"
    acl = s3.get_bucket_acl(Bucket="acl-bucket")
    s3.put_bucket_acl(Bucket="acl-bucket", AccessControlPolicy={"Owner": acl["Owner"], "Grants": [owner_full]})
    assert s3.get_bucket_acl(Bucket="acl-bucket")["Grants"] == [owner_full]
    assert error_code(lambda: s3.put_bucket_acl(Bucket="acl-bucket", ACL="public-read", GrantRead=f'id="{account}"')) == "InvalidRequest"


def test_copy_tagging_directive(server):
    s3 = client(server)
    s3.create_bucket(Bucket="copy-tags")
    s3.put_object(Bucket="copy-tags", Key="src", Body=b"x", Tagging="a=1&b=2")
    s3.copy_object(Bucket="copy-tags", Key="kept", CopySource={"Bucket": "copy-tags", "Key": "src"})
    assert s3.get_object_tagging(Bucket="copy-tags", Key="kept")["TagSet"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    s3.copy_object(Bucket="copy-tags", Key="replaced", CopySource={"Bucket": "copy-tags", "Key": "src"},
                   TaggingDirective="REPLACE", Tagging="c=3")
    assert s3.get_object_tagging(Bucket="copy-tags", Key="replaced")["TagSet"] == [{"Key": "c", "Value": "3"}]


def test_owners_in_listings_and_ignored_public_acls(server):
    s3, anon = client(server), anonymous(server)
    account = b2api(server).account_info.get_account_id()
    s3.create_bucket(Bucket="owners-bucket", ACL="public-read")
    s3.put_object(Bucket="owners-bucket", Key="k", Body=b"v")
    owner = {"ID": account, "DisplayName": account}
    assert s3.list_objects(Bucket="owners-bucket")["Contents"][0]["Owner"] == owner
    assert "Owner" not in s3.list_objects_v2(Bucket="owners-bucket")["Contents"][0]
    assert s3.list_objects_v2(Bucket="owners-bucket", FetchOwner=True)["Contents"][0]["Owner"] == owner
    assert s3.list_object_versions(Bucket="owners-bucket")["Versions"][0]["Owner"] == owner
    upload = s3.create_multipart_upload(Bucket="owners-bucket", Key="big")["UploadId"]
    parts = s3.list_parts(Bucket="owners-bucket", Key="big", UploadId=upload)
    assert parts["Owner"] == owner and parts["Initiator"] == owner and parts["StorageClass"] == "STANDARD"
    listed = s3.list_multipart_uploads(Bucket="owners-bucket")["Uploads"][0]
    assert listed["Owner"] == owner and listed["StorageClass"] == "STANDARD"
    # IgnorePublicAcls: the public-read bucket is private to S3's anonymous callers.
    assert anon.get_object(Bucket="owners-bucket", Key="k")["Body"].read() == b"v"
    assert anon.list_objects_v2(Bucket="owners-bucket")["KeyCount"] == 1
    s3.put_public_access_block(Bucket="owners-bucket", PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
    assert error_code(lambda: anon.get_object(Bucket="owners-bucket", Key="k")) == "AccessDenied"
    assert error_code(lambda: anon.list_objects_v2(Bucket="owners-bucket")) == "AccessDenied"


def test_anonymous_form_upload_to_a_public_write_bucket(server):
    s3 = client(server)
    s3.create_bucket(Bucket="form-dropbox", ACL="public-read-write")
    dropped = requests.post(f"{server.url}/form-dropbox", data={"key": "drop.txt", "acl": "public-read", "success_action_status": "201"},
                            files={"file": ("drop.txt", b"dropped")})
    assert dropped.status_code == 201 and "<Key>drop.txt</Key>" in dropped.text
    assert s3.get_object(Bucket="form-dropbox", Key="drop.txt")["Body"].read() == b"dropped"
    assert [g["Permission"] for g in s3.get_object_acl(Bucket="form-dropbox", Key="drop.txt")["Grants"]] == ["FULL_CONTROL", "READ"]
    # A form's `tagging` field tags the object, as PutObjectTagging's body would; a malformed one is refused.
    tagging = "<Tagging><TagSet><Tag><Key>team</Key><Value>ops</Value></Tag></TagSet></Tagging>"
    tagged = requests.post(f"{server.url}/form-dropbox", data={"key": "tagged.txt", "tagging": tagging}, files={"file": ("t", b"t")})
    assert tagged.status_code == 204, tagged.text
    assert s3.get_object_tagging(Bucket="form-dropbox", Key="tagged.txt")["TagSet"] == [{"Key": "team", "Value": "ops"}]
    garbled = requests.post(f"{server.url}/form-dropbox", data={"key": "garbled.txt", "tagging": "<Tagging><TagSet>"},
                            files={"file": ("g", b"g")})
    assert garbled.status_code == 400 and "MalformedXML" in garbled.text
    s3.put_bucket_acl(Bucket="form-dropbox", ACL="public-read")
    refused = requests.post(f"{server.url}/form-dropbox", data={"key": "again.txt"}, files={"file": ("again.txt", b"x")})
    assert refused.status_code == 403 and "AccessDenied" in refused.text


def test_concurrent_bucket_acl_changes_all_succeed(server):
    from concurrent.futures import ThreadPoolExecutor
    s3 = client(server)
    s3.create_bucket(Bucket="acl-race")
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: s3.put_bucket_acl(Bucket="acl-race", ACL="public-read" if i % 2 else "private"), range(48)))
    assert all(r["ResponseMetadata"]["HTTPStatusCode"] == 200 for r in results)
