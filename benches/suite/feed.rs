//! Part 2: live updates. Many WebSocket subscribers on one `livedrop
//! serve`, a writer renaming a file shared with all of them at a fixed rate,
//! the send time carried in the new name.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::common::{self, Api, Cores, Spread, percentile};
use crate::report::Report;

#[derive(Clone, Debug)]
pub struct Options {
    pub subscribers: Vec<usize>,
    /// Reader accounts; the subscribers are spread over them.
    pub readers: usize,
    /// Changes per second.
    pub rate: u32,
    pub round_secs: u64,
    pub reps: usize,
    pub connect_concurrency: usize,
}

/// What the subscribers record, shared by all of them.
struct Tally {
    start: Instant,
    /// Delivery latencies of this round, in µs.
    latencies: std::sync::Mutex<Vec<u32>>,
    delivered: AtomicU64,
    /// Snapshots after the first: the server found a connection lagging.
    resnapshots: AtomicU64,
    closed: AtomicU64,
}

impl Tally {
    fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// One message. Only the name is read, not the whole JSON: the load
    /// generator shares the machine and must stay cheap.
    fn record(&self, text: &str) -> bool {
        if let Some(at) = text.find("\"name\":\"lat-") {
            let digits: &str = &text[at + 12..];
            let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
            if let Ok(sent) = digits[..end].parse::<u64>() {
                let lat = self.now_us().saturating_sub(sent);
                self.latencies.lock().unwrap_or_else(|p| p.into_inner()).push(lat.min(u32::MAX as u64) as u32);
                self.delivered.fetch_add(1, Ordering::Relaxed);
                return true;
            }
        }
        false
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(base: &str, token: &str) -> Result<Ws> {
    let mut req = format!("{}/api/feed", base.replacen("http", "ws", 1)).into_client_request()?;
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
    // Small buffers here too, so that 10,000 connections fit in this process.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true).await?;
    // The snapshot comes first; a subscriber counts once it has it.
    match tokio::time::timeout(Duration::from_secs(60), ws.next()).await {
        Ok(Some(Ok(Message::Text(t)))) if t.contains("\"type\":\"snapshot\"") => Ok(ws),
        other => bail!("expected a snapshot, got {other:?}"),
    }
}

async fn subscribe(mut ws: Ws, tally: Arc<Tally>) {
    while let Some(msg) = ws.next().await {
        match msg {
            Ok(Message::Text(t)) => {
                if !tally.record(&t) && t.contains("\"type\":\"snapshot\"") {
                    tally.resnapshots.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(Message::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    tally.closed.fetch_add(1, Ordering::Relaxed);
}

struct Round {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    cpu_us_per_delivery: f64,
    delivered: u64,
    expected: u64,
    client_cpu_pct: f64,
    /// The writer's rename requests, answered.
    rename_p99_ms: f64,
    /// The server's CPU time and its time waiting for a CPU, as % of the round.
    server_cpu_pct: f64,
    server_wait_pct: f64,
}

/// CPU time of this process (the load generator), in µs.
fn own_cpu_us() -> u64 {
    common::cpu_us(std::process::id()).unwrap_or(0)
}

async fn one_size(bin: &Path, dir: &Path, cores: Cores, o: &Options, n: usize) -> Result<Vec<String>> {
    let server = common::start_livedrop(bin, dir, cores).await?;
    let http = common::http_client();
    let mut writer = Api::sign_up(&http, &server.base, "writer@bench.example").await?;
    let mut readers = Vec::new();
    for r in 0..o.readers {
        readers.push(Api::sign_up(&http, &server.base, &format!("reader{r}@bench.example")).await?);
    }
    let file = writer.upload_small("shared.bin", bytes::Bytes::from_static(b"live updates")).await?;
    for r in &readers {
        writer
            .call(writer.post(&format!("/api/files/{file}/shares"), json!({ "email": r.email })), 201, "share")
            .await?;
    }

    // Sign-ups hash passwords with argon2 (19 MiB each), and the allocator
    // keeps that memory: start again on the same data, so that the idle
    // figure holds nothing but the server.
    server.stop(Duration::from_secs(5));
    let server = common::restart_livedrop(bin, dir, cores).await?;
    writer.base = server.base.clone();
    let pid = server.pid();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = common::rss_kib(pid)?;
    let tally = Arc::new(Tally {
        start: Instant::now(),
        latencies: Default::default(),
        delivered: AtomicU64::new(0),
        resnapshots: AtomicU64::new(0),
        closed: AtomicU64::new(0),
    });
    eprintln!("feed: opening {n} subscribers");
    let t = Instant::now();
    let tokens: Vec<String> = readers.iter().map(|r| r.token().to_owned()).collect();
    let mut connections = futures_util::stream::iter(0..n)
        .map(|i| connect(&server.base, &tokens[i % tokens.len()]))
        .buffer_unordered(o.connect_concurrency);
    let mut tasks = Vec::with_capacity(n);
    while let Some(ws) = connections.next().await {
        tasks.push(tokio::spawn(subscribe(ws.map_err(|e| anyhow!("subscriber {}: {e}", tasks.len()))?, tally.clone())));
    }
    drop(connections);
    let connect_secs = t.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = common::rss_kib(pid)?;
    let per_conn_kib = (rss_after as f64 - rss_before as f64) / n as f64;

    let mut rounds = Vec::new();
    for rep in 0..o.reps {
        eprintln!("feed: {n} subscribers, round {} of {}", rep + 1, o.reps);
        tally.latencies.lock().unwrap_or_else(|p| p.into_inner()).clear();
        tally.delivered.store(0, Ordering::Relaxed);
        let changes = o.rate as u64 * o.round_secs;
        let expected = changes * n as u64;
        let (cpu0, own0, t0) = (common::cpu_us(pid)?, own_cpu_us(), Instant::now());
        let wait0 = common::run_queue_wait_us(pid);
        let mut tick = tokio::time::interval(Duration::from_secs(1) / o.rate);
        let mut renames = Vec::new();
        for _ in 0..changes {
            tick.tick().await;
            // The writer does not wait for one rename before the next: the
            // rate holds whatever the server's answer time.
            let (writer, file, tally) = (writer.clone(), file.clone(), tally.clone());
            renames.push(tokio::spawn(async move {
                let sent = tally.now_us();
                let name = format!("lat-{sent}.bin");
                let req = writer.http.patch(writer.url(&format!("/api/files/{file}"))).bearer_auth(writer.token());
                writer.call(req.json(&json!({ "name": name })), 200, "rename").await?;
                Ok::<_, anyhow::Error>((tally.now_us() - sent) as u32)
            }));
        }
        let mut rename_lat = Vec::new();
        for r in renames {
            rename_lat.push(r.await??);
        }
        rename_lat.sort_unstable();
        let drain = Instant::now();
        while tally.delivered.load(Ordering::Relaxed) < expected && drain.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (cpu1, own1, elapsed) = (common::cpu_us(pid)?, own_cpu_us(), t0.elapsed());
        let wait1 = common::run_queue_wait_us(pid);
        let pct = |us: u64| us as f64 / elapsed.as_micros() as f64 * 100.0;
        let delivered = tally.delivered.load(Ordering::Relaxed);
        let mut lat = std::mem::take(&mut *tally.latencies.lock().unwrap_or_else(|p| p.into_inner()));
        lat.sort_unstable();
        rounds.push(Round {
            p50_ms: percentile(&lat, 50.0) as f64 / 1000.0,
            p99_ms: percentile(&lat, 99.0) as f64 / 1000.0,
            max_ms: lat.last().copied().unwrap_or(0) as f64 / 1000.0,
            cpu_us_per_delivery: (cpu1 - cpu0) as f64 / delivered.max(1) as f64,
            delivered,
            expected,
            client_cpu_pct: pct(own1 - own0),
            rename_p99_ms: percentile(&rename_lat, 99.0) as f64 / 1000.0,
            server_cpu_pct: pct(cpu1 - cpu0),
            server_wait_pct: pct(wait1.saturating_sub(wait0)),
        });
    }
    let held = n as u64 - tally.closed.load(Ordering::Relaxed);
    let resnapshots = tally.resnapshots.load(Ordering::Relaxed);
    for t in tasks {
        t.abort();
    }
    server.stop(Duration::from_secs(5));

    let col = |f: fn(&Round) -> f64| Spread::of(&rounds.iter().map(f).collect::<Vec<_>>());
    let delivered: u64 = rounds.iter().map(|r| r.delivered).sum();
    let expected: u64 = rounds.iter().map(|r| r.expected).sum();
    Ok(vec![
        format!("{n}"),
        format!("{held} of {n}"),
        format!(
            "{delivered} of {expected}{}",
            if resnapshots > 0 { format!(" ({resnapshots} resnapshots)") } else { String::new() }
        ),
        col(|r| r.p50_ms).show(1),
        col(|r| r.p99_ms).show(1),
        col(|r| r.max_ms).show(0),
        col(|r| r.cpu_us_per_delivery).show(1),
        format!("{per_conn_kib:.1}"),
        format!("{connect_secs:.1}"),
        col(|r| r.client_cpu_pct).show(0),
        col(|r| r.rename_p99_ms).show(1),
        format!("{} / {}", col(|r| r.server_cpu_pct).show(0), col(|r| r.server_wait_pct).show(0)),
    ])
}

pub async fn run(bin: &Path, dir: &Path, cores: Cores, o: &Options, report: &mut Report) -> Result<()> {
    let mut rows = Vec::new();
    for &n in &o.subscribers {
        rows.push(one_size(bin, dir, cores, o, n).await?);
    }
    report.h2("2. Live updates");
    report.line(&format!(
        "One `livedrop serve` per size; {} reader accounts, the subscribers spread over them; a writer renames a file \
         shared with all of them {} times a second, the send time in the new name. {} rounds of {} s on the same \
         connections; median (min–max) over rounds. Latency runs from just before the rename request to the \
         subscriber reading the change, both in this process. CPU is the server's utime+stime during the round \
         divided by changes delivered (it includes handling the renames). Memory per connection: the server's RSS \
         with every subscriber connected and idle, minus before (a server restarted on the same data after the \
         sign-ups, so that argon2's memory is not counted), divided by their number. The last column is the server's CPU time during a round and the time its \
         threads were runnable but waited for a CPU (`/proc/PID/task/*/schedstat`), as % of the round: the \
         second is what other work on the shared machine took from it. Cores: {}.",
        o.readers,
        o.rate,
        o.reps,
        o.round_secs,
        cores.describe()
    ));
    report.table(
        &[
            "subscribers",
            "held",
            "changes delivered",
            "p50 ms",
            "p99 ms",
            "max ms",
            "server CPU µs per delivered change",
            "server KiB per idle connection",
            "connect all, s",
            "load generator CPU %",
            "rename request p99 ms",
            "server CPU % / waiting for a CPU %",
        ],
        rows,
    );
    report.line("Targets: 10,000 held; ≤ 16 KiB per idle connection; p99 ≤ 1,000 ms at 10,000 subscribers.");
    Ok(())
}
