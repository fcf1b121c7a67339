//! `firestore.rules` on the real Firestore emulator, for every actor
//! (owner, reader, stranger, anonymous), every collection and every
//! operation (get, the web client's list queries, create, update, delete),
//! including guessing ids and listing other people's files.
//!
//! The data is written by `FirestoreStore` itself (as the emulator's admin,
//! past the rules), so the rules are tested against documents exactly as
//! the API writes them. The rules file is loaded at run time through the
//! emulator's REST endpoint, into a fresh project per run; each request
//! goes through the REST API with an unsigned emulator ID token (`alg:
//! none`, with `iss`, `aud`, `sub`, `email`), which the emulator checks
//! against the rules like a real one.
//!
//! Why Rust and not a node test: one toolchain and one test command, the
//! same emulator helper and the same store as the contract suite, and no
//! npm packages for a few REST calls.

use std::fmt::Write as _;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use livedrop::cloud::emulator::FirestoreEmulator;
use livedrop::cloud::firestore::FirestoreStore;
use livedrop::domain::*;
use livedrop::store::{MetadataStore, pending_file};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Actor {
    Owner,
    Reader,
    Stranger,
    Anonymous,
}
use Actor::*;

const ALL: [Actor; 4] = [Owner, Reader, Stranger, Anonymous];

struct Rig {
    http: reqwest::Client,
    base: String,
    project: String,
    ann: User,
    bob: User,
    eve: User,
    /// Checked cells, for the summary and for failures all at once.
    checked: usize,
    failures: Vec<String>,
}

/// An unsigned ID token as the Auth emulator issues them.
fn emulator_token(project: &str, user: &User) -> String {
    let now = Timestamp::now().as_second();
    let header = json!({ "alg": "none", "typ": "JWT" });
    let claims = json!({
        "iss": format!("https://securetoken.google.com/{project}"),
        "aud": project,
        "sub": user.id.as_str(),
        "user_id": user.id.as_str(),
        "email": user.email.as_str(),
        "email_verified": false,
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "firebase": { "identities": { "email": [user.email.as_str()] }, "sign_in_provider": "password" },
    });
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    format!("{}.{}.", enc(&header), enc(&claims))
}

fn string(v: &str) -> Value {
    json!({ "stringValue": v })
}

fn eq(field: &str, value: &str) -> Value {
    json!({ "fieldFilter": { "field": { "fieldPath": field }, "op": "EQUAL", "value": string(value) } })
}

fn contains(field: &str, value: &str) -> Value {
    json!({ "fieldFilter": { "field": { "fieldPath": field }, "op": "ARRAY_CONTAINS", "value": string(value) } })
}

/// `field in [values]`, as the web client asks for ready files and uploads in progress.
fn one_of(field: &str, values: &[&str]) -> Value {
    let values: Vec<Value> = values.iter().map(|v| string(v)).collect();
    json!({ "fieldFilter": { "field": { "fieldPath": field }, "op": "IN", "value": { "arrayValue": { "values": values } } } })
}

fn and(filters: Vec<Value>) -> Value {
    json!({ "compositeFilter": { "op": "AND", "filters": filters } })
}

/// A structured query on one collection, newest first by `order` if given.
fn query(collection: &str, filter: Option<Value>, order: Option<&str>) -> Value {
    let mut q = json!({ "from": [{ "collectionId": collection }], "limit": 50 });
    if let Some(f) = filter {
        q["where"] = f;
    }
    if let Some(o) = order {
        q["orderBy"] = json!([{ "field": { "fieldPath": o }, "direction": "DESCENDING" }]);
    }
    q
}

impl Rig {
    fn user(&self, actor: Actor) -> Option<&User> {
        match actor {
            Owner => Some(&self.ann),
            Reader => Some(&self.bob),
            Stranger => Some(&self.eve),
            Anonymous => None,
        }
    }

