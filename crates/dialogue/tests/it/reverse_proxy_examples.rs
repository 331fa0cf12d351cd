//! The reverse-proxy sites the Debian package ships (`packaging/nginx/dialogue.conf`,
//! `packaging/apache/dialogue.conf`), run by a real nginx and a real Apache in front of
//! Dialogue, with a throwaway certificate where Let's Encrypt's would be: the login page over
//! HTTPS, plain HTTP redirected to HTTPS (certificate renewals excepted), the client's address
//! as Dialogue records it, the body limit equal to Dialogue's, and no security header twice.
//! The files are used as shipped: only their ports, certificate and web root are swapped for
//! the test's, each swap found in the file (so that the test follows the examples).

use std::path::{Path, PathBuf};
use std::process::Command;

use testkit::{Backend, Peer};

use crate::helpers::TestApp;

const NAME: &str = "dialogue.example.org";
/// The address the test's client connects from; Dialogue must record it, not the proxy's.
const CLIENT: &str = "127.0.0.3";
/// Dialogue's default `http.body_limit_kib`, which the examples repeat.
const BODY_LIMIT: usize = 1024 * 1024;

fn example(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../packaging")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Replaces `from` (which must be in `text`) with `to`.
fn swap(text: &mut String, from: &str, to: &str) {
    assert!(
        text.contains(from),
        "the example no longer contains {from:?}: update this test"
    );
    *text = text.replace(from, to);
}

/// A self-signed certificate for [`NAME`] in `dir`: (certificate, key).
fn certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let openssl = testkit::require_program(&["openssl"], "apt-get install -y openssl");
    let (cert, key) = (dir.join("fullchain.pem"), dir.join("privkey.pem"));
    let out = Command::new(openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", &format!("/CN={NAME}")])
        .args(["-addext", &format!("subjectAltName=DNS:{NAME}")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// The certificate renewals' directory, with one challenge file.
fn web_root(dir: &Path) -> PathBuf {
    let root = dir.join("www");
    std::fs::create_dir_all(root.join(".well-known/acme-challenge")).unwrap();
    std::fs::write(root.join(".well-known/acme-challenge/token-1"), "challenge answer").unwrap();
    root
}

/// An answer as curl saw it: the status, the headers (names lowercased, in order) and the body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn count(&self, name: &str) -> usize {
        self.headers.iter().filter(|(n, _)| n == name).count()
    }
}

/// A client of the front ports: curl, from [`CLIENT`], resolving [`NAME`] to 127.0.0.1 and
/// trusting the test's certificate, with a cookie jar.
struct Client {
    curl: PathBuf,
    cert: PathBuf,
    jar: PathBuf,
    http: u16,
    https: u16,
}

impl Client {
    fn new(dir: &Path, cert: &Path, http: u16, https: u16) -> Client {
        Client {
            curl: testkit::require_program(&["curl"], "apt-get install -y curl"),
            cert: cert.to_owned(),
            jar: dir.join("cookies.txt"),
            http,
            https,
        }
    }

    fn origin(&self) -> String {
        format!("https://{NAME}:{}", self.https)
    }

    /// `curl URL` with `extra` arguments; `url` is a path on HTTPS, or a full URL.
    fn request(&self, url: &str, extra: &[&str]) -> Answer {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.origin())
        } else {
            url.to_owned()
        };
        let out = Command::new(&self.curl)
            .args(["-sS", "-i", "--interface", CLIENT, "--cacert"])
            .arg(&self.cert)
            .args(["--resolve", &format!("{NAME}:{}:127.0.0.1", self.https)])
            .args(["--resolve", &format!("{NAME}:{}:127.0.0.1", self.http)])
            .arg("-b")
            .arg(&self.jar)
            .arg("-c")
            .arg(&self.jar)
            .args(extra)
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "curl {url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP answer from {url}: {text}"));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line from {url}: {head}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Answer {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    /// POSTs a form body from a file (as large as the test needs).
    fn post_file(&self, path: &str, body: &Path, extra: &[&str]) -> Answer {
        let data = format!("@{}", body.display());
        let origin = format!("Origin: {}", self.origin());
        // As browsers send it: without `Expect: 100-continue`, which curl adds to bodies over
        // 1 MiB.
        let mut args = vec![
            "-H",
            "Expect:",
            "-H",
            "Content-Type: application/x-www-form-urlencoded",
            "-H",
            origin.as_str(),
            "--data-binary",
            data.as_str(),
        ];
        args.extend_from_slice(extra);
        self.request(path, &args)
    }
}

/// Dialogue behind the example site, with the settings the examples name: its public URL on
/// HTTPS and the proxy on this host trusted.
async fn dialogue_behind(https: u16) -> TestApp {
    let public = format!("https://{NAME}:{https}");
    TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("DIALOGUE_PUBLIC_URL", &public),
            ("DIALOGUE_HTTP_TRUSTED_PROXIES", "127.0.0.1/32,::1/128"),
        ],
    )
    .await
}

