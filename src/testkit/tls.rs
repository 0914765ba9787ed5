//! rustls client configurations for tests: trust one CA file only, or the public roots only.
//!
//! There is deliberately no "accept any certificate" variant (notes/mailstack.md: keep that
//! escape hatch out of the product and out of the tests).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// A client configuration that trusts the certificates in `ca_file` (PEM) and nothing else.
pub fn trusting_ca_file(ca_file: &Path) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .with_context(|| format!("reading CA file {}", ca_file.display()))?;
    for cert in certs {
        let cert = cert.with_context(|| format!("parsing CA file {}", ca_file.display()))?;
        roots
            .add(cert)
            .context("adding a CA certificate to the root store")?;
    }
    if roots.is_empty() {
        bail!("CA file {} holds no certificate", ca_file.display());
    }
    with_roots(roots)
}

/// A client configuration that trusts the public webpki roots and nothing else.
pub fn trusting_public_roots() -> anyhow::Result<Arc<ClientConfig>> {
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    with_roots(roots)
}

fn with_roots(roots: RootCertStore) -> anyhow::Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("choosing TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
