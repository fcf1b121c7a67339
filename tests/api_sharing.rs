//! Sharing with people who have no account yet, live renames and deletes
//! for recipients, closed sign-up, and the sweeper.

mod common;

use common::TestServer;
use serde_json::{Value, json};

fn is_change(m: &Value, collection: &str, kind: &str) -> bool {
    m["type"] == "change" && m["collection"] == collection && m["kind"] == kind
}

#[tokio::test]
async fn a_share_waits_for_its_invitation_link_then_follows_renames_and_deletes_live() {
    let server = TestServer::start().await;
    let owner = server.sign_up("owner@example.com").await;
    let id = owner.upload("plan.txt", b"the plan").await["id"].as_str().unwrap().to_owned();
    let share =
        owner.post(&format!("/api/files/{id}/shares"), json!({ "email": "later@example.com" })).await.expect(201);
    let invite = share["share"]["invite_url"].as_str().unwrap().to_owned();
    assert_eq!(
        share["share"],
        json!({ "email": "later@example.com", "user_id": null, "pending": true, "invite_url": invite })
    );
    let details = owner.get(&format!("/api/files/{id}")).await.expect(200);
    assert_eq!(details["shares"][0]["pending"], true);
    assert!(details["shares"][0].get("invite_url").is_none(), "the link is handed over once per share");

    // Signing up claims nothing; the invitation's link, opened by the
    // account (the address's case aside), does.
    let later = server.sign_up_unverified("Later@Example.com").await;
    assert_eq!(later.get("/api/files?scope=shared").await.expect(200)["files"], json!([]));
    let token = invite.split("token=").nth(1).unwrap();
    later.post("/api/auth/verify", json!({ "token": token })).await.expect(200);
    let mut feed = later.feed("").await;
    let snap = feed.next().await;
    assert_eq!(snap["shared"][0]["id"], id, "the waiting share arrived with the account");
    assert_eq!(later.get("/api/files?scope=shared").await.expect(200)["files"][0]["name"], "plan.txt");
    let details = owner.get(&format!("/api/files/{id}")).await.expect(200);
    assert_eq!(details["shares"][0]["pending"], false);
    assert_eq!(details["shares"][0]["email"], "later@example.com");

    // A recipient's preview is a view; the owner's own preview is not news.
    later.post(&format!("/api/files/{id}/download"), json!({ "inline": true })).await.expect(200);
    owner.post(&format!("/api/files/{id}/download"), json!({ "inline": true })).await.expect(200);
    let latest = owner.get(&format!("/api/files/{id}/activity")).await.expect(200)["activity"][0].clone();
    assert_eq!((latest["kind"].as_str(), latest["actor_email"].as_str()), (Some("viewed"), Some("later@example.com")));

    let mut owner_feed = owner.feed("").await;
    owner_feed.next().await;
    owner.patch(&format!("/api/files/{id}"), json!({ "name": "plan v2.txt" })).await.expect(200);
    let renamed = feed.until(|m| m["type"] == "change").await;
    assert!(is_change(&renamed, "shared", "modified"), "{renamed}");
    assert_eq!(renamed["doc"]["name"], "plan v2.txt");
    let mine = owner_feed.until(|m| m["type"] == "change").await;
    assert!(is_change(&mine, "files", "modified"), "{mine}");
    let logged = owner_feed.until(|m| is_change(m, "activity", "added")).await;
    assert_eq!((logged["doc"]["kind"].as_str(), logged["doc"]["detail"].as_str()), (Some("renamed"), Some("plan.txt")));

    owner.delete(&format!("/api/files/{id}")).await.expect(204);
    let gone = feed.until(|m| m["type"] == "change").await;
    assert!(is_change(&gone, "shared", "removed"), "{gone}");
    assert_eq!(gone["doc"], Value::Null);
    assert!(is_change(&owner_feed.until(|m| m["type"] == "change").await, "files", "removed"));
    let kinds: Vec<String> = owner.get("/api/activity").await.expect(200)["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["deleted", "renamed", "viewed", "shared", "uploaded"]);
    later.get(&format!("/api/files/{id}")).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn sign_up_can_be_closed() {
    let server = TestServer::start_with(|o| o.config.signup_open = false).await;
    let anon = server.anonymous();
    assert_eq!(anon.get("/api/config").await.expect(200)["signup_open"], false);
    let r = anon.post("/api/auth/signup", json!({ "email": "a@b.c", "password": "long enough pw" })).await;
    r.expect_error(403, "signup_closed");
}

#[tokio::test]
async fn the_sweeper_removes_abandoned_uploads_and_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(dir.path(), |_| {}).await;
    let ann = server.sign_up("ann@example.com").await;
    let begun = ann.begin("abandoned.txt", b"never completed").await.expect(201);
    ann.http.put(ann.url(begun["upload"]["url"].as_str().unwrap())).body(&b"never completed"[..]).send().await.unwrap();
    let kept = ann.upload("kept.txt", b"kept").await;
    assert_eq!(ann.get("/api/me").await.expect(200)["usage"]["used"], 19);

    // The same data dir, with pending uploads considered stale at once.
    let mut opts = livedrop::server::ServeOptions::new(dir.path());
    opts.config.pending_ttl = jiff::SignedDuration::ZERO;
    let app = livedrop::server::build(&opts).unwrap();
    assert_eq!(app.service.sweep().await.unwrap().pending_files, 1);
    assert_eq!(ann.get("/api/me").await.expect(200)["usage"]["used"], 4);
    let id = begun["file"]["id"].as_str().unwrap();
    ann.get(&format!("/api/files/{id}")).await.expect_error(404, "not_found");
    assert!(!dir.path().join("blobs/objects").join(id).exists());
    assert!(dir.path().join("blobs/objects").join(kept["id"].as_str().unwrap()).exists());
    server.stop().await;
}

/// The hijack, tried in the cloud: Mallory makes a Firebase account for
/// Bob's address without owning the mailbox. The API refuses her unverified
/// tokens, so she reads nothing; once the address is verified (by whoever
/// holds the mailbox), the share is there.
#[tokio::test]
async fn in_the_cloud_an_unverified_address_receives_nothing() {
    use common::cloud::CloudServer;
    let cloud = CloudServer::start_with(&[("LIVEDROP_REQUIRE_VERIFIED_EMAIL", "1")]).await;
    let alice_email = CloudServer::email("alice");
    cloud.mark_verified(&cloud.make_account(&alice_email).await);
    let alice = cloud.sign_in(&alice_email).await;
    alice.get("/api/me").await.expect(200);
    let id = alice.upload("tax-2026.pdf", b"numbers").await["id"].as_str().unwrap().to_owned();
    let bob_email = CloudServer::email("bob");
    let share = alice.post(&format!("/api/files/{id}/shares"), json!({ "email": bob_email })).await.expect(201);
    assert_eq!(share["share"]["pending"], true);

    let bob_id = cloud.make_account(&bob_email).await;
    let mallory = cloud.sign_in(&bob_email).await;
    mallory.get("/api/me").await.expect_error(401, "unauthenticated");
    mallory.get("/api/files?scope=shared").await.expect_error(401, "unauthenticated");
    mallory.post(&format!("/api/files/{id}/download"), json!({})).await.expect_error(401, "unauthenticated");

    // The mailbox's owner verifies the address: the share is theirs.
    cloud.mark_verified(&bob_id);
    let bob = cloud.sign_in(&bob_email).await;
    assert_eq!(bob.get("/api/files?scope=shared").await.expect(200)["files"][0]["name"], "tax-2026.pdf");
}

/// A Firebase ID token outlives a password change and a disabled account
/// by up to an hour; the requests that matter ask Firebase Auth again and
/// are refused at once, while reading goes on until the token expires.
#[tokio::test]
async fn in_the_cloud_a_password_change_or_a_disabled_account_stops_what_matters_at_once() {
    use common::cloud::CloudServer;
    let cloud = CloudServer::start().await;
    let (ann_email, bob_email) = (CloudServer::email("ann"), CloudServer::email("bob"));
    cloud.make_account(&ann_email).await;
    let ann = cloud.sign_in(&ann_email).await;
    let id = ann.upload("plan.txt", b"the plan").await["id"].as_str().unwrap().to_owned();
    ann.post(&format!("/api/files/{id}/links"), json!({})).await.expect(201);

    // Firebase keeps revocation times in seconds: a change in the second of
    // the sign-in would not tell them apart.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let token = ann.bearer.clone().unwrap();
    let path = "/identitytoolkit.googleapis.com/v1/accounts:update?key=demo-api-key";
    let (status, body) = cloud.auth_call(
        false,
        "POST",
        path,
        Some(json!({ "idToken": token, "password": "a brand new password", "returnSecureToken": false })),
    );
    assert_eq!(status, 200, "{body}");

    // The old token still reads ...
    ann.get("/api/files").await.expect(200);
    // ... but shares, links and deletes are refused.
    ann.post(&format!("/api/files/{id}/shares"), json!({ "email": bob_email }))
        .await
        .expect_error(401, "unauthenticated");
    ann.post(&format!("/api/files/{id}/links"), json!({})).await.expect_error(401, "unauthenticated");
    ann.delete(&format!("/api/files/{id}")).await.expect_error(401, "unauthenticated");

    // A disabled account: the same, with a token from before.
    let bob_id = cloud.make_account(&bob_email).await;
    let bob = cloud.sign_in(&bob_email).await;
    let bobs = bob.upload("b.txt", b"b").await["id"].as_str().unwrap().to_owned();
    cloud.disable(&bob_id);
    bob.delete(&format!("/api/files/{bobs}")).await.expect_error(401, "unauthenticated");
    bob.post(&format!("/api/files/{bobs}/links"), json!({})).await.expect_error(401, "unauthenticated");
}

/// Deleting a folder reaches, live, whoever a folder inside it was shared
/// with (not only those who saw it from above): the folder and its files
/// leave their view.
#[tokio::test]
async fn deleting_a_folder_reaches_the_recipients_of_folders_inside_it() {
    let server = TestServer::start().await;
    let ann = server.sign_up("ann@example.com").await;
    let bob = server.sign_up("bob@example.com").await;
    let cat = server.sign_up("cat@example.com").await;
    let folder = |name: &str, parent: Option<String>| {
        let ann = &ann;
        let body = json!({ "name": name, "parent_id": parent });
        async move { ann.post("/api/folders", body).await.expect(201)["folder"]["id"].as_str().unwrap().to_owned() }
    };
    let trip = folder("Trip", None).await;
    let day = folder("day 1", Some(trip.clone())).await;
    let night = folder("night", Some(day.clone())).await;
    let img = ann.upload_in("img.jpg", b"pixels", Some(&night)).await["id"].as_str().unwrap().to_owned();
    ann.post(&format!("/api/folders/{day}/shares"), json!({ "email": "bob@example.com" })).await.expect(201);
    ann.post(&format!("/api/folders/{trip}/shares"), json!({ "email": "cat@example.com" })).await.expect(201);
    let mut bobs = bob.feed("").await;
    bobs.next().await;
    let mut cats = cat.feed("").await;
    cats.next().await;

    ann.delete(&format!("/api/folders/{trip}")).await.expect(200);
    for feed in [&mut bobs, &mut cats] {
        let file = feed.until(|m| m["type"] == "change" && m["id"] == img.as_str()).await;
        assert_eq!(file["kind"], "removed", "{file}");
        let gone = feed.until(|m| m["type"] == "change" && m["id"] == day.as_str()).await;
        assert_eq!(gone["kind"], "removed", "{gone}");
    }
}
