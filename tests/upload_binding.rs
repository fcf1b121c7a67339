//! Upload targets bound to the pending file they were issued for, and the
//! reconcile sweep, on both deployments: what a replayed URL, an oversized
//! body, a crash or a racing sweep can and cannot do.
//!
//! fake-gcs-server, which stands in for Cloud Storage, ignores the
//! preconditions GCS enforces (`x-goog-if-generation-match`,
//! `x-goog-content-length-range`): in the cloud these tests check that every
//! upload target signs them, and that nothing a replay writes is ever served
//! (downloads are pinned to the generation completion verified).

mod common;

use common::cloud::CloudServer;
use common::{Client, Deployment, TestServer, bytes};
use jiff::SignedDuration;
use livedrop::blob::BlobStore;
use livedrop::domain::{Crc32c, FileId};
use serde_json::{Value, json};

const SECRET: &str = "a-cron-secret-for-the-tests-only";

/// Every test here sweeps by hand, with pending uploads stale at once.
async fn self_hosted() -> Deployment {
    Deployment::SelfHosted(
        TestServer::start_with(|o| {
            o.config.cron_secret = Some(SECRET.into());
            o.config.pending_ttl = SignedDuration::ZERO;
        })
        .await,
    )
}

/// The cloud deployments share the emulators' Firestore and bucket, and a
/// sweep with every pending upload stale sweeps them all: one at a time,
/// each starting from a sweep of what earlier tests left. The lock holds
/// within one process, as `cargo test` runs a file's tests (a runner with a
/// process per test, such as nextest, would race them and fail).
static ONE_CLOUD_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn cloud() -> (Deployment, tokio::sync::MutexGuard<'static, ()>) {
    let turn = ONE_CLOUD_AT_A_TIME.lock().await;
    let env = [("CRON_SECRET", SECRET), ("LIVEDROP_PENDING_TTL", "0s")];
    let world = Deployment::Cloud(Box::new(CloudServer::start_with(&env).await));
    sweep(&world).await;
    (world, turn)
}

fn is_cloud(world: &Deployment) -> bool {
    matches!(world, Deployment::Cloud(_))
}

/// Sends `body` to an upload target (or a session `Location`) the way a
/// client does: its method and the headers it signed.
async fn send(c: &Client, target: &Value, body: Vec<u8>) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(target["method"].as_str().unwrap().as_bytes()).unwrap();
    let mut req = c.http.request(method, c.url(target["url"].as_str().unwrap())).body(body);
    for h in target["headers"].as_array().unwrap() {
        req = req.header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
    }
    req.send().await.unwrap()
}

fn signs_the_preconditions(target: &Value, size: usize) -> bool {
    let headers: Vec<(String, String)> = serde_json::from_value(target["headers"].clone()).unwrap();
    let has = |k: &str, v: &str| headers.iter().any(|(hk, hv)| hk == k && hv == v);
    has("x-goog-if-generation-match", "0") && has("x-goog-content-length-range", &format!("0,{size}"))
}

async fn begin(c: &Client, name: &str, data: &[u8]) -> (String, Value) {
    let body = json!({
        "name": name, "size": data.len(), "content_type": "application/octet-stream",
        "crc32c": Crc32c::of(data).encode(),
    });
    let begun = c.post("/api/uploads", body).await.expect(201);
    (begun["file"]["id"].as_str().unwrap().to_owned(), begun["upload"].clone())
}

async fn complete(c: &Client, id: &str) -> common::Reply {
    c.post(&format!("/api/uploads/{id}/complete"), json!({})).await
}

