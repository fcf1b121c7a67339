//! Requests for upload sessions that do not exist keep nothing in memory.
//! Its own test binary: it reads the process's RSS, which other tests
//! running beside it would move.

mod common;

use common::TestServer;

#[tokio::test]
async fn random_session_ids_leave_no_state_behind() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let rss_kib = || {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap().to_owned();
        line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap()
    };
    let hammer = |n: usize| {
        let (http, base) = (http.clone(), server.base.clone());
        async move {
            use futures_util::StreamExt;
            futures_util::stream::iter(0..n)
                .for_each_concurrent(32, |_| {
                    let url = format!("{base}/blob/sessions/{}", livedrop::domain::random_token(24));
                    let http = http.clone();
                    async move {
                        let r = http.put(url).header("content-range", "bytes */100").send().await.unwrap();
                        assert_eq!(r.status(), 404);
                    }
                })
                .await;
        }
    };
    // Warm up what every request allocates once, then measure.
    hammer(5_000).await;
    let before = rss_kib();
    hammer(100_000).await;
    let after = rss_kib();
    // Past libtest's capture: the figure goes in the notes.
    let note = format!("RSS {before} KiB before, {after} KiB after 100,000 requests for random session ids\n");
    std::io::Write::write_all(&mut std::io::stdout().lock(), note.as_bytes()).unwrap();
    assert!(after < before + 8 * 1024, "RSS grew from {before} KiB to {after} KiB over 100,000 requests");
}
