//! The stored form of application keys, buckets, file versions and parts, shared by both stores. Every
//! field is a column of its own (`migrations/`), named and ordered by the tables below; what one field
//! holds several of (a file's info, tags and checksums, a large file's parts, a bucket's rules) is a JSON
//! document in its column, in a shape fixed here (bucket rules are B2's own JSON) and pinned by tests.
//! Only this module maps core types to columns, so a core type can rename or reshape a field without
//! changing stored data: the change lands here, or in a numbered migration.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use stowage_core::model::{
    Action, AppKey, Bucket, BucketType, ChecksumAlgorithm, Content, DefaultRetention, Encryption, FileVersion, Part, PartRef, PeriodUnit,
    Retention, RetentionMode, RetentionPeriod, Versioning,
};
use stowage_core::{Error, Result};

/// A table's columns, in the order every statement names, binds and reads them, with their PostgreSQL
/// types (for statements that bind whole columns as arrays).
pub(crate) struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, &'static str)],
    list: OnceLock<String>,
}

pub(crate) static KEYS: Table = Table {
    list: OnceLock::new(),
    name: "app_keys",
    columns: &[
        ("key_id", "text"),
        ("secret", "text"),
        ("name", "text"),
        ("capabilities", "json"),
        ("bucket_ids", "json"),
        ("name_prefix", "text"),
        ("expires", "bigint"),
        ("created", "bigint"),
    ],
};

pub(crate) static BUCKETS: Table = Table {
    list: OnceLock::new(),
    name: "buckets",
    columns: &[
        ("bucket_id", "text"),
        ("name", "text"),
        ("name_lower", "text"),
        ("bucket_type", "text"),
        ("bucket_info", "json"),
        ("cors_rules", "json"),
        ("lifecycle_rules", "json"),
        ("notification_rules", "json"),
        ("default_encryption", "text"),
        ("file_lock_enabled", "boolean"),
        ("default_retention_mode", "text"),
        ("default_retention_duration", "bigint"),
        ("default_retention_unit", "text"),
        ("tags", "json"),
        ("revision", "bigint"),
        ("created", "bigint"),
        ("versioning", "text"),
        ("access", "json"),
        ("default_kms_key_id", "text"),
        ("s3_lifecycle", "json"),
    ],
};

pub(crate) static VERSIONS: Table = Table {
    list: OnceLock::new(),
    name: "versions",
    columns: &[
        ("file_id", "text"),
        ("bucket_id", "text"),
        ("name", "text"),
        ("action", "text"),
        ("size", "bigint"),
        ("upload_ts", "bigint"),
        ("sha1", "text"),
        ("md5", "text"),
        ("content_type", "text"),
        ("file_info", "json"),
        ("encryption", "text"),
        ("sse_c_key_md5", "text"),
        ("retention_mode", "text"),
        ("retain_until", "bigint"),
        ("legal_hold", "boolean"),
        ("blob_id", "text"),
        ("blob_salt", "text"),
        ("large_parts", "json"),
        ("tags", "json"),
        ("checksums", "json"),
        ("null_version", "boolean"),
        ("grants", "json"),
        ("kms_key_id", "text"),
        ("checksum_algorithm", "text"),
        ("checksum_full_object", "boolean"),
    ],
};

pub(crate) static PARTS: Table = Table {
    list: OnceLock::new(),
    name: "parts",
    columns: &[
        ("file_id", "text"),
        ("part_number", "integer"),
        ("blob_id", "text"),
        ("size", "bigint"),
        ("sha1", "text"),
        ("md5", "text"),
        ("upload_ts", "bigint"),
        ("salt", "text"),
        ("checksums", "json"),
    ],
};

impl Table {
    /// `a, b, c`: the select list.
    pub(crate) fn list(&self) -> &str {
        self.list.get_or_init(|| self.columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", "))
    }

    fn marks(&self, mark: char, from: usize) -> String {
        (from..=self.columns.len()).map(|i| format!("{mark}{i}")).collect::<Vec<_>>().join(", ")
    }

    /// `INSERT INTO t (a, b, c) VALUES (?1, ?2, ?3)`, with `mark` `?` (SQLite) or `$` (PostgreSQL).
    pub(crate) fn insert(&self, mark: char) -> String {
        format!("INSERT INTO {} ({}) VALUES ({})", self.name, self.list(), self.marks(mark, 1))
    }

    /// `UPDATE t SET (b, c) = (?2, ?3) WHERE a = ?1`: every column from the values of a whole row, keyed
    /// by the first. Callers may add conditions.
    pub(crate) fn update(&self, mark: char) -> String {
        let rest: Vec<&str> = self.columns.iter().skip(1).map(|(name, _)| *name).collect();
        format!("UPDATE {} SET ({}) = ({}) WHERE {} = {mark}1", self.name, rest.join(", "), self.marks(mark, 2), self.columns[0].0)
    }

    /// `INSERT INTO t (a, b) SELECT * FROM unnest($n::text[], $n+1::bigint[])`: one row per array element,
    /// each column bound as one array starting at parameter `first`.
    pub(crate) fn insert_unnest(&self, first: usize) -> String {
        let arrays: Vec<String> = self.columns.iter().enumerate().map(|(i, (_, ty))| format!("${}::{ty}[]", first + i)).collect();
        format!("INSERT INTO {} ({}) SELECT * FROM unnest({})", self.name, self.list(), arrays.join(", "))
    }
}

