//! Every B2 Native API call Stowage serves, in one table: the capabilities a key needs for it, what it
//! addresses, and which request fields need a capability of their own. The core checks them (each service
//! method authorizes its caller); this table is what those checks promise, `ops::dispatch` serves exactly
//! its calls, and the access-matrix test is generated from it (`/_test/b2-operations` under `--test-hooks`),
//! so a check that drifts from the table fails there.

use stowage_core::auth::Capability::{self, *};

/// What a call addresses, which decides how a key's bucket and prefix restrictions apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The account (keys, bucket creation, listing buckets).
    Account,
    /// A bucket or one of its settings: a key restricted to another bucket is refused; a prefix does not apply.
    Bucket,
    /// Files of a bucket by name or prefix: both restrictions apply.
    Files,
}

/// How a call reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /b2api/vN/<name>` with a JSON body (GET with a query where B2 allows it).
    Json,
    /// To the URL and token another call handed out (`b2_get_upload_url`, `b2_get_upload_part_url`),
    /// whose capability was checked when they were handed out.
    UploadUrl(&'static str),
    /// A download (`b2_download_file_by_id`, `/file/<bucket>/<name>`): unauthenticated for public buckets.
    Download,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Call {
    pub name: &'static str,
    /// Every one of these; `any_of` instead when a call accepts any one of several.
    pub needs: &'static [Capability],
    pub any_of: bool,
    pub target: Target,
    pub route: Route,
    /// Request fields that need a further capability when present (bucket settings guarded on both APIs).
    pub fields: &'static [(&'static str, Capability)],
}

const fn call(name: &'static str, needs: &'static [Capability], target: Target) -> Call {
    Call { name, needs, any_of: false, target, route: Route::Json, fields: &[] }
}

use Target::{Account, Bucket, Files};

/// Bucket settings with capabilities of their own (the same ones S3's setters need). A bucket's default
/// retention is set by b2_update_bucket only, as on B2.
const CREATE_FIELDS: &[(&str, Capability)] =
    &[("defaultServerSideEncryption", WriteBucketEncryption), ("fileLockEnabled", WriteBucketRetentions)];
const UPDATE_FIELDS: &[(&str, Capability)] = &[
    ("defaultServerSideEncryption", WriteBucketEncryption),
    ("fileLockEnabled", WriteBucketRetentions),
    ("defaultRetention", WriteBucketRetentions),
];

/// The table, following B2's documentation of each call's required capability.
pub static CALLS: &[Call] = &[
    // The account and its keys.
    call("b2_authorize_account", &[], Account),
    call("b2_create_key", &[WriteKeys], Account),
    call("b2_list_keys", &[ListKeys], Account),
    call("b2_delete_key", &[DeleteKeys], Account),
    // Buckets.
    Call { any_of: true, ..call("b2_list_buckets", &[ListBuckets, ListAllBucketNames], Account) },
    Call { fields: CREATE_FIELDS, ..call("b2_create_bucket", &[WriteBuckets], Account) },
    Call { fields: UPDATE_FIELDS, ..call("b2_update_bucket", &[WriteBuckets], Bucket) },
    call("b2_delete_bucket", &[DeleteBuckets], Bucket),
    call("b2_get_bucket_notification_rules", &[ReadBucketNotifications], Bucket),
    call("b2_set_bucket_notification_rules", &[WriteBucketNotifications], Bucket),
    // Listings.
    call("b2_list_file_names", &[ListFiles], Files),
    call("b2_list_file_versions", &[ListFiles], Files),
    call("b2_list_unfinished_large_files", &[ListFiles], Files),
    // Writing files.
    call("b2_get_upload_url", &[WriteFiles], Bucket),
    Call { route: Route::UploadUrl("b2_get_upload_url"), ..call("b2_upload_file", &[WriteFiles], Files) },
    call("b2_start_large_file", &[WriteFiles], Files),
    call("b2_get_upload_part_url", &[WriteFiles], Files),
    Call { route: Route::UploadUrl("b2_get_upload_part_url"), ..call("b2_upload_part", &[WriteFiles], Files) },
    call("b2_list_parts", &[WriteFiles], Files),
    call("b2_finish_large_file", &[WriteFiles], Files),
    call("b2_cancel_large_file", &[WriteFiles], Files),
    call("b2_copy_file", &[ReadFiles, WriteFiles], Files),
    call("b2_copy_part", &[ReadFiles, WriteFiles], Files),
    call("b2_hide_file", &[WriteFiles], Files),
    call("b2_delete_file_version", &[DeleteFiles], Files),
    call("b2_update_file_retention", &[WriteFileRetentions], Files),
    call("b2_update_file_legal_hold", &[WriteFileLegalHolds], Files),
    // Reading files.
    call("b2_get_file_info", &[ReadFiles], Files),
    call("b2_get_download_authorization", &[ShareFiles], Files),
    Call { route: Route::Download, ..call("b2_download_file_by_id", &[ReadFiles], Files) },
    Call { route: Route::Download, ..call("b2_download_file_by_name", &[ReadFiles], Files) },
];

/// The table's entry for a JSON call, `None` for a name B2 does not have (or that is not a JSON call).
pub fn find_json(name: &str) -> Option<&'static Call> {
    CALLS.iter().find(|c| c.name == name && c.route == Route::Json)
}

/// The table as JSON, for the access-matrix test.
pub fn to_json() -> serde_json::Value {
    let names = |c: &[Capability]| c.iter().map(|c| c.as_str()).collect::<Vec<_>>();
    let entries = CALLS.iter().map(|c| {
        let (all, any) = if c.any_of { (Vec::new(), names(c.needs)) } else { (names(c.needs), Vec::new()) };
        let route = match c.route {
            Route::Json => serde_json::json!("json"),
            Route::UploadUrl(from) => serde_json::json!({"uploadUrlFrom": from}),
            Route::Download => serde_json::json!("download"),
        };
        let fields: serde_json::Map<String, serde_json::Value> =
            c.fields.iter().map(|(field, cap)| (field.to_string(), serde_json::json!(cap.as_str()))).collect();
        serde_json::json!({
            "name": c.name,
            "needsAll": all,
            "needsAny": any,
            "target": format!("{:?}", c.target),
            "route": route,
            "fields": fields,
        })
    });
    serde_json::Value::Array(entries.collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_upload_urls_come_from_calls_in_the_table() {
        let names: BTreeSet<&str> = CALLS.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), CALLS.len());
        for c in CALLS {
            if let Route::UploadUrl(from) = c.route {
                let issuer = find_json(from).expect("the call handing out the URL is a JSON call in the table");
                assert_eq!(issuer.needs, c.needs, "{} needs what {from} checks", c.name);
            }
        }
    }

    #[test]
    fn account_level_capabilities_are_only_needed_by_account_calls() {
        let account_only = [WriteKeys, ListKeys, DeleteKeys];
        for c in CALLS.iter().filter(|c| c.needs.iter().any(|n| account_only.contains(n))) {
            assert_eq!(c.target, Account, "{}", c.name);
        }
    }
}
