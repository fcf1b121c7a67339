//! The contract every `MetadataStore` must keep. Each backend's test file
//! includes this module and runs `all()` against a fresh store:
//! `tests/store_sqlite.rs` always, the Firestore one against the emulator.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use livedrop::domain::*;
use livedrop::error::{Error, LinkRefusal};
use livedrop::store::{
    FileActivity, FileGuard, FileQuery, Linked, MetadataStore, Scope, Sharing, SortKey, Unshared, Within, pending_file,
};

type Case = fn(Arc<dyn MetadataStore>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Every case, by name, so a failure says which.
pub fn all() -> Vec<(&'static str, Case)> {
    vec![
        ("people are found by id and by e-mail, one account per address", |s| Box::pin(people(s))),
        ("quota counts pending and ready files", |s| Box::pin(quota(s))),
        ("only pending files become ready", |s| Box::pin(ready_once(s))),
        ("lists show ready files, sorted and paginated", |s| Box::pin(lists(s))),
        ("an upload in progress is listed on request, with how far it is", |s| Box::pin(uploads_in_progress(s))),
        ("shares and invitations", |s| Box::pin(shares(s))),
        ("a file is read with its readers, or with all its sharing", |s| Box::pin(file_with_sharing(s))),
        ("deleting a file takes its shares, invitations and links", |s| Box::pin(delete_cascades(s))),
        ("a limit-1 link counts exactly one of two racing downloads", |s| Box::pin(link_race(s))),
        ("links refuse when revoked, expired or exhausted", |s| Box::pin(link_refusals(s))),
        ("activity is newest first, per owner and per file", |s| Box::pin(activity(s))),
        ("a change writes its activity record with it, and only if it happens", |s| Box::pin(activity_with_changes(s))),
        ("the sweeper finds old pending files", |s| Box::pin(pending_before(s))),
    ]
}

pub async fn run(store: Arc<dyn MetadataStore>) {
    for (name, case) in all() {
        eprintln!("contract: {name}");
        case(store.clone()).await;
    }
}

fn now() -> Timestamp {
    Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap()
}

async fn person(s: &Arc<dyn MetadataStore>) -> User {
    let id = UserId::generate();
    let u = User { id: id.clone(), email: Email::parse(&format!("{id}@example.com").to_lowercase()).unwrap() };
    s.create_user(&u).await.unwrap();
    u
}

async fn file(s: &Arc<dyn MetadataStore>, owner: &User, name: &str, size: u64, ready: bool) -> FileRecord {
    let f = pending_file(
        owner,
        FileName::parse(name).unwrap(),
        size,
        ContentType::parse(Some("text/plain")).unwrap(),
        Crc32c(7),
        now(),
    );
    s.insert_pending_file(&f, u64::MAX).await.unwrap();
    if ready { s.mark_ready(&f, now(), None, None).await.unwrap().file } else { f }
}

fn link_for(f: &FileRecord, max: Option<u64>, expires: Option<Timestamp>) -> Link {
    Link {
        id: LinkId::generate(),
        target: LinkTarget::File(f.id.clone()),
        owner_id: f.owner_id.clone(),
        token_hash: sha256_hex(&random_token(32)),
        password_hash: None,
        expires_at: expires,
        max_downloads: max,
        downloads: 0,
        revoked: false,
        created_at: now(),
    }
}

fn linked_file(o: &Linked) -> &FileRecord {
    match o {
        Linked::File(f) => f,
        Linked::Folder(d) => panic!("a file link opened folder {d:?}"),
    }
}

async fn people(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    assert_eq!(s.user_by_id(&ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(s.user_by_email(&ann.email).await.unwrap(), Some(ann.clone()));
    let twin = User { id: UserId::generate(), email: ann.email.clone() };
    assert!(matches!(s.create_user(&twin).await, Err(Error::EmailTaken)));
    assert_eq!(s.user_by_id(&UserId::generate()).await.unwrap(), None);

    // An identity provider moved the address to a new account: it follows.
    s.upsert_user(&twin).await.unwrap();
    assert_eq!(s.user_by_email(&ann.email).await.unwrap(), Some(twin.clone()));
    let old = s.user_by_id(&ann.id).await.unwrap().unwrap();
    assert_eq!(old.email, Email::moved_away(&ann.id));
    // The old profile changing again leaves the new holder alone.
    let elsewhere = Email::parse(&format!("{}-new@example.com", ann.id).to_lowercase()).unwrap();
    s.upsert_user(&User { id: ann.id.clone(), email: elsewhere.clone() }).await.unwrap();
    assert_eq!(s.user_by_email(&ann.email).await.unwrap(), Some(twin));
    assert_eq!(s.user_by_email(&elsewhere).await.unwrap().unwrap().id, ann.id);
}

async fn quota(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let at = now();
    let mk = |size| {
        pending_file(&ann, FileName::parse("q").unwrap(), size, ContentType::parse(None).unwrap(), Crc32c(0), at)
    };
    s.insert_pending_file(&mk(60), 100).await.unwrap();
    let err = s.insert_pending_file(&mk(41), 100).await.unwrap_err();
    assert!(matches!(err, Error::QuotaExceeded { used: 60, quota: 100, size: 41 }), "{err:?}");
    s.insert_pending_file(&mk(40), 100).await.unwrap();
    assert_eq!(s.usage(&ann.id).await.unwrap(), 100);
}

async fn ready_once(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let f = file(&s, &ann, "r.txt", 5, false).await;
    let stored = s.file(&f.id).await.unwrap().unwrap();
    assert_eq!(stored, f, "a record reads back exactly as written");
    let ready = s.mark_ready(&f, now(), Some(1_700_000_000_123_456), None).await.unwrap().file;
    assert_eq!(ready.status, FileStatus::Ready);
    assert_eq!(ready.generation, Some(1_700_000_000_123_456), "the verified generation is kept");
    assert_eq!(s.file(&f.id).await.unwrap().unwrap(), ready, "and reads back");
    assert!(matches!(s.mark_ready(&f, now(), None, None).await, Err(Error::NotPending)));
    assert!(matches!(
        s.mark_ready(&FileRecord { id: FileId::generate(), ..f.clone() }, now(), None, None).await,
        Err(Error::NotFound { .. })
    ));
}

async fn lists(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let bob = person(&s).await;
    for (i, name) in ["b", "A", "c"].iter().enumerate() {
        file(&s, &ann, name, 10 - i as u64, true).await;
    }
    file(&s, &ann, "pending", 1, false).await;
    let q = |sort, descending, offset, limit| FileQuery {
        user: ann.id.clone(),
        scope: Scope::Mine,
        within: Within::Anywhere,
        uploading: false,
        sort,
        descending,
        offset,
        limit,
    };
    let names =
        |p: &livedrop::store::Page<FileRecord>| p.items.iter().map(|f| f.name.as_str().to_owned()).collect::<Vec<_>>();
    let by_name = s.list_files(&q(SortKey::Name, false, 0, 10)).await.unwrap();
    assert_eq!(names(&by_name), ["A", "b", "c"], "case-insensitive, pending left out");
    assert_eq!(by_name.next_offset, None);
    let by_size = s.list_files(&q(SortKey::Size, true, 0, 2)).await.unwrap();
    assert_eq!(names(&by_size), ["b", "A"]);
    assert_eq!(by_size.next_offset, Some(2));
    let rest = s.list_files(&q(SortKey::Size, true, 2, 2)).await.unwrap();
    assert_eq!(names(&rest), ["c"]);
    let shared = FileQuery { user: bob.id.clone(), scope: Scope::SharedWithMe, ..q(SortKey::Name, false, 0, 10) };
    assert!(s.list_files(&shared).await.unwrap().items.is_empty());
}

async fn uploads_in_progress(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let done = file(&s, &ann, "done.txt", 10, true).await;
    let going = file(&s, &ann, "going.bin", 100, false).await;
    assert_eq!(going.received, 0);
    assert_eq!(done.received, 10, "a ready file has all of it");

    s.raise_received(&going.id, 40).await.unwrap();
    assert_eq!(s.file(&going.id).await.unwrap().unwrap().received, 40);
    s.raise_received(&going.id, 25).await.unwrap();
    assert_eq!(s.file(&going.id).await.unwrap().unwrap().received, 40, "a late, smaller report lowers nothing");
    assert!(matches!(s.raise_received(&FileId::generate(), 1).await, Err(Error::NotFound { .. })));

    let q = |uploading| FileQuery {
        user: ann.id.clone(),
        scope: Scope::Mine,
        within: Within::Top,
        uploading,
        sort: SortKey::Name,
        descending: false,
        offset: 0,
        limit: 10,
    };
    let ids =
        |p: livedrop::store::Page<FileRecord>| p.items.into_iter().map(|f| (f.id, f.received)).collect::<Vec<_>>();
    assert_eq!(ids(s.list_files(&q(false)).await.unwrap()), [(done.id.clone(), 10)]);
    assert_eq!(
        ids(s.list_files(&q(true)).await.unwrap()),
        [(done.id.clone(), 10), (going.id.clone(), 40)],
        "uploads in progress too, in the same order, with how far they are"
    );

    let ready = s.mark_ready(&going, now(), None, None).await.unwrap().file;
    assert_eq!(ready.received, 100);
    s.raise_received(&going.id, 50).await.unwrap();
    assert_eq!(s.file(&going.id).await.unwrap().unwrap().received, 100, "a report after completion changes nothing");
}

async fn shares(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let bob = person(&s).await;
    let f = file(&s, &ann, "s.txt", 1, true).await;
    assert!(s.add_share(&f.id, &bob.id, now(), None, None).await.unwrap().is_some());
    assert!(s.add_share(&f.id, &bob.id, now(), None, None).await.unwrap().is_none(), "sharing twice is one share");
    assert_eq!(s.readers(&f.id).await.unwrap(), vec![bob.clone()]);
    let q = FileQuery {
        user: bob.id.clone(),
        scope: Scope::SharedWithMe,
        within: Within::Anywhere,
        uploading: false,
        sort: SortKey::Name,
        descending: false,
        offset: 0,
        limit: 10,
    };
    assert_eq!(s.list_files(&q).await.unwrap().items.len(), 1);
    let taken = s.unshare(&f.id, Some(&bob.id), &bob.email, None, None).await.unwrap();
    assert_eq!(taken, Some(Unshared { file: f.clone(), reader: true }));
    assert_eq!(s.unshare(&f.id, Some(&bob.id), &bob.email, None, None).await.unwrap(), None, "once");
    assert!(s.list_files(&q).await.unwrap().items.is_empty());

    let later = Email::parse(&format!("{}@example.com", UserId::generate()).to_lowercase()).unwrap();
    assert!(s.add_invitation(&f.id, &later, now(), None, None).await.unwrap().is_some());
    assert!(s.add_invitation(&f.id, &later, now(), None, None).await.unwrap().is_none());
    assert_eq!(s.invitations(&f.id).await.unwrap(), vec![later.clone()]);
    let newcomer = User { id: UserId::generate(), email: later.clone() };
    s.create_user(&newcomer).await.unwrap();
    assert_eq!(s.claim_invitations(&newcomer, now()).await.unwrap(), vec![f.id.clone()]);
    assert!(s.invitations(&f.id).await.unwrap().is_empty());
    assert_eq!(s.readers(&f.id).await.unwrap(), vec![newcomer.clone()]);
    assert!(s.claim_invitations(&newcomer, now()).await.unwrap().is_empty(), "claimed once");

    // A share and a stale invitation of the same person go together.
    s.add_invitation(&f.id, &newcomer.email, now(), None, None).await.unwrap();
    let taken = s.unshare(&f.id, Some(&newcomer.id), &newcomer.email, None, None).await.unwrap().unwrap();
    assert!(taken.reader);
    assert!(s.invitations(&f.id).await.unwrap().is_empty() && s.readers(&f.id).await.unwrap().is_empty());
    let gone = FileId::generate();
    assert!(matches!(s.unshare(&gone, None, &later, None, None).await, Err(Error::NotFound { .. })));
}

async fn file_with_sharing(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let (bob, cy) = (person(&s).await, person(&s).await);
    let f = file(&s, &ann, "s.txt", 1, true).await;
    assert_eq!(s.file_and_readers(&f.id).await.unwrap(), Some((f.clone(), vec![])));
    let (_, nothing) = s.file_with_sharing(&f.id).await.unwrap().unwrap();
    assert_eq!(nothing, Sharing::default());

    for u in [&cy, &bob] {
        s.add_share(&f.id, &u.id, now(), None, None).await.unwrap();
    }
    let (zed, amy) =
        (Email::parse("zed-sharing@example.com").unwrap(), Email::parse("amy-sharing@example.com").unwrap());
    for e in [&zed, &amy] {
        s.add_invitation(&f.id, e, now(), None, None).await.unwrap();
    }
    let (l1, l2) = (link_for(&f, None, None), link_for(&f, Some(3), None));
    s.insert_link(&l1, None).await.unwrap();
    s.insert_link(&l2, None).await.unwrap();

    let (file, mut readers) = s.file_and_readers(&f.id).await.unwrap().unwrap();
    readers.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut expected = vec![bob.id.clone(), cy.id.clone()];
    expected.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!((file, readers), (f.clone(), expected));

    let (file, sharing) = s.file_with_sharing(&f.id).await.unwrap().unwrap();
    assert_eq!(file, f);
    // The same as the three separate reads, sorted the same way.
    assert_eq!(sharing.readers, s.readers(&f.id).await.unwrap());
    assert_eq!(sharing.invitations, s.invitations(&f.id).await.unwrap());
    assert_eq!(sharing.invitations, vec![amy, zed]);
    assert_eq!(sharing.links, s.links_for_file(&f.id).await.unwrap());
    assert_eq!(sharing.links.iter().map(|l| &l.id).collect::<Vec<_>>().len(), 2);

    let gone = FileId::generate();
    assert_eq!(s.file_and_readers(&gone).await.unwrap(), None);
    assert!(s.file_with_sharing(&gone).await.unwrap().is_none());
}

async fn delete_cascades(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let bob = person(&s).await;
    let f = file(&s, &ann, "d.txt", 1, true).await;
    s.add_share(&f.id, &bob.id, now(), None, None).await.unwrap();
    let nobody = Email::parse("nobody-yet@example.com").unwrap();
    s.add_invitation(&f.id, &nobody, now(), None, None).await.unwrap();
    let link = link_for(&f, None, None);
    s.insert_link(&link, None).await.unwrap();
    // A guard that refuses, as the transaction reads the file, deletes nothing.
    let refuse: livedrop::store::FileGuard = Box::new(|f| {
        if f.status == livedrop::domain::FileStatus::Pending { Ok(()) } else { Err(livedrop::Error::NotPending) }
    });
    assert!(matches!(s.delete_file(&f.id, Some(refuse), None).await, Err(livedrop::Error::NotPending)));
    assert!(s.file(&f.id).await.unwrap().is_some(), "a refused delete keeps the file");
    assert_eq!(s.readers(&f.id).await.unwrap().len(), 1);
    let (deleted, readers) = s.delete_file(&f.id, None, None).await.unwrap().unwrap();
    assert_eq!(deleted.id, f.id);
    assert_eq!(readers, vec![bob.id.clone()]);
    assert_eq!(s.file(&f.id).await.unwrap(), None);
    assert!(s.readers(&f.id).await.unwrap().is_empty());
    assert!(s.invitations(&f.id).await.unwrap().is_empty());
    assert_eq!(s.link_by_token_hash(&link.token_hash).await.unwrap(), None);
    assert!(s.delete_file(&f.id, None, None).await.unwrap().is_none());
    // A link made for a file deleted meanwhile (the service read it first):
    // not found, and no link to nothing.
    let late = link_for(&f, None, None);
    assert!(matches!(s.insert_link(&late, None).await, Err(Error::NotFound { .. })));
    assert_eq!(s.link_by_token_hash(&late.token_hash).await.unwrap(), None);
}

async fn link_race(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let f = file(&s, &ann, "l.txt", 1, true).await;
    let link = link_for(&f, Some(1), None);
    s.insert_link(&link, None).await.unwrap();
    assert_eq!(s.link_by_token_hash(&link.token_hash).await.unwrap(), Some(link.clone()));
    let (a, b) = tokio::join!(s.count_link_download(&link, now(), None), s.count_link_download(&link, now(), None));
    let results = [a.unwrap().map(|(l, _)| l.downloads), b.unwrap().map(|(l, _)| l.downloads)];
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert!(results.contains(&Err(LinkRefusal::Exhausted)));
    assert_eq!(s.link(&link.id).await.unwrap().unwrap().downloads, 1);
}

async fn link_refusals(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let f = file(&s, &ann, "x.txt", 1, true).await;
    let t = now();
    let expiring = link_for(&f, None, Some(t + SignedDuration::from_secs(60)));
    s.insert_link(&expiring, None).await.unwrap();
    let (counted, file) = s.count_link_download(&expiring, t, None).await.unwrap().unwrap();
    assert_eq!((counted.downloads, file), (1, Linked::File(f.clone())), "the counted link, and its file");
    assert_eq!(
        s.count_link_download(&expiring, t + SignedDuration::from_secs(61), None).await.unwrap().map(|_| ()),
        Err(LinkRefusal::Expired)
    );
    let revoked = link_for(&f, None, None);
    s.insert_link(&revoked, None).await.unwrap();
    assert_eq!(s.revoke_link(&revoked, None).await.unwrap(), Some(Linked::File(f.clone())), "revoked, with its file");
    assert_eq!(s.revoke_link(&revoked, None).await.unwrap(), None, "revoked already");
    let refused = |r: livedrop::Result<Result<(Link, Linked), LinkRefusal>>| r.unwrap().map(|_| ());
    assert_eq!(refused(s.count_link_download(&revoked, t, None).await), Err(LinkRefusal::NotAvailable));
    let never = link_for(&f, None, None);
    assert_eq!(refused(s.count_link_download(&never, t, None).await), Err(LinkRefusal::NotAvailable));
    assert_eq!(s.links_for_file(&f.id).await.unwrap().len(), 2);
}

async fn activity(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let f = file(&s, &ann, "a.txt", 1, true).await;
    let g = file(&s, &ann, "b.txt", 1, true).await;
    for (file, kind) in [(&f, ActivityKind::Uploaded), (&g, ActivityKind::Uploaded), (&f, ActivityKind::Renamed)] {
        let a = Activity {
            id: ActivityId::generate(),
            owner_id: ann.id.clone(),
            file_id: Some(file.id.clone()),
            folder_id: None,
            file_name: file.name.as_str().into(),
            kind,
            actor_id: Some(ann.id.clone()),
            actor_email: Some(ann.email.clone()),
            link_id: None,
            detail: Some("d".into()),
            at: now(),
        };
        s.append_activity(&a).await.unwrap();
        // Newest first is by time, to the millisecond stores keep.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let all = s.activity(&ann.id, None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|a| a.kind).collect::<Vec<_>>(),
        [ActivityKind::Renamed, ActivityKind::Uploaded, ActivityKind::Uploaded]
    );
    assert_eq!(s.activity(&ann.id, Some(&f.id), 10).await.unwrap().len(), 2);
    assert_eq!(s.activity(&ann.id, None, 1).await.unwrap().len(), 1);
    assert!(s.activity(&UserId::generate(), None, 10).await.unwrap().is_empty());
    // A record about a whole folder has no file, and reads back as written.
    let zip = Activity {
        file_id: None,
        folder_id: Some(FolderId::generate()),
        file_name: "Trip".into(),
        kind: ActivityKind::Downloaded,
        detail: Some("zip".into()),
        ..record(&f, ActivityKind::Downloaded)
    };
    s.append_activity(&zip).await.unwrap();
    assert_eq!(s.activity(&ann.id, None, 1).await.unwrap(), [zip]);
    assert_eq!(s.activity(&ann.id, Some(&f.id), 10).await.unwrap().len(), 2, "not one of the file's");
}

fn record(f: &FileRecord, kind: ActivityKind) -> Activity {
    Activity {
        id: ActivityId::generate(),
        owner_id: f.owner_id.clone(),
        file_id: Some(f.id.clone()),
        folder_id: None,
        file_name: f.name.as_str().into(),
        kind,
        actor_id: None,
        actor_email: None,
        link_id: None,
        detail: None,
        at: now(),
    }
}

/// The kinds of a file's activity records, sorted.
async fn kinds_of(s: &Arc<dyn MetadataStore>, owner: &User, f: &FileRecord) -> Vec<&'static str> {
    let mut k: Vec<&str> =
        s.activity(&owner.id, Some(&f.id), 100).await.unwrap().iter().map(|a| a.kind.as_str()).collect();
    k.sort();
    k
}

async fn activity_with_changes(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let bob = person(&s).await;
    let f = file(&s, &ann, "a.txt", 1, false).await;
    s.mark_ready(&f, now(), None, Some(Box::new(|f: &FileRecord| record(f, ActivityKind::Uploaded)))).await.unwrap();
    // Refused changes record nothing.
    assert!(
        s.mark_ready(&f, now(), None, Some(Box::new(|f: &FileRecord| record(f, ActivityKind::Uploaded))))
            .await
            .is_err()
    );
    let name = FileName::parse("b.txt").unwrap();
    s.place_file(&f, &name, None, now(), Some(Box::new(|f: &FileRecord| record(f, ActivityKind::Renamed))))
        .await
        .unwrap();
    // Changes that change nothing record nothing.
    let shared = || -> FileActivity { Box::new(|f: &FileRecord| record(f, ActivityKind::Shared)) };
    assert!(s.add_share(&f.id, &bob.id, now(), None, Some(shared())).await.unwrap().is_some());
    assert!(s.add_share(&f.id, &bob.id, now(), None, Some(shared())).await.unwrap().is_none());
    let carol = Email::parse("carol-activity@example.com").unwrap();
    assert!(s.add_invitation(&f.id, &carol, now(), None, Some(shared())).await.unwrap().is_some());
    assert!(s.add_invitation(&f.id, &carol, now(), None, Some(shared())).await.unwrap().is_none());
    // A guard that refuses stops the change: nothing shared, nothing recorded.
    let refuse = || -> FileGuard { Box::new(|_: &FileRecord| Err(Error::NotFound { what: "file" })) };
    let dan = person(&s).await;
    let refused = s.add_share(&f.id, &dan.id, now(), Some(refuse()), Some(shared())).await;
    assert!(matches!(refused, Err(Error::NotFound { .. })), "{refused:?}");
    let refused = s.unshare(&f.id, Some(&bob.id), &bob.email, Some(refuse()), None).await;
    assert!(matches!(refused, Err(Error::NotFound { .. })), "{refused:?}");
    assert_eq!(s.file_and_readers(&f.id).await.unwrap().unwrap().1, vec![bob.id.clone()]);
    // Unsharing takes the invitation back, once.
    let unshared = || -> FileActivity { Box::new(|f: &FileRecord| record(f, ActivityKind::Unshared)) };
    let taken = s.unshare(&f.id, None, &carol, None, Some(unshared())).await.unwrap().unwrap();
    assert!(!taken.reader);
    assert!(s.unshare(&f.id, None, &carol, None, Some(unshared())).await.unwrap().is_none());
    let link = link_for(&f, Some(1), None);
    s.insert_link(&link, Some(record(&f, ActivityKind::LinkCreated))).await.unwrap();
    // The download's record is made from the counted link.
    let counted = || -> livedrop::store::LinkActivity {
        Box::new(|l: &Link, o: &Linked| Activity {
            detail: Some(format!("{} of 1", l.downloads)),
            ..record(linked_file(o), ActivityKind::Downloaded)
        })
    };
    s.count_link_download(&link, now(), Some(counted())).await.unwrap().unwrap();
    assert!(s.count_link_download(&link, now(), Some(counted())).await.unwrap().is_err());
    let revoking = || -> livedrop::store::LinkActivity {
        Box::new(|_: &Link, o: &Linked| record(linked_file(o), ActivityKind::LinkRevoked))
    };
    assert!(s.revoke_link(&link, Some(revoking())).await.unwrap().is_some());
    assert!(s.revoke_link(&link, Some(revoking())).await.unwrap().is_none());
    let downloads = s.activity(&ann.id, Some(&f.id), 100).await.unwrap();
    let download = downloads.iter().find(|a| a.kind == ActivityKind::Downloaded).unwrap();
    assert_eq!(download.detail.as_deref(), Some("1 of 1"));
    assert_eq!(
        kinds_of(&s, &ann, &f).await,
        ["downloaded", "link_created", "link_revoked", "renamed", "shared", "shared", "unshared", "uploaded"]
    );

    // A link to a file that is gone is refused, with no record.
    let g = file(&s, &ann, "g.txt", 1, true).await;
    s.delete_file(&g.id, None, Some(record(&g, ActivityKind::Deleted))).await.unwrap().unwrap();
    assert!(s.delete_file(&g.id, None, Some(record(&g, ActivityKind::Deleted))).await.unwrap().is_none());
    assert!(s.insert_link(&link_for(&g, None, None), Some(record(&g, ActivityKind::LinkCreated))).await.is_err());
    assert!(
        s.place_file(&g, &name, None, now(), Some(Box::new(|f: &FileRecord| record(f, ActivityKind::Renamed))))
            .await
            .is_err()
    );
    assert_eq!(kinds_of(&s, &ann, &g).await, ["deleted"]);
}

async fn pending_before(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let old = file(&s, &ann, "old", 1, false).await;
    let found = s.pending_before(now() + SignedDuration::from_secs(1), 10_000).await.unwrap();
    assert!(found.iter().any(|f| f.id == old.id));
    let none = s.pending_before(old.created_at, 10_000).await.unwrap();
    assert!(!none.iter().any(|f| f.id == old.id));
}
