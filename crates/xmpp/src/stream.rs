//! One authenticated client stream (RFC 6120): TCP, STARTTLS, SASL, resource
//! binding, then IQ requests and their answers.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::rand::{SecureRandom, SystemRandom};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::config::AdminConfig;
use crate::error::{Error, Result};
use crate::jid::BareJid;
use crate::scram::{Scram, ScramHash};
use crate::xml::{Element, NS_CLIENT, NS_STANZAS, NS_STREAM, NS_STREAM_ERRORS, XmlStream};

const NS_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
const NS_SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";

/// TCP, or TLS over TCP after STARTTLS.
pub(crate) enum Transport {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Transport {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// An IQ answer's error (RFC 6120 §8.3): the condition and the server's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StanzaError {
    pub(crate) condition: String,
    pub(crate) text: Option<String>,
}

impl StanzaError {
    pub(crate) fn from_iq(iq: &Element) -> Self {
        let error = iq.get_child("error", NS_CLIENT);
        let condition = error
            .and_then(|e| e.elements().find(|c| c.ns == NS_STANZAS && c.name != "text"))
            .map_or_else(|| "undefined-condition".to_owned(), |c| c.name.clone());
        let text = error
            .and_then(|e| e.get_child("text", NS_STANZAS))
            .map(Element::text_content)
            .filter(|t| !t.trim().is_empty());
        Self { condition, text }
    }

    /// The text when the server gave one, else the condition.
    pub(crate) fn reason(&self) -> String {
        match &self.text {
            Some(t) => format!("{t} ({})", self.condition),
            None => self.condition.clone(),
        }
    }
}

/// How the stream was secured and authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) encrypted: bool,
    pub(crate) mechanism: &'static str,
    /// The full JID the server bound.
    pub(crate) jid: String,
}

/// An authenticated, bound client stream.
pub(crate) struct Connection {
    xml: XmlStream<Transport>,
    admin: BareJid,
    step_timeout: Duration,
    next_id: u64,
    pub(crate) session: Session,
}

