//! Upgrades lose nothing: a data dir that a previous release wrote opens
//! under this one, through the migrations that run at start.
//!
//! Each folder in `tests/data/upgrade/` is named after a release commit and
//! holds what `scripts/make-upgrade-fixture.sh` made with that release's
//! binary: `data/` (its `livedrop.db`, `secret` and `blobs/`) and
//! `manifest.json` (what the data holds, and what that release answered to
//! read-only requests about it). The test works on a copy; the fixture is
//! never written.

mod common;

use std::path::{Path, PathBuf};

use common::{Client, TestServer};
use jiff::SignedDuration;
use livedrop::server::ServeOptions;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/upgrade");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("manifest.json").exists())
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn data_of_previous_releases_opens_with_nothing_lost() {
    let fixtures = fixtures();
    assert!(!fixtures.is_empty(), "no fixtures in tests/data/upgrade");
    for fixture in fixtures {
        upgrade_from(&fixture).await;
    }
}

/// Pending uploads are kept (the fixture ages; the sweep that runs at start
/// must not take them before the test looks).
fn keep_pending(o: &mut ServeOptions) {
    o.config.pending_ttl = SignedDuration::from_hours(24 * 365 * 100);
}

async fn upgrade_from(fixture: &Path) {
    let m: Value = serde_json::from_slice(&std::fs::read(fixture.join("manifest.json")).unwrap()).unwrap();
    let release = m["release"].as_str().unwrap().to_owned();
    eprintln!("upgrading the data dir of release {release} ({})", fixture.display());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    copy_dir(&fixture.join("data"), &dir);
    let video_session = refresh_sessions(&dir);

    let latest = latest_schema_version(tmp.path());
    assert!(latest >= 1, "the schema has migrations, so the latest user_version is at least 1");
    let before = user_version(&dir);
    assert!(before < latest, "release {release} wrote schema version {before}, older than this one's {latest}");

    let server = TestServer::start_in(&dir, keep_pending).await;
    let person = |who: &str| -> Client {
        match who {
            "anon" => server.anonymous(),
            who => Client { bearer: Some(str_at(&m, &["accounts", who, "api_token"])), ..server.anonymous() },
        }
    };

    // What the previous release answered, this one answers too (its own
    // new fields aside), through the API tokens it issued.
    for snap in m["snapshots"].as_array().unwrap() {
        let path = snap["path"].as_str().unwrap();
        let now = person(snap["as"].as_str().unwrap()).get(path).await;
        assert_eq!(now.status, StatusCode::OK, "{release}: GET {path}: {:?}", now.body);
        assert_kept(&snap["body"], &now.body, &format!("{release}: GET {path} as {}", snap["as"]));
    }

    // Both people sign in with their passwords.
    let password = m["password"].as_str().unwrap();
    let ann = sign_in(&server, &str_at(&m, &["accounts", "ann", "email"]), password).await;
    let bob = sign_in(&server, &str_at(&m, &["accounts", "bob", "email"]), password).await;
    let owner = |f: &Value| if f["owner"] == "ann" { &ann } else { &bob };

    // Their files: listed with their names, sizes and checksums, and each
    // downloads byte for byte.
    let files = m["files"].as_array().unwrap();
    for (who, client) in [("ann", &ann), ("bob", &bob)] {
        let listed = client.get("/api/files?limit=1000").await.expect(200)["files"].as_array().unwrap().clone();
        let mine: Vec<&Value> = files.iter().filter(|f| f["owner"] == who).collect();
        assert_eq!(listed.len(), mine.len(), "{release}: {who}'s ready files, and only those: {listed:?}");
        for f in mine {
            let l = listed.iter().find(|l| l["id"] == f["id"]).unwrap_or_else(|| panic!("{release}: {f} not listed"));
            for k in ["name", "size", "crc32c", "content_type", "status"] {
                assert_eq!(l[k], f[k], "{release}: {k} of {}", f["key"]);
            }
        }
    }
    for f in files {
        let data = content(f);
        assert_eq!(owner(f).download(id(f)).await, data, "{release}: the bytes of {}", f["key"]);
    }
    let deleted = &m["deleted"];
    ann.get(&format!("/api/files/{}", id(deleted))).await.expect_error(404, "not_found");

    // API tokens of the previous release are still there, and still work
    // (the snapshots above used them).
    let tokens = ann.get("/api/tokens").await.expect(200);
    assert!(
        tokens["tokens"].as_array().unwrap().iter().any(|t| t["id"] == m["accounts"]["ann"]["api_token_id"]),
        "{release}: {tokens}"
    );

    // Accounts of the previous release have not proved their addresses
    // (it never asked): what was shared before stays theirs, and new shares
    // wait until they do. Download letters are off; tokens never expire.
    let me = ann.get("/api/me").await.expect(200);
    assert_eq!((&me["email_verified"], &me["download_notices"]), (&json!(false), &json!(false)), "{release}: {me}");
    assert!(tokens["tokens"].as_array().unwrap().iter().all(|t| t["expires_at"].is_null()), "{release}: {tokens}");

    // Shares: bob still sees what ann shared with him.
    let shared = bob.get("/api/files?scope=shared").await.expect(200)["files"].as_array().unwrap().clone();
    let bob_email = &m["accounts"]["bob"]["email"];
    for f in files.iter().filter(|f| f["shared_with"].as_array().is_some_and(|a| a.contains(bob_email))) {
        assert!(shared.iter().any(|s| s["id"] == f["id"]), "{release}: bob no longer sees {}: {shared:?}", f["key"]);
        assert_eq!(bob.download(id(f)).await, content(f), "{release}: bob's copy of {}", f["key"]);
    }

    // The invitation still waits for carol; once she has signed up and
    // proved her address (here through an invitation's link), it is hers.
    let carol_email = m["invited"].as_str().unwrap();
    let invited: Vec<&Value> = files.iter().filter(|f| f["invited"].as_array().is_some()).collect();
    assert!(!invited.is_empty());
    for f in &invited {
        let shares = ann.get(&format!("/api/files/{}", id(f))).await.expect(200)["shares"].clone();
        assert_eq!(shares, json!([{ "email": carol_email, "user_id": null, "pending": true }]), "{release}");
    }
    let carol = server.sign_up(carol_email).await;
    let carols = carol.get("/api/files?scope=shared").await.expect(200)["files"].as_array().unwrap().clone();
    assert_eq!(carols.len(), invited.len(), "{release}: carol's shares: {carols:?}");
    for f in &invited {
        assert!(carols.iter().any(|c| c["id"] == f["id"]), "{release}: {} not shared with carol", f["key"]);
        assert_eq!(carol.download(id(f)).await, content(f));
        let shares = ann.get(&format!("/api/files/{}", id(f))).await.expect(200)["shares"].clone();
        assert_eq!(shares[0]["pending"], false, "{release}: {shares}");
    }

    // The public link: still opens with its password, and counts on from
    // the downloads the previous release counted.
    let link = &m["link"];
    let token = link["token"].as_str().unwrap();
    let linked = files.iter().find(|f| f["key"] == link["file"]).unwrap();
    let max = link["max_downloads"].as_u64().unwrap();
    let done = link["downloads"].as_u64().unwrap();
    let anon = server.anonymous();
    let info = anon.get(&format!("/api/s/{token}")).await.expect(200);
    assert_eq!((info["downloads_left"].as_u64(), info["password_required"].as_bool()), (Some(max - done), Some(true)));
    anon.post(&format!("/api/s/{token}/download"), json!({})).await.expect_error(401, "password_required");
    anon.post(&format!("/api/s/{token}/download"), json!({ "password": "not the password" }))
        .await
        .expect_error(403, "wrong_password");
    for _ in done..max {
        let signed = anon.post(&format!("/api/s/{token}/download"), json!({ "password": link["password"] })).await;
        let url = signed.expect(200)["url"].as_str().unwrap().to_owned();
        let got = anon.http.get(anon.url(&url)).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(got.to_vec(), content(linked), "{release}: the bytes behind the link");
    }
    anon.post(&format!("/api/s/{token}/download"), json!({ "password": link["password"] }))
        .await
        .expect_error(410, "link_exhausted");
    let links = ann.get(&format!("/api/files/{}/links", id(linked))).await.expect(200);
    assert_eq!(links["links"][0]["downloads"], max, "{release}: {links}");

    // Activity: still listed (the snapshots compared it whole), every kind
    // the previous release logged, the deleted file's too.
    let activity = ann.get("/api/activity?limit=1000").await.expect(200)["activity"].as_array().unwrap().clone();
    for kind in ["uploaded", "renamed", "shared", "link_created", "downloaded", "viewed", "deleted"] {
        assert!(activity.iter().any(|a| a["kind"] == kind), "{release}: no {kind} activity");
    }
    assert!(activity.iter().any(|a| a["file_id"] == deleted["id"] && a["kind"] == "deleted"), "{release}");

    // Unfinished uploads are still pending, and finish under this release.
    let pending = m["pending"].as_array().unwrap();
    for p in pending {
        let f = ann.get(&format!("/api/files/{}", id(p))).await.expect(200)["file"].clone();
        assert_eq!((&f["status"], &f["name"], &f["size"]), (&json!("pending"), &p["name"], &p["size"]), "{release}");
        // That release kept no count of bytes received: none is claimed.
        assert_eq!(f["received"], 0, "{release}: {f}");
    }
    let mut finished = vec![];
    for p in pending {
        match p["stored"].as_str() {
            // Its bytes were stored whole: completing it is all that is left.
            Some("whole") => {}
            // A resumable session, partly sent: ask where it stands, send the rest.
            Some("session") => {
                let location = p["session"]["location"].as_str().unwrap();
                let sent = p["session"]["sent"].as_u64().unwrap() as usize;
                let data = content(p);
                let status = ann
                    .http
                    .put(ann.url(location))
                    .header("content-range", format!("bytes */{}", data.len()))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(status.status(), 308, "{release}: the session of {}", p["key"]);
                assert_eq!(status.headers()["range"], format!("bytes=0-{}", sent - 1), "{release}");
                let rest = ann
                    .http
                    .put(ann.url(location))
                    .header("content-range", format!("bytes {sent}-{}/{}", data.len() - 1, data.len()))
                    .body(data[sent..].to_vec())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(rest.status(), 200, "{release}: the rest of {}", p["key"]);
            }
            _ => continue,
        }
        let done = ann.post(&format!("/api/uploads/{}/complete", id(p)), json!({})).await.expect(200);
        assert_eq!((&done["file"]["status"], &done["file"]["crc32c"]), (&json!("ready"), &p["crc32c"]), "{release}");
        assert_eq!(ann.download(id(p)).await, content(p), "{release}: the bytes of {}", p["key"]);
        finished.push(p);
    }
    assert!(!finished.is_empty() && video_session, "{release}: the fixture has unfinished uploads to finish");
    let still_pending: Vec<&Value> = pending.iter().filter(|p| !finished.contains(p)).collect();
    assert!(!still_pending.is_empty(), "{release}: the fixture has an upload that stays pending");

    // New data on the upgraded dir: an upload, completed and downloaded.
    let new_bytes = common::bytes(3000, 42);
    let new_file = ann.upload("after the upgrade.bin", &new_bytes).await;
    let new_id = new_file["id"].as_str().unwrap().to_owned();
    assert_eq!(ann.download(&new_id).await, new_bytes);

    // Folders (schema step 4): every file the release left is at the top,
    // and holds its name there.
    let all = ann.get("/api/files?limit=1000").await.expect(200)["files"].as_array().unwrap().clone();
    let top = ann.get("/api/files?within=top&limit=1000").await.expect(200)["files"].as_array().unwrap().clone();
    assert_eq!(all.len(), top.len(), "{release}: every file is at the top");
    assert!(all.iter().all(|f| f["folder_id"].is_null()), "{release}");
    let old = all.iter().find(|f| f["id"] != new_id.as_str()).expect("a file from the release").clone();
    let old_name = old["name"].as_str().unwrap();
    let beside = ann.upload(old_name, b"beside").await;
    assert_ne!(beside["name"], old["name"], "{release}: a new upload of {old_name} is kept beside it, renamed");
    let trip = ann.post("/api/folders", json!({ "name": "Trip" })).await.expect(201)["folder"]["id"].clone();
    let moved = ann.patch(&format!("/api/files/{}", id(&old)), json!({ "folder_id": trip })).await.expect(200);
    assert_eq!(moved["file"]["folder_id"], trip, "{release}: an old file moves into a new folder");
    let inside = ann.get(&format!("/api/files?within={}", trip.as_str().unwrap())).await.expect(200);
    assert_eq!(inside["files"][0]["id"], old["id"], "{release}");
    ann.patch(&format!("/api/files/{}", id(&old)), json!({ "folder_id": null })).await.expect(200);
    ann.delete(&format!("/api/files/{}", id(&beside))).await.expect(204);
    ann.delete(&format!("/api/folders/{}", trip.as_str().unwrap())).await.expect(200);
    server.stop().await;

    // The schema is the latest, as a fresh data dir's.
    assert_eq!(user_version(&dir), latest, "{release}: the schema version after the upgrade");
    assert_eq!(schema(&dir.join("livedrop.db")), schema(&tmp.path().join("fresh.db")), "{release}");

    // The sweep takes what stayed pending, as stale, and nothing else: no
    // object the previous release stored is taken for an orphan.
    let mut opts = ServeOptions::new(&dir);
    opts.config.pending_ttl = SignedDuration::ZERO;
    let app = livedrop::server::build(&opts).unwrap();
    let report = app.service.sweep().await.unwrap();
    assert_eq!(report.pending_files, still_pending.len() as u64, "{release}: {report:?}");
    assert_eq!(report.orphan_objects, 0, "{release}: {report:?}");
    drop(app);

    // And a second start on the same dir: everything is still there.
    let server = TestServer::start_in(&dir, keep_pending).await;
    let ann = Client { base: server.base.clone(), ..ann };
    let bob = Client { base: server.base.clone(), ..bob };
    let owner = |f: &Value| if f["owner"] == "ann" { &ann } else { &bob };
    for f in files {
        assert_eq!(owner(f).download(id(f)).await, content(f), "{release}: {} after the second start", f["key"]);
    }
    for p in &finished {
        assert_eq!(ann.download(id(p)).await, content(p), "{release}: {} after the second start", p["key"]);
    }
    assert_eq!(ann.download(&new_id).await, new_bytes);
    for p in &still_pending {
        ann.get(&format!("/api/files/{}", id(p))).await.expect_error(404, "not_found");
    }
    let listed = ann.get("/api/files?limit=1000").await.expect(200)["files"].as_array().unwrap().len();
    let ann_files = files.iter().filter(|f| f["owner"] == "ann").count();
    assert_eq!(listed, ann_files + finished.len() + 1, "{release}");
    let again = ann.get("/api/activity?limit=1000").await.expect(200)["activity"].as_array().unwrap().len();
    assert!(again > activity.len(), "{release}: activity after the second start");
    server.stop().await;
    assert_eq!(user_version(&dir), latest);
}

