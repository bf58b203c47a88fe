//! What the nodes of one deployment agree on and share through the metadata store: the master key (by a
//! check value, never the key), leases for jobs that run once per deployment, console sessions.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{Stowage, wall_clock};
use crate::error::{Error, Result};
use crate::model::Millis;

const MASTER_KEY_CHECK: &str = "master_key_check";

/// Console session ids are stored hashed: the table alone does not let anyone sign in.
fn session_key(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

impl Stowage {
    /// Joins the deployment the metadata store belongs to: the first node settles a check value of its
    /// master key, and a node whose key differs is refused (it could open neither the stored key secrets
    /// nor SSE-B2 files, and would answer with errors instead).
    pub async fn join_deployment(&self) -> Result<()> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.config.master_key.0).map_err(Error::internal)?;
        mac.update(b"stowage master key check v1");
        let check = mac.finalize().into_bytes().to_vec();
        let settled = self.meta.settle(MASTER_KEY_CHECK, &check).await?;
        if settled != check {
            return Err(Error::invalid(
                "this node's master key differs from the one the deployment was created with: give every node the same \
                 --master-key (STOWAGE_MASTER_KEY)",
            ));
        }
        Ok(())
    }

    /// Whether the key exists (its secret is not opened).
    pub async fn key_exists(&self, key_id: &str) -> Result<bool> {
        Ok(self.meta.get_key(key_id).await?.is_some())
    }

    /// Takes or renews the lease `name` for `holder` for `ttl` milliseconds of wall-clock time; true
    /// while `holder` may run the job the lease guards.
    pub async fn hold_lease(&self, name: &str, holder: &str, ttl: Millis) -> Result<bool> {
        let now = wall_clock();
        self.meta.acquire_lease(name, holder, now, now + ttl).await
    }

    pub async fn save_session(&self, id: &str, record: &str, expires: Millis) -> Result<()> {
        self.meta.put_session(&session_key(id), record, expires, self.now()).await
    }

    pub async fn load_session(&self, id: &str) -> Result<Option<String>> {
        self.meta.get_session(&session_key(id), self.now()).await
    }

    pub async fn end_session(&self, id: &str) -> Result<()> {
        self.meta.delete_session(&session_key(id)).await
    }
}
