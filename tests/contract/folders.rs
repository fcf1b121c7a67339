//! The folder contract (`FolderStore`, and what folders change in
//! `MetadataStore`): every backend runs `all()` next to the store contract.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::Timestamp;
use livedrop::domain::*;
use livedrop::error::Error;
use livedrop::store::{
    Entry, FileQuery, Linked, MAX_FOLDER_DEPTH, MetadataStore, Scope, SortKey, Within, pending_file,
};

type Case = fn(Arc<dyn MetadataStore>) -> Pin<Box<dyn Future<Output = ()> + Send>>;

pub fn all() -> Vec<(&'static str, Case)> {
    vec![
        ("folders nest, list by name and know their path", |s| Box::pin(tree(s))),
        ("a name is unique within a folder, case-insensitively", |s| Box::pin(unique_names(s))),
        ("a completing upload keeps both, or replaces the file with its name", |s| Box::pin(conflicts(s))),
        ("files and folders move; never into themselves or too deep", |s| Box::pin(moves(s))),
        ("deleting a folder takes everything in it", |s| Box::pin(delete_tree(s))),
        ("someone else's folder is not found", |s| Box::pin(strangers(s))),
        ("a folder's viewers are its readers and those of every folder above it", |s| Box::pin(sharing(s))),
        ("a folder's links count, revoke and go with it", |s| Box::pin(folder_links(s))),
    ]
}

pub async fn run(store: Arc<dyn MetadataStore>) {
    for (name, case) in all() {
        eprintln!("folder contract: {name}");
        case(store.clone()).await;
    }
}

fn now() -> Timestamp {
    Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap()
}

fn name(s: &str) -> FileName {
    FileName::parse(s).unwrap()
}

async fn person(s: &Arc<dyn MetadataStore>) -> User {
    let id = UserId::generate();
    let u = User { id: id.clone(), email: Email::parse(&format!("{id}@example.com").to_lowercase()).unwrap() };
    s.create_user(&u).await.unwrap();
    u
}

async fn folder(s: &Arc<dyn MetadataStore>, owner: &User, parent: Option<&Folder>, n: &str) -> Folder {
    let at = now();
    let f = Folder {
        id: FolderId::generate(),
        owner_id: owner.id.clone(),
        owner_email: owner.email.clone(),
        name: name(n),
        parent: parent.map(|p| p.id.clone()),
        created_at: at,
        updated_at: at,
    };
    s.create_folder(&f).await.unwrap();
    f
}

fn pending(owner: &User, folder: Option<&Folder>, n: &str, on_conflict: OnConflict) -> FileRecord {
    FileRecord {
        folder_id: folder.map(|f| f.id.clone()),
        on_conflict,
        ..pending_file(owner, name(n), 3, ContentType::parse(None).unwrap(), Crc32c(1), now())
    }
}

async fn ready(s: &Arc<dyn MetadataStore>, owner: &User, folder: Option<&Folder>, n: &str) -> FileRecord {
    let f = pending(owner, folder, n, OnConflict::KeepBoth);
    s.insert_pending_file(&f, u64::MAX).await.unwrap();
    s.mark_ready(&f, now(), None, None).await.unwrap().file
}

async fn names_in(s: &Arc<dyn MetadataStore>, owner: &User, within: Within) -> Vec<String> {
    let q = FileQuery {
        user: owner.id.clone(),
        scope: Scope::Mine,
        within,
        uploading: false,
        sort: SortKey::Name,
        descending: false,
        offset: 0,
        limit: 100,
    };
    s.list_files(&q).await.unwrap().items.into_iter().map(|f| f.name.as_str().to_owned()).collect()
}

fn folder_names(v: &[Folder]) -> Vec<&str> {
    v.iter().map(|f| f.name.as_str()).collect()
}

