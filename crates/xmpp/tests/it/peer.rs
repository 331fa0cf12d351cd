//! A real Prosody (Debian's package) per test, in a temporary folder on a free port,
//! and a real XMPP client (slixmpp) to log in with the accounts it holds.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use xmpp::AdminConfig;

pub const DOMAIN: &str = "dialogue.test";
pub const ADMIN: &str = "admin@dialogue.test";
pub const ADMIN_PASSWORD: &str = "admin-pw-Ü1";

const INSTALL_PROSODY: &str =
    "apt-get install -y --no-install-recommends prosody (then `service prosody stop`), or run `bash .ci/peers`";

/// Whether the server offers STARTTLS (and requires it) or only plain TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// mod_tls with a certificate for [`DOMAIN`] from a throwaway authority;
    /// `c2s_require_encryption = true`.
    StartTls,
    /// No mod_tls: plain TCP only (loopback tests).
    Plain,
}

/// A running Prosody, killed and its folder removed when dropped.
pub struct Prosody {
    pub port: u16,
    pub dir: PathBuf,
    /// The authority that signed the server's certificate (StartTls only).
    pub ca_file: Option<PathBuf>,
    child: Child,
}

fn program(candidates: &[&str], install: &str) -> PathBuf {
    for c in candidates {
        let p = Path::new(c);
        if p.is_absolute() && p.exists() {
            return p.to_path_buf();
        }
        if let Some(found) = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join(c))
            .find(|p| p.exists())
        {
            return found;
        }
    }
    panic!(
        "this test needs {} (not found). Install it with: {install}",
        candidates.join(" or ")
    );
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs Prosody on the configuration in `dir`, as the prosody user directly (like `runuser -u
/// prosody`), so that killing the child kills Prosody itself.
fn spawn(prosody: &Path, dir: &Path, uid: u32, gid: u32) -> Child {
    use std::os::unix::process::CommandExt;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("stdout.log"))
        .expect("stdout.log");
    let conf = dir.join("prosody.cfg.lua");
    Command::new(prosody)
        .arg("--config")
        .arg(&conf)
        .arg("-F")
        .uid(uid)
        .gid(gid)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("stdout.log"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start prosody: {e}"))
}