impl Connection {
    /// Connects, secures, authenticates and binds a resource, each step within
    /// `cfg.timeout`.
    pub(crate) async fn open(cfg: &AdminConfig) -> Result<Self> {
        let admin = BareJid::parse(&cfg.admin_jid).map_err(|e| Error::Config(format!("admin_jid: {e}")))?;
        let connector = tls_connector(cfg)?;
        let address = cfg.address();
        let tcp = match timeout(cfg.timeout, TcpStream::connect((cfg.host.as_str(), cfg.port))).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(source)) => return Err(Error::Unreachable { address, source }),
            Err(_) => {
                return Err(Error::Unreachable {
                    address,
                    source: io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no connection within {:?}", cfg.timeout),
                    ),
                });
            }
        };
        let peer = tcp.peer_addr().map_err(Error::ConnectionLost)?;
        // Small writes, answered one at a time: do not wait for Nagle.
        tcp.set_nodelay(true).map_err(Error::ConnectionLost)?;
        let handshake = handshake(cfg, admin.clone(), connector, tcp, peer);
        match timeout(cfg.timeout.saturating_mul(3), handshake).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout(cfg.timeout.saturating_mul(3))),
        }
    }

    fn next_id(&mut self) -> String {
        self.next_id += 1;
        format!("dlg{}", self.next_id)
    }

    /// Sends an IQ (`type` get or set, `to` a server entity) and waits for its answer:
    /// the `result` or `error` IQ with the same id from that entity. Other traffic is
    /// skipped (requests addressed to us get `service-unavailable`, as RFC 6120 §8.4
    /// requires).
    pub(crate) async fn request(&mut self, mut iq: Element) -> Result<Element> {
        let id = self.next_id();
        iq.set_attr("id", &id);
        let to = iq.get_attr("to").map(str::to_owned);
        let step = self.step_timeout;
        match timeout(step, self.exchange(iq, &id, to.as_deref())).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout(step)),
        }
    }

    async fn exchange(&mut self, iq: Element, id: &str, to: Option<&str>) -> Result<Element> {
        self.send(&iq).await?;
        loop {
            let stanza = self.xml.read_stanza().await?;
            if stanza.is("error", NS_STREAM) {
                return Err(stream_error(&stanza));
            }
            if !stanza.is("iq", NS_CLIENT) {
                continue;
            }
            let kind = stanza.get_attr("type").unwrap_or("");
            if kind == "get" || kind == "set" {
                self.refuse_request(&stanza).await?;
                continue;
            }
            if stanza.get_attr("id") != Some(id) || !(kind == "result" || kind == "error") {
                continue;
            }
            if self.is_from(&stanza, to) {
                return Ok(stanza);
            }
        }
    }

    /// Whether an answer comes from where the request went (RFC 6120 §10.3.3: an
    /// answer to a request without `to` comes from the server or our own account).
    fn is_from(&self, stanza: &Element, to: Option<&str>) -> bool {
        let from = stanza.get_attr("from");
        match (to, from) {
            (Some(to), Some(from)) => from.eq_ignore_ascii_case(to),
            (Some(_), None) => false,
            (None, None) => true,
            (None, Some(from)) => {
                let admin = self.admin.to_string();
                from.eq_ignore_ascii_case(&admin)
                    || from.eq_ignore_ascii_case(self.admin.domain())
                    || from.eq_ignore_ascii_case(&self.session.jid)
            }
        }
    }

    async fn refuse_request(&mut self, request: &Element) -> Result<()> {
        let mut reply = Element::new("iq", NS_CLIENT).attr("type", "error");
        if let Some(id) = request.get_attr("id") {
            reply.set_attr("id", id);
        }
        if let Some(from) = request.get_attr("from") {
            reply.set_attr("to", from);
        }
        let reply = reply.child(
            Element::new("error", NS_CLIENT)
                .attr("type", "cancel")
                .child(Element::new("service-unavailable", NS_STANZAS)),
        );
        self.send(&reply).await
    }

    async fn send(&mut self, stanza: &Element) -> Result<()> {
        self.xml
            .send_raw(&stanza.to_stanza())
            .await
            .map_err(Error::ConnectionLost)
    }

    /// Ends the stream politely: our closing tag, the server's (briefly awaited),
    /// then TLS close_notify and TCP FIN.
    pub(crate) async fn close(mut self) -> Result<()> {
        self.xml
            .send_raw("</stream:stream>")
            .await
            .map_err(Error::ConnectionLost)?;
        let wait = self.step_timeout.min(Duration::from_secs(2));
        let _ = timeout(wait, async {
            // Anything the server still sends before its closing tag is dropped.
            while self.xml.read_stanza().await.is_ok() {}
        })
        .await;
        // The server may already have closed its side; nothing is lost then.
        let _ = self.xml.shutdown().await;
        Ok(())
    }
}

async fn handshake(
    cfg: &AdminConfig,
    admin: BareJid,
    connector: tokio_rustls::TlsConnector,
    tcp: TcpStream,
    peer: SocketAddr,
) -> Result<Connection> {
    let domain = admin.domain().to_owned();
    let mut xml = XmlStream::new(Transport::Plain(tcp), cfg.max_stanza_bytes);
    let mut features = open_stream(&mut xml, &domain, None).await?;
    let encrypted = if features.get_child("starttls", NS_TLS).is_some() {
        xml.send_raw(&Element::new("starttls", NS_TLS).to_stanza())
            .await
            .map_err(Error::ConnectionLost)?;
        let answer = xml.read_stanza().await?;
        if !answer.is("proceed", NS_TLS) {
            return Err(Error::Tls(format!(
                "the server answered STARTTLS with <{}>",
                answer.name
            )));
        }
        let Transport::Plain(tcp) = xml.into_transport().map_err(|e| Error::Tls(e.to_string()))? else {
            return Err(Error::Tls("STARTTLS on a stream that is already encrypted".to_owned()));
        };
        let name = ServerName::try_from(domain.clone())
            .map_err(|e| Error::Tls(format!("{domain:?} cannot be checked against a certificate: {e}")))?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| handshake_error(&domain, &e))?;
        xml = XmlStream::new(Transport::Tls(Box::new(tls)), cfg.max_stanza_bytes);
        features = open_stream(&mut xml, &domain, Some(&admin)).await?;
        true
    } else {
        plain_allowed(cfg, &domain, peer.ip())?;
        false
    };

    let mechanism = authenticate(&mut xml, &features, &admin, &cfg.password, encrypted, cfg.allow_plain).await?;
    let mut xml = xml.restart();
    let features = open_stream(&mut xml, &domain, Some(&admin)).await?;
    if features.get_child("bind", NS_BIND).is_none() {
        return Err(Error::Protocol(
            "the server offers no resource binding after authentication".to_owned(),
        ));
    }
    let mut conn = Connection {
        xml,
        admin,
        step_timeout: cfg.timeout,
        next_id: 0,
        session: Session {
            encrypted,
            mechanism,
            jid: String::new(),
        },
    };
    conn.session.jid = bind(&mut conn).await?;
    // RFC 3921 sessions: only when the server still requires one.
    if let Some(session) = features.get_child("session", NS_SESSION)
        && session.get_child("optional", NS_SESSION).is_none()
    {
        let iq = Element::new("iq", NS_CLIENT)
            .attr("type", "set")
            .child(Element::new("session", NS_SESSION));
        let answer = conn.request(iq).await?;
        if answer.get_attr("type") != Some("result") {
            return Err(Error::Protocol(format!(
                "session establishment refused: {}",
                StanzaError::from_iq(&answer).reason()
            )));
        }
    }
    Ok(conn)
}

