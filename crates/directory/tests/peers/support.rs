//! Free ports, temporary directories, waiting for a peer, a throwaway certificate authority.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// A fresh directory, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "directory-{what}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a temporary directory");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits until `child` accepts connections on the port. `Err` with its output when it exited
/// first (the port was taken meanwhile, say): the caller may try another port.
pub async fn wait_for_port(child: &mut Child, port: u16, what: &str, log: &Path) -> Result<(), String> {
    let read_log = || std::fs::read_to_string(log).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{what} exited ({status}) before listening on port {port}:\n{}",
                read_log()
            ));
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{what} did not listen on port {port} within 60 s. Its output:\n{}",
        read_log()
    );
}

/// Runs a command that must succeed; panics with its output otherwise, or with `install` when
/// the program is missing.
pub fn run(command: &mut Command, install: &str) -> String {
    let output = match command.output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("{:?} is not installed ({e}). {install}", command.get_program())
        }
        Err(e) => panic!("{command:?}: {e}"),
    };
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const OPENSSL: &str = "On Debian: apt-get install -y openssl";

/// A throwaway certificate authority (`<name>.pem`, `<name>.key` in `dir`).
pub fn make_authority(dir: &Path, name: &str) -> PathBuf {
    let pem = dir.join(format!("{name}.pem"));
    run(
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"])
            .arg("-keyout")
            .arg(dir.join(format!("{name}.key")))
            .arg("-out")
            .arg(&pem)
            .args(["-subj", &format!("/CN=Dialogue test authority {name}")])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
        OPENSSL,
    );
    pem
}

/// A server certificate for 127.0.0.1 and localhost signed by the authority `ca`
/// (`server.pem`, `server.key` in `dir`).
pub fn make_server_certificate(dir: &Path, ca: &str) -> (PathBuf, PathBuf) {
    let (cert, key, csr, ext) = (
        dir.join("server.pem"),
        dir.join("server.key"),
        dir.join("server.csr"),
        dir.join("server.ext"),
    );
    std::fs::write(
        &ext,
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .expect("write the extensions file");
    run(
        Command::new("openssl")
            .args(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr),
        OPENSSL,
    );
    run(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-set_serial", "1"])
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(dir.join(format!("{ca}.pem")))
            .arg("-CAkey")
            .arg(dir.join(format!("{ca}.key")))
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&cert),
        OPENSSL,
    );
    (cert, key)
}
