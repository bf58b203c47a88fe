//! Reaching PostgreSQL: the connection string parsed once, with TLS when it asks for it.
//!
//! `sslmode=require` (or libpq's `verify-ca` and `verify-full`, which mean the same here) connects over TLS
//! and verifies the server's certificate and host name: against the CA certificates in `sslrootcert=FILE`
//! when given, else against the system's roots. rustls always verifies, so `require` is as strict as
//! libpq's `verify-full`. Without it (`disable`, `prefer`, or no `sslmode`) the connection is plain TCP, for
//! a database on a private network. Both URL (`postgres://…?sslmode=require`) and key=value strings work.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use stowage_core::{Error, Result};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

/// A PostgreSQL server as a node reaches it.
#[derive(Clone)]
pub(crate) struct Database {
    pub config: tokio_postgres::Config,
    tls: Option<MakeRustlsConnect>,
}

impl Database {
    /// Parses a connection string; `connect_timeout` bounds every connection attempt.
    pub(crate) fn parse(url: &str, connect_timeout: Duration) -> Result<Self> {
        let (rest, wants_tls, ca_file) = take_tls_options(url)?;
        let mut config = tokio_postgres::Config::from_str(&rest).map_err(|e| Error::invalid(format!("invalid PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("stowage");
        }
        let tls = if wants_tls {
            config.ssl_mode(SslMode::Require);
            Some(MakeRustlsConnect::new(client_config(ca_file)?))
        } else {
            None
        };
        Ok(Database { config, tls })
    }

    /// One connection, its driver running on the runtime until the client is dropped.
    pub(crate) async fn connect(&self) -> std::result::Result<(Client, tokio::task::JoinHandle<()>), tokio_postgres::Error> {
        Ok(match &self.tls {
            Some(tls) => {
                let (client, connection) = self.config.connect(tls.clone()).await?;
                (client, tokio::spawn(async move { drive(connection.await) }))
            }
            None => {
                let (client, connection) = self.config.connect(NoTls).await?;
                (client, tokio::spawn(async move { drive(connection.await) }))
            }
        })
    }

    /// A connection pool's manager for this server.
    pub(crate) fn manager(&self) -> Manager {
        let recycling = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        match &self.tls {
            Some(tls) => Manager::from_config(self.config.clone(), tls.clone(), recycling),
            None => Manager::from_config(self.config.clone(), NoTls, recycling),
        }
    }

    /// A connection that also forwards the server's asynchronous messages (notifications) to `messages`.
    pub(crate) async fn connect_listening(
        &self,
        messages: tokio::sync::mpsc::UnboundedSender<tokio_postgres::AsyncMessage>,
    ) -> std::result::Result<(Client, tokio::task::JoinHandle<()>), tokio_postgres::Error> {
        use futures::StreamExt;
        macro_rules! forward {
            ($connection:expr) => {{
                let mut connection = $connection;
                tokio::spawn(async move {
                    let mut stream = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(Ok(message)) = stream.next().await {
                        if messages.send(message).is_err() {
                            break;
                        }
                    }
                })
            }};
        }
        Ok(match &self.tls {
            Some(tls) => {
                let (client, connection) = self.config.connect(tls.clone()).await?;
                (client, forward!(connection))
            }
            None => {
                let (client, connection) = self.config.connect(NoTls).await?;
                (client, forward!(connection))
            }
        })
    }
}

fn drive(outcome: std::result::Result<(), tokio_postgres::Error>) {
    if let Err(e) = outcome {
        tracing::debug!("PostgreSQL connection ended: {e}");
    }
}

/// Removes the TLS options tokio-postgres does not take (`sslrootcert`, libpq's `verify-*` modes) and says
/// whether TLS is wanted and which CA file to trust.
fn take_tls_options(url: &str) -> Result<(String, bool, Option<PathBuf>)> {
    let (mut wants_tls, mut ca_file) = (false, None);
    let mut keep = |key: &str, value: &str| -> Result<Option<String>> {
        match key {
            "sslrootcert" => {
                ca_file = Some(PathBuf::from(value));
                Ok(None)
            }
            "sslmode" => match value {
                "require" | "verify-ca" | "verify-full" => {
                    wants_tls = true;
                    Ok(None)
                }
                "disable" | "allow" | "prefer" => Ok(None),
                other => Err(Error::invalid(format!("invalid PostgreSQL URL: unknown sslmode {other:?}"))),
            },
            _ => Ok(Some(format!("{key}={value}"))),
        }
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    kept.extend(keep(key, value)?);
                }
                if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) }
            }
            None => url.to_string(),
        }
    } else {
        let mut kept = Vec::new();
        for token in url.split_whitespace() {
            match token.split_once('=') {
                Some((key, value)) => kept.extend(keep(key.trim(), value.trim())?),
                None => kept.push(token.to_string()),
            }
        }
        kept.join(" ")
    };
    Ok((rest, wants_tls, ca_file))
}

/// rustls with the CA certificates of `ca_file`, or the system's roots.
fn client_config(ca_file: Option<PathBuf>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    match &ca_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| Error::invalid(format!("sslrootcert {}: {e}", path.display())))?;
            for cert in certs {
                roots.add(cert).map_err(|e| Error::invalid(format!("sslrootcert {}: {e}", path.display())))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err(Error::invalid(match ca_file {
            Some(path) => format!("sslrootcert {} holds no certificate", path.display()),
            None => "sslmode=require: the system has no CA certificates; name the server's CA with sslrootcert=FILE".to_string(),
        }));
    }
    // The provider is named rather than taken from the process default: more than one is compiled in.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_are_taken_out_of_either_form() {
        let (rest, tls, ca) =
            take_tls_options("postgres://u@h:5432/db?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=x").expect("url");
        assert_eq!((rest.as_str(), tls, ca), ("postgres://u@h:5432/db?application_name=x", true, Some(PathBuf::from("/etc/ca.pem"))));
        let (rest, tls, ca) = take_tls_options("host=h dbname=db sslmode=prefer").expect("key=value");
        assert_eq!((rest.as_str(), tls, ca), ("host=h dbname=db", false, None));
        assert_eq!(take_tls_options("postgres://h/db").expect("plain"), ("postgres://h/db".to_string(), false, None));
        assert!(take_tls_options("postgres://h/db?sslmode=sometimes").is_err());
        assert!(Database::parse("postgres://h/db?sslmode=require&sslrootcert=/no/such/file", Duration::from_secs(1)).is_err());
    }
}
