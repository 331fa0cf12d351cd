//! TLS for every connection Dialogue opens to a directory: LDAPS/StartTLS and the HTTPS of
//! OpenID providers. One crypto provider (ring, which lettre and the XMPP client use already)
//! and one choice of roots: the configured authority only, or else the web's public authorities
//! (Mozilla's list, built in, so that a minimal container without `ca-certificates` works).

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::Error;

/// Makes ring the process's default rustls provider, for HTTP clients built without an explicit
/// TLS configuration (reqwest is built without a provider of its own: its default, aws-lc,
/// would be a second C crypto library to compile). Idempotent; the binary calls it at start.
pub fn install_default_provider() {
    // Err only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client configuration trusting `ca_file`'s certificates only, or else the public
/// authorities. A bad file is a configuration error naming `section.field`.
pub fn client_config(
    section: &'static str,
    field: &'static str,
    ca_file: Option<&Path>,
) -> Result<rustls::ClientConfig, Error> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let bad = |problem: String| Error::config(section, field, format!("{}: {problem}", path.display()));
            let pem = std::fs::read(path).map_err(|e| bad(format!("cannot be read ({e})")))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| bad(format!("not PEM ({e})")))?;
                roots
                    .add(cert)
                    .map_err(|e| bad(format!("an unusable certificate ({e})")))?;
            }
            if roots.is_empty() {
                return Err(bad("holds no certificate".into()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(section, field, format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// An HTTP client for a service Dialogue calls (an OpenID provider, a join check): HTTPS
/// trusting `ca_file` (or the public authorities), redirects not followed (answers are read
/// where they are given).
pub fn http_client(
    section: &'static str,
    field: &'static str,
    ca_file: Option<&Path>,
) -> Result<reqwest::Client, Error> {
    http_builder(section, field, ca_file)?
        .build()
        .map_err(|e| Error::config(section, field, format!("HTTP client: {e}")))
}

/// [`http_client`]'s builder, for a caller that adds its own settings (timeouts).
pub fn http_builder(
    section: &'static str,
    field: &'static str,
    ca_file: Option<&Path>,
) -> Result<reqwest::ClientBuilder, Error> {
    let tls = client_config(section, field, ca_file)?;
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: Error) -> String {
        match e {
            Error::Config { section, field, .. } => format!("{section}.{field}"),
            other => panic!("not a configuration error: {other}"),
        }
    }

    #[test]
    fn a_bad_authority_file_names_its_field() {
        let missing = Path::new("/nonexistent/ca.pem");
        assert_eq!(
            field(client_config("oidc", "ca_file", Some(missing)).unwrap_err()),
            "oidc.ca_file"
        );
        let dir = std::env::temp_dir().join(format!("dialogue-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let e = http_client("oidc", "ca_file", Some(&empty)).unwrap_err();
        assert!(e.to_string().contains("holds no certificate"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_public_authorities_need_no_file() {
        assert!(client_config("ldap", "ca_file", None).is_ok());
        assert!(http_client("oidc", "ca_file", None).is_ok());
    }
}
