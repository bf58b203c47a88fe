-- S3 access settings and SSE-KMS: a bucket's policy, public access block, object ownership and ACL grants (one
-- document), and each version's object ACL grants.
ALTER TABLE buckets ADD COLUMN access json NOT NULL DEFAULT '{}'::json;
ALTER TABLE versions ADD COLUMN grants json NOT NULL DEFAULT '[]'::json;
-- SSE-KMS: the key a version (or a bucket's default) is encrypted under, and the keys themselves, each a
-- random key sealed under the master key.
ALTER TABLE versions ADD COLUMN kms_key_id text;
ALTER TABLE buckets ADD COLUMN default_kms_key_id text;
CREATE TABLE kms_keys (
    key_id text PRIMARY KEY,
    sealed text NOT NULL,
    created bigint NOT NULL
);
-- The checksum algorithm a multipart upload was started with (S3's x-amz-checksum-algorithm).
ALTER TABLE versions ADD COLUMN checksum_algorithm text;
-- Whether its whole-object checksum combines the parts' CRCs (FULL_OBJECT) rather than hashing them (COMPOSITE).
ALTER TABLE versions ADD COLUMN checksum_full_object boolean NOT NULL DEFAULT false;
