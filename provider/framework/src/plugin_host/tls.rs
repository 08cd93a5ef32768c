//! AutoMTLS: the TLS half of the go-plugin handshake.
//!
//! Terraform passes its client certificate in `PLUGIN_CLIENT_CERT` and expects
//! our own certificate in the handshake line. It then trusts exactly that
//! certificate for `localhost`, and we must trust exactly its certificate.
//!
//! Why this is hand-built rather than rustls' stock verifiers:
//! * Terraform's certificate is a self-signed ECDSA **P-521** certificate with
//!   **CA:TRUE**. webpki's client verifier refuses a CA certificate as an end
//!   entity, and the *ring* backend cannot verify P-521 signatures at all. So
//!   we use the **aws-lc-rs** provider explicitly and a verifier that pins the
//!   certificate's DER and checks the handshake signature with that provider's
//!   algorithms. The pin, not a chain, is the trust decision, which is also why
//!   validity dates are not checked.
//! * **ALPN `h2`** is mandatory: Terraform's gRPC client fails with "missing
//!   selected ALPN property" otherwise.
//! * Our certificate needs **SAN DNS `localhost`** (a CN alone is rejected by
//!   Go) and the serverAuth EKU. A fresh key pair per process means nothing is
//!   ever stored on disk.

use std::sync::Arc;

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};
use tokio_rustls::TlsAcceptor;

use super::ServeError;

/// Our side of the mutual TLS: a fresh self-signed certificate and the rustls
/// configuration that serves it and pins Terraform's.
pub(super) struct ServerTls {
    cert_der: CertificateDer<'static>,
    config: Arc<ServerConfig>,
}

impl ServerTls {
    /// Builds the TLS configuration for the client certificate(s) in
    /// `client_cert_pem` (Terraform sends one; go-plugin would accept any of
    /// several, so we do too).
    pub(super) fn new(client_cert_pem: &str) -> Result<Self, ServeError> {
        let allowed = parse_client_certs(client_cert_pem)?;
        let (cert_der, key) = generate_server_cert()?;
        let config = server_config(cert_der.clone(), key, allowed)?;
        Ok(Self {
            cert_der,
            config: Arc::new(config),
        })
    }

    /// Our certificate, for the handshake line.
    pub(super) fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert_der
    }

    pub(super) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.config))
    }
}

/// Every certificate in a PEM string; at least one is required.
pub(super) fn parse_client_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, ServeError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServeError::InvalidClientCert(Some(e)))?;
    if certs.is_empty() {
        return Err(ServeError::InvalidClientCert(None));
    }
    Ok(certs)
}

/// A self-signed P-256 certificate for `localhost` and its PKCS#8 key.
pub(super) fn generate_server_cert()
-> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), ServeError> {
    let key =
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(ServeError::Certificate)?;
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned()]).map_err(ServeError::Certificate)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // rcgen's default validity (1975 to 4096) is kept on purpose: a process's
    // certificate must never expire under it, and the client pins it anyway.
    let cert = params.self_signed(&key).map_err(ServeError::Certificate)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    Ok((cert.der().clone(), key))
}

fn server_config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    allowed_clients: Vec<CertificateDer<'static>>,
) -> Result<ServerConfig, ServeError> {
    // aws-lc-rs, never the process default: ring cannot verify Terraform's P-521
    // signature, and relying on a default would depend on which rustls
    // features other crates happen to enable.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedClientCert::new(allowed_clients, &provider));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(ServeError::Tls)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert], key)
        .map_err(ServeError::Tls)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Accepts exactly one client certificate, and only if its DER is one of the
/// pinned ones; proves possession of its key by verifying the handshake
/// signature with the crypto provider's algorithms (which include P-521).
#[derive(Debug)]
struct PinnedClientCert {
    allowed: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCert {
    fn new(allowed: Vec<CertificateDer<'static>>, provider: &CryptoProvider) -> Self {
        Self {
            allowed,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for PinnedClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No CA hints: the client has exactly one certificate to offer.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if !intermediates.is_empty() {
            tracing::debug!(
                count = intermediates.len() + 1,
                "client sent a certificate chain; expected exactly one certificate"
            );
            return Err(CertificateError::ApplicationVerificationFailure.into());
        }
        if self
            .allowed
            .iter()
            .any(|pinned| pinned.as_ref() == end_entity.as_ref())
        {
            Ok(ClientCertVerified::assertion())
        } else {
            tracing::debug!("client certificate is not the one in PLUGIN_CLIENT_CERT");
            Err(CertificateError::ApplicationVerificationFailure.into())
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verifies our certificate the way Terraform's Go client does: trusted as
    /// its own root, for the name `localhost`, for server authentication.
    fn verify_as_server(der: &CertificateDer<'static>, name: &str) -> Result<(), rustls::Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(der.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        let name = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
        rustls::client::danger::ServerCertVerifier::verify_server_cert(
            verifier.as_ref(),
            der,
            &[],
            &name,
            &[],
            UnixTime::now(),
        )
        .map(|_| ())
    }

    #[test]
    fn server_cert_has_san_localhost() {
        let (der, _key) = generate_server_cert().unwrap();
        verify_as_server(&der, "localhost").unwrap();
        let err = verify_as_server(&der, "example.com").unwrap_err();
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
                    | rustls::Error::InvalidCertificate(CertificateError::NotValidForName)
            ),
            "{err:?}"
        );
    }

    #[test]
    fn each_call_makes_a_new_key() {
        let (a, _) = generate_server_cert().unwrap();
        let (b, _) = generate_server_cert().unwrap();
        assert_ne!(a, b);
    }

    fn terraform_like_client_cert() -> rcgen::Certificate {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap()
    }

    #[test]
    fn verifier_pins_the_der() {
        let pinned = terraform_like_client_cert();
        let other = terraform_like_client_cert();
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let verifier = PinnedClientCert::new(parse_client_certs(&pinned.pem()).unwrap(), &provider);
        let now = UnixTime::now();

        assert!(verifier.verify_client_cert(pinned.der(), &[], now).is_ok());
        assert!(verifier.verify_client_cert(other.der(), &[], now).is_err());
        // Exactly one certificate: a chain is refused even if it starts right.
        assert!(
            verifier
                .verify_client_cert(pinned.der(), &[other.der().clone()], now)
                .is_err()
        );
        assert!(verifier.root_hint_subjects().is_empty());
        assert!(
            verifier
                .supported_verify_schemes()
                .contains(&SignatureScheme::ECDSA_NISTP521_SHA512)
        );
    }

    #[test]
    fn client_cert_pem_must_hold_a_certificate() {
        assert!(matches!(
            parse_client_certs("not a pem"),
            Err(ServeError::InvalidClientCert(_))
        ));
        let two = format!(
            "{}{}",
            terraform_like_client_cert().pem(),
            terraform_like_client_cert().pem()
        );
        assert_eq!(parse_client_certs(&two).unwrap().len(), 2);
    }

    #[test]
    fn server_config_negotiates_h2_only() {
        let pinned = terraform_like_client_cert();
        let tls = ServerTls::new(&pinned.pem()).unwrap();
        assert_eq!(tls.config.alpn_protocols, vec![b"h2".to_vec()]);
        assert!(!tls.cert_der().as_ref().is_empty());
    }
}