async fn sweep(world: &Deployment) -> Value {
    let base = match world {
        Deployment::SelfHosted(s) => s.base.clone(),
        Deployment::Cloud(c) => c.base.clone(),
    };
    let resp = reqwest::Client::new().get(format!("{base}/api/cron/sweep")).bearer_auth(SECRET).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// What the deployment's storage holds under a file id: bytes (size,
/// checksum), or nothing (a tombstone, or no object at all).
async fn stored(world: &Deployment, id: &str) -> Option<(u64, Crc32c)> {
    let id = FileId::parse(id).unwrap();
    let info = match world {
        Deployment::SelfHosted(s) => {
            let app = livedrop::server::build(&livedrop::server::ServeOptions::new(&s.data_dir)).unwrap();
            app.blobs.stat(&id).await.unwrap()
        }
        Deployment::Cloud(c) => c.bucket().stat(&id).await.unwrap(),
    };
    info.map(|i| (i.size, i.crc32c))
}

/// Self-hosted, no file of the id is left on disk but its tombstone.
fn nothing_on_disk_but_a_tombstone(world: &Deployment, id: &str) {
    if let Deployment::SelfHosted(s) = world {
        let objects = s.data_dir.join("blobs/objects");
        let left: Vec<String> = std::fs::read_dir(&objects)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(id))
            .collect();
        assert!(left.iter().all(|n| n.ends_with(".tomb")), "left on disk for {id}: {left:?}");
        let sessions = std::fs::read_dir(s.data_dir.join("blobs/sessions")).unwrap().count();
        assert_eq!(sessions, 0, "no session files are left");
    }
}

/// Replays `target` with other bytes: refused self-hosted; in the cloud the
/// target signs what GCS would refuse it with.
async fn replay_is_refused(world: &Deployment, c: &Client, target: &Value, size: usize, when: &str) {
    if is_cloud(world) {
        assert!(signs_the_preconditions(target, size), "{when}: {target}");
        return;
    }
    let resp = send(c, target, vec![0x5a; size]).await;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("upload_closed")), "{when}: {body}");
}

async fn targets_take_bytes_only_while_pending(world: Deployment) {
    let (ann, _) = world.person("ann").await;
    let data = bytes(1000, 3);

    // After complete: the bytes recipients get are the ones complete verified.
    let (id, put) = begin(&ann, "report.pdf", &data).await;
    assert_eq!(send(&ann, &put, data.clone()).await.status(), 200);
    complete(&ann, &id).await.expect(200);
    replay_is_refused(&world, &ann, &put, data.len(), "after complete").await;
    if !is_cloud(&world) {
        assert_eq!(stored(&world, &id).await, Some((1000, Crc32c::of(&data))));
        assert_eq!(ann.download(&id).await, data);
    }

    // After delete: the replay recreates nothing.
    ann.delete(&format!("/api/files/{id}")).await.expect(204);
    replay_is_refused(&world, &ann, &put, data.len(), "after delete").await;
    assert_eq!(stored(&world, &id).await, None);
    nothing_on_disk_but_a_tombstone(&world, &id);

    // After abort, before any byte arrived.
    let (id, put) = begin(&ann, "draft.txt", &data).await;
    ann.delete(&format!("/api/uploads/{id}")).await.expect(204);
    replay_is_refused(&world, &ann, &put, data.len(), "after abort").await;
    assert_eq!(stored(&world, &id).await, None);
    nothing_on_disk_but_a_tombstone(&world, &id);

    // After the sweep.
    let (id, put) = begin(&ann, "forgotten.txt", &data).await;
    assert_eq!(send(&ann, &put, data.clone()).await.status(), 200);
    assert!(sweep(&world).await["pending_files"].as_u64().unwrap() >= 1);
    replay_is_refused(&world, &ann, &put, data.len(), "after the sweep").await;
    assert_eq!(stored(&world, &id).await, None);
    nothing_on_disk_but_a_tombstone(&world, &id);
    ann.get(&format!("/api/files/{id}")).await.expect_error(404, "not_found");
    assert_eq!(ann.get("/api/me").await.expect(200)["usage"]["used"], 0, "quota freed with the sweep");
}

#[tokio::test]
async fn upload_targets_take_bytes_only_while_the_file_is_pending_self_hosted() {
    targets_take_bytes_only_while_pending(self_hosted().await).await;
}

