//! The whole flow for two people, over HTTP and the WebSocket, against the
//! real server: upload (single and resumable, cut and resumed), share,
//! live arrival, download, a password link with a limit of 1, and the
//! owner watching the downloads arrive in the activity.

mod common;

use common::{Client, TestServer, bytes};
use livedrop::domain::Crc32c;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

const MIB: usize = 1 << 20;

/// Starts a resumable session for `data`; returns (file id, session path).
async fn start_resumable(owner: &Client, name: &str, data: &[u8]) -> (String, String) {
    let begun = owner.begin(name, data).await.expect(201);
    let upload = &begun["upload"];
    assert_eq!(upload["method"], "POST");
    assert_eq!(upload["resumable"], true);
    let mut start = owner.http.post(owner.url(upload["url"].as_str().unwrap()));
    for h in upload["headers"].as_array().unwrap() {
        start = start.header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
    }
    let resp = start.send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    (begun["file"]["id"].as_str().unwrap().to_owned(), location)
}

/// PUTs `data[first..=last]` to the session; returns the answer.
pub async fn put_chunk(c: &Client, session: &str, data: &[u8], first: usize, last: usize) -> reqwest::Response {
    c.http
        .put(c.url(session))
        .header("content-range", format!("bytes {first}-{last}/{}", data.len()))
        .body(data[first..=last].to_vec())
        .send()
        .await
        .unwrap()
}

/// Asks where the session stands; returns how many bytes are stored
/// (`None` once it is complete).
pub async fn stored_bytes(c: &Client, session: &str, total: usize) -> Option<usize> {
    let resp = c
        .http
        .put(c.url(session))
        .header("content-range", format!("bytes */{total}"))
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    match resp.status().as_u16() {
        200 => None,
        308 => Some(match resp.headers().get("range") {
            None => 0,
            Some(r) => r.to_str().unwrap().trim_start_matches("bytes=0-").parse::<usize>().unwrap() + 1,
        }),
        s => panic!("status query answered {s}"),
    }
}

/// Sends a chunk's headers and only part of its body, then drops the
/// connection, as a network drop would.
async fn cut_chunk(base: &str, session: &str, data: &[u8], first: usize, last: usize, sent: usize) {
    let addr = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PUT {session} HTTP/1.1\r\nHost: {addr}\r\nContent-Range: bytes {first}-{last}/{}\r\nContent-Length: {}\r\n\r\n",
        data.len(),
        last - first + 1
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&data[first..first + sent]).await.unwrap();
    tcp.flush().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    drop(tcp);
}

fn is_change(m: &Value, collection: &str, kind: &str) -> bool {
    m["type"] == "change" && m["collection"] == collection && m["kind"] == kind
}

