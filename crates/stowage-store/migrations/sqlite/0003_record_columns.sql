-- Every field of keys, buckets, versions and parts gets a column of its own, filled from the JSON bodies
-- the earlier schema kept (the serde form of the core types at the time); what one field holds several
-- of stays a JSON document in its column, in the shape `records.rs` fixes. Each table is rebuilt (SQLite
-- cannot add NOT NULL columns to a filled table), so this rewrites the whole store once.

CREATE TABLE app_keys_new (
    key_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    name TEXT NOT NULL,
    capabilities TEXT NOT NULL,
    bucket_ids TEXT,
    name_prefix TEXT,
    expires INTEGER,
    created INTEGER NOT NULL
);
INSERT INTO app_keys_new
SELECT key_id, json_extract(body, '$.secret'), json_extract(body, '$.name'), json_extract(body, '$.capabilities'),
       json_extract(body, '$.bucket_ids'), json_extract(body, '$.name_prefix'), json_extract(body, '$.expires'),
       json_extract(body, '$.created')
FROM app_keys;
DROP TABLE app_keys;
ALTER TABLE app_keys_new RENAME TO app_keys;

CREATE TABLE buckets_new (
    bucket_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL UNIQUE,
    bucket_type TEXT NOT NULL,
    bucket_info TEXT NOT NULL,
    cors_rules TEXT NOT NULL,
    lifecycle_rules TEXT NOT NULL,
    notification_rules TEXT NOT NULL,
    default_encryption TEXT NOT NULL,
    file_lock_enabled INTEGER NOT NULL,
    default_retention_mode TEXT,
    default_retention_duration INTEGER,
    default_retention_unit TEXT,
    tags TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created INTEGER NOT NULL
);
INSERT INTO buckets_new
SELECT bucket_id, json_extract(body, '$.name'), name_lower, json_extract(body, '$.bucket_type'), json_extract(body, '$.info'),
       json_extract(body, '$.cors_rules'), json_extract(body, '$.lifecycle_rules'),
       coalesce(json_extract(body, '$.notification_rules'), '[]'),
       CASE json_extract(body, '$.default_encryption') WHEN 'SseB2' THEN 'sse-b2' ELSE 'none' END,
       json_extract(body, '$.file_lock_enabled'), json_extract(body, '$.default_retention.mode'),
       json_extract(body, '$.default_retention.period.duration'), json_extract(body, '$.default_retention.period.unit'),
       coalesce(json_extract(body, '$.tags'), '{}'), revision, json_extract(body, '$.created')
FROM buckets;
DROP TABLE buckets;
ALTER TABLE buckets_new RENAME TO buckets;

CREATE TABLE versions_new (
    file_id TEXT PRIMARY KEY,
    bucket_id TEXT NOT NULL,
    name TEXT NOT NULL,
    action TEXT NOT NULL,
    size INTEGER NOT NULL,
    upload_ts INTEGER NOT NULL,
    sha1 TEXT,
    md5 TEXT,
    content_type TEXT NOT NULL,
    file_info TEXT NOT NULL,
    encryption TEXT NOT NULL,
    sse_c_key_md5 TEXT,
    retention_mode TEXT,
    retain_until INTEGER,
    legal_hold INTEGER,
    blob_id TEXT,
    blob_salt TEXT,
    large_parts TEXT,
    tags TEXT NOT NULL,
    checksums TEXT NOT NULL
);
INSERT INTO versions_new
SELECT file_id, bucket_id, name, action, size, upload_ts, json_extract(body, '$.sha1'), json_extract(body, '$.md5'),
       json_extract(body, '$.content_type'), json_extract(body, '$.info'),
       CASE WHEN json_type(body, '$.encryption.SseC') IS NOT NULL THEN 'sse-c'
            WHEN json_extract(body, '$.encryption') = 'SseB2' THEN 'sse-b2'
            ELSE 'none' END,
       json_extract(body, '$.encryption.SseC.key_md5'), json_extract(body, '$.retention.mode'),
       json_extract(body, '$.retention.retain_until'), json_extract(body, '$.legal_hold'),
       json_extract(body, '$.content.Blob.id'), json_extract(body, '$.content.Blob.salt'), json_extract(body, '$.content.Parts'),
       coalesce(json_extract(body, '$.tags'), '{}'), coalesce(json_extract(body, '$.checksums'), '{}')
FROM versions;
DROP TABLE versions;
ALTER TABLE versions_new RENAME TO versions;
CREATE INDEX versions_by_name ON versions (bucket_id, name, file_id);
CREATE INDEX versions_visible ON versions (bucket_id, name, file_id) WHERE action != 'start';
CREATE INDEX unfinished_by_id ON versions (bucket_id, file_id) WHERE action = 'start';

CREATE TABLE parts_new (
    file_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha1 TEXT NOT NULL,
    md5 TEXT NOT NULL,
    upload_ts INTEGER NOT NULL,
    salt TEXT,
    checksums TEXT NOT NULL,
    PRIMARY KEY (file_id, part_number)
);
INSERT INTO parts_new
SELECT file_id, part_number, blob_id, json_extract(body, '$.size'), json_extract(body, '$.sha1'), json_extract(body, '$.md5'),
       json_extract(body, '$.upload_timestamp'), json_extract(body, '$.salt'), coalesce(json_extract(body, '$.checksums'), '{}')
FROM parts;
DROP TABLE parts;
ALTER TABLE parts_new RENAME TO parts;
CREATE INDEX parts_by_blob ON parts (blob_id);