async fn tree(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let trip = folder(&s, &ann, None, "Trip").await;
    let day2 = folder(&s, &ann, Some(&trip), "day 2").await;
    let day1 = folder(&s, &ann, Some(&trip), "Day 1").await;
    let deep = folder(&s, &ann, Some(&day1), "raw").await;
    assert_eq!(s.folder(&trip.id).await.unwrap().unwrap(), trip, "a folder reads back as written");
    assert_eq!(folder_names(&s.folders_in(&ann.id, None).await.unwrap()), ["Trip"]);
    assert_eq!(folder_names(&s.folders_in(&ann.id, Some(&trip.id)).await.unwrap()), ["Day 1", "day 2"]);
    let path = s.folder_path(&deep.id).await.unwrap();
    assert_eq!(folder_names(&path), ["Trip", "Day 1", "raw"], "the top first, itself last");
    assert!(s.folder_path(&FolderId::generate()).await.unwrap().is_empty());
    assert_eq!(s.folders_of(&ann.id, 100).await.unwrap().len(), 4);

    ready(&s, &ann, None, "top.txt").await;
    ready(&s, &ann, Some(&day1), "img1.jpg").await;
    ready(&s, &ann, Some(&day2), "img2.jpg").await;
    assert_eq!(names_in(&s, &ann, Within::Top).await, ["top.txt"]);
    assert_eq!(names_in(&s, &ann, Within::Folder(day1.id.clone())).await, ["img1.jpg"]);
    assert_eq!(names_in(&s, &ann, Within::Anywhere).await.len(), 3);
    match s.entry_named(&ann.id, Some(&day1.id), &name("IMG1.JPG")).await.unwrap() {
        Some(Entry::File(f)) => assert_eq!(f.name.as_str(), "img1.jpg", "found case-insensitively"),
        other => panic!("{other:?}"),
    }
    match s.entry_named(&ann.id, None, &name("trip")).await.unwrap() {
        Some(Entry::Folder(f)) => assert_eq!(f.id, trip.id),
        other => panic!("{other:?}"),
    }
    assert!(s.entry_named(&ann.id, Some(&day1.id), &name("img2.jpg")).await.unwrap().is_none());

    // A whole tree, for its archive: the folders below, and the ready
    // files of many folders at once (more than one batch of 30 in the cloud).
    let mut below =
        folder_names(&s.folders_below(&trip).await.unwrap()).into_iter().map(String::from).collect::<Vec<_>>();
    below.sort();
    assert_eq!(below, ["Day 1", "day 2", "raw"], "everything below, not itself");
    assert!(s.folders_below(&deep).await.unwrap().is_empty());
    let stranger = Folder { owner_id: person(&s).await.id, ..trip.clone() };
    assert!(s.folders_below(&stranger).await.unwrap().is_empty(), "only the owner's");
    let mut many = vec![day1.id.clone(), day2.id.clone()];
    many.extend((0..40).map(|_| FolderId::generate()));
    many.push(deep.id.clone());
    s.insert_pending_file(&pending(&ann, Some(&day1), "unfinished.txt", OnConflict::KeepBoth), u64::MAX).await.unwrap();
    let mut files: Vec<String> =
        s.ready_files_in(&ann.id, &many).await.unwrap().into_iter().map(|f| f.name.as_str().to_owned()).collect();
    files.sort();
    assert_eq!(files, ["img1.jpg", "img2.jpg"], "ready ones only, from every folder asked for");
    let someone = person(&s).await;
    assert!(s.ready_files_in(&someone.id, &many).await.unwrap().is_empty(), "only the owner's");
    assert!(s.ready_files_in(&ann.id, &[]).await.unwrap().is_empty());
}