#[tokio::test]
async fn upload_targets_take_bytes_only_while_the_file_is_pending_in_the_cloud() {
    let (world, _turn) = cloud().await;
    targets_take_bytes_only_while_pending(world).await;
}

/// Starts a session on its signed start URL; returns a target for its
/// `Location`.
async fn start_session(c: &Client, start: &Value) -> Value {
    let resp = send(c, start, vec![]).await;
    assert!(resp.status().is_success(), "{}", resp.status());
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    json!({ "method": "PUT", "url": location, "headers": [] })
}

/// A resumable session: its start URL and its chunks, after complete,
/// abort, delete and the sweep.
async fn sessions_end_with_their_file(world: Deployment) {
    let (ann, _) = world.person("ann").await;
    let data = bytes(9 << 20, 5); // past the 8 MiB resumable threshold
    let half = data.len() / 2;

    let chunk = |session: &Value, from: usize, to: usize| {
        let mut s = session.clone();
        s["headers"] = json!([["content-range", format!("bytes {from}-{}/{}", to - 1, data.len())]]);
        s
    };

    // Complete, then every target of it is over.
    let (id, target) = begin(&ann, "video.mp4", &data).await;
    assert_eq!(target["method"], "POST");
    let session = start_session(&ann, &target).await;
    assert_eq!(send(&ann, &chunk(&session, 0, half), data[..half].to_vec()).await.status(), 308);
    assert_eq!(send(&ann, &chunk(&session, half, data.len()), data[half..].to_vec()).await.status(), 200);
    complete(&ann, &id).await.expect(200);
    if is_cloud(&world) {
        assert!(signs_the_preconditions(&target, data.len()), "{target}");
    } else {
        let again = send(&ann, &target, vec![]).await;
        assert_eq!(again.status(), 409, "a replayed session start after complete");
        let last = send(&ann, &chunk(&session, half, data.len()), vec![0u8; data.len() - half]).await;
        assert_eq!(last.status(), 404, "a chunk to a completed file's session");
        let status = reqwest::Client::new()
            .put(ann.url(session["url"].as_str().unwrap()))
            .header("content-range", format!("bytes */{}", data.len()))
            .send()
            .await
            .unwrap();
        assert_eq!(status.status(), 404, "a status query of a completed file's session");
        assert_eq!(ann.download(&id).await, data, "the bytes are the verified ones");
    }

    // Abort, delete and sweep, each with a session half sent.
    for how in ["abort", "delete", "sweep"] {
        let (id, target) = begin(&ann, &format!("{how}.mp4"), &data).await;
        let session = start_session(&ann, &target).await;
        assert_eq!(send(&ann, &chunk(&session, 0, half), data[..half].to_vec()).await.status(), 308);
        match how {
            "abort" => assert_eq!(ann.delete(&format!("/api/uploads/{id}")).await.status, 204),
            "delete" => assert_eq!(ann.delete(&format!("/api/files/{id}")).await.status, 204),
            _ => assert!(sweep(&world).await["pending_files"].as_u64().unwrap() >= 1),
        }
        ann.get(&format!("/api/files/{id}")).await.expect_error(404, "not_found");
        if is_cloud(&world) {
            assert!(signs_the_preconditions(&target, data.len()));
        } else {
            let rest = send(&ann, &chunk(&session, half, data.len()), data[half..].to_vec()).await;
            assert_eq!(rest.status(), 404, "the rest of the bytes after {how}");
            assert_eq!(send(&ann, &target, vec![]).await.status(), 409, "a new session after {how}");
        }
        assert_eq!(stored(&world, &id).await, None, "{how}");
        nothing_on_disk_but_a_tombstone(&world, &id);
    }
}

#[tokio::test]
async fn resumable_sessions_end_with_their_file_self_hosted() {
    sessions_end_with_their_file(self_hosted().await).await;
}