/// Whether we may go on without TLS with a server that offers no STARTTLS: only
/// when the configuration allows it and the server is on a loopback address.
fn plain_allowed(cfg: &AdminConfig, domain: &str, peer: IpAddr) -> Result<()> {
    if !cfg.allow_plain {
        return Err(Error::Tls(format!(
            "{} offers no STARTTLS; enable mod_tls with a certificate for {domain} (plain TCP is only for tests on a loopback address)",
            cfg.address()
        )));
    }
    if !peer.is_loopback() {
        return Err(Error::Config(format!(
            "allow_plain is set but {} ({peer}) is not a loopback address: the admin password would cross the network in the clear",
            cfg.address()
        )));
    }
    Ok(())
}

/// Sends our stream header and reads the server's, then its features.
async fn open_stream(xml: &mut XmlStream<Transport>, domain: &str, from: Option<&BareJid>) -> Result<Element> {
    let mut header = String::from(
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='",
    );
    crate::xml::escape_into(domain, &mut header);
    header.push('\'');
    if let Some(from) = from {
        header.push_str(" from='");
        crate::xml::escape_into(&from.to_string(), &mut header);
        header.push('\'');
    }
    header.push_str(" version='1.0' xml:lang='en'>");
    xml.send_raw(&header).await.map_err(Error::ConnectionLost)?;
    let theirs = xml.read_stream_header().await?;
    let features = xml.read_stanza().await?;
    if features.is("error", NS_STREAM) {
        return Err(stream_error(&features));
    }
    if !theirs.get_attr("version").is_some_and(|v| v.starts_with("1.")) {
        return Err(Error::Protocol(
            "the server does not speak XMPP 1.0 (no version='1.0')".to_owned(),
        ));
    }
    if !features.is("features", NS_STREAM) {
        return Err(Error::Protocol(format!(
            "expected <stream:features>, got <{}>",
            features.name
        )));
    }
    Ok(features)
}

fn stream_error(error: &Element) -> Error {
    let condition = error
        .elements()
        .find(|c| c.ns == NS_STREAM_ERRORS && c.name != "text")
        .map_or("undefined-condition", |c| c.name.as_str());
    let text = error
        .get_child("text", NS_STREAM_ERRORS)
        .map(Element::text_content)
        .unwrap_or_default();
    if text.is_empty() {
        Error::Protocol(format!("the server ended the stream: {condition}"))
    } else {
        Error::Protocol(format!("the server ended the stream: {condition}: {text}"))
    }
}

