//! Part 1: moving bytes through livedrop's signed URLs against nginx
//! serving and accepting (`PUT`) the same bytes, with the same client.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail, ensure};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};

use crate::common::{self, Api, RssSampler, Server, Spread, body_to_file, file_body};
use crate::report::Report;

#[derive(Clone, Debug)]
pub struct Options {
    /// The large file: 1 GiB.
    pub big: u64,
    /// Chunks of a resumable upload, as a real client sends them.
    pub chunk: u64,
    pub small_count: usize,
    pub small_size: usize,
    /// Small files in flight at once, for both servers.
    pub concurrency: usize,
    pub reps: usize,
}

/// Deterministic incompressible bytes.
fn fill(buf: &mut [u8], seed: u64) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
}

fn make_big(path: &Path, size: u64) -> Result<u32> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut buf = vec![0u8; 1 << 20];
    let (mut left, mut crc, mut seed) = (size, 0u32, 1u64);
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        fill(&mut buf[..n], seed);
        crc = crc32c::crc32c_append(crc, &buf[..n]);
        f.write_all(&buf[..n])?;
        left -= n as u64;
        seed += 1;
    }
    f.flush()?;
    Ok(crc)
}

/// Flushes dirty pages so that no measurement pays for the one before it.
fn sync() {
    let _ = std::process::Command::new("sync").status();
}

fn mbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

async fn nginx_put(http: &reqwest::Client, url: &str, src: &Path, size: u64) -> Result<()> {
    let resp = http.put(url).header("content-length", size).body(file_body(src, 0, size).await?).send().await?;
    ensure!(resp.status().is_success(), "nginx PUT answered {}", resp.status());
    Ok(())
}

/// begin → resumable session → chunks of `chunk` bytes → complete. Returns the file id.
async fn livedrop_put_big(api: &Api, src: &Path, size: u64, crc: u32, chunk: u64) -> Result<String> {
    let (id, target) = api.begin("big.bin", size, crc).await?;
    ensure!(target["resumable"] == true, "expected a resumable session for {size} bytes: {target}");
    let mut start = api.http.post(api.url(target["url"].as_str().unwrap_or_default()));
    for h in target["headers"].as_array().into_iter().flatten() {
        start = start.header(h[0].as_str().unwrap_or_default(), h[1].as_str().unwrap_or_default());
    }
    let resp = start.send().await?;
    ensure!(resp.status() == 201, "session start answered {}", resp.status());
    let session =
        api.url(resp.headers().get("location").and_then(|l| l.to_str().ok()).ok_or_else(|| anyhow!("no Location"))?);
    let mut offset = 0;
    while offset < size {
        let len = chunk.min(size - offset);
        let resp = api
            .http
            .put(&session)
            .header("content-length", len)
            .header("content-range", format!("bytes {}-{}/{size}", offset, offset + len - 1))
            .body(file_body(src, offset, len).await?)
            .send()
            .await?;
        let last = offset + len == size;
        let want = if last { 200 } else { 308 };
        ensure!(resp.status().as_u16() == want, "chunk at {offset} answered {}", resp.status());
        offset += len;
    }
    api.complete(&id).await?;
    Ok(id)
}

async fn download(http: &reqwest::Client, url: &str, out: &Path, size: u64, crc: u32) -> Result<()> {
    let (len, got) = body_to_file(http.get(url).send().await?, out).await?;
    ensure!(len == size && got == crc, "downloaded {len} bytes with CRC {got:08x}, expected {size} and {crc:08x}");
    Ok(())
}

/// The small files, made once, each with its own bytes.
fn make_small(dir: &Path, count: usize, size: usize) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut buf = vec![0u8; size];
    (0..count)
        .map(|i| {
            let p = dir.join(format!("{i:04}.bin"));
            fill(&mut buf, 1_000_000 + i as u64);
            std::fs::write(&p, &buf)?;
            Ok(p)
        })
        .collect()
}

async fn for_each<F, Fut>(n: usize, concurrency: usize, f: F) -> Result<Duration>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let start = Instant::now();
    futures_util::stream::iter((0..n).map(f)).buffer_unordered(concurrency).try_collect::<Vec<()>>().await?;
    Ok(start.elapsed())
}

pub struct Outcome {
    /// An account holding `small_count` ready files, for the API part.
    pub small_account: Api,
}

