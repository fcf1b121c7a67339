//! The metadata contract against Cloud Firestore, on the real emulator.
//!
//! Uses the emulator named by `FIRESTORE_EMULATOR_HOST` (CI runs
//! `scripts/emulators.sh start` first), or starts a private one when the
//! variable is not set; fails with what to run when neither works. Each run
//! uses a fresh project id, so runs sharing an emulator never see each
//! other's documents.

mod contract {
    pub mod folders;
    pub mod store;
}

use std::future::Future;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use livedrop::cloud::emulator::FirestoreEmulator;
use livedrop::cloud::firestore::FirestoreStore;
use livedrop::domain::*;
use livedrop::error::{Error, LinkRefusal};
use livedrop::store::{FileQuery, FolderSharing, FolderStore, MetadataStore, Scope, SortKey, Within, pending_file};

fn fresh_project() -> String {
    format!("demo-livedrop-{}", &sha256_hex(&random_token(16))[..12])
}

async fn store(emulator: &FirestoreEmulator) -> Arc<FirestoreStore> {
    Arc::new(FirestoreStore::connect_emulator(&fresh_project(), emulator.host()).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firestore_keeps_the_metadata_contract_within_its_round_trip_budget() {
    let emulator = FirestoreEmulator::from_env_or_start().await.expect("a Firestore emulator");

    contract::store::run(store(&emulator).await).await;
    contract::folders::run(store(&emulator).await).await;

    eprintln!("firestore: racing uploads cannot overrun the quota together");
    racing_uploads_respect_the_quota(store(&emulator).await).await;
    eprintln!("firestore: claimed invitations skip deleted files");
    deleted_files_are_not_claimed(store(&emulator).await).await;
    eprintln!("firestore: links and shares made inside a tree while it moves stay known");
    a_moving_tree_keeps_what_is_made_inside_it(store(&emulator).await).await;
    eprintln!("firestore: round trips per operation");
    round_trips(store(&emulator).await).await;
}

/// The key's happy path needs Google (the channel opens at connect); what
/// can be checked here is that a bad key fails at start, naming the variable.
#[tokio::test]
async fn a_bad_service_account_key_is_refused_naming_its_variable() {
    for bad in ["not json", "{\"type\": \"authorized_user\"}"] {
        let err = FirestoreStore::connect_with_key("demo-livedrop", Some(bad)).await.err().expect("refused");
        let Error::Internal(cause) = err else { panic!("{err:?}") };
        assert!(cause.to_string().contains("LIVEDROP_SERVICE_ACCOUNT_JSON"), "{cause}");
    }
}

fn now() -> Timestamp {
    Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap()
}

fn person() -> User {
    let id = UserId::generate();
    User { id: id.clone(), email: Email::parse(&format!("{id}@example.com")).unwrap() }
}

fn pending(owner: &User, size: u64) -> FileRecord {
    pending_file(owner, FileName::parse("f.bin").unwrap(), size, ContentType::parse(None).unwrap(), Crc32c(1), now())
}

async fn racing_uploads_respect_the_quota(s: Arc<FirestoreStore>) {
    let ann = person();
    s.create_user(&ann).await.unwrap();
    let (a, b) = (pending(&ann, 60), pending(&ann, 60));
    let (ra, rb) = tokio::join!(s.insert_pending_file(&a, 100), s.insert_pending_file(&b, 100));
    let oks = [ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count();
    assert_eq!(oks, 1, "exactly one of two 60-byte uploads fits a 100-byte quota: {ra:?} {rb:?}");
    assert!(matches!(ra.err().or(rb.err()), Some(Error::QuotaExceeded { used: 60, .. })));
    assert_eq!(s.usage(&ann.id).await.unwrap(), 60);
    let kept = if s.file(&a.id).await.unwrap().is_some() { a } else { b };
    s.delete_file(&kept.id, None, None).await.unwrap();
    assert_eq!(s.usage(&ann.id).await.unwrap(), 0, "deleting gives the bytes back");
}

async fn deleted_files_are_not_claimed(s: Arc<FirestoreStore>) {
    let ann = person();
    s.create_user(&ann).await.unwrap();
    let f = pending(&ann, 1);
    s.insert_pending_file(&f, u64::MAX).await.unwrap();
    let g = pending(&ann, 1);
    s.insert_pending_file(&g, u64::MAX).await.unwrap();
    let later = person();
    s.add_invitation(&f.id, &later.email, now(), None, None).await.unwrap();
    s.add_invitation(&g.id, &later.email, now(), None, None).await.unwrap();
    s.delete_file(&g.id, None, None).await.unwrap();
    s.create_user(&later).await.unwrap();
    assert_eq!(s.claim_invitations(&later, now()).await.unwrap(), vec![f.id.clone()]);
    assert_eq!(s.file(&f.id).await.unwrap().map(|_| ()), Some(()));
    assert_eq!(s.readers(&f.id).await.unwrap(), vec![later]);
}

fn new_folder(owner: &User, parent: Option<&Folder>, name: &str) -> Folder {
    let at = now();
    Folder {
        id: FolderId::generate(),
        owner_id: owner.id.clone(),
        owner_email: owner.email.clone(),
        name: FileName::parse(name).unwrap(),
        parent: parent.map(|p| p.id.clone()),
        created_at: at,
        updated_at: at,
    }
}

/// A folder moved back and forth, and unshared from someone, while links to
/// a folder inside it are made and that folder is shared: a move or an
/// unshare rewrites the folders below it, and once
/// rewrote them whole from what it had read before, dropping what was made
/// meanwhile. Now every link is still known to its folder (so deleting the
/// tree deletes it) and the share still shows the folder to its recipient.
async fn a_moving_tree_keeps_what_is_made_inside_it(s: Arc<FirestoreStore>) {
    let ann = person();
    let bob = person();
    s.create_user(&ann).await.unwrap();
    s.create_user(&bob).await.unwrap();
    let (a, b) = (new_folder(&ann, None, "A"), new_folder(&ann, None, "B"));
    let trip = new_folder(&ann, Some(&a), "Trip");
    let day = new_folder(&ann, Some(&trip), "day 1");
    for f in [&a, &b, &trip, &day] {
        s.create_folder(f).await.unwrap();
    }
    let cat = person();
    s.create_user(&cat).await.unwrap();
    assert!(s.share_folder(&trip, &cat.id, now()).await.unwrap());
    let moves = async {
        let mut current = s.folder(&trip.id).await.unwrap().unwrap();
        for i in 0..8 {
            let to = if i % 2 == 0 { &b } else { &a };
            current = s.place_folder(&current, &current.name.clone(), Some(&to.id), now()).await.unwrap();
        }
    };
    let made = async {
        let mut ids = vec![];
        for i in 0..12 {
            let link = Link {
                id: LinkId::generate(),
                target: LinkTarget::Folder(day.id.clone()),
                owner_id: ann.id.clone(),
                token_hash: sha256_hex(&random_token(32)),
                password_hash: None,
                expires_at: None,
                max_downloads: None,
                downloads: 0,
                revoked: false,
                created_at: now(),
            };
            s.insert_link(&link, None).await.unwrap();
            ids.push(link.id);
            if i == 5 {
                assert!(s.share_folder(&day, &bob.id, now()).await.unwrap());
            }
        }
        ids
    };
    // And the whole tree is unshared from someone else meanwhile, which
    // rewrites the viewers below it as well.
    let unshares = async {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        assert_eq!(s.unshare_folder(&trip, Some(&cat.id), &cat.email).await.unwrap(), Some(true));
    };
    let ((), links, ()) = tokio::join!(moves, made, unshares);
    assert!(s.viewers(&day.id).await.unwrap().contains(&bob.id), "the share still shows the folder");
    for f in [&trip, &day] {
        assert!(!s.viewers(&f.id).await.unwrap().contains(&cat.id), "the unshare took {} from cat", f.name.as_str());
    }
    assert_eq!(s.links_for_folder(&day.id).await.unwrap().len(), links.len());
    let trip = s.folder(&trip.id).await.unwrap().unwrap();
    assert!(s.delete_folder(&trip).await.unwrap().is_some());
    for id in &links {
        assert!(s.link(id).await.unwrap().is_none(), "deleting the tree deleted link {id}");
    }
}

/// Runs `op` and returns how many Firestore round trips it made.
async fn trips<T>(
    s: &FirestoreStore,
    table: &mut Vec<(&'static str, u64, u64)>,
    name: &'static str,
    budget: u64,
    op: impl Future<Output = T>,
) -> T {
    let before = s.round_trips();
    let out = op.await;
    table.push((name, s.round_trips() - before, budget));
    out
}

/// Issue 6 measures Firestore round trips: at most 2 per read, 3 per write.
async fn round_trips(s: Arc<FirestoreStore>) {
    let mut t = Vec::new();
    let (ann, bob) = (person(), person());
    trips(&s, &mut t, "create_user", 3, s.create_user(&ann)).await.unwrap();
    s.create_user(&bob).await.unwrap();
    trips(&s, &mut t, "upsert_user", 3, s.upsert_user(&ann)).await.unwrap();
    trips(&s, &mut t, "user_by_id", 2, s.user_by_id(&ann.id)).await.unwrap();
    trips(&s, &mut t, "user_by_email", 2, s.user_by_email(&ann.email)).await.unwrap();
    let f = pending(&ann, 10);
    trips(&s, &mut t, "insert_pending_file", 3, s.insert_pending_file(&f, 1000)).await.unwrap();
    trips(&s, &mut t, "insert_pending_file (over quota)", 3, s.insert_pending_file(&pending(&ann, 1000), 1000))
        .await
        .unwrap_err();
    trips(&s, &mut t, "file", 2, s.file(&f.id)).await.unwrap();
    trips(&s, &mut t, "raise_received", 1, s.raise_received(&f.id, 5)).await.unwrap();
    trips(&s, &mut t, "mark_ready", 3, s.mark_ready(&f, now(), None, None)).await.unwrap();
    trips(&s, &mut t, "place_file", 3, s.place_file(&f, &FileName::parse("g.bin").unwrap(), None, now(), None))
        .await
        .unwrap();
    let q = FileQuery {
        user: ann.id.clone(),
        scope: Scope::Mine,
        within: Within::Anywhere,
        uploading: false,
        sort: SortKey::Updated,
        descending: true,
        offset: 0,
        limit: 50,
    };
    trips(&s, &mut t, "list_files (mine)", 2, s.list_files(&q)).await.unwrap();
    let shared = FileQuery { user: bob.id.clone(), scope: Scope::SharedWithMe, ..q.clone() };
    trips(&s, &mut t, "usage", 2, s.usage(&ann.id)).await.unwrap();
    trips(&s, &mut t, "pending_before", 2, s.pending_before(now(), 10)).await.unwrap();
    trips(&s, &mut t, "add_share", 3, s.add_share(&f.id, &bob.id, now(), None, None)).await.unwrap();
    trips(&s, &mut t, "list_files (shared with me)", 2, s.list_files(&shared)).await.unwrap();
    trips(&s, &mut t, "readers", 2, s.readers(&f.id)).await.unwrap();
    trips(&s, &mut t, "unshare (a person)", 2, s.unshare(&f.id, Some(&bob.id), &bob.email, None, None)).await.unwrap();
    let carl = person();
    trips(&s, &mut t, "add_invitation", 3, s.add_invitation(&f.id, &carl.email, now(), None, None)).await.unwrap();
    trips(&s, &mut t, "invitations", 2, s.invitations(&f.id)).await.unwrap();
    trips(&s, &mut t, "unshare (an invitation)", 2, s.unshare(&f.id, None, &carl.email, None, None)).await.unwrap();
    s.add_invitation(&f.id, &carl.email, now(), None, None).await.unwrap();
    s.create_user(&carl).await.unwrap();
    trips(&s, &mut t, "claim_invitations", 3, s.claim_invitations(&carl, now())).await.unwrap();
    let link = Link {
        id: LinkId::generate(),
        target: LinkTarget::File(f.id.clone()),
        owner_id: ann.id.clone(),
        token_hash: sha256_hex(&random_token(32)),
        password_hash: None,
        expires_at: Some(now() + SignedDuration::from_secs(3600)),
        max_downloads: Some(5),
        downloads: 0,
        revoked: false,
        created_at: now(),
    };
    trips(&s, &mut t, "insert_link", 3, s.insert_link(&link, None)).await.unwrap();
    trips(&s, &mut t, "link", 2, s.link(&link.id)).await.unwrap();
    trips(&s, &mut t, "link_by_token_hash", 2, s.link_by_token_hash(&link.token_hash)).await.unwrap();
    trips(&s, &mut t, "links_for_file", 2, s.links_for_file(&f.id)).await.unwrap();
    s.add_share(&f.id, &bob.id, now(), None, None).await.unwrap();
    trips(&s, &mut t, "file_and_readers", 1, s.file_and_readers(&f.id)).await.unwrap();
    let (_, sharing) = trips(&s, &mut t, "file_with_sharing", 2, s.file_with_sharing(&f.id)).await.unwrap().unwrap();
    assert_eq!((sharing.readers.len(), sharing.invitations.len(), sharing.links.len()), (2, 0, 1), "bob, carl");
    s.unshare(&f.id, Some(&bob.id), &bob.email, None, None).await.unwrap();
    let counted = trips(&s, &mut t, "count_link_download", 2, s.count_link_download(&link, now(), None)).await.unwrap();
    assert_eq!(counted.map(|(l, _)| l.downloads), Ok(1));
    trips(&s, &mut t, "revoke_link", 3, s.revoke_link(&link, None)).await.unwrap();
    let refused =
        trips(&s, &mut t, "count_link_download (refused)", 3, s.count_link_download(&link, now(), None)).await;
    assert_eq!(refused.unwrap().map(|_| ()), Err(LinkRefusal::NotAvailable));
    let a = Activity {
        id: ActivityId::generate(),
        owner_id: ann.id.clone(),
        file_id: Some(f.id.clone()),
        folder_id: None,
        file_name: "g.bin".into(),
        kind: ActivityKind::Uploaded,
        actor_id: Some(ann.id.clone()),
        actor_email: Some(ann.email.clone()),
        link_id: None,
        detail: None,
        at: now(),
    };
    trips(&s, &mut t, "append_activity", 3, s.append_activity(&a)).await.unwrap();
    // A change takes its activity record into its own commit: no extra
    // trip (a rename's three are the file, the name's holder, the commit).
    let renamed = Activity { id: ActivityId::generate(), kind: ActivityKind::Renamed, ..a.clone() };
    let name = FileName::parse("h.bin").unwrap();
    let renamed: livedrop::store::FileActivity = Box::new(move |_| renamed.clone());
    trips(&s, &mut t, "place_file (with its activity)", 3, s.place_file(&f, &name, None, now(), Some(renamed)))
        .await
        .unwrap();
    trips(&s, &mut t, "activity", 2, s.activity(&ann.id, None, 50)).await.unwrap();
    trips(&s, &mut t, "activity (one file)", 2, s.activity(&ann.id, Some(&f.id), 50)).await.unwrap();
    s.add_share(&f.id, &bob.id, now(), None, None).await.unwrap();
    trips(&s, &mut t, "delete_file", 3, s.delete_file(&f.id, None, None)).await.unwrap();

    eprintln!("{:<34} {:>11} {:>7}", "operation", "round trips", "budget");
    for (name, n, budget) in &t {
        eprintln!("{name:<34} {n:>11} {budget:>7}");
    }
    let over: Vec<_> = t.iter().filter(|(_, n, budget)| n > budget).collect();
    assert!(over.is_empty(), "over the round-trip budget: {over:?}");
}
