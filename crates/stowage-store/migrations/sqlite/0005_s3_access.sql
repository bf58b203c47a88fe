-- S3 access settings: a bucket's policy, public access block, object ownership and ACL grants (one
-- document), and each version's object ACL grants.
ALTER TABLE buckets ADD COLUMN access TEXT NOT NULL DEFAULT '{}';
ALTER TABLE versions ADD COLUMN grants TEXT NOT NULL DEFAULT '[]';
