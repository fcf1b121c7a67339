//! Every route of the shared router is reachable through `vercel.json`:
//! each API path is rewritten to a function that exists, and that function
//! (its real binary, started with `VERCEL_DEV_PORT`, in cloud mode against
//! the Firestore emulator) answers it from the router rather than with
//! "no such route".

mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use livedrop::cloud::emulator::FirestoreEmulator;
use livedrop::http::api_routes;
use serde_json::Value;

/// Matches a path against a Vercel `source` (`:name` is one segment,
/// `:name*` any number of them, the rest literal).
fn matches(source: &str, path: &str) -> bool {
    let src: Vec<&str> = source.trim_matches('/').split('/').collect();
    let got: Vec<&str> = path.trim_matches('/').split('/').collect();
    fn go(src: &[&str], got: &[&str]) -> bool {
        match (src.first(), got.first()) {
            (None, None) => true,
            (Some(s), _) if s.starts_with(':') && s.ends_with('*') => (0..=got.len()).any(|n| go(&src[1..], &got[n..])),
            (Some(s), Some(g)) if s.starts_with(':') || s == g => go(&src[1..], &got[1..]),
            _ => false,
        }
    }
    go(&src, &got)
}

/// The function a request path reaches: its own file under `api/`, or the
/// destination of the first rewrite that matches.
fn function_for(config: &Value, path: &str) -> Option<String> {
    let functions: Vec<String> = std::fs::read_dir("api")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".rs").map(str::to_owned))
        .collect();
    if let Some(f) = path.strip_prefix("/api/").filter(|f| functions.iter().any(|x| x == f)) {
        return Some(f.to_owned());
    }
    let rewrite = config["rewrites"].as_array()?.iter().find(|r| matches(r["source"].as_str().unwrap(), path))?;
    let f = rewrite["destination"].as_str()?.strip_prefix("/api/")?.to_owned();
    functions.contains(&f).then_some(f)
}

fn concrete(path: &str) -> String {
    path.replace("{id}", "abc").replace("{token}", "abc").replace("{email}", "a@b.c")
}

#[test]
fn every_api_route_is_rewritten_to_a_function() {
    let config: Value = serde_json::from_str(&std::fs::read_to_string("vercel.json").unwrap()).unwrap();
    for (path, _) in api_routes() {
        assert!(function_for(&config, &concrete(path)).is_some(), "{path} reaches no function through vercel.json");
    }
    assert!(matches("/s/:token", "/s/abc"), "recipient links resolve to the recipient page");
    assert!(matches("/api/files/:path*", "/api/files/a/links") && matches("/api/files/:path*", "/api/files/a"));
    assert!(!matches("/api/me", "/api/me/x"));
}

struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn each_function_binary_answers_its_routes_from_the_router() {
    let emulator = FirestoreEmulator::from_env_or_start().await.unwrap();
    let config: Value = serde_json::from_str(&std::fs::read_to_string("vercel.json").unwrap()).unwrap();
    let bins = HashMap::from([
        ("files", env!("CARGO_BIN_EXE_files")),
        ("account", env!("CARGO_BIN_EXE_account")),
        ("public", env!("CARGO_BIN_EXE_public")),
    ]);
    let mut ports = HashMap::new();
    let mut running = vec![];
    for (name, bin) in &bins {
        let port = free_port();
        let child = Command::new(bin)
            .env("VERCEL_DEV_PORT", port.to_string())
            .env("FIRESTORE_EMULATOR_HOST", emulator.host())
            .env("LIVEDROP_FIREBASE_PROJECT", "demo-livedrop-routes")
            .env("LIVEDROP_GCS_BUCKET", "livedrop-routes")
            // Nothing here reaches storage; the variable only selects the
            // emulator's unauthenticated mode.
            .env("STORAGE_EMULATOR_HOST", "127.0.0.1:9")
            .env_remove("FIREBASE_AUTH_EMULATOR_HOST")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        running.push(Function(child));
        ports.insert(name.to_string(), port);
    }
    let http = reqwest::Client::new();
    for (name, port) in &ports {
        let mut up = false;
        for _ in 0..200 {
            if http.get(format!("http://127.0.0.1:{port}/api/health")).send().await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(up, "function {name} did not start");
    }

    let spec: Value = serde_json::from_str(livedrop::http::OPENAPI).unwrap();
    let mut checked = 0;
    for (path, ops) in spec["paths"].as_object().unwrap() {
        let concrete = concrete(path);
        let function = function_for(&config, &concrete).unwrap();
        for method in ops.as_object().unwrap().keys() {
            let url = format!("http://127.0.0.1:{}{concrete}", ports[&function]);
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp =
                http.request(m, &url).header("content-type", "application/json").body("{}").send().await.unwrap();
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert_ne!(status, 405, "{method} {path} via {function}");
            assert!(status.as_u16() < 500, "{method} {path} via {function}: {status} {body}");
            let message = body["error"]["message"].as_str().unwrap_or("");
            assert!(!message.contains("API route"), "{method} {path} via {function}: {body}");
            checked += 1;
        }
    }
    assert_eq!(checked, 49);

    // Cloud mode says so, and sign-up belongs to Firebase Auth there.
    let public = ports["public"];
    let cfg: Value =
        http.get(format!("http://127.0.0.1:{public}/api/config")).send().await.unwrap().json().await.unwrap();
    assert_eq!(cfg["mode"], "cloud");
    assert_eq!(cfg["firebase"]["emulators"]["firestore"], emulator.host());
    let account = ports["account"];
    let r = http
        .post(format!("http://127.0.0.1:{account}/api/auth/signup"))
        .json(&serde_json::json!({ "email": "a@b.c", "password": "long enough pw" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_supported");
}

#[tokio::test]
async fn livedrop_serve_runs_the_same_router_against_firebase() {
    let emulator = FirestoreEmulator::from_env_or_start().await.unwrap();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_livedrop"));
    serve
        .args(["serve", "--backend", "firebase"])
        .args(["--data-dir", "/nonexistent-not-used", "--web-dir", "/nonexistent-not-built"])
        .env("FIRESTORE_EMULATOR_HOST", emulator.host())
        .env("LIVEDROP_FIREBASE_PROJECT", "demo-livedrop-serve")
        .env("LIVEDROP_GCS_BUCKET", "livedrop-serve")
        .env("STORAGE_EMULATOR_HOST", "127.0.0.1:9")
        .env("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9");
    let (child, base) = common::cloud::spawn_serve(serve).await;
    let _running = Function(child);
    let http = reqwest::Client::new();
    let cfg: Value = http.get(format!("{base}/api/config")).send().await.unwrap().json().await.unwrap();
    assert_eq!(cfg["mode"], "cloud", "{cfg}");
    assert_eq!(cfg["signup_open"], false, "accounts belong to Firebase Auth");
    assert_eq!(cfg["firebase"]["emulators"]["auth"], "http://127.0.0.1:9");
    // An unsigned emulator token for a new person: accepted in emulator mode.
    use base64::Engine;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let now = jiff::Timestamp::now().as_second();
    let claims = serde_json::json!({
        "iss": "https://securetoken.google.com/demo-livedrop-serve", "aud": "demo-livedrop-serve",
        "sub": "emulatorUser1", "email": "emu@example.com", "email_verified": false,
        "iat": now, "exp": now + 3600, "auth_time": now,
    });
    let token = format!("{}.{}.", b64(serde_json::json!({ "alg": "none", "typ": "JWT" })), b64(claims));
    let me: Value = http.get(format!("{base}/api/me")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["user"]["email"], "emu@example.com", "{me}");
    let files: Value =
        http.get(format!("{base}/api/files")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(files["files"], serde_json::json!([]));
    let anon = http.get(format!("{base}/api/files")).send().await.unwrap();
    assert_eq!(anon.status(), 401);
}
