//! Encryption at rest (SSE-B2 with a server key, SSE-C with the client's key).
//!
//! A sealed blob is the plaintext cut into 64 KiB segments, each encrypted with AES-256-GCM and followed by
//! its 16-byte tag. Every blob gets its own key, derived from the root key (server or customer) and a random
//! salt kept in metadata, so segment numbers can serve as nonces; segments make ranged reads cheap: only the
//! segments a range touches are read and opened.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::{Aes256Gcm, KeyInit};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::store::ByteStream;

pub const SEGMENT: usize = 64 * 1024;
const TAG: usize = 16;
const SEALED_SEGMENT: usize = SEGMENT + TAG;

/// A per-blob AES-256 key.
#[derive(Clone)]
pub struct BlobKey(Aes256Gcm);

impl BlobKey {
    /// Derives the key of one blob from a root key (the server's or an SSE-C customer's) and its salt.
    pub fn derive(root: &[u8], purpose: &str, salt: &[u8]) -> Self {
        // HMAC takes keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(root).unwrap_or_else(|_| unreachable!());
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(salt);
        let key = mac.finalize().into_bytes();
        BlobKey(Aes256Gcm::new(&key))
    }
}

fn nonce(segment: u64) -> GenericArray<u8, aes_gcm::aead::consts::U12> {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&segment.to_be_bytes());
    GenericArray::clone_from_slice(&n)
}

/// Stored length of `plain` bytes once sealed.
pub fn sealed_len(plain: u64) -> u64 {
    plain + plain.div_ceil(SEGMENT as u64) * TAG as u64
}

/// Which sealed bytes hold plaintext `[offset, offset + len)`: (sealed offset, sealed length, first
/// segment number, plaintext bytes to drop from the first opened segment).
pub fn sealed_range(offset: u64, len: u64, plain_size: u64) -> (u64, u64, u64, usize) {
    let first = offset / SEGMENT as u64;
    let last_byte = (offset + len).min(plain_size).saturating_sub(1);
    let last = last_byte / SEGMENT as u64;
    let start = first * SEALED_SEGMENT as u64;
    let end = (sealed_len(plain_size)).min((last + 1) * SEALED_SEGMENT as u64);
    (start, end - start, first, (offset - first * SEGMENT as u64) as usize)
}

struct Cut {
    inner: ByteStream,
    buf: BytesMut,
    done: bool,
}

impl Cut {
    /// Fills the buffer to `size` bytes (or to the end of the stream).
    async fn fill(&mut self, size: usize) -> std::io::Result<()> {
        while self.buf.len() < size && !self.done {
            match self.inner.next().await {
                Some(chunk) => self.buf.extend_from_slice(&chunk?),
                None => self.done = true,
            }
        }
        Ok(())
    }
}

/// Encrypts a plaintext stream segment by segment.
pub fn seal(inner: ByteStream, key: BlobKey) -> ByteStream {
    let state = (Cut { inner, buf: BytesMut::new(), done: false }, key, 0u64, false);
    Box::pin(futures::stream::unfold(state, |(mut cut, key, segment, failed)| async move {
        if failed {
            return None;
        }
        if let Err(e) = cut.fill(SEGMENT).await {
            return Some((Err(e), (cut, key, segment, true)));
        }
        if cut.buf.is_empty() {
            return None;
        }
        let take = cut.buf.len().min(SEGMENT);
        let mut block = cut.buf.split_to(take);
        let sealed = key.0.encrypt_in_place_detached(&nonce(segment), b"", &mut block).map(|tag| {
            block.extend_from_slice(&tag);
            block.freeze()
        });
        let item = sealed.map_err(|_| std::io::Error::other("encryption failed"));
        let failed = item.is_err();
        Some((item, (cut, key, segment + 1, failed)))
    }))
}