/// Who refuses a body larger than Dialogue's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refuses {
    /// The proxy, before the body travels on.
    Proxy,
    /// Dialogue itself, from the Content-Length, before reading the body.
    Dialogue,
}

/// What both sites must do for Dialogue (`server` names the proxy in messages).
async fn check_site(app: &TestApp, client: &Client, dir: &Path, server: &str, large_bodies: Refuses) {
    // The login page over HTTPS, with each of Dialogue's security headers exactly once.
    let page = client.request("/login", &[]);
    assert_eq!(page.status, 200, "{server}: {}", page.body);
    assert!(page.body.contains("name=\"password\""), "{server}: not the login page");
    for header in [
        "content-security-policy",
        "strict-transport-security",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "permissions-policy",
        "x-request-id",
    ] {
        assert_eq!(page.count(header), 1, "{server}: {header} in {:?}", page.headers);
    }

    // Plain HTTP: certificate renewals are answered, everything else goes to HTTPS.
    let http = format!("http://{NAME}:{}", client.http);
    let moved = client.request(&format!("{http}/login?next=%2Fcalendar"), &[]);
    assert_eq!(moved.status, 301, "{server}");
    assert_eq!(
        moved.header("location"),
        Some(format!("https://{NAME}/login?next=%2Fcalendar").as_str()),
        "{server}"
    );
    let challenge = client.request(&format!("{http}/.well-known/acme-challenge/token-1"), &[]);
    assert_eq!(
        (challenge.status, challenge.body.as_str()),
        (200, "challenge answer"),
        "{server}"
    );

    // A failed login is recorded with the client's own address: the proxy's X-Forwarded-For
    // is believed, an address the client sends itself is not.
    let csrf = page
        .body
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token in the login page")
        .to_owned();
    let form = dir.join("login-form.txt");
    std::fs::write(&form, format!("_csrf={csrf}&email=nobody%40example.org&password=wrong")).unwrap();
    let refused = client.post_file("/login", &form, &["-H", "X-Forwarded-For: 203.0.113.9"]);
    assert_eq!(refused.status, 401, "{server}: {}", refused.body);
    let log = app.store().audit_log(20, None).await.unwrap();
    let failed = log
        .iter()
        .find(|e| e.action == "login.failed")
        .unwrap_or_else(|| panic!("{server}: no failed login in the audit log"));
    assert_eq!(failed.ip.as_deref(), Some(CLIENT), "{server}");

    // The body limit: 1 MiB reaches Dialogue, one byte more is refused (413).
    let body = dir.join("large-body.txt");
    std::fs::write(&body, "a".repeat(BODY_LIMIT)).unwrap();
    let at_limit = client.post_file("/login", &body, &[]);
    assert_ne!(at_limit.status, 413, "{server}: a body of 1 MiB must reach Dialogue");
    assert_eq!(
        at_limit.count("content-security-policy"),
        1,
        "{server}: answered by Dialogue"
    );
    std::fs::write(&body, "a".repeat(BODY_LIMIT + 1)).unwrap();
    let over = client.post_file("/login", &body, &[]);
    let errors = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
    assert_eq!(over.status, 413, "{server}: {}\n{errors}", over.body);
    // Dialogue's answers carry a request id; the proxy's own do not.
    let by_dialogue = over.header("x-request-id").is_some();
    assert_eq!(
        by_dialogue,
        large_bodies == Refuses::Dialogue,
        "{server}: {:?}",
        over.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_example_site() {
    let nginx = testkit::require_program(&["/usr/sbin/nginx", "nginx"], "apt-get install -y nginx-light");
    let (http, https) = (testkit::free_port(), testkit::free_port());
    let app = dialogue_behind(https).await;
    let dir = testkit::temp_dir("nginx-example");
    let (cert, key) = certificate(&dir);
    let root = web_root(&dir);

    let mut site = example("nginx/dialogue.conf");
    swap(&mut site, "listen 80;", &format!("listen 127.0.0.1:{http};"));
    swap(&mut site, "listen [::]:80;", "");
    swap(
        &mut site,
        "listen 443 ssl http2;",
        &format!("listen 127.0.0.1:{https} ssl http2;"),
    );
    swap(&mut site, "listen [::]:443 ssl http2;", "");
    swap(
        &mut site,
        "/etc/letsencrypt/live/dialogue.example.org/fullchain.pem",
        &cert.display().to_string(),
    );
    swap(
        &mut site,
        "/etc/letsencrypt/live/dialogue.example.org/privkey.pem",
        &key.display().to_string(),
    );
    swap(&mut site, "root /var/www/html;", &format!("root {};", root.display()));
    swap(
        &mut site,
        "proxy_pass http://127.0.0.1:8080;",
        &format!("proxy_pass http://127.0.0.1:{};", app.addr.port()),
    );
    std::fs::write(dir.join("dialogue.conf"), &site).unwrap();
    let d = dir.display();
    let main = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           include {d}/dialogue.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let conf = dir.join("nginx.conf").display().to_string();
    let prefix = format!("{d}/");
    let test = Command::new(&nginx)
        .args(["-t", "-c", &conf, "-p", &prefix])
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "nginx -t refused the example: {}",
        String::from_utf8_lossy(&test.stderr)
    );
    let client = Client::new(&dir, &cert, http, https);
    let peer = Peer::start(&nginx, &["-c", &conf, "-p", &prefix], dir.clone(), https, "nginx").await;
    check_site(&app, &client, &dir, "nginx", Refuses::Proxy).await;

    // nginx's request id reaches Dialogue, which answers with it: one id in both logs.
    let page = client.request("/healthz", &[]);
    let id = page.header("x-request-id").unwrap_or_default().to_owned();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "not nginx's $request_id: {id:?}"
    );
    drop(peer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_example_site() {
    let apache = testkit::require_program(&["/usr/sbin/apache2"], "apt-get install -y apache2-bin");
    let modules = Path::new("/usr/lib/apache2/modules");
    let (http, https) = (testkit::free_port(), testkit::free_port());
    let app = dialogue_behind(https).await;
    let dir = testkit::temp_dir("apache-example");
    let (cert, key) = certificate(&dir);
    let root = web_root(&dir);

    let mut site = example("apache/dialogue.conf");
    swap(
        &mut site,
        "<VirtualHost *:80>",
        &format!("<VirtualHost 127.0.0.1:{http}>"),
    );
    swap(
        &mut site,
        "<VirtualHost *:443>",
        &format!("<VirtualHost 127.0.0.1:{https}>"),
    );
    swap(
        &mut site,
        "/etc/letsencrypt/live/dialogue.example.org/fullchain.pem",
        &cert.display().to_string(),
    );
    swap(
        &mut site,
        "/etc/letsencrypt/live/dialogue.example.org/privkey.pem",
        &key.display().to_string(),
    );
    swap(&mut site, "/var/www/html/", &format!("{}/", root.display()));
    swap(
        &mut site,
        "http://127.0.0.1:8080/",
        &format!("http://127.0.0.1:{}/", app.addr.port()),
    );
    std::fs::write(dir.join("dialogue.conf"), &site).unwrap();
    // Apache's Debian configuration loads these modules once `a2enmod ssl proxy proxy_http
    // headers rewrite` has run (alias and authz_core are on by default).
    let d = dir.display();
    let load: String = [
        ("mpm_event", "mod_mpm_event"),
        ("authz_core", "mod_authz_core"),
        ("alias", "mod_alias"),
        ("socache_shmcb", "mod_socache_shmcb"),
        ("ssl", "mod_ssl"),
        ("proxy", "mod_proxy"),
        ("proxy_http", "mod_proxy_http"),
        ("headers", "mod_headers"),
        ("rewrite", "mod_rewrite"),
    ]
    .iter()
    .map(|(name, file)| format!("LoadModule {name}_module {}/{file}.so\n", modules.display()))
    .collect();
    let user = if is_root() {
        "User www-data\nGroup www-data\n"
    } else {
        ""
    };
    let main = format!(
        "ServerRoot {d}\nServerName localhost\nDefaultRuntimeDir {d}\nPidFile {d}/apache.pid\n\
         ErrorLog {d}/error.log\nLogLevel warn\nMutex file:{d} default\n{user}{load}\
         Listen 127.0.0.1:{http}\nListen 127.0.0.1:{https}\n\
         SSLSessionCache shmcb:{d}/ssl_scache(512000)\n\
         <Directory {root}>\n    Require all granted\n</Directory>\n\
         Include {d}/dialogue.conf\n",
        root = root.display()
    );
    std::fs::write(dir.join("apache2.conf"), main).unwrap();
    let conf = dir.join("apache2.conf").display().to_string();
    let test = Command::new(&apache).args(["-t", "-f", &conf]).output().unwrap();
    assert!(
        test.status.success(),
        "apache2 -t refused the example: {}",
        String::from_utf8_lossy(&test.stderr)
    );
    let client = Client::new(&dir, &cert, http, https);
    // -X: one process, which the test can stop (no children left behind).
    let peer = Peer::start(&apache, &["-X", "-f", &conf], dir.clone(), https, "Apache").await;
    check_site(&app, &client, &dir, "Apache", Refuses::Proxy).await;
    drop(peer);
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
