//! Listing with prefix, delimiter and pagination, written once over the store's ordered scan.

use super::Stowage;
use crate::auth::{Capability, NameScope, Principal};
use crate::error::{Error, Result};
use crate::model::{Action, FileVersion};
use crate::store::ListCursor;

pub const MAX_LIST_COUNT: usize = 10_000;
/// Rows fetched from the store per round trip.
const BATCH: usize = 1000;

#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub bucket_id: String,
    pub start_name: Option<String>,
    pub start_file_id: Option<String>,
    pub max_count: Option<i64>,
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Every version (list_file_versions) rather than the newest visible one per name.
    pub all_versions: bool,
    /// The start position is exclusive (S3 start-after and markers): an entry equal to it is skipped.
    pub exclusive_start: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ListEntry {
    Version(Box<FileVersion>),
    /// A common prefix ending in the delimiter (a B2 `folder` row, an S3 CommonPrefix).
    Folder(String),
}

impl ListEntry {
    pub fn name(&self) -> &str {
        match self {
            ListEntry::Version(v) => &v.name,
            ListEntry::Folder(f) => f,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub entries: Vec<ListEntry>,
    pub next_name: Option<String>,
    pub next_file_id: Option<String>,
}

/// A stretch of a name search (`Stowage::find_names`).
#[derive(Debug, Clone, Default)]
pub struct NameSearch {
    pub matches: Vec<FileVersion>,
    /// Where to resume (exclusive) when the stretch ended before the end of the bucket.
    pub resume_after: Option<String>,
    /// Names looked at in this stretch.
    pub scanned: usize,
}

/// The smallest name after every name that starts with `folder`.
fn skip_past(folder: &str) -> String {
    crate::names::prefix_upper_bound(folder).unwrap_or_else(|| format!("{folder}\u{10FFFF}"))
}

impl Stowage {
    /// Files whose names contain `needle` (ignoring case), among the newest visible versions the key may
    /// list, in name order after `after`. A stretch stops at `limit` matches or after looking at `budget`
    /// names, so a search of a large bucket answers in bounded time and resumes where it stopped.
    pub async fn find_names(
        &self,
        principal: &Principal,
        bucket_id: &str,
        needle: &str,
        after: Option<&str>,
        limit: usize,
        budget: usize,
    ) -> Result<NameSearch> {
        let prefix = principal.key.name_prefix.clone().unwrap_or_default();
        principal.authorize(Capability::ListFiles, Some(bucket_id), NameScope::Prefix(&prefix))?;
        self.bucket(bucket_id).await?;
        let needle = needle.to_lowercase();
        let mut search = NameSearch::default();
        let mut cursor = ListCursor { start_name: after.unwrap_or(&prefix).to_string(), start_file_id: None, prefix };
        // Cursors are inclusive, and a latest-only listing has one entry per name: the name resumed after is
        // skipped by name (no "name plus a NUL" position: PostgreSQL text cannot hold one).
        let mut passed = after.map(str::to_string);
        loop {
            let mut page = self.meta.list_versions(bucket_id, &cursor, true, 1000).await?;
            // One entry per name from the cursor on: the name passed can only lead the page.
            if page.first().is_some_and(|v| Some(&v.name) == passed.as_ref()) {
                page.remove(0);
            }
            let Some(last) = page.last().map(|v| v.name.clone()) else {
                search.resume_after = None;
                return Ok(search);
            };
            for version in page {
                search.scanned += 1;
                search.resume_after = Some(version.name.clone());
                if version.action == Action::Upload && version.name.to_lowercase().contains(&needle) {
                    search.matches.push(version);
                }
                if search.matches.len() >= limit || search.scanned >= budget {
                    return Ok(search);
                }
            }
            cursor.start_name = last.clone();
            passed = Some(last);
        }
    }

    pub async fn list_files(&self, principal: &Principal, req: &ListRequest) -> Result<ListPage> {
        principal.authorize(Capability::ListFiles, Some(&req.bucket_id), NameScope::Prefix(&req.prefix))?;
        self.bucket(&req.bucket_id).await?;
        let max = match req.max_count {
            None | Some(0) => 100,
            Some(n) if n > 0 && n as usize <= MAX_LIST_COUNT => n as usize,
            Some(n) => return Err(Error::OutOfRange(format!("maxFileCount out of range: {n}"))),
        };
        if req.start_file_id.is_some() && req.start_name.is_none() {
            return Err(Error::invalid("startFileId requires startFileName"));
        }
        if let Some(d) = &req.delimiter
            && d.is_empty()
        {
            return Err(Error::invalid("delimiter must not be empty"));
        }
        // A B2 startFileId names a version to start at; an exclusive start (S3's version-id marker) is only
        // a position, which stays valid after the version there is deleted (emptying a bucket page by page).
        if let Some(id) = &req.start_file_id
            && req.all_versions
            && !req.exclusive_start
            && self.meta.get_version(id).await?.is_none_or(|v| Some(&v.name) != req.start_name.as_ref())
        {
            return Err(Error::InvalidFileId(id.clone()));
        }
        self.list_page(req, max).await
    }

    /// One page of a listing; used by both APIs after their own access checks.
    pub async fn list_page(&self, req: &ListRequest, max: usize) -> Result<ListPage> {
        let mut cursor = ListCursor { start_name: req.prefix.clone(), start_file_id: None, prefix: req.prefix.clone() };
        if let Some(start) = req.start_name.as_ref().filter(|s| **s >= req.prefix) {
            cursor.start_name = start.clone();
            cursor.start_file_id = if req.all_versions { req.start_file_id.clone() } else { None };
        }
        let mut page = ListPage::default();
        'fetch: loop {
            let want = (max - page.entries.len() + 1).min(BATCH);
            let batch = self.meta.list_versions(&req.bucket_id, &cursor, !req.all_versions, want).await?;
            let exhausted = batch.len() < want;
            let last_index = batch.len().saturating_sub(1);
            for (i, version) in batch.into_iter().enumerate() {
                if page.entries.len() == max {
                    page.next_name = Some(version.name.clone());
                    page.next_file_id = req.all_versions.then(|| version.file_id.clone());
                    return Ok(page);
                }
                if i == last_index && !exhausted {
                    // Held back: the next fetch starts here.
                    cursor.start_name = version.name.clone();
                    cursor.start_file_id = req.all_versions.then(|| version.file_id.clone());
                    continue 'fetch;
                }
                if !req.all_versions && version.action == Action::Hide {
                    continue;
                }
                if req.exclusive_start
                    && req.start_name.as_deref() == Some(version.name.as_str())
                    && (req.start_file_id.is_none() || req.start_file_id.as_deref() == Some(version.file_id.as_str()))
                {
                    continue;
                }
                if let Some(delimiter) = &req.delimiter
                    && let Some(rest) = version.name.get(req.prefix.len()..)
                    && let Some(at) = rest.find(delimiter.as_str())
                {
                    let folder = format!("{}{}", req.prefix, &rest[..at + delimiter.len()]);
                    cursor.start_name = skip_past(&folder);
                    cursor.start_file_id = None;
                    // A marker naming a folder (or a name in it) means that folder was listed already.
                    let passed = req.exclusive_start && req.start_name.as_deref().is_some_and(|s| folder.as_str() <= s);
                    if !passed {
                        page.entries.push(ListEntry::Folder(folder));
                    }
                    continue 'fetch;
                }
                page.entries.push(ListEntry::Version(Box::new(version)));
            }
            if exhausted {
                return Ok(page);
            }
        }
    }
}
