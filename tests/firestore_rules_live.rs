//! Live data under `firestore.rules`: listeners on the web client's own
//! queries ("my files", "shared with me", "my activity"), opened with each
//! person's unsigned emulator ID token over gRPC (the same Listen stream the
//! browser's `onSnapshot` uses), see the API's writes arrive and leave, and
//! a listener on someone else's files is refused; whoever sees a folder
//! watches an upload into it go, with its progress.
//!
//! The emulator answers each change with a reset and a resend of the whole
//! result, with no remove events (see ENVIRONMENT.md), so the view here is
//! rebuilt between a reset and `CURRENT`, as a client must.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use firestore::gcloud_sdk::google::firestore::v1::listen_response::ResponseType;
use firestore::gcloud_sdk::google::firestore::v1::target_change::TargetChangeType;
use firestore::gcloud_sdk::google::firestore::v1::value::ValueType;
use firestore::{
    FirestoreDb, FirestoreDbOptions, FirestoreListenEvent, FirestoreListener, FirestoreListenerTarget,
    FirestoreMemListenStateStorage, FirestoreQueryDirection, FirestoreQueryOrder,
};
use jiff::Timestamp;
use livedrop::cloud::emulator::FirestoreEmulator;
use livedrop::cloud::firestore::{EmulatorAuth, FirestoreStore};
use livedrop::domain::*;
use livedrop::store::{MetadataStore, pending_file};
use serde_json::json;
use tokio::sync::watch;

const TARGET: u32 = 17;

fn emulator_token(project: &str, user: &User) -> String {
    let now = Timestamp::now().as_second();
    let claims = json!({
        "iss": format!("https://securetoken.google.com/{project}"),
        "aud": project,
        "sub": user.id.as_str(),
        "user_id": user.id.as_str(),
        "email": user.email.as_str(),
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "firebase": { "sign_in_provider": "password" },
    });
    let enc = |v: serde_json::Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap());
    format!("{}.{}.", enc(json!({ "alg": "none", "typ": "JWT" })), enc(claims))
}

/// What a listener has seen: the document ids of its last consistent
/// snapshot, or that the rules refused it.
#[derive(Debug, Clone, PartialEq, Default)]
struct View {
    ids: BTreeSet<String>,
    refused: bool,
    /// Each file's `received`, as last seen (uploads in progress).
    received: BTreeMap<String, i64>,
}

/// One listener on one query, as one person.
struct Live {
    listener: FirestoreListener<FirestoreDb, FirestoreMemListenStateStorage>,
    view: watch::Receiver<View>,
}