async fn unique_names(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let docs = folder(&s, &ann, None, "Docs").await;
    let at = now();
    let again = Folder { id: FolderId::generate(), name: name("DOCS"), created_at: at, updated_at: at, ..docs.clone() };
    assert!(matches!(s.create_folder(&again).await, Err(Error::NameTaken { .. })), "case-insensitive");
    let f = ready(&s, &ann, Some(&docs), "a.txt").await;
    let clash =
        Folder { id: FolderId::generate(), parent: Some(docs.id.clone()), name: name("A.TXT"), ..again.clone() };
    assert!(matches!(s.create_folder(&clash).await, Err(Error::NameTaken { .. })), "a file holds its name too");
    let b = ready(&s, &ann, Some(&docs), "b.txt").await;
    let renamed = s.place_file(&b, &name("a.txt"), Some(&docs.id), now(), None).await;
    assert!(matches!(renamed, Err(Error::NameTaken { .. })), "{renamed:?}");
    // A file may change only the case of its own name; the name it left is free.
    s.place_file(&f, &name("A.txt"), Some(&docs.id), now(), None).await.unwrap();
    s.place_file(&b, &name("c.txt"), Some(&docs.id), now(), None).await.unwrap();
    s.place_file(&f, &name("b.txt"), Some(&docs.id), now(), None).await.unwrap();
    let a2 = ready(&s, &ann, Some(&docs), "a.txt").await;
    assert_eq!(a2.name.as_str(), "a.txt", "a.txt was freed by the rename");
    // The same name in another folder, or another owner's, is free.
    ready(&s, &ann, None, "a.txt").await;
    let bob = person(&s).await;
    folder(&s, &bob, None, "Docs").await;
    // Folders rename under the same rule.
    let other = folder(&s, &ann, None, "Other").await;
    let r = s.place_folder(&other, &name("docs"), None, now()).await;
    assert!(matches!(r, Err(Error::NameTaken { .. })), "{r:?}");
    let r = s.place_folder(&docs, &name("DOCS"), None, now()).await.unwrap();
    assert_eq!(r.name.as_str(), "DOCS");
    assert_eq!(s.folder(&docs.id).await.unwrap().unwrap().name.as_str(), "DOCS");
}

async fn conflicts(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let d = folder(&s, &ann, None, "Scans").await;
    let first = ready(&s, &ann, Some(&d), "report.pdf").await;
    // Two uploads of one name, started before either completes.
    let x = pending(&ann, Some(&d), "report.pdf", OnConflict::KeepBoth);
    let y = pending(&ann, Some(&d), "report.pdf", OnConflict::KeepBoth);
    s.insert_pending_file(&x, u64::MAX).await.unwrap();
    s.insert_pending_file(&y, u64::MAX).await.unwrap();
    let x = s.mark_ready(&x, now(), None, None).await.unwrap();
    let y = s.mark_ready(&y, now(), None, None).await.unwrap();
    assert_eq!(x.file.name.as_str(), "report (2).pdf");
    assert_eq!(y.file.name.as_str(), "report (3).pdf");
    assert!(x.replaced.is_none() && y.replaced.is_none());
    // Replace: the new file takes the name, the old one is gone.
    let bob = person(&s).await;
    s.add_share(&first.id, &bob.id, now(), None, None).await.unwrap();
    let z = pending(&ann, Some(&d), "REPORT.pdf", OnConflict::Replace);
    s.insert_pending_file(&z, u64::MAX).await.unwrap();
    let used = s.usage(&ann.id).await.unwrap();
    let done = s.mark_ready(&z, now(), None, None).await.unwrap();
    assert_eq!(done.file.name.as_str(), "REPORT.pdf");
    let (old, readers) = done.replaced.expect("the old file was replaced");
    assert_eq!(old.id, first.id);
    assert_eq!(readers, vec![bob.id.clone()], "who could read it, to tell them");
    assert!(s.file(&first.id).await.unwrap().is_none());
    assert_eq!(s.usage(&ann.id).await.unwrap(), used - first.size, "its bytes left the quota");
    assert_eq!(
        names_in(&s, &ann, Within::Folder(d.id.clone())).await,
        ["report (2).pdf", "report (3).pdf", "REPORT.pdf"]
    );
    // A folder is never replaced by a file.
    folder(&s, &ann, Some(&d), "notes").await;
    let n = pending(&ann, Some(&d), "notes", OnConflict::Replace);
    s.insert_pending_file(&n, u64::MAX).await.unwrap();
    assert_eq!(s.mark_ready(&n, now(), None, None).await.unwrap().file.name.as_str(), "notes (2)");
}

