//! Server-side copies (`b2_copy_file`, S3 CopyObject): the source read with the caller's access and
//! SSE-C key, its bytes stored again under the destination's encryption, committed as a new version.

use std::collections::BTreeMap;

use super::download::ByteRange;
use super::files::{EncryptionRequest, NewBody, NewFile};
use super::upload::StoredBlob;
use super::{MAX_SIMPLE_FILE, Stowage};
use crate::auth::{Capability, NameScope, Principal};
use crate::error::{Error, Result};
use crate::events::EventType;
use crate::model::{Action, Bucket, BucketType, Checksums, Content, Encryption, FileVersion, Grant, Retention};

#[derive(Debug, Clone)]
pub enum MetadataDirective {
    Copy,
    Replace { content_type: String, info: BTreeMap<String, String> },
}

#[derive(Debug, Clone)]
pub struct CopyRequest {
    pub source_file_id: String,
    pub name: String,
    pub destination_bucket_id: Option<String>,
    pub range: Option<ByteRange>,
    pub directive: MetadataDirective,
    pub source_encryption: Option<EncryptionRequest>,
    pub destination_encryption: Option<EncryptionRequest>,
    pub retention: Option<Retention>,
    pub legal_hold: Option<bool>,
    /// The copy is the destination key's S3 null version (see `NewFile::null_version`).
    pub null_version: bool,
    /// S3 object ACL grants of the copy (a copy never takes the source's ACL).
    pub grants: Vec<Grant>,
    /// The copy's S3 tags; `None` keeps the source's (S3 `x-amz-tagging-directive: COPY`).
    pub tags: Option<BTreeMap<String, String>>,
}

impl Stowage {
    /// Source version for a copy, after checking read access and the SSE-C key.
    pub(crate) async fn copy_source(
        &self,
        principal: &Principal,
        file_id: &str,
        sse: Option<&EncryptionRequest>,
    ) -> Result<(FileVersion, Bucket)> {
        let source = self
            .meta
            .get_version(file_id)
            .await?
            .filter(|v| v.action == Action::Upload)
            .ok_or_else(|| Error::FileNotFound(format!("Source file not found: {file_id}")))?;
        let bucket = self.bucket(&source.bucket_id).await?;
        if bucket.bucket_type != BucketType::AllPublic || !principal.allows_bucket(&bucket.id) {
            principal.authorize(Capability::ReadFiles, Some(&bucket.id), NameScope::File(&source.name))?;
        }
        self.check_sse_c(&source, sse)?;
        Ok((source, bucket))
    }

    /// An SSE-C object is read only with its key, and SSE-C keys only read SSE-C objects.
    pub fn check_sse_c(&self, version: &FileVersion, sse: Option<&EncryptionRequest>) -> Result<()> {
        let given = sse.map(EncryptionRequest::resolve).transpose()?;
        match (&version.encryption, given) {
            (Encryption::SseC { key_md5 }, Some(Encryption::SseC { key_md5: given })) if given == *key_md5 => Ok(()),
            (Encryption::SseC { .. }, Some(Encryption::SseC { .. })) => {
                Err(Error::SseCKey("The SSE-C key does not match the file's key".into()))
            }
            (Encryption::SseC { .. }, _) => {
                Err(Error::SseCKey("The file is encrypted with a customer key (SSE-C): send it to read the file".into()))
            }
            (_, Some(Encryption::SseC { .. })) => Err(Error::SseCKey("The file is not encrypted with a customer key (SSE-C)".into())),
            _ => Ok(()),
        }
    }

    pub async fn copy_file(&self, principal: &Principal, req: CopyRequest) -> Result<FileVersion> {
        let (source, _) = self.copy_source(principal, &req.source_file_id, req.source_encryption.as_ref()).await?;
        let req_source_encryption = req.source_encryption.clone();
        let dest_bucket_id = req.destination_bucket_id.clone().unwrap_or_else(|| source.bucket_id.clone());
        principal.authorize(Capability::WriteFiles, Some(&dest_bucket_id), NameScope::File(&req.name))?;
        let dest = self.bucket(&dest_bucket_id).await?;
        let (offset, len) = match &req.range {
            Some(range) => range.resolve(source.size)?,
            None => (0, source.size),
        };
        let whole = offset == 0 && len == source.size;
        if len > MAX_SIMPLE_FILE {
            return Err(Error::SourceTooLarge(len));
        }
        let (content_type, info) = match req.directive {
            MetadataDirective::Copy => (source.content_type.clone(), source.info.clone()),
            MetadataDirective::Replace { content_type, info } => (content_type, info),
        };
        let new_file = NewFile {
            bucket_id: dest.id.clone(),
            name: req.name,
            content_type,
            info,
            encryption: req.destination_encryption,
            retention: req.retention,
            legal_hold: req.legal_hold,
            custom_timestamp: None,
            expected_md5: None,
            tags: req.tags.unwrap_or_else(|| source.tags.clone()),
            null_version: req.null_version,
            grants: req.grants,
            condition: None,
            checksum_algorithm: None,
            checksum_full_object: false,
        };
        let prepared = self.prepare_new_file(&dest, &new_file, self.now())?;
        let source_key = req_source_encryption.as_ref().and_then(EncryptionRequest::customer_key);
        let body = self.read_content(&source, offset, len, source_key.as_deref()).await?;
        let StoredBlob { id: blob_id, digests, salt, .. } =
            self.store_blob(body, false, &prepared.encryption, new_file.encryption.as_ref(), Some(len)).await?;
        let body = NewBody {
            size: digests.len,
            sha1: Some(digests.sha1_hex),
            md5: Some(digests.md5_hex),
            content: Content::Blob { id: blob_id, salt },
            // A whole-object copy has the source's bytes, so the source's verified checksums still hold.
            checksums: if whole { source.checksums.clone() } else { Checksums::new() },
        };
        let version = self.new_version(new_file, prepared, Action::Upload, body);
        self.commit_new_version(&version, None).await?;
        self.emit(EventType::Copy, &version).await;
        Ok(version)
    }
}
