//! The contract every `BlobStore` must keep, exercised through the URLs it
//! signs, as a client would. `tests/blob_disk.rs` runs it against the
//! self-hosted store; the GCS store runs it against fake-gcs-server.

use jiff::{SignedDuration, Timestamp};
use livedrop::blob::{BlobStore, Disposition};
use livedrop::domain::{ContentType, Crc32c, FileId, FileName};

/// Resolves a signed URL (relative for the disk store, absolute for GCS).
pub fn resolve(base: &str, url: &str) -> String {
    if url.starts_with("http") { url.to_owned() } else { format!("{base}{url}") }
}

fn soon() -> Timestamp {
    Timestamp::now() + SignedDuration::from_mins(5)
}

/// Checks a store's test double cannot make, declared by the caller and
/// printed, never skipped silently. fake-gcs-server, which stands in for
/// Cloud Storage in tests, has both gaps; real Cloud Storage has neither.
#[derive(Debug, Default, Clone, Copy)]
pub struct Gaps {
    /// GET ignores `response-content-disposition`, so the served
    /// `Content-Disposition` cannot be checked (only the signed URL).
    pub no_response_overrides: bool,
    /// A resumable status query (`Content-Range: bytes */SIZE`, no body)
    /// commits the session instead of answering `308` with its `Range`.
    pub no_status_query: bool,
    /// Ignores `x-goog-if-generation-match` and `x-goog-content-length-range`
    /// (fake-gcs-server): a replayed URL overwrites. Then the contract only
    /// checks that every upload URL signs both headers.
    pub no_preconditions: bool,
}

/// Sends `body` to an upload target with the headers it signed.
async fn send_to(http: &reqwest::Client, base: &str, t: &livedrop::blob::UploadTarget, body: Vec<u8>) -> u16 {
    let method = reqwest::Method::from_bytes(t.method.as_bytes()).unwrap();
    let mut req = http.request(method, resolve(base, &t.url)).body(body);
    for (k, v) in &t.headers {
        req = req.header(k, v);
    }
    req.send().await.unwrap().status().as_u16()
}

fn signs_preconditions(t: &livedrop::blob::UploadTarget, size: u64) -> bool {
    let has = |k: &str, v: &str| t.headers.iter().any(|(hk, hv)| hk == k && hv == v);
    has("x-goog-if-generation-match", "0") && has("x-goog-content-length-range", &format!("0,{size}"))
}

#[allow(dead_code)] // each test binary uses `run` or `run_with`
pub async fn run(store: &dyn BlobStore, base: &str) {
    run_with(store, base, Gaps::default()).await
}

