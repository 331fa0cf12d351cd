//! A small pooled SMTP client: lettre's protocol layer (`AsyncSmtpConnection`: EHLO, STARTTLS,
//! AUTH, MAIL/RCPT/DATA) over sockets of our own.
//!
//! Why not lettre's `AsyncSmtpTransport`: its sockets keep Nagle's algorithm on, and it writes a
//! message and its final `CRLF.CRLF` in two writes before reading the reply. The second, small
//! write then waits for the acknowledgement of the first, which the server delays (40 ms on
//! Linux): every message cost about 60 ms against a local server where Python's smtplib needs 3
//! (see BENCHMARKS.md). Our sockets set `TCP_NODELAY`.
//!
//! Every network step has the configured timeout. Idle connections are kept for reuse (checked
//! with NOOP after a few seconds of idleness, dropped after a minute); a connection that saw any
//! error is not reused (lettre aborts it).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::transport::{SendError, SmtpSecurity, SmtpSettings};

/// Idle connections older than this are closed rather than reused.
const MAX_IDLE: Duration = Duration::from_secs(60);
/// Idle connections older than this are checked with NOOP before reuse.
const CHECK_AFTER: Duration = Duration::from_secs(5);
/// At most this many idle connections are kept.
const MAX_POOLED: usize = 16;

struct Idle {
    connection: AsyncSmtpConnection,
    since: Instant,
}

/// A pooled client for one SMTP server.
pub struct SmtpClient {
    settings: SmtpSettings,
    /// For STARTTLS (lettre's own TLS upgrade).
    starttls: Option<TlsParameters>,
    /// For TLS from the first byte.
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    hello: ClientId,
    idle: Mutex<Vec<Idle>>,
}

impl std::fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl SmtpClient {
    pub fn new(settings: &SmtpSettings) -> Result<SmtpClient, String> {
        let (starttls, tls) = match settings.security {
            SmtpSecurity::None => (None, None),
            SmtpSecurity::StartTls => {
                let mut builder = TlsParameters::builder(settings.host.clone());
                if let Some(pem) = &settings.ca_pem {
                    let cert = Certificate::from_pem(pem)
                        .map_err(|e| format!("the certificate authority file is not PEM: {e}"))?;
                    builder = builder.add_root_certificate(cert);
                }
                (Some(builder.build().map_err(|e| format!("TLS: {e}"))?), None)
            }
            SmtpSecurity::Tls => (None, Some(tls_connector(settings)?)),
        };
        Ok(SmtpClient {
            settings: settings.clone(),
            starttls,
            tls,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sends one message to the recipients of its envelope.
    pub async fn send(&self, message: &lettre::Message) -> Result<(), SendError> {
        let bytes = message.formatted();
        let mut connection = self.checkout().await?;
        match self.timed(connection.send(message.envelope(), &bytes)).await {
            Ok(_) => {
                self.checkin(connection);
                Ok(())
            }
            Err(e) => {
                // lettre has aborted the connection on an SMTP error; a timeout leaves it
                // half-way: drop it either way.
                drop(connection);
                Err(e)
            }
        }
    }

    /// Connects, says EHLO, upgrades and authenticates as configured, then says QUIT.
    pub async fn check(&self) -> Result<(), SendError> {
        let mut connection = self.connect().await?;
        self.timed(connection.quit()).await.map(|_| ())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        match self.idle.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    async fn checkout(&self) -> Result<AsyncSmtpConnection, SendError> {
        loop {
            let Some(mut idle) = self.lock().pop() else {
                break;
            };
            let age = idle.since.elapsed();
            if age > MAX_IDLE || idle.connection.has_broken() {
                continue;
            }
            if age > CHECK_AFTER
                && !tokio::time::timeout(self.settings.timeout, idle.connection.test_connected())
                    .await
                    .unwrap_or(false)
            {
                continue;
            }
            return Ok(idle.connection);
        }
        self.connect().await
    }

    fn checkin(&self, connection: AsyncSmtpConnection) {
        if connection.has_broken() {
            return;
        }
        let mut idle = self.lock();
        if idle.len() < MAX_POOLED {
            idle.push(Idle {
                connection,
                since: Instant::now(),
            });
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let s = &self.settings;
        let addresses: Vec<SocketAddr> = self
            .timed_io(tokio::net::lookup_host((s.host.as_str(), s.port)))
            .await?
            .collect();
        let mut last = SendError::Temporary(format!("{}: no address", s.host));
        let mut tcp = None;
        for address in addresses {
            match self.timed_io(TcpStream::connect(address)).await {
                Ok(stream) => {
                    tcp = Some(stream);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let tcp = tcp.ok_or(last)?;
        tcp.set_nodelay(true)
            .map_err(|e| SendError::Temporary(format!("connection error: {e}")))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.tls {
            Some((connector, name)) => {
                let tls = self
                    .timed_io(connector.connect(name.clone(), tcp))
                    .await
                    .map_err(|e| SendError::Temporary(format!("tls error: {e}")))?;
                Box::new(TlsTcp(tls))
            }
            None => Box::new(tcp),
        };
        let mut connection = self
            .timed(AsyncSmtpConnection::connect_with_transport(stream, &self.hello))
            .await?;
        if let Some(parameters) = &self.starttls {
            self.timed(connection.starttls(parameters.clone(), &self.hello)).await?;
        }
        if let Some((user, password)) = &s.credentials {
            let credentials = Credentials::new(user.clone(), password.clone());
            self.timed(connection.auth(&[Mechanism::Plain, Mechanism::Login], &credentials))
                .await?;
        }
        Ok(connection)
    }

    /// An SMTP step within the timeout, its error classified.
    async fn timed<T>(
        &self,
        step: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, SendError> {
        match tokio::time::timeout(self.settings.timeout, step).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) if e.is_permanent() => Err(SendError::Permanent(one_line(&e.to_string()))),
            Ok(Err(e)) => Err(SendError::Temporary(one_line(&e.to_string()))),
            Err(_) => Err(SendError::Temporary(format!(
                "timed out after {} s",
                self.settings.timeout.as_secs()
            ))),
        }
    }

    /// A network step within the timeout.
    async fn timed_io<T>(&self, step: impl Future<Output = io::Result<T>>) -> Result<T, SendError> {
        match tokio::time::timeout(self.settings.timeout, step).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(SendError::Temporary(format!(
                "connection error: {}:{}: {e}",
                self.settings.host, self.settings.port
            ))),
            Err(_) => Err(SendError::Temporary(format!(
                "connection to {}:{} timed out after {} s",
                self.settings.host,
                self.settings.port,
                self.settings.timeout.as_secs()
            ))),
        }
    }
}

/// The TLS client of implicit TLS: the web's roots, plus the configured authority.
fn tls_connector(settings: &SmtpSettings) -> Result<(tokio_rustls::TlsConnector, ServerName<'static>), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = &settings.ca_pem {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("the certificate authority file is not PEM: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("the certificate authority file holds an unusable certificate: {e}"))?;
            found += 1;
        }
        if found == 0 {
            return Err("the certificate authority file holds no certificate".into());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(settings.host.clone()).map_err(|e| format!("TLS server name: {e}"))?;
    Ok((tokio_rustls::TlsConnector::from(Arc::new(config)), name))
}

/// A TLS stream lettre can drive.
struct TlsTcp(tokio_rustls::client::TlsStream<TcpStream>);

impl std::fmt::Debug for TlsTcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsTcp")
    }
}

impl AsyncRead for TlsTcp {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsTcp {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsTcp {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