/// One column value on its way into either database. The target column's type decides the encoding:
/// text goes into `json` columns as the document it holds, integers into `boolean` columns as `<> 0`
/// (SQLite's booleans, for the copy into PostgreSQL).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value<'a> {
    Null,
    Text(Cow<'a, str>),
    Int(i64),
    Bool(bool),
    Bytes(Cow<'a, [u8]>),
}

impl<'a> Value<'a> {
    fn text(s: &'a str) -> Self {
        Value::Text(Cow::Borrowed(s))
    }

    fn opt_text(s: Option<&'a str>) -> Self {
        s.map_or(Value::Null, Value::text)
    }

    fn opt_int(n: Option<i64>) -> Self {
        n.map_or(Value::Null, Value::Int)
    }

    fn doc<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        serde_json::to_string(value).map(|s| Value::Text(Cow::Owned(s))).map_err(|e| Error::internal(format!("encoding a record: {e}")))
    }
}

/// A row of either database, read by column position.
pub(crate) trait Columns {
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn opt_bool(&self, i: usize) -> Result<Option<bool>>;
    /// A JSON document column.
    fn opt_doc<T: DeserializeOwned>(&self, i: usize) -> Result<Option<T>>;
}

fn corrupt(table: &str, what: impl std::fmt::Display) -> Error {
    Error::internal(format!("stored {table} row: {what}"))
}

/// Reads a row's columns in table order.
struct Reader<'r, R> {
    row: &'r R,
    table: &'static Table,
    next: usize,
}

impl<'r, R: Columns> Reader<'r, R> {
    fn new(row: &'r R, table: &'static Table) -> Self {
        Reader { row, table, next: 0 }
    }

    fn advance(&mut self) -> usize {
        self.next += 1;
        self.next - 1
    }

    fn missing(&self, i: usize) -> Error {
        corrupt(self.table.name, format!("{} is empty", self.table.columns.get(i).map_or("?", |c| c.0)))
    }

    fn opt_text(&mut self) -> Result<Option<String>> {
        let i = self.advance();
        self.row.opt_text(i)
    }

    fn text(&mut self) -> Result<String> {
        let i = self.advance();
        self.row.opt_text(i)?.ok_or_else(|| self.missing(i))
    }

    fn opt_int(&mut self) -> Result<Option<i64>> {
        let i = self.advance();
        self.row.opt_int(i)
    }

    fn int(&mut self) -> Result<i64> {
        let i = self.advance();
        self.row.opt_int(i)?.ok_or_else(|| self.missing(i))
    }

    fn opt_bool(&mut self) -> Result<Option<bool>> {
        let i = self.advance();
        self.row.opt_bool(i)
    }

    fn opt_doc<T: DeserializeOwned>(&mut self) -> Result<Option<T>> {
        let i = self.advance();
        self.row.opt_doc(i)
    }

    fn doc<T: DeserializeOwned>(&mut self) -> Result<T> {
        let i = self.advance();
        self.row.opt_doc(i)?.ok_or_else(|| self.missing(i))
    }

    fn done<T>(self, value: T) -> Result<T> {
        if self.next != self.table.columns.len() {
            return Err(Error::internal(format!("{} columns read of {} in {}", self.next, self.table.columns.len(), self.table.name)));
        }
        Ok(value)
    }
}

// --- application keys ---

pub(crate) fn key_values(key: &AppKey) -> Result<Vec<Value<'_>>> {
    Ok(vec![
        Value::text(&key.key_id),
        Value::text(&key.secret),
        Value::text(&key.name),
        Value::doc(&key.capabilities)?,
        key.bucket_ids.as_ref().map_or(Ok(Value::Null), Value::doc)?,
        Value::opt_text(key.name_prefix.as_deref()),
        Value::opt_int(key.expires),
        Value::Int(key.created),
    ])
}

pub(crate) fn key_from(row: &impl Columns) -> Result<AppKey> {
    let mut r = Reader::new(row, &KEYS);
    let key = AppKey {
        key_id: r.text()?,
        secret: r.text()?,
        name: r.text()?,
        capabilities: r.doc()?,
        bucket_ids: r.opt_doc()?,
        name_prefix: r.opt_text()?,
        expires: r.opt_int()?,
        created: r.int()?,
    };
    r.done(key)
}

// --- buckets ---

/// (kind, SSE-C key MD5, SSE-KMS key id): how an encryption is stored.
fn encryption_kind(e: &Encryption) -> (&'static str, Option<&str>, Option<&str>) {
    match e {
        Encryption::None => ("none", None, None),
        Encryption::SseB2 => ("sse-b2", None, None),
        Encryption::SseC { key_md5 } => ("sse-c", Some(key_md5), None),
        Encryption::SseKms { key_id } => ("sse-kms", None, Some(key_id)),
    }
}

fn unit_name(unit: PeriodUnit) -> &'static str {
    match unit {
        PeriodUnit::Days => "days",
        PeriodUnit::Years => "years",
    }
}

