//! Firestore documents written by the release before folders open under
//! this one: `FirestoreStore::upgrade` (run at every function instance's
//! start) puts each file at the top and gives it its name there.
//!
//! The old documents are written as that release wrote them, field for
//! field, through the emulator's REST API (not through this release's
//! store, which writes the new fields).

use jiff::Timestamp;
use livedrop::cloud::emulator::FirestoreEmulator;
use livedrop::cloud::firestore::FirestoreStore;
use livedrop::domain::*;
use livedrop::store::{Entry, FileQuery, FolderStore, MetadataStore, Scope, SortKey, Within, pending_file};
use serde_json::{Value, json};

fn string(s: &str) -> Value {
    json!({ "stringValue": s })
}

/// A `files/{id}` document as the release before folders wrote it.
fn old_file(id: &str, owner: &User, name: &str, status: &str, at: &str) -> Value {
    json!({ "fields": {
        "id": string(id),
        "owner_id": string(owner.id.as_str()),
        "owner_email": string(owner.email.as_str()),
        "name": string(name),
        "name_key": string(&name.to_lowercase()),
        "size": { "integerValue": "3" },
        "content_type": string("text/plain"),
        "crc32c": string(&Crc32c(1).encode()),
        "status": string(status),
        "created_at": { "timestampValue": at },
        "updated_at": { "timestampValue": at },
        "readers": { "arrayValue": {} },
    }})
}

