pub mod blob;
mod cache;
#[cfg(test)]
mod conformance;
pub mod sqlite;
pub mod tiered;
