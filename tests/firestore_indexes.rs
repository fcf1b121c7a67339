//! Every query the API's store and the web app's listeners make has its
//! composite index in `firestore.indexes.json`. The emulator runs any
//! query; production refuses one without its index ("The query requires
//! an index"), so this is the only place a missing one shows before users
//! see it.
//!
//! The store's queries are recorded as it runs them (`query_shapes`),
//! through the store and folder contracts and every list the API offers;
//! the web app's are declared in `cloud/client-queries.json`, which a web
//! test holds the app to.

mod contract {
    pub mod folders;
    pub mod store;
}

use std::sync::Arc;

use livedrop::cloud::emulator::FirestoreEmulator;
use livedrop::cloud::firestore::{FirestoreStore, QueryShape};
use livedrop::domain::*;
use livedrop::store::{FileQuery, FolderSharing, FolderStore, MetadataStore, Scope, SortKey, Within};
use serde_json::Value;

/// An index: its fields in order, each `ASCENDING`, `DESCENDING` or `CONTAINS`.
fn indexes() -> Vec<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/firestore.indexes.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let fields = i["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let mode = f.get("order").or_else(|| f.get("arrayConfig")).and_then(Value::as_str).unwrap();
                    (f["fieldPath"].as_str().unwrap().to_owned(), mode.to_owned())
                })
                .collect();
            (i["collectionGroup"].as_str().unwrap().to_owned(), fields)
        })
        .collect()
}

/// Whether Firestore serves `q` from single-field indexes alone: equality
/// filters only (merged), or everything on one field.
fn single_field(q: &QueryShape) -> bool {
    let mut fields: Vec<&String> = q.equal.iter().chain(&q.contains).chain(&q.range).collect();
    fields.extend(q.order.iter().map(|(f, _)| f));
    fields.sort();
    fields.dedup();
    (q.order.is_empty() && q.range.is_none() && q.contains.is_none()) || fields.len() <= 1
}

/// Whether `index` serves `q`: its leading fields are the equality and
/// array filters (in any order), the rest the order, direction for
/// direction.
fn serves(index: &[(String, String)], q: &QueryShape) -> bool {
    let order: Vec<(String, String)> = q
        .order
        .iter()
        .map(|(f, desc)| (f.clone(), if *desc { "DESCENDING" } else { "ASCENDING" }.to_owned()))
        .collect();
    if index.len() < order.len() || index[index.len() - order.len()..] != order[..] {
        return false;
    }
    let mut lead: Vec<(String, bool)> =
        index[..index.len() - order.len()].iter().map(|(f, m)| (f.clone(), m == "CONTAINS")).collect();
    let mut want: Vec<(String, bool)> = q.equal.iter().map(|f| (f.clone(), false)).collect();
    want.extend(q.contains.iter().map(|f| (f.clone(), true)));
    lead.sort();
    want.sort();
    lead == want
}

fn missing(shapes: &[QueryShape]) -> Vec<String> {
    let all = indexes();
    shapes
        .iter()
        .filter(|q| !single_field(q))
        .filter(|q| !all.iter().any(|(c, fields)| *c == q.collection && serves(fields, q)))
        .map(|q| format!("{q:?}"))
        .collect()
}

#[test]
fn the_web_apps_queries_have_their_indexes() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/cloud/client-queries.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect()).unwrap_or_default()
    };
    let shapes: Vec<QueryShape> = v["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let mut equal = strings(&q["equal"]);
            equal.sort();
            QueryShape {
                collection: q["collection"].as_str().unwrap().to_owned(),
                equal,
                contains: q["contains"].as_str().map(str::to_owned),
                range: None,
                order: q["order"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| (o[0].as_str().unwrap().to_owned(), o[1] == "desc"))
                    .collect(),
            }
        })
        .collect();
    assert!(shapes.len() >= 10);
    let missing = missing(&shapes);
    assert!(missing.is_empty(), "web queries without an index in firestore.indexes.json:\n  {}", missing.join("\n  "));
}

#[tokio::test]
async fn every_query_the_store_makes_has_its_index() {
    let emulator = FirestoreEmulator::from_env_or_start().await.expect("a Firestore emulator");
    let project = format!("demo-livedrop-indexes-{}", &sha256_hex(&random_token(16))[..10]);
    let store = Arc::new(FirestoreStore::connect_emulator(&project, emulator.host()).await.unwrap());
    contract::store::run(store.clone()).await;
    contract::folders::run(store.clone()).await;
    // Every list the API can ask for, whatever the contracts happened to use.
    let ann = User { id: UserId::generate(), email: Email::parse("ann-indexes@example.com").unwrap() };
    let folder = Folder {
        id: FolderId::generate(),
        owner_id: ann.id.clone(),
        owner_email: ann.email.clone(),
        name: FileName::parse("f").unwrap(),
        parent: None,
        created_at: jiff::Timestamp::now(),
        updated_at: jiff::Timestamp::now(),
    };
    store.create_folder(&folder).await.unwrap();
    for scope in [Scope::Mine, Scope::SharedWithMe] {
        for within in [Within::Anywhere, Within::Top, Within::Folder(folder.id.clone())] {
            for sort in [SortKey::Name, SortKey::Size, SortKey::Created, SortKey::Updated] {
                for (descending, uploading) in [(false, false), (true, false), (false, true), (true, true)] {
                    let q = FileQuery {
                        user: ann.id.clone(),
                        scope,
                        within: within.clone(),
                        uploading,
                        sort,
                        descending,
                        offset: 0,
                        limit: 10,
                    };
                    store.list_files(&q).await.unwrap();
                }
            }
        }
    }
    store.folders_in(&ann.id, Some(&folder.id)).await.unwrap();
    store.folders_of(&ann.id, 10).await.unwrap();
    store.folders_shared_with(&ann.id).await.unwrap();
    store.delete_folder(&folder).await.unwrap();
    store.upgrade().await.unwrap();
    let shapes = store.query_shapes();
    assert!(shapes.len() >= 20, "the store's queries were recorded: {shapes:#?}");
    let missing = missing(&shapes);
    assert!(
        missing.is_empty(),
        "store queries without an index in firestore.indexes.json:\n  {}",
        missing.join("\n  ")
    );
}
