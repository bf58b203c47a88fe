use super::download::ByteRange;
use super::files::{EncryptionRequest, NewBody, NewFile};
use super::upload::{BodyCheck, Sha1Check, StoredBlob, UPLOAD_TOKEN_TTL, expected_body_len};
use super::{MAX_SIMPLE_FILE, Stowage};
use crate::auth::{Capability, NameScope, Principal, TokenScope};
use crate::conditions::WriteCondition;
use crate::error::{Error, Result};
use crate::events::EventType;
use crate::model::{Action, Checksums, Content, Encryption, FileVersion, Part};
use crate::store::{ByteStream, FinishPlan, LatestCheck, VersionCheck};

pub const MAX_PARTS: u32 = 10_000;

/// One `b2_copy_part` request: a range of an existing file becomes a part of an unfinished one.
#[derive(Debug, Clone)]
pub struct CopyPart {
    pub source_file_id: String,
    pub large_file_id: String,
    pub part_number: u32,
    pub range: Option<ByteRange>,
    pub source_sse: Option<EncryptionRequest>,
    pub destination_sse: Option<EncryptionRequest>,
}

/// One `b2_upload_part` request; `content_length` includes the 40 digits of `hex_digits_at_end`.
#[derive(Debug, Clone)]
pub struct PartUpload {
    pub file_id: String,
    pub part_number: u32,
    pub sha1: Sha1Check,
    pub content_length: Option<u64>,
    pub sse: Option<EncryptionRequest>,
    /// MD5 (hex) the part must have (S3 Content-MD5).
    pub expected_md5: Option<String>,
    /// The key an S3 request names with the upload id: another key's upload is no upload there.
    pub key: Option<String>,
}

/// A delete's check that the version is still an unfinished large file (not finished meanwhile).
pub(crate) fn still_unfinished() -> VersionCheck {
    Box::new(|v| match v.action {
        Action::Start => Ok(()),
        _ => Err(Error::NoSuchUpload(format!("No active upload for: {}", v.file_id))),
    })
}

impl Stowage {
    /// The unfinished large file `file_id`, after checking the caller may write to it.
    async fn unfinished(&self, principal: &Principal, file_id: &str) -> Result<FileVersion> {
        let version = self
            .meta
            .get_version(file_id)
            .await?
            .filter(|v| v.action == Action::Start)
            .ok_or_else(|| Error::NoSuchUpload(format!("No active upload for: {file_id}")))?;
        match &principal.scope {
            // A part URL's token works for its own large file only.
            TokenScope::UploadPart { f } if f == file_id => {}
            _ => principal.authorize(Capability::WriteFiles, Some(&version.bucket_id), NameScope::File(&version.name))?,
        }
        Ok(version)
    }

    pub async fn start_large_file(&self, principal: &Principal, req: NewFile) -> Result<FileVersion> {
        principal.authorize(Capability::WriteFiles, Some(&req.bucket_id), NameScope::File(&req.name))?;
        self.capacity.check_writable()?;
        let bucket = self.bucket(&req.bucket_id).await?;
        let now = self.now();
        let prepared = self.prepare_new_file(&bucket, &req, now)?;
        let version = self.new_version(req, prepared, Action::Start, NewBody::empty(Some("none")));
        self.meta.insert_version(&version).await?;
        Ok(version)
    }

    pub async fn get_upload_part_url(&self, principal: &Principal, file_id: &str) -> Result<String> {
        self.unfinished(principal, file_id).await?;
        Ok(self.mint(principal, TokenScope::UploadPart { f: file_id.to_string() }, UPLOAD_TOKEN_TTL))
    }

    fn check_part_number(part_number: u32) -> Result<()> {
        if !(1..=MAX_PARTS).contains(&part_number) {
            return Err(Error::invalid(format!("Part number must be in range 1 - {MAX_PARTS}")));
        }
        Ok(())
    }

    pub async fn upload_part(
        &self,
        principal: &Principal,
        req: PartUpload,
        body: ByteStream,
        body_check: Option<BodyCheck>,
    ) -> Result<StoredPart> {
        let PartUpload { file_id, part_number, sha1, content_length, sse, expected_md5, key } = req;
        let (file_id, sse) = (file_id.as_str(), sse.as_ref());
        Self::check_part_number(part_number)?;
        let version = match &key {
            Some(key) => self.upload_of_key(principal, file_id, key).await?,
            None => self.unfinished(principal, file_id).await?,
        };
        self.check_sse_c(&version, sse)?;
        let at_end = sha1 == Sha1Check::AtEnd;
        let body_len = expected_body_len(content_length, at_end)?;
        let StoredBlob { id: blob_id, digests, claimed_sha1: claimed, salt } =
            self.store_blob(body, at_end, &version.encryption, sse, content_length).await?;
        let checksums = self.check_body(&blob_id, &digests, body_len, expected_md5.as_deref(), body_check).await?;
        let sha1 = self.verify_sha1(&blob_id, &digests, &sha1, claimed).await?;
        let part = Part {
            file_id: file_id.to_string(),
            part_number,
            size: digests.len,
            sha1,
            md5: digests.md5_hex,
            blob_id,
            upload_timestamp: self.now(),
            salt,
            checksums,
        };
        self.commit_part(&part).await?;
        Ok(StoredPart { part, encryption: version.encryption })
    }

