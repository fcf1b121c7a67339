//! A restart in the middle: sessions, resumable uploads and files survive.

mod common;

use common::{Client, TestServer, bytes};
use serde_json::json;

#[tokio::test]
async fn an_upload_resumes_and_completes_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let small = |o: &mut livedrop::server::ServeOptions| o.config.resumable_threshold = 1024;
    let server = TestServer::start_in(dir.path(), small).await;
    let ann = server.sign_up("ann@example.com").await;
    let data = bytes(3 << 20, 9);
    let begun = ann.begin("restart.bin", &data).await.expect(201);
    let id = begun["file"]["id"].as_str().unwrap().to_owned();
    let resp = ann
        .http
        .post(ann.url(begun["upload"]["url"].as_str().unwrap()))
        .header("x-goog-resumable", "start")
        .send()
        .await
        .unwrap();
    let session = resp.headers()["location"].to_str().unwrap().to_owned();
    let first = ann
        .http
        .put(ann.url(&session))
        .header("content-range", format!("bytes 0-{}/{}", (1 << 20) - 1, data.len()))
        .body(data[..1 << 20].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 308);
    server.stop().await;

    // Same data dir, new process state, new port.
    let server = TestServer::start_in(dir.path(), small).await;
    let ann = Client { base: server.base.clone(), ..ann };
    assert_eq!(ann.get("/api/me").await.expect(200)["user"]["email"], "ann@example.com", "the session survived");
    let status = ann
        .http
        .put(ann.url(&session))
        .header("content-range", format!("bytes */{}", data.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 308);
    assert_eq!(status.headers()["range"], format!("bytes=0-{}", (1 << 20) - 1));
    let rest = ann
        .http
        .put(ann.url(&session))
        .header("content-range", format!("bytes {}-{}/{}", 1 << 20, data.len() - 1, data.len()))
        .body(data[1 << 20..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 200);
    ann.post(&format!("/api/uploads/{id}/complete"), json!({})).await.expect(200);
    assert_eq!(ann.download(&id).await, data);
    server.stop().await;

    // And once more: the finished file is still there.
    let server = TestServer::start_in(dir.path(), small).await;
    let ann = Client { base: server.base.clone(), ..ann };
    assert_eq!(ann.get("/api/files").await.expect(200)["files"][0]["id"], id);
    assert_eq!(ann.download(&id).await, data);
    server.stop().await;
}
