//! Stowage's domain core: buckets, file versions, application keys and capabilities, written against
//! the [`store::MetadataStore`] and [`store::BlobStore`] traits. No HTTP, no SQL, no wire formats here.

/// Serializes an enum as its name (`$name(self) -> &'static str`) and reads it back with `$parse`,
/// refusing names it does not know: for enums stored and sent by their wire names.
macro_rules! serde_by_name {
    ($type:ty, $name:ident, $parse:ident, $what:literal) => {
        impl serde::Serialize for $type {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.$name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
                let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                <$type>::$parse(&name).ok_or_else(|| serde::de::Error::custom(format!(concat!("unknown ", $what, ": {}"), name)))
            }
        }
    };
}

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
