//! Who may do what: every operation, for every kind of actor, each cell
//! asserted, on both deployments: self-hosted, and cloud (Firebase ID
//! tokens, Firestore, Cloud Storage, on the emulators). Someone else's file
//! is "not found", never "forbidden", so that ids cannot be probed.

mod common;

use common::cloud::CloudServer;
use common::{Client, Deployment, TestServer};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Actor {
    Owner,
    Recipient,
    Stranger,
    AnonymousWithLink,
    AnonymousWithout,
}

use Actor::*;

/// A fresh world per actor: a ready file shared with the recipient and
/// with third@, two links, and a pending upload.
struct Fixture {
    file: String,
    pending: String,
    link_token: String,
    link_id: String,
}

/// Who the fixture's file is shared with, and who it is shared with during
/// the test: addresses unique to the run (the cloud emulators outlive it).
struct Addresses {
    recipient: String,
    third: String,
    fourth: String,
}

async fn fixture(owner: &Client, to: &Addresses) -> Fixture {
    let file = owner.upload("secret.txt", b"for named eyes only").await["id"].as_str().unwrap().to_owned();
    owner.post(&format!("/api/files/{file}/shares"), json!({ "email": to.recipient })).await.expect(201);
    owner.post(&format!("/api/files/{file}/shares"), json!({ "email": to.third })).await.expect(201);
    let link = owner.post(&format!("/api/files/{file}/links"), json!({})).await.expect(201);
    let pending = owner.begin("pending.txt", b"later").await.expect(201)["file"]["id"].as_str().unwrap().to_owned();
    Fixture {
        file,
        pending,
        link_token: link["token"].as_str().unwrap().to_owned(),
        link_id: link["link"]["id"].as_str().unwrap().to_owned(),
    }
}

/// (operation, expected status for Owner, Recipient, Stranger, AnonymousWithLink, AnonymousWithout)
const MATRIX: &[(&str, [u16; 5])] = &[
    ("get file", [200, 200, 404, 401, 401]),
    ("rename", [200, 404, 404, 401, 401]),
    ("download", [200, 200, 404, 401, 401]),
    ("file activity", [200, 404, 404, 401, 401]),
    ("list links", [200, 404, 404, 401, 401]),
    ("create link", [201, 404, 404, 401, 401]),
    ("share", [201, 404, 404, 401, 401]),
    ("unshare", [204, 404, 404, 401, 401]),
    ("open link", [200, 200, 200, 200, 404]),
    ("download through link", [200, 200, 200, 200, 404]),
    ("revoke link", [204, 404, 404, 401, 401]),
    ("report upload progress", [200, 404, 404, 401, 401]),
    ("complete upload", [422, 404, 404, 401, 401]),
    ("abort upload", [204, 404, 404, 401, 401]),
    ("delete", [204, 404, 404, 401, 401]),
];

async fn perform(op: &str, c: &Client, f: &Fixture, to: &Addresses, actor: Actor) -> common::Reply {
    let file = &f.file;
    let token = if actor == AnonymousWithout { "no-such-link-token-aaaaaaaaaaaaaaa" } else { &f.link_token };
    match op {
        "get file" => c.get(&format!("/api/files/{file}")).await,
        "rename" => c.patch(&format!("/api/files/{file}"), json!({ "name": "renamed.txt" })).await,
        "download" => c.post(&format!("/api/files/{file}/download"), json!({})).await,
        "file activity" => c.get(&format!("/api/files/{file}/activity")).await,
        "list links" => c.get(&format!("/api/files/{file}/links")).await,
        "create link" => c.post(&format!("/api/files/{file}/links"), json!({})).await,
        "share" => c.post(&format!("/api/files/{file}/shares"), json!({ "email": to.fourth })).await,
        "unshare" => c.delete(&format!("/api/files/{file}/shares/{}", to.third)).await,
        "open link" => c.get(&format!("/api/s/{token}")).await,
        "download through link" => c.post(&format!("/api/s/{token}/download"), json!({})).await,
        "revoke link" => c.delete(&format!("/api/links/{}", f.link_id)).await,
        "report upload progress" => {
            c.post(&format!("/api/uploads/{}/progress", f.pending), json!({ "received": 2 })).await
        }
        "complete upload" => c.post(&format!("/api/uploads/{}/complete", f.pending), json!({})).await,
        "abort upload" => c.delete(&format!("/api/uploads/{}", f.pending)).await,
        "delete" => c.delete(&format!("/api/files/{file}")).await,
        _ => unreachable!("{op}"),
    }
}

