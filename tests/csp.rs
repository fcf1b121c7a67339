//! The pages' Content-Security-Policy: the self-hosted server sends it on
//! the web app's HTML, allowing exactly the inline scripts of the HTML it
//! serves, and `vercel.json` sends the same policy on Vercel.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine;
use common::TestServer;
use livedrop::http::csp::{Origins, policy};
use sha2::{Digest, Sha256};

/// The inline scripts of a page, found here independently of `http::csp`:
/// Next's export writes `<script>` with plain attributes.
fn inline_scripts(html: &str) -> Vec<String> {
    html.split("<script")
        .skip(1)
        .filter_map(|rest| {
            let (attrs, rest) = rest.split_once('>')?;
            let (body, _) = rest.split_once("</script>")?;
            (!attrs.split_whitespace().any(|a| a.starts_with("src="))).then(|| body.to_owned())
        })
        .collect()
}

fn hash(script: &str) -> String {
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes())))
}

fn script_src(policy: &str) -> BTreeSet<String> {
    let directive = policy.split(';').map(str::trim).find(|d| d.starts_with("script-src ")).expect("script-src");
    directive.split_whitespace().skip(1).map(str::to_owned).collect()
}

/// Fetches each path, and checks the page carries the policy and the policy
/// allows each of its inline scripts; returns the policy.
async fn check_pages(server: &TestServer, paths: &[&str]) -> String {
    let mut seen: Option<String> = None;
    for path in paths {
        let resp = reqwest::get(server.url(path)).await.unwrap();
        let csp = resp
            .headers()
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path} has no Content-Security-Policy"))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        let html = resp.text().await.unwrap();
        let allowed = script_src(&csp);
        let scripts = inline_scripts(&html);
        assert!(!scripts.is_empty(), "{path} has inline scripts");
        for s in &scripts {
            assert!(allowed.contains(&hash(s)), "{path}: the policy does not allow the inline script {s:?}");
        }
        for directive in ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"] {
            assert!(csp.split("; ").any(|d| d == directive), "{path}: no {directive} in {csp}");
        }
        assert!(!csp.contains("unsafe-eval") && !allowed.contains("'unsafe-inline'"), "{csp}");
        if let Some(before) = &seen {
            assert_eq!(before, &csp, "one policy for every page");
        }
        seen = Some(csp);
    }
    seen.unwrap()
}

fn page(title: &str, script: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><script src=\"/_next/static/chunks/a.js\" async=\"\"></script></head>\
         <body><h1>{title}</h1><script id=\"_R_\">(self.t=self.t||[]).push(\"{title}\")</script>\
         <script>self.__next_f.push([1,\"{script}\"])</script></body></html>"
    )
}

#[tokio::test]
async fn the_server_sends_the_policy_with_the_hashes_of_the_pages_it_serves() {
    let web = tempfile::tempdir().unwrap();
    for (file, title) in
        [("index.html", "home"), ("files/index.html", "files"), ("s/index.html", "link"), ("404.html", "missing")]
    {
        let path = web.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, page(title, &format!("{title} \\u003c/b\\u003e"))).unwrap();
    }
    let dir = web.path().to_owned();
    let server = TestServer::start_with(|o| o.web_dir = Some(dir)).await;
    let csp = check_pages(&server, &["/", "/files/", "/s/some-token", "/no-such-page/"]).await;
    // Exactly those of the pages: 2 per page (each differs), 'self'.
    assert_eq!(script_src(&csp).len(), 1 + 4 * 2, "{csp}");
    assert!(csp.contains("connect-src 'self';"), "self-hosted pages reach only their origin: {csp}");

    // Not the API's JSON, nor other files (harmless there, but not needed).
    let health = reqwest::get(server.url("/api/health")).await.unwrap();
    assert!(health.headers().get("content-security-policy").is_none());
    server.stop().await;
}

/// The real export, when it has been built (`npm --prefix web run build`).
#[tokio::test]
async fn the_server_allows_the_inline_scripts_of_the_built_web_app() {
    let out = Path::new("web/out");
    if !out.join("index.html").exists() {
        eprintln!("web/out is not built: skipped");
        return;
    }
    let server = TestServer::start_with(|o| o.web_dir = Some(out.to_owned())).await;
    check_pages(&server, &["/", "/signin/", "/signup/", "/files/", "/file/", "/s/abc", "/account/", "/nope/"]).await;
    server.stop().await;
}

/// vercel.json's policy is this one with Vercel's origins: every directive
/// but script-src's hashes, which `web/scripts/csp.mjs` writes from the
/// build (and checks on Vercel and in CI).
#[test]
fn vercel_json_sends_the_same_policy_with_the_clouds_origins() {
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("vercel.json").unwrap()).unwrap();
    let rule =
        config["headers"].as_array().unwrap().iter().find(|h| h["source"] == "/(.*)").expect("headers for every path");
    let csp = rule["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["key"] == "Content-Security-Policy")
        .expect("vercel.json sends a Content-Security-Policy")["value"]
        .as_str()
        .unwrap();
    let hashes: Vec<String> = script_src(csp).into_iter().filter(|s| s.starts_with("'sha256-")).collect();
    assert!(!hashes.is_empty(), "vercel.json lists the export's inline scripts: run `npm --prefix web run build`");
    for h in &hashes {
        let b64 = h.strip_prefix("'sha256-").and_then(|h| h.strip_suffix('\'')).unwrap();
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(b64).map(|d| d.len()).ok(), Some(32), "{h}");
    }
    let hashes: BTreeSet<String> = hashes.into_iter().collect();
    assert_eq!(csp, policy(&hashes, &Origins::vercel()));
}
