//! Personal rooms, as their owners and guests use them: the room made from the API and the
//! "Ma salle" page, the owner's moderator token and the guests' participant tokens (read back
//! with PyJWT), the guest link re-issued, Prosody's reservations (only for the owner) and
//! events (the visits shown), who may see and use a room, and bad input in French and English.

use domain::Role;
use jiff::Timestamp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::{Backend, both_backends};

use crate::api::token_for;
use crate::helpers::TestApp;
use crate::jitsi_support::*;

both_backends!(
    owner_makes_a_room_and_enters_it_as_moderator,
    guests_enter_from_the_link_as_the_owner_chose,
    reservations_wait_for_the_owner_and_visits_are_shown,
    rooms_are_their_owners_only,
    bad_input_is_refused_in_the_callers_language,
);

const UA: &str = "Prosody (0.12.4; posix)";

async fn api(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut r = testkit::client()
        .request(method, format!("{}/api/v1{path}", app.url))
        .header("authorization", format!("Bearer {token}"));
    if let Some(body) = body {
        r = r.header("content-type", "application/json").body(body.to_string());
    }
    r.send().await.unwrap()
}

async fn put_room(app: &TestApp, token: &str, body: Value) -> Value {
    let r = api(app, reqwest::Method::PUT, token, "/me/room", Some(body)).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// The path of a guest URL (`/r/<key>`).
fn path_of(url: &str) -> String {
    let path = url.split_once("://").unwrap().1;
    path[path.find('/').unwrap()..].to_owned()
}

/// The claims of a room URL's token, verified by PyJWT.
fn claims(url: &str) -> Value {
    let out = pyjwt(&token_of(url), "HS256", APP_SECRET, "dialogue").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out["header"], json!({"alg": "HS256", "typ": "JWT"}));
    out["claims"].clone()
}

async fn reserve(app: &TestApp, secret: &str, room: &str, owner: &str) -> reqwest::Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("name", room)
        .append_pair("start_time", &jitsi::format_java_date(Timestamp::now().as_second()))
        .append_pair("mail_owner", owner)
        .finish();
    testkit::client()
        .post(format!("{}/jitsi/reservations/conference", app.url))
        .header("user-agent", UA)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Bearer {secret}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn conference(app: &TestApp, method: reqwest::Method, secret: &str, id: &str) -> reqwest::Response {
    testkit::client()
        .request(method, format!("{}/jitsi/reservations/conference/{id}", app.url))
        .header("user-agent", UA)
        .header("authorization", format!("Bearer {secret}"))
        .send()
        .await
        .unwrap()
}

async fn event(app: &TestApp, secret: &str, path: &str, body: &Value) {
    let r = testkit::client()
        .post(format!("{}/jitsi/events/{path}", app.url))
        .header("user-agent", UA)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {secret}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
}

async fn owner_makes_a_room_and_enters_it_as_moderator(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut change = hs256("Meet", "https://meet.example.org");
    change.lobby = Some(true);
    server(&app, change).await;
    let (browser, theo) = app.logged_in("theo@example.org", Role::Trainer).await;
    let token = token_for(&app, &theo.id).await;
    // No room yet: 404, and the page offers to make one.
    let r = api(&app, reqwest::Method::GET, &token, "/me/room", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let page = browser.get("/room").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.contains("Créer ma salle") && page.contains("href=\"/room\""),
        "{}",
        page.body
    );
    // Made from the page: a stable, unguessable name on the default server.
    let page = browser.post("/room", &[("guests", "wait")]).await;
    assert_eq!(page.status, StatusCode::OK);
    let room: Value = api(&app, reqwest::Method::GET, &token, "/me/room", None)
        .await
        .json()
        .await
        .unwrap();
    let name = room["room"].as_str().unwrap().to_owned();
    assert!(
        name.starts_with("salle-") && name.len() == "salle-".len() + 26,
        "{name}"
    );
    assert!(page.contains(&name), "the page shows the room name");
    assert_eq!(room["guests"], "wait");
    assert!(room["guest_url"].as_str().unwrap().contains("/r/"));
    // Saved again: same room, same name.
    let again = put_room(&app, &token, json!({"guests": "wait"})).await;
    assert_eq!(again["room"], name.as_str());
    assert_eq!(again["guest_url"], room["guest_url"]);
    // The owner enters as moderator, past the lobby, at any time.
    let r = browser.get_raw("/room/join").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let url = location(&r);
    assert!(
        url.starts_with(&format!("https://meet.example.org/{name}#jwt=ey")),
        "{url}"
    );
    let c = claims(&url);
    assert_eq!(c["room"], name.as_str());
    assert_eq!(c["sub"], "meet.example.org");
    assert_eq!(
        c["context"]["user"],
        json!({"id": theo.id, "name": theo.display_name, "email": theo.email, "moderator": true, "lobby_bypass": true})
    );
    assert!(c["context"]["features"].is_object());
}