    async fn send(&self, actor: Actor, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(u) = self.user(actor) {
            req = req.bearer_auth(emulator_token(&self.project, u));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("the emulator answers");
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    fn check(&mut self, what: &str, actor: Actor, allowed: bool, status: StatusCode) {
        self.checked += 1;
        let ok = if allowed { status == StatusCode::OK } else { status == StatusCode::FORBIDDEN };
        if !ok {
            let want = if allowed { "200" } else { "403" };
            self.failures.push(format!("{what} as {actor:?}: want {want}, got {status}"));
        }
    }

    /// `GET` one document.
    async fn get(&mut self, collection: &str, id: &str, readers: &[Actor]) {
        for actor in ALL {
            let (status, _) = self.send(actor, Method::GET, &format!("/{collection}/{id}"), None).await;
            self.check(&format!("get {collection}/{id}"), actor, readers.contains(&actor), status);
        }
    }

    /// Runs a query; for the allowed actors also checks which documents it
    /// returned.
    async fn list(&mut self, what: &str, q: Value, allowed: &[Actor], expect_ids: &[&str]) {
        for actor in ALL {
            let (status, body) =
                self.send(actor, Method::POST, ":runQuery", Some(json!({ "structuredQuery": q.clone() }))).await;
            let allow = allowed.contains(&actor);
            self.check(&format!("list {what}"), actor, allow, status);
            if allow && status == StatusCode::OK {
                let mut ids: Vec<String> = body
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["document"]["name"].as_str())
                    .map(|n| n.rsplit('/').next().unwrap().to_owned())
                    .collect();
                ids.sort();
                let mut want: Vec<String> = expect_ids.iter().map(|s| s.to_string()).collect();
                want.sort();
                if ids != want {
                    self.failures.push(format!("list {what} as {actor:?}: got {ids:?}, want {want:?}"));
                }
            }
        }
    }

    /// Every client write is refused, to every actor, owner included.
    async fn no_writes(&mut self, collection: &str, existing_id: &str) {
        let fields = json!({ "fields": { "owner_id": string("x"), "readers": { "arrayValue": { "values": [] } } } });
        for actor in ALL {
            let who = self.user(actor).map(|u| u.id.to_string()).unwrap_or_default();
            let fields = if who.is_empty() {
                fields.clone()
            } else {
                // A forged document that would pass a naive read rule.
                json!({ "fields": { "owner_id": string(&who), "readers": { "arrayValue": { "values": [string(&who)] } } } })
            };
            let new_id = random_token(12);
            let create = self
                .send(actor, Method::POST, &format!("/{collection}?documentId={new_id}"), Some(fields.clone()))
                .await
                .0;
            self.check(&format!("create {collection}/new"), actor, false, create);
            let update = self.send(actor, Method::PATCH, &format!("/{collection}/{existing_id}"), Some(fields)).await.0;
            self.check(&format!("update {collection}/{existing_id}"), actor, false, update);
            let delete = self.send(actor, Method::DELETE, &format!("/{collection}/{existing_id}"), None).await.0;
            self.check(&format!("delete {collection}/{existing_id}"), actor, false, delete);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firestore_rules_let_each_person_read_only_their_own_and_nobody_write() {
    let emulator = FirestoreEmulator::from_env_or_start().await.expect("a Firestore emulator");
    let host = emulator.host().to_owned();
    let project = format!("demo-livedrop-rules-{}", &sha256_hex(&random_token(16))[..10]);
    let http = reqwest::Client::new();

    let rules = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/firestore.rules")).unwrap();
    let loaded = http
        .put(format!("http://{host}/emulator/v1/projects/{project}:securityRules"))
        .json(&json!({ "rules": { "files": [{ "name": "firestore.rules", "content": rules }] } }))
        .send()
        .await
        .unwrap();
    assert!(
        loaded.status().is_success(),
        "loading firestore.rules: {} {}",
        loaded.status(),
        loaded.text().await.unwrap()
    );

    // The world, written by the store as the API writes it.
    let store = FirestoreStore::connect_emulator(&project, &host).await.unwrap();
    let person =
        |name: &str| User { id: UserId::generate(), email: Email::parse(&format!("{name}@example.com")).unwrap() };
    let (ann, bob, eve) = (person("ann"), person("bob"), person("eve"));
    for u in [&ann, &bob, &eve] {
        store.create_user(u).await.unwrap();
    }
    let now = || Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap();
    let new_file = |owner: &User, name: &str| {
        pending_file(owner, FileName::parse(name).unwrap(), 3, ContentType::parse(None).unwrap(), Crc32c(1), now())
    };
    let shared = new_file(&ann, "shared.txt");
    let private = new_file(&ann, "private.txt");
    let pending = new_file(&ann, "uploading.txt");
    let bobs = new_file(&bob, "bobs.txt");
    for f in [&shared, &private, &pending, &bobs] {
        store.insert_pending_file(f, u64::MAX).await.unwrap();
    }
    for f in [&shared, &private, &bobs] {
        store.mark_ready(f, now(), None, None).await.unwrap();
    }
    store.add_share(&shared.id, &bob.id, now(), None, None).await.unwrap();
    let invited = Email::parse("carol@example.com").unwrap();
    store.add_invitation(&shared.id, &invited, now(), None, None).await.unwrap();
    let link = Link {
        id: LinkId::generate(),
        target: LinkTarget::File(shared.id.clone()),
        owner_id: ann.id.clone(),
        token_hash: sha256_hex(&random_token(32)),
        password_hash: None,
        expires_at: None,
        max_downloads: None,
        downloads: 0,
        revoked: false,
        created_at: now(),
    };
    store.insert_link(&link, None).await.unwrap();
    let activity = Activity {
        id: ActivityId::generate(),
        owner_id: ann.id.clone(),
        file_id: Some(shared.id.clone()),
        folder_id: None,
        file_name: "shared.txt".into(),
        kind: ActivityKind::Shared,
        actor_id: Some(ann.id.clone()),
        actor_email: Some(ann.email.clone()),
        link_id: None,
        detail: Some(bob.email.to_string()),
        at: now(),
    };
    store.append_activity(&activity).await.unwrap();
    let folder = Folder {
        id: FolderId::generate(),
        owner_id: ann.id.clone(),
        owner_email: ann.email.clone(),
        name: FileName::parse("Trip").unwrap(),
        parent: None,
        created_at: now(),
        updated_at: now(),
    };
    livedrop::store::FolderStore::create_folder(&store, &folder).await.unwrap();
    let in_folder = FileRecord { folder_id: Some(folder.id.clone()), ..new_file(&ann, "in-trip.txt") };
    store.insert_pending_file(&in_folder, u64::MAX).await.unwrap();
    store.mark_ready(&in_folder, now(), None, None).await.unwrap();
    // Trip/day is shared with bob (the reader), through Trip's share.
    let day = Folder {
        id: FolderId::generate(),
        owner_id: ann.id.clone(),
        owner_email: ann.email.clone(),
        name: FileName::parse("day").unwrap(),
        parent: Some(folder.id.clone()),
        created_at: now(),
        updated_at: now(),
    };
    livedrop::store::FolderStore::create_folder(&store, &day).await.unwrap();
    let in_day = FileRecord { folder_id: Some(day.id.clone()), ..new_file(&ann, "img.jpg") };
    let uploading_in_day = FileRecord { folder_id: Some(day.id.clone()), ..new_file(&ann, "uploading.jpg") };
    store.insert_pending_file(&in_day, u64::MAX).await.unwrap();
    store.insert_pending_file(&uploading_in_day, u64::MAX).await.unwrap();
    store.mark_ready(&in_day, now(), None, None).await.unwrap();
    livedrop::store::FolderSharing::share_folder(&store, &folder, &bob.id, now()).await.unwrap();

    let mut rig = Rig {
        http,
        base: format!("http://{host}/v1/projects/{project}/databases/(default)/documents"),
        project: project.clone(),
        ann: ann.clone(),
        bob: bob.clone(),
        eve: eve.clone(),
        checked: 0,
        failures: vec![],
    };
    let (s, p, u, b) = (shared.id.as_str(), private.id.as_str(), pending.id.as_str(), bobs.id.as_str());
    let invitation = format!("{s}.{}", sha256_hex(invited.as_str()));
    let email_key = sha256_hex(ann.email.as_str());
    let ready = || eq("status", "ready");

    // Files, one at a time: the owner; the reader only the shared one;
    // nobody a guessed id (denied exactly like an existing one).
    rig.get("files", s, &[Owner, Reader]).await;
    rig.get("files", p, &[Owner]).await;
    rig.get("files", u, &[Owner]).await;
    rig.get("files", b, &[Reader]).await;
    rig.get("files", &FileId::generate().to_string(), &[]).await;

    // Files, listed as the web client does, and as a snoop would.
    let mine =
        |who: &User| query("files", Some(and(vec![eq("owner_id", who.id.as_str()), ready()])), Some("updated_at"));
    let shared_with =
        |who: &User| query("files", Some(and(vec![contains("readers", who.id.as_str()), ready()])), Some("updated_at"));
    let t = in_folder.id.as_str();
    let img = in_day.id.as_str();
    rig.list("ann's files", mine(&ann), &[Owner], &[s, p, t, img]).await;
    rig.list("files shared with bob", shared_with(&bob), &[Reader], &[s]).await;
    rig.list("files shared with eve", shared_with(&eve), &[Stranger], &[]).await;
    rig.list("all files", query("files", None, None), &[], &[]).await;
    rig.list("all ready files", query("files", Some(ready()), Some("updated_at")), &[], &[]).await;
    rig.list("files by name", query("files", Some(eq("name", "shared.txt")), None), &[], &[]).await;

    // Folders and what is in them: the owner, with the owner filter.
    let d = folder.id.as_str();
    rig.get("folders", &FolderId::generate().to_string(), &[]).await;
    rig.list(
        "ann's folders at the top",
        query("folders", Some(and(vec![eq("owner_id", ann.id.as_str()), eq("parent", "")])), Some("name_key")),
        &[Owner],
        &[d],
    )
    .await;
    rig.list("folders at the top", query("folders", Some(eq("parent", "")), None), &[], &[]).await;
    rig.list("folders by name", query("folders", Some(eq("name", "Trip")), None), &[], &[]).await;
    let in_trip = |who: &User| {
        query("files", Some(and(vec![eq("owner_id", who.id.as_str()), eq("parent", d), ready()])), Some("updated_at"))
    };
    // (bob sees Trip: its files, even queried as its owner's.)
    rig.list("ann's files in Trip", in_trip(&ann), &[Owner, Reader], &[t]).await;
    // The folder in the query is enough: whoever sees it may ask for all of it.
    rig.list("files in Trip", query("files", Some(eq("parent", d)), None), &[Reader], &[t]).await;
    rig.get("files", t, &[Owner, Reader]).await;

    // Trip is shared with bob: he sees its folders and their files, ready
    // or uploading, queried as the web client does; eve sees nothing of it.
    let (dd, up) = (day.id.as_str(), uploading_in_day.id.as_str());
    rig.get("folders", d, &[Owner, Reader]).await;
    rig.get("folders", dd, &[Owner, Reader]).await;
    rig.get("files", img, &[Owner, Reader]).await;
    rig.get("files", up, &[Owner, Reader]).await;
    let folders_in = |who: &User, p: &str| {
        query("folders", Some(and(vec![eq("parent", p), contains("viewers", who.id.as_str())])), Some("name_key"))
    };
    rig.list("folders in Trip, as a viewer", folders_in(&bob, d), &[Reader], &[dd]).await;
    rig.list("folders in Trip, as eve", folders_in(&eve, d), &[Stranger], &[]).await;
    rig.list("folders in Trip, without the viewer", query("folders", Some(eq("parent", d)), None), &[], &[]).await;
    let shared_folders = |who: &User| query("folders", Some(contains("readers", who.id.as_str())), Some("name_key"));
    rig.list("folders shared with bob", shared_folders(&bob), &[Reader], &[d]).await;
    rig.list("folders shared with eve", shared_folders(&eve), &[Stranger], &[]).await;
    let files_in = |p: &str| query("files", Some(and(vec![eq("parent", p), ready()])), Some("updated_at"));
    // The owner's own queries carry `owner_id`; this one is a viewer's.
    rig.list("ready files in day, as a viewer", files_in(dd), &[Reader], &[img]).await;
    let live_in = |p: &str| {
        query("files", Some(and(vec![eq("parent", p), one_of("status", &["pending", "ready"])])), Some("updated_at"))
    };
    rig.list("files in day, uploads in progress too, as a viewer", live_in(dd), &[Reader], &[img, up]).await;
    // Without the folder in the query the rule cannot be checked against it.
    rig.list("uploads in progress anywhere", query("files", Some(eq("status", "pending")), None), &[], &[]).await;

    // Links, invitations, activity: the owner, and only with the owner filter.
    rig.get("links", link.id.as_str(), &[Owner]).await;
    rig.list(
        "ann's links",
        query("links", Some(eq("owner_id", ann.id.as_str())), Some("created_at")),
        &[Owner],
        &[link.id.as_str()],
    )
    .await;
    rig.list(
        "links of a file by owner",
        query("links", Some(and(vec![eq("owner_id", ann.id.as_str()), eq("file_id", s)])), Some("created_at")),
        &[Owner],
        &[link.id.as_str()],
    )
    .await;
    rig.list("links of a file", query("links", Some(eq("file_id", s)), None), &[], &[]).await;
    rig.list("a link by token hash", query("links", Some(eq("token_hash", &link.token_hash)), None), &[], &[]).await;
    rig.get("invitations", &invitation, &[Owner]).await;
    rig.list(
        "invitations of a file by owner",
        query("invitations", Some(and(vec![eq("owner_id", ann.id.as_str()), eq("file_id", s)])), None),
        &[Owner],
        &[&invitation],
    )
    .await;
    rig.list("invitations to an address", query("invitations", Some(eq("email", invited.as_str())), None), &[], &[])
        .await;
    rig.get("activity", activity.id.as_str(), &[Owner]).await;
    rig.list(
        "ann's activity",
        query("activity", Some(eq("owner_id", ann.id.as_str())), Some("logged_at")),
        &[Owner],
        &[activity.id.as_str()],
    )
    .await;
    rig.list("activity of a file", query("activity", Some(eq("file_id", s)), None), &[], &[]).await;

    // Profiles and usage: oneself, one document at a time.
    rig.get("users", ann.id.as_str(), &[Owner]).await;
    rig.get("users", bob.id.as_str(), &[Reader]).await;
    rig.list("users", query("users", None, None), &[], &[]).await;
    rig.list("users by e-mail", query("users", Some(eq("email", ann.email.as_str())), None), &[], &[]).await;
    rig.get("usage", ann.id.as_str(), &[Owner]).await;
    rig.list("usage", query("usage", None, None), &[], &[]).await;

    // The API's own bookkeeping: nobody.
    rig.get("emails", &email_key, &[]).await;
    rig.list("emails", query("emails", None, None), &[], &[]).await;
    rig.get("file_refs", s, &[]).await;
    let limit = livedrop::ratelimit::Limit { max: 10, window: std::time::Duration::from_secs(300) };
    livedrop::ratelimit::Attempts::begin(&store, &format!("link:{}", link.id), limit, Timestamp::now()).await.unwrap();
    let attempts = sha256_hex(&format!("link:{}", link.id));
    rig.get("attempts", &attempts, &[]).await;
    rig.list("attempts", query("attempts", None, None), &[], &[]).await;
    // Letters waiting to be sent: nobody (they hold invitation links).
    let letter = livedrop::mail::Letter { to: ann.email.clone(), subject: "s".into(), body: "b".into() };
    livedrop::mail::Outbox::enqueue(&store, &letter, Timestamp::now()).await.unwrap();
    let now = Timestamp::now();
    let queued = livedrop::mail::Outbox::due(&store, now, now, 100).await.unwrap();
    let outbox = queued.iter().find(|q| q.letter == letter).expect("the letter is queued").id.clone();
    rig.get("outbox", &outbox, &[]).await;
    rig.list("outbox", query("outbox", None, None), &[], &[]).await;
    // The name index and the upgrade's marker: nobody.
    let name_key = livedrop::domain::sha256_hex(&format!("{}\n\ntrip", ann.id));
    rig.get("names", &name_key, &[]).await;
    rig.list("names", query("names", None, None), &[], &[]).await;
    rig.get("meta", "schema", &[]).await;
    rig.get("anything_else", "x", &[]).await;

    // No client writes anything, anywhere, forged documents included.
    for (collection, id) in [
        ("files", s),
        ("files", b),
        ("links", link.id.as_str()),
        ("invitations", &invitation),
        ("activity", activity.id.as_str()),
        ("users", ann.id.as_str()),
        ("usage", ann.id.as_str()),
        ("emails", &email_key),
        ("file_refs", s),
        ("attempts", &attempts),
        ("outbox", &outbox),
        ("folders", d),
        ("names", &name_key),
    ] {
        rig.no_writes(collection, id).await;
    }
    let intact = store.file(&shared.id).await.unwrap().is_some_and(|f| f.name.as_str() == "shared.txt")
        && store.file(&bobs.id).await.unwrap().is_some()
        && store.links_for_file(&shared.id).await.unwrap().len() == 1
        && store.user_by_email(&ann.email).await.unwrap().is_some();
    if !intact {
        rig.failures.push("a client write changed the data".into());
    }

    // Unsharing Trip takes what is in it from bob at once.
    livedrop::store::FolderSharing::unshare_folder(&store, &folder, Some(&bob.id), &bob.email).await.unwrap();
    rig.get("files", img, &[Owner]).await;
    rig.get("folders", dd, &[Owner]).await;
    rig.list("ready files in day, after unsharing Trip", files_in(dd), &[], &[]).await;
    rig.list("folders in Trip, after unsharing", folders_in(&bob, d), &[Reader], &[]).await;

    // Unsharing takes the file away from the reader at once.
    store.unshare(&shared.id, Some(&bob.id), &bob.email, None, None).await.unwrap();
    rig.get("files", s, &[Owner]).await;
    rig.list("files shared with bob, after unsharing", shared_with(&bob), &[Reader], &[]).await;

    let mut report = String::new();
    for f in &rig.failures {
        writeln!(report, "  {f}").unwrap();
    }
    eprintln!("firestore.rules: {} cells checked, {} wrong", rig.checked, rig.failures.len());
    assert!(rig.failures.is_empty(), "firestore.rules let through or refused the wrong requests:\n{report}");
}