#[tokio::test]
async fn owner_and_recipient_share_a_file_and_see_it_live() {
    let server = TestServer::start_with(|o| o.config.resumable_threshold = MIB as u64).await;
    let owner = server.sign_up("owner@example.com").await;
    let recipient = server.sign_up("recipient@example.com").await;

    let mut recipient_feed = recipient.feed("").await;
    let snap = recipient_feed.next().await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["shared"], json!([]));
    let mut owner_feed = owner.feed("").await;
    assert_eq!(owner_feed.next().await["type"], "snapshot");

    // A small file: one signed PUT.
    let notes = owner.upload("notes.txt", b"small and simple").await;
    assert_eq!(notes["status"], "ready");
    let added = owner_feed.until(|m| is_change(m, "files", "added")).await;
    assert_eq!(added["doc"]["name"], "notes.txt");

    // A large file: a resumable session, cut mid-chunk and resumed.
    let big = bytes(5 * MIB + 123, 7);
    let (id, session) = start_resumable(&owner, "report.bin", &big).await;
    assert_eq!(stored_bytes(&owner, &session, big.len()).await, Some(0));
    let resp = put_chunk(&owner, &session, &big, 0, 2 * MIB - 1).await;
    assert_eq!(resp.status(), 308);
    assert_eq!(resp.headers()["range"], format!("bytes=0-{}", 2 * MIB - 1));
    cut_chunk(&server.base, &session, &big, 2 * MIB, 4 * MIB - 1, MIB + 17).await;
    let stored = stored_bytes(&owner, &session, big.len()).await.unwrap();
    assert!((2 * MIB..4 * MIB).contains(&stored), "kept what arrived before the cut: {stored}");
    // Completing too early is refused and changes nothing.
    owner.post(&format!("/api/uploads/{id}/complete"), json!({})).await.expect_error(422, "upload_incomplete");
    let resp = put_chunk(&owner, &session, &big, stored, big.len() - 1).await;
    assert_eq!(resp.status(), 200);
    let object: Value = resp.json().await.unwrap();
    assert_eq!(object["crc32c"], Crc32c::of(&big).encode());
    assert_eq!(stored_bytes(&owner, &session, big.len()).await, None, "a finished session says so");
    let report = owner.post(&format!("/api/uploads/{id}/complete"), json!({})).await.expect(200)["file"].clone();
    assert_eq!(report["size"], big.len());

    // Sharing: the recipient sees it arrive, without asking.
    let share =
        owner.post(&format!("/api/files/{id}/shares"), json!({ "email": "Recipient@Example.com" })).await.expect(201);
    assert_eq!(share["share"]["pending"], false);
    let arrived = recipient_feed.until(|m| is_change(m, "shared", "added")).await;
    assert_eq!(arrived["id"], id);
    assert_eq!(arrived["doc"]["name"], "report.bin");
    assert_eq!(arrived["doc"]["owner_email"], "owner@example.com");
    assert_eq!(recipient.download(&id).await, big, "byte-identical");
    let listed = recipient.get("/api/files?scope=shared").await.expect(200);
    assert_eq!(listed["files"][0]["id"], id);

    // The owner sees the recipient's download live.
    let seen = owner_feed.until(|m| is_change(m, "activity", "added") && m["doc"]["kind"] == "downloaded").await;
    assert_eq!(seen["doc"]["actor_email"], "recipient@example.com");
    assert_eq!(seen["doc"]["file_id"], id);

    // A password link with a limit of one download.
    let link = owner
        .post(&format!("/api/files/{id}/links"), json!({ "password": "open sesame", "max_downloads": 1 }))
        .await
        .expect(201);
    let url = link["url"].as_str().unwrap();
    let token = url.trim_start_matches("/s/");
    assert!(token.len() >= 22, "at least 128 bits");
    let anon = server.anonymous();
    let info = anon.get(&format!("/api/s/{token}")).await.expect(200);
    assert_eq!(
        info,
        json!({ "kind": "file", "name": "report.bin", "size": big.len(), "content_type": "text/plain",
        "password_required": true, "expires_at": null, "downloads_left": 1 })
    );
    anon.post(&format!("/api/s/{token}/download"), json!({})).await.expect_error(401, "password_required");
    anon.post(&format!("/api/s/{token}/download"), json!({ "password": "guess" }))
        .await
        .expect_error(403, "wrong_password");
    let signed = anon.post(&format!("/api/s/{token}/download"), json!({ "password": "open sesame" })).await.expect(200);
    let got = anon.http.get(anon.url(signed["url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(
        got.headers()["content-disposition"],
        "attachment; filename=\"report.bin\"; filename*=UTF-8''report.bin"
    );
    assert_eq!(got.bytes().await.unwrap().to_vec(), big);
    anon.post(&format!("/api/s/{token}/download"), json!({ "password": "open sesame" }))
        .await
        .expect_error(410, "link_exhausted");

    let via_link = owner_feed.until(|m| is_change(m, "activity", "added") && m["doc"]["kind"] == "downloaded").await;
    assert_eq!(via_link["doc"]["link_id"], link["link"]["id"]);
    assert_eq!(via_link["doc"]["actor_id"], Value::Null);

    let activity = owner.get(&format!("/api/files/{id}/activity")).await.expect(200);
    let kinds: Vec<&str> =
        activity["activity"].as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["downloaded", "link_created", "downloaded", "shared", "uploaded"]);

    // Unsharing takes the file off the recipient's screen at once.
    owner.delete(&format!("/api/files/{id}/shares/recipient@example.com")).await.expect(204);
    let gone = recipient_feed.until(|m| m["type"] == "change").await;
    assert!(is_change(&gone, "shared", "removed"), "{gone}");
    assert_eq!(gone["id"], id);
    recipient.get(&format!("/api/files/{id}")).await.expect_error(404, "not_found");
    server.stop().await;
}

#[tokio::test]
async fn a_feed_resumes_from_its_last_number_without_gaps_or_repeats() {
    let server = TestServer::start().await;
    let ann = server.sign_up("ann@example.com").await;
    let mut feed = ann.feed("").await;
    let snap = feed.next().await;
    let epoch = snap["epoch"].as_str().unwrap().to_owned();
    ann.upload("one.txt", b"1").await;
    let first = feed.until(|m| is_change(m, "files", "added")).await;
    let mut last = first["seq"].as_u64().unwrap();
    // Drain what else the upload produced (its activity).
    while let Ok(m) = tokio::time::timeout(std::time::Duration::from_millis(200), feed.next()).await {
        last = m["seq"].as_u64().unwrap();
    }
    feed.close().await;

    // Changes while disconnected.
    let two = ann.upload("two.txt", b"2").await;
    let three = ann.upload("three.txt", b"3").await;

    let mut resumed = ann.feed(&format!("?epoch={epoch}&since={last}")).await;
    assert_eq!(resumed.next().await["type"], "resumed");
    let mut got = vec![];
    let mut seqs = vec![];
    while let Ok(m) = tokio::time::timeout(std::time::Duration::from_millis(300), resumed.next()).await {
        seqs.push(m["seq"].as_u64().unwrap());
        // Each upload is added while it uploads (pending), then once ready.
        if is_change(&m, "files", "added") {
            got.push((m["id"].as_str().unwrap().to_owned(), m["doc"]["status"].as_str().unwrap().to_owned()));
        }
    }
    let (two, three) = (two["id"].as_str().unwrap(), three["id"].as_str().unwrap());
    let want: Vec<(String, String)> = [(two, "pending"), (two, "ready"), (three, "pending"), (three, "ready")]
        .iter()
        .map(|(id, status)| (id.to_string(), status.to_string()))
        .collect();
    assert_eq!(got, want);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]) && seqs[0] > last, "in order, none repeated: {seqs:?}");

    // An unknown epoch (a restarted server) gets a full snapshot instead.
    let mut fresh = ann.feed(&format!("?epoch=old&since={last}")).await;
    let snap = fresh.next().await;
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["files"].as_array().unwrap().len(), 3);
    server.stop().await;
}
