//! LDAP logins on the login form against a real OpenLDAP `slapd` (Debian's, with the memberOf
//! overlay), started per test on a free port with a generated configuration. Needs
//! `bash .ci/peers` (slapd, ldap-utils).

use std::process::{Child, Command, Stdio};

use domain::Role;
use reqwest::StatusCode;
use testkit::{Backend, both_backends};

use crate::helpers::{PASSWORD, TestApp};

const INSTALL: &str = "the LDAP login tests need OpenLDAP: run `bash .ci/peers` \
    (echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections; apt-get install -y slapd ldap-utils)";

const ENTRIES: &str = "\
dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=others,dc=example,dc=org
objectClass: organizationalUnit
ou: others

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

dn: ou=services,dc=example,dc=org
objectClass: organizationalUnit
ou: services

dn: cn=dialogue,ou=services,dc=example,dc=org
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: dialogue
userPassword: service-secret

dn: uid=alice,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: alice
cn: Alice Martin
sn: Martin
mail: alice@example.org
userPassword: alice-password

dn: uid=bob,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: bob
cn: Bob Durand
sn: Durand
mail: bob@example.org
userPassword: bob-directory-password

dn: uid=carl,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: carl
cn: Carl Petit
sn: Petit
mail: carl@example.org
userPassword: carl-password

dn: uid=gina,ou=others,dc=example,dc=org
objectClass: inetOrgPerson
uid: gina
cn: Gina Outside
sn: Outside
mail: gina@example.org
userPassword: gina-password

dn: cn=staff,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: staff
member: uid=alice,ou=people,dc=example,dc=org
";

