//! Folder and selection downloads: `GET /_console/api/zip/<bucket>?base=<folder>&name=<file or folder/>…`
//! streams a zip archive of the named files and of every file under the named folders, read with the
//! signed-in key's rights. Entries are stored uncompressed: most stored files (photos, video, archives) do
//! not shrink, and the archive then streams at the speed of the disk, on one core. Entry names are relative
//! to `base`, the folder the console was showing.

use std::sync::Arc;

use async_zip::tokio::write::ZipFileWriter;
use async_zip::{Compression, ZipDateTimeBuilder, ZipEntryBuilder};
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{AsyncWriteExt, StreamExt};
use stowage_core::auth::Principal;
use stowage_core::model::{Bucket, FileVersion};
use stowage_core::service::{ListEntry, ListRequest};

use super::{error, signed_in};
use crate::AppState;
use crate::b2::error::B2Error;

/// More files than this in one archive is a job for a sync tool, not a browser download.
const MAX_FILES: usize = 10_000;

pub async fn zip(
    State(state): State<Arc<AppState>>,
    Path(bucket): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let principal = match signed_in(&state, &headers).await {
        Ok(p) => p,
        Err(refusal) => return *refusal,
    };
    let params = crate::b2::query_pairs(query.as_deref());
    let base = params.iter().find(|(k, _)| k == "base").map(|(_, v)| v.clone()).unwrap_or_default();
    let names: Vec<String> = params.into_iter().filter(|(k, _)| k == "name").map(|(_, v)| v).collect();
    if names.is_empty() || names.iter().any(|n| !n.starts_with(&base)) {
        return error(StatusCode::BAD_REQUEST, "bad_request", "name each file or folder to archive, inside base");
    }
    let bucket = match state.core.bucket_for(Some(&principal), &bucket).await {
        Ok(b) => b,
        Err(e) => return B2Error::from(e).into_response(),
    };
    let files = match files_named(&state, &principal, &bucket, &names).await {
        Ok(files) => files,
        Err(response) => return *response,
    };
    let archive_name = match names.as_slice() {
        [one] if one.ends_with('/') => format!("{}.zip", one.trim_end_matches('/').rsplit('/').next().unwrap_or("folder")),
        _ => format!("{}.zip", bucket.name),
    };
    let (reader, writer) = tokio::io::duplex(256 * 1024);
    tokio::spawn(write_archive(state, principal, bucket, base, files, writer));
    let mut response = Body::from_stream(tokio_util::io::ReaderStream::new(reader)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    let encoded = percent_encoding::utf8_percent_encode(&archive_name, percent_encoding::NON_ALPHANUMERIC);
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename*=UTF-8''{encoded}")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The newest visible version of each named file and of every file under each named folder.
async fn files_named(
    state: &AppState,
    principal: &Principal,
    bucket: &Bucket,
    names: &[String],
) -> Result<Vec<FileVersion>, Box<Response>> {
    let mut files = Vec::new();
    for name in names {
        let mut start = None;
        loop {
            let req = ListRequest {
                bucket_id: bucket.id.clone(),
                start_name: start.take(),
                max_count: Some(1000),
                prefix: name.clone(),
                ..ListRequest::default()
            };
            let page = state.core.list_files(principal, &req).await.map_err(|e| Box::new(B2Error::from(e).into_response()))?;
            for entry in page.entries {
                if let ListEntry::Version(v) = entry
                    && (name.ends_with('/') || v.name == *name)
                {
                    files.push(*v);
                }
            }
            if files.len() > MAX_FILES {
                let message = format!("more than {MAX_FILES} files: download them with a sync tool (b2 sync, rclone)");
                return Err(Box::new(error(StatusCode::BAD_REQUEST, "bad_request", &message)));
            }
            // A file (not a folder) is one name: its first page holds it.
            match page.next_name {
                Some(next) if name.ends_with('/') => start = Some(next),
                _ => break,
            }
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files.dedup_by(|a, b| a.file_id == b.file_id);
    Ok(files)
}

/// Writes the archive into the response pipe. A file that cannot be read (an SSE-C file needs its key) is
/// left out and named in `stowage-skipped.txt`; a failure of the pipe (the browser went away) ends it.
async fn write_archive(
    state: Arc<AppState>,
    principal: Principal,
    bucket: Bucket,
    base: String,
    files: Vec<FileVersion>,
    pipe: tokio::io::DuplexStream,
) {
    let mut zip = ZipFileWriter::with_tokio(pipe);
    let mut skipped = Vec::new();
    for file in files {
        let download = match state.core.download_by_id(Some(&principal), &file.file_id, None, None, true).await {
            Ok(d) => d,
            Err(e) => {
                skipped.push(format!("{}: {e}", file.name));
                continue;
            }
        };
        let entry_name = file.name.strip_prefix(&base).unwrap_or(&file.name).to_string();
        let entry = ZipEntryBuilder::new(entry_name.into(), Compression::Stored).last_modification_date(zip_time(file.upload_timestamp));
        let Ok(mut writer) = zip.write_entry_stream(entry).await else { return };
        let mut body = download.body;
        while let Some(chunk) = body.next().await {
            let written = match chunk {
                Ok(bytes) => writer.write_all(&bytes).await.is_ok(),
                Err(e) => {
                    tracing::warn!(bucket = %bucket.name, file = %file.name, error = %e, "zip: a file could not be read to the end");
                    false
                }
            };
            if !written {
                return;
            }
        }
        if writer.close().await.is_err() {
            return;
        }
    }
    if !skipped.is_empty() {
        let note = format!("Left out of this archive:\n{}\n", skipped.join("\n"));
        let entry = ZipEntryBuilder::new("stowage-skipped.txt".to_string().into(), Compression::Stored);
        if zip.write_entry_whole(entry, note.as_bytes()).await.is_err() {
            return;
        }
    }
    if let Err(e) = zip.close().await {
        tracing::debug!(error = %e, "zip: the archive was not finished");
    }
}

/// An upload time as a zip entry's modification time (UTC; zip times have no zone).
fn zip_time(millis: i64) -> async_zip::ZipDateTime {
    let t = time::OffsetDateTime::from_unix_timestamp(millis / 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    ZipDateTimeBuilder::new()
        .year(t.year())
        .month(u32::from(u8::from(t.month())))
        .day(u32::from(t.day()))
        .hour(u32::from(t.hour()))
        .minute(u32::from(t.minute()))
        .second(u32::from(t.second()))
        .build()
}
