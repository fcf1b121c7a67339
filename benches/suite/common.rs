//! What every part of the suite shares: the servers it starts (and stops),
//! figures read from `/proc`, a small livedrop API client, and statistics.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

/// The cores the servers and the load generator are pinned to.
#[derive(Clone, Copy, Debug)]
pub struct Cores {
    pub server: Option<usize>,
    pub client: Option<usize>,
}

impl Cores {
    pub fn describe(&self) -> String {
        match (self.server, self.client) {
            (Some(s), Some(c)) => {
                format!("server pinned to CPU {s}, load generator (this process) to CPU {c} (taskset)")
            }
            _ => "not pinned (fewer than 2 CPUs)".into(),
        }
    }
}

/// A server this suite started; stopped (by its PID) when dropped.
pub struct Server {
    pub base: String,
    child: Child,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the process: SIGTERM, then SIGKILL after `grace`.
    pub fn stop(mut self, grace: Duration) {
        self.stop_inner(grace);
    }

    fn stop_inner(&mut self, grace: Duration) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_inner(Duration::from_secs(5));
    }
}

/// A free port on 127.0.0.1 (the listener is dropped; the race is harmless here).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn pinned(cpu: Option<usize>, program: &Path) -> Command {
    match cpu {
        Some(c) => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(c.to_string()).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

async fn wait_ready(url: &str, child: &mut Child, what: &str) -> Result<()> {
    let http = reqwest::Client::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(status)) = child.try_wait() {
            bail!("{what} exited at start ({status}); see its log in the bench directory");
        }
        if http.get(url).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("{what} did not answer {url} within 30 s")
}

/// `livedrop serve` on 127.0.0.1 with a fresh data dir under `dir`.
pub async fn start_livedrop(bin: &Path, dir: &Path, cores: Cores) -> Result<Server> {
    let data = dir.join("livedrop-data");
    let _ = std::fs::remove_dir_all(&data);
    restart_livedrop(bin, dir, cores).await
}

/// `livedrop serve` on the data dir under `dir` as it is (accounts, tokens and
/// files kept): a process whose memory holds nothing from earlier work.
pub async fn restart_livedrop(bin: &Path, dir: &Path, cores: Cores) -> Result<Server> {
    let data = dir.join("livedrop-data");
    std::fs::create_dir_all(&data)?;
    let port = free_port()?;
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("livedrop.log"))?;
    let mut child = pinned(cores.server, bin)
        .arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&data)
        .arg("--web-dir")
        .arg(dir.join("no-web-app"))
        // Like nginx's `access_log off`: warnings and errors only.
        .env("LIVEDROP_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let base = format!("http://127.0.0.1:{port}");
    if let Err(e) = wait_ready(&format!("{base}/api/health"), &mut child, "livedrop").await {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(Server { base, child })
}

/// nginx on 127.0.0.1 serving and accepting (`PUT`) files under `dir/www`,
/// one process (`master_process off`), so that it is one PID to pin and stop.
pub async fn start_nginx(dir: &Path, cores: Cores) -> Result<Server> {
    let root = dir.join("nginx");
    let www = root.join("www");
    let body = root.join("body-temp");
    std::fs::create_dir_all(&www)?;
    std::fs::create_dir_all(&body)?;
    std::fs::write(www.join("ping"), "ok")?;
    let port = free_port()?;
    let conf = format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_max_body_size 0;
    client_body_temp_path {body};
    proxy_temp_path {root}/proxy-temp;
    fastcgi_temp_path {root}/fastcgi-temp;
    types {{ application/octet-stream bin; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {www};
        location / {{
            dav_methods PUT;
            create_full_put_path on;
            dav_access user:rw;
        }}
    }}
}}
"#,
        root = root.display(),
        body = body.display(),
        www = www.display(),
    );
    let conf_path = root.join("nginx.conf");
    std::fs::write(&conf_path, conf)?;
    let nginx = which("nginx").ok_or_else(|| anyhow!("nginx is not installed (benches/run.sh installs it)"))?;
    let mut child = pinned(cores.server, &nginx)
        .arg("-e")
        .arg(root.join("error.log"))
        .arg("-p")
        .arg(&root)
        .arg("-c")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting nginx")?;
    let base = format!("http://127.0.0.1:{port}");
    if let Err(e) = wait_ready(&format!("{base}/ping"), &mut child, "nginx").await {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(Server { base, child })
}

pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

// ----- /proc -----

fn status_kib(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
        .ok_or_else(|| anyhow!("no {field} in /proc/{pid}/status"))
}

/// Resident memory now, in KiB.
pub fn rss_kib(pid: u32) -> Result<u64> {
    status_kib(pid, "VmRSS")
}

/// Peak resident memory since start (or since `reset_peak`), in KiB.
pub fn hwm_kib(pid: u32) -> Result<u64> {
    status_kib(pid, "VmHWM")
}

/// Resets VmHWM to the current RSS (`clear_refs` 5, Linux 4.0+).
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// User + system CPU time of the process so far, in microseconds.
pub fn cpu_us(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces: fields are counted after its ')'.
    let rest = &stat[stat.rfind(')').ok_or_else(|| anyhow!("odd /proc/{pid}/stat"))? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f[11].parse::<u64>()? + f[12].parse::<u64>()?;
    Ok(ticks * 1_000_000 / clock_ticks())
}

/// Time the process's threads spent runnable but waiting for a CPU, in µs
/// (`/proc/PID/task/*/schedstat`): what other work on a shared core costs it.
pub fn run_queue_wait_us(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum::<u64>()
        / 1000
}

fn clock_ticks() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
            .unwrap_or(100)
    })
}

/// Samples a process's RSS every 10 ms on a thread, keeping the highest.
pub struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<u64>>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut max = 0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                max = max.max(rss_kib(pid).unwrap_or(0));
                std::thread::sleep(Duration::from_millis(10));
            }
            max
        });
        Self { stop, handle: Some(handle) }
    }

    /// The highest RSS seen, in KiB.
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.take().map(|h| h.join().unwrap_or(0)).unwrap_or(0)
    }
}

// ----- the livedrop API, as a script uses it -----

pub const PASSWORD: &str = "benchmark horse battery staple";

/// A signed-in script: a personal API token.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub email: String,
    token: String,
}

/// An HTTP client for many concurrent requests on keep-alive connections.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(1024).tcp_nodelay(true).build().expect("an HTTP client")
}

async fn expect_json(resp: reqwest::Response, status: u16, what: &str) -> Result<Value> {
    let got = resp.status().as_u16();
    let body = resp.bytes().await?;
    if got != status {
        bail!("{what}: expected {status}, got {got}: {}", String::from_utf8_lossy(&body));
    }
    Ok(if body.is_empty() { Value::Null } else { serde_json::from_slice(&body)? })
}

