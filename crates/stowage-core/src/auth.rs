//! Application-key capabilities, stateless auth tokens, and the one place where access is decided.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::model::{AppKey, Millis};

macro_rules! capabilities {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// A B2 capability. B2's names are canonical; the S3 front-end maps its operations onto them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Capability { $($variant),+ }

        impl Capability {
            pub const ALL: &'static [Capability] = &[$(Capability::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Capability::$variant => $name),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($name => Some(Capability::$variant),)+ _ => None }
            }
        }
    };
}

// Stored and sent by B2's name.
serde_by_name!(Capability, as_str, parse, "capability");

capabilities! {
    ListKeys => "listKeys",
    WriteKeys => "writeKeys",
    DeleteKeys => "deleteKeys",
    ListBuckets => "listBuckets",
    ListAllBucketNames => "listAllBucketNames",
    ReadBuckets => "readBuckets",
    WriteBuckets => "writeBuckets",
    DeleteBuckets => "deleteBuckets",
    ReadBucketEncryption => "readBucketEncryption",
    WriteBucketEncryption => "writeBucketEncryption",
    ReadBucketRetentions => "readBucketRetentions",
    WriteBucketRetentions => "writeBucketRetentions",
    ReadFileRetentions => "readFileRetentions",
    WriteFileRetentions => "writeFileRetentions",
    ReadFileLegalHolds => "readFileLegalHolds",
    WriteFileLegalHolds => "writeFileLegalHolds",
    ReadBucketReplications => "readBucketReplications",
    WriteBucketReplications => "writeBucketReplications",
    BypassGovernance => "bypassGovernance",
    ListFiles => "listFiles",
    ReadFiles => "readFiles",
    ShareFiles => "shareFiles",
    WriteFiles => "writeFiles",
    DeleteFiles => "deleteFiles",
    ReadBucketNotifications => "readBucketNotifications",
    WriteBucketNotifications => "writeBucketNotifications",
    ReadBucketLogging => "readBucketLogging",
    WriteBucketLogging => "writeBucketLogging",
    ReadBucketLifecycleRules => "readBucketLifecycleRules",
    WriteBucketLifecycleRules => "writeBucketLifecycleRules",
}

impl Capability {
    /// Capabilities a bucket-restricted key may hold (B2 refuses account-level ones on such keys).
    pub fn is_bucket_level(self) -> bool {
        !matches!(
            self,
            Capability::ListKeys
                | Capability::WriteKeys
                | Capability::DeleteKeys
                | Capability::WriteBuckets
                | Capability::DeleteBuckets
                | Capability::ReadBucketReplications
                | Capability::WriteBucketReplications
        )
    }
}

/// What a token may be used for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "s")]
pub enum TokenScope {
    /// An account authorization: everything the key allows.
    #[serde(rename = "a")]
    Account,
    /// An upload URL's token: uploads into one bucket.
    #[serde(rename = "u")]
    Upload { b: String },
    /// An upload-part URL's token: parts of one large file.
    #[serde(rename = "p")]
    UploadPart { f: String },
    /// A download authorization: by-name downloads in one bucket under a prefix.
    #[serde(rename = "d")]
    Download { b: String, n: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct TokenPayload {
    k: String,
    e: Millis,
    #[serde(flatten)]
    scope: TokenScope,
    /// Random nonce so two tokens minted in the same millisecond differ.
    r: u32,
}

const TOKEN_PREFIX: &str = "stw1_";

/// Mints and verifies tokens without server-side state, so any node sharing the secret accepts them.
#[derive(Clone)]
pub struct TokenSigner {
    secret: Vec<u8>,
}

impl TokenSigner {
    pub fn new(secret: Vec<u8>) -> Self {
        TokenSigner { secret }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!());
        mac.update(payload);
        mac
    }

    pub fn mint(&self, key_id: &str, scope: TokenScope, expires: Millis) -> String {
        let payload = TokenPayload { k: key_id.to_string(), e: expires, scope, r: rand::random() };
        let json = serde_json::to_vec(&payload).unwrap_or_default();
        let sig = self.mac(&json).finalize().into_bytes();
        format!("{TOKEN_PREFIX}{}.{}", URL_SAFE_NO_PAD.encode(&json), URL_SAFE_NO_PAD.encode(sig))
    }

    /// Returns (key id, scope, expiry) of a well-signed token; expiry is checked by the caller.
    pub fn verify(&self, token: &str) -> Result<(String, TokenScope, Millis)> {
        let bad = || Error::BadAuthToken("Invalid authorization token".into());
        let body = token.strip_prefix(TOKEN_PREFIX).ok_or_else(bad)?;
        let (payload_b64, sig_b64) = body.split_once('.').ok_or_else(bad)?;
        let json = URL_SAFE_NO_PAD.decode(payload_b64).map_err(|_| bad())?;
        let sig = URL_SAFE_NO_PAD.decode(sig_b64).map_err(|_| bad())?;
        self.mac(&json).verify_slice(&sig).map_err(|_| bad())?;
        let payload: TokenPayload = serde_json::from_slice(&json).map_err(|_| bad())?;
        Ok((payload.k, payload.scope, payload.e))
    }
}

/// The authenticated caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub key: AppKey,
    pub scope: TokenScope,
}

