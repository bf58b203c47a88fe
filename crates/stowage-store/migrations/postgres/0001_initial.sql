-- Names and ids are `COLLATE "C"`: they compare byte by byte, which for UTF-8 is code point order, the
-- order B2 and S3 list in (a locale collation would not). Records are JSON beside the columns that
-- index them, as `json` (kept as written: no conversion on the way in or out, which jsonb would cost on
-- every upload and every listed row).
CREATE TABLE meta (k text PRIMARY KEY, v bytea NOT NULL);
CREATE TABLE app_keys (key_id text COLLATE "C" PRIMARY KEY, body json NOT NULL);
CREATE TABLE buckets (
    bucket_id text COLLATE "C" PRIMARY KEY,
    name_lower text COLLATE "C" NOT NULL UNIQUE,
    revision bigint NOT NULL,
    body json NOT NULL
);
-- The foreign key makes an upload and a bucket delete exclude each other (the insert holds a key-share
-- lock on the bucket row; the delete fails while a version refers to it).
CREATE TABLE versions (
    file_id text COLLATE "C" PRIMARY KEY,
    bucket_id text COLLATE "C" NOT NULL REFERENCES buckets (bucket_id),
    name text COLLATE "C" NOT NULL,
    action text NOT NULL,
    size bigint NOT NULL,
    upload_ts bigint NOT NULL,
    body json NOT NULL
);
CREATE INDEX versions_by_name ON versions (bucket_id, name, file_id DESC);
CREATE INDEX versions_visible ON versions (bucket_id, name, file_id DESC) WHERE action <> 'start';
CREATE INDEX unfinished_by_id ON versions (bucket_id, file_id) WHERE action = 'start';
CREATE TABLE version_blobs (blob_id text COLLATE "C" PRIMARY KEY, file_id text COLLATE "C" NOT NULL);
CREATE INDEX version_blobs_by_file ON version_blobs (file_id);
CREATE TABLE parts (
    file_id text COLLATE "C" NOT NULL,
    part_number integer NOT NULL,
    blob_id text COLLATE "C" NOT NULL,
    body json NOT NULL,
    PRIMARY KEY (file_id, part_number)
);
CREATE INDEX parts_by_blob ON parts (blob_id);
CREATE TABLE gc_queue (blob_id text COLLATE "C" PRIMARY KEY, queued bigint NOT NULL);
CREATE INDEX gc_queue_by_age ON gc_queue (queued);
CREATE TABLE small_blobs (blob_id text COLLATE "C" PRIMARY KEY, written bigint NOT NULL, data bytea NOT NULL);
CREATE TABLE console_sessions (id_hash text PRIMARY KEY, record text NOT NULL, expires bigint NOT NULL);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires);
CREATE TABLE leases (name text PRIMARY KEY, holder text NOT NULL, expires bigint NOT NULL);
CREATE TABLE event_outbox (seq bigserial PRIMARY KEY, record text NOT NULL);
