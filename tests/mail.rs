//! E-mail, self-hosted, against a real SMTP server (aiosmtpd): the letter
//! that confirms an address, share and invitation letters, retries through
//! an outage; and the rule they serve: only an account that has proved its
//! address receives what was shared with it.

mod common;

use common::TestServer;
use common::mail::MailSink;
use serde_json::{Value, json};

async fn with_mail(sink: &MailSink) -> TestServer {
    let port = sink.port;
    TestServer::start_with(move |o| {
        o.smtp = Some(common::mail::smtp_on(port));
        o.public_url = Some("https://files.example.test".into());
    })
    .await
}

fn token_of(link: &str) -> &str {
    link.split("token=").nth(1).unwrap_or_else(|| panic!("no token in {link}"))
}

fn shared_names(list: &Value) -> Vec<String> {
    list["files"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn signing_up_under_an_address_claims_nothing_shared_with_it() {
    let server = TestServer::start().await;
    let alice = server.sign_up("alice@example.com").await;
    let tax = alice.upload("tax-2026.pdf", b"numbers").await["id"].as_str().unwrap().to_owned();
    let share = alice.post(&format!("/api/files/{tax}/shares"), json!({ "email": "bob@corp.example" })).await;
    let share = share.expect(201)["share"].clone();
    assert_eq!(share["pending"], true);
    let invite = share["invite_url"].as_str().expect("no SMTP here: the owner is handed the link").to_owned();
    assert!(invite.starts_with("/verify/?token="), "{invite}");

    // Mallory signs up as bob@corp.example: nothing arrives, now or later.
    let mallory = server.sign_up_unverified("bob@corp.example").await;
    assert_eq!(mallory.get("/api/me").await.expect(200)["email_verified"], false);
    assert!(shared_names(&mallory.get("/api/files?scope=shared").await.expect(200)).is_empty());
    let snapshot = mallory.feed("").await.next().await;
    assert_eq!(snapshot["shared"], json!([]));
    let later = alice.upload("tax-2027.pdf", b"more numbers").await["id"].as_str().unwrap().to_owned();
    let again = alice.post(&format!("/api/files/{later}/shares"), json!({ "email": "bob@corp.example" })).await;
    assert_eq!(again.expect(201)["share"]["pending"], true, "an unproved account is not a recipient");
    assert!(shared_names(&mallory.get("/api/files?scope=shared").await.expect(200)).is_empty());
    mallory.get(&format!("/api/files/{tax}")).await.expect_error(404, "not_found");
    mallory.post(&format!("/api/files/{tax}/download"), json!({})).await.expect_error(404, "not_found");

    // Guessing a proof gets nowhere; another address's proof is refused.
    let guess = json!({ "token": "A".repeat(43) });
    mallory.post("/api/auth/verify", guess).await.expect_error(404, "verification_invalid");
    let misshapen = json!({ "token": "0".repeat(64) });
    mallory.post("/api/auth/verify", misshapen).await.expect_error(400, "invalid_request");
    mallory.post("/api/auth/verify", json!({})).await.expect_error(400, "invalid_request");
    let other = alice.post(&format!("/api/files/{tax}/shares"), json!({ "email": "carol@example.com" })).await;
    let other = other.expect(201)["share"]["invite_url"].as_str().unwrap().to_owned();
    mallory
        .post("/api/auth/verify", json!({ "token": token_of(&other) }))
        .await
        .expect_error(403, "verification_other_address");
    assert_eq!(mallory.get("/api/me").await.expect(200)["email_verified"], false);

    // Whoever holds the invitation's link proves the address (the owner
    // chose to pass it on), and receives both files; the link is used up.
    mallory.post("/api/auth/verify", json!({ "token": token_of(&invite) })).await.expect(200);
    assert_eq!(mallory.get("/api/me").await.expect(200)["email_verified"], true);
    let mut names = shared_names(&mallory.get("/api/files?scope=shared").await.expect(200));
    names.sort();
    assert_eq!(names, ["tax-2026.pdf", "tax-2027.pdf"]);
    mallory
        .post("/api/auth/verify", json!({ "token": token_of(&invite) }))
        .await
        .expect_error(404, "verification_invalid");

    // Without SMTP there is nothing to resend.
    mallory.post("/api/auth/verify/resend", json!({})).await.expect_error(409, "mail_not_configured");
    assert_eq!(server.anonymous().get("/api/config").await.expect(200)["mail"], false);
}

#[tokio::test]
async fn letters_confirm_addresses_tell_of_shares_and_invite() {
    let mut sink = MailSink::start().await;
    let server = with_mail(&sink).await;
    assert_eq!(server.anonymous().get("/api/config").await.expect(200)["mail"], true);

    let alice = server.sign_up_unverified("alice@example.com").await;
    let confirm = sink.next().await;
    assert_eq!(confirm.to, ["alice@example.com"]);
    assert_eq!(confirm.from, "livedrop <noreply@livedrop.test>");
    assert_eq!(confirm.subject, "Confirm your e-mail address for livedrop");
    let link = confirm.link();
    assert!(link.starts_with("https://files.example.test/verify/?token="), "{link}");
    alice.post("/api/auth/verify", json!({ "token": token_of(&link) })).await.expect(200);
    assert_eq!(alice.get("/api/me").await.expect(200)["email_verified"], true);
    alice.post("/api/auth/verify", json!({ "token": token_of(&link) })).await.expect_error(404, "verification_invalid");
    // Verified already: resending sends nothing.
    let resend = alice.post("/api/auth/verify/resend", json!({})).await.expect(200);
    assert_eq!(resend, json!({ "email_verified": true, "sent": false }));

    let bob = server.sign_up_unverified("bob@example.com").await;
    let first = sink.next().await;
    assert_eq!(first.to, ["bob@example.com"]);
    // Asked again: a new letter, and both links work until one is used.
    bob.post("/api/auth/verify/resend", json!({})).await.expect(200);
    let second = sink.next().await;
    assert_ne!(first.link(), second.link());
    bob.post("/api/auth/verify", json!({ "token": token_of(&first.link()) })).await.expect(200);
    bob.post("/api/auth/verify", json!({ "token": token_of(&second.link()) }))
        .await
        .expect_error(404, "verification_invalid");

    // Shared with a verified person: a letter naming the file and the sharer.
    let name = "Q3 \u{201c}draft\u{201d} — ünïcode.pdf";
    let id = alice.upload(name, b"report").await["id"].as_str().unwrap().to_owned();
    let share = alice.post(&format!("/api/files/{id}/shares"), json!({ "email": "bob@example.com" })).await.expect(201);
    assert_eq!(share["share"]["pending"], false);
    assert!(share["share"].get("invite_url").is_none());
    let letter = sink.next().await;
    assert_eq!(letter.to, ["bob@example.com"]);
    assert_eq!(letter.subject, format!("alice@example.com shared \u{201c}{name}\u{201d} with you"));
    assert_eq!(letter.link(), format!("https://files.example.test/file/?id={id}"));

    // Shared with an address with no account: an invitation, whose link
    // proves the address to the account that opens it.
    let share = alice.post(&format!("/api/files/{id}/shares"), json!({ "email": "carol@example.com" })).await;
    let share = share.expect(201)["share"].clone();
    assert_eq!(share["pending"], true);
    assert!(share.get("invite_url").is_none(), "mailed, so not handed to the owner");
    let invitation = sink.next().await;
    assert_eq!(invitation.to, ["carol@example.com"]);
    assert!(invitation.subject.contains("shared"), "{}", invitation.subject);
    // Sharing again does not mail again.
    alice.post(&format!("/api/files/{id}/shares"), json!({ "email": "carol@example.com" })).await.expect(201);
    let carol = server.sign_up_unverified("carol@example.com").await;
    let carol_confirm = sink.next().await;
    assert_eq!(carol_confirm.subject, "Confirm your e-mail address for livedrop");
    assert!(shared_names(&carol.get("/api/files?scope=shared").await.expect(200)).is_empty());
    carol.post("/api/auth/verify", json!({ "token": token_of(&invitation.link()) })).await.expect(200);
    assert_eq!(shared_names(&carol.get("/api/files?scope=shared").await.expect(200)), [name]);
    sink.nothing_for(300).await;
}

#[tokio::test]
async fn resending_is_limited() {
    let mut sink = MailSink::start().await;
    let server = with_mail(&sink).await;
    let dana = server.sign_up_unverified("dana@example.com").await;
    sink.next().await;
    for _ in 0..5 {
        dana.post("/api/auth/verify/resend", json!({})).await.expect(200);
        sink.next().await;
    }
    let refused = dana.post("/api/auth/verify/resend", json!({})).await;
    refused.expect_error(429, "rate_limited");
    sink.nothing_for(300).await;
}

#[tokio::test]
async fn mail_waits_out_an_smtp_outage_and_never_fails_a_request() {
    let sink = MailSink::start().await;
    let port = sink.port;
    let server = with_mail(&sink).await;
    sink.stop().await;

    // The relay is down: sign-up and sharing answer as usual.
    let erin = server.sign_up_unverified("erin@example.com").await;
    let id = erin.upload("notes.txt", b"notes").await["id"].as_str().unwrap().to_owned();
    erin.post(&format!("/api/files/{id}/shares"), json!({ "email": "frank@example.com" })).await.expect(201);

    // It comes back where it was: the queued letters go out on a retry.
    let mut sink = MailSink::start_on(port).await;
    let mut to: Vec<String> = vec![sink.next_within(30).await.to[0].clone(), sink.next_within(30).await.to[0].clone()];
    to.sort();
    assert_eq!(to, ["erin@example.com", "frank@example.com"]);
    sink.nothing_for(300).await;
}

#[tokio::test]
async fn letters_outlive_a_restart() {
    let sink = MailSink::start().await;
    let port = sink.port;
    sink.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = |port| {
        move |o: &mut livedrop::server::ServeOptions| {
            o.smtp = Some(common::mail::smtp_on(port));
            o.public_url = Some("https://files.example.test".into());
        }
    };
    let server = TestServer::start_in(dir.path(), settings(port)).await;
    server.sign_up_unverified("gina@example.com").await;
    server.stop().await;

    let mut sink = MailSink::start().await;
    let _server = TestServer::start_in(dir.path(), settings(sink.port)).await;
    let letter = sink.next().await;
    assert_eq!(letter.to, ["gina@example.com"]);
}

/// The cloud: Firebase Auth has verified every address that reaches the
/// API, so a share reaches an account at once, with a letter; an address
/// with no account is invited to sign up. The outbox is in Firestore.
#[tokio::test]
async fn in_the_cloud_shares_and_invitations_are_mailed() {
    let mut sink = MailSink::start().await;
    let port = sink.port.to_string();
    let cloud = common::cloud::CloudServer::start_with(&[
        ("LIVEDROP_SMTP_HOST", "127.0.0.1"),
        ("LIVEDROP_SMTP_PORT", &port),
        ("LIVEDROP_SMTP_TLS", "none"),
        ("LIVEDROP_MAIL_FROM", "livedrop <noreply@livedrop.test>"),
        ("LIVEDROP_PUBLIC_URL", "https://drop.example.test"),
    ])
    .await;
    assert_eq!(cloud.anonymous().get("/api/config").await.expect(200)["mail"], true);
    let (ann_email, ben_email) = (common::cloud::CloudServer::email("ann"), common::cloud::CloudServer::email("ben"));
    let ann = cloud.sign_up(&ann_email).await;
    let ben = cloud.sign_up(&ben_email).await;
    assert_eq!(ben.get("/api/me").await.expect(200)["email_verified"], true);
    ben.post("/api/auth/verify/resend", json!({})).await.expect_error(404, "not_supported");

    let id = ann.upload("cloud notes.txt", b"from the cloud").await["id"].as_str().unwrap().to_owned();
    let share = ann.post(&format!("/api/files/{id}/shares"), json!({ "email": ben_email })).await.expect(201);
    assert_eq!(share["share"]["pending"], false);
    let letter = sink.next_within(20).await;
    assert_eq!(letter.to, std::slice::from_ref(&ben_email));
    assert_eq!(letter.subject, format!("{ann_email} shared \u{201c}cloud notes.txt\u{201d} with you"));
    assert_eq!(letter.link(), format!("https://drop.example.test/file/?id={id}"));

    let newcomer = common::cloud::CloudServer::email("newcomer");
    let share = ann.post(&format!("/api/files/{id}/shares"), json!({ "email": newcomer })).await.expect(201);
    assert_eq!(share["share"]["pending"], true);
    assert!(share["share"].get("invite_url").is_none());
    let invitation = sink.next_within(20).await;
    assert_eq!(invitation.to, [newcomer]);
    assert_eq!(invitation.link(), "https://drop.example.test/signup/");
    sink.nothing_for(300).await;
}

/// Signs up `email` on a server that sends mail, and confirms the address
/// with the link of the letter that arrives.
async fn confirmed(server: &TestServer, sink: &mut MailSink, email: &str) -> common::Client {
    let person = server.sign_up_unverified(email).await;
    let letter = sink.next().await;
    assert_eq!(letter.to, [email]);
    person.post("/api/auth/verify", json!({ "token": token_of(&letter.link()) })).await.expect(200);
    person
}

#[tokio::test]
async fn owners_who_ask_are_told_of_downloads() {
    let mut sink = MailSink::start().await;
    let server = with_mail(&sink).await;
    let alice = confirmed(&server, &mut sink, "alice@example.com").await;
    let bob = confirmed(&server, &mut sink, "bob@example.com").await;
    let id = alice.upload("report.pdf", b"%PDF-1.4 numbers").await["id"].as_str().unwrap().to_owned();
    alice.post(&format!("/api/files/{id}/shares"), json!({ "email": "bob@example.com" })).await.expect(201);
    sink.next().await; // "shared with you", to Bob

    // Off unless asked for.
    assert_eq!(alice.get("/api/me").await.expect(200)["download_notices"], false);
    bob.post(&format!("/api/files/{id}/download"), json!({})).await.expect(200);
    sink.nothing_for(500).await;

    alice.patch("/api/me", json!({ "download_notices": true })).await.expect(200);
    assert_eq!(alice.get("/api/me").await.expect(200)["download_notices"], true);
    alice.patch("/api/me", json!({ "download_notices": "yes" })).await.expect_error(400, "invalid_request");
    alice.patch("/api/me", json!({ "theme": "dark" })).await.expect_error(400, "invalid_request");
    alice.patch("/api/me", json!({})).await.expect_error(400, "invalid_request");

    bob.post(&format!("/api/files/{id}/download"), json!({})).await.expect(200);
    let notice = sink.next().await;
    assert_eq!(notice.to, ["alice@example.com"]);
    assert_eq!(notice.subject, "\u{201c}report.pdf\u{201d} was downloaded");
    assert!(notice.body.starts_with("bob@example.com downloaded"), "{}", notice.body);
    assert_eq!(notice.link(), format!("https://files.example.test/file/?id={id}"));

    // A preview is not a download; the owner's own download is no news.
    bob.post(&format!("/api/files/{id}/download"), json!({ "inline": true })).await.expect(200);
    alice.post(&format!("/api/files/{id}/download"), json!({})).await.expect(200);
    sink.nothing_for(500).await;

    // Through a public link: "someone with a public link".
    let link = alice.post(&format!("/api/files/{id}/links"), json!({})).await.expect(201);
    let token = link["token"].as_str().unwrap().to_owned();
    server.anonymous().post(&format!("/api/s/{token}/download"), json!({})).await.expect(200);
    let notice = sink.next().await;
    assert!(notice.body.starts_with("Someone with a public link downloaded"), "{}", notice.body);

    alice.patch("/api/me", json!({ "download_notices": false })).await.expect(200);
    bob.post(&format!("/api/files/{id}/download"), json!({})).await.expect(200);
    sink.nothing_for(500).await;
}