/// Which names an operation touches, for the key's name-prefix restriction.
#[derive(Debug, Clone, Copy)]
pub enum NameScope<'a> {
    /// The operation is not about file names (bucket settings, keys).
    None,
    /// One file name.
    File(&'a str),
    /// A listing under a prefix.
    Prefix(&'a str),
}

impl Principal {
    /// An unsigned caller to whom a bucket policy or ACL grants `capabilities` in one bucket: it acts as a
    /// key restricted to that bucket holding exactly those, so every later check applies to it unchanged.
    pub fn granted(bucket_id: &str, capabilities: &[Capability]) -> Principal {
        Principal {
            key: AppKey {
                key_id: String::new(),
                secret: String::new(),
                name: "anonymous (granted by the bucket's policy or ACL)".into(),
                capabilities: capabilities.to_vec(),
                bucket_ids: Some(vec![bucket_id.to_string()]),
                name_prefix: None,
                expires: None,
                created: 0,
            },
            scope: TokenScope::Account,
        }
    }

    pub fn has(&self, cap: Capability) -> bool {
        self.key.capabilities.contains(&cap)
    }

    pub fn allows_bucket(&self, bucket_id: &str) -> bool {
        self.key.bucket_ids.as_ref().is_none_or(|ids| ids.iter().any(|b| b == bucket_id))
    }

    /// The single access decision: capability, bucket restriction, name-prefix restriction and token scope.
    pub fn authorize(&self, cap: Capability, bucket_id: Option<&str>, names: NameScope<'_>) -> Result<()> {
        if !matches!(self.scope, TokenScope::Account) {
            return Err(Error::unauthorized("this token may only be used for the URL it was issued with"));
        }
        if !self.has(cap) {
            return Err(Error::unauthorized(format!(
                "application key lacks the {} capability: use a key that has it (b2_create_key with capabilities [\"{}\"])",
                cap.as_str(),
                cap.as_str()
            )));
        }
        if let Some(bucket_id) = bucket_id {
            if !self.allows_bucket(bucket_id) {
                return Err(Error::unauthorized(format!(
                    "application key is not allowed to access this bucket: it is restricted to bucket {}; use a key for bucket {bucket_id}",
                    self.key.bucket_ids.as_deref().unwrap_or_default().join(", ")
                )));
            }
        } else if self.key.bucket_ids.is_some() && cap_needs_bucket(cap) {
            return Err(Error::unauthorized(
                "application key is restricted to a bucket: name the bucket in the call, or use an unrestricted key",
            ));
        }
        self.check_names(names)
    }

    pub fn check_names(&self, names: NameScope<'_>) -> Result<()> {
        let Some(prefix) = self.key.name_prefix.as_deref().filter(|p| !p.is_empty()) else {
            return Ok(());
        };
        let ok = match names {
            NameScope::None => true,
            NameScope::File(name) => name.starts_with(prefix),
            NameScope::Prefix(p) => p.starts_with(prefix),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::unauthorized(format!(
                "application key is restricted to names starting with {prefix:?}: use names (or a listing prefix) under it"
            )))
        }
    }

    /// Whether this is an upload token for `bucket_id`, or an account token that may write there.
    pub fn authorize_upload(&self, bucket_id: &str, name: &str) -> Result<()> {
        match &self.scope {
            TokenScope::Upload { b } if b == bucket_id => {}
            TokenScope::Account => {}
            _ => return Err(Error::unauthorized("upload token is not valid for this bucket")),
        }
        if !self.has(Capability::WriteFiles) || !self.allows_bucket(bucket_id) {
            return Err(Error::unauthorized("application key may not write files to this bucket"));
        }
        self.check_names(NameScope::File(name))
    }

    /// By-name downloads accept account tokens with readFiles and download authorizations.
    pub fn authorize_download(&self, bucket_id: &str, name: &str) -> Result<()> {
        match &self.scope {
            TokenScope::Download { b, n } => {
                if b == bucket_id && name.starts_with(n.as_str()) {
                    Ok(())
                } else {
                    Err(Error::unauthorized("download authorization does not cover this file"))
                }
            }
            TokenScope::Account => self.authorize(Capability::ReadFiles, Some(bucket_id), NameScope::File(name)),
            _ => Err(Error::unauthorized("this token may not download files")),
        }
    }
}