#[tokio::test]
async fn every_actor_gets_exactly_what_they_may_self_hosted() {
    every_actor_gets_exactly_what_they_may(Deployment::SelfHosted(TestServer::start().await)).await;
}

#[tokio::test]
async fn every_actor_gets_exactly_what_they_may_in_the_cloud() {
    every_actor_gets_exactly_what_they_may(Deployment::Cloud(Box::new(CloudServer::start().await))).await;
}

/// The people of a test: an owner, a recipient of the owner's file, a
/// stranger, and the addresses the file is shared with.
struct Cast {
    owner: Client,
    recipient: Client,
    stranger: Client,
    to: Addresses,
}

async fn cast(world: &Deployment) -> Cast {
    let (owner, _) = world.person("owner").await;
    let (recipient, recipient_address) = world.person("recipient").await;
    let (stranger, _) = world.person("stranger").await;
    let to = Addresses { recipient: recipient_address, third: unique("third"), fourth: unique("fourth") };
    Cast { owner, recipient, stranger, to }
}

async fn every_actor_gets_exactly_what_they_may(world: Deployment) {
    let Cast { owner, recipient, stranger, to } = cast(&world).await;
    let anonymous = world.anonymous();

    for (col, actor) in [Owner, Recipient, Stranger, AnonymousWithLink, AnonymousWithout].into_iter().enumerate() {
        let f = fixture(&owner, &to).await;
        let c = match actor {
            Owner => &owner,
            Recipient => &recipient,
            Stranger => &stranger,
            AnonymousWithLink | AnonymousWithout => &anonymous,
        };
        for (op, expected) in MATRIX {
            let reply = perform(op, c, &f, &to, actor).await;
            assert_eq!(reply.status.as_u16(), expected[col], "{} {actor:?} / {op}: {:?}", world.name(), reply.body);
            if reply.status.is_client_error() {
                assert!(reply.body["error"]["code"].is_string(), "{actor:?} / {op}: stable code");
            }
        }
        // What refused actors tried changed nothing.
        if actor != Owner {
            let details = owner.get(&format!("/api/files/{}", f.file)).await.expect(200);
            assert_eq!(details["file"]["name"], "secret.txt", "{actor:?}");
            let emails: Vec<&str> =
                details["shares"].as_array().unwrap().iter().map(|s| s["email"].as_str().unwrap()).collect();
            assert!(emails.contains(&to.third.as_str()) && !emails.contains(&to.fourth.as_str()), "{actor:?}");
            assert_eq!(details["links"][0]["revoked"], false, "{actor:?}");
            owner.delete(&format!("/api/files/{}", f.file)).await.expect(204);
        }
    }
}

fn unique(name: &str) -> String {
    CloudServer::email(name)
}