/// SASL (RFC 6120 §6): the strongest mechanism both sides have. PLAIN only over TLS
/// (or with `allow_plain`, which is for loopback tests).
async fn authenticate(
    xml: &mut XmlStream<Transport>,
    features: &Element,
    admin: &BareJid,
    password: &str,
    encrypted: bool,
    allow_plain: bool,
) -> Result<&'static str> {
    let offered: Vec<String> = features
        .get_child("mechanisms", NS_SASL)
        .map(|m| {
            m.elements()
                .filter(|e| e.is("mechanism", NS_SASL))
                .map(|e| e.text_content().trim().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let has = |name: &str| offered.iter().any(|m| m == name);
    let scram = if has("SCRAM-SHA-256") {
        Some(ScramHash::Sha256)
    } else if has("SCRAM-SHA-1") {
        Some(ScramHash::Sha1)
    } else {
        None
    };
    if let Some(hash) = scram {
        scram_exchange(xml, hash, admin, password).await?;
        return Ok(hash.mechanism());
    }
    if has("PLAIN") && (encrypted || allow_plain) {
        let mut message = Vec::with_capacity(admin.local().len() + password.len() + 2);
        message.push(0);
        message.extend_from_slice(admin.local().as_bytes());
        message.push(0);
        message.extend_from_slice(password.as_bytes());
        let auth = Element::new("auth", NS_SASL)
            .attr("mechanism", "PLAIN")
            .text(&B64.encode(message));
        send(xml, &auth).await?;
        let answer = read_sasl(xml).await?;
        if answer.name != "success" {
            return Err(Error::Protocol(format!("unexpected <{}> during PLAIN", answer.name)));
        }
        return Ok("PLAIN");
    }
    Err(Error::Auth(format!(
        "no usable SASL mechanism (the server offers: {})",
        if offered.is_empty() {
            "none".to_owned()
        } else {
            offered.join(", ")
        }
    )))
}

async fn scram_exchange(
    xml: &mut XmlStream<Transport>,
    hash: ScramHash,
    admin: &BareJid,
    password: &str,
) -> Result<()> {
    let scram = Scram::new(hash, admin.local(), password, client_nonce()?).map_err(Error::Config)?;
    let auth = Element::new("auth", NS_SASL)
        .attr("mechanism", hash.mechanism())
        .text(&B64.encode(scram.client_first()));
    send(xml, &auth).await?;
    let challenge = read_sasl(xml).await?;
    if challenge.name != "challenge" {
        return Err(Error::Protocol(format!(
            "expected a SCRAM challenge, got <{}>",
            challenge.name
        )));
    }
    let server_first = decode_sasl(&challenge)?;
    let server_first = scram.parse_server_first(&server_first).map_err(Error::Auth)?;
    // PBKDF2 runs up to MAX_ITERATIONS rounds: keep it off the async worker threads.
    let final_message = tokio::task::spawn_blocking(move || scram.client_final(&server_first))
        .await
        .map_err(|e| Error::Protocol(format!("SCRAM computation failed: {e}")))?;
    let response = Element::new("response", NS_SASL).text(&B64.encode(&final_message.message));
    send(xml, &response).await?;
    let mut answer = read_sasl(xml).await?;
    if answer.name == "challenge" {
        // RFC 6120 §6.3.10: the server's final message may come as a challenge, to
        // which an empty response leads to <success/>.
        final_message
            .verify_server_final(&decode_sasl(&answer)?)
            .map_err(Error::Auth)?;
        send(xml, &Element::new("response", NS_SASL)).await?;
        answer = read_sasl(xml).await?;
        if answer.name != "success" {
            return Err(Error::Protocol(format!("unexpected <{}> after SCRAM", answer.name)));
        }
        return Ok(());
    }
    if answer.name != "success" {
        return Err(Error::Protocol(format!("unexpected <{}> after SCRAM", answer.name)));
    }
    final_message
        .verify_server_final(&decode_sasl(&answer)?)
        .map_err(Error::Auth)
}

/// 24 random bytes, base64: printable and comma-free as SCRAM requires.
fn client_nonce() -> Result<String> {
    let mut bytes = [0u8; 24];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Protocol("the system random generator failed".to_owned()))?;
    Ok(B64.encode(bytes))
}

async fn send(xml: &mut XmlStream<Transport>, el: &Element) -> Result<()> {
    xml.send_raw(&el.to_stanza()).await.map_err(Error::ConnectionLost)
}

/// The next SASL element; `<failure/>` becomes [`Error::Auth`] with its condition and
/// text.
async fn read_sasl(xml: &mut XmlStream<Transport>) -> Result<Element> {
    let el = xml.read_stanza().await?;
    if el.is("error", NS_STREAM) {
        return Err(stream_error(&el));
    }
    if el.ns != NS_SASL {
        return Err(Error::Protocol(format!("expected a SASL answer, got <{}>", el.name)));
    }
    if el.name == "failure" {
        let condition = el
            .elements()
            .find(|c| c.name != "text")
            .map_or("undefined-condition", |c| c.name.as_str());
        let text = el.get_child("text", NS_SASL).map(Element::text_content);
        return Err(Error::Auth(match text {
            Some(t) if !t.trim().is_empty() => format!("{condition}: {t}"),
            _ => condition.to_owned(),
        }));
    }
    Ok(el)
}

fn decode_sasl(el: &Element) -> Result<String> {
    let text = el.text_content();
    let text = text.trim();
    if text == "=" || text.is_empty() {
        return Ok(String::new());
    }
    let bytes = B64
        .decode(text)
        .map_err(|_| Error::Protocol(format!("<{}> is not base64", el.name)))?;
    String::from_utf8(bytes).map_err(|_| Error::Protocol(format!("<{}> is not UTF-8", el.name)))
}

/// Binds a resource of our own (random, so that two Dialogue instances never take
/// each other's session: Prosody closes the older one on a conflict).
async fn bind(conn: &mut Connection) -> Result<String> {
    let mut suffix = [0u8; 6];
    SystemRandom::new()
        .fill(&mut suffix)
        .map_err(|_| Error::Protocol("the system random generator failed".to_owned()))?;
    let resource: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
    let iq = Element::new("iq", NS_CLIENT).attr("type", "set").child(
        Element::new("bind", NS_BIND).child(Element::new("resource", NS_BIND).text(&format!("dialogue-{resource}"))),
    );
    let answer = conn.request(iq).await?;
    if answer.get_attr("type") != Some("result") {
        return Err(Error::Protocol(format!(
            "resource binding refused: {}",
            StanzaError::from_iq(&answer).reason()
        )));
    }
    answer
        .get_child("bind", NS_BIND)
        .and_then(|b| b.get_child("jid", NS_BIND))
        .map(|j| j.text_content().trim().to_owned())
        .filter(|j| !j.is_empty())
        .ok_or_else(|| Error::Protocol("the server bound no JID".to_owned()))
}

/// The certificates of a PEM text, each usable as a trust anchor: what
/// [`AdminConfig::ca_pem`] and [`AdminConfig::ca_file`] must hold. An error names what is
/// wrong (not PEM, no certificate, a certificate that cannot be an anchor).
pub fn parse_ca_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let mut certs = Vec::new();
    let mut scratch = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| Error::Config(format!("not PEM: {e}")))?;
        scratch
            .add(cert.clone())
            .map_err(|e| Error::Config(format!("unusable certificate: {e}")))?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(Error::Config(
            "no PEM certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
        ));
    }
    Ok(certs)
}

