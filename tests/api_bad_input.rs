//! Bad input on every endpoint gets a 4xx with a stable code and a clear
//! message, never a 500, and leaves nothing partial behind. The checks of
//! request bodies, names and addresses run on both deployments.

mod common;

use common::cloud::CloudServer;
use common::{Client, Deployment, Reply, TestServer, bytes};
use jiff::{SignedDuration, Timestamp};
use livedrop::blob::signing::Signer;
use livedrop::domain::Crc32c;
use reqwest::Method;
use serde_json::{Value, json};

/// POSTs a raw body with a JSON content type.
async fn raw(c: &Client, method: Method, path: &str, body: &str) -> Reply {
    Client::send(c.request(method, path).header("content-type", "application/json").body(body.to_owned())).await
}

fn signer_of(server: &TestServer) -> Signer {
    let hex = std::fs::read_to_string(server.data_dir.join("secret")).unwrap();
    let key: Vec<u8> = (0..64).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    Signer::new(key.try_into().unwrap())
}

#[tokio::test]
async fn malformed_json_missing_fields_and_wrong_types_are_invalid_requests_self_hosted() {
    malformed_json_missing_fields_and_wrong_types_are_invalid_requests(Deployment::SelfHosted(
        TestServer::start().await,
    ))
    .await;
}

#[tokio::test]
async fn malformed_json_missing_fields_and_wrong_types_are_invalid_requests_in_the_cloud() {
    let cloud = Deployment::Cloud(Box::new(CloudServer::start().await));
    malformed_json_missing_fields_and_wrong_types_are_invalid_requests(cloud).await;
}