impl Api {
    /// Signs up (one argon2 hash: tens of ms) and creates an API token.
    pub async fn sign_up(http: &reqwest::Client, base: &str, email: &str) -> Result<Self> {
        let resp = http
            .post(format!("{base}/api/auth/signup"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await?;
        let cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("sign-up of {email} set no cookie"))?;
        let body = expect_json(resp, 201, "sign-up").await?;
        let csrf = body["csrf_token"].as_str().ok_or_else(|| anyhow!("no csrf_token"))?.to_owned();
        let resp = http
            .post(format!("{base}/api/tokens"))
            .header("cookie", cookie)
            .header("x-csrf-token", csrf)
            .json(&json!({ "name": "benchmarks" }))
            .send()
            .await?;
        let body = expect_json(resp, 201, "token").await?;
        let token = body["secret"].as_str().ok_or_else(|| anyhow!("no token secret"))?.to_owned();
        Ok(Self { http: http.clone(), base: base.to_owned(), email: email.to_owned(), token })
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(&self.token)
    }

    pub fn post(&self, path: &str, body: Value) -> reqwest::RequestBuilder {
        self.http.post(self.url(path)).bearer_auth(&self.token).json(&body)
    }

    pub async fn call(&self, req: reqwest::RequestBuilder, status: u16, what: &str) -> Result<Value> {
        expect_json(req.send().await?, status, what).await
    }

    /// `POST /api/uploads`: the file record and its upload target.
    pub async fn begin(&self, name: &str, size: u64, crc: u32) -> Result<(String, Value)> {
        let crc = base64_crc(crc);
        let body = json!({ "name": name, "size": size, "content_type": "application/octet-stream", "crc32c": crc });
        let v = self.call(self.post("/api/uploads", body), 201, "begin upload").await?;
        let id = v["file"]["id"].as_str().ok_or_else(|| anyhow!("no file id"))?.to_owned();
        Ok((id, v["upload"].clone()))
    }

    pub async fn complete(&self, id: &str) -> Result<Value> {
        self.call(self.post(&format!("/api/uploads/{id}/complete"), json!({})), 200, "complete upload").await
    }

    /// A signed download URL.
    pub async fn download_url(&self, id: &str) -> Result<String> {
        let v = self.call(self.post(&format!("/api/files/{id}/download"), json!({})), 200, "download").await?;
        Ok(self.url(v["url"].as_str().ok_or_else(|| anyhow!("no download url"))?))
    }

    pub async fn delete(&self, id: &str) -> Result<()> {
        let req = self.http.delete(self.url(&format!("/api/files/{id}"))).bearer_auth(&self.token);
        self.call(req, 204, "delete").await.map(|_| ())
    }

    /// Uploads a small file in one signed PUT and completes it; returns its id.
    pub async fn upload_small(&self, name: &str, data: bytes::Bytes) -> Result<String> {
        let (id, target) = self.begin(name, data.len() as u64, crc32c::crc32c(&data)).await?;
        if target["method"] != "PUT" {
            bail!("expected a single PUT for {} bytes, got {target}", data.len());
        }
        let url = self.url(target["url"].as_str().unwrap_or_default());
        let resp = self.http.put(url).body(data).send().await?;
        expect_json(resp, 200, "blob PUT").await?;
        self.complete(&id).await?;
        Ok(id)
    }
}

pub fn base64_crc(crc: u32) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

// ----- statistics -----

/// The nearest-rank percentile of sorted values.
pub fn percentile<T: Copy + Default>(sorted: &[T], p: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Min, median and max of repeated measurements.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Self {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return Self::default();
        }
        let median = if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 };
        Self { min: v[0], median, max: v[v.len() - 1] }
    }

    /// `median (min–max)` with `digits` decimals.
    pub fn show(&self, digits: usize) -> String {
        format!("{:.d$} ({:.d$}–{:.d$})", self.median, self.min, self.max, d = digits)
    }
}

/// A stream of the bytes of `path` from `offset`, `len` bytes, in 1 MiB reads.
pub async fn file_body(path: &Path, offset: u64, len: u64) -> Result<reqwest::Body> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut f = tokio::fs::File::open(path).await?;
    f.seek(std::io::SeekFrom::Start(offset)).await?;
    let stream = tokio_util::io::ReaderStream::with_capacity(f.take(len), 1 << 20);
    Ok(reqwest::Body::wrap_stream(stream))
}

/// Streams a response body to `out`; returns its length and CRC32C.
pub async fn body_to_file(resp: reqwest::Response, out: &Path) -> Result<(u64, u32)> {
    use futures_util::StreamExt;
    use std::io::Write;
    if !resp.status().is_success() {
        bail!("download answered {}", resp.status());
    }
    // Plain blocking writes: they land in the page cache, and this process
    // only ever runs one large download at a time.
    // A new file each time: truncating one would make ext4 flush it (auto_da_alloc).
    let _ = std::fs::remove_file(out);
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let mut stream = resp.bytes_stream();
    let (mut len, mut crc) = (0u64, 0u32);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        crc = crc32c::crc32c_append(crc, &chunk);
        len += chunk.len() as u64;
        file.write_all(&chunk)?;
    }
    file.flush()?;
    Ok((len, crc))
}