pub(crate) fn bucket_values(bucket: &Bucket) -> Result<Vec<Value<'_>>> {
    let (default_encryption, _, default_kms_key_id) = match &bucket.default_encryption {
        Encryption::SseC { .. } => return Err(Error::internal("a bucket's default encryption cannot be SSE-C")),
        other => encryption_kind(other),
    };
    let retention = bucket.default_retention.as_ref();
    Ok(vec![
        Value::text(&bucket.id),
        Value::text(&bucket.name),
        Value::Text(Cow::Owned(bucket.name.to_ascii_lowercase())),
        Value::text(bucket.bucket_type.as_str()),
        Value::doc(&bucket.info)?,
        Value::doc(&bucket.cors_rules)?,
        Value::doc(&bucket.lifecycle_rules)?,
        Value::doc(&bucket.notification_rules)?,
        Value::text(default_encryption),
        Value::Bool(bucket.file_lock_enabled),
        Value::opt_text(retention.map(|r| r.mode.as_str())),
        Value::opt_int(retention.map(|r| r.period.duration)),
        Value::opt_text(retention.map(|r| unit_name(r.period.unit))),
        Value::doc(&bucket.tags)?,
        Value::Int(bucket.revision),
        Value::Int(bucket.created),
        Value::text(bucket.versioning.as_str()),
        Value::doc(&bucket.access)?,
        Value::opt_text(default_kms_key_id),
        Value::doc(&bucket.s3_lifecycle)?,
    ])
}

pub(crate) fn bucket_from(row: &impl Columns) -> Result<Bucket> {
    let mut r = Reader::new(row, &BUCKETS);
    let id = r.text()?;
    let name = r.text()?;
    let _name_lower = r.text()?;
    let bucket_type = r.text()?;
    let bucket_type = BucketType::parse(&bucket_type).ok_or_else(|| corrupt("buckets", format!("bucket type {bucket_type:?}")))?;
    let (info, cors_rules, lifecycle_rules, notification_rules) = (r.doc()?, r.doc()?, r.doc()?, r.doc()?);
    let default_encryption = r.text()?;
    let file_lock_enabled = r.opt_bool()?.unwrap_or(false);
    let default_retention = match (r.opt_text()?, r.opt_int()?, r.opt_text()?) {
        (None, None, None) => None,
        (Some(mode), Some(duration), Some(unit)) => Some(DefaultRetention {
            mode: RetentionMode::parse(&mode).ok_or_else(|| corrupt("buckets", format!("retention mode {mode:?}")))?,
            period: RetentionPeriod {
                duration,
                unit: match unit.as_str() {
                    "days" => PeriodUnit::Days,
                    "years" => PeriodUnit::Years,
                    other => return Err(corrupt("buckets", format!("retention unit {other:?}"))),
                },
            },
        }),
        _ => return Err(corrupt("buckets", "a default retention with some of its fields")),
    };
    let bucket = Bucket {
        id,
        name,
        bucket_type,
        info,
        cors_rules,
        lifecycle_rules,
        default_encryption: Encryption::None,
        file_lock_enabled,
        default_retention,
        notification_rules,
        tags: r.doc()?,
        revision: r.int()?,
        created: r.int()?,
        versioning: {
            let state = r.text()?;
            Versioning::parse(&state).ok_or_else(|| corrupt("buckets", format!("versioning {state:?}")))?
        },
        access: r.doc()?,
        s3_lifecycle: Vec::new(),
    };
    let bucket = Bucket {
        default_encryption: match (default_encryption.as_str(), r.opt_text()?) {
            ("none", None) => Encryption::None,
            ("sse-b2", None) => Encryption::SseB2,
            ("sse-kms", Some(key_id)) => Encryption::SseKms { key_id },
            (other, _) => return Err(corrupt("buckets", format!("default encryption {other:?}"))),
        },
        s3_lifecycle: r.doc()?,
        ..bucket
    };
    r.done(bucket)
}

// --- file versions ---

/// One part of a finished large file, as the `large_parts` document stores it.
#[derive(Serialize, Deserialize)]
struct StoredPartRef {
    blob_id: String,
    size: u64,
    #[serde(default)]
    md5: String,
    #[serde(default)]
    salt: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    checksums: stowage_core::model::Checksums,
}

pub(crate) fn version_values(v: &FileVersion) -> Result<Vec<Value<'_>>> {
    let (encryption, sse_c_key_md5, kms_key_id) = encryption_kind(&v.encryption);
    let (blob_id, blob_salt, large_parts) = match &v.content {
        Content::Empty => (None, None, Value::Null),
        Content::Blob { id, salt } => (Some(id.as_str()), salt.as_deref(), Value::Null),
        Content::Parts(parts) => {
            let stored: Vec<StoredPartRef> = parts
                .iter()
                .map(|p| StoredPartRef {
                    blob_id: p.blob_id.clone(),
                    size: p.size,
                    md5: p.md5.clone(),
                    salt: p.salt.clone(),
                    checksums: p.checksums.clone(),
                })
                .collect();
            (None, None, Value::doc(&stored)?)
        }
    };
    Ok(vec![
        Value::text(&v.file_id),
        Value::text(&v.bucket_id),
        Value::text(&v.name),
        Value::text(v.action.as_str()),
        Value::Int(v.size as i64),
        Value::Int(v.upload_timestamp),
        Value::opt_text(v.sha1.as_deref()),
        Value::opt_text(v.md5.as_deref()),
        Value::text(&v.content_type),
        Value::doc(&v.info)?,
        Value::text(encryption),
        Value::opt_text(sse_c_key_md5),
        Value::opt_text(v.retention.map(|r| r.mode.as_str())),
        Value::opt_int(v.retention.map(|r| r.retain_until)),
        v.legal_hold.map_or(Value::Null, Value::Bool),
        Value::opt_text(blob_id),
        Value::opt_text(blob_salt),
        large_parts,
        Value::doc(&v.tags)?,
        Value::doc(&v.checksums)?,
        Value::Bool(v.null_version),
        Value::doc(&v.grants)?,
        Value::opt_text(kms_key_id),
        Value::opt_text(v.checksum_algorithm.map(ChecksumAlgorithm::name)),
        Value::Bool(v.checksum_full_object),
    ])
}