#[tokio::test]
async fn resumable_sessions_end_with_their_file_in_the_cloud() {
    let (world, _turn) = cloud().await;
    sessions_end_with_their_file(world).await;
}

async fn never_more_than_declared(world: Deployment) {
    let (ann, _) = world.person("ann").await;
    let data = bytes(1000, 9);
    let (id, put) = begin(&ann, "small.bin", &data).await;
    let bigger = bytes(1001, 9);
    let resp = send(&ann, &put, bigger).await;
    if is_cloud(&world) {
        // fake-gcs-server takes it; GCS would refuse it (the range is
        // signed). Completion finds the larger object, removes it, and the
        // upload stays pending for the right bytes.
        assert!(signs_the_preconditions(&put, data.len()));
        assert_eq!(resp.status(), 200);
        complete(&ann, &id).await.expect_error(422, "size_mismatch");
        assert_eq!(stored(&world, &id).await, None, "the larger object is gone");
    } else {
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert!(
            matches!(
                (status, body["error"]["code"].as_str()),
                (413, Some("payload_too_large")) | (422, Some("size_mismatch"))
            ),
            "{status} {body}"
        );
        assert_eq!(stored(&world, &id).await, None);
        complete(&ann, &id).await.expect_error(422, "upload_incomplete");
    }
    // The right bytes still complete it.
    assert_eq!(send(&ann, &put, data.clone()).await.status(), 200);
    complete(&ann, &id).await.expect(200);
    assert_eq!(ann.download(&id).await, data);

    // Bytes with another checksum are refused at completion, and removed.
    let (id, put) = begin(&ann, "other.bin", &data).await;
    assert_eq!(send(&ann, &put, bytes(1000, 10)).await.status(), 200);
    complete(&ann, &id).await.expect_error(422, "checksum_mismatch");
    assert_eq!(stored(&world, &id).await, None);
}

#[tokio::test]
async fn more_bytes_than_declared_are_refused_self_hosted() {
    never_more_than_declared(self_hosted().await).await;
}

#[tokio::test]
async fn more_bytes_than_declared_are_refused_in_the_cloud() {
    let (world, _turn) = cloud().await;
    never_more_than_declared(world).await;
}

/// Twelve uploads complete while sweeps run with every pending upload
/// stale: each file ends either ready and whole, or gone entirely.
async fn sweep_races_complete(world: Deployment) {
    let (ann, _) = world.person("ann").await;
    let mut files = vec![];
    for i in 0..12u8 {
        let data = bytes(2000 + i as usize, i);
        let (id, put) = begin(&ann, &format!("race-{i}.bin"), &data).await;
        assert_eq!(send(&ann, &put, data.clone()).await.status(), 200);
        files.push((id, data));
    }
    let completes = futures_util::future::join_all(files.iter().map(|(id, _)| complete(&ann, id)));
    let sweeps = futures_util::future::join_all((0..3).map(|_| sweep(&world)));
    let (completed, swept) = tokio::join!(completes, sweeps);
    let swept: u64 = swept.iter().map(|r| r["pending_files"].as_u64().unwrap()).sum();
    let mut ready = 0;
    for ((id, data), reply) in files.iter().zip(&completed) {
        let details = ann.get(&format!("/api/files/{id}")).await;
        if reply.status == 200 {
            ready += 1;
            assert_eq!(details.expect(200)["file"]["status"], "ready");
            assert_eq!(stored(&world, id).await, Some((data.len() as u64, Crc32c::of(data))), "whole");
            assert_eq!(&ann.download(id).await, data);
        } else {
            assert!(matches!(reply.status.as_u16(), 404 | 409 | 422), "{:?}", reply);
            details.expect_error(404, "not_found");
            assert_eq!(stored(&world, id).await, None);
        }
    }
    assert_eq!(ready + swept, files.len() as u64, "each file completed or swept, never both");
    // The sweep is idempotent: nothing more to remove.
    assert_eq!(sweep(&world).await, json!({ "pending_files": 0, "orphan_objects": 0, "sessions": 0 }));
}

