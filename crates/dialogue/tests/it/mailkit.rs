//! What the mail tests share: a real SMTP server (aiosmtpd, `smtp_server.py`) on a free port,
//! messages read back by Python's e-mail parser (`read_mail.py`), calendars checked by the
//! strict parsers of `crates/ical/tests` (Python's `icalendar` and `ical`, libical), and
//! booking through the same service the pages and the API call.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use domain::booking::{PersonInput, SessionRequest, StartSpec};
use domain::localtime::Ambiguity;
use jiff::civil::{Date, Time};
use serde::Deserialize;
use serde_json::Value;
use store::{OutboxLine, OutboxStatus, SessionDetail, User};
use testkit::Peer;

use crate::helpers::TestApp;

const AIOSMTPD_HINT: &str = "python3 -m pip install aiosmtpd";

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it").join(name)
}

fn ical_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ical/tests").join(name)
}

fn python() -> PathBuf {
    testkit::require_program(&["python3"], "apt-get install -y python3")
}

/// A running aiosmtpd, storing what it accepts in a Maildir that outlives restarts.
pub struct Smtp {
    pub port: u16,
    pub maildir: PathBuf,
    root: PathBuf,
    refuse: Vec<String>,
    stall_marker: Option<PathBuf>,
    /// `starttls` or `tls`, with its certificates in `root/tls`.
    tls: Option<&'static str>,
    auth: Option<String>,
    peer: Option<Peer>,
}

impl Smtp {
    /// A server on a free port.
    pub async fn start() -> Smtp {
        Smtp::configured(testkit::free_port(), &[], false).await
    }

    /// A server that refuses these recipients permanently (550).
    pub async fn refusing(addresses: &[&str]) -> Smtp {
        Smtp::configured(testkit::free_port(), addresses, false).await
    }

    /// A server that stores the first message, then never answers its end of data.
    pub async fn stalling_first() -> Smtp {
        Smtp::configured(testkit::free_port(), &[], true).await
    }

    /// A server not started yet on `port` (start it with [`Smtp::restart`]).
    pub fn down(port: u16) -> Smtp {
        let root = testkit::temp_dir("smtp");
        Smtp {
            port,
            maildir: root.join("maildir"),
            root,
            refuse: Vec::new(),
            stall_marker: None,
            tls: None,
            auth: None,
            peer: None,
        }
    }

    /// A server with TLS (`starttls` or `tls`) requiring `user:password`.
    pub async fn secured(mode: &'static str, credentials: &str) -> Smtp {
        let mut smtp = Smtp::down(testkit::free_port());
        smtp.tls = Some(mode);
        smtp.auth = Some(credentials.to_owned());
        smtp.restart().await;
        smtp
    }

