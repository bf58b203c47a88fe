-- A lifecycle configuration put through S3, kept as written (IDs, disabled rules, tag and size filters,
-- dates); `lifecycle_rules` holds the part of it B2's form can express. Empty when B2's rules are all.
ALTER TABLE buckets ADD COLUMN s3_lifecycle json NOT NULL DEFAULT '[]'::json;
-- S3 lists multipart uploads by key, then by the order they were started.
CREATE INDEX unfinished_by_name ON versions (bucket_id, name, file_id) WHERE action = 'start';
-- Each bucket's stored files and bytes per day (days since 1970-01-01, UTC), for the console's usage chart.
CREATE TABLE usage_daily (
    bucket_id text COLLATE "C" NOT NULL,
    day bigint NOT NULL,
    files bigint NOT NULL,
    bytes bigint NOT NULL,
    PRIMARY KEY (bucket_id, day)
);