fn ids(v: &Value) -> Vec<&str> {
    v["files"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn lists_and_feeds_show_each_person_only_their_own_self_hosted() {
    lists_and_feeds_show_each_person_only_their_own(Deployment::SelfHosted(TestServer::start().await)).await;
}

/// In the cloud the lists are the API's; the live lists are Firestore's,
/// guarded by firestore.rules (tests/firestore_rules*.rs).
#[tokio::test]
async fn lists_show_each_person_only_their_own_in_the_cloud() {
    lists_and_feeds_show_each_person_only_their_own(Deployment::Cloud(Box::new(CloudServer::start().await))).await;
}

async fn lists_and_feeds_show_each_person_only_their_own(world: Deployment) {
    let Cast { owner, recipient, stranger, to } = cast(&world).await;
    let mut stranger_feed = match &world {
        Deployment::SelfHosted(_) => {
            let mut feed = stranger.feed("").await;
            feed.next().await;
            Some(feed)
        }
        Deployment::Cloud(_) => None,
    };

    let f = fixture(&owner, &to).await;
    assert_eq!(ids(&owner.get("/api/files").await.expect(200)), [f.file.as_str()], "pending uploads are not listed");
    assert!(ids(&owner.get("/api/files?scope=shared").await.expect(200)).is_empty());
    assert_eq!(ids(&recipient.get("/api/files?scope=shared").await.expect(200)), [f.file.as_str()]);
    assert!(ids(&recipient.get("/api/files").await.expect(200)).is_empty());
    assert!(ids(&stranger.get("/api/files").await.expect(200)).is_empty());
    assert!(ids(&stranger.get("/api/files?scope=shared").await.expect(200)).is_empty());
    assert_eq!(stranger.get("/api/activity").await.expect(200)["activity"], json!([]));
    assert_eq!(recipient.get("/api/activity").await.expect(200)["activity"], json!([]), "activity is the owner's");
    assert!(
        recipient.get(&format!("/api/files/{}", f.file)).await.expect(200).get("shares").is_none(),
        "only the owner sees who else has it"
    );

    owner.patch(&format!("/api/files/{}", f.file), json!({ "name": "visible-to-some.txt" })).await.expect(200);
    if let Some(feed) = stranger_feed.as_mut() {
        feed.quiet(300).await;
    }
    world.anonymous().get("/api/files").await.expect_error(401, "unauthenticated");
    if let Deployment::SelfHosted(_) = world {
        world.anonymous().get("/api/feed").await.expect_error(401, "unauthenticated");
    }
}

#[tokio::test]
async fn sessions_need_the_csrf_token_and_tokens_work_without_it() {
    let server = TestServer::start().await;
    let ann = server.sign_up("ann@example.com").await;
    let no_csrf = Client { csrf: None, ..ann.clone() };
    no_csrf.post("/api/uploads", json!({})).await.expect_error(403, "csrf_failed");
    let wrong = Client { csrf: Some("0".repeat(32)), ..ann.clone() };
    wrong.delete("/api/files/abc").await.expect_error(403, "csrf_failed");
    assert_eq!(no_csrf.get("/api/me").await.status, 200, "reading needs no token");

    let created = ann.post("/api/tokens", json!({ "name": "backup script" })).await.expect(201);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("ldt_"));
    let script = Client { cookie: None, csrf: None, bearer: Some(secret.clone()), ..ann.clone() };
    let file = script.upload("from-script.txt", b"hi").await;
    assert_eq!(file["owner_email"], "ann@example.com");
    let listed = ann.get("/api/tokens").await.expect(200);
    assert_eq!(listed["tokens"][0]["name"], "backup script");
    assert!(!listed.to_string().contains(&secret), "secrets are shown once");
    let other = server.sign_up("bob@example.com").await;
    let id = created["token"]["id"].as_str().unwrap();
    other.delete(&format!("/api/tokens/{id}")).await.expect_error(404, "not_found");
    ann.delete(&format!("/api/tokens/{id}")).await.expect(204);
    script.get("/api/me").await.expect_error(401, "unauthenticated");

    // A cross-site page cannot open the feed with the cookie.
    let ws = server.base.replacen("http", "ws", 1);
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("{ws}/api/feed").into_client_request().unwrap();
    req.headers_mut().insert("cookie", ann.cookie.clone().unwrap().parse().unwrap());
    req.headers_mut().insert("origin", "https://evil.example".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());

    // Signing out ends the session.
    ann.post("/api/auth/signout", json!({})).await.expect(204);
    ann.get("/api/me").await.expect_error(401, "unauthenticated");
}

/// A live feed lasts no longer than the credential that opened it: signing
/// out or revoking the token closes it (code 4401), and it cannot reopen;
/// the person's other feeds stay open.
#[tokio::test]
async fn ending_a_credential_closes_the_feeds_it_opened() {
    let server = TestServer::start().await;
    let ann = server.sign_up("ann@example.com").await;
    let created = ann.post("/api/tokens", json!({ "name": "watcher" })).await.expect(201);
    let token_id = created["token"]["id"].as_str().unwrap().to_owned();
    let script = Client {
        cookie: None,
        csrf: None,
        bearer: Some(created["secret"].as_str().unwrap().to_owned()),
        ..ann.clone()
    };
    let laptop = server.sign_up("bob@example.com").await;

    let mut by_token = script.feed("").await;
    let mut by_session = ann.feed("").await;
    let mut someone_else = laptop.feed("").await;
    for f in [&mut by_token, &mut by_session, &mut someone_else] {
        assert_eq!(f.next().await["type"], "snapshot");
    }

    ann.delete(&format!("/api/tokens/{token_id}")).await.expect(204);
    assert_eq!(by_token.closed_by_server().await, Some(4401));
    // The session's feed is still live: the upload reaches it.
    ann.upload("still-live.txt", b"x").await;
    by_session.until(|m| m["doc"]["name"] == "still-live.txt").await;

    ann.post("/api/auth/signout", json!({})).await.expect(204);
    assert_eq!(by_session.closed_by_server().await, Some(4401));
    someone_else.quiet(300).await;

    // Reopening with the ended credentials is refused.
    let ws = server.base.replacen("http", "ws", 1);
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("{ws}/api/feed").into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {}", script.bearer.unwrap()).parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
    let mut req = format!("{ws}/api/feed").into_client_request().unwrap();
    req.headers_mut().insert("cookie", ann.cookie.clone().unwrap().parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_err());
}

/// A session's feed also ends when the session expires.
#[tokio::test]
async fn a_feed_ends_when_its_session_expires() {
    let server = TestServer::start().await;
    let ann = server.sign_up_unverified("ann@example.com").await;
    // Sessions last 30 days; this one, a second and a half.
    let ends = jiff::Timestamp::now().as_millisecond() + 1_500;
    let db = rusqlite::Connection::open(server.data_dir.join("livedrop.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    assert_eq!(db.execute("UPDATE sessions SET expires_at = ?1", [ends]).unwrap(), 1);

    let mut feed = ann.feed("").await;
    assert_eq!(feed.next().await["type"], "snapshot");
    assert_eq!(feed.closed_by_server().await, Some(4401));
    ann.get("/api/me").await.expect_error(401, "unauthenticated");
}

/// An API token made to last stops working when it runs out, and its feed
/// closes then; one without an expiry lasts until revoked.
#[tokio::test]
async fn api_tokens_can_carry_an_expiry() {
    let server = TestServer::start().await;
    let ann = server.sign_up_unverified("ann@example.com").await;
    for bad in [json!(0), json!(3651), json!(1.5), json!("7")] {
        let r = ann.post("/api/tokens", json!({ "name": "ci", "expires_in_days": bad })).await;
        r.expect_error(400, "invalid_request");
    }
    let made = ann.post("/api/tokens", json!({ "name": "ci", "expires_in_days": 30 })).await.expect(201);
    let expires = made["token"]["expires_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap();
    let days = (expires - jiff::Timestamp::now()).total(jiff::Unit::Hour).unwrap() / 24.0;
    assert!((29.9..=30.0).contains(&days), "{days}");
    let forever = ann.post("/api/tokens", json!({ "name": "laptop" })).await.expect(201);
    assert_eq!(forever["token"]["expires_at"], Value::Null);
    let listed = ann.get("/api/tokens").await.expect(200)["tokens"].clone();
    let ci_listed = listed.as_array().unwrap().iter().find(|t| t["id"] == made["token"]["id"]).unwrap().clone();
    assert_eq!(ci_listed, made["token"]);

    let ci = Client { bearer: Some(made["secret"].as_str().unwrap().to_owned()), ..server.anonymous() };
    let laptop = Client { bearer: Some(forever["secret"].as_str().unwrap().to_owned()), ..server.anonymous() };
    ci.get("/api/me").await.expect(200);
    // It runs out in a second and a half (30 days, shortened in the database).
    let ends = jiff::Timestamp::now().as_millisecond() + 1_500;
    let db = rusqlite::Connection::open(server.data_dir.join("livedrop.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let id = made["token"]["id"].as_str().unwrap();
    assert_eq!(
        db.execute("UPDATE api_tokens SET expires_at = ?1 WHERE id = ?2", rusqlite::params![ends, id]).unwrap(),
        1
    );
    let mut feed = ci.feed("").await;
    assert_eq!(feed.next().await["type"], "snapshot");
    assert_eq!(feed.closed_by_server().await, Some(4401));
    ci.get("/api/me").await.expect_error(401, "unauthenticated");
    laptop.get("/api/me").await.expect(200);
}

#[tokio::test]
async fn expired_sessions_are_purged_and_live_ones_kept() {
    let server = TestServer::start().await;
    let ann = server.sign_up_unverified("ann@example.com").await;
    let bob = server.sign_up_unverified("bob@example.com").await;
    let db = rusqlite::Connection::open(server.data_dir.join("livedrop.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let ann_id = ann.get("/api/me").await.expect(200)["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(db.execute("UPDATE sessions SET expires_at = 0 WHERE user_id = ?1", [&ann_id]).unwrap(), 1);

    let app = livedrop::server::build(&livedrop::server::ServeOptions::new(&server.data_dir)).unwrap();
    assert_eq!(app.accounts.purge_expired_sessions().await.unwrap(), 1);
    assert_eq!(app.accounts.purge_expired_sessions().await.unwrap(), 0, "idempotent");
    let left: i64 = db.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 1, "bob's session stays");
    ann.get("/api/me").await.expect_error(401, "unauthenticated");
    bob.get("/api/me").await.expect(200);
}

/// The session cookie is `Secure`, and answers carry HSTS, whenever the
/// browser reached the server over HTTPS: through a trusted proxy's
/// `X-Forwarded-Proto`, never on a client's own say-so; or always, forced.
#[tokio::test]
async fn cookies_are_secure_and_hsts_is_sent_behind_an_https_proxy() {
    async fn sign_up(base: &str, email: &str, proto: Option<&str>) -> reqwest::Response {
        let mut req = reqwest::Client::new()
            .post(format!("{base}/api/auth/signup"))
            .json(&serde_json::json!({ "email": email, "password": "correct horse battery" }));
        if let Some(p) = proto {
            req = req.header("x-forwarded-proto", p);
        }
        req.send().await.unwrap()
    }
    let secure = |r: &reqwest::Response| r.headers()["set-cookie"].to_str().unwrap().contains("; Secure");
    let hsts = |r: &reqwest::Response| r.headers().contains_key("strict-transport-security");

    let proxied = TestServer::start_with(|o| o.config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let r = sign_up(&proxied.base, "ann@example.com", Some("https")).await;
    assert_eq!(r.status(), 201);
    assert!(secure(&r) && hsts(&r), "{:?}", r.headers());
    let page = reqwest::Client::new().get(proxied.url("/")).header("x-forwarded-proto", "https").send().await.unwrap();
    assert!(hsts(&page), "the web app's pages too");
    let r = sign_up(&proxied.base, "bob@example.com", Some("http")).await;
    assert!(!secure(&r) && !hsts(&r), "plain HTTP behind the proxy");

    // Straight from a client, the header is the client's to forge.
    let direct = TestServer::start().await;
    let r = sign_up(&direct.base, "ann@example.com", Some("https")).await;
    assert!(!secure(&r) && !hsts(&r), "{:?}", r.headers());

    let forced = TestServer::start_with(|o| o.config.secure_cookies = true).await;
    let r = sign_up(&forced.base, "ann@example.com", None).await;
    assert!(secure(&r), "forced");
    let r = reqwest::Client::new()
        .post(forced.url("/api/auth/signin"))
        .json(&serde_json::json!({ "email": "ann@example.com", "password": "correct horse battery" }))
        .send()
        .await
        .unwrap();
    assert!(secure(&r), "sign-in's cookie too");
}

/// Signs in as a new browser would: a session of its own.
async fn sign_in(server: &TestServer, email: &str, password: &str) -> Client {
    let anon = server.anonymous();
    let resp = anon
        .http
        .post(server.url("/api/auth/signin"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "sign-in of {email}");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let body: serde_json::Value = resp.json().await.unwrap();
    Client { cookie: Some(cookie), csrf: Some(body["csrf_token"].as_str().unwrap().to_owned()), ..anon }
}

#[tokio::test]
async fn signing_out_everywhere_else_and_changing_the_password_end_the_other_sessions() {
    let server = TestServer::start().await;
    let here = server.sign_up("ann@example.com").await;
    let laptop = sign_in(&server, "ann@example.com", "correct horse battery").await;
    let secret = here.post("/api/tokens", serde_json::json!({ "name": "backup script" })).await.expect(201)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let script = Client { bearer: Some(secret), ..server.anonymous() };
    let bob = server.sign_up("bob@example.com").await;

    let mut laptop_feed = laptop.feed("").await;
    assert_eq!(laptop_feed.next().await["type"], "snapshot");
    let r = here.post("/api/auth/signout-others", serde_json::json!({})).await.expect(200);
    assert_eq!(r["ended"], 1);
    assert_eq!(laptop_feed.closed_by_server().await, Some(4401), "the other session's feed closes");
    laptop.get("/api/me").await.expect_error(401, "unauthenticated");
    here.get("/api/me").await.expect(200);
    script.get("/api/me").await.expect(200);
    bob.get("/api/me").await.expect(200);

    // A password change: the current one is checked, the new one too.
    let phone = sign_in(&server, "ann@example.com", "correct horse battery").await;
    let change = |current: &str, new: &str| serde_json::json!({ "current_password": current, "new_password": new });
    here.post("/api/auth/password", change("not the password", "a brand new password"))
        .await
        .expect_error(403, "wrong_password");
    here.post("/api/auth/password", change("correct horse battery", "short"))
        .await
        .expect_error(400, "invalid_password");
    phone.get("/api/me").await.expect(200);
    let r = here.post("/api/auth/password", change("correct horse battery", "a brand new password")).await.expect(200);
    assert_eq!(r["ended"], 1);
    phone.get("/api/me").await.expect_error(401, "unauthenticated");
    here.get("/api/me").await.expect(200);
    let anon = server.anonymous();
    let old = serde_json::json!({ "email": "ann@example.com", "password": "correct horse battery" });
    anon.post("/api/auth/signin", old).await.expect_error(401, "invalid_credentials");
    sign_in(&server, "ann@example.com", "a brand new password").await;
    bob.get("/api/me").await.expect(200);

    // Wrong current passwords are guesses under the account's sign-in
    // limit (10), with the wrong one above and the old password's sign-in.
    for _ in 0..8 {
        here.post("/api/auth/password", change("guess", "another new password"))
            .await
            .expect_error(403, "wrong_password");
    }
    let r = here.post("/api/auth/password", change("a brand new password", "another new password")).await;
    r.expect_error(429, "rate_limited");
}
