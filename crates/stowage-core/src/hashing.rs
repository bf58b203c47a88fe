//! Hashing while bytes stream through, so a body is read once and never held whole in memory.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::Stream;
use md5::Md5;
use sha1::{Digest, Sha1};

use crate::store::ByteStream;

#[derive(Default)]
struct Hashers {
    sha1: Sha1,
    md5: Md5,
    len: u64,
}

/// SHA-1 and MD5 of what went through a [`hashing`] stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub sha1_hex: String,
    pub md5_hex: String,
    pub len: u64,
}

#[derive(Clone, Default)]
pub struct DigestHandle(Arc<Mutex<Option<Hashers>>>);

impl DigestHandle {
    /// The digests, once the stream has been consumed.
    pub fn finish(&self) -> Option<Digests> {
        let hashers = self.0.lock().ok()?.take()?;
        Some(Digests { sha1_hex: hex::encode(hashers.sha1.finalize()), md5_hex: hex::encode(hashers.md5.finalize()), len: hashers.len })
    }
}

struct Hashing {
    inner: ByteStream,
    state: DigestHandle,
}

impl Stream for Hashing {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled
            && let Ok(mut guard) = self.state.0.lock()
            && let Some(h) = guard.as_mut()
        {
            h.sha1.update(chunk);
            h.md5.update(chunk);
            h.len += chunk.len() as u64;
        }
        polled
    }
}

/// Wraps `inner` so that everything read through it is hashed; read the digests from the handle afterwards.
pub fn hashing(inner: ByteStream) -> (ByteStream, DigestHandle) {
    let state = DigestHandle(Arc::new(Mutex::new(Some(Hashers::default()))));
    (Box::pin(Hashing { inner, state: state.clone() }), state)
}

/// The 40 bytes held back from a `hex_digits_at_end` body.
#[derive(Clone, Default)]
pub struct TrailerHandle(Arc<Mutex<Vec<u8>>>);

impl TrailerHandle {
    pub fn take(&self) -> Vec<u8> {
        self.0.lock().map(|mut t| std::mem::take(&mut *t)).unwrap_or_default()
    }
}

struct HoldBackTail {
    inner: ByteStream,
    tail: BytesMut,
    keep: usize,
    out: TrailerHandle,
}

impl Stream for HoldBackTail {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match self.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    self.tail.extend_from_slice(&chunk);
                    let keep = self.keep;
                    if self.tail.len() > keep {
                        let emit = self.tail.len() - keep;
                        return Poll::Ready(Some(Ok(self.tail.split_to(emit).freeze())));
                    }
                }
                Poll::Ready(None) => {
                    let tail = std::mem::take(&mut self.tail);
                    if let Ok(mut out) = self.out.0.lock() {
                        *out = tail.to_vec();
                    }
                    return Poll::Ready(None);
                }
                other => return other,
            }
        }
    }
}

/// Passes all but the last `keep` bytes through; the held-back tail is in the handle at the end.
pub fn hold_back_tail(inner: ByteStream, keep: usize) -> (ByteStream, TrailerHandle) {
    let out = TrailerHandle::default();
    (Box::pin(HoldBackTail { inner, tail: BytesMut::new(), keep, out: out.clone() }), out)
}

/// Fails a body that sends nothing for `idle`: a stalled client must not hold an upload, and the writer
/// thread behind it, forever.
pub fn stall_limited(inner: ByteStream, idle: std::time::Duration) -> ByteStream {
    Box::pin(futures::stream::unfold(Some(inner), move |state| async move {
        let mut inner = state?;
        match tokio::time::timeout(idle, futures::StreamExt::next(&mut inner)).await {
            Ok(Some(item)) => Some((item, Some(inner))),
            Ok(None) => None,
            Err(_) => {
                let stalled = std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no body data arrived for {} s", idle.as_secs()));
                Some((Err(stalled), None))
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn chunks(parts: &[&'static [u8]]) -> ByteStream {
        Box::pin(futures::stream::iter(parts.iter().map(|p| Ok(Bytes::from_static(p))).collect::<Vec<_>>()))
    }

    #[tokio::test]
    async fn hashes_what_passes() {
        let (stream, handle) = hashing(chunks(&[b"hello ", b"world"]));
        let collected: Vec<_> = stream.collect().await;
        assert_eq!(collected.len(), 2);
        let d = handle.finish().expect("digests");
        assert_eq!(d.sha1_hex, "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed");
        assert_eq!(d.md5_hex, "5eb63bbbe01eeed093cb22bb8f5acdc3");
        assert_eq!(d.len, 11);
    }

    #[tokio::test]
    async fn holds_back_tail_across_chunks() {
        let (stream, tail) = hold_back_tail(chunks(&[b"abc", b"defgh", b"ij"]), 4);
        let body: Vec<u8> = stream.map(|c| c.expect("chunk").to_vec()).concat().await;
        assert_eq!(body, b"abcdef");
        assert_eq!(tail.take(), b"ghij");
    }
}