/// Decrypts sealed segments starting at segment `first`, dropping `skip` plaintext bytes at the start and
/// yielding `len` plaintext bytes in all. A tampered or truncated segment ends the stream with an error.
pub fn open(inner: ByteStream, key: BlobKey, first: u64, skip: usize, len: u64) -> ByteStream {
    let state = (Cut { inner, buf: BytesMut::new(), done: false }, key, first, skip, len, false);
    Box::pin(futures::stream::unfold(state, |(mut cut, key, segment, skip, remaining, failed)| async move {
        if failed || remaining == 0 {
            return None;
        }
        if let Err(e) = cut.fill(SEALED_SEGMENT).await {
            return Some((Err(e), (cut, key, segment, 0, 0, true)));
        }
        if cut.buf.len() <= TAG {
            let err = std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "sealed blob is truncated");
            return Some((Err(err), (cut, key, segment, 0, 0, true)));
        }
        let take = cut.buf.len().min(SEALED_SEGMENT);
        let mut block = cut.buf.split_to(take);
        let tag = block.split_off(block.len() - TAG);
        if key.0.decrypt_in_place_detached(&nonce(segment), b"", &mut block, GenericArray::from_slice(&tag)).is_err() {
            let err = std::io::Error::new(std::io::ErrorKind::InvalidData, "sealed blob failed authentication");
            return Some((Err(err), (cut, key, segment, 0, 0, true)));
        }
        let mut plain: Bytes = block.freeze();
        plain = plain.slice(skip.min(plain.len())..);
        if plain.len() as u64 > remaining {
            plain.truncate(remaining as usize);
        }
        let remaining = remaining - plain.len() as u64;
        Some((Ok(plain), (cut, key, segment + 1, 0, remaining, false)))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    fn stream_of(data: &[u8], chunk: usize) -> ByteStream {
        let chunks: Vec<std::io::Result<Bytes>> = data.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        Box::pin(futures::stream::iter(chunks))
    }

    async fn collect(s: ByteStream) -> std::io::Result<Vec<u8>> {
        let parts: Vec<Bytes> = s.try_collect().await?;
        Ok(parts.concat())
    }

    #[tokio::test]
    async fn seal_then_open_any_range() {
        let data: Vec<u8> = (0..(SEGMENT * 3 + 1234)).map(|i| (i * 7 % 251) as u8).collect();
        let key = BlobKey::derive(b"root", "test", b"salt");
        let sealed = collect(seal(stream_of(&data, 10_000), key.clone())).await.expect("seal");
        assert_eq!(sealed.len() as u64, sealed_len(data.len() as u64));
        assert_ne!(&sealed[..100], &data[..100]);
        for (offset, len) in [(0u64, data.len() as u64), (5, 10), (SEGMENT as u64 - 3, 10), (SEGMENT as u64 * 3, 1234), (100_000, 80_000)] {
            let (at, n, first, skip) = sealed_range(offset, len, data.len() as u64);
            let slice = sealed[at as usize..(at + n) as usize].to_vec();
            let plain = collect(open(stream_of(&slice, 7000), key.clone(), first, skip, len)).await.expect("open");
            assert_eq!(plain, data[offset as usize..(offset + len) as usize].to_vec(), "range {offset}+{len}");
        }
        let wrong = BlobKey::derive(b"other", "test", b"salt");
        assert!(collect(open(stream_of(&sealed, 9999), wrong, 0, 0, data.len() as u64)).await.is_err());
        let mut tampered = sealed.clone();
        tampered[70_000] ^= 1;
        assert!(collect(open(stream_of(&tampered, 9999), key, 0, 0, data.len() as u64)).await.is_err());
    }

    #[tokio::test]
    async fn empty_plaintext_seals_to_nothing() {
        let key = BlobKey::derive(b"root", "test", b"salt");
        assert!(collect(seal(stream_of(b"", 1), key)).await.expect("seal").is_empty());
        assert_eq!(sealed_len(0), 0);
    }
}

/// Marks an application key secret stored sealed; secrets stored before sealing existed have no prefix.
const SECRET_PREFIX: &str = "sealed1:";
const SECRET_SALT: usize = 16;

/// Seals an application key secret for the metadata store: AES-256-GCM under a key derived from the
/// master key and a random salt, bound to the key id (so a sealed secret cannot be moved to another key).
pub fn seal_secret(master: &[u8], key_id: &str, secret: &str) -> String {
    match seal_bytes(master, "app-key-secret", key_id, secret.as_bytes()) {
        Some(sealed) => format!("{SECRET_PREFIX}{sealed}"),
        None => secret.to_string(),
    }
}

/// The secret of a stored key: opens a sealed one, passes an unsealed (older) one through.
pub fn open_secret(master: &[u8], key_id: &str, stored: &str) -> Option<String> {
    let Some(encoded) = stored.strip_prefix(SECRET_PREFIX) else { return Some(stored.to_string()) };
    String::from_utf8(open_bytes(master, "app-key-secret", key_id, encoded)?).ok()
}

/// Seals a KMS key's material under the master key, bound to the key id.
pub fn seal_kms_key(master: &[u8], key_id: &str, material: &[u8]) -> crate::Result<String> {
    seal_bytes(master, "kms-key", key_id, material).ok_or_else(|| crate::Error::internal("sealing a KMS key failed"))
}

/// Opens what `seal_kms_key` sealed; fails under another master key or key id.
pub fn open_kms_key(master: &[u8], key_id: &str, sealed: &str) -> crate::Result<Vec<u8>> {
    open_bytes(master, "kms-key", key_id, sealed)
        .ok_or_else(|| crate::Error::internal(format!("KMS key {key_id} does not open with this server's master key")))
}

/// AES-256-GCM under a key derived from the master key, a purpose and a random salt, with `id` as
/// associated data: base64 (no padding) of salt and ciphertext.
fn seal_bytes(master: &[u8], purpose: &str, id: &str, plain: &[u8]) -> Option<String> {
    use base64::Engine;
    let salt: [u8; SECRET_SALT] = rand::random();
    let key = BlobKey::derive(master, purpose, &salt);
    let mut sealed = plain.to_vec();
    // One message per derived key, so a fixed nonce is safe; encryption into a Vec cannot run out of room.
    key.0.encrypt_in_place(&nonce(0), id.as_bytes(), &mut sealed).ok()?;
    let mut stored = salt.to_vec();
    stored.extend_from_slice(&sealed);
    Some(base64::engine::general_purpose::STANDARD_NO_PAD.encode(stored))
}

fn open_bytes(master: &[u8], purpose: &str, id: &str, encoded: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded).ok()?;
    if bytes.len() < SECRET_SALT + TAG {
        return None;
    }
    let (salt, sealed) = bytes.split_at(SECRET_SALT);
    let key = BlobKey::derive(master, purpose, salt);
    let mut plain = sealed.to_vec();
    key.0.decrypt_in_place(&nonce(0), id.as_bytes(), &mut plain).ok()?;
    Some(plain)
}

/// Whether a stored secret is sealed.
pub fn is_sealed_secret(stored: &str) -> bool {
    stored.starts_with(SECRET_PREFIX)
}

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn secrets_round_trip_bound_to_their_key_and_master() {
        let master = [7u8; 32];
        let sealed = seal_secret(&master, "005abc", "K005secret");
        assert!(is_sealed_secret(&sealed) && !sealed.contains("K005secret"));
        assert_ne!(sealed, seal_secret(&master, "005abc", "K005secret"), "a fresh salt each time");
        assert_eq!(open_secret(&master, "005abc", &sealed).as_deref(), Some("K005secret"));
        assert_eq!(open_secret(&master, "005other", &sealed), None, "bound to the key id");
        assert_eq!(open_secret(&[8u8; 32], "005abc", &sealed), None, "needs the same master key");
        assert_eq!(open_secret(&master, "005abc", "plain-old-secret").as_deref(), Some("plain-old-secret"));
    }
}

#[cfg(test)]
mod kms_key_tests {
    use super::*;

    #[test]
    fn sealed_kms_keys_open_only_with_their_master_key_and_id() {
        let sealed = seal_kms_key(b"master", "key-1", &[7u8; 32]).expect("seal");
        assert_eq!(open_kms_key(b"master", "key-1", &sealed).expect("open"), vec![7u8; 32]);
        assert!(open_kms_key(b"other master", "key-1", &sealed).is_err());
        assert!(open_kms_key(b"master", "key-2", &sealed).is_err());
    }
}
