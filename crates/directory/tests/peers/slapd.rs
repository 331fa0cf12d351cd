//! LDAP logins against a real OpenLDAP `slapd` (Debian's), with the memberOf overlay, started
//! per test on free ports with a generated configuration and, where TLS is tested, a throwaway
//! certificate authority.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use directory::{AccountState, Directory, Error, ErrorKind, LdapConfig, Secret};
use domain::Role;

use crate::support::{TempDir, free_port, make_authority, make_server_certificate, run, wait_for_port};

const INSTALL: &str = "The slapd suite needs OpenLDAP: on Debian \
    `echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections; \
    apt-get install -y slapd ldap-utils` (or run `bash .ci/peers`).";

const SUFFIX: &str = "dc=example,dc=org";
const ROOT_DN: &str = "cn=admin,dc=example,dc=org";
const ROOT_PW: &str = "admin-secret";
const SERVICE_DN: &str = "cn=dialogue,ou=services,dc=example,dc=org";
const SERVICE_PW: &str = "service-secret";
const PEOPLE: &str = "ou=people,dc=example,dc=org";
const ALICE: &str = "uid=alice,ou=people,dc=example,dc=org";
const STAFF: &str = "cn=staff,ou=groups,dc=example,dc=org";
const IT: &str = "cn=it,ou=groups,dc=example,dc=org";
const TEACHERS: &str = "cn=teachers,ou=groups,dc=example,dc=org";

/// `userAccountControl` as Active Directory names it, on an auxiliary class of our own.
const AD_SCHEMA: &str = "\
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.99999.42.1 NAME 'dialogueTestAdAccount' SUP top AUXILIARY
  MAY userAccountControl )
";

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
displayName: Alice Martin (Formation)
mail: alice@example.org
userPassword: alice-password

dn: uid=bob,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: bob
cn: Bob Durand
sn: Durand
mail: bob@example.org
userPassword: bob-password

dn: uid=carol,ou=people,dc=example,dc=org
objectClass: account
objectClass: simpleSecurityObject
uid: carol
userPassword: carol-password

dn: uid=gina,ou=others,dc=example,dc=org
objectClass: inetOrgPerson
uid: gina
cn: Gina Outside
sn: Outside
mail: gina@example.org
userPassword: gina-password

dn: uid=dup1,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: dup1
cn: Dup One
sn: One
mail: shared@example.org
userPassword: dup-password

dn: uid=dup2,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: dup2
cn: Dup Two
sn: Two
mail: shared@example.org
userPassword: dup-password

dn: uid=dave,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
objectClass: dialogueTestAdAccount
uid: dave
cn: Dave Disabled
sn: Disabled
mail: dave@example.org
userAccountControl: 514
userPassword: dave-password

dn: uid=erin,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: erin
cn: Erin Locked
sn: Locked
mail: erin@example.org
userPassword: erin-password

dn: cn=staff,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: staff
member: uid=alice,ou=people,dc=example,dc=org

dn: cn=it,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: it
member: uid=alice,ou=people,dc=example,dc=org

dn: cn=teachers,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: teachers
member: uid=bob,ou=people,dc=example,dc=org
";

/// A running slapd, stopped when dropped.
struct Slapd {
    child: Child,
    dir: TempDir,
    port: u16,
    ldaps_port: u16,
}

