-- S3 versioning states: a bucket's state (every earlier bucket kept every version, B2's model) and which
-- version is its key's S3 null version.
ALTER TABLE buckets ADD COLUMN versioning TEXT NOT NULL DEFAULT 'enabled';
ALTER TABLE versions ADD COLUMN null_version INTEGER NOT NULL DEFAULT 0;
