//! Folders through the API, on both deployments: who sees and does what
//! in a tree of shared folders, every cell asserted, and access that
//! follows unsharing and moves at once.
//!
//! The world: ann's `Trip/` is shared with the trip recipient, `Trip/day/`
//! with the day recipient, and `Trip/a.txt` (only the file) with the file
//! recipient; `Trip/day/img.jpg` is inside it all.

mod common;

use common::cloud::CloudServer;
use common::{Client, Deployment, TestServer};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Actor {
    Owner,
    /// Trip is shared with them: a parent of `day`.
    TripRecipient,
    /// `day` itself is shared with them.
    DayRecipient,
    /// Only `Trip/a.txt` is shared with them.
    FileRecipient,
    Stranger,
    Anonymous,
}

use Actor::*;

const ACTORS: [Actor; 6] = [Owner, TripRecipient, DayRecipient, FileRecipient, Stranger, Anonymous];

struct World {
    trip: String,
    day: String,
    img: String,
    a: String,
}

/// (operation, expected status for each of `ACTORS`). Reads first; the
/// changes run after every read, the owner's last.
const READS: &[(&str, [u16; 6])] = &[
    ("get folder day", [200, 200, 200, 404, 404, 401]),
    ("get folder Trip", [200, 200, 404, 404, 404, 401]),
    ("list folders in Trip", [200, 200, 404, 404, 404, 401]),
    ("list files in day", [200, 200, 200, 404, 404, 401]),
    ("list files in Trip", [200, 200, 404, 404, 404, 401]),
    ("archive day", [200, 200, 200, 404, 404, 401]),
    ("archive Trip", [200, 200, 404, 404, 404, 401]),
    ("archive img, selected in day", [200, 200, 200, 404, 404, 401]),
    ("archive a.txt and day, selected in Trip", [200, 200, 404, 404, 404, 401]),
    ("get img", [200, 200, 200, 404, 404, 401]),
    ("download img", [200, 200, 200, 404, 404, 401]),
    ("get a.txt", [200, 200, 404, 200, 404, 401]),
    ("download a.txt", [200, 200, 404, 200, 404, 401]),
];

const CHANGES: &[(&str, [u16; 6])] = &[
    ("create folder in day", [201, 404, 404, 404, 404, 401]),
    ("upload into day", [201, 404, 404, 404, 404, 401]),
    ("rename img", [200, 404, 404, 404, 404, 401]),
    ("rename day", [200, 404, 404, 404, 404, 401]),
    ("share day", [201, 404, 404, 404, 404, 401]),
    ("unshare day", [204, 404, 404, 404, 404, 401]),
    ("move img to the top", [200, 404, 404, 404, 404, 401]),
    ("delete day", [200, 404, 404, 404, 404, 401]),
];

async fn perform(op: &str, c: &Client, w: &World, n: usize) -> common::Reply {
    let (trip, day, img, a) = (&w.trip, &w.day, &w.img, &w.a);
    match op {
        "get folder day" => c.get(&format!("/api/folders/{day}")).await,
        "get folder Trip" => c.get(&format!("/api/folders/{trip}")).await,
        "list folders in Trip" => c.get(&format!("/api/folders?parent={trip}")).await,
        "list files in day" => c.get(&format!("/api/files?within={day}")).await,
        "list files in Trip" => c.get(&format!("/api/files?within={trip}")).await,
        "archive day" => c.post(&format!("/api/folders/{day}/archive"), json!({})).await,
        "archive Trip" => c.post(&format!("/api/folders/{trip}/archive"), json!({})).await,
        "archive img, selected in day" => c.post("/api/archive", json!({ "files": [img] })).await,
        "archive a.txt and day, selected in Trip" => {
            c.post("/api/archive", json!({ "files": [a], "folders": [day] })).await
        }
        "get img" => c.get(&format!("/api/files/{img}")).await,
        "download img" => c.post(&format!("/api/files/{img}/download"), json!({})).await,
        "get a.txt" => c.get(&format!("/api/files/{a}")).await,
        "download a.txt" => c.post(&format!("/api/files/{a}/download"), json!({})).await,
        "create folder in day" => c.post("/api/folders", json!({ "name": format!("new {n}"), "parent_id": day })).await,
        "upload into day" => c.begin_in(&format!("up {n}.txt"), b"x", Some(day)).await,
        "rename img" => c.patch(&format!("/api/files/{img}"), json!({ "name": format!("img {n}.jpg") })).await,
        "rename day" => c.patch(&format!("/api/folders/{day}"), json!({ "name": format!("day {n}") })).await,
        "share day" => c.post(&format!("/api/folders/{day}/shares"), json!({ "email": "someone@example.com" })).await,
        "unshare day" => c.delete(&format!("/api/folders/{day}/shares/someone@example.com")).await,
        "move img to the top" => c.patch(&format!("/api/files/{img}"), json!({ "folder_id": null })).await,
        "delete day" => c.delete(&format!("/api/folders/{day}")).await,
        other => panic!("no operation {other}"),
    }
}

fn id(v: &Value) -> String {
    v.as_str().unwrap().to_owned()
}

async fn folder(c: &Client, name: &str, parent: Option<&str>) -> String {
    id(&c.post("/api/folders", json!({ "name": name, "parent_id": parent })).await.expect(201)["folder"]["id"])
}

async fn share_folder(owner: &Client, folder: &str, email: &str) {
    let r = owner.post(&format!("/api/folders/{folder}/shares"), json!({ "email": email })).await.expect(201);
    assert_eq!(r["share"]["pending"], false, "{email} has proved their address");
}

async fn world(owner: &Client, trip_to: &str, day_to: &str, file_to: &str) -> World {
    let trip = folder(owner, "Trip", None).await;
    let day = folder(owner, "day", Some(&trip)).await;
    let img = id(&owner.upload_in("img.jpg", b"pixels", Some(&day)).await["id"]);
    let a = id(&owner.upload_in("a.txt", b"notes", Some(&trip)).await["id"]);
    share_folder(owner, &trip, trip_to).await;
    share_folder(owner, &day, day_to).await;
    owner.post(&format!("/api/files/{a}/shares"), json!({ "email": file_to })).await.expect(201);
    World { trip, day, img, a }
}