impl Slapd {
    async fn start(tls: bool) -> Slapd {
        let dir = TempDir::new("slapd");
        let tls_lines = if tls {
            make_authority(dir.path(), "ca");
            make_authority(dir.path(), "wrong");
            let (cert, key) = make_server_certificate(dir.path(), "ca");
            format!(
                "TLSCACertificateFile {}\nTLSCertificateFile {}\nTLSCertificateKeyFile {}\n",
                dir.join("ca.pem").display(),
                cert.display(),
                key.display()
            )
        } else {
            String::new()
        };
        std::fs::write(dir.join("ad.schema"), AD_SCHEMA).expect("write the schema");
        std::fs::create_dir_all(dir.join("db")).expect("create the database directory");
        let d = dir.path().display();
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/nis.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             include {d}/ad.schema\n\
             pidfile {d}/slapd.pid\n\
             argsfile {d}/slapd.args\n\
             modulepath /usr/lib/ldap\n\
             moduleload back_mdb\n\
             moduleload memberof\n\
             moduleload ppolicy\n\
             {tls_lines}\
             access to dn.base=\"\" by * read\n\
             database mdb\n\
             suffix \"{SUFFIX}\"\n\
             rootdn \"{ROOT_DN}\"\n\
             rootpw {ROOT_PW}\n\
             directory {d}/db\n\
             overlay memberof\n\
             overlay ppolicy\n\
             access to attrs=userPassword by self write by anonymous auth by * none\n\
             access to * by users read by * none\n"
        );
        let conf_path = dir.join("slapd.conf");
        std::fs::write(&conf_path, conf).expect("write slapd.conf");
        let log = dir.join("slapd.log");
        let mut failures = Vec::new();
        let mut started = None;
        for _ in 0..3 {
            let (port, ldaps_port) = (free_port(), free_port());
            let urls = if tls {
                format!("ldap://127.0.0.1:{port}/ ldaps://127.0.0.1:{ldaps_port}/")
            } else {
                format!("ldap://127.0.0.1:{port}/")
            };
            let log_file = std::fs::File::create(&log).expect("create the log");
            let mut child = match Command::new("slapd")
                .arg("-f")
                .arg(&conf_path)
                // `stats` (256): one line per operation, read by the refusal-cost test.
                .args(["-h", &urls, "-d", "256"])
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("log handle"))
                .stderr(log_file)
                .spawn()
            {
                Ok(child) => child,
                Err(e) => panic!("cannot start slapd ({e}). {INSTALL}"),
            };
            let mut listening = wait_for_port(&mut child, port, "slapd", &log).await;
            if tls && listening.is_ok() {
                listening = wait_for_port(&mut child, ldaps_port, "slapd (ldaps)", &log).await;
            }
            match listening {
                Ok(()) => {
                    started = Some((child, port, ldaps_port));
                    break;
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    failures.push(e);
                }
            }
        }
        let Some((child, port, ldaps_port)) = started else {
            panic!("slapd did not start: {failures:#?}");
        };
        let slapd = Slapd {
            child,
            dir,
            port,
            ldaps_port,
        };
        slapd.ldif("ldapadd", ENTRIES);
        slapd.ldif(
            "ldapmodify",
            "dn: uid=erin,ou=people,dc=example,dc=org\nchangetype: modify\nadd: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n",
        );
        slapd
    }

    /// Feeds LDIF to `ldapadd` or `ldapmodify` as the root DN.
    fn ldif(&self, tool: &str, ldif: &str) {
        let file = self.dir.join(&format!("{tool}.ldif"));
        std::fs::write(&file, ldif).expect("write the LDIF");
        run(
            Command::new(tool)
                .args(["-x", "-H", &self.url(), "-D", ROOT_DN, "-w", ROOT_PW, "-f"])
                .arg(&file),
            INSTALL,
        );
    }

    fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    fn ca(&self, name: &str) -> PathBuf {
        self.dir.join(&format!("{name}.pem"))
    }

    /// A plain (loopback) configuration with the service account and a role map.
    fn config(&self) -> LdapConfig {
        LdapConfig {
            url: self.url(),
            bind_dn: SERVICE_DN.into(),
            bind_password: Secret::new(SERVICE_PW),
            base_dn: PEOPLE.into(),
            role_map: vec![
                // Written as an administrator might: other case, spaces.
                ("CN=Staff, OU=Groups, DC=example, DC=org".into(), Role::Manager),
                (IT.into(), Role::Admin),
            ],
            default_role: Role::Trainer,
            timeout_seconds: 5,
            ..LdapConfig::default()
        }
    }

    fn directory(&self) -> Directory {
        Directory::new(self.config()).expect("a valid configuration")
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn good_password_logs_in_with_name_email_and_mapped_groups() {
    let slapd = Slapd::start(false).await;
    let directory = slapd.directory();
    let alice = directory.authenticate("alice", "alice-password").await.unwrap();
    assert_eq!(alice.subject, ALICE);
    assert_eq!(alice.email.as_ref().map(|e| e.as_str()), Some("alice@example.org"));
    assert!(alice.email_verified);
    assert_eq!(
        alice.name.as_deref(),
        Some("Alice Martin (Formation)"),
        "displayName first"
    );
    let mut groups = alice.groups.clone();
    groups.sort();
    assert_eq!(
        groups,
        vec![IT.to_owned(), STAFF.to_owned()],
        "memberOf from the overlay"
    );
    assert_eq!(alice.mapped_role, Some(Role::Admin), "the highest mapped group wins");
    assert_eq!(alice.source, "ldap");
    assert_eq!(alice.id_token, None);

    // By email too (the default filter), with spaces around what was typed.
    let again = directory
        .authenticate(" alice@example.org ", "alice-password")
        .await
        .unwrap();
    assert_eq!(again.subject, ALICE);

    // No displayName: cn. A group that is not mapped: the default role.
    let bob = directory.authenticate("bob", "bob-password").await.unwrap();
    assert_eq!(bob.name.as_deref(), Some("Bob Durand"));
    assert_eq!(bob.groups, vec![TEACHERS.to_owned()]);
    assert_eq!(bob.mapped_role, None);
    assert_eq!(bob.role(), Role::Trainer);

    // Only the staff mapping left: manager, even though the map's DN is written differently.
    let config = LdapConfig {
        role_map: vec![("cn=STAFF,ou=groups,dc=EXAMPLE,dc=org".into(), Role::Manager)],
        ..slapd.config()
    };
    let alice = Directory::new(config)
        .unwrap()
        .authenticate("alice", "alice-password")
        .await
        .unwrap();
    assert_eq!(alice.mapped_role, Some(Role::Manager));
}

#[tokio::test]
async fn wrong_passwords_and_unknown_logins_are_bad_credentials() {
    let slapd = Slapd::start(false).await;
    let directory = slapd.directory();
    for (login, password) in [("alice", "bob-password"), ("alice", "Alice-password"), ("nobody", "x")] {
        let e = directory.authenticate(login, password).await.unwrap_err();
        assert!(matches!(e, Error::BadCredentials), "{login}: {e:?}");
        assert_eq!(e.kind(), ErrorKind::BadCredentials);
    }
}

/// The operations slapd logged (`-d 256`) for connections it opened after `from` bytes of its
/// log, once each is closed: `["BIND", "SRCH", …]` per connection, and each BIND's result code.
async fn operations_since(slapd: &Slapd, from: usize) -> Vec<(Vec<String>, Vec<String>)> {
    let log_path = slapd.dir.join("slapd.log");
    for _ in 0..200 {
        let log = std::fs::read(&log_path).expect("read the slapd log");
        let text = String::from_utf8_lossy(&log[from.min(log.len())..]).to_string();
        // Connections accepted since `from` only: the log is written behind the operations, so
        // an earlier connection's UNBIND can land after `from` (seen on CI: a connection of
        // just ["UNBIND"] before alice's).
        let mut conns: Vec<String> = Vec::new();
        for line in text.lines() {
            if let Some(at) = line.find("conn=") {
                let id = line[at..].split_whitespace().next().unwrap_or("").to_owned();
                if line.contains(" ACCEPT from ") && !conns.contains(&id) {
                    conns.push(id);
                }
            }
        }
        let closed = conns.iter().all(|c| {
            text.lines()
                .any(|l| l.contains(&format!("{c} fd=")) && l.ends_with("closed"))
        });
        if !conns.is_empty() && closed {
            return conns
                .iter()
                .map(|c| {
                    let mine = || text.lines().filter(move |l| l.contains(&format!("{c} op=")));
                    // One entry per operation (slapd writes a BIND or a SRCH on two lines).
                    let mut ops: Vec<(String, String)> = Vec::new();
                    for l in mine() {
                        let mut words = l.split(" op=").nth(1).unwrap_or("").split_whitespace();
                        let (Some(op), Some(verb)) = (words.next(), words.next()) else {
                            continue;
                        };
                        if ["BIND", "SRCH", "UNBIND"].contains(&verb) && !ops.iter().any(|(o, _)| o == op) {
                            ops.push((op.to_owned(), verb.to_owned()));
                        }
                    }
                    let ops = ops.into_iter().map(|(_, verb)| verb).collect();
                    let binds = mine()
                        .filter(|l| l.contains("RESULT tag=97"))
                        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("err=")).map(str::to_owned))
                        .collect();
                    (ops, binds)
                })
                .collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("slapd logged no closed connection");
}

/// Every refusal costs the directory the same operations — the service account's bind, the
/// search, one bind with the typed password, the unbind — whether the login names a person
/// (wrong password), a disabled one, a person outside the base, or nobody: how long a refusal
/// takes does not tell which.
#[tokio::test]
async fn every_refusal_costs_the_directory_the_same_operations() {
    let slapd = Slapd::start(false).await;
    let directory = slapd.directory();
    let log = slapd.dir.join("slapd.log");
    let mut seen = Vec::new();
    for (login, password) in [
        ("alice", "wrong-password"),
        ("nobody", "wrong-password"),
        ("gina", "gina-password"),
        ("dave", "dave-password"),
        ("erin", "erin-password"),
    ] {
        let from = std::fs::metadata(&log).expect("the log").len() as usize;
        let e = directory.authenticate(login, password).await.unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::BadCredentials | ErrorKind::AccountDisabled),
            "{login}: {e:?}"
        );
        let ops = operations_since(&slapd, from).await;
        assert_eq!(ops.len(), 1, "{login}: one connection: {ops:?}");
        seen.push((login, ops[0].clone()));
    }
    for (login, (ops, binds)) in &seen {
        assert_eq!(ops, &["BIND", "SRCH", "BIND", "UNBIND"], "{login}");
        assert_eq!(
            binds,
            &["err=0", "err=49"],
            "{login}: the service account, then a refused bind"
        );
    }
    // A good password: the same start, and the bind succeeds.
    let from = std::fs::metadata(&log).expect("the log").len() as usize;
    directory.authenticate("alice", "alice-password").await.unwrap();
    let ops = operations_since(&slapd, from).await;
    assert_eq!(ops[0].0[..3], ["BIND", "SRCH", "BIND"]);
    assert_eq!(ops[0].1[..2], ["err=0", "err=0"]);
}