async fn moves(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let a = folder(&s, &ann, None, "a").await;
    let b = folder(&s, &ann, Some(&a), "b").await;
    let c = folder(&s, &ann, Some(&b), "c").await;
    let f = ready(&s, &ann, Some(&c), "f.txt").await;
    // A file moves between folders and to the top.
    let moved = s.place_file(&f, &f.name, Some(&a.id), now(), None).await.unwrap();
    assert_eq!(moved.folder_id.as_ref(), Some(&a.id));
    assert_eq!(names_in(&s, &ann, Within::Folder(a.id.clone())).await, ["f.txt"]);
    assert!(names_in(&s, &ann, Within::Folder(c.id.clone())).await.is_empty());
    s.place_file(&f, &f.name, None, now(), None).await.unwrap();
    assert_eq!(names_in(&s, &ann, Within::Top).await, ["f.txt"]);
    // Not into itself, nor below itself.
    for into in [&a, &b, &c] {
        let r = s.place_folder(&a, &a.name, Some(&into.id), now()).await;
        assert!(matches!(r, Err(Error::InvalidMove(_))), "{r:?}");
    }
    // A folder moves with what is in it: c to the top, then b into c.
    s.place_folder(&c, &c.name, None, now()).await.unwrap();
    s.place_folder(&b, &b.name, Some(&c.id), now()).await.unwrap();
    let d = folder(&s, &ann, Some(&b), "d").await;
    assert_eq!(folder_names(&s.folder_path(&d.id).await.unwrap()), ["c", "b", "d"], "paths follow moves");
    // Into a folder that has its name: refused.
    let other_b = folder(&s, &ann, None, "B").await;
    let r = s.place_folder(&other_b, &other_b.name, Some(&c.id), now()).await;
    assert!(matches!(r, Err(Error::NameTaken { .. })), "{r:?}");
    // Depth: a chain to the deepest place allowed, then one more is refused.
    let mut chain = vec![folder(&s, &ann, None, "deep").await];
    while chain.len() < MAX_FOLDER_DEPTH {
        let p = chain.last().unwrap().clone();
        chain.push(folder(&s, &ann, Some(&p), "x").await);
    }
    let last = chain.last().unwrap().clone();
    let at = now();
    let too_deep = Folder {
        id: FolderId::generate(),
        owner_id: ann.id.clone(),
        owner_email: ann.email.clone(),
        name: name("y"),
        parent: Some(last.id.clone()),
        created_at: at,
        updated_at: at,
    };
    assert!(matches!(s.create_folder(&too_deep).await, Err(Error::InvalidMove(_))));
    // Moving c's tree (c/b/d: three deep) under chain[MAX - 2] would put d
    // past the limit.
    let r = s.place_folder(&c, &c.name, Some(&chain[MAX_FOLDER_DEPTH - 2].id), now()).await;
    assert!(matches!(r, Err(Error::InvalidMove(_))), "{r:?}");
    // A file goes only into its owner's folder.
    let bob = person(&s).await;
    let theirs = folder(&s, &bob, None, "theirs").await;
    let r = s.place_file(&f, &f.name, Some(&theirs.id), now(), None).await;
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    let r = s.insert_pending_file(&pending(&ann, Some(&theirs), "x", OnConflict::KeepBoth), u64::MAX).await;
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
}

