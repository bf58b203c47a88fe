//! Stowage's domain core: buckets, file versions, application keys and capabilities, written against
//! the [`store::MetadataStore`] and [`store::BlobStore`] traits. No HTTP, no SQL, no wire formats here.

pub mod auth;
pub mod capacity;
pub mod conditions;
pub mod cors;
pub mod error;
pub mod events;
pub mod hashing;
pub mod lifecycle;
pub mod model;
pub mod names;
pub mod policy;
pub mod request;
pub mod service;
pub mod store;
pub mod store_faults;
pub mod store_timing;

pub use error::{Error, Result};
pub use service::{Config, Stowage};
pub mod sealing;