#[tokio::test]
async fn an_empty_password_is_refused_before_any_bind() {
    let slapd = Slapd::start(false).await;
    let e = slapd.directory().authenticate("alice", "").await.unwrap_err();
    assert!(matches!(e, Error::BadCredentials), "{e:?}");
    // Proof that nothing was sent: a directory that does not exist answers the same.
    let nowhere = Directory::new(LdapConfig {
        url: format!("ldap://127.0.0.1:{}", free_port()),
        ..slapd.config()
    })
    .unwrap();
    assert!(matches!(
        nowhere.authenticate("alice", "").await.unwrap_err(),
        Error::BadCredentials
    ));
    assert!(matches!(
        nowhere.authenticate("  ", "x").await.unwrap_err(),
        Error::BadCredentials
    ));
    // While a real attempt at it is "unavailable".
    let e = nowhere.authenticate("alice", "alice-password").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e:?}");
}

#[tokio::test]
async fn people_outside_the_filter_or_the_base_are_refused() {
    let slapd = Slapd::start(false).await;
    let directory = slapd.directory();
    // carol has the right password but is not an inetOrgPerson.
    let e = directory.authenticate("carol", "carol-password").await.unwrap_err();
    assert!(matches!(e, Error::BadCredentials), "{e:?}");
    // gina is an inetOrgPerson outside base_dn.
    let e = directory.authenticate("gina", "gina-password").await.unwrap_err();
    assert!(matches!(e, Error::BadCredentials), "{e:?}");
    // With a filter that lets carol in (and a base that holds gina), both log in: the refusals
    // above came from the filter and the base.
    let config = LdapConfig {
        user_filter: "(uid={login})".into(),
        ..slapd.config()
    };
    Directory::new(config)
        .unwrap()
        .authenticate("carol", "carol-password")
        .await
        .unwrap();
    let config = LdapConfig {
        base_dn: SUFFIX.into(),
        ..slapd.config()
    };
    Directory::new(config)
        .unwrap()
        .authenticate("gina", "gina-password")
        .await
        .unwrap();
}

