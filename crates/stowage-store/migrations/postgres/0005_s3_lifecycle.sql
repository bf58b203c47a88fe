-- A lifecycle configuration put through S3, kept as written (IDs, disabled rules, tag and size filters,
-- dates); `lifecycle_rules` holds the part of it B2's form can express. Empty when B2's rules are all.
ALTER TABLE buckets ADD COLUMN s3_lifecycle json NOT NULL DEFAULT '[]'::json;