pub async fn run(ld: &Server, ng: &Server, dir: &Path, o: &Options, report: &mut Report) -> Result<Outcome> {
    let http = common::http_client();
    let src = dir.join("big-source.bin");
    let out = dir.join("big-download.bin");
    eprintln!("transfers: writing a {} MiB source file", o.big >> 20);
    let crc = make_big(&src, o.big)?;
    let small = make_small(&dir.join("small-source"), o.small_count, o.small_size)?;
    let big_account = Api::sign_up(&http, &ld.base, "big@bench.example").await?;
    let pid = ld.pid();

    // ----- one large file -----
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = common::rss_kib(pid)?;
    let peak_reset = common::reset_peak(pid);
    let sampler = RssSampler::start(pid);
    let (mut ng_up, mut ld_up, mut ld_up1, mut ng_down, mut ld_down) = (vec![], vec![], vec![], vec![], vec![]);
    let mut ng_up_sync = vec![];
    let mut moved = 0u64;
    for rep in 0..o.reps {
        eprintln!("transfers: {} MiB, round {} of {}", o.big >> 20, rep + 1, o.reps);
        let mut kept = None;
        // A fresh name each round, as livedrop stores each upload under a new
        // id: on ext4, renaming over an existing file forces its data out
        // (auto_da_alloc), which would charge nginx for a sync it never asked for.
        let nginx_big = format!("{}/big-{rep}.bin", ng.base);
        let nginx_file = dir.join(format!("nginx/www/big-{rep}.bin"));
        // Alternate who goes first, so that neither always meets a cold or warm system.
        for first in [rep % 2 == 0, rep % 2 == 1] {
            if first {
                sync();
                let t = Instant::now();
                nginx_put(&http, &nginx_big, &src, o.big).await?;
                ng_up.push(mbps(o.big, t.elapsed()));
                // What livedrop promises and nginx does not: the bytes on disk.
                std::fs::File::open(&nginx_file)?.sync_all()?;
                ng_up_sync.push(mbps(o.big, t.elapsed()));
            } else {
                sync();
                let t = Instant::now();
                let id = livedrop_put_big(&big_account, &src, o.big, crc, o.chunk).await?;
                ld_up.push(mbps(o.big, t.elapsed()));
                big_account.delete(&id).await?;
                sync();
                let t = Instant::now();
                let id = livedrop_put_big(&big_account, &src, o.big, crc, o.big).await?;
                ld_up1.push(mbps(o.big, t.elapsed()));
                moved += 2 * o.big;
                // Kept for the download below.
                kept = Some(id);
            }
        }
        let id = kept.ok_or_else(|| anyhow!("no upload to download"))?;
        for first in [rep % 2 == 0, rep % 2 == 1] {
            if first {
                let t = Instant::now();
                download(&http, &nginx_big, &out, o.big, crc).await?;
                ng_down.push(mbps(o.big, t.elapsed()));
            } else {
                let t = Instant::now();
                let url = big_account.download_url(&id).await?;
                download(&http, &url, &out, o.big, crc).await?;
                ld_down.push(mbps(o.big, t.elapsed()));
                moved += o.big;
            }
        }
        big_account.delete(&id).await?;
        let _ = std::fs::remove_file(&out);
        let _ = std::fs::remove_file(&nginx_file);
    }
    let peak_sampled = sampler.finish();
    let hwm = common::hwm_kib(pid)?;
    let _ = std::fs::remove_file(&src);

    let ratio = |a: &[f64], b: &[f64]| Spread::of(&a.iter().zip(b).map(|(x, y)| x / y).collect::<Vec<_>>());
    report.h2(&format!(
        "1. Transfers ({} MiB file, {} × {} KiB files)",
        o.big >> 20,
        o.small_count,
        o.small_size >> 10
    ));
    report.line(&format!(
        "Same client for both servers: this suite's reqwest client, streaming from and to files in 1 MiB reads, \
         pinned to its own core. livedrop's path is the whole signed-URL flow (begin, bytes, complete; \
         signed URL, then GET). `sync` runs before every timed upload. {} rounds; median (min–max).",
        o.reps
    ));
    let row = |case: String, ng: &[f64], ld: &[f64]| {
        vec![case, Spread::of(ng).show(0), Spread::of(ld).show(0), ratio(ld, ng).show(2), "≥ 0.90".into()]
    };
    report.table(
        &["case", "nginx MB/s", "livedrop MB/s", "livedrop / nginx", "target"],
        vec![
            row(format!("upload {} MiB, {} MiB chunks", o.big >> 20, o.chunk >> 20), &ng_up, &ld_up),
            row(format!("upload {} MiB, one chunk", o.big >> 20), &ng_up, &ld_up1),
            row(format!("download {} MiB", o.big >> 20), &ng_down, &ld_down),
        ],
    );
    report.line(&format!(
        "livedrop syncs an upload to disk before it answers (its `.part` file after every chunk, then the object); \
         nginx leaves it in the page cache. nginx PUT followed by an fsync of the file, in the same rounds: {} MB/s; \
         livedrop / that: {} (64 MiB chunks), {} (one chunk).",
        Spread::of(&ng_up_sync).show(0),
        ratio(&ld_up, &ng_up_sync).show(2),
        ratio(&ld_up1, &ng_up_sync).show(2),
    ));

    // ----- many small files -----
    let small_bytes: Vec<Bytes> =
        small.iter().map(|p| std::fs::read(p).map(Bytes::from)).collect::<std::io::Result<_>>()?;
    let crcs: Vec<u32> = small_bytes.iter().map(|b| crc32c::crc32c(b)).collect();
    let (mut ng_su, mut ld_su, mut ng_sd, mut ld_sd) = (vec![], vec![], vec![], vec![]);
    let mut small_account = None;
    for rep in 0..o.reps {
        eprintln!("transfers: {} small files, round {} of {}", o.small_count, rep + 1, o.reps);
        let api = Api::sign_up(&http, &ld.base, &format!("small{rep}@bench.example")).await?;
        let n = o.small_count;
        let mut ids = vec![String::new(); n];
        for first in [rep % 2 == 0, rep % 2 == 1] {
            if first {
                sync();
                let d = for_each(n, o.concurrency, |i| {
                    let (http, url, data) =
                        (&http, format!("{}/small/{rep}/{i:04}.bin", ng.base), small_bytes[i].clone());
                    async move {
                        let r = http.put(url).body(data).send().await?;
                        ensure!(r.status().is_success(), "nginx PUT answered {}", r.status());
                        Ok(())
                    }
                })
                .await?;
                ng_su.push(n as f64 / d.as_secs_f64());
            } else {
                sync();
                let slots = std::sync::Mutex::new(&mut ids);
                let d = for_each(n, o.concurrency, |i| {
                    let (api, data, slots) = (&api, small_bytes[i].clone(), &slots);
                    async move {
                        let id = api.upload_small(&format!("small-{i:04}.bin"), data).await?;
                        slots.lock().map_err(|_| anyhow!("poisoned"))?[i] = id;
                        Ok(())
                    }
                })
                .await?;
                ld_su.push(n as f64 / d.as_secs_f64());
            }
        }
        for first in [rep % 2 == 0, rep % 2 == 1] {
            if first {
                let d = for_each(n, o.concurrency, |i| {
                    let (http, url, want) = (&http, format!("{}/small/{rep}/{i:04}.bin", ng.base), crcs[i]);
                    async move { small_get(http, &url, want).await }
                })
                .await?;
                ng_sd.push(n as f64 / d.as_secs_f64());
            } else {
                let d = for_each(n, o.concurrency, |i| {
                    let (api, id, want) = (&api, ids[i].clone(), crcs[i]);
                    async move {
                        let url = api.download_url(&id).await?;
                        small_get(&api.http, &url, want).await
                    }
                })
                .await?;
                ld_sd.push(n as f64 / d.as_secs_f64());
            }
        }
        small_account.get_or_insert(api);
    }
    report.table(
        &["case", "nginx files/s", "livedrop files/s", "livedrop / nginx"],
        vec![
            vec![
                format!("upload {} × {} KiB ({} at a time)", o.small_count, o.small_size >> 10, o.concurrency),
                Spread::of(&ng_su).show(0),
                Spread::of(&ld_su).show(0),
                ratio(&ld_su, &ng_su).show(2),
            ],
            vec![
                format!("download {} × {} KiB ({} at a time)", o.small_count, o.small_size >> 10, o.concurrency),
                Spread::of(&ng_sd).show(0),
                Spread::of(&ld_sd).show(0),
                ratio(&ld_sd, &ng_sd).show(2),
            ],
        ],
    );
    report.line(
        "A livedrop upload is three requests (begin, PUT, complete) and a download two (signed URL, GET); \
         nginx takes one each. livedrop also syncs every file to disk before it is ready; nginx never syncs.",
    );

    report.h3("Server memory while moving bytes");
    let delta = peak_sampled.max(if peak_reset { hwm } else { 0 }) as i64 - idle_rss as i64;
    report.table(
        &["livedrop", "KiB"],
        vec![
            vec!["RSS idle, before the large transfers".into(), idle_rss.to_string()],
            vec![
                format!("peak RSS sampled every 10 ms while moving {:.1} GiB", moved as f64 / (1u64 << 30) as f64),
                peak_sampled.to_string(),
            ],
            vec![
                format!("VmHWM afterwards ({})", if peak_reset { "reset before the transfers" } else { "since start" }),
                hwm.to_string(),
            ],
            vec![format!("peak − idle (target ≤ {} KiB)", 64 * 1024), delta.to_string()],
        ],
    );
    if moved < 4 << 30 {
        report.line(&format!("(Only {} MiB moved: a smoke run, not the 4 GiB of the target.)", moved >> 20));
    }
    let small_account = small_account.ok_or_else(|| anyhow!("no rounds were run"))?;
    Ok(Outcome { small_account })
}

async fn small_get(http: &reqwest::Client, url: &str, want: u32) -> Result<()> {
    let r = http.get(url).send().await?;
    if !r.status().is_success() {
        bail!("GET {url} answered {}", r.status());
    }
    let b = r.bytes().await?;
    ensure!(crc32c::crc32c(&b) == want, "wrong bytes from {url}");
    Ok(())
}
