pub mod blob;
mod cache;
pub mod sqlite;
pub mod tiered;