#[tokio::test]
async fn a_sweep_racing_completes_leaves_each_file_whole_or_gone_self_hosted() {
    sweep_races_complete(self_hosted().await).await;
}

#[tokio::test]
async fn a_sweep_racing_completes_leaves_each_file_whole_or_gone_in_the_cloud() {
    let (world, _turn) = cloud().await;
    sweep_races_complete(world).await;
}

/// Bytes whose record is gone (a crash between deleting the record and its
/// bytes): the sweep removes them, and a live file's bytes stay.
async fn orphans_are_swept(world: Deployment) {
    let (ann, _) = world.person("ann").await;
    let kept = ann.upload("kept.txt", b"kept").await;
    let orphan = FileId::generate();
    let data = bytes(5000, 1);
    match &world {
        Deployment::SelfHosted(s) => {
            let objects = s.data_dir.join("blobs/objects");
            std::fs::write(objects.join(orphan.as_str()), &data).unwrap();
            let meta = json!({ "size": data.len(), "crc32c": Crc32c::of(&data).0 });
            std::fs::write(objects.join(format!("{orphan}.meta")), meta.to_string()).unwrap();
        }
        Deployment::Cloud(c) => {
            let ct = livedrop::domain::ContentType::parse(None).unwrap();
            let put = c.bucket().sign_put(
                &orphan,
                data.len() as u64,
                &ct,
                jiff::Timestamp::now() + SignedDuration::from_mins(5),
            );
            let put = serde_json::to_value(put.unwrap()).unwrap();
            assert_eq!(send(&ann, &put, data.clone()).await.status(), 200);
        }
    }
    assert_eq!(stored(&world, orphan.as_str()).await, Some((5000, Crc32c::of(&data))));
    let report = sweep(&world).await;
    assert_eq!(report["orphan_objects"], 1, "{report}");
    assert_eq!(stored(&world, orphan.as_str()).await, None);
    nothing_on_disk_but_a_tombstone(&world, orphan.as_str());
    assert_eq!(ann.download(kept["id"].as_str().unwrap()).await, b"kept");
    assert_eq!(sweep(&world).await["orphan_objects"], 0, "idempotent");
}

#[tokio::test]
async fn an_object_no_record_owns_is_swept_self_hosted() {
    orphans_are_swept(self_hosted().await).await;
}

#[tokio::test]
async fn an_object_no_record_owns_is_swept_in_the_cloud() {
    let (world, _turn) = cloud().await;
    orphans_are_swept(world).await;
}

async fn the_cron_route_wants_its_secret(world: Deployment) {
    let anon = world.anonymous();
    let (ann, _) = world.person("ann").await;
    for auth in [None, Some("wrong"), Some("")] {
        let mut req = anon.http.get(anon.url("/api/cron/sweep"));
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        let reply = Client::send(req).await;
        reply.expect_error(401, "unauthenticated");
    }
    // A person's own credential is not the secret.
    ann.get("/api/cron/sweep").await.expect_error(401, "unauthenticated");
    assert_eq!(sweep(&world).await, json!({ "pending_files": 0, "orphan_objects": 0, "sessions": 0 }));
}

#[tokio::test]
async fn the_cron_route_answers_only_its_secret_self_hosted() {
    the_cron_route_wants_its_secret(self_hosted().await).await;
    // Without a secret configured, there is no route to call.
    let server = TestServer::start().await;
    let reply = Client::send(reqwest::Client::new().get(server.url("/api/cron/sweep")).bearer_auth("anything")).await;
    reply.expect_error(404, "not_found");
}

#[tokio::test]
async fn the_cron_route_answers_only_its_secret_in_the_cloud() {
    let (world, _turn) = cloud().await;
    the_cron_route_wants_its_secret(world).await;
}
