//! `dialogue jitsi-config --server NAME`, run as an operator runs it, against the database and
//! secret key of a running Dialogue: the settings are filled in, every Prosody block parses with
//! `luac -p`, and the URLs it prints are the ones Dialogue answers.

use std::process::Command;

use reqwest::StatusCode;
use testkit::{Backend, both_backends};

use crate::helpers::TestApp;
use crate::jitsi_support::*;

const BIN: &str = env!("CARGO_BIN_EXE_dialogue");
const PUBLIC: &str = "https://dialogue.example.org";

both_backends!(jitsi_config_prints_settings_that_luac_accepts);

#[tokio::test]
async fn check_says_whether_each_jitsi_server_answers() {
    check_reaches_jitsi_servers(Backend::Sqlite).await;
}

pub(crate) fn run(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    run_with(app, &[], args)
}

fn run_with(app: &TestApp, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.envs(env.iter().copied());
    for (k, _) in std::env::vars() {
        if k.starts_with("DIALOGUE_") {
            cmd.env_remove(k);
        }
    }
    // No file either: not even an installed package's /etc/dialogue/dialogue.toml.
    cmd.env("DIALOGUE_CONFIG", "");
    let out = cmd
        .args(args)
        .env("DIALOGUE_DATABASE_URL", &app.db.url)
        .env("DIALOGUE_DATA_DIR", &app.data_dir)
        .env("DIALOGUE_PUBLIC_URL", PUBLIC)
        .env("DIALOGUE_LOG_LEVEL", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The blocks of the output, each with its one comment line: (comment, body).
pub(crate) fn blocks(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let starts = ["-- File ", "# File ", "// File ", "# JaaS"]
            .iter()
            .any(|p| line.starts_with(p));
        if starts {
            out.push((line.to_owned(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

pub(crate) fn luac_check(lua: &str) {
    let luac = testkit::require_program(&["luac", "luac5.4", "luac5.3"], "apt-get install -y lua5.4");
    let dir = testkit::temp_dir("luac");
    let file = dir.join("prosody.cfg.lua");
    std::fs::write(&file, lua).unwrap();
    let out = Command::new(luac).arg("-p").arg(&file).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "luac refused the configuration: {}\n{lua}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn jitsi_config_prints_settings_that_luac_accepts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let meet = server(&app, hs256("Meet principal", "https://meet.example.org")).await;
    let rsa = server(&app, rs256("RSA")).await;
    server(&app, jaas("JaaS")).await;

    // HS256: app id and secret, both API prefixes with the bearer, Jicofo and config.js.
    let (code, out, err) = run(&app, &["jitsi-config", "--server", "meet principal"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("-- Dialogue jitsi-config for Jitsi server \"Meet principal\". Assumes:"),
        "{out}"
    );
    for expected in [
        "VirtualHost \"meet.example.org\"",
        "authentication = \"token\"",
        "app_id = \"dialogue\"",
        &format!("app_secret = \"{APP_SECRET}\""),
        "allow_empty_token = false",
        "\"token_verification\";",
        "\"token_affiliation\";",
        "\"token_lobby_bypass\";",
        "\"reservations\";",
        &format!("reservations_api_prefix = \"{PUBLIC}/jitsi/reservations\""),
        &format!("[\"Authorization\"] = \"Bearer {}\";", meet.api_secret),
        "Component \"eventsync.meet.example.org\" \"event_sync_component\"",
        &format!("api_prefix = \"{PUBLIC}/jitsi\""),
        "enable-auto-owner = false",
        "enableUserRolesBasedOnToken: true",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    let parts = blocks(&out);
    assert_eq!(parts.len(), 6, "{parts:?}");
    let lua: Vec<&(String, String)> = parts
        .iter()
        .filter(|(c, _)| c.starts_with("-- File /etc/prosody/"))
        .collect();
    assert_eq!(lua.len(), 3);
    let mut source = String::from("-- header\n");
    for (comment, body) in &lua {
        source.push_str(comment);
        source.push('\n');
        source.push_str(body);
    }
    luac_check(&source);
    assert!(
        parts
            .iter()
            .any(|(c, _)| c.starts_with("# File /etc/jitsi/jicofo/jicofo.conf"))
    );
    assert!(
        parts
            .iter()
            .any(|(c, _)| c.starts_with("// File /etc/jitsi/meet/meet.example.org-config.js"))
    );
    // People who open the Jitsi address itself, or whose meeting ends, land back in Dialogue.
    assert!(out.contains(&format!("customUrl: \"{PUBLIC}/\"")), "{out}");
    assert!(out.contains("enableClosePage: true,"));
    let (_, redirects) = parts
        .iter()
        .find(|(c, _)| c.starts_with("# File /etc/nginx/sites-available/meet.example.org.conf"))
        .expect("the Jitsi site's nginx block");
    for path in ["/", "/static/close.html", "/static/close2.html", "/static/close3.html"] {
        assert!(
            redirects.contains(&format!("location = {path} {{\n    return 302 {PUBLIC}/;\n}}")),
            "{path} in {redirects}"
        );
    }
    // The reservation prefix it prints is where Dialogue answers, with that bearer.
    let r = testkit::client()
        .post(format!("{}/jitsi/reservations/conference", app.url))
        .header("authorization", format!("Bearer {}", meet.api_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=nope&start_time=2026-01-01T00%3A00%3A00.000Z&mail_owner=x%40y")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // RS256 with a tenant and a Docker-style MUC: the key server instead of a secret.
    let (code, out, err) = run(
        &app,
        &[
            "jitsi-config",
            "--server",
            "RSA",
            "--muc-domain",
            "muc.meet.example.org",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("asap_key_server = \"{PUBLIC}/jitsi/asap\"")),
        "{out}"
    );
    assert!(!out.contains("app_secret"));
    assert!(out.contains("Component \"muc.meet.example.org\" \"muc\""));
    assert!(
        out.contains("-- tenant acme: rooms are https://meet.example.org/acme/<room>"),
        "{out}"
    );
    assert!(out.contains(&format!("Bearer {}", rsa.api_secret)));
    let key_path = jitsi::asap_key_path("dialogue-2026");
    assert!(out.contains(&key_path), "the comment names the key file");
    let r = testkit::get(format!("{}/jitsi/asap/{key_path}", app.url))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "and Dialogue serves it");
    let mut source = String::new();
    for (comment, body) in blocks(&out).iter().filter(|(c, _)| c.starts_with("-- ")) {
        source.push_str(comment);
        source.push('\n');
        source.push_str(body);
    }
    luac_check(&source);

    // JaaS: what to do in the console instead, with the public key to upload.
    let (code, out, _) = run(&app, &["jitsi-config", "--server", "JaaS"]);
    assert_eq!(code, 0);
    assert!(out.contains("-----BEGIN PUBLIC KEY-----") && !out.contains("PRIVATE"));
    assert!(out.contains("vpaas-magic-cookie-0123456789abcdef/4f4910"));

    // An unknown server: one line naming the ones there are (after the line saying where the
    // settings came from).
    let (code, out, err) = run(&app, &["jitsi-config", "--server", "nope"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.starts_with("dialogue: configuration: "), "{err}");
    assert!(
        err.contains("no Jitsi server named \"nope\"") && err.contains("\"Meet principal\""),
        "{err}"
    );
    let (code, out, _) = run(&app, &["jitsi-config", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--server <NAME>") && out.contains("--muc-domain <DOMAIN>"));

    // `dialogue check` opens every server's secrets with the secret key, and says when it cannot
    // (a database restored next to another key).
    let (code, out, err) = run(&app, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("ok   Jitsi server \"Meet principal\" (hs256): secrets open"),
        "{out}"
    );
    assert!(out.contains("ok   Jitsi server \"JaaS\" (jaas)"));
    let other = app.data_dir.join("other.key");
    std::fs::write(&other, format!("{}\n", "ab".repeat(32))).unwrap();
    let other = other.display().to_string();
    let (code, out, _) = run_with(&app, &[("DIALOGUE_SECRET_KEY_FILE", &other)], &["check"]);
    assert_eq!(code, 1);
    assert_eq!(out.matches("FAIL Jitsi server").count(), 3, "{out}");
    let (code, _, err) = run_with(
        &app,
        &[("DIALOGUE_SECRET_KEY_FILE", &other)],
        &["jitsi-config", "--server", "RSA"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("is this the secret key they were saved with?"), "{err}");
}

/// A Python HTTPS server on `port` whose certificate comes from a throwaway authority (no
/// public authority vouches for it), killed when dropped.
struct PrivateHttps(std::process::Child, std::path::PathBuf);

impl PrivateHttps {
    fn start(port: u16) -> PrivateHttps {
        let dir = testkit::temp_dir("private-https");
        let (_, cert, key) = testkit::tls_authority_and_server(&dir);
        let script = format!(
            "import http.server, ssl\n\
             s = http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler)\n\
             c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n\
             c.load_cert_chain({cert:?}, {key:?})\n\
             s.socket = c.wrap_socket(s.socket, server_side=True)\n\
             s.serve_forever()\n"
        );
        let child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .current_dir(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        PrivateHttps(child, dir)
    }
}

impl Drop for PrivateHttps {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// `dialogue check` asks each server's page: people's browsers go there, so an answer, a
/// certificate nobody vouches for and silence are each said. Not reaching it from here is a
/// warning (Dialogue itself never calls Jitsi: Prosody calls Dialogue), not a failure.
async fn check_reaches_jitsi_servers(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // A web server that answers (Jitsi's nginx in front of the web app, as far as a GET goes),
    // on a thread of its own: the check below blocks this test's runtime while it runs.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let web = listener.local_addr().unwrap().port();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = answered.clone();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut socket in listener.incoming().flatten() {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut request = [0u8; 2048];
            let n = socket.read(&mut request).unwrap_or(0);
            // Its config.js as `jitsi-config` has it set (and a stock line commented out).
            let body = if request[..n].starts_with(b"GET /config.js ") {
                format!(
                    "var config = {{\n    // welcomePage: {{ disabled: false, customUrl: 'https://elsewhere.example/' }},\n    \
                     enableUserRolesBasedOnToken: true,\n    welcomePage: {{ disabled: false, customUrl: '{PUBLIC}/' }},\n}};\n"
                )
            } else {
                "Jitsi".to_owned()
            };
            let _ = socket.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    server(&app, hs256("Local", &format!("http://127.0.0.1:{web}"))).await;

    let tls = testkit::free_port();
    let _private = PrivateHttps::start(tls);
    testkit::wait_for_port(tls, "the HTTPS server").await;
    server(&app, hs256("Private CA", &format!("https://127.0.0.1:{tls}"))).await;

    let silent = testkit::free_port();
    server(&app, hs256("Down", &format!("http://127.0.0.1:{silent}"))).await;

    let (code, out, err) = run(&app, &["check"]);
    assert_eq!(code, 0, "unreachable Jitsi servers are warnings: {out}{err}");
    assert!(
        out.contains(&format!(
            "ok   Jitsi server \"Local\" answers at http://127.0.0.1:{web}/ (HTTP 200)"
        )),
        "{out}"
    );
    assert!(
        answered.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "the check really asked, the page and config.js"
    );
    // What its config.js says, against what `jitsi-config` prints.
    for said in [
        "ok   Jitsi server \"Local\": config.js takes moderator rights from the token".to_owned(),
        format!("ok   Jitsi server \"Local\": config.js sends its welcome page back to Dialogue ({PUBLIC}/)"),
    ] {
        assert!(out.lines().any(|l| l == said), "{said:?} in {out}");
    }
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with("warn") && l.contains(&format!("Jitsi server \"{name}\"")))
            .unwrap_or_else(|| panic!("no warning for {name}: {out}"))
            .to_owned()
    };
    let private = line("Private CA");
    assert!(
        private.contains(&format!("https://127.0.0.1:{tls}/")) && private.contains("certificate"),
        "{private}"
    );
    let down = line("Down");
    assert!(down.contains("not reachable from here"), "{down}");
    // Each server's secrets are still checked, reachable or not.
    assert_eq!(out.matches("secrets open with this secret key").count(), 3, "{out}");
}
