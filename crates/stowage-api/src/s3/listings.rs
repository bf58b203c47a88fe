//! Listings: ListObjects (v1 and v2) and ListObjectVersions, over the core's one listing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, s3_error};
use stowage_core::model::Action;
use stowage_core::service::{ListEntry, ListPage, ListRequest, NULL_VERSION};

use super::acl::owner;
use super::context::{OrS3, StowageS3};
use super::values::*;

/// Continuation tokens are opaque: the next name, base64url-encoded.
fn encode_token(name: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{name}\n"))
}

fn decode_token(token: &str) -> S3Result<String> {
    let bad = || s3_error!(InvalidArgument, "The continuation token provided is incorrect");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (name, _) = text.split_once('\n').ok_or_else(bad)?;
    Ok(name.to_string())
}

fn max_keys(requested: Option<i32>) -> S3Result<i64> {
    match requested {
        None => Ok(1000),
        Some(n) if n < 0 => Err(s3_error!(InvalidArgument, "max-keys must not be negative")),
        Some(n) => Ok(i64::from(n.min(1000))),
    }
}

pub(super) fn url_encoding(encoding: Option<&EncodingType>) -> impl Fn(&str) -> String + use<> {
    let url = encoding.is_some_and(|e| e.as_str() == EncodingType::URL);
    move |s: &str| if url { url_encode_key(s) } else { s.to_string() }
}

/// A listing page as S3 `Contents` and `CommonPrefixes`, keys encoded as asked, each object naming its
/// owner when asked.
fn list_entries(page: &ListPage, enc: &impl Fn(&str) -> String, owner: Option<&Owner>) -> (Vec<Object>, Vec<CommonPrefix>) {
    let (mut contents, mut prefixes) = (Vec::new(), Vec::new());
    for entry in &page.entries {
        match entry {
            ListEntry::Version(v) => contents.push(Object {
                key: Some(enc(&v.name)),
                e_tag: Some(etag(v)),
                size: Some(v.size as i64),
                last_modified: Some(timestamp(v.upload_timestamp)),
                storage_class: Some(ObjectStorageClass::from_static(ObjectStorageClass::STANDARD)),
                owner: owner.cloned(),
                ..Object::default()
            }),
            ListEntry::Folder(f) => prefixes.push(CommonPrefix { prefix: Some(enc(f)) }),
        }
    }
    (contents, prefixes)
}

pub async fn list_objects_v2(s3: &StowageS3, mut req: S3Request<ListObjectsV2Input>) -> S3Result<S3Response<ListObjectsV2Output>> {
    let cx = s3.acting(&mut req)?;
    let input = req.input;
    let max = max_keys(input.max_keys)?;
    let enc = url_encoding(input.encoding_type.as_ref());
    let (start_name, exclusive_start) = match (input.continuation_token.as_ref().filter(|t| !t.is_empty()), &input.start_after) {
        (Some(token), _) => (Some(decode_token(token)?), false),
        (None, Some(after)) if !after.is_empty() => (Some(after.clone()), true),
        _ => (None, false),
    };
    let (contents, prefixes, next) = if max == 0 {
        (Vec::new(), Vec::new(), None)
    } else {
        let list = ListRequest {
            bucket_id: cx.bucket.id.clone(),
            start_name,
            start_file_id: None,
            max_count: Some(max),
            prefix: input.prefix.clone().unwrap_or_default(),
            delimiter: input.delimiter.clone().filter(|d| !d.is_empty()),
            all_versions: false,
            exclusive_start,
        };
        let page = s3.core.list_files(&cx.principal, &list).await.s3()?;
        // ListObjectsV2 names owners only when asked to.
        let owner = input.fetch_owner.unwrap_or(false).then(|| owner(s3.core.account_id()));
        let (contents, prefixes) = list_entries(&page, &enc, owner.as_ref());
        (contents, prefixes, page.next_name.map(|n| encode_token(&n)))
    };
    let key_count = (contents.len() + prefixes.len()) as i32;
    Ok(S3Response::new(ListObjectsV2Output {
        name: Some(input.bucket),
        prefix: input.prefix,
        delimiter: input.delimiter.filter(|d| !d.is_empty()),
        max_keys: Some(max as i32),
        key_count: Some(key_count),
        continuation_token: input.continuation_token,
        start_after: input.start_after,
        is_truncated: Some(next.is_some()),
        next_continuation_token: next,
        contents: Some(contents),
        common_prefixes: Some(prefixes),
        encoding_type: input.encoding_type,
        ..ListObjectsV2Output::default()
    }))
}

