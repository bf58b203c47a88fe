//! A client for the [Backblaze B2 Native API](https://www.backblaze.com/apidocs/introduction-to-the-b2-native-api),
//! for B2 itself or any server that speaks it (such as Stowage).
//!
//! - **Authorization is handled for you**: the first call authorizes, every task shares that authorization,
//!   and an expired one is made again once.
//! - **B2's retry model**: 408, 429 and 5xx answers and broken connections are tried again with exponential
//!   back-off and jitter (or the server's `Retry-After`); an upload that fails gets a **new** upload URL.
//!   Other errors come back at once as [`Error::Api`], with B2's `status`, `code` and `message`.
//! - **Streaming transfers**: files are read by offset a part at a time and hashed as they go out; large
//!   files upload in parallel parts, resume from the parts already on the server and record
//!   `large_file_sha1`; any `AsyncRead` goes up a part at a time ([`Client::upload_reader`]); downloads
//!   come down in parallel ranges, a broken range is fetched again, and the SHA-1 is checked.
//! - **Per-call options**: [`Client::with_options`] gives a handle whose every call takes a timeout,
//!   headers or a retry policy of its own.
//! - **Typed calls** for keys, buckets (CORS, lifecycle, encryption, object lock, notification rules),
//!   files and versions, large files and parts, copies, download authorizations, retention and legal hold;
//!   listings page for you as streams; [`Client::call`] reaches any other call by name.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use stowage_client::{Client, ClientConfig, FileMetadata};
//!
//! # async fn example() -> stowage_client::Result<()> {
//! // B2 itself: ClientConfig::b2(key_id, key). A Stowage server: its URL as the realm.
//! let client = Client::new(ClientConfig::new("http://127.0.0.1:9000", "key-id", "key"))?;
//! let bucket = client.bucket_by_name("photos").await?.expect("the bucket exists");
//! client.upload_bytes(&bucket.bucket_id, "hello.txt", "hello".into(), &FileMetadata::default()).await?;
//! let names: Vec<_> = client.list_file_names(&bucket.bucket_id, "").try_collect().await?;
//! assert!(names.iter().any(|f| f.file_name == "hello.txt"));
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod client;
mod config;
mod error;
mod transfer;
mod types;

pub use client::Client;
pub use config::{B2_REALM, CallOptions, ClientConfig, RetryPolicy};
pub use error::{Error, Result};
pub use transfer::{Download, Progress, UploadOptions};
pub use types::*;

/// The README's example compiles (it is a doc test).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
