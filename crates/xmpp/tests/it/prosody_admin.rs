//! The admin client against Debian's real Prosody 0.12, checked with a real XMPP
//! client (slixmpp) logging in with the accounts it manages.

use crate::peer::{ADMIN, ADMIN_PASSWORD, DOMAIN, Login, Prosody, Security};
use xmpp::{AdminClient, Error, NODE_ADD_USER, REQUIRED_COMMANDS};

fn jid(user: &str) -> String {
    format!("{user}@{DOMAIN}")
}

#[tokio::test]
async fn added_account_logs_in_with_its_password_only() {
    let prosody = Prosody::start(Security::StartTls, &[]).await;
    let mut client = AdminClient::connect(&prosody.admin_config())
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", prosody.log()));
    assert!(client.encrypted());
    assert!(!client.user_exists(&jid("zoe")).await.unwrap());

    // Characters that must be escaped in XML, and non-ASCII, in the password.
    let password = "d'<accès> & \"zoé\"";
    client.add_user(&jid("zoe"), password).await.unwrap();
    assert!(client.user_exists(&jid("zoe")).await.unwrap());
    // Prosody prepares the name like we do: another case is the same account.
    assert!(client.user_exists("Zoe@Dialogue.Test").await.unwrap());
    client.close().await.unwrap();

    assert_eq!(prosody.login(&jid("zoe"), password).await, Login::Ok);
    match prosody.login(&jid("zoe"), "not the password").await {
        Login::Refused(why) => assert!(why.contains("not-authorized"), "{why}"),
        Login::Ok => panic!("a wrong password logged in"),
    }
    // An account nobody created does not log in either.
    assert!(matches!(
        prosody.login(&jid("nobody"), password).await,
        Login::Refused(_)
    ));
}

#[tokio::test]
async fn changed_password_replaces_the_old_one() {
    let prosody = Prosody::start(Security::StartTls, &[("leo", "old-password")]).await;
    assert_eq!(prosody.login(&jid("leo"), "old-password").await, Login::Ok);

    let mut client = AdminClient::connect(&prosody.admin_config()).await.unwrap();
    client.set_password(&jid("leo"), "new-password").await.unwrap();
    client.close().await.unwrap();

    assert!(matches!(
        prosody.login(&jid("leo"), "old-password").await,
        Login::Refused(_)
    ));
    assert_eq!(prosody.login(&jid("leo"), "new-password").await, Login::Ok);
}

#[tokio::test]
async fn deleted_account_no_longer_logs_in() {
    let prosody = Prosody::start(Security::StartTls, &[("mia", "mia-password")]).await;
    assert_eq!(prosody.login(&jid("mia"), "mia-password").await, Login::Ok);

    let mut client = AdminClient::connect(&prosody.admin_config()).await.unwrap();
    assert!(client.delete_user(&jid("mia")).await.unwrap(), "an account was deleted");
    assert!(!client.user_exists(&jid("mia")).await.unwrap());
    // Deleting again is not an error: there was nothing to delete.
    assert!(!client.delete_user(&jid("mia")).await.unwrap());
    client.close().await.unwrap();

    assert!(matches!(
        prosody.login(&jid("mia"), "mia-password").await,
        Login::Refused(_)
    ));
}

#[tokio::test]
async fn adding_an_existing_account_says_so_and_keeps_its_password() {
    let prosody = Prosody::start(Security::StartTls, &[("noe", "first")]).await;
    let mut client = AdminClient::connect(&prosody.admin_config()).await.unwrap();
    match client.add_user(&jid("noe"), "second").await {
        Err(Error::UserExists(who)) => assert_eq!(who, jid("noe")),
        other => panic!("expected UserExists, got {other:?}"),
    }
    // The caller's next step: change the password instead.
    match client.set_password(&jid("ghost"), "x").await {
        Err(Error::NoSuchUser(who)) => assert_eq!(who, jid("ghost")),
        other => panic!("expected NoSuchUser, got {other:?}"),
    }
    // Nothing the server would refuse reaches it.
    assert!(matches!(
        client.add_user("a@other.test", "x").await,
        Err(Error::InvalidInput(_))
    ));
    assert!(matches!(
        client.add_user(&jid("ctl"), "a\u{1}b").await,
        Err(Error::InvalidInput(_))
    ));
    // The client still works after all of these.
    assert!(client.user_exists(&jid("noe")).await.unwrap());
    client.close().await.unwrap();
    assert_eq!(prosody.login(&jid("noe"), "first").await, Login::Ok);
    assert!(matches!(prosody.login(&jid("noe"), "second").await, Login::Refused(_)));
}

