//! What a hostile or broken server can do to the client: it cannot make it allocate
//! without limit nor wait forever. Prosody never does these things, so a few lines of
//! TCP server play the part (this is not a stand-in for Prosody's behaviour, which
//! the `prosody_admin` tests check against the real server).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use xmpp::{AdminClient, AdminConfig, Error};

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='dialogue.test' id='1' version='1.0'>";

/// A server on a free loopback port that reads the client's header, then runs `act`.
async fn server<F, Fut>(act: F) -> u16
where
    F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = sock.read(&mut buf).await;
        act(sock).await;
    });
    port
}

fn config(port: u16) -> AdminConfig {
    let mut cfg = AdminConfig::new("127.0.0.1", "dialogue.test", "admin@dialogue.test", "pw");
    cfg.port = port;
    cfg.allow_plain = true;
    cfg.timeout = Duration::from_secs(1);
    cfg.max_stanza_bytes = 64 * 1024;
    cfg
}

#[tokio::test]
async fn an_endless_stanza_is_cut_off() {
    let port = server(|mut sock| async move {
        let _ = sock.write_all(HEADER.as_bytes()).await;
        let _ = sock.write_all(b"<stream:features><x>").await;
        let chunk = vec![b'a'; 16 * 1024];
        // 160 MiB if nobody stops reading.
        for _ in 0..10_000 {
            if sock.write_all(&chunk).await.is_err() {
                return;
            }
        }
    })
    .await;
    match AdminClient::connect(&config(port)).await {
        Err(Error::Protocol(m)) => assert!(m.contains("larger than 65536 bytes"), "{m}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let port = server(|sock| async move {
        // Keeps the connection open and says nothing.
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(sock);
    })
    .await;
    let started = Instant::now();
    match AdminClient::connect(&config(port)).await {
        Err(Error::Timeout(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_trickling_server_times_out() {
    let port = server(|mut sock| async move {
        let _ = sock.write_all(HEADER.as_bytes()).await;
        let _ = sock.write_all(b"<stream:features>").await;
        // Whitespace keeps the connection alive but never completes a stanza.
        for _ in 0..300 {
            if sock.write_all(b" <a/>").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    let started = Instant::now();
    assert!(matches!(
        AdminClient::connect(&config(port)).await,
        Err(Error::Timeout(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_huge_scram_iteration_count_is_refused() {
    let port = server(|mut sock| async move {
        let features = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>";
        let _ = sock.write_all(format!("{HEADER}{features}").as_bytes()).await;
        let mut buf = vec![0u8; 4096];
        let n = sock.read(&mut buf).await.unwrap_or(0);
        let auth = String::from_utf8_lossy(&buf[..n]).into_owned();
        // Echo the client nonce back, extended, with four billion iterations.
        let b64 = auth.split('>').nth(1).and_then(|s| s.split('<').next()).unwrap_or("");
        use base64::Engine as _;
        let first = base64::engine::general_purpose::STANDARD.decode(b64).unwrap_or_default();
        let first = String::from_utf8_lossy(&first).into_owned();
        let nonce = first.split("r=").nth(1).unwrap_or("").to_owned();
        let challenge = format!("r={nonce}srv,s=QSXCR+Q6sek8bf92,i=4000000000");
        let challenge = base64::engine::general_purpose::STANDARD.encode(challenge);
        let _ = sock
            .write_all(format!("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{challenge}</challenge>").as_bytes())
            .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    match AdminClient::connect(&config(port)).await {
        Err(Error::Auth(m)) => assert!(m.contains("PBKDF2 iterations"), "{m}"),
        other => panic!("expected an authentication error, got {other:?}"),
    }
}
