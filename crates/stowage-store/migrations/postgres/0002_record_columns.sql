-- Every field of keys, buckets, versions and parts gets a column of its own, filled from the JSON bodies
-- the first schema kept (the serde form of the core types at the time); what one field holds several of
-- stays a JSON document in its column, in the shape `records.rs` fixes. `json` nulls become SQL NULLs.

ALTER TABLE app_keys
    ADD COLUMN secret text,
    ADD COLUMN name text,
    ADD COLUMN capabilities json,
    ADD COLUMN bucket_ids json,
    ADD COLUMN name_prefix text,
    ADD COLUMN expires bigint,
    ADD COLUMN created bigint;
UPDATE app_keys SET
    secret = body->>'secret',
    name = body->>'name',
    capabilities = body->'capabilities',
    bucket_ids = CASE json_typeof(body->'bucket_ids') WHEN 'array' THEN body->'bucket_ids' END,
    name_prefix = body->>'name_prefix',
    expires = (body->>'expires')::bigint,
    created = (body->>'created')::bigint;
ALTER TABLE app_keys
    ALTER COLUMN secret SET NOT NULL,
    ALTER COLUMN name SET NOT NULL,
    ALTER COLUMN capabilities SET NOT NULL,
    ALTER COLUMN created SET NOT NULL,
    DROP COLUMN body;

ALTER TABLE buckets
    ADD COLUMN name text,
    ADD COLUMN bucket_type text,
    ADD COLUMN bucket_info json,
    ADD COLUMN cors_rules json,
    ADD COLUMN lifecycle_rules json,
    ADD COLUMN notification_rules json,
    ADD COLUMN default_encryption text,
    ADD COLUMN file_lock_enabled boolean,
    ADD COLUMN default_retention_mode text,
    ADD COLUMN default_retention_duration bigint,
    ADD COLUMN default_retention_unit text,
    ADD COLUMN tags json,
    ADD COLUMN created bigint;
UPDATE buckets SET
    name = body->>'name',
    bucket_type = body->>'bucket_type',
    bucket_info = body->'info',
    cors_rules = body->'cors_rules',
    lifecycle_rules = body->'lifecycle_rules',
    notification_rules = coalesce(body->'notification_rules', '[]'::json),
    default_encryption = CASE body->>'default_encryption' WHEN 'SseB2' THEN 'sse-b2' ELSE 'none' END,
    file_lock_enabled = (body->>'file_lock_enabled')::boolean,
    default_retention_mode = body->'default_retention'->>'mode',
    default_retention_duration = (body->'default_retention'->'period'->>'duration')::bigint,
    default_retention_unit = body->'default_retention'->'period'->>'unit',
    tags = coalesce(body->'tags', '{}'::json),
    created = (body->>'created')::bigint;
ALTER TABLE buckets
    ALTER COLUMN name SET NOT NULL,
    ALTER COLUMN bucket_type SET NOT NULL,
    ALTER COLUMN bucket_info SET NOT NULL,
    ALTER COLUMN cors_rules SET NOT NULL,
    ALTER COLUMN lifecycle_rules SET NOT NULL,
    ALTER COLUMN notification_rules SET NOT NULL,
    ALTER COLUMN default_encryption SET NOT NULL,
    ALTER COLUMN file_lock_enabled SET NOT NULL,
    ALTER COLUMN tags SET NOT NULL,
    ALTER COLUMN created SET NOT NULL,
    DROP COLUMN body;

ALTER TABLE versions
    ADD COLUMN sha1 text,
    ADD COLUMN md5 text,
    ADD COLUMN content_type text,
    ADD COLUMN file_info json,
    ADD COLUMN encryption text,
    ADD COLUMN sse_c_key_md5 text,
    ADD COLUMN retention_mode text,
    ADD COLUMN retain_until bigint,
    ADD COLUMN legal_hold boolean,
    ADD COLUMN blob_id text COLLATE "C",
    ADD COLUMN blob_salt text,
    ADD COLUMN large_parts json,
    ADD COLUMN tags json,
    ADD COLUMN checksums json;
UPDATE versions SET
    sha1 = body->>'sha1',
    md5 = body->>'md5',
    content_type = body->>'content_type',
    file_info = body->'info',
    encryption = CASE WHEN body->'encryption'->'SseC' IS NOT NULL THEN 'sse-c'
                      WHEN body->>'encryption' = 'SseB2' THEN 'sse-b2'
                      ELSE 'none' END,
    sse_c_key_md5 = body->'encryption'->'SseC'->>'key_md5',
    retention_mode = body->'retention'->>'mode',
    retain_until = (body->'retention'->>'retain_until')::bigint,
    legal_hold = (body->>'legal_hold')::boolean,
    blob_id = body->'content'->'Blob'->>'id',
    blob_salt = body->'content'->'Blob'->>'salt',
    large_parts = body->'content'->'Parts',
    tags = coalesce(body->'tags', '{}'::json),
    checksums = coalesce(body->'checksums', '{}'::json);
ALTER TABLE versions
    ALTER COLUMN content_type SET NOT NULL,
    ALTER COLUMN file_info SET NOT NULL,
    ALTER COLUMN encryption SET NOT NULL,
    ALTER COLUMN tags SET NOT NULL,
    ALTER COLUMN checksums SET NOT NULL,
    DROP COLUMN body;

ALTER TABLE parts
    ADD COLUMN size bigint,
    ADD COLUMN sha1 text,
    ADD COLUMN md5 text,
    ADD COLUMN upload_ts bigint,
    ADD COLUMN salt text,
    ADD COLUMN checksums json;
UPDATE parts SET
    size = (body->>'size')::bigint,
    sha1 = body->>'sha1',
    md5 = body->>'md5',
    upload_ts = (body->>'upload_timestamp')::bigint,
    salt = body->>'salt',
    checksums = coalesce(body->'checksums', '{}'::json);
ALTER TABLE parts
    ALTER COLUMN size SET NOT NULL,
    ALTER COLUMN sha1 SET NOT NULL,
    ALTER COLUMN md5 SET NOT NULL,
    ALTER COLUMN upload_ts SET NOT NULL,
    ALTER COLUMN checksums SET NOT NULL,
    DROP COLUMN body;