/// The uid and gid of the `prosody` account the Debian package creates (Prosody
/// refuses to run as root).
fn prosody_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "prosody"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run id: {e}"));
        assert!(
            out.status.success(),
            "no `prosody` user on this machine. Install Prosody: {INSTALL_PROSODY}"
        );
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("id {flag} prosody: {e}"))
    };
    (id("-u"), id("-g"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

fn temp_dir(label: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "dialogue-xmpp-{label}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// A throwaway authority and a certificate for [`DOMAIN`] signed by it.
fn make_certificates(dir: &Path) {
    let openssl = program(&["openssl"], "apt-get install -y openssl");
    let sh = |args: &[&str], what: &str| run(Command::new(&openssl).args(args).current_dir(dir), what);
    sh(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=Dialogue test authority",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        "openssl req (authority)",
    );
    sh(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            &format!("/CN={DOMAIN}"),
        ],
        "openssl req (server)",
    );
    std::fs::write(
        dir.join("server.ext"),
        format!("subjectAltName=DNS:{DOMAIN}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
    )
    .expect("server.ext");
    sh(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
        "openssl x509 (sign)",
    );
}

impl Prosody {
    /// Starts Prosody with [`ADMIN`] (password [`ADMIN_PASSWORD`]) and the extra
    /// `users` (name, password) registered, and waits until it listens.
    pub async fn start(security: Security, users: &[(&str, &str)]) -> Prosody {
        let prosody = program(&["/usr/bin/prosody", "prosody"], INSTALL_PROSODY);
        let prosodyctl = program(&["/usr/bin/prosodyctl", "prosodyctl"], INSTALL_PROSODY);
        let (uid, gid) = prosody_ids();
        let dir = temp_dir("prosody");
        let port = free_port();
        let d = dir.display();
        let tls = match security {
            Security::StartTls => {
                make_certificates(&dir);
                format!(
                    "c2s_require_encryption = true\nVirtualHost \"{DOMAIN}\"\n  ssl = {{ key = \"{d}/server.key\"; certificate = \"{d}/server.pem\" }}\n"
                )
            }
            Security::Plain => format!("c2s_require_encryption = false\nVirtualHost \"{DOMAIN}\"\n"),
        };
        let modules = match security {
            Security::StartTls => "\"saslauth\"; \"tls\"; \"disco\"; \"adhoc\"; \"admin_adhoc\"",
            Security::Plain => "\"saslauth\"; \"disco\"; \"adhoc\"; \"admin_adhoc\"",
        };
        let config = format!(
            r#"-- Written by the xmpp crate's tests.
daemonize = false
pidfile = "{d}/prosody.pid"
data_path = "{d}/data"
log = {{ debug = "{d}/prosody.log" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
certificates = "{d}/certs"
admins = {{ "{ADMIN}" }}
modules_enabled = {{ {modules} }}
modules_disabled = {{ "s2s" }}
authentication = "internal_hashed"
{tls}"#
        );
        std::fs::create_dir_all(dir.join("data")).expect("data dir");
        std::fs::create_dir_all(dir.join("certs")).expect("certs dir");
        let conf = dir.join("prosody.cfg.lua");
        std::fs::write(&conf, config).expect("prosody.cfg.lua");
        run(Command::new("chown").args(["-R", "prosody:prosody"]).arg(&dir), "chown");
        let conf_s = conf.to_string_lossy().into_owned();
        let mut accounts = vec![("admin", ADMIN_PASSWORD)];
        accounts.extend_from_slice(users);
        for (user, password) in accounts {
            // prosodyctl drops to the prosody user itself.
            run(
                Command::new(&prosodyctl).args(["--config", &conf_s, "register", user, DOMAIN, password]),
                "prosodyctl register",
            );
        }
        run(Command::new("chown").args(["-R", "prosody:prosody"]).arg(&dir), "chown");
        let child = spawn(&prosody, &dir, uid, gid);
        let ca_file = (security == Security::StartTls).then(|| dir.join("ca.pem"));
        let mut server = Prosody {
            port,
            dir,
            ca_file,
            child,
        };
        server.wait_listening().await;
        server
    }

    /// Stops the server as a crash or a maintenance would (its folder and accounts stay).
    #[allow(dead_code)]
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a stopped server again, on the same port with the same accounts.
    #[allow(dead_code)]
    pub async fn restart(&mut self) {
        let prosody = program(&["/usr/bin/prosody", "prosody"], INSTALL_PROSODY);
        let (uid, gid) = prosody_ids();
        self.child = spawn(&prosody, &self.dir, uid, gid);
        self.wait_listening().await;
    }

    async fn wait_listening(&mut self) {
        let port = self.port;
        let server = self;
        for _ in 0..200 {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("prosody exited ({status}) before listening:\n{}", server.log());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("prosody did not listen on port {port} within 10 s:\n{}", server.log());
    }

    /// Prosody's own log and output, for failure messages.
    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        format!("{}{}", read("stdout.log"), read("prosody.log"))
    }

    /// How Dialogue reaches this server as `admin` with `password`.
    pub fn config_as(&self, admin: &str, password: &str) -> AdminConfig {
        let mut cfg = AdminConfig::new("127.0.0.1", DOMAIN, admin, password);
        cfg.port = self.port;
        cfg.ca_file.clone_from(&self.ca_file);
        cfg.timeout = Duration::from_secs(15);
        cfg
    }

    /// How Dialogue reaches this server as [`ADMIN`].
    pub fn admin_config(&self) -> AdminConfig {
        self.config_as(ADMIN, ADMIN_PASSWORD)
    }

    /// Logs in as `jid` with a real XMPP client (slixmpp; STARTTLS with our
    /// authority when the server has one).
    pub async fn login(&self, jid: &str, password: &str) -> Login {
        login(self.port, self.ca_file.as_deref(), jid, password).await
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What a real client's login attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Ok,
    /// The server's SASL failure.
    Refused(String),
}

/// Runs `tests/it/xmpp_login.py`; anything but a success or a SASL refusal (no
/// slixmpp, unreachable, TLS) fails the test.
pub async fn login(port: u16, ca_file: Option<&Path>, jid: &str, password: &str) -> Login {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/xmpp_login.py");
    let python = program(&["python3"], "apt-get install -y python3");
    let probe = tokio::process::Command::new(&python)
        .args(["-c", "import slixmpp"])
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
    assert!(
        probe.status.success(),
        "this test needs the slixmpp XMPP client. Install it with: python3 -m pip install slixmpp (or run `bash .ci/peers`)\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg(&script).arg("127.0.0.1").arg(port.to_string()).arg(jid);
    if let Some(ca) = ca_file {
        cmd.arg(ca);
    }
    let out = cmd
        .env("XMPP_PASSWORD", password)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    match out.status.code() {
        Some(0) => Login::Ok,
        Some(1) => Login::Refused(stdout),
        _ => panic!(
            "slixmpp could not log in as {jid} for another reason than the password ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}