async fn malformed_json_missing_fields_and_wrong_types_are_invalid_requests(world: Deployment) {
    let (ann, _) = world.person("ann").await;
    let file = ann.upload("a.txt", b"abc").await["id"].as_str().unwrap().to_owned();
    let anon = world.anonymous();
    let mut json_endpoints: Vec<(Method, String, &Client)> = vec![
        (Method::POST, "/api/uploads".into(), &ann),
        (Method::PATCH, format!("/api/files/{file}"), &ann),
        (Method::POST, format!("/api/files/{file}/shares"), &ann),
    ];
    if let Deployment::SelfHosted(_) = world {
        // Accounts and tokens are the self-hosted server's own.
        json_endpoints.push((Method::POST, "/api/auth/signup".into(), &anon));
        json_endpoints.push((Method::POST, "/api/auth/signin".into(), &anon));
        json_endpoints.push((Method::POST, "/api/tokens".into(), &ann));
    }
    for (method, path, c) in &json_endpoints {
        for body in
            ["{", "[1,2]", "{}", r#"{"name": 5, "email": [], "password": {}, "size": "big", "crc32c": 1}"#, "null"]
        {
            let r = raw(c, method.clone(), path, body).await;
            r.expect_error(400, "invalid_request");
        }
        // Without a JSON content type.
        let r = Client::send(c.request(method.clone(), path).body("{}")).await;
        r.expect_error(400, "invalid_request");
        // Far too big.
        let huge = format!(r#"{{"name": "{}"}}"#, "x".repeat(100_000));
        raw(c, method.clone(), path, &huge).await.expect_error(413, "payload_too_large");
    }
    // Optional bodies still have to be JSON when present.
    for path in [format!("/api/files/{file}/download"), format!("/api/files/{file}/links")] {
        raw(&ann, Method::POST, &path, "{nope").await.expect_error(400, "invalid_request");
        raw(&ann, Method::POST, &path, r#"{"inline": "yes", "max_downloads": -1}"#)
            .await
            .expect_error(400, "invalid_request");
    }
    ann.post(&format!("/api/files/{file}/links"), json!({ "max_downloads": 0 }))
        .await
        .expect_error(400, "invalid_request");
    ann.post(&format!("/api/files/{file}/links"), json!({ "expires_in_seconds": 0 }))
        .await
        .expect_error(400, "invalid_request");
    ann.post(&format!("/api/files/{file}/links"), json!({ "password": "short" }))
        .await
        .expect_error(400, "invalid_password");
    ann.get("/api/files?scope=everyone").await.expect_error(400, "invalid_request");
    ann.get("/api/files?limit=0").await.expect_error(400, "invalid_request");
    ann.get("/api/files?limit=ten").await.expect_error(400, "invalid_request");
    ann.get("/api/files?cursor=abc").await.expect_error(400, "invalid_request");
    ann.get("/api/files?sort=colour").await.expect_error(400, "invalid_request");
}

#[tokio::test]
async fn hostile_names_and_addresses_are_refused_and_nothing_is_created_self_hosted() {
    let server = TestServer::start().await;
    let ann = server.sign_up("ann@example.com").await;
    hostile_names_and_addresses_are_refused_and_nothing_is_created(&ann, "ann@example.com").await;
    for email in ["not-an-email", "a@", "@b", "a b@c.d", &format!("{}@x.y", "x".repeat(10_000))] {
        let r =
            server.anonymous().post("/api/auth/signup", json!({ "email": email, "password": "long enough pw" })).await;
        r.expect_error(400, "invalid_email");
    }
    let r = server.anonymous().post("/api/auth/signup", json!({ "email": "x@y.z", "password": "short" })).await;
    r.expect_error(400, "invalid_password");
    let r = server
        .anonymous()
        .post("/api/auth/signup", json!({ "email": "ANN@example.com", "password": "long enough pw" }))
        .await;
    r.expect_error(409, "email_taken");
}

#[tokio::test]
async fn hostile_names_and_addresses_are_refused_and_nothing_is_created_in_the_cloud() {
    let cloud = CloudServer::start().await;
    let email = CloudServer::email("ann");
    let ann = cloud.sign_up(&email).await;
    hostile_names_and_addresses_are_refused_and_nothing_is_created(&ann, &email).await;
    // Accounts belong to Firebase Auth there.
    let r = cloud.anonymous().post("/api/auth/signup", json!({ "email": "x@y.z", "password": "long enough pw" })).await;
    r.expect_error(404, "not_supported");
}

async fn hostile_names_and_addresses_are_refused_and_nothing_is_created(ann: &Client, own_email: &str) {
    let ok = ann.upload("keep.txt", b"keep").await["id"].as_str().unwrap().to_owned();
    let long = "x".repeat(10_000);
    for name in ["../etc/passwd", "a/b", "a\\b", "nul\0byte", "bell\u{7}", "line\nbreak", "", "..", long.as_str()] {
        let r = ann.post("/api/uploads", json!({ "name": name, "size": 1, "crc32c": "AAAAAA==" })).await;
        r.expect_error(400, "invalid_name");
        ann.patch(&format!("/api/files/{ok}"), json!({ "name": name })).await.expect_error(400, "invalid_name");
    }
    let r = ann.post("/api/uploads", json!({ "name": "a", "size": 1, "crc32c": "not base64" })).await;
    r.expect_error(400, "invalid_checksum");
    let r = ann
        .post("/api/uploads", json!({ "name": "a", "size": 1, "crc32c": "AAAAAA==", "content_type": "no slash" }))
        .await;
    r.expect_error(400, "invalid_request");
    for email in ["not-an-email", "a@", "@b", "a b@c.d", &format!("{long}@x.y")] {
        ann.post(&format!("/api/files/{ok}/shares"), json!({ "email": email }))
            .await
            .expect_error(400, "invalid_email");
    }
    // Sharing with oneself, in any case.
    ann.post(&format!("/api/files/{ok}/shares"), json!({ "email": own_email.to_uppercase() }))
        .await
        .expect_error(400, "invalid_email");

    let files = ann.get("/api/files").await.expect(200);
    assert_eq!(files["files"].as_array().unwrap().len(), 1);
    assert_eq!(files["files"][0]["name"], "keep.txt");
    assert_eq!(ann.get("/api/me").await.expect(200)["usage"]["used"], 4, "no pending records were left");
}

#[tokio::test]
async fn signatures_must_be_genuine_and_current() {
    let server = TestServer::start().await;
    let ann = server.sign_up("ann@example.com").await;
    let data = b"signed bytes";
    let begun = ann.begin("s.txt", data).await.expect(201);
    let url = begun["upload"]["url"].as_str().unwrap().to_owned();
    let id = begun["file"]["id"].as_str().unwrap().to_owned();
    let put = |u: String, body: Vec<u8>| {
        let c = ann.clone();
        async move { Client::send(c.http.put(c.url(&u)).body(body)).await }
    };
    let tampered = url.replace("size=12", "size=99");
    put(tampered, data.to_vec()).await.expect_error(403, "signature_invalid");
    let mut bad_sig = url.clone();
    bad_sig.replace_range(bad_sig.len() - 4.., "0000");
    put(bad_sig, data.to_vec()).await.expect_error(403, "signature_invalid");
    put(url.split('?').next().unwrap().to_owned(), data.to_vec()).await.expect_error(403, "signature_invalid");
    put(url.replace(&id, "someoneelsesfileid0000"), data.to_vec()).await.expect_error(403, "signature_invalid");
    let expired = signer_of(&server).sign(
        "PUT",
        &format!("/blob/{id}"),
        &[("size", data.len().to_string())],
        Timestamp::now() - SignedDuration::from_secs(1),
    );
    put(expired, data.to_vec()).await.expect_error(403, "signature_expired");
    // The upload URL does not download.
    Client::send(ann.http.get(ann.url(&url))).await.expect_error(403, "signature_invalid");

    // Wrong sizes: refused before anything is written.
    put(url.clone(), b"short".to_vec()).await.expect_error(422, "size_mismatch");
    put(url.clone(), [data.as_slice(), b"and more"].concat()).await.expect_error(422, "size_mismatch");
    ann.post(&format!("/api/uploads/{id}/complete"), json!({})).await.expect_error(422, "upload_incomplete");
    put(url, data.to_vec()).await.expect(200);
    ann.post(&format!("/api/uploads/{id}/complete"), json!({})).await.expect(200);
    ann.post(&format!("/api/uploads/{id}/complete"), json!({})).await.expect_error(409, "not_pending");

    // Downloads: a range past the end, and a tampered disposition.
    let signed = ann.post(&format!("/api/files/{id}/download"), json!({})).await.expect(200);
    let get_url = ann.url(signed["url"].as_str().unwrap());
    let r = Client::send(ann.http.get(&get_url).header("range", "bytes=100-")).await;
    r.expect_error(416, "range_not_satisfiable");
    assert_eq!(r.headers["content-range"], "bytes */12");
    let inline = get_url.replace("disposition=attachment", "disposition=inline");
    Client::send(ann.http.get(&inline)).await.expect_error(403, "signature_invalid");
}

#[tokio::test]
async fn an_uploaded_page_never_renders_on_our_origin() {
    let server = TestServer::start().await;
    let ann = server.sign_up("ann@example.com").await;
    for (name, ty) in [("x.html", "text/html"), ("x.svg", "image/svg+xml")] {
        let data = b"<script>alert(document.cookie)</script>";
        let begun = ann
            .post(
                "/api/uploads",
                json!({ "name": name, "size": data.len(), "content_type": ty, "crc32c": Crc32c::of(data).encode() }),
            )
            .await
            .expect(201);
        let id = begun["file"]["id"].as_str().unwrap();
        ann.http.put(ann.url(begun["upload"]["url"].as_str().unwrap())).body(data.to_vec()).send().await.unwrap();
        ann.post(&format!("/api/uploads/{id}/complete"), json!({})).await.expect(200);
        let signed = ann.post(&format!("/api/files/{id}/download"), json!({ "inline": true })).await.expect(200);
        let resp = ann.http.get(ann.url(signed["url"].as_str().unwrap())).send().await.unwrap();
        let h = resp.headers();
        assert!(h["content-disposition"].to_str().unwrap().starts_with("attachment"), "{name}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert!(h["content-security-policy"].to_str().unwrap().contains("sandbox"));
    }
}

#[tokio::test]
async fn resumable_sessions_refuse_wrong_content_ranges() {
    let server = TestServer::start_with(|o| o.config.resumable_threshold = 10).await;
    let ann = server.sign_up("ann@example.com").await;
    let data = bytes(1000, 3);
    let begun = ann.begin("r.bin", &data).await.expect(201);
    let start = ann.http.post(ann.url(begun["upload"]["url"].as_str().unwrap()));
    Client::send(start.try_clone().unwrap()).await.expect_error(400, "invalid_request");
    let resp = start.header("x-goog-resumable", "start").send().await.unwrap();
    let session = resp.headers()["location"].to_str().unwrap().to_owned();
    let chunk = |range: &str, body: Vec<u8>| {
        let c = ann.clone();
        let (session, range) = (session.clone(), range.to_owned());
        async move { Client::send(c.http.put(c.url(&session)).header("content-range", range).body(body)).await }
    };
    for range in ["bytes=0-9/1000", "0-9/1000", "bytes 9-0/1000", "bytes a-b/1000", "bytes 0-9"] {
        chunk(range, data[..10].to_vec()).await.expect_error(400, "invalid_range");
    }
    chunk("bytes 0-9/999", data[..10].to_vec()).await.expect_error(400, "invalid_range");
    chunk("bytes 990-1000/1000", data[..11].to_vec()).await.expect_error(400, "invalid_range");
    chunk("bytes 10-19/1000", data[10..20].to_vec()).await.expect_error(400, "invalid_range");
    chunk("bytes 0-9/1000", data[..5].to_vec()).await.expect_error(400, "invalid_range");
    Client::send(ann.http.put(ann.url(&session))).await.expect_error(400, "invalid_range");
    Client::send(
        ann.http.put(ann.url("/blob/sessions/nonexistentsession000000")).header("content-range", "bytes */1000"),
    )
    .await
    .expect_error(404, "not_found");
    // None of that stored a byte.
    let status = ann.http.put(ann.url(&session)).header("content-range", "bytes */1000").send().await.unwrap();
    assert_eq!(status.status(), 308);
    assert!(status.headers().get("range").is_none());

    // A corrupted upload (right size, wrong bytes) is refused at completion.
    let mut wrong = data.clone();
    wrong[500] ^= 1;
    assert_eq!(chunk("bytes 0-999/1000", wrong).await.status, 200);
    let id = begun["file"]["id"].as_str().unwrap();
    ann.post(&format!("/api/uploads/{id}/complete"), json!({})).await.expect_error(422, "checksum_mismatch");
    assert_eq!(ann.get("/api/files").await.expect(200)["files"], json!([]));
    ann.delete(&format!("/api/uploads/{id}")).await.expect(204);
    assert_eq!(ann.get("/api/me").await.expect(200)["usage"]["used"], 0);
    assert_eq!(bytes_on_disk(&server), Vec::<String>::new(), "aborting removed the bytes");
    let sessions: Vec<_> = std::fs::read_dir(server.data_dir.join("blobs/sessions")).unwrap().collect();
    assert!(sessions.is_empty(), "and the session");
}

#[tokio::test]
async fn limits_quotas_and_rate_limits() {
    let server = TestServer::start_with(|o| {
        o.config.quota_bytes = 100;
        o.config.max_file_size = 60;
    })
    .await;
    let ann = server.sign_up("ann@example.com").await;
    let r = ann.post("/api/uploads", json!({ "name": "big", "size": 61, "crc32c": "AAAAAA==" })).await;
    r.expect_error(413, "file_too_large");
    ann.upload("half.bin", &bytes(60, 1)).await;
    let r = ann.post("/api/uploads", json!({ "name": "more", "size": 41, "crc32c": "AAAAAA==" })).await;
    r.expect_error(403, "quota_exceeded");
    let r = ann.post("/api/uploads", json!({ "name": "neg", "size": -1, "crc32c": "AAAAAA==" })).await;
    r.expect_error(400, "invalid_request");

    let anon = server.anonymous();
    for _ in 0..10 {
        let r =
            anon.post("/api/auth/signin", json!({ "email": "ann@example.com", "password": "wrong password" })).await;
        r.expect_error(401, "invalid_credentials");
    }
    let r =
        anon.post("/api/auth/signin", json!({ "email": "ann@example.com", "password": "correct horse battery" })).await;
    r.expect_error(429, "rate_limited");
    assert!(r.headers.contains_key("retry-after"));
    let r = anon.post("/api/auth/signin", json!({ "email": "nobody@example.com", "password": "wrong password" })).await;
    r.expect_error(401, "invalid_credentials");
}

#[tokio::test]
async fn links_expire_run_out_and_revoke_with_the_right_answers() {
    let server = TestServer::start().await;
    let ann = server.sign_up("ann@example.com").await;
    let anon = server.anonymous();
    let id = ann.upload("l.txt", b"link me").await["id"].as_str().unwrap().to_owned();
    let make = |body: Value| {
        let (ann, id) = (ann.clone(), id.clone());
        async move {
            ann.post(&format!("/api/files/{id}/links"), body).await.expect(201)["token"].as_str().unwrap().to_owned()
        }
    };
    let expiring = make(json!({ "expires_in_seconds": 1 })).await;
    anon.get(&format!("/api/s/{expiring}")).await.expect(200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    anon.get(&format!("/api/s/{expiring}")).await.expect_error(410, "link_expired");
    anon.post(&format!("/api/s/{expiring}/download"), json!({})).await.expect_error(410, "link_expired");

    let locked = make(json!({ "password": "the right one" })).await;
    for _ in 0..10 {
        anon.post(&format!("/api/s/{locked}/download"), json!({ "password": "guess" }))
            .await
            .expect_error(403, "wrong_password");
    }
    let r = anon.post(&format!("/api/s/{locked}/download"), json!({ "password": "the right one" })).await;
    r.expect_error(429, "rate_limited");

    let revoked = make(json!({})).await;
    let link_id =
        ann.get(&format!("/api/files/{id}/links")).await.expect(200)["links"].as_array().unwrap().last().unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
    ann.delete(&format!("/api/links/{link_id}")).await.expect(204);
    let never = "A".repeat(43);
    let a = anon.get(&format!("/api/s/{revoked}")).await;
    let b = anon.get(&format!("/api/s/{never}")).await;
    a.expect_error(404, "link_not_available");
    assert_eq!(a.body, b.body, "revoked and never-existed look the same");
    anon.get(&format!("/api/s/{}", "x".repeat(10_000))).await.expect_error(404, "link_not_available");

    // Deleting the file takes its links with it.
    let live = make(json!({})).await;
    ann.delete(&format!("/api/files/{id}")).await.expect(204);
    anon.get(&format!("/api/s/{live}")).await.expect_error(404, "link_not_available");
    assert_eq!(bytes_on_disk(&server), Vec::<String>::new(), "and its bytes");
}

/// What `blobs/objects` holds besides tombstones (which keep a closed
/// file's name taken, and no bytes).
fn bytes_on_disk(server: &TestServer) -> Vec<String> {
    std::fs::read_dir(server.data_dir.join("blobs/objects"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".tomb"))
        .collect()
}

/// One password tried on many accounts from one client is limited too, by
/// the client's address: the peer's, or the one a trusted proxy names.
#[tokio::test]
async fn password_spraying_from_one_client_is_limited() {
    let try_sign_in = |c: &Client, email: String, forwarded: Option<&'static str>| {
        let mut r =
            c.request(Method::POST, "/api/auth/signin").json(&json!({ "email": email, "password": "Winter2026!" }));
        if let Some(f) = forwarded {
            r = r.header("x-forwarded-for", f);
        }
        Client::send(r)
    };
    let direct = TestServer::start_with(|o| o.config.sign_in_failures_per_client = 5).await;
    let ann = direct.sign_up("ann@example.com").await;
    let anon = direct.anonymous();
    for i in 0..5 {
        try_sign_in(&anon, format!("victim{i}@example.com"), None).await.expect_error(401, "invalid_credentials");
    }
    try_sign_in(&anon, "victim9@example.com".into(), None).await.expect_error(429, "rate_limited");
    // Naming another client is no way around it: no proxy is trusted here.
    try_sign_in(&anon, "victim9@example.com".into(), Some("203.0.113.9")).await.expect_error(429, "rate_limited");
    // The limit is the client's: the people signed in are not signed out.
    ann.get("/api/me").await.expect(200);

    let proxied = TestServer::start_with(|o| {
        o.config.sign_in_failures_per_client = 5;
        o.config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let anon = proxied.anonymous();
    for i in 0..5 {
        let r = try_sign_in(&anon, format!("victim{i}@example.com"), Some("198.51.100.7, 203.0.113.7")).await;
        r.expect_error(401, "invalid_credentials");
    }
    let r = try_sign_in(&anon, "victim9@example.com".into(), Some("203.0.113.7")).await;
    r.expect_error(429, "rate_limited");
    // Another client behind the same proxy has its own allowance.
    let r = try_sign_in(&anon, "victim9@example.com".into(), Some("203.0.113.8")).await;
    r.expect_error(401, "invalid_credentials");
}