// ----- helpers -----

fn id(f: &Value) -> &str {
    f["id"].as_str().unwrap()
}

fn str_at(v: &Value, path: &[&str]) -> String {
    path.iter().fold(v, |v, k| &v[*k]).as_str().unwrap_or_else(|| panic!("no {path:?} in the manifest")).to_owned()
}

/// A file's bytes, as the manifest says the script made them; checked
/// against the size, CRC32C and SHA-256 it recorded.
fn content(f: &Value) -> Vec<u8> {
    let c = &f["content"];
    let data = match c["text"].as_str() {
        Some(text) => text.as_bytes().to_vec(),
        None => common::bytes(c["len"].as_u64().unwrap() as usize, c["seed"].as_u64().unwrap() as u8),
    };
    assert_eq!(data.len() as u64, f["size"].as_u64().unwrap(), "the size of {}", f["key"]);
    assert_eq!(livedrop::domain::Crc32c::of(&data).encode(), f["crc32c"].as_str().unwrap(), "{}", f["key"]);
    let sha: String = sha2::Sha256::digest(&data).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(sha, f["sha256"].as_str().unwrap(), "the SHA-256 of {}", f["key"]);
    data
}

async fn sign_in(server: &TestServer, email: &str, password: &str) -> Client {
    let anon = server.anonymous();
    let resp = anon
        .http
        .post(server.url("/api/auth/signin"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "sign-in of {email}");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    Client { cookie: Some(cookie), csrf: Some(body["csrf_token"].as_str().unwrap().to_owned()), ..anon }
}

/// `old` is in `new`: every field `old` has, `new` has with the same value
/// (`new` may have more); arrays match element by element.
fn assert_kept(old: &Value, new: &Value, at: &str) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, v) in o {
                let Some(nv) = n.get(k) else { panic!("{at}: `{k}` is gone (was {v})") };
                assert_kept(v, nv, &format!("{at}.{k}"));
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            assert_eq!(o.len(), n.len(), "{at}: {} items, was {}: {new}", n.len(), o.len());
            for (i, (ov, nv)) in o.iter().zip(n).enumerate() {
                assert_kept(ov, nv, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(old, new, "{at}"),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Moves the clock of the fixture's resumable sessions to now, as if the
/// upgrade came within their lifetime (the sweep at start removes older
/// ones; the fixture only ages). Whether there was one.
fn refresh_sessions(dir: &Path) -> bool {
    let mut any = false;
    for entry in std::fs::read_dir(dir.join("blobs/sessions")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let mut s: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert!(s["created_at"].is_i64(), "a session records when it started: {s}");
            s["created_at"] = json!(jiff::Timestamp::now().as_millisecond());
            std::fs::write(&path, serde_json::to_vec(&s).unwrap()).unwrap();
            any = true;
        }
    }
    any
}

fn user_version(dir: &Path) -> i64 {
    let db = rusqlite::Connection::open(dir.join("livedrop.db")).unwrap();
    db.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
}

/// The schema version this release gives a fresh database (in `dir`).
fn latest_schema_version(dir: &Path) -> i64 {
    drop(livedrop::store::sqlite::Db::open(&dir.join("fresh.db"), 1).unwrap());
    let db = rusqlite::Connection::open(dir.join("fresh.db")).unwrap();
    db.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
}

/// Every table's columns and every index, by name.
fn schema(db: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(db).unwrap();
    let mut names: Vec<(String, String)> = db
        .prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    names.sort();
    let mut out = vec![];
    for (kind, name) in names {
        out.push(format!("{kind} {name}"));
        if kind == "table" {
            let cols = db
                .prepare(&format!("PRAGMA table_info(\"{name}\")"))
                .unwrap()
                .query_map([], |r| {
                    Ok(format!(
                        "  {} {} notnull={} default={:?} pk={}",
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, i64>(5)?
                    ))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>();
            out.extend(cols);
        }
    }
    out
}