pub(crate) fn version_from(row: &impl Columns) -> Result<FileVersion> {
    let mut r = Reader::new(row, &VERSIONS);
    let (file_id, bucket_id, name) = (r.text()?, r.text()?, r.text()?);
    let action = r.text()?;
    let action = Action::parse(&action).ok_or_else(|| corrupt("versions", format!("{file_id}: action {action:?}")))?;
    let (size, upload_timestamp) = (r.int()? as u64, r.int()?);
    let (sha1, md5, content_type, info) = (r.opt_text()?, r.opt_text()?, r.text()?, r.doc()?);
    // The SSE-KMS key id is the last column: the encryption is settled once it is read.
    let (encryption_kind, sse_c_key_md5) = (r.text()?, r.opt_text()?);
    let retention = match (r.opt_text()?, r.opt_int()?) {
        (None, None) => None,
        (Some(mode), Some(retain_until)) => Some(Retention {
            mode: RetentionMode::parse(&mode).ok_or_else(|| corrupt("versions", format!("{file_id}: retention mode {mode:?}")))?,
            retain_until,
        }),
        _ => return Err(corrupt("versions", format!("{file_id}: a retention with one of its two fields"))),
    };
    let legal_hold = r.opt_bool()?;
    let content = match (r.opt_text()?, r.opt_text()?, r.opt_doc::<Vec<StoredPartRef>>()?) {
        (None, None, None) => Content::Empty,
        (Some(id), salt, None) => Content::Blob { id, salt },
        (None, None, Some(parts)) => Content::Parts(
            parts
                .into_iter()
                .map(|p| PartRef { blob_id: p.blob_id, size: p.size, md5: p.md5, salt: p.salt, checksums: p.checksums })
                .collect(),
        ),
        _ => return Err(corrupt("versions", format!("{file_id}: both a blob and parts"))),
    };
    let version = FileVersion {
        file_id,
        bucket_id,
        name,
        action,
        size,
        sha1,
        md5,
        content_type,
        info,
        upload_timestamp,
        encryption: Encryption::None,
        retention,
        legal_hold,
        content,
        tags: r.doc()?,
        checksums: r.doc()?,
        null_version: r.opt_bool()?.unwrap_or(false),
        grants: r.doc()?,
        checksum_algorithm: None,
        checksum_full_object: false,
    };
    let encryption = match (encryption_kind.as_str(), sse_c_key_md5, r.opt_text()?) {
        ("none", None, None) => Encryption::None,
        ("sse-b2", None, None) => Encryption::SseB2,
        ("sse-c", Some(key_md5), None) => Encryption::SseC { key_md5 },
        ("sse-kms", None, Some(key_id)) => Encryption::SseKms { key_id },
        (kind, ..) => return Err(corrupt("versions", format!("{}: encryption {kind:?}", version.file_id))),
    };
    let checksum_algorithm = match r.opt_text()? {
        None => None,
        Some(name) => Some(ChecksumAlgorithm::parse(&name).ok_or_else(|| Error::internal(format!("stored checksum algorithm {name}")))?),
    };
    let checksum_full_object = r.opt_bool()?.unwrap_or(false);
    r.done(FileVersion { encryption, checksum_algorithm, checksum_full_object, ..version })
}

// --- parts of unfinished large files ---

pub(crate) fn part_values(p: &Part) -> Result<Vec<Value<'_>>> {
    Ok(vec![
        Value::text(&p.file_id),
        Value::Int(i64::from(p.part_number)),
        Value::text(&p.blob_id),
        Value::Int(p.size as i64),
        Value::text(&p.sha1),
        Value::text(&p.md5),
        Value::Int(p.upload_timestamp),
        Value::opt_text(p.salt.as_deref()),
        Value::doc(&p.checksums)?,
    ])
}