#[allow(dead_code)]
pub async fn run_with(store: &dyn BlobStore, base: &str, gaps: Gaps) {
    if gaps.no_response_overrides || gaps.no_status_query || gaps.no_preconditions {
        // Past libtest's capture, so that every run shows what it skipped.
        let note = format!("blob contract: not checked against this store's test double: {gaps:?}\n");
        std::io::Write::write_all(&mut std::io::stdout().lock(), note.as_bytes()).unwrap();
    }
    let http = reqwest::Client::new();
    let ct = ContentType::parse(Some("application/octet-stream")).unwrap();

    // A single PUT, then stat and a ranged GET.
    let id = FileId::generate();
    assert_eq!(store.stat(&id).await.unwrap(), None, "nothing before the upload");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let put = store.sign_put(&id, data.len() as u64, &ct, soon()).unwrap();
    let mut req = http.put(resolve(base, &put.url)).body(data.clone());
    for (k, v) in &put.headers {
        req = req.header(k, v);
    }
    assert!(req.send().await.unwrap().status().is_success());
    let info = store.stat(&id).await.unwrap().expect("stored");
    assert_eq!((info.size, info.crc32c), (data.len() as u64, Crc32c::of(&data)));

    // Create-only: the same URL replayed, or a new one for the same name,
    // cannot replace a complete object.
    let other = vec![7u8; data.len()];
    if gaps.no_preconditions {
        assert!(signs_preconditions(&put, data.len() as u64), "{:?}", put.headers);
    } else {
        let status = send_to(&http, base, &put, other.clone()).await;
        assert!((400..500).contains(&status), "a replayed PUT was answered {status}");
        let again = store.sign_put(&id, data.len() as u64, &ct, soon()).unwrap();
        let status = send_to(&http, base, &again, other.clone()).await;
        assert!((400..500).contains(&status), "a second URL for a complete object was answered {status}");
        assert_eq!(store.stat(&id).await.unwrap(), Some(info), "the bytes are unchanged");
    }

    // Never more than declared.
    let small = FileId::generate();
    let t = store.sign_put(&small, 10, &ct, soon()).unwrap();
    if gaps.no_preconditions {
        assert!(signs_preconditions(&t, 10));
    } else {
        let status = send_to(&http, base, &t, vec![1u8; 11]).await;
        assert!((400..500).contains(&status), "11 bytes for a 10-byte upload were answered {status}");
        assert_eq!(store.stat(&small).await.unwrap(), None);
    }

    // Discarded bytes leave the name open: the right bytes can still come.
    let retry = FileId::generate();
    let t = store.sign_put(&retry, 4, &ct, soon()).unwrap();
    assert_eq!(send_to(&http, base, &t, b"bad!".to_vec()).await, 200);
    store.discard(&retry).await.unwrap();
    assert_eq!(store.stat(&retry).await.unwrap(), None);
    assert_eq!(send_to(&http, base, &t, b"good".to_vec()).await, 200);
    assert_eq!(store.stat(&retry).await.unwrap().unwrap().crc32c, Crc32c::of(b"good"));
    let name = FileName::parse("Résumé.bin").unwrap();
    let get = store.sign_get(&id, info.generation, &name, &ct, Disposition::Attachment, soon()).unwrap();
    let resp = http.get(resolve(base, &get)).header("range", "bytes=10-19").send().await.unwrap();
    assert_eq!(resp.status(), 206);
    if !gaps.no_response_overrides {
        assert!(
            resp.headers()["content-disposition"].to_str().unwrap().contains("filename*=UTF-8''R%C3%A9sum%C3%A9.bin")
        );
    }
    assert_eq!(resp.bytes().await.unwrap().to_vec(), data[10..20]);

    // A resumable session: start, chunk, status, finish.
    let id2 = FileId::generate();
    let big: Vec<u8> = (0..(600 * 1024u32)).map(|i| (i % 253) as u8).collect();
    let start = store.sign_resumable_start(&id2, big.len() as u64, &ct, soon()).unwrap();
    assert!(start.resumable);
    let mut req = http.post(resolve(base, &start.url));
    for (k, v) in &start.headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let session = resolve(base, resp.headers()["location"].to_str().unwrap());
    let half = 256 * 1024;
    let resp = http
        .put(&session)
        .header("content-range", format!("bytes 0-{}/{}", half - 1, big.len()))
        .body(big[..half].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 308);
    if !gaps.no_status_query {
        let resp = http.put(&session).header("content-range", format!("bytes */{}", big.len())).send().await.unwrap();
        assert_eq!(resp.status(), 308);
        assert_eq!(resp.headers()["range"], format!("bytes=0-{}", half - 1));
    }
    assert_eq!(store.stat(&id2).await.unwrap(), None, "not an object until complete");
    let resp = http
        .put(&session)
        .header("content-range", format!("bytes {half}-{}/{}", big.len() - 1, big.len()))
        .body(big[half..].to_vec())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(store.stat(&id2).await.unwrap().unwrap().crc32c, Crc32c::of(&big));

    // Delete: gone, and deleting again is fine.
    store.delete(&id).await.unwrap();
    store.delete(&id).await.unwrap();
    assert_eq!(store.stat(&id).await.unwrap(), None);
    let resp = http.get(resolve(base, &get)).send().await.unwrap();
    assert!(!resp.status().is_success(), "a deleted object is not served ({})", resp.status());

    // A deleted name stays closed: a URL issued before, replayed, stores
    // nothing; nor does a session started on a replayed start URL.
    let listed = |page: livedrop::blob::ObjectPage, id: &FileId| page.objects.into_iter().find(|o| &o.object == id);
    assert!(listed(store.list_objects(None).await.unwrap(), &id).unwrap().tombstone, "a tombstone holds the name");
    if !gaps.no_preconditions {
        let status = send_to(&http, base, &put, data.clone()).await;
        assert!((400..500).contains(&status), "a PUT replayed after delete was answered {status}");
        assert_eq!(store.stat(&id).await.unwrap(), None, "nothing came back");
    }
    store.delete(&id2).await.unwrap();
    if !gaps.no_preconditions {
        let resp = http.put(&session).header("content-range", format!("bytes */{}", big.len())).send().await.unwrap();
        assert!(resp.status().is_client_error(), "a deleted object's session answered {}", resp.status());
        let mut req = http.post(resolve(base, &start.url));
        for (k, v) in &start.headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.unwrap();
        assert!(resp.status().is_client_error(), "a replayed session start answered {}", resp.status());
    }
    assert_eq!(store.stat(&id2).await.unwrap(), None);

    // The sweep's view: tombstones listed, and removed when asked.
    store.remove_tombstone(&id).await.unwrap();
    assert!(listed(store.list_objects(None).await.unwrap(), &id).is_none());
    assert!(!listed(store.list_objects(None).await.unwrap(), &retry).unwrap().tombstone);
    store.remove_tombstone(&retry).await.unwrap();
    assert!(store.stat(&retry).await.unwrap().is_some(), "removing a tombstone never removes bytes");
    store.delete(&retry).await.unwrap();
}