async fn delete_tree(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let bob = person(&s).await;
    let trip = folder(&s, &ann, None, "Trip").await;
    let day = folder(&s, &ann, Some(&trip), "day").await;
    let f1 = ready(&s, &ann, Some(&trip), "a.jpg").await;
    let f2 = ready(&s, &ann, Some(&day), "b.jpg").await;
    s.add_share(&f2.id, &bob.id, now(), None, None).await.unwrap();
    let up = pending(&ann, Some(&day), "uploading.jpg", OnConflict::KeepBoth);
    s.insert_pending_file(&up, u64::MAX).await.unwrap();
    let kept = ready(&s, &ann, None, "kept.txt").await;
    let used = s.usage(&ann.id).await.unwrap();
    let tree = s.delete_folder(&trip).await.unwrap().expect("it was there");
    assert_eq!(folder_names(&tree.folders), ["Trip", "day"], "outermost first");
    let mut ids: Vec<_> = tree.files.iter().map(|(f, _)| f.id.clone()).collect();
    ids.sort();
    let mut want = vec![f1.id.clone(), f2.id.clone(), up.id.clone()];
    want.sort();
    assert_eq!(ids, want, "pending uploads go too");
    let (_, readers) = tree.files.iter().find(|(f, _)| f.id == f2.id).unwrap();
    assert_eq!(readers, &vec![bob.id.clone()]);
    for id in &want {
        assert!(s.file(id).await.unwrap().is_none());
    }
    assert!(s.folder(&day.id).await.unwrap().is_none());
    assert_eq!(s.usage(&ann.id).await.unwrap(), used - 9);
    assert!(s.file(&kept.id).await.unwrap().is_some());
    assert!(s.delete_folder(&trip).await.unwrap().is_none(), "once");
    // Its names are free again.
    folder(&s, &ann, None, "Trip").await;
    let shared = FileQuery {
        user: bob.id.clone(),
        scope: Scope::SharedWithMe,
        within: Within::Anywhere,
        uploading: false,
        sort: SortKey::Name,
        descending: false,
        offset: 0,
        limit: 10,
    };
    assert!(s.list_files(&shared).await.unwrap().items.is_empty());
}

async fn strangers(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let bob = person(&s).await;
    let mine = folder(&s, &ann, None, "mine").await;
    let at = now();
    let inside = Folder {
        id: FolderId::generate(),
        owner_id: bob.id.clone(),
        owner_email: bob.email.clone(),
        name: name("in"),
        parent: Some(mine.id.clone()),
        created_at: at,
        updated_at: at,
    };
    assert!(matches!(s.create_folder(&inside).await, Err(Error::NotFound { .. })));
    let as_bob = Folder { owner_id: bob.id.clone(), ..mine.clone() };
    assert!(matches!(s.place_folder(&as_bob, &name("x"), None, now()).await, Err(Error::NotFound { .. })));
    assert!(s.delete_folder(&as_bob).await.unwrap().is_none());
    assert!(s.folder(&mine.id).await.unwrap().is_some());
    assert!(s.folders_in(&bob.id, None).await.unwrap().is_empty());
}

fn sorted(mut v: Vec<UserId>) -> Vec<UserId> {
    v.sort();
    v
}

