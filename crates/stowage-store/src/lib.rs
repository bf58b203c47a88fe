pub mod blob;
mod cache;
#[cfg(test)]
mod conformance;
pub mod copy;
pub mod migrations;
mod pg_batch;
mod pg_connect;
pub mod postgres;
mod records;
pub mod s3_blobs;
pub mod sqlite;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tiered;