    async fn commit_part(&self, part: &Part) -> Result<()> {
        if let Err(err) = self.note_full(self.meta.put_part(part).await) {
            self.discard_uncommitted(std::slice::from_ref(&part.blob_id), &err).await;
            return Err(err);
        }
        Ok(())
    }

    pub async fn copy_part(&self, principal: &Principal, req: CopyPart) -> Result<StoredPart> {
        Self::check_part_number(req.part_number)?;
        let (source, _) = self.copy_source(principal, &req.source_file_id, req.source_sse.as_ref()).await?;
        let target = self.unfinished(principal, &req.large_file_id).await?;
        self.check_sse_c(&target, req.destination_sse.as_ref())?;
        let (offset, len) = match req.range {
            Some(r) => r.resolve(source.size)?,
            None => (0, source.size),
        };
        if len > MAX_SIMPLE_FILE {
            return Err(Error::SourceTooLarge(len));
        }
        let source_key = req.source_sse.as_ref().and_then(EncryptionRequest::customer_key);
        let body = self.read_content(&source, offset, len, source_key.as_deref()).await?;
        let StoredBlob { id: blob_id, digests, salt, .. } =
            self.store_blob(body, false, &target.encryption, req.destination_sse.as_ref(), Some(len)).await?;
        let part = Part {
            file_id: req.large_file_id,
            part_number: req.part_number,
            size: digests.len,
            sha1: digests.sha1_hex,
            md5: digests.md5_hex,
            blob_id,
            upload_timestamp: self.now(),
            salt,
            checksums: Checksums::new(),
        };
        self.commit_part(&part).await?;
        Ok(StoredPart { part, encryption: target.encryption })
    }

    pub async fn list_parts(
        &self,
        principal: &Principal,
        file_id: &str,
        start_part: Option<i64>,
        max: Option<i64>,
    ) -> Result<(Vec<Part>, Option<u32>)> {
        self.unfinished(principal, file_id).await?;
        let max = match max {
            None | Some(0) => 100,
            Some(n) if (1..=10_000).contains(&n) => n as usize,
            Some(n) => return Err(Error::OutOfRange(format!("maxPartCount out of range: {n}"))),
        };
        let start = start_part.unwrap_or(1).clamp(1, i64::from(MAX_PARTS) + 1) as u32;
        let mut parts = self.meta.list_parts(file_id, start, max + 1).await?;
        let next = if parts.len() > max { parts.pop().map(|p| p.part_number) } else { None };
        Ok((parts, next))
    }

    pub async fn finish_large_file(&self, principal: &Principal, file_id: &str, part_sha1s: &[String]) -> Result<FileVersion> {
        self.unfinished(principal, file_id).await?;
        let sha1s = part_sha1s.to_vec();
        let min_size = self.config.absolute_minimum_part_size;
        self.commit_finish(
            file_id,
            Box::new(move |version, uploaded| {
                // B2 finishes with every uploaded part, numbered from 1 without gaps.
                for (i, part) in uploaded.iter().enumerate() {
                    if part.part_number as usize != i + 1 {
                        return Err(Error::MissingPart(format!("Part number {} is missing", i + 1)));
                    }
                }
                if uploaded.len() != sha1s.len() {
                    return Err(Error::invalid(format!(
                        "partSha1Array has {} entries but {} parts were uploaded",
                        sha1s.len(),
                        uploaded.len()
                    )));
                }
                let chosen = uploaded.iter().zip(sha1s).map(|(p, sha1)| (p.part_number, PartMatch::Sha1(sha1))).collect();
                finished_version(version, uploaded, chosen, 2, min_size)
            }),
            None,
        )
        .await
    }