/// The TLS client: the web's trust anchors plus the configured authority's.
fn tls_connector(cfg: &AdminConfig) -> Result<tokio_rustls::TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &cfg.ca_file {
        let pem = std::fs::read(path).map_err(|e| Error::Config(format!("ca_file {}: {e}", path.display())))?;
        let certs =
            parse_ca_pem(&pem).map_err(|e| Error::Config(format!("ca_file {}: {}", path.display(), detail(&e))))?;
        for cert in certs {
            // Parsed as an anchor by parse_ca_pem already.
            let _ = roots.add(cert);
        }
    }
    if let Some(pem) = &cfg.ca_pem {
        let certs = parse_ca_pem(pem.as_bytes()).map_err(|e| Error::Config(format!("ca_pem: {}", detail(&e))))?;
        for cert in certs {
            let _ = roots.add(cert);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// A configuration error's own words, without the "XMPP configuration:" prefix.
fn detail(e: &Error) -> String {
    match e {
        Error::Config(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Why the TLS handshake with `domain` failed, in words an administrator acts on: a
/// certificate signed by an authority we do not trust says so, and what to do.
fn handshake_error(domain: &str, e: &std::io::Error) -> Error {
    use rustls::{CertificateError, Error as TlsError};
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<TlsError>());
    match inner {
        Some(TlsError::InvalidCertificate(
            CertificateError::UnknownIssuer
            | CertificateError::BadSignature
            | CertificateError::UnknownRevocationStatus,
        )) => Error::Tls(format!(
            "the certificate of {domain} is not trusted (it is self-signed or signed by an unknown authority): \
             give the server's certificate authority (PEM) in its settings ({e})"
        )),
        Some(TlsError::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => Error::Tls(format!("the certificate is not valid for {domain} ({e})")),
        Some(TlsError::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. })) => {
            Error::Tls(format!("the certificate of {domain} has expired ({e})"))
        }
        _ => Error::Tls(format!("handshake with {domain}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stanza_errors_keep_the_servers_words() {
        let iq = Element::new("iq", NS_CLIENT).attr("type", "error").child(
            Element::new("error", NS_CLIENT)
                .attr("type", "auth")
                .child(Element::new("forbidden", NS_STANZAS))
                .child(Element::new("text", NS_STANZAS).text("You don't have permission")),
        );
        let e = StanzaError::from_iq(&iq);
        assert_eq!(e.condition, "forbidden");
        assert_eq!(e.reason(), "You don't have permission (forbidden)");
        let bare = Element::new("iq", NS_CLIENT).attr("type", "error");
        assert_eq!(StanzaError::from_iq(&bare).reason(), "undefined-condition");
    }

    #[test]
    fn stream_errors_name_their_condition() {
        let e = Element::new("error", NS_STREAM)
            .child(Element::new("host-unknown", NS_STREAM_ERRORS))
            .child(Element::new("text", NS_STREAM_ERRORS).text("no such host"));
        assert_eq!(
            stream_error(&e).to_string(),
            "XMPP protocol error: the server ended the stream: host-unknown: no such host"
        );
    }

    #[test]
    fn plain_tcp_needs_the_option_and_a_loopback_address() {
        let mut cfg = AdminConfig::new("x", "d.test", "admin@d.test", "pw");
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let loopback6: IpAddr = "::1".parse().unwrap();
        let lan: IpAddr = "192.168.1.20".parse().unwrap();
        assert!(matches!(plain_allowed(&cfg, "d.test", loopback), Err(Error::Tls(_))));
        cfg.allow_plain = true;
        plain_allowed(&cfg, "d.test", loopback).unwrap();
        plain_allowed(&cfg, "d.test", loopback6).unwrap();
        assert!(matches!(plain_allowed(&cfg, "d.test", lan), Err(Error::Config(m)) if m.contains("192.168.1.20")));
    }

    #[test]
    fn client_nonces_are_fresh_and_comma_free() {
        let a = client_nonce().unwrap();
        let b = client_nonce().unwrap();
        assert_ne!(a, b);
        assert!(a.len() >= 32 && !a.contains(','));
    }

    #[test]
    fn a_missing_or_empty_ca_file_is_a_configuration_error() {
        let mut cfg = AdminConfig::new("127.0.0.1", "d.test", "admin@d.test", "pw");
        cfg.ca_file = Some("/nonexistent/ca.pem".into());
        assert!(matches!(tls_connector(&cfg), Err(Error::Config(_))));
        let dir = std::env::temp_dir().join(format!("xmpp-ca-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        cfg.ca_file = Some(empty);
        assert!(matches!(tls_connector(&cfg), Err(Error::Config(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pem_text_without_a_certificate_is_a_configuration_error() {
        let mut cfg = AdminConfig::new("127.0.0.1", "d.test", "admin@d.test", "pw");
        cfg.ca_pem = Some("not a certificate\n".into());
        assert!(matches!(tls_connector(&cfg), Err(Error::Config(m)) if m.contains("ca_pem")));
        assert!(parse_ca_pem(b"").is_err());
        let garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(parse_ca_pem(garbled.as_bytes()).is_err());
    }
}
