//! The real server on port 0 with a temporary data dir, and a client that
//! talks to it as a browser or a script would.

#![allow(dead_code)]

pub mod cli;
pub mod cloud;
pub mod mail;

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use livedrop::domain::Crc32c;
use livedrop::server::{ServeOptions, run};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub struct TestServer {
    pub base: String,
    pub data_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _tmp: Option<tempfile::TempDir>,
    /// Someone who shares a file with each new person, so that the
    /// invitation's link proves their address (see `sign_up`).
    notary: Box<tokio::sync::OnceCell<Client>>,
}

impl TestServer {
    pub async fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = Self::start_in(tmp.path(), |_| {}).await;
        s._tmp = Some(tmp);
        s
    }

    pub async fn start_with(configure: impl FnOnce(&mut ServeOptions)) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = Self::start_in(tmp.path(), configure).await;
        s._tmp = Some(tmp);
        s
    }

    /// Starts a server on `data_dir` (which outlives it, for restarts).
    pub async fn start_in(data_dir: &Path, configure: impl FnOnce(&mut ServeOptions)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut opts = ServeOptions::new(data_dir);
        opts.shutdown_grace = Duration::from_secs(2);
        configure(&mut opts);
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            run(listener, opts, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        let s = Self {
            base,
            data_dir: data_dir.to_owned(),
            stop: Some(tx),
            task: Some(task),
            _tmp: None,
            notary: Box::default(),
        };
        for _ in 0..100 {
            if reqwest::get(format!("{}/api/health", s.base)).await.is_ok_and(|r| r.status() == 200) {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("server did not become healthy");
    }

    /// Graceful shutdown; waits until the server has stopped.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn anonymous(&self) -> Client {
        Client::anonymous(&self.base)
    }

    /// Signs up a new person with a browser session (cookie + CSRF token),
    /// who has proved their address, so that what is shared with it reaches
    /// them: the way a server without SMTP proves one, through the link of
    /// an invitation (an empty file a notary shares with them, then deletes).
    pub async fn sign_up(&self, email: &str) -> Client {
        let person = self.sign_up_unverified(email).await;
        let notary = self.notary.get_or_init(|| self.sign_up_unverified("notary@livedrop.test")).await;
        let file = notary.upload("proof.txt", b"").await["id"].as_str().unwrap().to_owned();
        let share = notary.post(&format!("/api/files/{file}/shares"), json!({ "email": email })).await.expect(201);
        let link = share["share"]["invite_url"].as_str().expect("an invitation link, as this server sends no mail");
        let token = link.split("token=").nth(1).unwrap();
        person.post("/api/auth/verify", json!({ "token": token })).await.expect(200);
        notary.delete(&format!("/api/files/{file}")).await.expect(204);
        person
    }

    /// Signs up a new person who has not proved their address.
    pub async fn sign_up_unverified(&self, email: &str) -> Client {
        let anon = self.anonymous();
        let resp = anon
            .http
            .post(self.url("/api/auth/signup"))
            .json(&json!({ "email": email, "password": "correct horse battery" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED, "sign-up of {email}");
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let body: Value = resp.json().await.unwrap();
        Client { cookie: Some(cookie), csrf: Some(body["csrf_token"].as_str().unwrap().to_owned()), ..anon }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A deployment under test, for tests that hold for both.
pub enum Deployment {
    SelfHosted(TestServer),
    Cloud(Box<cloud::CloudServer>),
}

impl Deployment {
    pub fn name(&self) -> &'static str {
        match self {
            Deployment::SelfHosted(_) => "self-hosted",
            Deployment::Cloud(_) => "cloud",
        }
    }

    /// A new person with an address unique to the run (the cloud emulators
    /// outlive it): a browser session self-hosted, a Firebase ID token in
    /// the cloud.
    pub async fn person(&self, name: &str) -> (Client, String) {
        let email = cloud::CloudServer::email(name);
        let client = match self {
            Deployment::SelfHosted(s) => s.sign_up(&email).await,
            Deployment::Cloud(c) => c.sign_up(&email).await,
        };
        (client, email)
    }

    pub fn anonymous(&self) -> Client {
        match self {
            Deployment::SelfHosted(s) => s.anonymous(),
            Deployment::Cloud(c) => c.anonymous(),
        }
    }
}

#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

/// A response: status and JSON body (`Value::Null` when there is none).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected answer: {:?}", self.body);
        self.body
    }

    /// Asserts a 4xx with this stable code and a message for people.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!((self.status.as_u16(), self.code()), (status, code), "{:?}", self.body);
        assert!(self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{:?}", self.body);
    }
}

impl Client {
    /// Nobody signed in, talking to the server at `base`.
    pub fn anonymous(base: &str) -> Self {
        Client { base: base.to_owned(), http: reqwest::Client::new(), cookie: None, csrf: None, bearer: None }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) }
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method.clone(), self.url(path));
        if let Some(c) = &self.cookie {
            r = r.header("cookie", c);
        }
        if let Some(b) = &self.bearer {
            r = r.bearer_auth(b);
        }
        if method != Method::GET {
            if let Some(t) = &self.csrf {
                r = r.header("x-csrf-token", t);
            }
        }
        r
    }

    pub async fn send(r: reqwest::RequestBuilder) -> Reply {
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, body, headers }
    }

    pub async fn get(&self, path: &str) -> Reply {
        Self::send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        Self::send(self.request(Method::POST, path).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        Self::send(self.request(Method::PATCH, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        Self::send(self.request(Method::DELETE, path)).await
    }

    /// Begins an upload of `data`: returns the JSON answer.
    pub async fn begin(&self, name: &str, data: &[u8]) -> Reply {
        self.begin_in(name, data, None).await
    }

    /// Begins an upload of `data` into a folder (`None`: the top).
    pub async fn begin_in(&self, name: &str, data: &[u8], folder: Option<&str>) -> Reply {
        self.post(
            "/api/uploads",
            json!({
                "name": name, "size": data.len(), "content_type": "text/plain",
                "crc32c": Crc32c::of(data).encode(), "folder_id": folder,
            }),
        )
        .await
    }

    /// Uploads `data` in one signed PUT and completes it; returns the file.
    pub async fn upload(&self, name: &str, data: &[u8]) -> Value {
        self.upload_in(name, data, None).await
    }

    /// `upload`, into a folder (`None`: the top).
    pub async fn upload_in(&self, name: &str, data: &[u8], folder: Option<&str>) -> Value {
        let begun = self.begin_in(name, data, folder).await.expect(201);
        assert_eq!(begun["upload"]["method"], "PUT");
        let put =
            self.http.put(self.url(begun["upload"]["url"].as_str().unwrap())).body(data.to_vec()).send().await.unwrap();
        assert_eq!(put.status(), 200);
        let id = begun["file"]["id"].as_str().unwrap();
        self.post(&format!("/api/uploads/{id}/complete"), json!({})).await.expect(200)["file"].clone()
    }

    /// Downloads a file (as owner or recipient) through its signed URL.
    pub async fn download(&self, id: &str) -> Vec<u8> {
        let signed = self.post(&format!("/api/files/{id}/download"), json!({})).await.expect(200);
        self.fetch(signed["url"].as_str().unwrap()).await
    }

    /// The bytes at a signed URL (absolute, or a path on this server).
    pub async fn fetch(&self, url: &str) -> Vec<u8> {
        let resp = self.http.get(self.url(url)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        resp.bytes().await.unwrap().to_vec()
    }

    /// Opens the live feed (`query` like `?epoch=..&since=..`).
    pub async fn feed(&self, query: &str) -> Feed {
        let ws = self.base.replacen("http", "ws", 1);
        let mut req = format!("{ws}/api/feed{query}").into_client_request().unwrap();
        if let Some(c) = &self.cookie {
            req.headers_mut().insert("cookie", c.parse().unwrap());
        }
        if let Some(b) = &self.bearer {
            req.headers_mut().insert("authorization", format!("Bearer {b}").parse().unwrap());
        }
        let (stream, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        Feed { stream }
    }
}

pub struct Feed {
    pub stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

impl Feed {
    /// The next JSON message, within 5 s.
    pub async fn next(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), self.stream.next())
                .await
                .expect("a feed message within 5 s")
                .expect("the feed is open")
                .unwrap();
            if let Message::Text(t) = msg {
                return serde_json::from_str(&t).unwrap();
            }
        }
    }

    /// Skips messages until one matches; returns it.
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let m = self.next().await;
            if pred(&m) {
                return m;
            }
        }
    }

    /// Asserts that nothing arrives for a while.
    pub async fn quiet(&mut self, for_ms: u64) {
        if let Ok(Some(Ok(Message::Text(t)))) =
            tokio::time::timeout(Duration::from_millis(for_ms), self.stream.next()).await
        {
            panic!("unexpected feed message: {t}");
        }
    }

    /// Waits (up to 5 s, past any messages) for the server to close the
    /// feed; returns the close code.
    pub async fn closed_by_server(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await.expect("the server closes within 5 s") {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return None,
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.stream.send(Message::Close(None)).await;
    }
}

/// Deterministic bytes of any length.
pub fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u32).wrapping_mul(2_654_435_761).rotate_left(seed as u32) as u8 ^ seed).collect()
}