async fn every_actor_sees_exactly_what_the_folders_above_give(deployment: Deployment) {
    let (owner, _) = deployment.person("ann").await;
    let (trip_r, trip_email) = deployment.person("trip").await;
    let (day_r, day_email) = deployment.person("day").await;
    let (file_r, file_email) = deployment.person("file").await;
    let (stranger, _) = deployment.person("eve").await;
    let anon = deployment.anonymous();
    let w = world(&owner, &trip_email, &day_email, &file_email).await;
    let client = |a: Actor| match a {
        Owner => &owner,
        TripRecipient => &trip_r,
        DayRecipient => &day_r,
        FileRecipient => &file_r,
        Stranger => &stranger,
        Anonymous => &anon,
    };
    let mut wrong = Vec::new();
    let mut cells = 0;
    for (op, want) in READS {
        for (i, a) in ACTORS.iter().enumerate() {
            let r = perform(op, client(*a), &w, i).await;
            cells += 1;
            if r.status.as_u16() != want[i] {
                wrong.push(format!("{op} as {a:?}: {} (want {}) {}", r.status, want[i], r.body));
            }
        }
    }
    // What each sees at the top of "shared with me", and in the folders.
    let shared_top = |c: &Client| {
        let c = c.clone();
        async move {
            let v = c.get("/api/folders?scope=shared").await.expect(200);
            v["folders"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(shared_top(&trip_r).await, ["Trip"]);
    let listed = trip_r.get("/api/folders?scope=shared").await.expect(200);
    assert_eq!(
        listed["folders"][0]["owner_email"],
        owner.get("/api/me").await.expect(200)["user"]["email"],
        "shared by"
    );
    assert_eq!(shared_top(&day_r).await, ["day"]);
    assert!(shared_top(&file_r).await.is_empty());
    let in_day = day_r.get(&format!("/api/files?within={}", w.day)).await.expect(200);
    assert_eq!(in_day["files"][0]["name"], "img.jpg");
    // Breadcrumbs start where the recipient's share does.
    let crumbs = |v: &Value| v["path"].as_array().unwrap().iter().map(|f| id(&f["name"])).collect::<Vec<_>>();
    assert_eq!(crumbs(&owner.get(&format!("/api/folders/{}", w.day)).await.expect(200)), ["Trip"]);
    assert_eq!(crumbs(&trip_r.get(&format!("/api/folders/{}", w.day)).await.expect(200)), ["Trip"]);
    assert!(crumbs(&day_r.get(&format!("/api/folders/{}", w.day)).await.expect(200)).is_empty());
    let as_owner = owner.get(&format!("/api/folders/{}", w.trip)).await.expect(200);
    assert_eq!(as_owner["shares"][0]["email"], trip_email.as_str(), "the owner sees who it is shared with");
    assert!(trip_r.get(&format!("/api/folders/{}", w.trip)).await.expect(200).get("shares").is_none());

    // Moving img out of the shared tree takes it from the recipients at
    // once; moving it back gives it back.
    owner.patch(&format!("/api/files/{}", w.img), json!({ "folder_id": null })).await.expect(200);
    for c in [&trip_r, &day_r] {
        c.get(&format!("/api/files/{}", w.img)).await.expect_error(404, "not_found");
    }
    owner.patch(&format!("/api/files/{}", w.img), json!({ "folder_id": w.day })).await.expect(200);
    trip_r.get(&format!("/api/files/{}", w.img)).await.expect(200);
    // Moving day out of Trip: the trip recipient loses it, the day recipient keeps it.
    owner.patch(&format!("/api/folders/{}", w.day), json!({ "parent_id": null })).await.expect(200);
    trip_r.get(&format!("/api/files/{}", w.img)).await.expect_error(404, "not_found");
    trip_r.get(&format!("/api/folders/{}", w.day)).await.expect_error(404, "not_found");
    day_r.get(&format!("/api/files/{}", w.img)).await.expect(200);
    owner.patch(&format!("/api/folders/{}", w.day), json!({ "parent_id": w.trip })).await.expect(200);
    trip_r.get(&format!("/api/files/{}", w.img)).await.expect(200);
    // Unsharing Trip takes everything in it from the trip recipient at once.
    owner.delete(&format!("/api/folders/{}/shares/{trip_email}", w.trip)).await.expect(204);
    for path in [format!("/api/files/{}", w.img), format!("/api/folders/{}", w.day), format!("/api/files/{}", w.a)] {
        trip_r.get(&path).await.expect_error(404, "not_found");
    }
    trip_r.get(&format!("/api/files?within={}", w.trip)).await.expect_error(404, "not_found");
    day_r.get(&format!("/api/files/{}", w.img)).await.expect(200);
    owner.delete(&format!("/api/folders/{}/shares/{trip_email}", w.trip)).await.expect_error(404, "not_found");
    share_folder(&owner, &w.trip, &trip_email).await;

    // Changes: only the owner's go through.
    for (op, want) in CHANGES {
        let order: Vec<usize> = (0..ACTORS.len()).rev().collect();
        for i in order {
            let r = perform(op, client(ACTORS[i]), &w, i).await;
            cells += 1;
            if r.status.as_u16() != want[i] {
                wrong.push(format!("{op} as {:?}: {} (want {}) {}", ACTORS[i], r.status, want[i], r.body));
            }
        }
    }
    // day is gone with what was in it; img, moved out before, stays.
    owner.get(&format!("/api/folders/{}", w.day)).await.expect_error(404, "not_found");
    owner.get(&format!("/api/files/{}", w.img)).await.expect(200);
    let left = owner.get(&format!("/api/folders?parent={}", w.trip)).await.expect(200);
    assert_eq!(left["folders"], json!([]), "{}", deployment.name());
    eprintln!("{}: {cells} folder cells checked, {} wrong", deployment.name(), wrong.len());
    assert!(wrong.is_empty(), "{}:\n  {}", deployment.name(), wrong.join("\n  "));
}

#[tokio::test]
async fn every_actor_sees_exactly_what_the_folders_above_give_self_hosted() {
    every_actor_sees_exactly_what_the_folders_above_give(Deployment::SelfHosted(TestServer::start().await)).await;
}

#[tokio::test]
async fn every_actor_sees_exactly_what_the_folders_above_give_in_the_cloud() {
    let cloud = Deployment::Cloud(Box::new(CloudServer::start().await));
    every_actor_sees_exactly_what_the_folders_above_give(cloud).await;
}

async fn names_and_bad_input(deployment: Deployment) {
    let (ann, _) = deployment.person("ann").await;
    let docs = folder(&ann, "Docs", None).await;
    ann.post("/api/folders", json!({ "name": "docs" })).await.expect_error(409, "name_taken");
    for bad in ["", "a/b", "..", " x", "x\u{0}y"] {
        ann.post("/api/folders", json!({ "name": bad })).await.expect_error(400, "invalid_name");
    }
    ann.post("/api/folders", json!({ "name": "x", "parent_id": "no-such-folder" }))
        .await
        .expect_error(404, "not_found");
    ann.post("/api/folders", json!({ "name": "x", "parent_id": "../../etc" })).await.expect_error(404, "not_found");
    ann.patch(&format!("/api/folders/{docs}"), json!({})).await.expect_error(400, "invalid_request");
    ann.patch(&format!("/api/folders/{docs}"), json!({ "parent_id": docs })).await.expect_error(409, "invalid_move");
    let inner = folder(&ann, "inner", Some(&docs)).await;
    ann.patch(&format!("/api/folders/{docs}"), json!({ "parent_id": inner })).await.expect_error(409, "invalid_move");
    // Keep both, and replace, when the name is taken by the time it completes.
    let first = ann.upload_in("r.txt", b"one", Some(&docs)).await;
    let second = ann.upload_in("R.TXT", b"two", Some(&docs)).await;
    assert_eq!(second["name"], "R (2).TXT");
    let begun = ann
        .post(
            "/api/uploads",
            json!({ "name": "r.txt", "size": 5, "crc32c": livedrop::domain::Crc32c::of(b"three").encode(),
                    "folder_id": docs, "on_conflict": "replace" }),
        )
        .await
        .expect(201);
    let put = ann.http.put(ann.url(begun["upload"]["url"].as_str().unwrap())).body("three").send().await.unwrap();
    assert_eq!(put.status(), 200);
    let done = ann.post(&format!("/api/uploads/{}/complete", id(&begun["file"]["id"])), json!({})).await.expect(200);
    assert_eq!(done["file"]["name"], "r.txt");
    ann.get(&format!("/api/files/{}", id(&first["id"]))).await.expect_error(404, "not_found");
    ann.post("/api/uploads", json!({ "name": "x", "size": 1, "crc32c": "AAAAAA==", "on_conflict": "overwrite" }))
        .await
        .expect_error(400, "invalid_request");
    // Paths name files and folders.
    let r = ann.get("/api/resolve?path=docs/INNER").await.expect(200);
    assert_eq!((r["kind"].as_str(), r["folder"]["id"].as_str()), (Some("folder"), Some(inner.as_str())));
    let r = ann.get("/api/resolve?path=Docs/r.txt").await.expect(200);
    assert_eq!(r["kind"], "file");
    assert_eq!(ann.get("/api/resolve?path=/").await.expect(200)["kind"], "top");
    ann.get("/api/resolve?path=Docs/nothing").await.expect_error(404, "not_found");
    ann.get("/api/resolve?path=Docs/r.txt/deeper").await.expect_error(404, "not_found");
    ann.get("/api/resolve").await.expect_error(400, "invalid_request");
    // The longest path is counted in characters, as the schema counts them;
    // four-byte ones, percent-encoded, still reach the handler (no bodiless 414).
    let clef = "%F0%9D%84%9E";
    ann.get(&format!("/api/resolve?path={}", clef.repeat(4096))).await.expect_error(404, "not_found");
    ann.get(&format!("/api/resolve?path={}", clef.repeat(4097))).await.expect_error(400, "invalid_request");
    // A file cannot take a name a folder has.
    let moved = ann.patch(&format!("/api/files/{}", id(&second["id"])), json!({ "name": "inner" })).await;
    moved.expect_error(409, "name_taken");
    // Deleting the folder takes everything in it; the top stays.
    let top = ann.upload("kept.txt", b"kept").await;
    let deleted = ann.delete(&format!("/api/folders/{docs}")).await.expect(200);
    assert_eq!(deleted["deleted"], json!({ "folders": 2, "files": 2 }));
    ann.get(&format!("/api/files/{}", id(&top["id"]))).await.expect(200);
    ann.get(&format!("/api/folders/{inner}")).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn names_paths_and_bad_input_self_hosted() {
    names_and_bad_input(Deployment::SelfHosted(TestServer::start().await)).await;
}

#[tokio::test]
async fn names_paths_and_bad_input_in_the_cloud() {
    names_and_bad_input(Deployment::Cloud(Box::new(CloudServer::start().await))).await;
}

/// Every page of a folder's archive, from the first.
async fn archive_pages(c: &Client, folder: &str) -> Vec<Value> {
    let mut pages = vec![c.post(&format!("/api/folders/{folder}/archive"), json!({})).await.expect(200)];
    while let Some(cursor) = pages.last().unwrap()["next_cursor"].as_str() {
        let body = json!({ "cursor": cursor });
        pages.push(c.post(&format!("/api/folders/{folder}/archive"), body).await.expect(200));
    }
    pages
}

fn paths(page: &Value) -> Vec<String> {
    page["entries"].as_array().unwrap().iter().map(|e| id(&e["path"])).collect()
}

async fn archives(deployment: Deployment) {
    let (ann, ann_email) = deployment.person("ann").await;
    let (bob, bob_email) = deployment.person("bob").await;
    let (eve, _) = deployment.person("eve").await;
    let trip = folder(&ann, "Trip 2026", None).await;
    for (name, body) in [("b.txt", &b"bee"[..]), ("A.txt", b"ay"), ("\u{e9}t\u{e9}.txt", b"summer")] {
        ann.upload_in(name, body, Some(&trip)).await;
    }
    let z = folder(&ann, "z", Some(&trip)).await;
    let day = folder(&ann, "day", Some(&trip)).await;
    ann.upload_in("img.jpg", b"pixels", Some(&day)).await;
    let many = folder(&ann, "many", Some(&day)).await;
    let page = livedrop::service::ARCHIVE_PAGE;
    for i in 0..page {
        ann.upload_in(&format!("f{i:03}.txt"), format!("file {i}").as_bytes(), Some(&many)).await;
    }
    // A pending upload is not in it.
    ann.begin_in("unfinished.txt", b"soon", Some(&trip)).await.expect(201);

    let pages = archive_pages(&ann, &trip).await;
    assert_eq!(pages.len(), 2, "{} entries, {page} a page", page + 7);
    assert_eq!(pages[0]["name"], "Trip 2026");
    let all: Vec<String> = pages.iter().flat_map(paths).collect();
    // Depth first; in each folder its files, then its folders, by name
    // whatever the case.
    let mut want: Vec<String> = ["A.txt", "b.txt", "\u{e9}t\u{e9}.txt", "day", "day/img.jpg", "day/many"]
        .into_iter()
        .map(String::from)
        .collect();
    want.extend((0..page).map(|i| format!("day/many/f{i:03}.txt")));
    want.push("z".into());
    assert_eq!(all, want, "{}", deployment.name());
    let first = &pages[0]["entries"][0];
    assert_eq!((first["kind"].as_str(), first["size"].as_u64()), (Some("file"), Some(2)));
    assert_eq!(ann.fetch(first["url"].as_str().unwrap()).await, b"ay");
    let last = &pages[1]["entries"][pages[1]["entries"].as_array().unwrap().len() - 1];
    assert_eq!((last["kind"].as_str(), last.get("url")), (Some("folder"), None));
    assert_eq!(pages[1]["next_cursor"], Value::Null);

    // The same cursor again: the same page, signed afresh.
    let cursor = pages[0]["next_cursor"].as_str().unwrap().to_owned();
    let again = ann.post(&format!("/api/folders/{trip}/archive"), json!({ "cursor": cursor })).await.expect(200);
    assert_eq!(paths(&again), paths(&pages[1]));
    // Changes behind the cursor move nothing ahead of it: nothing twice,
    // nothing lost.
    ann.upload_in("0 early.txt", b"early", Some(&many)).await;
    ann.patch(&format!("/api/folders/{z}"), json!({ "name": "Zed" })).await.expect(200);
    let after = ann.post(&format!("/api/folders/{trip}/archive"), json!({ "cursor": cursor })).await.expect(200);
    let tail: Vec<String> = paths(&after);
    assert!(!tail.iter().any(|p| p.contains("early")), "{tail:?}");
    assert_eq!(tail.last().map(String::as_str), Some("Zed"));

    // Whoever the folder is shared with archives it too, from where it is
    // shared with them; anyone else finds nothing.
    share_folder(&ann, &day, &bob_email).await;
    let bobs = archive_pages(&bob, &day).await;
    assert_eq!(bobs[0]["name"], "day");
    assert_eq!(&paths(&bobs[0])[..3], ["img.jpg", "many", "many/0 early.txt"]);
    assert_eq!(bob.fetch(bobs[0]["entries"][0]["url"].as_str().unwrap()).await, b"pixels");
    bob.post(&format!("/api/folders/{trip}/archive"), json!({})).await.expect_error(404, "not_found");
    // Each download is in the owner's log once, however many pages it
    // takes; asking for a page again to re-sign it is not another.
    let body = json!({ "again": true });
    bob.post(&format!("/api/folders/{day}/archive"), body).await.expect(200);
    let log = ann.get("/api/activity").await.expect(200);
    let zips: Vec<(Value, Value, Value)> = log["activity"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["detail"] == "zip")
        .map(|a| (a["actor_email"].clone(), a["file_name"].clone(), a["file_id"].clone()))
        .collect();
    assert_eq!(
        zips,
        [(json!(bob_email), json!("day"), Value::Null), (json!(ann_email), json!("Trip 2026"), Value::Null)],
        "{}",
        deployment.name()
    );
    eve.post(&format!("/api/folders/{day}/archive"), json!({})).await.expect_error(404, "not_found");
    // An upload's entry names the folder it went into, for "added 24
    // files to day"; at the top, none.
    ann.upload_in("late.jpg", b"late", Some(&day)).await;
    ann.upload_in("top.txt", b"top", None).await;
    let log = ann.get("/api/activity").await.expect(200);
    let into = |name: &str| {
        let a = log["activity"].as_array().unwrap().iter().find(|a| a["file_name"] == name).unwrap();
        (a["kind"].clone(), a["detail"].clone())
    };
    assert_eq!(into("late.jpg"), (json!("uploaded"), json!("day")), "{}", deployment.name());
    assert_eq!(into("0 early.txt"), (json!("uploaded"), json!("many")));
    assert_eq!(into("top.txt"), (json!("uploaded"), Value::Null));

    // Bad input.
    let empty = folder(&ann, "empty", None).await;
    let none = ann.post(&format!("/api/folders/{empty}/archive"), json!({})).await.expect(200);
    assert_eq!((none["entries"].clone(), none["next_cursor"].clone()), (json!([]), Value::Null));
    for bad in [json!({ "cursor": "no kind" }), json!({ "cursor": "e30" }), json!({ "cursor": 7 }), json!({ "x": 1 })] {
        ann.post(&format!("/api/folders/{trip}/archive"), bad).await.expect_error(400, "invalid_request");
    }
    // Any cursor of the right form is a place in the order, names that
    // exist or not: "../etc" is inside a folder "..", after the files at the
    // top and before its folder "day".
    let dots = ann.post(&format!("/api/folders/{trip}/archive"), json!({ "cursor": "d:../etc" })).await.expect(200);
    assert_eq!(paths(&dots)[0], "day");
    let past = ann.post(&format!("/api/folders/{trip}/archive"), json!({ "cursor": "d:\u{10FFFF}" })).await.expect(200);
    assert_eq!(past["entries"], json!([]));
    let long = format!("f:{}", "a".repeat(16 * 1024));
    ann.post(&format!("/api/folders/{trip}/archive"), json!({ "cursor": long }))
        .await
        .expect_error(400, "invalid_request");
    ann.post("/api/folders/no-such/archive", json!({})).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn archives_list_the_tree_page_by_page_self_hosted() {
    archives(Deployment::SelfHosted(TestServer::start().await)).await;
}

#[tokio::test]
async fn archives_list_the_tree_page_by_page_in_the_cloud() {
    archives(Deployment::Cloud(Box::new(CloudServer::start().await))).await;
}

/// Folder links, on both deployments: what the holder of a link to a
/// folder, to a folder inside it and to one file inside it may reach, each
/// cell asserted; then passwords, limits counted once per archive, tickets,
/// moves, revoking and deleting.
async fn folder_links(deployment: Deployment) {
    let (ann, _) = deployment.person("ann").await;
    let (bob, _) = deployment.person("bob").await;
    let anon = deployment.anonymous();
    let trip = folder(&ann, "Trip", None).await;
    let day = folder(&ann, "day", Some(&trip)).await;
    let other = folder(&ann, "Other", None).await;
    let img = id(&ann.upload_in("img.jpg", b"pixels", Some(&day)).await["id"]);
    let a = id(&ann.upload_in("a.txt", b"notes", Some(&trip)).await["id"]);
    let top = id(&ann.upload_in("top.txt", b"top", None).await["id"]);
    ann.begin_in("pending.txt", b"soon", Some(&trip)).await.expect(201);
    let make = |path: String, body: Value| {
        let ann = ann.clone();
        async move { id(&ann.post(&path, body).await.expect(201)["token"]) }
    };
    let trip_link = make(format!("/api/folders/{trip}/links"), json!({})).await;
    let day_link = make(format!("/api/folders/{day}/links"), json!({})).await;
    let file_link = make(format!("/api/files/{a}/links"), json!({})).await;
    let holders = [("Trip", &trip_link), ("day", &day_link), ("a.txt", &file_link)];

    // (operation, status for the holder of the Trip link, the day link, the a.txt link)
    let cells: &[(&str, [u16; 3])] = &[
        ("info", [200, 200, 200]),
        ("list", [200, 200, 404]),
        ("list day", [200, 200, 404]),
        ("list Trip", [200, 404, 404]),
        ("list Other", [404, 404, 404]),
        ("download img", [200, 200, 404]),
        ("download a.txt", [200, 404, 200]),
        ("download top.txt", [404, 404, 404]),
        ("download, no file", [400, 400, 200]),
        ("archive", [200, 200, 404]),
        ("archive day", [200, 200, 404]),
        ("archive Trip", [200, 404, 404]),
    ];
    let mut wrong = Vec::new();
    for (op, want) in cells {
        for (i, (holder, token)) in holders.iter().enumerate() {
            let s = format!("/api/s/{token}");
            let r = match *op {
                "info" => anon.get(&s).await,
                "list" => anon.post(&format!("{s}/list"), json!({})).await,
                "list day" => anon.post(&format!("{s}/list"), json!({ "folder_id": day })).await,
                "list Trip" => anon.post(&format!("{s}/list"), json!({ "folder_id": trip })).await,
                "list Other" => anon.post(&format!("{s}/list"), json!({ "folder_id": other })).await,
                "download img" => anon.post(&format!("{s}/download"), json!({ "file_id": img })).await,
                "download a.txt" => anon.post(&format!("{s}/download"), json!({ "file_id": a })).await,
                "download top.txt" => anon.post(&format!("{s}/download"), json!({ "file_id": top })).await,
                "download, no file" => anon.post(&format!("{s}/download"), json!({})).await,
                "archive" => anon.post(&format!("{s}/archive"), json!({})).await,
                "archive day" => anon.post(&format!("{s}/archive"), json!({ "folder_id": day })).await,
                "archive Trip" => anon.post(&format!("{s}/archive"), json!({ "folder_id": trip })).await,
                other => panic!("no operation {other}"),
            };
            if r.status.as_u16() != want[i] {
                wrong.push(format!("{op} with the {holder} link: {} (want {}) {}", r.status, want[i], r.body));
            }
        }
    }
    assert!(wrong.is_empty(), "{}:\n  {}", deployment.name(), wrong.join("\n  "));

    // What the holder sees: the tree from the linked folder down, ready
    // files only, no owner and no sharing.
    let info = anon.get(&format!("/api/s/{trip_link}")).await.expect(200);
    assert_eq!(
        (info["kind"].as_str(), info["name"].as_str(), &info["size"]),
        (Some("folder"), Some("Trip"), &Value::Null)
    );
    let listed = anon.post(&format!("/api/s/{trip_link}/list"), json!({})).await.expect(200);
    let names = |v: &Value, k: &str| v[k].as_array().unwrap().iter().map(|f| id(&f["name"])).collect::<Vec<_>>();
    assert_eq!(
        (names(&listed, "folders"), names(&listed, "files")),
        (vec!["day".to_owned()], vec!["a.txt".to_owned()])
    );
    assert_eq!(listed["path"], json!([]));
    assert!(listed.to_string().find("owner").is_none(), "{listed}");
    let inner = anon.post(&format!("/api/s/{trip_link}/list"), json!({ "folder_id": day })).await.expect(200);
    assert_eq!((names(&inner, "path"), names(&inner, "files")), (vec!["Trip".to_owned()], vec!["img.jpg".to_owned()]));
    let from_day = anon.post(&format!("/api/s/{day_link}/list"), json!({ "folder_id": day })).await.expect(200);
    assert_eq!(from_day["path"], json!([]), "nothing above the linked folder");
    let url = anon.post(&format!("/api/s/{day_link}/download"), json!({ "file_id": img })).await.expect(200);
    assert_eq!(anon.fetch(url["url"].as_str().unwrap()).await, b"pixels");
    // Links are their owner's to list; nobody else's.
    let mine = ann.get(&format!("/api/folders/{trip}/links")).await.expect(200);
    assert_eq!(mine["links"][0]["folder_id"], json!(trip));
    assert_eq!(mine["links"][0]["file_id"], Value::Null);
    bob.get(&format!("/api/folders/{trip}/links")).await.expect_error(404, "not_found");
    anon.get(&format!("/api/folders/{trip}/links")).await.expect_error(401, "unauthenticated");
    bob.post(&format!("/api/folders/{trip}/links"), json!({})).await.expect_error(404, "not_found");

    // A file moved out of the folder is out of the link's reach at once.
    ann.patch(&format!("/api/files/{img}"), json!({ "folder_id": null })).await.expect(200);
    anon.post(&format!("/api/s/{trip_link}/download"), json!({ "file_id": img })).await.expect_error(404, "not_found");
    let inner = anon.post(&format!("/api/s/{trip_link}/list"), json!({ "folder_id": day })).await.expect(200);
    assert_eq!(inner["files"], json!([]));
    ann.patch(&format!("/api/files/{img}"), json!({ "folder_id": day })).await.expect(200);

    // A password and a limit of two: a ZIP counts once, however many
    // times its pages are asked for with its ticket; a file counts once.
    let body = json!({ "password": "correct horse", "max_downloads": 2 });
    let locked = make(format!("/api/folders/{trip}/links"), body).await;
    let s = format!("/api/s/{locked}");
    anon.post(&format!("{s}/list"), json!({})).await.expect_error(401, "password_required");
    anon.post(&format!("{s}/list"), json!({ "password": "wrong horse" })).await.expect_error(403, "wrong_password");
    anon.post(&format!("{s}/list"), json!({ "password": "correct horse" })).await.expect(200);
    anon.post(&format!("{s}/archive"), json!({})).await.expect_error(401, "password_required");
    let first = anon.post(&format!("{s}/archive"), json!({ "password": "correct horse" })).await.expect(200);
    let ticket = id(&first["ticket"]);
    assert_eq!(paths(&first), ["a.txt", "day", "day/img.jpg"]);
    let again = anon.post(&format!("{s}/archive"), json!({ "ticket": ticket, "cursor": "f:a.txt" })).await.expect(200);
    assert_eq!(paths(&again), ["day", "day/img.jpg"]);
    anon.post(&format!("{s}/archive"), json!({ "ticket": ticket })).await.expect(200);
    assert_eq!(anon.get(&s).await.expect(200)["downloads_left"], 1, "{}", deployment.name());
    // The ticket is for that archive of that link only.
    anon.post(&format!("{s}/archive"), json!({ "ticket": ticket, "folder_id": day }))
        .await
        .expect_error(404, "not_found");
    anon.post(&format!("/api/s/{trip_link}/archive"), json!({ "ticket": ticket })).await.expect_error(404, "not_found");
    anon.post(&format!("{s}/archive"), json!({ "ticket": "no-such-ticket" })).await.expect_error(404, "not_found");
    let body = json!({ "password": "correct horse", "file_id": a });
    anon.post(&format!("{s}/download"), body.clone()).await.expect(200);
    anon.post(&format!("{s}/download"), body).await.expect_error(410, "link_exhausted");
    anon.post(&format!("{s}/archive"), json!({ "password": "correct horse" }))
        .await
        .expect_error(410, "link_exhausted");
    // The archive counted before the link was used up still finishes.
    anon.post(&format!("{s}/archive"), json!({ "ticket": ticket, "cursor": "f:a.txt" })).await.expect(200);

    // The owner's log: the ZIP and the file, each once, through the link.
    let log = ann.get("/api/activity").await.expect(200);
    let through: Vec<(String, String)> = log["activity"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "downloaded" && a["link_id"].is_string())
        .map(|a| (id(&a["file_name"]), a["detail"].as_str().unwrap_or("").to_owned()))
        .collect();
    assert!(through.contains(&("Trip".to_owned(), "zip".to_owned())), "{through:?}");
    assert_eq!(through.iter().filter(|(n, d)| n == "Trip" && d == "zip").count(), 1 + 2, "{through:?}");
    assert!(through.iter().any(|(n, d)| n == "a.txt" && d == "2 of 2 downloads used"), "{through:?}");

    // Bad input.
    for bad in [json!({ "folder_id": 7 }), json!({ "x": 1 }), json!({ "cursor": "f:a" })] {
        anon.post(&format!("/api/s/{trip_link}/list"), bad).await.expect_error(400, "invalid_request");
    }
    anon.post(&format!("/api/s/{trip_link}/list"), json!({ "folder_id": "no such" }))
        .await
        .expect_error(404, "not_found");
    anon.post("/api/s/nosuchtoken/list", json!({})).await.expect_error(404, "link_not_available");
    anon.post(&format!("/api/s/{trip_link}/download"), json!({ "file_id": "../../etc" }))
        .await
        .expect_error(404, "not_found");

    // Revoking closes it, tickets and all; deleting the folder takes its
    // links (and those of folders inside it) with it.
    let trip_links = ann.get(&format!("/api/folders/{trip}/links")).await.expect(200);
    let locked_id =
        trip_links["links"].as_array().unwrap().iter().find(|l| l["max_downloads"] == 2).unwrap()["id"].clone();
    ann.delete(&format!("/api/links/{}", id(&locked_id))).await.expect(204);
    anon.post(&format!("{s}/archive"), json!({ "ticket": ticket })).await.expect_error(404, "link_not_available");
    anon.get(&s).await.expect_error(404, "link_not_available");
    ann.delete(&format!("/api/folders/{trip}")).await.expect(200);
    for token in [&trip_link, &day_link, &file_link] {
        anon.get(&format!("/api/s/{token}")).await.expect_error(404, "link_not_available");
    }
}

#[tokio::test]
async fn folder_links_reach_exactly_the_folder_self_hosted() {
    folder_links(Deployment::SelfHosted(TestServer::start().await)).await;
}

#[tokio::test]
async fn folder_links_reach_exactly_the_folder_in_the_cloud() {
    folder_links(Deployment::Cloud(Box::new(CloudServer::start().await))).await;
}

/// Uploads in progress into a shared folder, on both deployments: its
/// recipients see each one while it uploads, with how far it is, and not
/// its bytes until it is ready; only the uploader says how far it is.
async fn uploads_in_progress(deployment: Deployment) {
    let (ann, _) = deployment.person("ann").await;
    let (bob, bob_email) = deployment.person("bob").await;
    let (eve, _) = deployment.person("eve").await;
    let trip = folder(&ann, "Trip", None).await;
    share_folder(&ann, &trip, &bob_email).await;
    let mut feed = match &deployment {
        Deployment::SelfHosted(_) => {
            let mut f = bob.feed("").await;
            f.next().await;
            Some(f)
        }
        // In the cloud the browser listens to Firestore (tests/firestore_rules*.rs).
        Deployment::Cloud(_) => None,
    };

    let data = vec![7u8; 1000];
    let begun = ann.begin_in("big.bin", &data, Some(&trip)).await.expect(201);
    let up = id(&begun["file"]["id"]);
    let listed = |c: &Client, uploading: bool| {
        let path = format!("/api/files?within={trip}&uploading={uploading}");
        let c = c.clone();
        async move { c.get(&path).await.expect(200)["files"].clone() }
    };
    assert_eq!(listed(&bob, false).await, json!([]), "ready files only, unless asked");
    let seen = listed(&bob, true).await;
    assert_eq!((seen[0]["id"].as_str(), seen[0]["status"].as_str()), (Some(up.as_str()), Some("pending")));
    assert_eq!(seen[0]["received"], 0);
    if let Some(f) = feed.as_mut() {
        let m = f.until(|m| m["type"] == "change" && m["id"] == up.as_str()).await;
        assert_eq!((m["collection"].as_str(), m["kind"].as_str()), (Some("shared"), Some("added")), "{m}");
        assert_eq!(m["doc"]["status"], "pending");
    }

    let progress = |c: &Client, body: Value| {
        let (c, path) = (c.clone(), format!("/api/uploads/{up}/progress"));
        async move { c.post(&path, body).await }
    };
    let told = progress(&ann, json!({ "received": 400 })).await.expect(200);
    assert_eq!((told["file"]["received"].as_u64(), told["file"]["status"].as_str()), (Some(400), Some("pending")));
    assert_eq!(listed(&bob, true).await[0]["received"], 400, "{}", deployment.name());
    if let Some(f) = feed.as_mut() {
        let m = f.until(|m| m["type"] == "change" && m["id"] == up.as_str()).await;
        assert_eq!((m["kind"].as_str(), m["doc"]["received"].as_u64()), (Some("modified"), Some(400)), "{m}");
    }
    // A late report lowers nothing; nonsense is refused, and changes nothing.
    assert_eq!(progress(&ann, json!({ "received": 100 })).await.expect(200)["file"]["received"], 400);
    for bad in [
        json!({ "received": 1001 }),
        json!({ "received": -1 }),
        json!({ "received": "500" }),
        json!({ "received": 1.5 }),
        json!({}),
        json!({ "received": 500, "extra": true }),
    ] {
        let r = progress(&ann, bad.clone()).await;
        assert_eq!(r.status.as_u16(), 400, "{bad}: {}", r.body);
    }
    // Only the uploader says how far it is; a recipient sees it, not its bytes.
    progress(&bob, json!({ "received": 500 })).await.expect_error(404, "not_found");
    progress(&eve, json!({ "received": 500 })).await.expect_error(404, "not_found");
    progress(&deployment.anonymous(), json!({ "received": 500 })).await.expect_error(401, "unauthenticated");
    assert_eq!(bob.get(&format!("/api/files/{up}")).await.expect(200)["file"]["status"], "pending");
    bob.post(&format!("/api/files/{up}/download"), json!({})).await.expect_error(409, "file_not_ready");
    eve.get(&format!("/api/files/{up}")).await.expect_error(404, "not_found");
    eve.get(&format!("/api/files?within={trip}&uploading=true")).await.expect_error(404, "not_found");
    ann.get("/api/files?uploading=yes").await.expect_error(400, "invalid_request");
    assert_eq!(listed(&bob, true).await[0]["received"], 400);

    // Renamed or moved while it uploads: the recipients see that at once, and
    // a move out of the shared folder takes it from them until it is back.
    let file = format!("/api/files/{up}");
    ann.patch(&file, json!({ "name": "bigger.bin" })).await.expect(200);
    assert_eq!(listed(&bob, true).await[0]["name"], "bigger.bin");
    if let Some(f) = feed.as_mut() {
        let m = f.until(|m| m["type"] == "change" && m["id"] == up.as_str()).await;
        assert_eq!((m["kind"].as_str(), m["doc"]["name"].as_str()), (Some("modified"), Some("bigger.bin")), "{m}");
        assert_eq!(m["doc"]["status"], "pending");
    }
    ann.patch(&file, json!({ "folder_id": null })).await.expect(200);
    assert_eq!(listed(&bob, true).await, json!([]));
    bob.get(&file).await.expect_error(404, "not_found");
    if let Some(f) = feed.as_mut() {
        let m = f.until(|m| m["type"] == "change" && m["id"] == up.as_str()).await;
        assert_eq!((m["collection"].as_str(), m["kind"].as_str()), (Some("shared"), Some("removed")), "{m}");
    }
    ann.patch(&file, json!({ "folder_id": trip })).await.expect(200);
    assert_eq!(listed(&bob, true).await[0]["received"], 400);
    if let Some(f) = feed.as_mut() {
        let m = f.until(|m| m["type"] == "change" && m["id"] == up.as_str()).await;
        assert_eq!((m["kind"].as_str(), m["doc"]["status"].as_str()), (Some("added"), Some("pending")), "{m}");
    }

    // Its bytes arrive and it completes: ready, all of it, nothing more to say.
    let put = ann.http.put(ann.url(begun["upload"]["url"].as_str().unwrap())).body(data).send().await.unwrap();
    assert_eq!(put.status(), 200);
    ann.post(&format!("/api/uploads/{up}/complete"), json!({})).await.expect(200);
    let seen = listed(&bob, false).await;
    assert_eq!((seen[0]["status"].as_str(), seen[0]["received"].as_u64()), (Some("ready"), Some(1000)));
    progress(&ann, json!({ "received": 1000 })).await.expect_error(409, "not_pending");
    if let Some(f) = feed.as_mut() {
        let m = f.until(|m| m["type"] == "change" && m["id"] == up.as_str()).await;
        assert_eq!((m["kind"].as_str(), m["doc"]["status"].as_str()), (Some("added"), Some("ready")), "{m}");
    }

    // An upload given up goes from the recipients' view as well.
    let dropped = ann.begin_in("dropped.bin", b"never sent", Some(&trip)).await.expect(201);
    let dropped = id(&dropped["file"]["id"]);
    assert_eq!(listed(&bob, true).await.as_array().unwrap().len(), 2);
    ann.delete(&format!("/api/uploads/{dropped}")).await.expect(204);
    assert_eq!(listed(&bob, true).await.as_array().unwrap().len(), 1);
    if let Some(f) = feed.as_mut() {
        let m = f.until(|m| m["type"] == "change" && m["id"] == dropped.as_str() && m["kind"] != "added").await;
        assert_eq!((m["collection"].as_str(), m["kind"].as_str()), (Some("shared"), Some("removed")), "{m}");
    }
}

#[tokio::test]
async fn uploads_in_progress_are_seen_in_the_folder_with_their_progress_self_hosted() {
    uploads_in_progress(Deployment::SelfHosted(TestServer::start().await)).await;
}

#[tokio::test]
async fn uploads_in_progress_are_seen_in_the_folder_with_their_progress_in_the_cloud() {
    uploads_in_progress(Deployment::Cloud(Box::new(CloudServer::start().await))).await;
}

/// Every page of a selection's archive, from the first.
async fn selection_pages(c: &Client, body: Value) -> Vec<Value> {
    let mut pages = vec![c.post("/api/archive", body.clone()).await.expect(200)];
    while let Some(cursor) = pages.last().unwrap()["next_cursor"].as_str() {
        let mut next = body.clone();
        next["cursor"] = json!(cursor);
        pages.push(c.post("/api/archive", next).await.expect(200));
    }
    pages
}

/// A selection of one folder's files and folders as one ZIP, on both
/// deployments: exactly what was selected, each folder with its tree, for
/// whoever sees the folder; nothing of anything else.
async fn selection_archives(deployment: Deployment) {
    let (ann, ann_email) = deployment.person("ann").await;
    let (bob, bob_email) = deployment.person("bob").await;
    let (eve, _) = deployment.person("eve").await;
    let trip = folder(&ann, "Trip", None).await;
    let a = id(&ann.upload_in("a.txt", b"ay", Some(&trip)).await["id"]);
    let b = id(&ann.upload_in("B.txt", b"bee", Some(&trip)).await["id"]);
    let left = id(&ann.upload_in("left out.txt", b"no", Some(&trip)).await["id"]);
    let day = folder(&ann, "day", Some(&trip)).await;
    let inner = folder(&ann, "inner", Some(&day)).await;
    ann.upload_in("img.jpg", b"pixels", Some(&day)).await;
    let page = livedrop::service::ARCHIVE_PAGE;
    for i in 0..page {
        ann.upload_in(&format!("f{i:03}.txt"), format!("file {i}").as_bytes(), Some(&inner)).await;
    }
    let other = folder(&ann, "other", Some(&trip)).await;
    ann.upload_in("not me.txt", b"no", Some(&other)).await;
    let pending = id(&ann.begin_in("soon.txt", b"soon", Some(&trip)).await.expect(201)["file"]["id"]);
    let top = id(&ann.upload_in("top.txt", b"top", None).await["id"]);

    let selected = json!({ "files": [b, a, a], "folders": [day] });
    let pages = selection_pages(&ann, selected.clone()).await;
    assert_eq!(pages.len(), 2, "{}", deployment.name());
    assert_eq!(pages[0]["name"], "Trip");
    let all: Vec<String> = pages.iter().flat_map(paths).collect();
    let mut want: Vec<String> =
        ["a.txt", "B.txt", "day", "day/img.jpg", "day/inner"].into_iter().map(String::from).collect();
    want.extend((0..page).map(|i| format!("day/inner/f{i:03}.txt")));
    assert_eq!(all, want, "{}: the selection, folders with their trees, nothing else", deployment.name());
    let first = &pages[0]["entries"][0];
    assert_eq!(ann.fetch(first["url"].as_str().unwrap()).await, b"ay");
    // Asked again to re-sign: the same page, not another download.
    let mut again = selected.clone();
    again["cursor"] = pages[0]["next_cursor"].clone();
    again["again"] = json!(true);
    assert_eq!(paths(&ann.post("/api/archive", again).await.expect(200)), paths(&pages[1]));

    // Whoever sees the folder selects in it; the log says what was taken.
    share_folder(&ann, &trip, &bob_email).await;
    let bobs = selection_pages(&bob, json!({ "files": [left] })).await;
    assert_eq!(paths(&bobs[0]), ["left out.txt"]);
    assert_eq!(bob.fetch(bobs[0]["entries"][0]["url"].as_str().unwrap()).await, b"no");
    let log = ann.get("/api/activity").await.expect(200);
    let zips: Vec<(Value, Value)> = log["activity"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["detail"] == "zip")
        .map(|a| (a["actor_email"].clone(), a["file_name"].clone()))
        .collect();
    assert_eq!(
        zips,
        [(json!(bob_email), json!("1 item from Trip")), (json!(ann_email), json!("3 items from Trip"))],
        "{}",
        deployment.name()
    );

    // At the top of one's own files: "My files", and nothing logged.
    let mine = ann.post("/api/archive", json!({ "files": [top] })).await.expect(200);
    assert_eq!((mine["name"].as_str(), paths(&mine)), (Some("My files"), vec!["top.txt".to_owned()]));

    // Refused: someone else's, a mix of folders, an upload in progress, bad input.
    for stranger in [json!({ "files": [a] }), json!({ "folders": [day] }), json!({ "files": [top] })] {
        eve.post("/api/archive", stranger.clone()).await.expect_error(404, "not_found");
    }
    bob.post("/api/archive", json!({ "files": [top] })).await.expect_error(404, "not_found");
    deployment.anonymous().post("/api/archive", json!({ "files": [a] })).await.expect_error(401, "unauthenticated");
    ann.post("/api/archive", json!({ "files": [a, top] })).await.expect_error(400, "invalid_request");
    ann.post("/api/archive", json!({ "files": [a], "folders": [inner] })).await.expect_error(400, "invalid_request");
    ann.post("/api/archive", json!({ "files": [pending] })).await.expect_error(409, "file_not_ready");
    let over: Vec<String> = (0..=livedrop::service::MAX_SELECTION).map(|_| a.clone()).collect();
    for bad in [
        json!({}),
        json!({ "files": [] }),
        json!({ "files": over }),
        json!({ "files": "a" }),
        json!({ "files": [a], "cursor": "no kind" }),
        json!({ "files": [a], "extra": 1 }),
    ] {
        let r = ann.post("/api/archive", bad.clone()).await;
        assert_eq!(r.status.as_u16(), 400, "{bad}: {}", r.body);
    }
    ann.post("/api/archive", json!({ "files": ["no-such-file"] })).await.expect_error(404, "not_found");
    ann.post("/api/archive", json!({ "folders": ["../../etc"] })).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn a_selection_downloads_as_one_archive_self_hosted() {
    selection_archives(Deployment::SelfHosted(TestServer::start().await)).await;
}

#[tokio::test]
async fn a_selection_downloads_as_one_archive_in_the_cloud() {
    selection_archives(Deployment::Cloud(Box::new(CloudServer::start().await))).await;
}
