//! Whom the host's TLS trusts and who it is: roots, CA files, a client identity; and the
//! identity it terminates TLS with on accepted connections.

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

/// The trust and identity the host's TLS client runs with. Cheap to clone.
///
/// [`TlsConfig::default`] trusts the system's roots (`SSL_CERT_FILE` and `SSL_CERT_DIR`
/// override where they are read from, as for OpenSSL); [`TlsConfig::builder`] adds CA files
/// (a private CA, Docker's `--tlscacert`) and a client certificate and key (mutual TLS,
/// Docker's `--tlscert`/`--tlskey`).
#[derive(Clone, Debug)]
pub struct TlsConfig {
    pub(crate) client: Arc<rustls::ClientConfig>,
}

/// Builds a [`TlsConfig`].
#[derive(Debug, Default)]
pub struct TlsConfigBuilder {
    no_system_roots: bool,
    cas: Vec<CertificateDer<'static>>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

/// Why a [`TlsConfig`] could not be built. No variant carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A PEM input held no certificate, or no private key.
    #[error("{what}: no {expected} found in it (PEM expected)")]
    Missing {
        /// Where it was looked for.
        what: String,
        /// What was looked for.
        expected: &'static str,
    },
    /// A PEM input is malformed.
    #[error("{what}: {reason}")]
    Pem {
        /// Where.
        what: String,
        /// Why (never the input itself).
        reason: String,
    },
    /// rustls refused the configuration (e.g. a key that does not match its certificate).
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
}

impl Default for TlsConfig {
    /// The system's roots, no client identity.
    fn default() -> Self {
        static SYSTEM: LazyLock<TlsConfig> = LazyLock::new(|| {
            TlsConfig::builder()
                .build()
                .expect("a configuration of system roots without identity always builds")
        });
        SYSTEM.clone()
    }
}

/// The system's roots, read once per process; unreadable ones are skipped (rustls-native-certs
/// reports them, and a host without any trusts nothing but what the embedder adds).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: LazyLock<Vec<CertificateDer<'static>>> =
        LazyLock::new(|| rustls_native_certs::load_native_certs().certs);
    &ROOTS
}

impl TlsConfig {
    /// A builder starting from the system's roots and no identity.
    pub fn builder() -> TlsConfigBuilder {
        TlsConfigBuilder::default()
    }
}

impl TlsConfigBuilder {
    /// Trust the certificates in the PEM file `path` as roots, beside the others.
    pub fn add_ca_file(self, path: impl AsRef<Path>) -> Result<Self, TlsConfigError> {
        let path = path.as_ref();
        let pem = read(path)?;
        self.add_ca_pem(&pem, &path.display().to_string())
    }

    /// Trust the PEM certificates in `pem` (named `what` in errors) as roots.
    pub fn add_ca_pem(mut self, pem: &[u8], what: &str) -> Result<Self, TlsConfigError> {
        let certs = certificates(pem, what)?;
        self.cas.extend(certs);
        Ok(self)
    }

    /// Trust only the added CAs, not the system's roots.
    pub fn without_system_roots(mut self) -> Self {
        self.no_system_roots = true;
        self
    }

    /// Present the certificate chain in the PEM file `cert` with the private key in the PEM
    /// file `key` when a server asks (mutual TLS).
    pub fn identity_files(
        self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsConfigError> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let (cert_pem, key_pem) = (read(cert)?, read(key)?);
        self.identity_pem(
            &cert_pem,
            &cert.display().to_string(),
            &key_pem,
            &key.display().to_string(),
        )
    }

    /// As [`TlsConfigBuilder::identity_files`], from PEM bytes (named in errors).
    pub fn identity_pem(
        mut self,
        cert: &[u8],
        cert_name: &str,
        key: &[u8],
        key_name: &str,
    ) -> Result<Self, TlsConfigError> {
        self.identity = Some(identity(cert, cert_name, key, key_name)?);
        Ok(self)
    }

    /// The configuration: rustls on ring, TLS 1.2 and 1.3, ALPN none (HTTP/1.1 only).
    pub fn build(self) -> Result<TlsConfig, TlsConfigError> {
        let mut roots = RootCertStore::empty();
        if !self.no_system_roots {
            // A system root rustls cannot parse is skipped, as browsers and curl do.
            roots.add_parsable_certificates(system_roots().iter().cloned());
        }
        for ca in self.cas {
            roots.add(ca)?;
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots);
        let client = match self.identity {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
            None => builder.with_no_client_auth(),
        };
        Ok(TlsConfig {
            client: Arc::new(client),
        })
    }
}

/// The identity the host terminates TLS with on the connections the component accepts (the
/// server side wasi:tls does not have yet): a certificate chain and its private key. Cheap to
/// clone.
///
/// Handshakes offer TLS 1.2 and 1.3 and ALPN `http/1.1`, and ask no client certificate.
#[derive(Clone, Debug)]
pub struct TlsServerConfig {
    pub(crate) server: Arc<rustls::ServerConfig>,
}

impl TlsServerConfig {
    /// The certificate chain in the PEM file `cert` (the server's first) and the private key
    /// in the PEM file `key` (as `hijack serve --tls-cert --tls-key`, nginx's
    /// `ssl_certificate`/`ssl_certificate_key`).
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsConfigError> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let (cert_pem, key_pem) = (read(cert)?, read(key)?);
        Self::from_pem(
            &cert_pem,
            &cert.display().to_string(),
            &key_pem,
            &key.display().to_string(),
        )
    }

    /// As [`TlsServerConfig::from_pem_files`], from PEM bytes (named in errors).
    pub fn from_pem(
        cert: &[u8],
        cert_name: &str,
        key: &[u8],
        key_name: &str,
    ) -> Result<Self, TlsConfigError> {
        let (chain, key) = identity(cert, cert_name, key, key_name)?;
        let mut server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        // The component speaks HTTP/1.1 only: a client offering h2 first learns so here.
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            server: Arc::new(server),
        })
    }
}

/// rustls's crypto: ring, not aws-lc-rs, because it builds in seconds from C and assembly
/// with cc alone. rustls 0.23.48 deprecates it for lacking post-quantum key exchange; X25519
/// and the NIST curves remain, as in Go's and curl's default builds until recently.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain and its private key, from PEM.
fn identity(
    cert: &[u8],
    cert_name: &str,
    key: &[u8],
    key_name: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsConfigError> {
    let chain = certificates(cert, cert_name)?;
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => TlsConfigError::Missing {
            what: key_name.into(),
            expected: "private key",
        },
        other => pem_error(key_name, &other),
    })?;
    Ok((chain, key))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsConfigError> {
    std::fs::read(path).map_err(|source| TlsConfigError::File {
        path: path.to_path_buf(),
        source,
    })
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(what, &e))?;
    if certs.is_empty() {
        return Err(TlsConfigError::Missing {
            what: what.into(),
            expected: "certificate",
        });
    }
    Ok(certs)
}

/// A PEM error's kind, without the input (a key file's bytes are never printed back).
fn pem_error(what: &str, e: &rustls_pki_types::pem::Error) -> TlsConfigError {
    use rustls_pki_types::pem::Error as E;
    let reason = match e {
        E::MissingSectionEnd { .. } => "a PEM section has no end line",
        E::IllegalSectionStart { .. } => "a PEM section's first line is malformed",
        E::Base64Decode(_) => "a PEM section is not valid base64",
        E::Io(_) => "reading failed",
        E::NoItemsFound => "nothing in it",
        _ => "malformed PEM",
    };
    TlsConfigError::Pem {
        what: what.into(),
        reason: reason.into(),
    }
}
