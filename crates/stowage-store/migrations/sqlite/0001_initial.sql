-- The schema every embedded store had before migrations were numbered (as user_version 1); IF NOT EXISTS
-- lets it run on such a store unchanged.
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS app_keys (key_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (
    bucket_id TEXT PRIMARY KEY,
    name_lower TEXT NOT NULL UNIQUE,
    revision INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    file_id TEXT PRIMARY KEY,
    bucket_id TEXT NOT NULL,
    name TEXT NOT NULL,
    action TEXT NOT NULL,
    size INTEGER NOT NULL,
    upload_ts INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS versions_by_name ON versions (bucket_id, name, file_id);
CREATE INDEX IF NOT EXISTS versions_visible ON versions (bucket_id, name, file_id) WHERE action != 'start';
CREATE INDEX IF NOT EXISTS unfinished_by_id ON versions (bucket_id, file_id) WHERE action = 'start';
CREATE TABLE IF NOT EXISTS version_blobs (blob_id TEXT PRIMARY KEY, file_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS version_blobs_by_file ON version_blobs (file_id);
CREATE TABLE IF NOT EXISTS parts (
    file_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (file_id, part_number)
);
CREATE INDEX IF NOT EXISTS parts_by_blob ON parts (blob_id);
CREATE TABLE IF NOT EXISTS gc_queue (blob_id TEXT PRIMARY KEY, queued INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS small_blobs (blob_id TEXT PRIMARY KEY, written INTEGER NOT NULL, data BLOB NOT NULL);
