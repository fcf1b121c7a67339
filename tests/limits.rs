//! Rate limits that hold under parallel guesses: every attempt is counted
//! before its password is checked, so 50 guesses sent at once make at most
//! the limit's worth of checks. In the cloud the counts live in Firestore,
//! shared by every function instance.

mod common;

use common::cloud::CloudServer;
use common::{Client, Deployment, TestServer};
use serde_json::json;

/// Sends `n` requests at once; returns how many got each error code.
async fn at_once(n: usize, send: impl Fn(usize) -> reqwest::RequestBuilder) -> (usize, usize, Vec<common::Reply>) {
    let replies = futures_util::future::join_all((0..n).map(|i| Client::send(send(i)))).await;
    let code = |c: &str| replies.iter().filter(|r| r.code() == c).count();
    let (wrong, limited) = (code("wrong_password") + code("invalid_credentials"), code("rate_limited"));
    (wrong, limited, replies)
}

/// `n` wrong guesses at once: at most 10 are checked, every other one is
/// refused with when to try again. In the cloud, where attempts that
/// contend for the counter too long are refused too, at least one is
/// checked; self-hosted, exactly 10.
async fn parallel_link_guesses(world: Deployment, n: usize) {
    let (ann, _) = world.person("ann").await;
    let id = ann.upload("tax-2026.pdf", b"the figures").await["id"].as_str().unwrap().to_owned();
    let link = ann.post(&format!("/api/files/{id}/links"), json!({ "password": "the right one" })).await.expect(201);
    let token = link["token"].as_str().unwrap().to_owned();
    let anon = world.anonymous();
    let url = anon.url(&format!("/api/s/{token}/download"));
    let (wrong, limited, replies) =
        at_once(n, |i| anon.http.post(&url).json(&json!({ "password": format!("guess {i}") }))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(wrong + limited, n, "every guess checked or refused: {statuses:?}");
    if matches!(world, Deployment::SelfHosted(_)) {
        assert_eq!(wrong, 10, "exactly the limit's worth of checks: {statuses:?}");
    } else {
        assert!((1..=10).contains(&wrong), "at most the limit's worth of checks: {statuses:?}");
    }
    assert!(replies.iter().filter(|r| r.code() == "rate_limited").all(|r| r.headers.contains_key("retry-after")));
    // Once 10 failed, the limit holds for the right password too, until the
    // window ends (in the cloud, guesses refused for contention used none).
    let r = anon.post(&format!("/api/s/{token}/download"), json!({ "password": "the right one" })).await;
    if wrong == 10 {
        r.expect_error(429, "rate_limited");
    } else {
        r.expect(200);
    }
}

#[tokio::test]
async fn parallel_guesses_at_a_link_password_make_at_most_the_limits_checks_self_hosted() {
    parallel_link_guesses(Deployment::SelfHosted(TestServer::start().await), 50).await;
}

#[tokio::test]
async fn parallel_guesses_at_a_link_password_make_at_most_the_limits_checks_in_the_cloud() {
    // Fewer at once: the emulator holds a contended document's lock for
    // about 2 s before it aborts a transaction.
    parallel_link_guesses(Deployment::Cloud(Box::new(CloudServer::start().await)), 25).await;
}

/// A right password forgives its attempt: people who type it are never
/// held up by it, however often.
#[tokio::test]
async fn right_passwords_do_not_use_up_a_limit() {
    let server = TestServer::start().await;
    let ann = server.sign_up("ann@example.com").await;
    let id = ann.upload("a.txt", b"a").await["id"].as_str().unwrap().to_owned();
    let token =
        ann.post(&format!("/api/files/{id}/links"), json!({ "password": "the right one" })).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_owned();
    let anon = server.anonymous();
    for _ in 0..15 {
        anon.post(&format!("/api/s/{token}/download"), json!({ "password": "the right one" })).await.expect(200);
    }
    let url = server.url("/api/auth/signin");
    let (ok, _, _) = at_once(15, |_| {
        anon.http.post(&url).json(&json!({ "email": "ann@example.com", "password": "correct horse battery" }))
    })
    .await;
    assert_eq!(ok, 0, "no refusals among right sign-ins");
}

#[tokio::test]
async fn parallel_wrong_sign_ins_make_at_most_the_limits_checks() {
    let server = TestServer::start().await;
    server.sign_up("ann@example.com").await;
    let anon = server.anonymous();
    let url = server.url("/api/auth/signin");
    let (wrong, limited, replies) = at_once(30, |i| {
        anon.http.post(&url).json(&json!({ "email": "ann@example.com", "password": format!("wrong guess {i}") }))
    })
    .await;
    assert_eq!((wrong, limited), (10, 20), "{replies:?}");
}