#[tokio::test]
async fn filter_injection_matches_nobody() {
    let slapd = Slapd::start(false).await;
    let directory = slapd.directory();
    for login in [
        "*)(uid=*",
        "*",
        "alice)(|(uid=*",
        "al*",
        "*)(objectClass=*))(|(uid=*",
        "alice\\",
        "(uid=alice)",
    ] {
        // Unescaped, most of these would match several entries (refused as ambiguous) or alice.
        let e = directory.authenticate(login, "alice-password").await.unwrap_err();
        assert!(matches!(e, Error::BadCredentials), "{login:?}: {e:?}");
    }
    // The escaping is what stops them: the same characters in a real value are found.
    assert_eq!(
        directory.user_filter("*)(uid=*"),
        "(&(objectClass=inetOrgPerson)(|(uid=\\2a\\29\\28uid=\\2a)(mail=\\2a\\29\\28uid=\\2a)))"
    );
}

#[tokio::test]
async fn two_matching_entries_are_refused() {
    let slapd = Slapd::start(false).await;
    let e = slapd
        .directory()
        .authenticate("shared@example.org", "dup-password")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::AmbiguousLogin { .. }), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    // Each one alone logs in.
    slapd.directory().authenticate("dup1", "dup-password").await.unwrap();
}

#[tokio::test]
async fn disabled_and_locked_accounts_are_refused_and_reported() {
    let slapd = Slapd::start(false).await;
    let directory = slapd.directory();
    for login in ["dave", "erin"] {
        let e = directory
            .authenticate(login, &format!("{login}-password"))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, Error::AccountDisabled { dn } if dn == &format!("uid={login},ou=people,dc=example,dc=org")),
            "{login}: {e:?}"
        );
        assert_eq!(e.kind(), ErrorKind::AccountDisabled);
    }
    assert_eq!(directory.account_state(ALICE).await.unwrap(), AccountState::Active);
    assert_eq!(
        directory
            .account_state("uid=dave,ou=people,dc=example,dc=org")
            .await
            .unwrap(),
        AccountState::Disabled,
        "userAccountControl has the ACCOUNTDISABLE bit"
    );
    assert_eq!(
        directory
            .account_state("uid=erin,ou=people,dc=example,dc=org")
            .await
            .unwrap(),
        AccountState::Disabled,
        "pwdAccountLockedTime 000001010000Z"
    );
    assert_eq!(
        directory
            .account_state("uid=zoe,ou=people,dc=example,dc=org")
            .await
            .unwrap(),
        AccountState::Gone
    );
    // An entry that goes away is gone at the next sync.
    slapd.ldif(
        "ldapmodify",
        "dn: uid=bob,ou=people,dc=example,dc=org\nchangetype: delete\n",
    );
    assert_eq!(
        directory
            .account_state("uid=bob,ou=people,dc=example,dc=org")
            .await
            .unwrap(),
        AccountState::Gone
    );
}

