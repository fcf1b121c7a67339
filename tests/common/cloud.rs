//! A cloud deployment for tests: `livedrop serve --backend firebase` on the
//! Firestore emulator, the Firebase Auth emulator and fake-gcs-server (the
//! ones `scripts/emulators.sh start` runs, or private ones: see
//! `livedrop::cloud::emulator`), and people signed up through Firebase Auth.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use livedrop::cloud::emulator::{AUTH_EMULATOR_PROJECT, AuthEmulator, FirestoreEmulator, StorageEmulator};
use serde_json::{Value, json};

use super::Client;

const BUCKET: &str = "livedrop-cli-cloud";

/// A cloud deployment on emulators, stopped when dropped.
pub struct CloudServer {
    pub base: String,
    pub auth: AuthEmulator,
    server: Child,
    _firestore: FirestoreEmulator,
    storage: StorageEmulator,
    _data: tempfile::TempDir,
}

impl CloudServer {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// For tests without a runtime of their own.
    pub fn start_blocking(env: &[(&str, &str)]) -> Self {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(Self::start_with(env))
    }

    /// With extra variables for the server.
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let (firestore, auth, storage) = tokio::join!(
            FirestoreEmulator::from_env_or_start(),
            AuthEmulator::from_env_or_start(),
            StorageEmulator::from_env_or_start()
        );
        let (firestore, auth, storage) = (firestore.unwrap(), auth.unwrap(), storage.unwrap());
        storage.create_bucket(BUCKET).await.unwrap();
        let data = tempfile::tempdir().unwrap();
        let mut serve = Command::new(super::cli::BIN);
        serve
            .args(["serve", "--backend", "firebase"])
            .arg("--data-dir")
            .arg(data.path())
            .args(["--web-dir", "/nonexistent-not-built"])
            .env("FIRESTORE_EMULATOR_HOST", firestore.host())
            .env("FIREBASE_AUTH_EMULATOR_HOST", auth.host())
            .env("STORAGE_EMULATOR_HOST", storage.base())
            // The Auth emulator's tokens name its project: the deployment's.
            .env("LIVEDROP_FIREBASE_PROJECT", AUTH_EMULATOR_PROJECT)
            .env("LIVEDROP_GCS_BUCKET", BUCKET)
            .env_remove("LIVEDROP_FIREBASE_WEB_CONFIG")
            .env_remove("LIVEDROP_REQUIRE_VERIFIED_EMAIL")
            .envs(env.iter().copied());
        let (server, base) = spawn_serve(serve).await;
        Self { base, auth, server, _firestore: firestore, storage, _data: data }
    }

    /// The deployment's bucket, as the server's own store sees it: for
    /// looking at what is stored, and putting there what a crash leaves.
    #[allow(dead_code)]
    pub fn bucket(&self) -> livedrop::cloud::gcs::GcsStore {
        use livedrop::cloud::gcs::{GcsConfig, GcsStore, v4::Endpoint};
        let account = livedrop::cloud::service_account::ServiceAccount::ephemeral("tests@localhost").unwrap();
        GcsStore::new(GcsConfig {
            bucket: BUCKET.to_owned(),
            endpoint: Endpoint::parse(self.storage.base(), "http").unwrap(),
            account: std::sync::Arc::new(account),
            emulator: true,
        })
        .unwrap()
    }

    /// A new Firebase account (e-mail and password, through the Auth
    /// emulator's REST API, as the web app's SDK would), signed in to the
    /// API with its ID token; its first request stores its profile.
    pub async fn sign_up(&self, email: &str) -> Client {
        let url =
            format!("http://{}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=demo-api-key", self.auth.host());
        let body = json!({ "email": email, "password": super::cli::PASSWORD, "returnSecureToken": true });
        let made: Value = reqwest::Client::new().post(url).json(&body).send().await.unwrap().json().await.unwrap();
        let token = made["idToken"].as_str().unwrap_or_else(|| panic!("sign-up of {email}: {made}")).to_owned();
        let client = Client { bearer: Some(token), ..self.anonymous() };
        client.get("/api/me").await.expect(200);
        client
    }

    pub fn anonymous(&self) -> Client {
        Client::anonymous(&self.base)
    }

    /// A Firebase account, made with the Auth emulator alone (the API has
    /// not seen it); its user id.
    pub async fn make_account(&self, email: &str) -> String {
        let url =
            format!("http://{}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=demo-api-key", self.auth.host());
        let body = json!({ "email": email, "password": super::cli::PASSWORD, "returnSecureToken": true });
        let made: Value = reqwest::Client::new().post(url).json(&body).send().await.unwrap().json().await.unwrap();
        made["localId"].as_str().unwrap_or_else(|| panic!("sign-up of {email}: {made}")).to_owned()
    }

    /// Marks an account's address verified, as an administrator can.
    pub fn mark_verified(&self, user_id: &str) {
        let path = format!("/identitytoolkit.googleapis.com/v1/projects/{AUTH_EMULATOR_PROJECT}/accounts:update");
        let (status, body) =
            self.auth_call(true, "POST", &path, Some(json!({ "localId": user_id, "emailVerified": true })));
        assert_eq!(status, 200, "{body}");
    }

    /// Signs in with the password, as the web app's SDK would: a client
    /// with a fresh ID token (which says whether the address is verified).
    pub async fn sign_in(&self, email: &str) -> Client {
        let url = format!(
            "http://{}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=demo-api-key",
            self.auth.host()
        );
        let body = json!({ "email": email, "password": super::cli::PASSWORD, "returnSecureToken": true });
        let signed: Value = reqwest::Client::new().post(url).json(&body).send().await.unwrap().json().await.unwrap();
        let token = signed["idToken"].as_str().unwrap_or_else(|| panic!("sign-in of {email}: {signed}")).to_owned();
        Client { bearer: Some(token), ..self.anonymous() }
    }

    /// An address no earlier run has used: the emulators may be shared and
    /// long-lived.
    pub fn email(name: &str) -> String {
        let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        format!("{name}-{n}@example.com")
    }

    /// Calls the Auth emulator, as the project's administrator with
    /// `admin` (the emulator takes `Bearer owner` for one): `(status, body)`.
    pub fn auth_call(&self, admin: bool, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("http://{}{path}", self.auth.host());
        let mut curl = Command::new("curl");
        curl.args(["-sS", "-w", "\n%{http_code}", "-X", method, &url, "-H", "Content-Type: application/json"]);
        if admin {
            curl.args(["-H", "Authorization: Bearer owner"]);
        }
        if let Some(b) = body {
            curl.args(["--data", &b.to_string()]);
        }
        let out = curl.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or_else(|| panic!("curl: {text}"));
        (status.parse().unwrap(), serde_json::from_str(body).unwrap_or(Value::Null))
    }

    /// Disables an account, as an administrator would in the Firebase console.
    pub fn disable(&self, user_id: &str) {
        let path = format!("/identitytoolkit.googleapis.com/v1/projects/{AUTH_EMULATOR_PROJECT}/accounts:update");
        let (status, body) =
            self.auth_call(true, "POST", &path, Some(json!({ "localId": user_id, "disableUser": true })));
        assert_eq!(status, 200, "{body}");
    }

    /// Follows the verification link the emulator "mailed" to `email`.
    pub fn verify(&self, email: &str) {
        let (status, body) =
            self.auth_call(true, "GET", &format!("/emulator/v1/projects/{AUTH_EMULATOR_PROJECT}/oobCodes"), None);
        assert_eq!(status, 200, "{body}");
        let code = body["oobCodes"]
            .as_array()
            .unwrap()
            .iter()
            .rfind(|c| c["email"] == email && c["requestType"] == "VERIFY_EMAIL")
            .unwrap_or_else(|| panic!("no verification mail to {email}: {body}"))["oobCode"]
            .clone();
        let path = "/identitytoolkit.googleapis.com/v1/accounts:update?key=demo-api-key";
        // What the link in the mail does: the code, applied by its recipient.
        let (status, body) = self.auth_call(false, "POST", path, Some(json!({ "oobCode": code })));
        assert_eq!((status, &body["emailVerified"]), (200, &json!(true)), "{body}");
    }
}

impl Drop for CloudServer {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Starts `livedrop serve` on a port it picks itself and returns it with
/// its base URL, read from its own log: a port picked here and handed over
/// could be taken meanwhile by a server of a test running alongside, whose
/// answers would then pass for this one's.
pub async fn spawn_serve(mut serve: Command) -> (Child, String) {
    use std::io::BufRead;
    let mut child = serve
        .args(["--listen", "127.0.0.1:0", "--log-json"])
        .env("LIVEDROP_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads the log for as long as the server lives, so that it never
    // blocks on a full pipe.
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if let Some(addr) = v["fields"]["addr"].as_str() {
                let _ = tx.send(format!("http://{addr}"));
            } else if v.is_null() {
                eprintln!("livedrop serve: {line}");
            }
        }
    });
    let base = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60))).await.unwrap();
    match base {
        Ok(base) => (child, base),
        Err(_) => {
            let _ = child.kill();
            panic!("livedrop serve did not say where it listens within 60 s (its stderr is above)");
        }
    }
}