#[tokio::test]
async fn a_non_admin_account_is_refused_with_prosodys_words() {
    let prosody = Prosody::start(Security::StartTls, &[("eve", "eve-password")]).await;
    let cfg = prosody.config_as(&jid("eve"), "eve-password");
    let mut client = AdminClient::connect(&cfg).await.unwrap();
    match client.add_user(&jid("mallory"), "x").await {
        Err(Error::Refused { command, reason }) => {
            assert_eq!(command, NODE_ADD_USER);
            assert!(
                reason.contains("You don't have permission") && reason.contains("forbidden"),
                "{reason}"
            );
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    assert!(matches!(
        client.user_exists(&jid("eve")).await,
        Err(Error::Refused { .. })
    ));
    let listed = client.commands().await.unwrap();
    assert!(
        REQUIRED_COMMANDS.iter().all(|c| !listed.iter().any(|l| l == c)),
        "{listed:?}"
    );
    client.close().await.unwrap();

    match xmpp::check(&cfg).await {
        Err(Error::Refused { reason, .. }) => assert!(reason.contains("admins"), "{reason}"),
        other => panic!("expected Refused, got {other:?}"),
    }
    // Nothing was created.
    assert!(matches!(prosody.login(&jid("mallory"), "x").await, Login::Refused(_)));
}

#[tokio::test]
async fn check_reports_tls_sasl_and_the_admin_commands() {
    let prosody = Prosody::start(Security::StartTls, &[]).await;
    let report = xmpp::check(&prosody.admin_config())
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", prosody.log()));
    assert!(report.encrypted);
    assert_eq!(report.mechanism, "SCRAM-SHA-1");
    assert!(report.jid.starts_with(&format!("{ADMIN}/dialogue-")), "{}", report.jid);
    for c in REQUIRED_COMMANDS {
        assert!(
            report.commands.iter().any(|l| l == c),
            "{c} missing from {:?}",
            report.commands
        );
    }
}

#[tokio::test]
async fn wrong_admin_password_is_an_authentication_error() {
    let prosody = Prosody::start(Security::StartTls, &[]).await;
    match AdminClient::connect(&prosody.config_as(ADMIN, "wrong")).await {
        Err(Error::Auth(why)) => assert!(why.contains("not-authorized"), "{why}"),
        other => panic!("expected Auth, got {other:?}"),
    }
    // An account that does not exist fails the same way.
    assert!(matches!(
        AdminClient::connect(&prosody.config_as(&jid("nobody"), ADMIN_PASSWORD)).await,
        Err(Error::Auth(_))
    ));
}

#[tokio::test]
async fn unreachable_port_is_unreachable() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut cfg = xmpp::AdminConfig::new("127.0.0.1", DOMAIN, ADMIN, ADMIN_PASSWORD);
    cfg.port = port;
    match AdminClient::connect(&cfg).await {
        Err(Error::Unreachable { address, source }) => {
            assert_eq!(address, format!("127.0.0.1:{port}"));
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error() {
    let prosody = Prosody::start(Security::StartTls, &[]).await;
    let mut cfg = prosody.admin_config();
    cfg.ca_file = None;
    match AdminClient::connect(&cfg).await {
        Err(Error::Tls(why)) => assert!(why.to_lowercase().contains("certificate"), "{why}"),
        other => panic!("expected Tls, got {other:?}"),
    }
}

#[tokio::test]
async fn plain_tcp_only_when_allowed_and_then_everything_works() {
    let prosody = Prosody::start(Security::Plain, &[]).await;
    // By default a server without STARTTLS is refused before the password is sent.
    match AdminClient::connect(&prosody.admin_config()).await {
        Err(Error::Tls(why)) => assert!(why.contains("STARTTLS"), "{why}"),
        other => panic!("expected Tls, got {other:?}"),
    }
    let mut cfg = prosody.admin_config();
    cfg.allow_plain = true;
    let mut client = AdminClient::connect(&cfg)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", prosody.log()));
    assert!(!client.encrypted());
    assert_eq!(client.mechanism(), "SCRAM-SHA-1");
    client.add_user(&jid("plain"), "plain-password").await.unwrap();
    client.close().await.unwrap();
    assert_eq!(prosody.login(&jid("plain"), "plain-password").await, Login::Ok);
}