#[tokio::test]
async fn files_written_before_folders_land_at_the_top_and_keep_their_names() {
    let emulator = FirestoreEmulator::from_env_or_start().await.expect("a Firestore emulator");
    let host = emulator.host().to_owned();
    let project = format!("demo-livedrop-upgrade-{}", &sha256_hex(&random_token(16))[..10]);
    let http = reqwest::Client::new();
    let ann = User { id: UserId::generate(), email: Email::parse("ann-upgrade@example.com").unwrap() };
    // Two ready files of one name (that release allowed it), one other,
    // and an upload still pending.
    let docs = [
        ("aaaa-first", "report.pdf", "ready", "2026-11-01T10:00:00Z"),
        ("bbbb-second", "Report.pdf", "ready", "2026-11-02T10:00:00Z"),
        ("cccc-notes", "notes.txt", "ready", "2026-11-03T10:00:00Z"),
        ("dddd-pending", "upload.bin", "pending", "2026-11-04T10:00:00Z"),
    ];
    for (id, name, status, at) in docs {
        let url = format!("http://{host}/v1/projects/{project}/databases/(default)/documents/files/{id}");
        let r = http.patch(url).bearer_auth("owner").json(&old_file(id, &ann, name, status, at)).send().await.unwrap();
        assert!(r.status().is_success(), "writing {id}: {}", r.text().await.unwrap());
    }

    let store = FirestoreStore::connect_emulator(&project, &host).await.unwrap();
    assert_eq!(store.upgrade().await.unwrap(), 4, "every old file is upgraded");
    assert_eq!(store.upgrade().await.unwrap(), 0, "once: the second start reads only the marker");

    let top = FileQuery {
        user: ann.id.clone(),
        scope: Scope::Mine,
        within: Within::Top,
        uploading: false,
        sort: SortKey::Name,
        descending: false,
        offset: 0,
        limit: 100,
    };
    let names = |p: livedrop::store::Page<FileRecord>| {
        p.items.into_iter().map(|f| f.name.as_str().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(names(store.list_files(&top).await.unwrap()), ["notes.txt", "report.pdf", "Report.pdf"]);
    // The oldest of the two holds the name; a new upload of it is kept beside.
    let held = store.entry_named(&ann.id, None, &FileName::parse("REPORT.PDF").unwrap()).await.unwrap();
    assert!(matches!(&held, Some(Entry::File(f)) if f.id.as_str() == "aaaa-first"), "{held:?}");
    let now = Timestamp::from_millisecond(Timestamp::now().as_millisecond()).unwrap();
    let new = pending_file(
        &ann,
        FileName::parse("report.pdf").unwrap(),
        3,
        ContentType::parse(None).unwrap(),
        Crc32c(1),
        now,
    );
    store.insert_pending_file(&new, u64::MAX).await.unwrap();
    assert_eq!(store.mark_ready(&new, now, None, None).await.unwrap().file.name.as_str(), "report (2).pdf");
    // The second keeps its name until it is renamed, and then holds the new one.
    let second = FileId::parse("bbbb-second").unwrap();
    let record = store.file(&second).await.unwrap().unwrap();
    let renamed =
        store.place_file(&record, &FileName::parse("old report.pdf").unwrap(), None, now, None).await.unwrap();
    assert_eq!(renamed.folder_id, None);
    let held = store.entry_named(&ann.id, None, &FileName::parse("old report.pdf").unwrap()).await.unwrap();
    assert!(matches!(&held, Some(Entry::File(f)) if f.id == second), "{held:?}");
    let first = store.entry_named(&ann.id, None, &FileName::parse("report.pdf").unwrap()).await.unwrap();
    assert!(
        matches!(first, Some(Entry::File(f)) if f.id.as_str() == "aaaa-first"),
        "its rename left the first's name alone"
    );
    // The pending upload completes at the top.
    let pending = FileId::parse("dddd-pending").unwrap();
    let pending = store.file(&pending).await.unwrap().unwrap();
    // That release kept no count of bytes received: none is claimed, and a
    // ready file has all of its bytes.
    assert_eq!(pending.received, 0);
    assert_eq!(record.received, record.size);
    let done = store.mark_ready(&pending, now, None, None).await.unwrap();
    assert_eq!((done.file.name.as_str(), done.file.folder_id), ("upload.bin", None));
}

#[tokio::test]
async fn folders_written_before_they_named_their_owner_take_the_owners_address() {
    let emulator = FirestoreEmulator::from_env_or_start().await.expect("a Firestore emulator");
    let host = emulator.host().to_owned();
    let project = format!("demo-livedrop-upgrade-{}", &sha256_hex(&random_token(16))[..10]);
    let http = reqwest::Client::new();
    let base = format!("http://{host}/v1/projects/{project}/databases/(default)/documents");
    let ann = User { id: UserId::generate(), email: Email::parse("ann-folders@example.com").unwrap() };
    let at = "2026-12-01T10:00:00Z";
    // As schema 1 (the first release with folders) wrote them.
    let writes = [
        ("meta/schema".to_owned(), json!({ "fields": { "version": { "integerValue": "1" } } })),
        (
            format!("users/{}", ann.id),
            json!({ "fields": { "id": string(ann.id.as_str()), "email": string(ann.email.as_str()) } }),
        ),
        (
            "folders/trip-folder".to_owned(),
            json!({ "fields": {
                "id": string("trip-folder"),
                "owner_id": string(ann.id.as_str()),
                "name": string("Trip"),
                "name_key": string("trip"),
                "parent": string(""),
                "ancestors": { "arrayValue": {} },
                "readers": { "arrayValue": {} },
                "viewers": { "arrayValue": {} },
                "invitations": { "arrayValue": {} },
                "created_at": { "timestampValue": at },
                "updated_at": { "timestampValue": at },
            }}),
        ),
    ];
    for (path, doc) in writes {
        let r = http.patch(format!("{base}/{path}")).bearer_auth("owner").json(&doc).send().await.unwrap();
        assert!(r.status().is_success(), "writing {path}: {}", r.text().await.unwrap());
    }
    let store = FirestoreStore::connect_emulator(&project, &host).await.unwrap();
    assert_eq!(store.upgrade().await.unwrap(), 1, "the folder is upgraded");
    assert_eq!(store.upgrade().await.unwrap(), 0);
    let trip = store.folder(&FolderId::parse("trip-folder").unwrap()).await.unwrap().unwrap();
    assert_eq!((trip.owner_email, trip.name.as_str()), (ann.email.clone(), "Trip"));
    assert_eq!(store.folders_in(&ann.id, None).await.unwrap().len(), 1);
}