struct Slapd {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn slapd() -> Slapd {
    let dir = testkit::temp_dir("slapd");
    std::fs::create_dir_all(dir.join("db")).unwrap();
    let d = dir.display();
    let conf = format!(
        "include /etc/ldap/schema/core.schema\n\
         include /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/nis.schema\n\
         include /etc/ldap/schema/inetorgperson.schema\n\
         pidfile {d}/slapd.pid\n\
         argsfile {d}/slapd.args\n\
         modulepath /usr/lib/ldap\n\
         moduleload back_mdb\n\
         moduleload memberof\n\
         moduleload ppolicy\n\
         database mdb\n\
         suffix \"dc=example,dc=org\"\n\
         rootdn \"cn=admin,dc=example,dc=org\"\n\
         rootpw admin-secret\n\
         directory {d}/db\n\
         overlay memberof\n\
         overlay ppolicy\n\
         access to attrs=userPassword by self write by anonymous auth by * none\n\
         access to * by users read by * none\n"
    );
    std::fs::write(dir.join("slapd.conf"), conf).unwrap();
    let port = testkit::free_port();
    let log = std::fs::File::create(dir.join("slapd.log")).unwrap();
    let child = Command::new("slapd")
        .arg("-f")
        .arg(dir.join("slapd.conf"))
        .args(["-h", &format!("ldap://127.0.0.1:{port}/"), "-d", "0"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start slapd ({e}): {INSTALL}"));
    testkit::wait_for_port(port, "slapd").await;
    let slapd = Slapd { child, port, dir };
    let ldif = slapd.dir.join("entries.ldif");
    std::fs::write(&ldif, ENTRIES).unwrap();
    let out = Command::new("ldapadd")
        .args([
            "-x",
            "-H",
            &format!("ldap://127.0.0.1:{port}"),
            "-D",
            "cn=admin,dc=example,dc=org",
        ])
        .args(["-w", "admin-secret", "-f"])
        .arg(&ldif)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ldapadd ({e}): {INSTALL}"));
    assert!(
        out.status.success(),
        "ldapadd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    slapd
}

both_backends!(
    directory_people_log_in_on_the_login_form_and_local_passwords_come_first,
    accounts_the_directory_locks_or_removes_are_disabled_here,
);

/// Applies `ldif` with `ldapmodify` as the directory's administrator.
fn ldapmodify(slapd: &Slapd, ldif: &str) {
    let file = slapd.dir.join("modify.ldif");
    std::fs::write(&file, ldif).unwrap();
    let out = Command::new("ldapmodify")
        .args(["-x", "-H", &format!("ldap://127.0.0.1:{}", slapd.port)])
        .args(["-D", "cn=admin,dc=example,dc=org", "-w", "admin-secret", "-f"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ldapmodify ({e}): {INSTALL}"));
    assert!(
        out.status.success(),
        "ldapmodify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An account the directory locks is disabled here at its next login attempt, and one it
/// removes at the next sync; their open login sessions end with them, the audit log says
/// the directory did it, and a second sync changes nothing.
async fn accounts_the_directory_locks_or_removes_are_disabled_here(backend: Backend) {
    let slapd = slapd().await;
    let url = format!("ldap://127.0.0.1:{}", slapd.port);
    let app = TestApp::spawn_with(
        backend,
        &[
            ("DIALOGUE_LDAP_URL", &url),
            ("DIALOGUE_LDAP_BIND_DN", "cn=dialogue,ou=services,dc=example,dc=org"),
            ("DIALOGUE_LDAP_BIND_PASSWORD", "service-secret"),
            ("DIALOGUE_LDAP_BASE_DN", "ou=people,dc=example,dc=org"),
        ],
    )
    .await;
    let alice = app.browser();
    assert_eq!(alice.login("alice", "alice-password").await.path, "/");
    let carl = app.browser();
    assert_eq!(carl.login("carl", "carl-password").await.path, "/");
    let active = |email: &'static str| {
        let store = app.store().clone();
        async move { store.user_by_email(email).await.unwrap().unwrap().active }
    };

    // An administrator locks Alice in the directory (OpenLDAP ppolicy).
    ldapmodify(
        &slapd,
        "dn: uid=alice,ou=people,dc=example,dc=org\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n",
    );
    assert!(
        active("alice@example.org").await,
        "nothing happens before Dialogue asks"
    );
    let page = app.browser().login("alice", "alice-password").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    assert!(!active("alice@example.org").await, "disabled at her login attempt");
    let page = alice.get("/").await;
    assert_eq!(page.path, "/login", "her open session ended with her account");

    // Carl's entry is removed: the sync finds it gone. Alice, disabled already, is not asked.
    ldapmodify(&slapd, "dn: uid=carl,ou=people,dc=example,dc=org\nchangetype: delete\n");
    assert!(active("carl@example.org").await);
    let report = service::logins::sync_directory(app.state.service()).await.unwrap();
    assert_eq!(
        (report.checked, report.disabled),
        (1, vec!["carl@example.org".to_owned()])
    );
    assert!(!active("carl@example.org").await);
    assert_eq!(carl.get("/").await.path, "/login");
    let again = service::logins::sync_directory(app.state.service()).await.unwrap();
    assert_eq!((again.checked, again.disabled.len()), (0, 0), "nothing left to do");

    let log = app.store().audit_log(50, None).await.unwrap();
    let by_directory: Vec<(String, Option<String>)> = log
        .iter()
        .filter(|r| r.action == "user.disable")
        .map(|r| {
            assert_eq!(r.actor_label, "directory");
            (r.target_label.clone().unwrap_or_default(), r.detail.clone())
        })
        .collect();
    assert_eq!(by_directory.len(), 2, "{by_directory:?}");
    assert!(
        by_directory
            .iter()
            .any(|(who, d)| who == "alice@example.org" && d.as_deref().unwrap_or("").contains("disabled"))
    );
    assert!(
        by_directory
            .iter()
            .any(|(who, d)| who == "carl@example.org" && d.as_deref().unwrap_or("").contains("gone"))
    );

    // A directory that cannot be reached disables nobody.
    drop(slapd);
    let bob_like = app.store().user_by_email("alice@example.org").await.unwrap().unwrap();
    app.store()
        .set_active(
            &bob_like.id,
            true,
            jiff::Timestamp::now(),
            &store::AuditEntry::new("user.enable", None, "test", None),
        )
        .await
        .unwrap();
    let e = service::logins::sync_directory(app.state.service()).await;
    assert!(e.is_err(), "{e:?}");
    assert!(active("alice@example.org").await);
}

async fn directory_people_log_in_on_the_login_form_and_local_passwords_come_first(backend: Backend) {
    let slapd = slapd().await;
    let url = format!("ldap://127.0.0.1:{}", slapd.port);
    let app = TestApp::spawn_with(
        backend,
        &[
            ("DIALOGUE_LDAP_URL", &url),
            ("DIALOGUE_LDAP_BIND_DN", "cn=dialogue,ou=services,dc=example,dc=org"),
            ("DIALOGUE_LDAP_BIND_PASSWORD", "service-secret"),
            ("DIALOGUE_LDAP_BASE_DN", "ou=people,dc=example,dc=org"),
            ("DIALOGUE_LDAP_NAME_ATTRIBUTE", "cn"),
            // DNs hold commas: `;` separates the pairs.
            (
                "DIALOGUE_LDAP_ROLE_MAP",
                "CN=Staff, OU=Groups, DC=example, DC=org=manager;cn=nobody,dc=example,dc=org=admin",
            ),
        ],
    )
    .await;
    let page = app.browser().get("/login").await;
    assert!(page.contains("Adresse e-mail ou identifiant"), "{}", page.body);
    assert!(
        page.contains("type=\"text\""),
        "a directory user name is not an address"
    );

    // Alice by her user name: created, manager through her group.
    let browser = app.browser();
    let page = browser.login("alice", "alice-password").await;
    assert_eq!(
        (page.status, page.path.as_str()),
        (StatusCode::OK, "/"),
        "{}",
        page.body
    );
    let alice = app
        .store()
        .user_by_email("alice@example.org")
        .await
        .unwrap()
        .expect("created");
    assert_eq!(
        (
            alice.role,
            alice.auth_source.as_str(),
            alice.external_id.as_deref(),
            alice.has_password
        ),
        (
            Role::Manager,
            "ldap",
            Some("uid=alice,ou=people,dc=example,dc=org"),
            false
        )
    );
    assert_eq!(alice.display_name, "Alice Martin");
    // And again by her address: the same account.
    let page = app.browser().login("alice@example.org", "alice-password").await;
    assert_eq!(page.path, "/");
    // Carl, in no mapped group: the default role.
    let page = app.browser().login("carl", "carl-password").await;
    assert_eq!(page.path, "/");
    let carl = app.store().user_by_email("carl@example.org").await.unwrap().unwrap();
    assert_eq!(carl.role, Role::Trainer);

    // A wrong password, and a person outside the search base, get the usual refusal.
    for (login, password) in [("alice", "wrong"), ("gina", "gina-password"), ("nobody", "x")] {
        let page = app.browser().login(login, password).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{login}");
        assert!(
            page.contains("Adresse e-mail ou mot de passe incorrect"),
            "{}",
            page.body
        );
    }
    assert!(app.store().user_by_email("gina@example.org").await.unwrap().is_none());

    // Bob has a local account with its own password: tried first, never handed to the
    // directory — his directory password does not open it, his own does.
    let bob = app.user("bob@example.org", Role::Trainer).await;
    let page = app.browser().login("bob@example.org", "bob-directory-password").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    // By his directory name the directory vouches for him, but the account is not taken over.
    let page = app.browser().login("bob", "bob-directory-password").await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    let after = app.store().user_by_email("bob@example.org").await.unwrap().unwrap();
    assert_eq!(
        (after.id.as_str(), after.auth_source.as_str(), after.has_password),
        (bob.id.as_str(), "local", true)
    );
    let page = app.browser().login("bob@example.org", PASSWORD).await;
    assert_eq!((page.status, page.path.as_str()), (StatusCode::OK, "/"));
}

/// `dialogue check` binds as the service account, and says when it cannot.
#[tokio::test]
async fn check_binds_as_the_service_account() {
    let slapd = slapd().await;
    let url = format!("ldap://127.0.0.1:{}", slapd.port);
    let data = testkit::temp_dir("check");
    let data_dir = data.display().to_string();
    let config = |password: &str| {
        crate::helpers::config_from_env(&[
            ("DIALOGUE_DATA_DIR", &data_dir),
            ("DIALOGUE_LDAP_URL", &url),
            ("DIALOGUE_LDAP_BIND_DN", "cn=dialogue,ou=services,dc=example,dc=org"),
            ("DIALOGUE_LDAP_BIND_PASSWORD", password),
            ("DIALOGUE_LDAP_BASE_DN", "ou=people,dc=example,dc=org"),
        ])
    };
    let good = config("service-secret");
    dialogue::app::open_store(&good).await.unwrap();
    dialogue::commands::check(&good, &[])
        .await
        .expect("the directory accepts the bind");
    let e = dialogue::commands::check(&config("wrong"), &[]).await.unwrap_err();
    assert!(e.to_string().contains("1 check(s) failed"), "{e}");
    let _ = std::fs::remove_dir_all(&data);
}
