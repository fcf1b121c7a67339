//! livedrop's benchmark suite: `bash benches/run.sh` (see benches/README.md).
//!
//! Starts `target/release/livedrop serve` and nginx on 127.0.0.1, measures
//! both with the same client in the same run, prints Markdown and writes it
//! to `--out`. Every server it starts, it stops by PID.
//!
//! # Layout
//!
//! - `common`: the servers, `/proc` figures, a small API client, statistics.
//! - `transfers`: part 1, bytes through signed URLs against nginx.
//! - `feed`: part 2, WebSocket subscribers and delivery latency.
//! - `api`: part 3, requests per second and latency of API operations.
//! - `cloud`: part 4, Firestore round trips per operation, function binaries.
//! - `report`: the Markdown.

mod api;
mod cloud;
mod common;
mod feed;
mod report;
mod transfers;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use common::Cores;
use report::Report;

const USAGE: &str = "\
usage: suite [--quick] [--only transfers,feed,api,cloud] [--out FILE] [--livedrop BIN]
             [--big-mib N] [--small-count N] [--subscribers N,N] [--reps N] [--round-secs N]
             [--api-secs S] [--api-concurrency N]

--quick runs every part with small sizes (a smoke test, not figures to keep).";

struct Args {
    only: Vec<String>,
    out: Option<PathBuf>,
    livedrop: PathBuf,
    transfers: transfers::Options,
    feed: feed::Options,
    api: api::Options,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        only: vec!["transfers".into(), "feed".into(), "api".into(), "cloud".into()],
        out: None,
        livedrop: PathBuf::from("target/release/livedrop"),
        transfers: transfers::Options {
            big: 1 << 30,
            chunk: 64 << 20,
            small_count: 1000,
            small_size: 64 << 10,
            concurrency: 8,
            reps: 3,
        },
        feed: feed::Options {
            subscribers: vec![1000, 10_000],
            readers: 10,
            rate: 10,
            round_secs: 10,
            reps: 3,
            connect_concurrency: 32,
        },
        api: api::Options { concurrency: 8, secs: 5.0, reps: 3 },
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            // `cargo bench` adds this to every bench target.
            "--bench" => {}
            "--quick" => {
                a.transfers.big = 64 << 20;
                a.transfers.small_count = 100;
                a.feed.subscribers = vec![100, 500];
                a.feed.round_secs = 2;
                a.api.secs = 1.0;
            }
            "--only" => a.only = value()?.split(',').map(str::to_owned).collect(),
            "--out" => a.out = Some(value()?.into()),
            "--livedrop" => a.livedrop = value()?.into(),
            "--big-mib" => a.transfers.big = value()?.parse::<u64>()? << 20,
            "--small-count" => a.transfers.small_count = value()?.parse()?,
            "--subscribers" => {
                a.feed.subscribers = value()?.split(',').map(str::parse).collect::<Result<_, _>>()?;
            }
            "--reps" => {
                let n = value()?.parse()?;
                (a.transfers.reps, a.feed.reps, a.api.reps) = (n, n, n);
            }
            "--round-secs" => a.feed.round_secs = value()?.parse()?,
            "--api-secs" => a.api.secs = value()?.parse()?,
            "--api-concurrency" => a.api.concurrency = value()?.parse()?,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    for part in &a.only {
        if !["transfers", "feed", "api", "cloud"].contains(&part.as_str()) {
            bail!("unknown part {part}: use transfers, feed, api or cloud");
        }
    }
    Ok(a)
}

/// Pins this process (before it starts any thread) and chooses the servers' core.
fn pin() -> Cores {
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if cpus < 2 {
        return Cores { server: None, client: None };
    }
    let pid = std::process::id().to_string();
    let ok = std::process::Command::new("taskset")
        .args(["-cp", "1", &pid])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok { Cores { server: Some(0), client: Some(1) } } else { Cores { server: None, client: None } }
}

fn first_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() { o.stderr } else { o.stdout };
            String::from_utf8_lossy(&text).lines().next().unwrap_or("").trim().to_owned()
        })
        .unwrap_or_default()
}

/// HEAD, and whether the working tree (which others may be editing) differs.
fn commit() -> String {
    let head = first_line("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    if dirty { format!("{head}, with uncommitted changes in the working tree") } else { head }
}

fn machine(cores: Cores) -> Vec<Vec<String>> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|x| x.1.trim()));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem = mem.lines().next().unwrap_or("").trim_start_matches("MemTotal:").trim().to_owned();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    // Not available_parallelism: this process is pinned to one core by now.
    let nproc = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let command = std::env::var("BENCH_COMMAND").unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" "));
    vec![
        vec!["date (UTC)".into(), jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M").to_string()],
        vec!["command".into(), format!("`{command}`")],
        vec!["commit".into(), commit()],
        vec!["nproc".into(), nproc.to_string()],
        vec!["CPU".into(), model.unwrap_or("?").to_owned()],
        vec!["memory".into(), mem],
        vec!["kernel".into(), kernel.trim().to_owned()],
        vec!["load average at start".into(), load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")],
        vec!["nginx".into(), first_line("nginx", &["-v"])],
        vec!["cores".into(), cores.describe()],
    ]
}

async fn run(a: Args, cores: Cores) -> Result<Report> {
    let mut report = Report::default();
    report.line("# livedrop benchmarks");
    report.line(
        "Written by `bash benches/run.sh`. The machine is shared and noisy: judge by the ratios against nginx \
         measured in the same run, not by the bare figures.",
    );
    report.table(&["", ""], machine(cores));
    let livedrop = std::fs::canonicalize(&a.livedrop)
        .with_context(|| format!("{} is missing: build it with `cargo build --release`", a.livedrop.display()))?;
    let tmp = tempfile::Builder::new().prefix("livedrop-bench-").tempdir()?;
    let dir = tmp.path();
    let wants = |p: &str| a.only.iter().any(|o| o == p);

    if wants("transfers") || wants("api") {
        let ld = common::start_livedrop(&livedrop, dir, cores).await?;
        let ng = common::start_nginx(dir, cores).await?;
        let lister = if wants("transfers") {
            Some(transfers::run(&ld, &ng, dir, &a.transfers, &mut report).await?.small_account)
        } else {
            None
        };
        if wants("api") {
            let lister = match lister {
                Some(l) => l,
                None => {
                    eprintln!("api: uploading 1,000 files to list");
                    let l = common::Api::sign_up(&common::http_client(), &ld.base, "lister@bench.example").await?;
                    let data = bytes::Bytes::from(vec![1u8; 4096]);
                    for i in 0..1000 {
                        l.upload_small(&format!("f{i:04}.bin"), data.clone()).await?;
                    }
                    l
                }
            };
            api::run(&ld, &ng, &lister, &a.api, &mut report).await?;
        }
        ld.stop(Duration::from_secs(10));
        ng.stop(Duration::from_secs(5));
    }
    if wants("feed") {
        feed::run(&livedrop, dir, cores, &a.feed, &mut report).await?;
    }
    if wants("cloud") {
        if let Err(e) = cloud::run(dir, a.transfers.reps.max(5), &mut report).await {
            report.h2("4. Cloud mode");
            report.line(&format!("Not measured: {e:#}"));
        }
    }
    Ok(report)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let cores = pin();
    let out = args.out.clone();
    // One thread: the load generator is pinned to one core anyway.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = rt.block_on(run(args, cores))?;
    if let Some(out) = out {
        std::fs::write(&out, report.text()).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}
