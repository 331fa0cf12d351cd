//! Where messages go: an SMTP server (STARTTLS, implicit TLS, or none for a local relay;
//! optional authentication; timeouts) or, as the embedded default, files: each message an
//! RFC 5322 `.eml` file in a directory, written under a temporary name and then renamed, so a
//! reader never sees half a message.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use jiff::Timestamp;

use crate::smtp::SmtpClient;

/// How to talk to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required; port 587 by default).
    StartTls,
    /// TLS from the first byte (port 465 by default).
    Tls,
    /// No encryption: only for a relay on the same machine or network (port 25 by default).
    None,
}

/// An SMTP server.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, String)>,
    /// For each network operation.
    pub timeout: Duration,
    /// Extra trust anchors (PEM), for a server with a private certificate authority.
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (connection refused, timeout, 4xx).
    #[error("{0}")]
    Temporary(String),
    /// Not worth trying again (5xx: the recipient or the message is refused).
    #[error("{0}")]
    Permanent(String),
}

/// A configured transport. Cheap to share behind an `Arc`.
#[derive(Clone)]
pub enum Transport {
    /// `.eml` files in this directory.
    Files(PathBuf),
    Smtp {
        client: Arc<SmtpClient>,
        /// `host:port`, for messages.
        label: String,
    },
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Transport {
    /// Files under `dir` (created, private, at the first message).
    pub fn files(dir: impl Into<PathBuf>) -> Transport {
        Transport::Files(dir.into())
    }

    /// An SMTP transport with a connection pool.
    pub fn smtp(settings: &SmtpSettings) -> Result<Transport, String> {
        Ok(Transport::Smtp {
            client: Arc::new(SmtpClient::new(settings)?),
            label: format!("{}:{}", settings.host, settings.port),
        })
    }

    /// Where messages go, for logs and pages (no secret).
    pub fn describe(&self) -> String {
        match self {
            Transport::Files(dir) => format!("files in {}", dir.display()),
            Transport::Smtp { label, .. } => format!("SMTP server {label}"),
        }
    }

    /// Delivers one message. `id` and `written` name the file of the file transport, so a
    /// second delivery of the same row replaces its file instead of adding one.
    pub async fn send(&self, id: &str, written: Timestamp, message: &lettre::Message) -> Result<(), SendError> {
        match self {
            Transport::Files(dir) => {
                let dir = dir.clone();
                let name = file_name(id, written);
                let bytes = message.formatted();
                tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &bytes))
                    .await
                    .map_err(|e| SendError::Temporary(format!("file transport: {e}")))?
                    .map_err(|e| SendError::Temporary(format!("cannot write the message file: {e}")))
            }
            Transport::Smtp { client, .. } => client.send(message).await,
        }
    }

    /// Checks that messages can be delivered (for `dialogue check`): the server answers (and
    /// accepts the credentials), or the directory is writable.
    pub async fn check(&self) -> Result<(), String> {
        match self {
            Transport::Files(dir) => {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || {
                    create_private_dir(&dir)?;
                    let probe = dir.join(".dialogue-check");
                    std::fs::write(&probe, b"")?;
                    std::fs::remove_file(&probe)
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())
            }
            Transport::Smtp { client, .. } => client.check().await.map_err(|e| e.to_string()),
        }
    }
}

/// `20261026T080000Z-<id>.eml`: sorted by when the message was written.
fn file_name(id: &str, written: Timestamp) -> String {
    let safe: String = id.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("{}-{safe}.eml", written.strftime("%Y%m%dT%H%M%SZ"))
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Writes `bytes` to `dir/name` through a temporary file in the same directory (fsynced, then
/// renamed over the final name), readable by the owner only: messages carry personal links.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    create_private_dir(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, dir.join(name))?;
    // The rename itself is durable once the directory is synced.
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_named_by_time_and_id_only() {
        let at: Timestamp = "2026-10-26T08:00:00Z".parse().unwrap();
        assert_eq!(file_name("abc/../x", at), "20261026T080000Z-abcx.eml");
    }

    #[tokio::test]
    async fn file_transport_writes_whole_private_files() {
        let dir = std::env::temp_dir().join(format!("dialogue-mail-files-{}", store::new_id()));
        let transport = Transport::files(dir.join("outbox"));
        transport.check().await.unwrap();
        let message = lettre::Message::builder()
            .from("Dialogue <d@example.org>".parse().unwrap())
            .to("Zoé <zoe@example.org>".parse().unwrap())
            .subject("Essai")
            .body("Bonjour".to_owned())
            .unwrap();
        let at: Timestamp = "2026-10-26T08:00:00Z".parse().unwrap();
        transport.send("m1", at, &message).await.unwrap();
        transport.send("m1", at, &message).await.unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.join("outbox"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["20261026T080000Z-m1.eml"], "one file, no temporary left");
        let path = dir.join("outbox").join(&names[0]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("Subject: Essai\r\n") && text.ends_with("Bonjour"),
            "{text}"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mode = std::fs::metadata(dir.join("outbox")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_temporary_failure() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let transport = Transport::smtp(&SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: SmtpSecurity::None,
            credentials: None,
            timeout: Duration::from_secs(5),
            ca_pem: None,
        })
        .unwrap();
        let message = lettre::Message::builder()
            .from("d@example.org".parse().unwrap())
            .to("zoe@example.org".parse().unwrap())
            .subject("x")
            .body("x".to_owned())
            .unwrap();
        let err = transport.send("m", Timestamp::now(), &message).await.unwrap_err();
        assert!(matches!(err, SendError::Temporary(_)), "{err:?}");
        assert!(transport.check().await.is_err());
        assert_eq!(transport.describe(), format!("SMTP server 127.0.0.1:{port}"));
    }
}