fn cap_needs_bucket(cap: Capability) -> bool {
    matches!(cap, Capability::ListFiles | Capability::ReadFiles | Capability::WriteFiles | Capability::DeleteFiles | Capability::ShareFiles)
}

/// Constant-time secret comparison for authorization.
pub fn secrets_match(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_roundtrip_and_tamper() {
        let signer = TokenSigner::new(b"secret".to_vec());
        let token = signer.mint("key1", TokenScope::Upload { b: "bkt".into() }, 42);
        let (k, scope, e) = signer.verify(&token).expect("valid");
        assert_eq!((k.as_str(), e), ("key1", 42));
        assert_eq!(scope, TokenScope::Upload { b: "bkt".into() });
        let mut tampered = token.clone();
        tampered.push('A');
        assert!(signer.verify(&tampered).is_err());
        assert!(TokenSigner::new(b"other".to_vec()).verify(&token).is_err());
        assert!(signer.verify("garbage").is_err());
    }

    #[test]
    fn capability_names_roundtrip() {
        for cap in Capability::ALL {
            assert_eq!(Capability::parse(cap.as_str()), Some(*cap));
        }
        assert_eq!(Capability::ALL.len(), 30);
    }
}

/// A value the caller may or may not read (B2's `isClientAuthorizedToRead`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readable<T> {
    Shown(T),
    Withheld,
}

impl<T> Readable<T> {
    /// The value, or `Unauthorized` naming the capability that reading it needs.
    pub fn required(self, capability: Capability) -> crate::error::Result<T> {
        match self {
            Readable::Shown(value) => Ok(value),
            Readable::Withheld => {
                Err(crate::error::Error::unauthorized(format!("reading this needs the {} capability", capability.as_str())))
            }
        }
    }

    /// The value, or nothing when withheld.
    pub fn shown(self) -> Option<T> {
        match self {
            Readable::Shown(value) => Some(value),
            Readable::Withheld => None,
        }
    }
}

/// What of a version's object lock a caller may read, decided here once for both APIs: retention needs
/// `readFileRetentions`, legal hold `readFileLegalHolds`. Anonymous readers of a public bucket see both,
/// as on B2's download URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockView {
    pub retention: Readable<Option<crate::model::Retention>>,
    pub legal_hold: Readable<Option<bool>>,
}

impl LockView {
    pub fn of(principal: Option<&Principal>, version: &crate::model::FileVersion) -> LockView {
        let may = |cap| principal.is_none_or(|p| p.has(cap));
        LockView {
            retention: if may(Capability::ReadFileRetentions) { Readable::Shown(version.retention) } else { Readable::Withheld },
            legal_hold: if may(Capability::ReadFileLegalHolds) { Readable::Shown(version.legal_hold) } else { Readable::Withheld },
        }
    }
}

/// A bucket's object lock settings, as one value a caller may or may not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketLock<'a> {
    pub enabled: bool,
    pub default_retention: Option<&'a crate::model::DefaultRetention>,
}

/// What of a bucket's settings a caller may read, decided here once for both APIs (B2's bucket JSON and
/// S3's getters): default encryption needs `readBucketEncryption`, object lock (enabled, default
/// retention) `readBucketRetentions`, event notification rules `readBucketNotifications`, replication
/// `readBucketReplications`. Name, type, info, CORS and lifecycle rules come with the bucket itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketView<'a> {
    pub default_encryption: Readable<&'a crate::model::Encryption>,
    pub lock: Readable<BucketLock<'a>>,
    pub notification_rules: Readable<&'a [crate::model::NotificationRule]>,
    /// Replication is not kept: only whether the caller could read it.
    pub replication: Readable<()>,
}

impl<'a> BucketView<'a> {
    pub fn of(principal: &Principal, bucket: &'a crate::model::Bucket) -> BucketView<'a> {
        fn shown<T>(principal: &Principal, capability: Capability, value: T) -> Readable<T> {
            if principal.has(capability) { Readable::Shown(value) } else { Readable::Withheld }
        }
        let lock = BucketLock { enabled: bucket.file_lock_enabled, default_retention: bucket.default_retention.as_ref() };
        BucketView {
            default_encryption: shown(principal, Capability::ReadBucketEncryption, &bucket.default_encryption),
            lock: shown(principal, Capability::ReadBucketRetentions, lock),
            notification_rules: shown(principal, Capability::ReadBucketNotifications, bucket.notification_rules.as_slice()),
            replication: shown(principal, Capability::ReadBucketReplications, ()),
        }
    }
}