#[derive(Clone, Copy)]
enum Query<'a> {
    Mine(&'a str),
    SharedWith(&'a str),
    Activity(&'a str),
    /// The files directly in a folder, uploads in progress too, as
    /// whoever sees the folder asks for them.
    InFolder(&'a str),
}

async fn listen(host: &str, project: &str, who: &User, query: Query<'_>) -> Live {
    let options = FirestoreDbOptions {
        firebase_api_url: Some(format!("http://{host}")),
        ..FirestoreDbOptions::new(project.to_owned())
    };
    let db =
        FirestoreDb::with_options_auth(options, EmulatorAuth::bearer(&emulator_token(project, who))).await.unwrap();
    let mut listener = db.create_listener(FirestoreMemListenStateStorage::new()).await.unwrap();
    let select = db.fluent().select();
    let target = FirestoreListenerTarget::new(TARGET);
    // The web client's queries, filters and order as in cloud/firestore.md.
    let ordered = |field: &str| vec![FirestoreQueryOrder::new(field.to_owned(), FirestoreQueryDirection::Descending)];
    match query {
        Query::Mine(uid) => select
            .from("files")
            .filter(|q| q.for_all([q.field("owner_id").eq(uid), q.field("status").is_in(vec!["pending", "ready"])]))
            .order(|_| ordered("updated_at"))
            .listen()
            .add_target(target, &mut listener),
        Query::SharedWith(uid) => select
            .from("files")
            .filter(|q| q.for_all([q.field("readers").array_contains(uid), q.field("status").eq("ready")]))
            .order(|_| ordered("updated_at"))
            .listen()
            .add_target(target, &mut listener),
        Query::InFolder(parent) => select
            .from("files")
            .filter(|q| q.for_all([q.field("parent").eq(parent), q.field("status").is_in(vec!["pending", "ready"])]))
            .order(|_| ordered("updated_at"))
            .listen()
            .add_target(target, &mut listener),
        Query::Activity(uid) => select
            .from("activity")
            .filter(|q| q.field("owner_id").eq(uid))
            .order(|_| ordered("logged_at"))
            .listen()
            .add_target(target, &mut listener),
    }
    .unwrap();

    let (tx, view) = watch::channel(View::default());
    let building = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let received = Arc::new(Mutex::new(BTreeMap::<String, i64>::new()));
    listener
        .start(move |event: FirestoreListenEvent| {
            let (tx, building, received) = (tx.clone(), building.clone(), received.clone());
            async move {
                let mut ids = building.lock().unwrap();
                let mut received = received.lock().unwrap();
                let ours = |targets: &[i32]| targets.contains(&(TARGET as i32));
                match event {
                    ResponseType::DocumentChange(c) => {
                        let id = c.document.as_ref().and_then(|d| d.name.rsplit('/').next()).unwrap_or("").to_owned();
                        let n = c.document.as_ref().and_then(|d| d.fields.get("received")).and_then(|v| {
                            match v.value_type {
                                Some(ValueType::IntegerValue(n)) => Some(n),
                                _ => None,
                            }
                        });
                        if let Some(n) = n {
                            received.insert(id.clone(), n);
                        }
                        if ours(&c.target_ids) {
                            ids.insert(id);
                        } else if ours(&c.removed_target_ids) {
                            ids.remove(&id);
                        }
                    }
                    ResponseType::DocumentDelete(d) => {
                        ids.remove(d.document.rsplit('/').next().unwrap_or(""));
                    }
                    ResponseType::DocumentRemove(d) => {
                        ids.remove(d.document.rsplit('/').next().unwrap_or(""));
                    }
                    ResponseType::TargetChange(t) => match TargetChangeType::try_from(t.target_change_type) {
                        Ok(TargetChangeType::Reset) => ids.clear(),
                        Ok(TargetChangeType::Current) => {
                            tx.send_replace(View { ids: ids.clone(), refused: false, received: received.clone() });
                        }
                        // A global NO_CHANGE with a read time marks a
                        // consistent snapshot after later changes.
                        Ok(TargetChangeType::NoChange)
                            if t.target_ids.is_empty() && t.read_time.is_some() && !tx.borrow().refused =>
                        {
                            tx.send_replace(View { ids: ids.clone(), refused: false, received: received.clone() });
                        }
                        Ok(TargetChangeType::Remove) if t.cause.is_some() => {
                            tx.send_replace(View { refused: true, ..View::default() });
                        }
                        _ => {}
                    },
                    ResponseType::Filter(_) => {}
                }
                Ok(())
            }
        })
        .await
        .unwrap();
    Live { listener, view }
}

impl Live {
    /// Waits until the listener's view is `want`, or fails saying what it saw.
    async fn sees(&mut self, what: &str, want: &[&str]) {
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        self.wait(what, |v| !v.refused && v.ids == want).await;
    }

    /// Waits until the listener has `id` with `received` bytes.
    async fn sees_received(&mut self, what: &str, id: &str, received: i64) {
        self.wait(what, |v| v.ids.contains(id) && v.received.get(id) == Some(&received)).await;
    }

    async fn refused(&mut self, what: &str) {
        self.wait(what, |v| v.refused && v.ids.is_empty()).await;
    }

    async fn wait(&mut self, what: &str, want: impl Fn(&View) -> bool) {
        let seen = tokio::time::timeout(Duration::from_secs(10), self.view.wait_for(want)).await.is_ok();
        if !seen {
            panic!("{what}: the listener has {:?}", *self.view.borrow());
        }
    }

    async fn stop(mut self) {
        self.listener.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listeners_see_what_the_rules_allow_as_it_changes() {
    let emulator = FirestoreEmulator::from_env_or_start().await.expect("a Firestore emulator");
    let host = emulator.host().to_owned();
    let project = format!("demo-livedrop-live-{}", &sha256_hex(&random_token(16))[..10]);
    let rules = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/firestore.rules")).unwrap();
    let loaded = reqwest::Client::new()
        .put(format!("http://{host}/emulator/v1/projects/{project}:securityRules"))
        .json(&json!({ "rules": { "files": [{ "name": "firestore.rules", "content": rules }] } }))
        .send()
        .await
        .unwrap();
    assert!(loaded.status().is_success(), "loading firestore.rules: {}", loaded.status());

    let store = FirestoreStore::connect_emulator(&project, &host).await.unwrap();
    let person =
        |name: &str| User { id: UserId::generate(), email: Email::parse(&format!("{name}@example.com")).unwrap() };
    let (ann, bob, eve) = (person("ann"), person("bob"), person("eve"));
    for u in [&ann, &bob, &eve] {
        store.create_user(u).await.unwrap();
    }
    let now = || Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap();

    let mut anns_files = listen(&host, &project, &ann, Query::Mine(ann.id.as_str())).await;
    let mut anns_activity = listen(&host, &project, &ann, Query::Activity(ann.id.as_str())).await;
    let mut bobs_shared = listen(&host, &project, &bob, Query::SharedWith(bob.id.as_str())).await;
    let mut eve_snooping = listen(&host, &project, &eve, Query::Mine(ann.id.as_str())).await;
    anns_files.sees("ann's files, at first", &[]).await;
    bobs_shared.sees("shared with bob, at first", &[]).await;
    eve_snooping.refused("eve listening to ann's files").await;

    // An upload appears to its owner while it uploads, and stays once ready.
    let f = pending_file(
        &ann,
        FileName::parse("live.txt").unwrap(),
        4,
        ContentType::parse(None).unwrap(),
        Crc32c(9),
        now(),
    );
    store.insert_pending_file(&f, u64::MAX).await.unwrap();
    anns_files.sees("ann's files while an upload goes", &[f.id.as_str()]).await;
    store.mark_ready(&f, now(), None, None).await.unwrap();
    anns_files.sees_received("ann's files after an upload", f.id.as_str(), 4).await;

    // Sharing puts it in bob's list; unsharing takes it out again.
    store.add_share(&f.id, &bob.id, now(), None, None).await.unwrap();
    bobs_shared.sees("shared with bob after the share", &[f.id.as_str()]).await;
    store.unshare(&f.id, Some(&bob.id), &bob.email, None, None).await.unwrap();
    bobs_shared.sees("shared with bob after the unshare", &[]).await;

    // Activity arrives live for the owner.
    let a = Activity {
        id: ActivityId::generate(),
        owner_id: ann.id.clone(),
        file_id: Some(f.id.clone()),
        folder_id: None,
        file_name: "live.txt".into(),
        kind: ActivityKind::Downloaded,
        actor_id: None,
        actor_email: None,
        link_id: None,
        detail: None,
        at: now(),
    };
    store.append_activity(&a).await.unwrap();
    anns_activity.sees("ann's activity after a download", &[a.id.as_str()]).await;

    // Deleting removes it from every list it was in.
    store.add_share(&f.id, &bob.id, now(), None, None).await.unwrap();
    bobs_shared.sees("shared with bob, shared again", &[f.id.as_str()]).await;
    store.delete_file(&f.id, None, None).await.unwrap();
    anns_files.sees("ann's files after the delete", &[]).await;
    bobs_shared.sees("shared with bob after the delete", &[]).await;

    // A folder shared with bob: he watches an upload into it go, its
    // progress, then ready; eve, asking the same, is refused.
    let trip = Folder {
        id: FolderId::generate(),
        owner_id: ann.id.clone(),
        owner_email: ann.email.clone(),
        name: FileName::parse("Trip").unwrap(),
        parent: None,
        created_at: now(),
        updated_at: now(),
    };
    livedrop::store::FolderStore::create_folder(&store, &trip).await.unwrap();
    livedrop::store::FolderSharing::share_folder(&store, &trip, &bob.id, now()).await.unwrap();
    let mut bobs_trip = listen(&host, &project, &bob, Query::InFolder(trip.id.as_str())).await;
    let mut eves_trip = listen(&host, &project, &eve, Query::InFolder(trip.id.as_str())).await;
    bobs_trip.sees("Trip as bob, at first", &[]).await;
    eves_trip.refused("Trip as eve").await;
    let up = FileRecord {
        folder_id: Some(trip.id.clone()),
        ..pending_file(
            &ann,
            FileName::parse("big.bin").unwrap(),
            100,
            ContentType::parse(None).unwrap(),
            Crc32c(1),
            now(),
        )
    };
    store.insert_pending_file(&up, u64::MAX).await.unwrap();
    bobs_trip.sees_received("Trip as bob, an upload begun", up.id.as_str(), 0).await;
    store.raise_received(&up.id, 40).await.unwrap();
    bobs_trip.sees_received("Trip as bob, the upload at 40%", up.id.as_str(), 40).await;
    store.mark_ready(&up, now(), None, None).await.unwrap();
    bobs_trip.sees_received("Trip as bob, the upload done", up.id.as_str(), 100).await;
    store.delete_file(&up.id, None, None).await.unwrap();
    bobs_trip.sees("Trip as bob, the file deleted", &[]).await;

    for live in [anns_files, anns_activity, bobs_shared, eve_snooping, bobs_trip, eves_trip] {
        live.stop().await;
    }
}
