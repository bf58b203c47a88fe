pub mod blob;
pub mod sqlite;