pub(crate) fn part_from(row: &impl Columns) -> Result<Part> {
    let mut r = Reader::new(row, &PARTS);
    let file_id = r.text()?;
    let part_number = r.int()?;
    let part = Part {
        part_number: u32::try_from(part_number).map_err(|_| corrupt("parts", format!("{file_id}: part number {part_number}")))?,
        file_id,
        blob_id: r.text()?,
        size: r.int()? as u64,
        sha1: r.text()?,
        md5: r.text()?,
        upload_timestamp: r.int()?,
        salt: r.opt_text()?,
        checksums: r.doc()?,
    };
    r.done(part)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use stowage_core::lifecycle;
    use stowage_core::model::{
        AclPermission, BucketAccess, CorsRule, Grant, Grantee, LifecycleRule, NotificationHeader, NotificationRule, NotificationTarget,
        ObjectOwnership, PublicAccessBlock,
    };

    /// A row read back from values, the way a database hands them over.
    struct Row(Vec<Value<'static>>);

    impl Columns for Row {
        fn opt_text(&self, i: usize) -> Result<Option<String>> {
            match &self.0[i] {
                Value::Null => Ok(None),
                Value::Text(s) => Ok(Some(s.to_string())),
                other => Err(Error::internal(format!("not text: {other:?}"))),
            }
        }
        fn opt_int(&self, i: usize) -> Result<Option<i64>> {
            match &self.0[i] {
                Value::Null => Ok(None),
                Value::Int(n) => Ok(Some(*n)),
                other => Err(Error::internal(format!("not an integer: {other:?}"))),
            }
        }
        fn opt_bool(&self, i: usize) -> Result<Option<bool>> {
            match &self.0[i] {
                Value::Null => Ok(None),
                Value::Bool(b) => Ok(Some(*b)),
                other => Err(Error::internal(format!("not a boolean: {other:?}"))),
            }
        }
        fn opt_doc<T: DeserializeOwned>(&self, i: usize) -> Result<Option<T>> {
            self.opt_text(i)?.map(|s| serde_json::from_str(&s).map_err(Error::internal)).transpose()
        }
    }

    fn owned(values: Vec<Value<'_>>) -> Row {
        Row(values
            .into_iter()
            .map(|v| match v {
                Value::Text(s) => Value::Text(Cow::Owned(s.into_owned())),
                Value::Bytes(b) => Value::Bytes(Cow::Owned(b.into_owned())),
                Value::Null => Value::Null,
                Value::Int(n) => Value::Int(n),
                Value::Bool(b) => Value::Bool(b),
            })
            .collect())
    }

    /// A key with every optional field set.
    pub(crate) fn full_key() -> AppKey {
        AppKey {
            key_id: "0001abc".into(),
            secret: "K001secret".into(),
            name: "every-field".into(),
            capabilities: vec![stowage_core::auth::Capability::ListFiles, stowage_core::auth::Capability::ReadFiles],
            bucket_ids: Some(vec!["b1".into(), "b2".into()]),
            name_prefix: Some("photos/".into()),
            expires: Some(1_900_000_000_000),
            created: 1_700_000_000_000,
        }
    }

    /// A bucket with every optional field and rule set.
    pub(crate) fn full_bucket(id: &str, name: &str) -> Bucket {
        let mut info = serde_json::Map::new();
        info.insert("owner".into(), serde_json::Value::String("ops".into()));
        Bucket {
            id: id.into(),
            name: name.into(),
            bucket_type: BucketType::AllPublic,
            info,
            cors_rules: vec![CorsRule {
                cors_rule_name: "uploads".into(),
                allowed_origins: vec!["https://example.com".into()],
                allowed_operations: vec!["b2_upload_file".into()],
                allowed_headers: Some(vec!["authorization".into()]),
                expose_headers: None,
                max_age_seconds: 3600,
            }],
            lifecycle_rules: vec![LifecycleRule {
                file_name_prefix: "logs/".into(),
                days_from_uploading_to_hiding: Some(7),
                days_from_hiding_to_deleting: Some(1),
                days_from_starting_to_canceling_unfinished_large_files: None,
            }],
            default_encryption: Encryption::SseB2,
            file_lock_enabled: true,
            default_retention: Some(DefaultRetention {
                mode: RetentionMode::Governance,
                period: RetentionPeriod { duration: 2, unit: PeriodUnit::Years },
            }),
            notification_rules: vec![NotificationRule {
                name: "hook".into(),
                event_types: vec!["b2:ObjectCreated:*".into()],
                is_enabled: true,
                object_name_prefix: "in/".into(),
                target_configuration: NotificationTarget {
                    target_type: "webhook".into(),
                    url: "https://example.com/hook".into(),
                    custom_headers: Some(vec![NotificationHeader { name: "X-A".into(), value: "1".into() }]),
                    hmac_sha256_signing_secret: Some("s".repeat(32)),
                },
                max_events_per_batch: Some(10),
                is_suspended: true,
                suspension_reason: "the webhook kept failing".into(),
            }],
            s3_lifecycle: vec![lifecycle::Rule {
                id: "logs".into(),
                enabled: true,
                filter: lifecycle::Filter {
                    prefix: "logs/".into(),
                    tags: [("class".to_string(), "debug".to_string())].into(),
                    size_greater_than: Some(1),
                    size_less_than: Some(1000),
                    shape: lifecycle::FilterShape::And,
                },
                expiration_days: None,
                expiration_date: Some(1_700_006_400_000),
                expired_object_delete_marker: false,
                noncurrent_days: Some(1),
                newer_noncurrent_versions: Some(2),
                abort_incomplete_days: None,
            }],
            tags: [("team".to_string(), "storage".to_string())].into(),
            versioning: Versioning::Suspended,
            access: BucketAccess {
                policy: Some(r#"{"Statement":[]}"#.into()),
                public_access_block: Some(PublicAccessBlock {
                    block_public_acls: true,
                    restrict_public_buckets: true,
                    ..Default::default()
                }),
                object_ownership: Some(ObjectOwnership::BucketOwnerPreferred),
                grants: vec![
                    Grant { grantee: Grantee::AllUsers, permission: AclPermission::Write },
                    Grant { grantee: Grantee::CanonicalUser("user-1".into()), permission: AclPermission::ReadAcp },
                ],
            },
            revision: 4,
            created: 1_700_000_000_000,
        }
    }

    /// A finished large file with every optional field set (sealed parts, checksums, SSE-C, retention).
    pub(crate) fn full_version(bucket_id: &str, file_id: &str) -> FileVersion {
        FileVersion {
            file_id: file_id.into(),
            bucket_id: bucket_id.into(),
            name: "every/field.bin".into(),
            action: Action::Upload,
            size: 30,
            sha1: Some("none".into()),
            md5: None,
            content_type: "application/octet-stream".into(),
            info: [("src_last_modified_millis".to_string(), "1".to_string())].into(),
            upload_timestamp: 1_700_000_000_123,
            encryption: Encryption::SseC { key_md5: "a2V5bWQ1".into() },
            retention: Some(Retention { mode: RetentionMode::Compliance, retain_until: 1_800_000_000_000 }),
            legal_hold: Some(false),
            content: Content::Parts(vec![
                PartRef {
                    blob_id: "blob-1".into(),
                    size: 20,
                    md5: "00ff".into(),
                    salt: Some("salt1".into()),
                    checksums: [(ChecksumAlgorithm::Crc32, "AAAAAA==".to_string())].into(),
                },
                PartRef { blob_id: "blob-2".into(), size: 10, md5: "ff00".into(), salt: None, checksums: BTreeMap::new() },
            ]),
            tags: [("k".to_string(), "v".to_string())].into(),
            checksums: [(ChecksumAlgorithm::Sha256, "abc=".to_string())].into(),
            null_version: true,
            grants: vec![Grant { grantee: Grantee::Email("a@example.com".into()), permission: AclPermission::FullControl }],
            checksum_algorithm: Some(ChecksumAlgorithm::Crc32c),
            checksum_full_object: true,
        }
    }

    pub(crate) fn full_part(file_id: &str) -> Part {
        Part {
            file_id: file_id.into(),
            part_number: 10_000,
            size: 5,
            sha1: "sha".into(),
            md5: "md5".into(),
            blob_id: "blob-p".into(),
            upload_timestamp: 9,
            salt: Some("salt".into()),
            checksums: [(ChecksumAlgorithm::Crc32c, "x==".to_string())].into(),
        }
    }

    #[test]
    fn every_field_round_trips_through_its_columns() {
        let key = full_key();
        assert_eq!(key_from(&owned(key_values(&key).unwrap())).unwrap(), key);
        let bare_key = AppKey { bucket_ids: None, name_prefix: None, expires: None, ..key };
        assert_eq!(key_from(&owned(key_values(&bare_key).unwrap())).unwrap(), bare_key);

        let bucket = full_bucket("b1", "Mixed-Case");
        assert_eq!(bucket_from(&owned(bucket_values(&bucket).unwrap())).unwrap(), bucket);
        let bare = crate::conformance::bucket("b2", "bare");
        assert_eq!(bucket_from(&owned(bucket_values(&bare).unwrap())).unwrap(), bare);

        let version = full_version("b1", "f1");
        assert_eq!(version_from(&owned(version_values(&version).unwrap())).unwrap(), version);
        for content in [Content::Empty, Content::Blob { id: "x".into(), salt: Some("s".into()) }, Content::Parts(vec![])] {
            let v = FileVersion { content, encryption: Encryption::SseB2, retention: None, legal_hold: None, ..version.clone() };
            assert_eq!(version_from(&owned(version_values(&v).unwrap())).unwrap(), v);
        }

        let part = full_part("f1");
        assert_eq!(part_from(&owned(part_values(&part).unwrap())).unwrap(), part);
    }

    #[test]
    fn values_line_up_with_the_tables_columns() {
        assert_eq!(key_values(&full_key()).unwrap().len(), KEYS.columns.len());
        assert_eq!(bucket_values(&full_bucket("b", "b")).unwrap().len(), BUCKETS.columns.len());
        assert_eq!(version_values(&full_version("b", "f")).unwrap().len(), VERSIONS.columns.len());
        assert_eq!(part_values(&full_part("f")).unwrap().len(), PARTS.columns.len());
        assert_eq!(
            PARTS.update('$'),
            "UPDATE parts SET (part_number, blob_id, size, sha1, md5, upload_ts, salt, checksums) = ($2, $3, $4, $5, $6, $7, $8, $9) WHERE file_id = $1"
        );
    }

    /// The documents inside columns are stored data: renaming a core field must not change them. If this
    /// fails, keep the stored names (a stored shape here, or serde renames) or write a migration.
    #[test]
    fn stored_documents_keep_their_shape() {
        let docs = |values: Vec<Value<'_>>, table: &Table| -> Vec<String> {
            values
                .into_iter()
                .zip(table.columns)
                .filter(|(_, (_, ty))| *ty == "json")
                .map(|(v, (name, _))| match v {
                    Value::Text(s) => format!("{name}={s}"),
                    other => format!("{name}={other:?}"),
                })
                .collect()
        };
        assert_eq!(
            docs(key_values(&full_key()).unwrap(), &KEYS),
            [r#"capabilities=["listFiles","readFiles"]"#, r#"bucket_ids=["b1","b2"]"#]
        );
        assert_eq!(
            docs(bucket_values(&full_bucket("b", "b")).unwrap(), &BUCKETS),
            [
                r#"bucket_info={"owner":"ops"}"#,
                r#"cors_rules=[{"corsRuleName":"uploads","allowedOrigins":["https://example.com"],"allowedOperations":["b2_upload_file"],"allowedHeaders":["authorization"],"exposeHeaders":null,"maxAgeSeconds":3600}]"#,
                r#"lifecycle_rules=[{"fileNamePrefix":"logs/","daysFromUploadingToHiding":7,"daysFromHidingToDeleting":1,"daysFromStartingToCancelingUnfinishedLargeFiles":null}]"#,
                r#"notification_rules=[{"name":"hook","eventTypes":["b2:ObjectCreated:*"],"isEnabled":true,"objectNamePrefix":"in/","targetConfiguration":{"targetType":"webhook","url":"https://example.com/hook","customHeaders":[{"name":"X-A","value":"1"}],"hmacSha256SigningSecret":"ssssssssssssssssssssssssssssssss"},"maxEventsPerBatch":10,"isSuspended":true,"suspensionReason":"the webhook kept failing"}]"#,
                r#"tags={"team":"storage"}"#,
                r#"access={"policy":"{\"Statement\":[]}","publicAccessBlock":{"blockPublicAcls":true,"ignorePublicAcls":false,"blockPublicPolicy":false,"restrictPublicBuckets":true},"objectOwnership":"BucketOwnerPreferred","grants":[{"grantee":{"type":"allUsers"},"permission":"write"},{"grantee":{"type":"canonicalUser","id":"user-1"},"permission":"readAcp"}]}"#,
                r#"s3_lifecycle=[{"id":"logs","enabled":true,"filter":{"prefix":"logs/","tags":{"class":"debug"},"sizeGreaterThan":1,"sizeLessThan":1000,"shape":"and"},"expirationDays":null,"expirationDate":1700006400000,"expiredObjectDeleteMarker":false,"noncurrentDays":1,"newerNoncurrentVersions":2,"abortIncompleteDays":null}]"#,
            ]
        );
        assert_eq!(
            docs(version_values(&full_version("b", "f")).unwrap(), &VERSIONS),
            [
                r#"file_info={"src_last_modified_millis":"1"}"#,
                r#"large_parts=[{"blob_id":"blob-1","size":20,"md5":"00ff","salt":"salt1","checksums":{"crc32":"AAAAAA=="}},{"blob_id":"blob-2","size":10,"md5":"ff00","salt":null}]"#,
                r#"tags={"k":"v"}"#,
                r#"checksums={"sha256":"abc="}"#,
                r#"grants=[{"grantee":{"type":"email","id":"a@example.com"},"permission":"fullControl"}]"#,
            ]
        );
        assert_eq!(docs(part_values(&full_part("f")).unwrap(), &PARTS), [r#"checksums={"crc32c":"x=="}"#]);
    }

    /// Rows as the schema before explicit columns held them (JSON bodies in the serde form of the core types
    /// of that time, older rows lacking fields added later), for the migration tests of both stores.
    pub(crate) const LEGACY_ROWS: &str = r#"
INSERT INTO app_keys (key_id, body) VALUES ('0001abc', '{"key_id":"0001abc","secret":"K001secret","name":"every-field","capabilities":["listFiles","readFiles"],"bucket_ids":["b1","b2"],"name_prefix":"photos/","expires":1900000000000,"created":1700000000000}');
INSERT INTO app_keys (key_id, body) VALUES ('0002abc', '{"key_id":"0002abc","secret":"K002","name":"bare","capabilities":["listBuckets"],"bucket_ids":null,"name_prefix":null,"expires":null,"created":5}');
INSERT INTO buckets (bucket_id, name_lower, revision, body) VALUES ('b1', 'mixed-case', 4, '{"id":"b1","name":"Mixed-Case","bucket_type":"allPublic","info":{"owner":"ops"},"cors_rules":[{"corsRuleName":"uploads","allowedOrigins":["https://example.com"],"allowedOperations":["b2_upload_file"],"allowedHeaders":["authorization"],"exposeHeaders":null,"maxAgeSeconds":3600}],"lifecycle_rules":[{"fileNamePrefix":"logs/","daysFromUploadingToHiding":7,"daysFromHidingToDeleting":1,"daysFromStartingToCancelingUnfinishedLargeFiles":null}],"default_encryption":"SseB2","file_lock_enabled":true,"default_retention":{"mode":"governance","period":{"duration":2,"unit":"years"}},"notification_rules":[{"name":"hook","eventTypes":["b2:ObjectCreated:*"],"isEnabled":true,"objectNamePrefix":"in/","targetConfiguration":{"targetType":"webhook","url":"https://example.com/hook","customHeaders":[{"name":"X-A","value":"1"}],"hmacSha256SigningSecret":"ssssssssssssssssssssssssssssssss"},"maxEventsPerBatch":10}],"tags":{"team":"storage"},"revision":4,"created":1700000000000}');
INSERT INTO buckets (bucket_id, name_lower, revision, body) VALUES ('b2', 'bare', 1, '{"id":"b2","name":"bare","bucket_type":"allPrivate","info":{},"cors_rules":[],"lifecycle_rules":[],"default_encryption":"None","file_lock_enabled":false,"default_retention":null,"revision":1,"created":0}');
INSERT INTO versions (file_id, bucket_id, name, action, size, upload_ts, body) VALUES ('f1', 'b1', 'every/field.bin', 'upload', 30, 1700000000123, '{"file_id":"f1","bucket_id":"b1","name":"every/field.bin","action":"Upload","size":30,"sha1":"none","md5":null,"content_type":"application/octet-stream","info":{"src_last_modified_millis":"1"},"upload_timestamp":1700000000123,"encryption":{"SseC":{"key_md5":"a2V5bWQ1"}},"retention":{"mode":"compliance","retain_until":1800000000000},"legal_hold":false,"content":{"Parts":[{"blob_id":"blob-1","size":20,"md5":"00ff","salt":"salt1","checksums":{"crc32":"AAAAAA=="}},{"blob_id":"blob-2","size":10,"md5":"ff00","salt":null}]},"tags":{"k":"v"},"checksums":{"sha256":"abc="}}');
INSERT INTO versions (file_id, bucket_id, name, action, size, upload_ts, body) VALUES ('f2', 'b1', 'every/field.bin', 'upload', 30, 1700000000123, '{"file_id":"f2","bucket_id":"b1","name":"every/field.bin","action":"Upload","size":30,"sha1":"none","md5":null,"content_type":"application/octet-stream","info":{"src_last_modified_millis":"1"},"upload_timestamp":1700000000123,"encryption":"SseB2","retention":null,"legal_hold":true,"content":{"Blob":{"id":"blob-s","salt":"salty"}}}');
INSERT INTO versions (file_id, bucket_id, name, action, size, upload_ts, body) VALUES ('f3', 'b1', 'every/field.bin', 'start', 30, 1700000000123, '{"file_id":"f3","bucket_id":"b1","name":"every/field.bin","action":"Start","size":30,"sha1":"none","md5":null,"content_type":"application/octet-stream","info":{"src_last_modified_millis":"1"},"upload_timestamp":1700000000123,"encryption":"None","retention":null,"legal_hold":null,"content":"Empty","tags":{"k":"v"},"checksums":{"sha256":"abc="}}');
INSERT INTO parts (file_id, part_number, blob_id, body) VALUES ('f3', 10000, 'blob-p', '{"file_id":"f3","part_number":10000,"size":5,"sha1":"sha","md5":"md5","blob_id":"blob-p","upload_timestamp":9,"salt":"salt","checksums":{"crc32c":"x=="}}');
"#;

    /// What a store migrated from `LEGACY_ROWS` must read back, field for field.
    pub(crate) async fn check_legacy_rows(store: &dyn stowage_core::store::MetadataStore) {
        assert_eq!(store.get_key("0001abc").await.unwrap(), Some(full_key()));
        let bare_key = AppKey {
            key_id: "0002abc".into(),
            secret: "K002".into(),
            name: "bare".into(),
            capabilities: vec![stowage_core::auth::Capability::ListBuckets],
            bucket_ids: None,
            name_prefix: None,
            expires: None,
            created: 5,
        };
        assert_eq!(store.get_key("0002abc").await.unwrap(), Some(bare_key));
        // Rows from before versioning states and S3 access settings: every version kept, no S3 access settings.
        // ... and from before suspended notification rules: none suspended.
        let full = full_bucket("b1", "Mixed-Case");
        let rules =
            full.notification_rules.iter().map(|r| NotificationRule { is_suspended: false, suspension_reason: String::new(), ..r.clone() });
        let bucket = Bucket {
            versioning: Versioning::Enabled,
            access: BucketAccess::default(),
            s3_lifecycle: Vec::new(),
            notification_rules: rules.collect(),
            ..full
        };
        assert_eq!(store.get_bucket("b1").await.unwrap(), Some(bucket));
        assert_eq!(store.get_bucket_by_name("BARE").await.unwrap(), Some(crate::conformance::bucket("b2", "bare")));
        let full_version = |bucket_id: &str, file_id: &str| FileVersion {
            null_version: false,
            grants: Vec::new(),
            checksum_algorithm: None,
            checksum_full_object: false,
            ..full_version(bucket_id, file_id)
        };
        assert_eq!(store.get_version("f1").await.unwrap(), Some(full_version("b1", "f1")));
        let sealed = FileVersion {
            content: Content::Blob { id: "blob-s".into(), salt: Some("salty".into()) },
            encryption: Encryption::SseB2,
            retention: None,
            legal_hold: Some(true),
            tags: BTreeMap::new(),
            checksums: BTreeMap::new(),
            ..full_version("b1", "f2")
        };
        assert_eq!(store.get_version("f2").await.unwrap(), Some(sealed));
        let started = FileVersion {
            action: Action::Start,
            content: Content::Empty,
            encryption: Encryption::None,
            retention: None,
            legal_hold: None,
            ..full_version("b1", "f3")
        };
        assert_eq!(store.get_version("f3").await.unwrap(), Some(started));
        assert_eq!(store.list_parts("f3", 1, 10).await.unwrap(), vec![full_part("f3")]);
        // The migrated rows stay usable: the large file finishes and its blobs are tracked.
        let finished = store
            .finish_large_file(
                "f3",
                Box::new(|mut v: FileVersion, parts: Vec<Part>| {
                    v.action = Action::Upload;
                    v.content = Content::Parts(parts.iter().map(Part::as_part_ref).collect());
                    Ok(v)
                }),
                None,
            )
            .await
            .unwrap();
        assert_eq!(store.get_version("f3").await.unwrap(), Some(finished));
        assert!(store.blob_referenced("blob-p").await.unwrap());
    }
}