pub async fn list_objects(s3: &StowageS3, mut req: S3Request<ListObjectsInput>) -> S3Result<S3Response<ListObjectsOutput>> {
    let cx = s3.acting(&mut req)?;
    let input = req.input;
    let max = max_keys(input.max_keys)?;
    let enc = url_encoding(input.encoding_type.as_ref());
    let list = ListRequest {
        bucket_id: cx.bucket.id.clone(),
        start_name: input.marker.clone().filter(|m| !m.is_empty()),
        start_file_id: None,
        max_count: Some(max.max(1)),
        prefix: input.prefix.clone().unwrap_or_default(),
        delimiter: input.delimiter.clone().filter(|d| !d.is_empty()),
        all_versions: false,
        exclusive_start: true,
    };
    // max-keys=0 asks for nothing, and nothing is left out.
    let page = if max == 0 { ListPage::default() } else { s3.core.list_files(&cx.principal, &list).await.s3()? };
    let (contents, prefixes) = list_entries(&page, &enc, Some(&owner(s3.core.account_id())));
    let truncated = page.next_name.is_some();
    // NextMarker is the last key or prefix returned; markers are exclusive.
    let next_marker = truncated.then(|| page.entries.last().map(|e| enc(e.name()))).flatten();
    Ok(S3Response::new(ListObjectsOutput {
        name: Some(input.bucket),
        prefix: input.prefix,
        // An empty delimiter is no delimiter, and is not echoed; the marker always is, empty or not.
        delimiter: input.delimiter.filter(|d| !d.is_empty()),
        marker: Some(input.marker.unwrap_or_default()),
        max_keys: Some(max as i32),
        is_truncated: Some(truncated),
        next_marker,
        contents: Some(contents),
        common_prefixes: Some(prefixes),
        encoding_type: input.encoding_type,
        ..ListObjectsOutput::default()
    }))
}

pub async fn list_object_versions(
    s3: &StowageS3,
    mut req: S3Request<ListObjectVersionsInput>,
) -> S3Result<S3Response<ListObjectVersionsOutput>> {
    let cx = s3.acting(&mut req)?;
    let input = req.input;
    let max = max_keys(input.max_keys)?.max(1);
    let enc = url_encoding(input.encoding_type.as_ref());
    let key_marker = input.key_marker.clone().filter(|k| !k.is_empty());
    let mut version_marker = input.version_id_marker.clone().filter(|v| !v.is_empty());
    if let (Some(key), Some(NULL_VERSION)) = (&key_marker, version_marker.as_deref()) {
        // `null` stands for the key's null version; once that is gone the listing resumes after the key.
        version_marker = s3.core.null_version_of(&cx.bucket.id, key).await.s3()?.map(|v| v.file_id);
    }
    // Markers name the last entry returned: start just after it.
    let (start_name, start_file_id) = match (&key_marker, &version_marker) {
        (Some(k), Some(v)) => (Some(k.clone()), Some(v.clone())),
        (Some(k), None) => (Some(format!("{k}\u{0}")), None),
        _ => (None, None),
    };
    let list = ListRequest {
        bucket_id: cx.bucket.id.clone(),
        start_name,
        start_file_id,
        max_count: Some(max),
        prefix: input.prefix.clone().unwrap_or_default(),
        delimiter: input.delimiter.clone().filter(|d| !d.is_empty()),
        all_versions: true,
        // Markers name what was listed already (a key marker alone starts past every version of its key).
        exclusive_start: key_marker.is_some(),
    };
    let page = s3.core.list_files(&cx.principal, &list).await.s3()?;
    let latest = s3.core.latest_flags(&page).await.s3()?;
    let owner = owner(s3.core.account_id());
    let (mut versions, mut markers, mut prefixes) = (Vec::new(), Vec::new(), Vec::new());
    let mut last: Option<(String, String)> = None;
    for (entry, is_latest) in page.entries.iter().zip(latest) {
        match entry {
            ListEntry::Version(v) if v.action == Action::Start => {}
            ListEntry::Version(v) => {
                last = Some((v.name.clone(), v.file_id.clone()));
                if v.action == Action::Hide {
                    markers.push(DeleteMarkerEntry {
                        key: Some(enc(&v.name)),
                        version_id: Some(v.s3_version_id().to_string()),
                        is_latest: Some(is_latest),
                        last_modified: Some(timestamp(v.upload_timestamp)),
                        owner: Some(owner.clone()),
                    });
                } else {
                    versions.push(ObjectVersion {
                        key: Some(enc(&v.name)),
                        version_id: Some(v.s3_version_id().to_string()),
                        is_latest: Some(is_latest),
                        e_tag: Some(etag(v)),
                        size: Some(v.size as i64),
                        last_modified: Some(timestamp(v.upload_timestamp)),
                        storage_class: Some(ObjectVersionStorageClass::from_static(ObjectVersionStorageClass::STANDARD)),
                        owner: Some(owner.clone()),
                        ..ObjectVersion::default()
                    });
                }
            }
            ListEntry::Folder(f) => {
                last = Some((f.clone(), String::new()));
                prefixes.push(CommonPrefix { prefix: Some(enc(f)) });
            }
        }
    }
    let truncated = page.next_name.is_some();
    let (next_key, next_version) = match (truncated, last) {
        (true, Some((k, v))) => (Some(enc(&k)), (!v.is_empty()).then_some(v)),
        _ => (None, None),
    };
    Ok(S3Response::new(ListObjectVersionsOutput {
        name: Some(input.bucket),
        prefix: input.prefix,
        delimiter: input.delimiter,
        key_marker: input.key_marker,
        version_id_marker: input.version_id_marker,
        max_keys: Some(max as i32),
        is_truncated: Some(truncated),
        next_key_marker: next_key,
        next_version_id_marker: next_version,
        versions: Some(versions),
        delete_markers: Some(markers),
        common_prefixes: Some(prefixes),
        encoding_type: input.encoding_type,
        ..ListObjectVersionsOutput::default()
    }))
}