    /// S3 CompleteMultipartUpload: the listed parts (number, ETag, and any checksums) must be the uploaded
    /// ones, in ascending order, checked against the parts as the committing transaction sees them; parts
    /// not listed are dropped. Unlike B2, S3 allows a single part.
    /// `condition` (S3 `If-None-Match: *` / `If-Match` on the completion) is checked as the file commits.
    pub async fn complete_multipart(
        &self,
        principal: &Principal,
        upload_id: &str,
        listed: &[ListedPart],
        condition: Option<WriteCondition>,
    ) -> Result<FileVersion> {
        // Completing an upload again (a client retrying) answers with the object it made, when the parts
        // listed are the ones it was made of, as S3 does.
        if let Some(done) = self.meta.get_version(upload_id).await?.filter(|v| v.action == Action::Upload) {
            principal.authorize(Capability::WriteFiles, Some(&done.bucket_id), NameScope::File(&done.name))?;
            let same_parts = matches!(&done.content, Content::Parts(refs)
                if refs.len() == listed.len() && refs.iter().zip(listed).all(|(r, part)| part.etag_matches(&r.md5)));
            if same_parts {
                return Ok(done);
            }
        }
        self.unfinished(principal, upload_id).await?;
        if listed.is_empty() {
            return Err(Error::invalid("the multipart upload lists no parts"));
        }
        if listed.windows(2).any(|pair| pair[1].number <= pair[0].number) {
            return Err(Error::InvalidPartOrder("parts must be listed in ascending order".into()));
        }
        let chosen: Vec<(u32, PartMatch)> = listed.iter().map(|part| (part.number, PartMatch::Listed(part.clone()))).collect();
        let min_size = self.config.absolute_minimum_part_size;
        let plan: FinishPlan = Box::new(move |version, uploaded| finished_version(version, uploaded, chosen, 1, min_size));
        self.commit_finish(upload_id, plan, condition).await
    }

    /// Commits a finish the store checks against the parts as they are in the committing transaction, so a
    /// part re-uploaded or a cancel racing the finish can never leave a finished file pointing at a
    /// collected blob.
    async fn commit_finish(&self, file_id: &str, plan: FinishPlan, condition: Option<WriteCondition>) -> Result<FileVersion> {
        let check = condition.map(|c| -> LatestCheck { Box::new(move |latest| c.check(latest)) });
        let version = self.meta.finish_large_file(file_id, plan, check).await?;
        self.replace_null_versions(&version).await;
        self.emit(EventType::MultipartUpload, &version).await;
        Ok(version)
    }

    /// An unfinished large file (an S3 upload id) the caller may write to.
    pub async fn unfinished_upload(&self, principal: &Principal, file_id: &str) -> Result<FileVersion> {
        self.unfinished(principal, file_id).await
    }

    /// An S3 upload addressed by its key and upload id: an id used with another key is no upload there.
    pub async fn upload_of_key(&self, principal: &Principal, file_id: &str, key: &str) -> Result<FileVersion> {
        let upload = self.unfinished(principal, file_id).await?;
        if upload.name != key {
            return Err(Error::NoSuchUpload(format!("No active upload for {key}: {file_id}")));
        }
        Ok(upload)
    }

    /// S3 ListMultipartUploads: unfinished large files by key, then in the order they were started, from
    /// after `after` (a key marker and, optionally, an upload id marker), at most `max` entries; with a
    /// delimiter, keys holding it past `prefix` are rolled up into common prefixes (one entry each).
    pub async fn list_multipart_uploads(
        &self,
        principal: &Principal,
        bucket_id: &str,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<(&str, Option<&str>)>,
        max: usize,
    ) -> Result<UploadListing> {
        principal.authorize(Capability::ListFiles, Some(bucket_id), NameScope::Prefix(prefix))?;
        self.bucket(bucket_id).await?;
        let max = max.clamp(1, 1000);
        let delimiter = delimiter.filter(|d| !d.is_empty());
        let rolled_up = |name: &str| -> Option<String> {
            let rest = name.strip_prefix(prefix)?;
            let d = delimiter?;
            rest.find(d).map(|i| format!("{prefix}{}", &rest[..i + d.len()]))
        };
        let mut listing = UploadListing::default();
        // A key marker that is a common prefix passes every key under it.
        let mut last_prefix = after.and_then(|(key, _)| rolled_up(key).filter(|p| p == key));
        let mut cursor = after.map(|(k, u)| (k.to_string(), u.map(str::to_string)));
        let mut entries = 0;
        loop {
            let position = cursor.as_ref().map(|(k, u)| (k.as_str(), u.as_deref()));
            let batch = self.meta.list_unfinished_by_name(bucket_id, prefix, position, max + 1).await?;
            let exhausted = batch.len() <= max;
            for upload in batch {
                cursor = Some((upload.name.clone(), Some(upload.file_id.clone())));
                let common = rolled_up(&upload.name);
                if common.is_some() && common == last_prefix {
                    continue;
                }
                if entries == max {
                    listing.truncated = true;
                    return Ok(listing);
                }
                entries += 1;
                match common {
                    Some(common) => {
                        listing.next = Some((common.clone(), None));
                        listing.common_prefixes.push(common.clone());
                        last_prefix = Some(common);
                    }
                    None => {
                        listing.next = Some((upload.name.clone(), Some(upload.file_id.clone())));
                        listing.uploads.push(upload);
                    }
                }
            }
            if exhausted {
                return Ok(listing);
            }
        }
    }