async fn guests_enter_from_the_link_as_the_owner_chose(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    server(&app, hs256("Meet", "https://meet.example.org")).await;
    let theo = app.user("theo@example.org", Role::Trainer).await;
    let token = token_for(&app, &theo.id).await;
    let room = put_room(&app, &token, json!({})).await;
    assert_eq!(room["guests"], "wait", "guests wait by default");
    let name = room["room"].as_str().unwrap().to_owned();
    let link = path_of(room["guest_url"].as_str().unwrap());
    // A guest gives their name on a small form (no JavaScript), then goes in as a participant
    // who waits in the lobby.
    let guest = app.browser();
    let page = guest.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.contains(&theo.display_name) && page.contains("name=\"name\""),
        "{}",
        page.body
    );
    let r = guest.post_raw(&link, &[("name", "  Ada Lovelace ")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let url = location(&r);
    assert!(
        url.starts_with(&format!("https://meet.example.org/{name}#jwt=ey")),
        "{url}"
    );
    let c = claims(&url);
    let user = &c["context"]["user"];
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["moderator"], false);
    assert!(user.get("lobby_bypass").is_none(), "waits in the lobby: {user}");
    assert!(user["id"].as_str().unwrap().starts_with("guest-"));
    // The owner lets guests in directly: the next token bypasses the lobby.
    let direct = put_room(&app, &token, json!({"guests": "direct"})).await;
    assert_eq!(direct["guests"], "direct");
    let r = guest.post_raw(&link, &[("name", "Ada Lovelace")]).await;
    let c = claims(&location(&r));
    assert_eq!(c["context"]["user"]["lobby_bypass"], true);
    assert_eq!(c["context"]["user"]["moderator"], false);
    // A new link: the old one is refused with a page that says so, the new one works.
    let r = api(&app, reqwest::Method::POST, &token, "/me/room/link", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let renewed: Value = r.json().await.unwrap();
    assert_eq!(renewed["room"], name.as_str(), "the room itself stays");
    let new_link = path_of(renewed["guest_url"].as_str().unwrap());
    assert_ne!(new_link, link);
    let page = guest.get(&link).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.contains("n&#39;est pas (ou plus) valable") || page.contains("n'est pas (ou plus) valable"),
        "{}",
        page.body
    );
    let page = app.browser().speaking("en").get(&link).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.contains("This guest link is not valid"), "{}", page.body);
    let r = guest.post_raw(&link, &[("name", "Ada")]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "no token from the old link");
    let page = guest.get(&new_link).await;
    assert_eq!(page.status, StatusCode::OK);
    let r = guest.post_raw(&new_link, &[("name", "Ada")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Deleted: the link leads nowhere, the room is gone.
    let r = api(&app, reqwest::Method::DELETE, &token, "/me/room", None).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(guest.get(&new_link).await.status, StatusCode::NOT_FOUND);
    let r = api(&app, reqwest::Method::GET, &token, "/me/room", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

async fn reservations_wait_for_the_owner_and_visits_are_shown(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    let (browser, theo) = app.logged_in("theo@example.org", Role::Trainer).await;
    let token = token_for(&app, &theo.id).await;
    let room = put_room(&app, &token, json!({"guests": "wait"})).await;
    let name = room["room"].as_str().unwrap().to_owned();
    // A guest arrives first: Prosody asks for the room on their behalf; refused with the
    // reservation API's error shape, in the server's language.
    let r = reserve(&app, &meet.api_secret, &name, "guest-4f2a@meet.example.org").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: Value = r.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("propriétaire"), "{body}");
    // The owner arrives (their session is named after their token's `context.user.id`): the
    // room is reserved, with the lobby on for guests who wait.
    let owner_jid = format!("{}@meet.example.org", theo.id);
    let r = reserve(&app, &meet.api_secret, &name, &owner_jid).await;
    assert_eq!(r.status(), StatusCode::OK);
    let first: Value = r.json().await.unwrap();
    assert_eq!(first["name"], name.as_str());
    assert_eq!(first["mail_owner"], owner_jid.as_str());
    assert_eq!(first["lobby"], true);
    assert_eq!(first["duration"], 86_400);
    let id = first["id"].as_str().unwrap().to_owned();
    // Asked again (a retry): 409 with the id, and its GET answers the same.
    let r = reserve(&app, &meet.api_secret, &name, &owner_jid).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"conflict_id": id}));
    let r = conference(&app, reqwest::Method::GET, &meet.api_secret, &id).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), first);
    // Guests direct: the next reservation has no lobby.
    put_room(&app, &token, json!({"guests": "direct"})).await;
    // Events: the owner and a guest came, the guest left after 20 minutes.
    let jid = format!("{name}@conference.meet.example.org");
    let t0 = Timestamp::now().as_second() - 3600;
    let base = |event: &str| json!({"event_name": event, "room_name": name, "room_jid": jid, "is_breakout": false});
    let mut created = base("muc-room-created");
    created["created_at"] = json!(t0);
    event(&app, &meet.api_secret, "room/created", &created).await;
    let mut owner_in = base("muc-occupant-joined");
    owner_in["occupant"] = json!({"occupant_jid": format!("{owner_jid}/a"), "joined_at": t0, "id": theo.id,
        "name": theo.display_name, "email": theo.email});
    event(&app, &meet.api_secret, "occupant/joined", &owner_in).await;
    let mut guest_left = base("muc-occupant-left");
    guest_left["occupant"] = json!({"occupant_jid": "guest-4f2a@meet.example.org/b", "joined_at": t0 + 300,
        "left_at": t0 + 1500, "id": "guest-4f2a", "name": "Ada Lovelace"});
    event(&app, &meet.api_secret, "occupant/left", &guest_left).await;
    // Repeated delivery: stored once.
    event(&app, &meet.api_secret, "occupant/left", &guest_left).await;
    let view: Value = api(&app, reqwest::Method::GET, &token, "/me/room", None)
        .await
        .json()
        .await
        .unwrap();
    let visits = view["visits"].as_array().unwrap();
    assert_eq!(visits.len(), 2, "{view}");
    assert_eq!(visits[0]["name"], "Ada Lovelace");
    assert_eq!(visits[0]["minutes"], 20);
    assert_eq!(visits[0]["present"], false);
    assert_eq!(visits[0]["owner"], false);
    assert_eq!(visits[1]["owner"], true);
    assert_eq!(visits[1]["present"], true);
    assert!(visits[1]["minutes"].as_i64().unwrap() >= 60, "{view}");
    let page = browser.get("/room").await;
    assert!(
        page.contains("Ada Lovelace") && page.contains("Visites récentes"),
        "{}",
        page.body
    );
    // The room is destroyed: its reservation ends; a guest first is refused again.
    let r = conference(&app, reqwest::Method::DELETE, &meet.api_secret, &id).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = conference(&app, reqwest::Method::GET, &meet.api_secret, &id).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = reserve(&app, &meet.api_secret, &name, "guest-77@meet.example.org").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = reserve(&app, &meet.api_secret, &name, &owner_jid).await;
    assert_eq!(r.status(), StatusCode::OK);
    let second: Value = r.json().await.unwrap();
    assert_ne!(second["id"], id.as_str());
    assert!(second.get("lobby").is_none(), "guests enter directly: {second}");
    // Another server's bearer does not reach this room.
    let other = server(&app, hs256("Other", "https://other.example.org")).await;
    let r = reserve(&app, &other.api_secret, &name, &owner_jid).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // Stock Jitsi names token users with random XMPP nodes: `mail_owner` says nothing. The
    // room opens in the minutes after its owner took their way in from Dialogue, not before,
    // and a guest taking theirs opens nothing.
    let second_id = second["id"].as_str().unwrap().to_owned();
    let r = conference(&app, reqwest::Method::DELETE, &meet.api_secret, &second_id).await;
    assert_eq!(r.status(), StatusCode::OK);
    let random = "8e3f0c1a-5b7d-4e2a-9c61-0f2d3b4a5c6d@meet.example.org";
    assert_eq!(
        reserve(&app, &meet.api_secret, &name, random).await.status(),
        StatusCode::FORBIDDEN
    );
    let guest = app.browser();
    let link = path_of(room["guest_url"].as_str().unwrap());
    guest.get(&link).await;
    let r = guest.post_raw(&link, &[("name", "Ada Lovelace")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the guest has their token");
    assert_eq!(
        reserve(&app, &meet.api_secret, &name, random).await.status(),
        StatusCode::FORBIDDEN
    );
    let r = browser.get_raw("/room/join").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "the owner takes their way in");
    let r = reserve(&app, &meet.api_secret, &name, random).await;
    assert_eq!(r.status(), StatusCode::OK);
    let third: Value = r.json().await.unwrap();
    assert_eq!(third["mail_owner"], random);
}

