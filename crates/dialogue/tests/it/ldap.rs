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
         database mdb\n\
         suffix \"dc=example,dc=org\"\n\
         rootdn \"cn=admin,dc=example,dc=org\"\n\
         rootpw admin-secret\n\
         directory {d}/db\n\
         overlay memberof\n\
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

both_backends!(directory_people_log_in_on_the_login_form_and_local_passwords_come_first);

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