    /// The certificate authority of a TLS server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.root.join("tls/ca.pem")
    }

    async fn configured(port: u16, refuse: &[&str], stall: bool) -> Smtp {
        let mut smtp = Smtp::down(port);
        smtp.refuse = refuse.iter().map(|s| (*s).to_owned()).collect();
        smtp.stall_marker = stall.then(|| smtp.root.join("stalled"));
        smtp.restart().await;
        smtp
    }

    /// Starts (again) on the same port and Maildir.
    pub async fn restart(&mut self) {
        self.peer = None;
        let dir = testkit::temp_dir("smtp-peer");
        let mut args = vec![
            script("smtp_server.py").display().to_string(),
            "--port".into(),
            self.port.to_string(),
            "--maildir".into(),
            self.maildir.display().to_string(),
        ];
        for address in &self.refuse {
            args.push("--refuse".into());
            args.push(address.clone());
        }
        if let Some(marker) = &self.stall_marker {
            args.push("--stall-first".into());
            args.push(marker.display().to_string());
        }
        if let Some(mode) = self.tls {
            args.extend([
                "--tls".into(),
                mode.into(),
                "--tls-dir".into(),
                self.root.join("tls").display().to_string(),
            ]);
        }
        if let Some(credentials) = &self.auth {
            args.extend(["--auth".into(), credentials.clone()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let peer = Peer::start(&python(), &args, dir, self.port, "aiosmtpd").await;
        if peer.log().contains("MISSING") {
            panic!("aiosmtpd is missing: {AIOSMTPD_HINT}\n{}", peer.log());
        }
        self.peer = Some(peer);
    }

    /// Stops the server (the Maildir stays).
    pub fn stop(&mut self) {
        self.peer = None;
    }

    /// Accepts everyone from now on (after a restart).
    pub fn accept_everyone(&mut self) {
        self.refuse.clear();
    }

    /// Whether the stalled first message has arrived.
    pub fn stalled(&self) -> bool {
        self.stall_marker.as_ref().is_some_and(|m| m.exists())
    }

    /// How many messages arrived.
    pub fn count(&self) -> usize {
        ["new", "cur"]
            .iter()
            .map(|d| std::fs::read_dir(self.maildir.join(d)).map_or(0, |r| r.count()))
            .sum()
    }

    /// Every message, read back by Python's e-mail parser.
    pub fn messages(&self) -> Vec<Mail> {
        read_mail(&self.maildir)
    }

    /// Waits until at least `n` messages arrived; returns all of them.
    pub async fn wait_for(&self, n: usize) -> Vec<Mail> {
        for _ in 0..600 {
            if self.count() >= n {
                return self.messages();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "only {} of {n} messages arrived within 60 s; server log:\n{}",
            self.count(),
            self.peer.as_ref().map(Peer::log).unwrap_or_default()
        );
    }

    /// The SMTP settings of an application delivering here.
    pub fn env(&self) -> Vec<(String, String)> {
        smtp_env(self.port)
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.peer = None;
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Settings for an application delivering to an SMTP server on `port`, quickly.
pub fn smtp_env(port: u16) -> Vec<(String, String)> {
    [
        ("DIALOGUE_MAIL_TRANSPORT", "smtp".to_owned()),
        ("DIALOGUE_MAIL_SMTP_HOST", "127.0.0.1".to_owned()),
        ("DIALOGUE_MAIL_SMTP_PORT", port.to_string()),
        ("DIALOGUE_MAIL_SMTP_SECURITY", "none".to_owned()),
        ("DIALOGUE_MAIL_TIMEOUT_SECONDS", "10".to_owned()),
        ("DIALOGUE_MAIL_POLL_SECONDS", "1".to_owned()),
        (
            "DIALOGUE_MAIL_FROM",
            "Formation Exemple <formation@example.org>".to_owned(),
        ),
        (
            "DIALOGUE_MAIL_REPLY_TO",
            "Secrétariat pédagogique <secretariat@example.org>".to_owned(),
        ),
        ("DIALOGUE_MAIL_ORGANIZATION", "Formation Exemple".to_owned()),
        (
            "DIALOGUE_MAIL_CONTACT",
            "secretariat@example.org, 01 23 45 67 89".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Starts the application with these settings (owned strings).
pub async fn spawn(backend: testkit::Backend, env: &[(String, String)]) -> TestApp {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    TestApp::spawn_with(backend, &env).await
}

/// A message as Python's e-mail parser read it.
#[derive(Debug, Clone, Deserialize)]
pub struct Mail {
    pub file: String,
    pub headers: String,
    pub subject: String,
    pub to: Vec<String>,
    pub to_addresses: Vec<String>,
    pub from: String,
    pub reply_to: Option<String>,
    pub cc: Option<String>,
    pub bcc: Option<String>,
    pub message_id: String,
    pub date: String,
    pub auto_submitted: Option<String>,
    pub content_language: Option<String>,
    pub defects: Vec<String>,
    pub structure: Value,
    pub text: Option<String>,
    pub html: Option<String>,
    pub calendars: Vec<CalendarPart>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CalendarPart {
    #[serde(rename = "type")]
    pub content_type: String,
    pub method: Option<String>,
    pub charset: Option<String>,
    pub disposition: Option<String>,
    pub filename: Option<String>,
    pub text: String,
    /// What the strict parsers said (empty when they read it).
    pub problems: Vec<String>,
}

impl Mail {
    pub fn text(&self) -> &str {
        self.text.as_deref().unwrap_or_default()
    }

    pub fn html(&self) -> &str {
        self.html.as_deref().unwrap_or_default()
    }

    /// The MIME tree as `type(child, child)`, e.g.
    /// `multipart/mixed(multipart/alternative(text/plain,text/html),application/ics)`.
    pub fn shape(&self) -> String {
        fn shape(node: &Value) -> String {
            let kind = node["type"].as_str().unwrap_or("?").to_owned();
            match node["parts"].as_array() {
                Some(parts) => format!("{kind}({})", parts.iter().map(shape).collect::<Vec<_>>().join(",")),
                None => kind,
            }
        }
        shape(&self.structure)
    }

    /// The attached calendar (disposition attachment).
    pub fn attachment(&self) -> Option<&CalendarPart> {
        self.calendars
            .iter()
            .find(|c| c.disposition.as_deref() == Some("attachment"))
    }

    /// The calendar alternative (`text/calendar; method=…`).
    pub fn inline_calendar(&self) -> Option<&CalendarPart> {
        self.calendars.iter().find(|c| c.content_type == "text/calendar")
    }
}

/// Messages in a Maildir or a directory of `.eml` files.
pub fn read_mail(dir: &Path) -> Vec<Mail> {
    let output = Command::new(python())
        .arg(script("read_mail.py"))
        .arg(dir)
        .output()
        .expect("run read_mail.py");
    if output.status.code() == Some(3) {
        panic!("{}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(
        output.status.success(),
        "read_mail.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mails: Vec<Mail> = serde_json::from_slice(&output.stdout).expect("JSON from read_mail.py");
    for mail in &mails {
        for part in &mail.calendars {
            assert!(
                part.problems.is_empty(),
                "a calendar sent to {:?} does not parse: {:?}\n{}",
                mail.to_addresses,
                part.problems,
                part.text
            );
        }
    }
    mails
}

/// What the strict parsers read from a calendar: `(icalendar, ical, libical)`.
#[derive(Debug, Clone)]
pub struct ParsedCalendar {
    pub icalendar: Value,
    pub ical: Value,
    pub libical: Value,
}

impl ParsedCalendar {
    /// Each event's start in UTC, as libical computed it through the file's own VTIMEZONE.
    pub fn libical_starts(&self) -> Vec<String> {
        self.libical["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["start"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Every occurrence `ical`'s timeline expands, in UTC, in order.
    pub fn ical_occurrences(&self) -> Vec<String> {
        let mut all: Vec<String> = self.ical["occurrences"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|v| v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()))
            .collect();
        all.sort();
        all
    }
}

/// Parses `ics` with Python's `icalendar` and `ical` and with libical; fails on any error or
/// RFC 5546 restriction libical reports.
pub fn parse_calendar(ics: &str) -> ParsedCalendar {
    let dir = testkit::temp_dir("ics");
    let file = dir.join("calendar.ics");
    std::fs::write(&file, ics).unwrap();
    let run = |program: &Path, script: PathBuf, hint: &str| -> Value {
        let output = Command::new(program)
            .arg(&script)
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}; {hint}", program.display()));
        if output.status.code() == Some(3) {
            panic!(
                "a calendar parser is missing: {}\n{hint}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert!(
            output.status.success(),
            "{} rejected the calendar:\n{}\n--- calendar ---\n{ics}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let mut python_out = run(
        &python(),
        ical_script("parse_python.py"),
        "python3 -m pip install icalendar ical",
    );
    let libical = run(
        Path::new("/usr/bin/python3"),
        ical_script("parse_libical.py"),
        "apt-get install -y gir1.2-ical-3.0 python3-gi",
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(libical["errors"], serde_json::json!([]), "libical: {libical}\n{ics}");
    assert_eq!(
        python_out["icalendar"]["errors"],
        serde_json::json!([]),
        "icalendar: {}",
        python_out["icalendar"]
    );
    ParsedCalendar {
        icalendar: python_out["icalendar"].take(),
        ical: python_out["ical"].take(),
        libical,
    }
}

/// Who books: the booking service's caller for `user`.
pub fn caller(user: &User) -> service::Caller {
    service::Caller {
        actor: domain::Actor::new(user.id.clone(), user.role),
        email: user.email.clone(),
        ip: None,
    }
}

pub fn person(name: &str, email: &str) -> PersonInput {
    PersonInput {
        name: name.into(),
        email: email.into(),
        ..Default::default()
    }
}

/// A request for a session on `date` at `hour`:`minute` in `zone`.
pub fn request(title: &str, date: Date, time: Time, zone: &str, minutes: i64) -> SessionRequest {
    SessionRequest {
        title: title.into(),
        notes: String::new(),
        start: StartSpec::Local {
            date,
            time,
            ambiguity: Ambiguity::Earlier,
        },
        time_zone: zone.into(),
        duration_minutes: minutes,
        recurrence: None,
        trainers: Vec::new(),
        moderators: Vec::new(),
        learners: Vec::new(),
        guests: Vec::new(),
    }
}

/// Books through the booking service, as the pages and the API do.
pub async fn book(app: &TestApp, by: &User, request: &SessionRequest) -> Vec<SessionDetail> {
    service::booking::book(app.state.service(), &caller(by), None, None, request)
        .await
        .unwrap_or_else(|e| panic!("booking refused: {e:?}"))
}

/// The date `days` from now in `zone`.
pub fn in_days(days: i64, zone: &str) -> Date {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * days))
        .to_zoned(jiff::tz::TimeZone::get(zone).unwrap())
        .date()
}

/// Every outbox message, newest first.
pub async fn outbox(app: &TestApp) -> Vec<OutboxLine> {
    app.store().list_outbox(&[], 1000, 0).await.unwrap()
}

/// Waits until `done` holds for the outbox, waking the worker meanwhile.
pub async fn wait_outbox(app: &TestApp, what: &str, done: impl Fn(&[OutboxLine]) -> bool) -> Vec<OutboxLine> {
    for _ in 0..600 {
        let lines = outbox(app).await;
        if done(&lines) {
            return lines;
        }
        app.store().wake_outbox();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lines = outbox(app).await;
    let summary: Vec<String> = lines
        .iter()
        .map(|l| {
            format!(
                "{} {} {:?} attempts={} error={:?}",
                l.message.kind.as_str(),
                l.message.recipient_email,
                l.message.status,
                l.message.attempts,
                l.message.last_error
            )
        })
        .collect();
    panic!("the outbox did not reach “{what}” within 60 s:\n{}", summary.join("\n"));
}

/// Waits until nothing is queued or being sent.
pub async fn wait_delivered(app: &TestApp) -> Vec<OutboxLine> {
    wait_outbox(app, "nothing waiting", |lines| {
        lines
            .iter()
            .all(|l| !matches!(l.message.status, OutboxStatus::Queued | OutboxStatus::Sending))
    })
    .await
}

/// The personal join link of the participant with `email` in `detail`.
pub fn link_of(app: &TestApp, detail: &SessionDetail, email: &str) -> String {
    let p = detail
        .participants
        .iter()
        .find(|p| p.email == email)
        .unwrap_or_else(|| panic!("{email} is not in the session"));
    let key = app.store().join_key(&p.id, p.link_version).unwrap();
    format!("{}/j/{key}", app.state.config().public_url)
}

/// The one message to `email` whose subject starts with `prefix`.
pub fn one_to<'m>(mails: &'m [Mail], email: &str, prefix: &str) -> &'m Mail {
    let found: Vec<&Mail> = mails
        .iter()
        .filter(|m| m.to_addresses.iter().any(|a| a == email) && m.subject.starts_with(prefix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one “{prefix}…” message to {email}, got {}: {:?}",
        found.len(),
        mails.iter().map(|m| (&m.to_addresses, &m.subject)).collect::<Vec<_>>()
    );
    found[0]
}

/// Unfolds iCalendar content lines.
pub fn unfold(ics: &str) -> String {
    ics.replace("\r\n ", "").replace("\r\n\t", "")
}

/// What Thunderbird's parser (ical.js) expands of calendars received in this order (an
/// invitation, then updates and cancellations, as a client applies them): every occurrence's
/// start in UTC, sorted.
pub fn icaljs_occurrences(calendars: &[&str]) -> Vec<String> {
    let node = testkit::require_program(&["node"], "apt-get install -y nodejs");
    let script = ical_script("icaljs/expand.mjs");
    let dir = testkit::temp_dir("icaljs");
    let files: Vec<PathBuf> = calendars
        .iter()
        .enumerate()
        .map(|(i, ics)| {
            let file = dir.join(format!("{i}.ics"));
            std::fs::write(&file, ics).unwrap();
            file
        })
        .collect();
    let output = Command::new(node).arg(&script).args(&files).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "ical.js: {}\n(install: npm ci --prefix crates/ical/tests/icaljs)",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Value = serde_json::from_slice(&output.stdout).unwrap();
    parsed["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// What khal shows of `ics` once imported into a calendar (series expanded, overrides and
/// exclusions applied) to someone in `zone`, between `from` and a year later: one line per
/// occurrence, `YYYY-MM-DD HH:MM YYYY-MM-DD HH:MM`, sorted.
pub fn khal_imported(ics: &str, zone: &str, from: jiff::civil::Date) -> Vec<String> {
    let khal = testkit::require_program(&["khal"], "apt-get install -y khal");
    let home = testkit::temp_dir("khal");
    let config_dir = home.join("config/khal");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::create_dir_all(home.join("calendar")).unwrap();
    let config = format!(
        "[calendars]\n[[test]]\npath = {}\n[locale]\nlocal_timezone = {zone}\ndefault_timezone = {zone}\n\
         timeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n\
         datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n",
        home.join("calendar").display()
    );
    std::fs::write(config_dir.join("config"), config).unwrap();
    let file = home.join("import.ics");
    std::fs::write(&file, ics).unwrap();
    let khal_in_home = |args: &[&str]| {
        let mut command = Command::new(&khal);
        command
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .args(args);
        command
    };
    let import = khal_in_home(&["import", "--batch"]).arg(&file).output().unwrap();
    assert!(
        import.status.success(),
        "khal import: {}",
        String::from_utf8_lossy(&import.stderr)
    );
    let from = from.to_string();
    let list = khal_in_home(&["list", "--format", "{start} {end} [{uid}]", &from, "400d"])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&home);
    assert!(
        list.status.success(),
        "khal list: {}",
        String::from_utf8_lossy(&list.stderr)
    );
    let text = String::from_utf8(list.stdout).unwrap();
    let mut shown: Vec<String> = text
        .lines()
        .filter(|l| l.contains('['))
        .map(|l| l[..l.find(" [").unwrap_or(l.len())].to_owned())
        .collect();
    shown.sort();
    shown
}

/// What khal, a real calendar client, shows of `ics` to someone in `zone`: one line per
/// event, `YYYY-MM-DD HH:MM YYYY-MM-DD HH:MM` (start and end, local).
pub fn khal_local(ics: &str, zone: &str) -> Vec<String> {
    let khal = testkit::require_program(&["khal"], "apt-get install -y khal");
    let home = testkit::temp_dir("khal");
    let config_dir = home.join("config/khal");
    std::fs::create_dir_all(&config_dir).unwrap();
    std::fs::create_dir_all(home.join("calendar")).unwrap();
    let config = format!(
        "[calendars]\n[[test]]\npath = {}\n[locale]\nlocal_timezone = {zone}\ndefault_timezone = {zone}\n\
         timeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n\
         datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n",
        home.join("calendar").display()
    );
    std::fs::write(config_dir.join("config"), config).unwrap();
    let file = home.join("feed.ics");
    std::fs::write(&file, ics).unwrap();
    let output = Command::new(khal)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .args(["printics", "--format", "{start} {end}"])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&home);
    assert!(
        output.status.success(),
        "khal: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    text.lines().skip(1).map(str::to_owned).collect()
}
