//! Part 3: the API under load, on SQLite with its bounded pool (4 readers,
//! 1 writer), against nginx answering a static file as the reference.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, ensure};
use serde_json::json;

use crate::common::{self, Api, Server, Spread, percentile};
use crate::report::Report;

#[derive(Clone, Debug)]
pub struct Options {
    /// Requests in flight (a closed loop: each worker sends its next request
    /// when the last one is answered).
    pub concurrency: usize,
    pub secs: f64,
    pub reps: usize,
}

/// One closed-loop run: operations per second and latencies in µs.
async fn closed_loop<F, Fut>(concurrency: usize, secs: f64, op: F) -> Result<(f64, Vec<u32>)>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let start = Instant::now();
    let until = Duration::from_secs_f64(secs);
    let workers = (0..concurrency).map(|_| async {
        let mut lat = Vec::new();
        while start.elapsed() < until {
            let t = Instant::now();
            op().await?;
            lat.push(t.elapsed().as_micros() as u32);
        }
        Ok::<_, anyhow::Error>(lat)
    });
    let mut all = Vec::new();
    for lat in futures_util::future::join_all(workers).await {
        all.extend(lat?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    Ok((all.len() as f64 / elapsed, all))
}

struct Case {
    name: String,
    rps: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    /// The server's CPU time, and its time waiting for a CPU, as % of a run.
    cpu: Vec<f64>,
    wait: Vec<f64>,
}

async fn measure<F, Fut>(name: &str, server: u32, o: &Options, op: F) -> Result<Case>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    eprintln!("api: {name}");
    closed_loop(o.concurrency, 1.0, &op).await?; // warm-up
    let mut case = Case { name: name.to_owned(), rps: vec![], p50: vec![], p99: vec![], cpu: vec![], wait: vec![] };
    for _ in 0..o.reps {
        let (cpu0, wait0, t0) = (common::cpu_us(server)?, common::run_queue_wait_us(server), Instant::now());
        let (rps, lat) = closed_loop(o.concurrency, o.secs, &op).await?;
        let wall = t0.elapsed().as_micros() as f64 / 100.0;
        case.cpu.push((common::cpu_us(server)? - cpu0) as f64 / wall);
        case.wait.push(common::run_queue_wait_us(server).saturating_sub(wait0) as f64 / wall);
        case.rps.push(rps);
        case.p50.push(percentile(&lat, 50.0) as f64 / 1000.0);
        case.p99.push(percentile(&lat, 99.0) as f64 / 1000.0);
    }
    Ok(case)
}

async fn get_ok(req: reqwest::RequestBuilder) -> Result<()> {
    let resp = req.send().await?;
    let status = resp.status();
    resp.bytes().await?;
    ensure!(status.is_success(), "answered {status}");
    Ok(())
}

/// `lister` holds 1,000 files.
pub async fn run(ld: &Server, ng: &Server, lister: &Api, o: &Options, report: &mut Report) -> Result<()> {
    let http = common::http_client();
    let listed = lister.call(lister.get("/api/files?limit=1000"), 200, "list").await?;
    let files = listed["files"].as_array().ok_or_else(|| anyhow!("no files"))?;
    let first = files.first().and_then(|f| f["id"].as_str()).ok_or_else(|| anyhow!("no file to link"))?;
    let link = lister.call(lister.post(&format!("/api/files/{first}/links"), json!({})), 201, "link").await?;
    let token = link["token"].as_str().ok_or_else(|| anyhow!("no link token"))?.to_owned();
    let uploader = Api::sign_up(&http, &ld.base, "uploads@bench.example").await?;
    let payload = bytes::Bytes::from(vec![7u8; 1024]);
    let crc = crc32c::crc32c(&payload);
    let n_files = files.len();

    let mut cases = Vec::new();
    let nginx_ping = format!("{}/ping", ng.base);
    cases.push(
        measure("nginx: GET a 2-byte static file (reference)", ng.pid(), o, || get_ok(http.get(&nginx_ping))).await?,
    );
    let health = format!("{}/api/health", ld.base);
    cases.push(measure("GET /api/health (the router's floor)", ld.pid(), o, || get_ok(http.get(&health))).await?);
    let resolve = format!("{}/api/s/{token}", ld.base);
    cases.push(measure("resolve a link: GET /api/s/{token}", ld.pid(), o, || get_ok(http.get(&resolve))).await?);
    cases.push(
        measure(&format!("list {n_files} files in one page: GET /api/files?limit=1000"), ld.pid(), o, || {
            get_ok(lister.get("/api/files?limit=1000"))
        })
        .await?,
    );
    cases.push(
        measure("list the first page: GET /api/files (100)", ld.pid(), o, || get_ok(lister.get("/api/files"))).await?,
    );

    // begin → PUT 1 KiB → complete; begin and complete timed on their own.
    let begins = std::sync::Mutex::new(Vec::new());
    let completes = std::sync::Mutex::new(Vec::new());
    let seq = measure("begin + PUT 1 KiB + complete (one upload)", ld.pid(), o, || async {
        let t = Instant::now();
        let (id, target) = uploader.begin("api.bin", payload.len() as u64, crc).await?;
        let begin = t.elapsed();
        let put = uploader.http.put(uploader.url(target["url"].as_str().unwrap_or_default())).body(payload.clone());
        get_ok(put).await?;
        let t = Instant::now();
        uploader.complete(&id).await?;
        let complete = t.elapsed();
        begins.lock().map_err(|_| anyhow!("poisoned"))?.push(begin.as_micros() as u32);
        completes.lock().map_err(|_| anyhow!("poisoned"))?.push(complete.as_micros() as u32);
        Ok(())
    })
    .await?;
    cases.push(seq);

    let reference = Spread::of(&cases[0].rps).median;
    let rows = cases
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                Spread::of(&c.rps).show(0),
                Spread::of(&c.p50).show(2),
                Spread::of(&c.p99).show(2),
                format!("{:.3}", Spread::of(&c.rps).median / reference),
                format!("{:.0} / {:.0}", Spread::of(&c.cpu).median, Spread::of(&c.wait).median),
            ]
        })
        .collect();
    report.h2("3. API");
    report.line(&format!(
        "{} requests in flight (closed loop, keep-alive), {} runs of {} s after a 1 s warm-up; median (min–max) \
         over runs. SQLite store with its bounded pool: 4 read connections and 1 writer. Requests carry an API \
         token (`Authorization: Bearer`), which costs a SHA-256 and a read per request; links are anonymous. The last \
         column: the server's CPU time and the time its threads waited for a CPU, as % of a run (median).",
        o.concurrency, o.reps, o.secs
    ));
    report.table(
        &["operation", "requests/s", "p50 ms", "p99 ms", "vs nginx static", "server CPU % / waiting for a CPU %"],
        rows,
    );
    let mut b = begins.into_inner().unwrap_or_default();
    let mut c = completes.into_inner().unwrap_or_default();
    b.sort_unstable();
    c.sort_unstable();
    report.line(&format!(
        "Within the upload (all runs and the warm-up): begin p50 {:.2} ms, p99 {:.2} ms; complete p50 {:.2} ms, \
         p99 {:.2} ms. A livedrop upload per second is two API requests plus the blob PUT.",
        percentile(&b, 50.0) as f64 / 1000.0,
        percentile(&b, 99.0) as f64 / 1000.0,
        percentile(&c, 50.0) as f64 / 1000.0,
        percentile(&c, 99.0) as f64 / 1000.0
    ));
    Ok(())
}