    pub async fn cancel_large_file(&self, principal: &Principal, file_id: &str) -> Result<FileVersion> {
        self.unfinished(principal, file_id).await?;
        self.meta
            .delete_version(file_id, still_unfinished())
            .await?
            .ok_or_else(|| Error::NoSuchUpload(format!("No active upload for: {file_id}")))
    }

    pub async fn list_unfinished_large_files(
        &self,
        principal: &Principal,
        bucket_id: &str,
        name_prefix: &str,
        start_file_id: Option<&str>,
        max: Option<i64>,
    ) -> Result<(Vec<FileVersion>, Option<String>)> {
        principal.authorize(Capability::ListFiles, Some(bucket_id), NameScope::Prefix(name_prefix))?;
        self.bucket(bucket_id).await?;
        let max = match max {
            None | Some(0) => 100,
            Some(n) if (1..=100).contains(&n) => n as usize,
            Some(n) => return Err(Error::OutOfRange(format!("maxFileCount out of range: {n}"))),
        };
        let mut files = self.meta.list_unfinished(bucket_id, name_prefix, start_file_id, max + 1).await?;
        let next = if files.len() > max { files.pop().map(|f| f.file_id) } else { None };
        Ok((files, next))
    }
}

/// A part as stored, with the encryption of its upload (which the part's blob is sealed under).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPart {
    pub part: Part,
    pub encryption: Encryption,
}

/// A page of S3 ListMultipartUploads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadListing {
    pub uploads: Vec<FileVersion>,
    pub common_prefixes: Vec<String>,
    pub truncated: bool,
    /// The last entry listed: its key (or common prefix) and upload id, the markers of the next page.
    pub next: Option<(String, Option<String>)>,
}

/// A part as S3 CompleteMultipartUpload lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedPart {
    pub number: u32,
    /// The part's ETag (its MD5), quoted or not.
    pub etag: String,
    /// `x-amz-checksum-*` values the client lists for the part; each must be the one verified when the
    /// part was uploaded.
    pub checksums: Checksums,
}

impl ListedPart {
    fn etag_matches(&self, md5: &str) -> bool {
        self.etag.trim_matches('"').eq_ignore_ascii_case(md5)
    }
}

/// How a finish names each part it wants: B2 by SHA-1, S3 by ETag (the part's MD5) and checksums.
enum PartMatch {
    Sha1(String),
    Listed(ListedPart),
}

/// The finished version made of the `chosen` parts of `uploaded`, in that order, after checking each is
/// the part the client named and every part but the last is at least `min_size` bytes.
fn finished_version(
    mut version: FileVersion,
    uploaded: Vec<Part>,
    chosen: Vec<(u32, PartMatch)>,
    min_parts: usize,
    min_size: u64,
) -> Result<FileVersion> {
    if chosen.len() < min_parts {
        return Err(Error::invalid(format!("large files must have at least {min_parts} parts")));
    }
    let mut parts = Vec::with_capacity(chosen.len());
    for (number, wanted) in &chosen {
        let part = uploaded.iter().find(|p| p.part_number == *number);
        match (part, wanted) {
            (None, PartMatch::Sha1(_)) => return Err(Error::MissingPart(format!("Part number {number} is missing"))),
            (None, PartMatch::Listed(_)) => return Err(Error::InvalidPart(format!("part {number} was not uploaded"))),
            (Some(p), PartMatch::Sha1(sha1)) if !p.sha1.eq_ignore_ascii_case(sha1) => {
                return Err(Error::invalid(format!("Sha1 of part {number} does not match partSha1Array")));
            }
            (Some(p), PartMatch::Listed(listed)) if !listed.etag_matches(&p.md5) => {
                return Err(Error::InvalidPart(format!("part {number} has ETag {}, not {}", p.md5, listed.etag)));
            }
            (Some(p), PartMatch::Listed(listed)) if listed.checksums.iter().any(|(alg, value)| p.checksums.get(alg) != Some(value)) => {
                return Err(Error::InvalidPart(format!("the checksums listed for part {number} are not the ones it was uploaded with")));
            }
            (Some(p), _) => parts.push(p),
        }
    }
    if let Some(small) = parts[..parts.len() - 1].iter().find(|p| p.size < min_size) {
        return Err(Error::EntityTooSmall(format!("Part number {} is smaller than the minimum part size {min_size}", small.part_number)));
    }
    version.action = Action::Upload;
    version.size = parts.iter().map(|p| p.size).sum();
    version.content = Content::Parts(parts.iter().map(|p| p.as_part_ref()).collect());
    version.md5 = None;
    Ok(version)
}