async fn rooms_are_their_owners_only(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("DIALOGUE_ACCESS_JITSI_SERVERS_BY_ROLE", "trainer=Visio B")]).await;
    let a = server(&app, hs256("Visio A", "https://a.example.org")).await;
    let b = server(&app, hs256("Visio B", "https://b.example.org")).await;
    let (theo_browser, theo) = app.logged_in("theo@example.org", Role::Trainer).await;
    let theo_token = token_for(&app, &theo.id).await;
    // A trainer limited to "Visio B" cannot put their room on "Visio A"; by default it goes to B.
    let r = api(
        &app,
        reqwest::Method::PUT,
        &theo_token,
        "/me/room",
        Some(json!({"jitsi_server_id": a.id})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "jitsi_server_id", "{problem}");
    let room = put_room(&app, &theo_token, json!({})).await;
    assert_eq!(room["jitsi_server_id"], b.id.as_str());
    let name = room["room"].as_str().unwrap().to_owned();
    let link = path_of(room["guest_url"].as_str().unwrap());
    let r = theo_browser.get_raw("/room/join").await;
    assert!(location(&r).starts_with("https://b.example.org/"), "on B");
    // Another trainer sees only their own (none), never Theo's room or link, and enters none.
    let (other_browser, other) = app.logged_in("other@example.org", Role::Trainer).await;
    let other_token = token_for(&app, &other.id).await;
    let r = api(&app, reqwest::Method::GET, &other_token, "/me/room", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let page = other_browser.get("/room").await;
    assert!(!page.contains(&name) && !page.contains(&link), "{}", page.body);
    assert_eq!(other_browser.get("/room/join").await.status, StatusCode::NOT_FOUND);
    // A manager (who may step into sessions) cannot enter Theo's room as moderator: from the
    // guest link they are a participant like any guest.
    let (manager_browser, _) = app.logged_in("mia@example.org", Role::Manager).await;
    assert_eq!(manager_browser.get("/room/join").await.status, StatusCode::NOT_FOUND);
    manager_browser.get(&link).await;
    let r = manager_browser.post_raw(&link, &[("name", "Mia")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let c = claims(&location(&r));
    assert_eq!(c["context"]["user"]["moderator"], false);
    // Without an account (a learner), the owner's page asks for a login.
    let learner = app.browser();
    let page = learner.get("/room").await;
    assert!(page.path.starts_with("/login"), "{}", page.path);
    let r = testkit::client()
        .get(format!("{}/api/v1/me/room", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A does not know Theo's room, whoever asks.
    let r = reserve(&app, &a.api_secret, &name, &format!("{}@meet.example.org", theo.id)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // On B, Theo took his way in above: in the minutes after it the room opens for whoever
    // Prosody names first (stock Jitsi's random nodes say nothing), here another trainer — as a
    // participant: only Theo's token makes a moderator. (Refused outside those minutes: see
    // reservations_wait_for_the_owner_and_visits_are_shown.)
    let r = reserve(&app, &b.api_secret, &name, &format!("{}@meet.example.org", other.id)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = reserve(&app, &b.api_secret, &name, &format!("{}@meet.example.org", theo.id)).await;
    assert_eq!(r.status(), StatusCode::CONFLICT, "one reservation at a time");
}

async fn bad_input_is_refused_in_the_callers_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    server(&app, hs256("Meet", "https://meet.example.org")).await;
    let (browser, theo) = app.logged_in("theo@example.org", Role::Trainer).await;
    let token = token_for(&app, &theo.id).await;
    let send = |lang: &'static str, method: reqwest::Method, body: &'static str| {
        let app_url = app.url.clone();
        let token = token.clone();
        async move {
            testkit::client()
                .request(method, format!("{app_url}/api/v1/me/room"))
                .header("authorization", format!("Bearer {token}"))
                .header("accept-language", lang)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    // Nothing to delete yet (404), no link to re-issue (409).
    assert_eq!(
        send("fr", reqwest::Method::DELETE, "").await.status(),
        StatusCode::NOT_FOUND
    );
    let r = api(&app, reqwest::Method::POST, &token, "/me/room/link", None).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // Not JSON (whitespace alone included: the fuzzer's find), an unknown field, a wrong
    // value: 400 problems; an unknown server: 422.
    for body in [
        "{",
        "\r",
        " \n",
        r#"{"colour": "blue"}"#,
        r#"{"guests": "maybe"}"#,
        "[]",
    ] {
        let r = send("en", reqwest::Method::PUT, body).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    let r = send("fr", reqwest::Method::PUT, r#"{"jitsi_server_id": "nope"}"#).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fr: Value = r.json().await.unwrap();
    let r = send("en", reqwest::Method::PUT, r#"{"jitsi_server_id": "nope"}"#).await;
    let en: Value = r.json().await.unwrap();
    assert_eq!(fr["errors"][0]["field"], "jitsi_server_id");
    assert_ne!(fr["errors"][0]["message"], en["errors"][0]["message"], "{fr} / {en}");
    // Nothing was made.
    let r = api(&app, reqwest::Method::GET, &token, "/me/room", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The page form: an unknown server is refused next to the field.
    let page = browser
        .post("/room", &[("jitsi_server_id", "nope"), ("guests", "wait")])
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("jitsi_server-error"), "{}", page.body);
    // A form without its CSRF token changes nothing.
    let page = browser.post_bare("/room", &[("guests", "wait")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(
        api(&app, reqwest::Method::GET, &token, "/me/room", None).await.status(),
        StatusCode::NOT_FOUND
    );
    // Guests: a missing or overlong name is refused on the form, in their language; no token.
    let room = put_room(&app, &token, json!({})).await;
    let link = path_of(room["guest_url"].as_str().unwrap());
    let guest = app.browser();
    guest.get(&link).await;
    let page = guest.post(&link, &[("name", "   ")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Indiquez votre nom."), "{}", page.body);
    let english = app.browser().speaking("en");
    english.get(&link).await;
    let page = english.post(&link, &[("name", "")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Give your name."), "{}", page.body);
    let long = "x".repeat(101);
    let page = english.post(&link, &[("name", &long)]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("at most 100 characters"), "{}", page.body);
    // A key of the wrong shape, or unknown: the clear page, 404.
    assert_eq!(guest.get("/r/short").await.status, StatusCode::NOT_FOUND);
    let unknown = format!("/r/{}", "A".repeat(43));
    let page = guest.get(&unknown).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.contains("(ou plus) valable"), "{}", page.body);
}
