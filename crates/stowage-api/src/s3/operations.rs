//! Every S3 operation Stowage serves, in one table: the bucket-policy action it is, the B2 capabilities a
//! key needs for it, and what it addresses. `context.rs` resolves each request against its entry before
//! any handler runs (s3s's access hook for requests it routes, `form_upload.rs` for browser forms), so no
//! handler names an action or decides access itself. An operation s3s routes that is not here is refused.

use stowage_core::auth::Capability::{self, *};

/// What an operation is about, which decides the name scope a key's prefix restriction is checked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// No bucket, or a bucket not made yet (ListBuckets, CreateBucket).
    Account,
    /// The bucket itself or its contents as a whole (listings, DeleteObjects).
    Bucket,
    /// One of the bucket's settings (CORS, encryption, object lock, ...).
    BucketSetting,
    /// One object (key), or a version of it.
    Object,
}

/// The capabilities a key needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Every one of them.
    All(&'static [Capability]),
    /// Any one of them.
    Any(&'static [Capability]),
}

impl Needs {
    pub fn capabilities(self) -> &'static [Capability] {
        match self {
            Needs::All(c) | Needs::Any(c) => c,
        }
    }
}

/// Something an operation does besides its own entry, checked under another entry's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Also {
    Nothing,
    /// Reads the object `x-amz-copy-source` names (CopyObject, UploadPartCopy).
    ReadsCopySource(&'static Operation),
    /// Acts on each key its body lists (DeleteObjects).
    EachKey(&'static Operation),
    /// Reads the addressed object as that operation does too, so a policy must allow both actions
    /// (GetObjectAttributes needs GetObject's as well, as on AWS).
    ReadsAs(&'static Operation),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Operation {
    /// s3s's name of the operation (`S3Operation::name`).
    pub name: &'static str,
    /// The bucket-policy action.
    pub action: &'static str,
    /// The action when the request names a version (`versionId`), where S3 has a separate one.
    pub version_action: Option<&'static str>,
    pub needs: Needs,
    pub target: Target,
    /// Whether an unsigned request may go on to the core without any grant (public reads; object ACLs).
    pub anonymous: bool,
    pub also: Also,
}

impl Operation {
    /// The policy action of a request for this operation.
    pub fn action(&self, names_version: bool) -> &'static str {
        match self.version_action {
            Some(action) if names_version => action,
            _ => self.action,
        }
    }
}

const fn op(name: &'static str, action: &'static str, needs: Needs, target: Target) -> Operation {
    Operation { name, action, version_action: None, needs, target, anonymous: false, also: Also::Nothing }
}

const fn versioned(name: &'static str, action: &'static str, version_action: &'static str, needs: Needs) -> Operation {
    Operation { name, action, version_action: Some(version_action), needs, target: Target::Object, anonymous: false, also: Also::Nothing }
}

use Needs::{All, Any};
use Target::{Account, Bucket, BucketSetting, Object};

pub const GET_OBJECT: Operation =
    Operation { anonymous: true, ..versioned("GetObject", "s3:GetObject", "s3:GetObjectVersion", All(&[ReadFiles])) };
pub const DELETE_OBJECT: Operation = versioned("DeleteObject", "s3:DeleteObject", "s3:DeleteObjectVersion", All(&[DeleteFiles]));
/// Browser form uploads: through `form_upload.rs`, or through s3s when the form's URL has a query.
pub const POST_OBJECT: Operation = op("PostObject", "s3:PutObject", All(&[WriteFiles]), Object);

/// The table. Capabilities follow B2's documentation of its S3-compatible API: bucket metadata reads
/// (ACLs, location, versioning, tags, CORS, policies) need `readBuckets`; default encryption, object lock
/// and lifecycle have capabilities of their own on both APIs.
pub static OPERATIONS: &[&Operation] = &[
    // The account.
    &op("ListBuckets", "s3:ListAllMyBuckets", Any(&[ListBuckets, ListAllBucketNames]), Account),
    &op("CreateBucket", "s3:CreateBucket", All(&[WriteBuckets]), Account),
    // Buckets.
    &Operation { anonymous: true, ..op("HeadBucket", "s3:ListBucket", Any(&[ListBuckets, ListFiles]), Bucket) },
    &op("DeleteBucket", "s3:DeleteBucket", All(&[DeleteBuckets]), Bucket),
    &op("ListObjects", "s3:ListBucket", All(&[ListFiles]), Bucket),
    &op("ListObjectsV2", "s3:ListBucket", All(&[ListFiles]), Bucket),
    &op("ListObjectVersions", "s3:ListBucketVersions", All(&[ListFiles]), Bucket),
    &op("ListMultipartUploads", "s3:ListBucketMultipartUploads", All(&[ListFiles]), Bucket),
    &Operation { also: Also::EachKey(&DELETE_OBJECT), ..op("DeleteObjects", "s3:DeleteObject", All(&[DeleteFiles]), Bucket) },
    // Bucket settings.
    &op("GetBucketLocation", "s3:GetBucketLocation", All(&[ReadBuckets]), BucketSetting),
    &op("GetBucketVersioning", "s3:GetBucketVersioning", All(&[ReadBuckets]), BucketSetting),
    &op("PutBucketVersioning", "s3:PutBucketVersioning", All(&[WriteBuckets]), BucketSetting),
    &op("GetBucketAcl", "s3:GetBucketAcl", All(&[ReadBuckets]), BucketSetting),
    &op("PutBucketAcl", "s3:PutBucketAcl", All(&[WriteBuckets]), BucketSetting),
    &op("GetBucketPolicy", "s3:GetBucketPolicy", All(&[ReadBuckets]), BucketSetting),
    &op("PutBucketPolicy", "s3:PutBucketPolicy", All(&[WriteBuckets]), BucketSetting),
    &op("DeleteBucketPolicy", "s3:DeleteBucketPolicy", All(&[WriteBuckets]), BucketSetting),
    &op("GetBucketPolicyStatus", "s3:GetBucketPolicyStatus", All(&[ReadBuckets]), BucketSetting),
    &op("GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock", All(&[ReadBuckets]), BucketSetting),
    &op("PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock", All(&[WriteBuckets]), BucketSetting),
    &op("DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock", All(&[WriteBuckets]), BucketSetting),
    &op("GetBucketOwnershipControls", "s3:GetBucketOwnershipControls", All(&[ReadBuckets]), BucketSetting),
    &op("PutBucketOwnershipControls", "s3:PutBucketOwnershipControls", All(&[WriteBuckets]), BucketSetting),
    &op("DeleteBucketOwnershipControls", "s3:PutBucketOwnershipControls", All(&[WriteBuckets]), BucketSetting),
    &op("GetBucketCors", "s3:GetBucketCORS", All(&[ReadBuckets]), BucketSetting),
    &op("PutBucketCors", "s3:PutBucketCORS", All(&[WriteBuckets]), BucketSetting),
    &op("DeleteBucketCors", "s3:PutBucketCORS", All(&[WriteBuckets]), BucketSetting),
    &op("GetBucketTagging", "s3:GetBucketTagging", All(&[ReadBuckets]), BucketSetting),
    &op("PutBucketTagging", "s3:PutBucketTagging", All(&[WriteBuckets]), BucketSetting),
    &op("DeleteBucketTagging", "s3:PutBucketTagging", All(&[WriteBuckets]), BucketSetting),
    &op("GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration", All(&[ReadBucketLifecycleRules]), BucketSetting),
    &op("PutBucketLifecycleConfiguration", "s3:PutLifecycleConfiguration", All(&[WriteBuckets, WriteBucketLifecycleRules]), BucketSetting),
    &op("DeleteBucketLifecycle", "s3:PutLifecycleConfiguration", All(&[WriteBuckets, WriteBucketLifecycleRules]), BucketSetting),
    &op("GetBucketEncryption", "s3:GetEncryptionConfiguration", All(&[ReadBucketEncryption]), BucketSetting),
    &op("PutBucketEncryption", "s3:PutEncryptionConfiguration", All(&[WriteBuckets, WriteBucketEncryption]), BucketSetting),
    &op("DeleteBucketEncryption", "s3:PutEncryptionConfiguration", All(&[WriteBuckets, WriteBucketEncryption]), BucketSetting),
    &op("GetObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration", All(&[ReadBucketRetentions]), BucketSetting),
    &op("PutObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration", All(&[WriteBuckets, WriteBucketRetentions]), BucketSetting),
    // Objects.
    &GET_OBJECT,
    &Operation { name: "HeadObject", ..GET_OBJECT },
    &Operation {
        also: Also::ReadsAs(&GET_OBJECT),
        ..versioned("GetObjectAttributes", "s3:GetObjectAttributes", "s3:GetObjectVersionAttributes", All(&[ReadFiles]))
    },
    &op("PutObject", "s3:PutObject", All(&[WriteFiles]), Object),
    &POST_OBJECT,
    &DELETE_OBJECT,
    &Operation { also: Also::ReadsCopySource(&GET_OBJECT), ..op("CopyObject", "s3:PutObject", All(&[WriteFiles]), Object) },
    &versioned("GetObjectAcl", "s3:GetObjectAcl", "s3:GetObjectVersionAcl", All(&[ReadFiles])),
    &versioned("PutObjectAcl", "s3:PutObjectAcl", "s3:PutObjectVersionAcl", All(&[WriteFiles])),
    &versioned("GetObjectTagging", "s3:GetObjectTagging", "s3:GetObjectVersionTagging", All(&[ReadFiles])),
    &versioned("PutObjectTagging", "s3:PutObjectTagging", "s3:PutObjectVersionTagging", All(&[WriteFiles])),
    &versioned("DeleteObjectTagging", "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging", All(&[WriteFiles])),
    &op("GetObjectRetention", "s3:GetObjectRetention", All(&[ReadFiles, ReadFileRetentions]), Object),
    &op("PutObjectRetention", "s3:PutObjectRetention", All(&[WriteFileRetentions]), Object),
    &op("GetObjectLegalHold", "s3:GetObjectLegalHold", All(&[ReadFiles, ReadFileLegalHolds]), Object),
    &op("PutObjectLegalHold", "s3:PutObjectLegalHold", All(&[WriteFileLegalHolds]), Object),
    // Multipart uploads.
    &op("CreateMultipartUpload", "s3:PutObject", All(&[WriteFiles]), Object),
    &op("UploadPart", "s3:PutObject", All(&[WriteFiles]), Object),
    &Operation { also: Also::ReadsCopySource(&GET_OBJECT), ..op("UploadPartCopy", "s3:PutObject", All(&[WriteFiles]), Object) },
    &op("CompleteMultipartUpload", "s3:PutObject", All(&[WriteFiles]), Object),
    &op("AbortMultipartUpload", "s3:AbortMultipartUpload", All(&[WriteFiles]), Object),
    &op("ListParts", "s3:ListMultipartUploadParts", All(&[WriteFiles]), Object),
];

/// The table as JSON, for tests written against it from outside (`/_test/s3-operations`).
pub fn to_json() -> serde_json::Value {
    let names = |c: &[Capability]| c.iter().map(|c| c.as_str()).collect::<Vec<_>>();
    let entries = OPERATIONS.iter().map(|op| {
        let needed = names(op.needs.capabilities());
        let (all, any) = if matches!(op.needs, Needs::All(_)) { (needed, Vec::new()) } else { (Vec::new(), needed) };
        let also = match op.also {
            Also::Nothing => serde_json::Value::Null,
            Also::ReadsCopySource(source) => serde_json::json!({"copySource": source.name}),
            Also::EachKey(each) => serde_json::json!({"eachKey": each.name}),
            Also::ReadsAs(other) => serde_json::json!({"readsAs": other.name}),
        };
        serde_json::json!({
            "name": op.name,
            "action": op.action,
            "versionAction": op.version_action,
            "needsAll": all,
            "needsAny": any,
            "target": format!("{:?}", op.target),
            "anonymous": op.anonymous,
            "also": also,
        })
    });
    serde_json::Value::Array(entries.collect())
}

/// The table's entry for an operation s3s names.
pub fn find(name: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().copied().find(|op| op.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Every method of `impl S3` has an entry and every entry a method: a new operation without one fails
    /// here, and one without an entry would be refused at run time.
    #[test]
    fn every_served_operation_has_exactly_one_entry() {
        let served: BTreeSet<&str> = super::super::adapter::SERVED.iter().copied().collect();
        let names: Vec<&str> = OPERATIONS.iter().map(|op| op.name).collect();
        let table: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(names.len(), table.len(), "an operation is in the table twice");
        // PostObject is served by PutObject's method (s3s) and by form_upload.rs.
        let mut expected = served.clone();
        expected.insert("PostObject");
        assert_eq!(table, expected, "the table and `impl S3` name different operations");
    }

    #[test]
    fn entries_are_complete_and_consistent() {
        for op in OPERATIONS {
            assert!(op.action.starts_with("s3:"), "{}: {}", op.name, op.action);
            assert!(op.version_action.is_none_or(|a| a.starts_with("s3:") && a != op.action), "{}", op.name);
            assert!(!op.needs.capabilities().is_empty(), "{} needs no capability", op.name);
            // Setting reads and writes are about no file name; object operations are about one.
            if op.version_action.is_some() {
                assert_eq!(op.target, Target::Object, "{}", op.name);
            }
            if op.anonymous {
                assert!(matches!(op.target, Target::Object | Target::Bucket), "{}", op.name);
            }
            match op.also {
                Also::ReadsCopySource(source) => assert!(source.needs.capabilities().contains(&Capability::ReadFiles)),
                Also::EachKey(each) => assert_eq!(each.target, Target::Object),
                Also::ReadsAs(other) => assert_eq!((op.target, other.target), (Target::Object, Target::Object)),
                Also::Nothing => {}
            }
            // Writes of bucket settings need writeBuckets, as the core's update checks.
            if op.target == Target::BucketSetting && (op.name.starts_with("Put") || op.name.starts_with("Delete")) {
                assert!(op.needs.capabilities().contains(&Capability::WriteBuckets), "{}", op.name);
            }
        }
        assert_eq!(find("GetBucketEncryption").map(|op| op.needs), Some(Needs::All(&[Capability::ReadBucketEncryption])));
        assert_eq!(find("GetObjectLockConfiguration").map(|op| op.needs), Some(Needs::All(&[Capability::ReadBucketRetentions])));
        assert_eq!(find("GetObject").map(|op| op.action(true)), Some("s3:GetObjectVersion"));
        assert!(find("SelectObjectContent").is_none());
    }
}