async fn sharing(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let (bob, cat, dan) = (person(&s).await, person(&s).await, person(&s).await);
    let trip = folder(&s, &ann, None, "Trip").await;
    let day = folder(&s, &ann, Some(&trip), "day").await;
    let raw = folder(&s, &ann, Some(&day), "raw").await;
    assert!(s.share_folder(&trip, &bob.id, now()).await.unwrap());
    assert!(!s.share_folder(&trip, &bob.id, now()).await.unwrap(), "sharing twice is one share");
    assert!(s.share_folder(&day, &cat.id, now()).await.unwrap());
    assert_eq!(s.viewers(&trip.id).await.unwrap(), vec![bob.id.clone()]);
    assert_eq!(s.viewers(&raw.id).await.unwrap(), sorted(vec![bob.id.clone(), cat.id.clone()]));
    // A folder made inside a shared one is seen by its viewers at once.
    let late = folder(&s, &ann, Some(&raw), "late").await;
    assert_eq!(s.viewers(&late.id).await.unwrap(), sorted(vec![bob.id.clone(), cat.id.clone()]));
    assert_eq!(folder_names(&s.folders_shared_with(&bob.id).await.unwrap()), ["Trip"]);
    assert_eq!(folder_names(&s.folders_shared_with(&cat.id).await.unwrap()), ["day"]);
    let (people, waiting) = s.folder_sharing(&trip.id).await.unwrap();
    assert_eq!((people, waiting), (vec![bob.clone()], vec![]));
    // Moving raw out of Trip takes it (and what is in it) from Trip's
    // viewers, and from day's.
    s.place_folder(&raw, &raw.name, None, now()).await.unwrap();
    assert!(s.viewers(&raw.id).await.unwrap().is_empty());
    assert!(s.viewers(&late.id).await.unwrap().is_empty());
    // Moving it back into day gives it back.
    s.place_folder(&raw, &raw.name, Some(&day.id), now()).await.unwrap();
    assert_eq!(s.viewers(&late.id).await.unwrap(), sorted(vec![bob.id.clone(), cat.id.clone()]));
    // Unsharing Trip leaves cat, who has day.
    assert_eq!(s.unshare_folder(&trip, Some(&bob.id), &bob.email).await.unwrap(), Some(true));
    assert_eq!(s.unshare_folder(&trip, Some(&bob.id), &bob.email).await.unwrap(), None, "once");
    assert!(s.viewers(&trip.id).await.unwrap().is_empty());
    assert_eq!(s.viewers(&late.id).await.unwrap(), vec![cat.id.clone()]);
    assert!(s.folders_shared_with(&bob.id).await.unwrap().is_empty());
    // Shared twice over (Trip and day), one unshare leaves the other.
    s.share_folder(&trip, &cat.id, now()).await.unwrap();
    s.unshare_folder(&trip, Some(&cat.id), &cat.email).await.unwrap();
    assert_eq!(s.viewers(&raw.id).await.unwrap(), vec![cat.id.clone()], "day is still shared with cat");
    // Invitations wait for an address, and are claimed by its account.
    let invited = Email::parse(&format!("{}@example.com", dan.id).to_lowercase()).unwrap();
    assert!(s.invite_to_folder(&day, &invited, now()).await.unwrap());
    assert!(!s.invite_to_folder(&day, &invited, now()).await.unwrap(), "once");
    assert_eq!(s.folder_sharing(&day.id).await.unwrap().1, vec![invited.clone()]);
    assert_eq!(s.claim_folder_invitations(&dan, now()).await.unwrap(), vec![day.id.clone()]);
    assert!(s.claim_folder_invitations(&dan, now()).await.unwrap().is_empty(), "claimed once");
    assert_eq!(s.viewers(&raw.id).await.unwrap(), sorted(vec![cat.id.clone(), dan.id.clone()]));
    assert!(s.folder_sharing(&day.id).await.unwrap().1.is_empty());
    // Unsharing an invitation only: not a person's access.
    let other = Email::parse("nobody-yet@example.com").unwrap();
    s.invite_to_folder(&trip, &other, now()).await.unwrap();
    assert_eq!(s.unshare_folder(&trip, None, &other).await.unwrap(), Some(false));
    // Someone else's folder cannot be shared.
    let as_bob = Folder { owner_id: bob.id.clone(), ..trip.clone() };
    assert!(matches!(s.share_folder(&as_bob, &cat.id, now()).await, Err(Error::NotFound { .. })));
    // Deleting the tree takes its shares and invitations with it.
    s.invite_to_folder(&day, &other, now()).await.unwrap();
    s.delete_folder(&trip).await.unwrap().unwrap();
    assert!(s.folders_shared_with(&cat.id).await.unwrap().is_empty());
    assert!(
        s.claim_folder_invitations(&User { id: UserId::generate(), email: other }, now()).await.unwrap().is_empty()
    );
}