#[tokio::test]
async fn check_reports_what_is_wrong() {
    let slapd = Slapd::start(false).await;
    slapd.directory().check().await.unwrap();

    let wrong_password = Directory::new(LdapConfig {
        bind_password: Secret::new("nope"),
        ..slapd.config()
    })
    .unwrap();
    let e = wrong_password.check().await.unwrap_err();
    assert!(e.to_string().contains("service bind"), "{e}");
    // And logins through it are "unavailable", not the person's wrong password.
    let e = wrong_password
        .authenticate("alice", "alice-password")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e:?}");

    let e = Directory::new(LdapConfig {
        base_dn: "ou=nowhere,dc=example,dc=org".into(),
        ..slapd.config()
    })
    .unwrap()
    .check()
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Config { field: "base_dn", .. }), "{e:?}");

    // The in-chain rule is Active Directory's: OpenLDAP is refused for nested groups.
    let e = Directory::new(LdapConfig {
        nested_groups: true,
        ..slapd.config()
    })
    .unwrap()
    .check()
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Config {
                field: "nested_groups",
                ..
            }
        ),
        "{e:?}"
    );

    let e = Directory::new(LdapConfig {
        url: format!("ldap://127.0.0.1:{}", free_port()),
        ..slapd.config()
    })
    .unwrap()
    .check()
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e:?}");
}

#[tokio::test]
async fn starttls_and_ldaps_with_a_throwaway_authority() {
    let slapd = Slapd::start(true).await;
    let starttls = LdapConfig {
        starttls: true,
        ca_file: Some(slapd.ca("ca")),
        ..slapd.config()
    };
    let ldaps = LdapConfig {
        url: format!("ldaps://127.0.0.1:{}", slapd.ldaps_port),
        ca_file: Some(slapd.ca("ca")),
        ..slapd.config()
    };
    for config in [starttls.clone(), ldaps.clone()] {
        let directory = Directory::new(config.clone()).unwrap();
        directory
            .check()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", config.url));
        let alice = directory.authenticate("alice", "alice-password").await.unwrap();
        assert_eq!(alice.mapped_role, Some(Role::Admin));
        let e = directory.authenticate("alice", "wrong").await.unwrap_err();
        assert!(matches!(e, Error::BadCredentials), "{e:?}");
    }

    // Another authority: the server's certificate is refused, over both.
    for config in [starttls, ldaps] {
        let directory = Directory::new(LdapConfig {
            ca_file: Some(slapd.ca("wrong")),
            ..config.clone()
        })
        .unwrap();
        let e = directory.authenticate("alice", "alice-password").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{}: {e:?}", config.url);
        let text = format!("{e:?}");
        assert!(
            text.contains("UnknownIssuer") || text.contains("certificate"),
            "{}: {text}",
            config.url
        );
        assert!(directory.check().await.is_err());
        // Nor do the web's public authorities vouch for it.
        let directory = Directory::new(LdapConfig {
            ca_file: None,
            ..config
        })
        .unwrap();
        assert!(directory.authenticate("alice", "alice-password").await.is_err());
    }
}