async fn folder_links(s: Arc<dyn MetadataStore>) {
    let ann = person(&s).await;
    let trip = folder(&s, &ann, None, "Trip").await;
    let day = folder(&s, &ann, Some(&trip), "day").await;
    let link_to = |d: &Folder, max: Option<u64>| Link {
        id: LinkId::generate(),
        target: LinkTarget::Folder(d.id.clone()),
        owner_id: ann.id.clone(),
        token_hash: sha256_hex(&random_token(32)),
        password_hash: None,
        expires_at: None,
        max_downloads: max,
        downloads: 0,
        revoked: false,
        created_at: now(),
    };
    let to_trip = link_to(&trip, Some(1));
    let to_day = link_to(&day, None);
    // The record of the download: the id of a log entry is what asks for
    // an archive's other pages, read back by id.
    let record = |l: &Link, o: &Linked| {
        let Linked::Folder(d) = o else { panic!("a folder link opened {o:?}") };
        Activity {
            id: ActivityId::generate(),
            owner_id: d.owner_id.clone(),
            file_id: None,
            folder_id: Some(d.id.clone()),
            file_name: d.name.as_str().to_owned(),
            kind: ActivityKind::Downloaded,
            actor_id: None,
            actor_email: None,
            link_id: Some(l.id.clone()),
            detail: Some("zip".into()),
            at: now(),
        }
    };
    s.insert_link(&to_trip, None).await.unwrap();
    s.insert_link(&to_day, None).await.unwrap();
    assert_eq!(s.link_by_token_hash(&to_trip.token_hash).await.unwrap(), Some(to_trip.clone()));
    assert_eq!(s.links_for_folder(&trip.id).await.unwrap(), vec![to_trip.clone()], "its own links only");
    let a = record(&to_trip, &Linked::Folder(trip.clone()));
    let want = a.clone();
    let made = move |_: &Link, _: &Linked| want.clone();
    let (counted, opened) = s.count_link_download(&to_trip, now(), Some(Box::new(made))).await.unwrap().unwrap();
    assert_eq!((counted.downloads, opened), (1, Linked::Folder(trip.clone())));
    assert_eq!(s.activity_record(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(s.activity_record(&ActivityId::generate()).await.unwrap(), None);
    let again = s.count_link_download(&to_trip, now(), None).await.unwrap();
    assert_eq!(again.map(|_| ()), Err(livedrop::error::LinkRefusal::Exhausted));
    assert_eq!(s.revoke_link(&to_day, None).await.unwrap(), Some(Linked::Folder(day.clone())));
    // A renamed or moved folder keeps its links.
    s.place_folder(&day, &name("day 1"), None, now()).await.unwrap();
    assert_eq!(s.links_for_folder(&day.id).await.unwrap().len(), 1);
    s.place_folder(&day, &name("day 1"), Some(&trip.id), now()).await.unwrap();
    // Deleting the tree takes every folder's links; a link to a folder
    // that is gone is not made.
    s.delete_folder(&trip).await.unwrap().unwrap();
    for l in [&to_trip, &to_day] {
        assert_eq!(s.link(&l.id).await.unwrap(), None, "{l:?}");
    }
    let late = link_to(&trip, None);
    assert!(matches!(s.insert_link(&late, None).await, Err(Error::NotFound { .. })));
    assert_eq!(s.link(&late.id).await.unwrap(), None);

    // More links than Firestore takes writes in one commit: the tree still
    // goes, with every one of them.
    let crowded = folder(&s, &ann, None, "Crowded").await;
    let inner = folder(&s, &ann, Some(&crowded), "inner").await;
    let mut many = Vec::new();
    for i in 0..520 {
        let l = link_to(if i % 2 == 0 { &crowded } else { &inner }, None);
        s.insert_link(&l, None).await.unwrap();
        many.push(l);
    }
    let gone = s.delete_folder(&crowded).await.unwrap().unwrap();
    assert_eq!(gone.folders.len(), 2);
    for l in [&many[0], &many[1], &many[519]] {
        assert_eq!(s.link(&l.id).await.unwrap(), None, "{l:?}");
    }
    assert_eq!(s.links_for_folder(&inner.id).await.unwrap(), vec![]);
}
