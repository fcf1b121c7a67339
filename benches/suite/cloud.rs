//! Part 4: what cloud mode costs. Firestore round trips per API operation,
//! counted on the Firestore emulator through the service the API handlers
//! call, and the size and cold start of each Vercel function binary.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use livedrop::blob::disk::DiskBlobs;
use livedrop::blob::signing::Signer;
use livedrop::cloud::emulator::FirestoreEmulator;
use livedrop::cloud::firestore::FirestoreStore;
use livedrop::config::Config;
use livedrop::domain::{ContentType, Crc32c, Email, FileName, OnConflict, User, UserId, random_token};
use livedrop::feed::NoFeed;
use livedrop::service::{FileChange, NewLink, NewUpload, Service};
use livedrop::store::{FileQuery, MetadataStore, Scope, SortKey, Within};

use crate::common::{self, Spread};
use crate::report::Report;

/// The Vercel functions (`api/*.rs`), built in release by `benches/run.sh`.
const FUNCTIONS: [&str; 3] = ["account", "files", "public"];

struct Counted {
    rows: Vec<Vec<String>>,
    over: Vec<String>,
}

impl Counted {
    async fn count<T>(
        &mut self,
        store: &FirestoreStore,
        name: &str,
        write: bool,
        op: impl std::future::Future<Output = livedrop::Result<T>>,
    ) -> Result<T> {
        self.within(store, name, write, if write { 3 } else { 2 }, op).await
    }

    /// `count`, against a budget of its own: a folder operation reads the
    /// folder (and who sees it) before it changes it, whatever its size.
    async fn within<T>(
        &mut self,
        store: &FirestoreStore,
        name: &str,
        write: bool,
        budget: u64,
        op: impl std::future::Future<Output = livedrop::Result<T>>,
    ) -> Result<T> {
        let before = store.round_trips();
        let out = op.await.with_context(|| name.to_owned())?;
        let n = store.round_trips() - before;
        if n > budget {
            self.over.push(format!("{name} ({n})"));
        }
        self.rows.push(vec![
            name.to_owned(),
            if write { "write" } else { "read" }.into(),
            n.to_string(),
            format!("≤ {budget}{}", if n > budget { " ✗" } else { "" }),
        ]);
        Ok(out)
    }
}

fn person(name: &str) -> Result<User> {
    Ok(User { id: UserId::generate(), email: Email::parse(&format!("{name}-{}@bench.example", random_token(4)))? })
}

async fn round_trips(emulator: &FirestoreEmulator, dir: &Path, report: &mut Report) -> Result<()> {
    let project = format!("demo-livedrop-bench-{}", random_token(4).to_lowercase());
    let store = Arc::new(FirestoreStore::connect_emulator(&project, emulator.host()).await?);
    // Bytes go to disk here: only the metadata calls are counted.
    let blobs = Arc::new(DiskBlobs::open(&dir.join("cloud-blobs"), Signer::new([7; 32]))?);
    let service = Service::new(
        store.clone(),
        blobs.clone(),
        Arc::new(NoFeed),
        Arc::new(livedrop::identity::ProviderVerified),
        Config::default(),
    );
    let (ann, bob) = (person("ann")?, person("bob")?);
    for u in [&ann, &bob] {
        store.create_user(u).await?;
    }
    let s = &*store;
    let mut c = Counted { rows: vec![], over: vec![] };
    c.count(s, "first request of a person to an instance (profile, welcome)", true, async {
        let known = s.user_by_id(&ann.id).await?;
        if known.as_ref() != Some(&ann) {
            s.upsert_user(&ann).await?;
        }
        service.welcome(&ann).await
    })
    .await?;
    let data = bytes::Bytes::from_static(b"cloud-mode round trips");
    let new = upload("a.txt", &data)?;
    let (file, _) = c.count(s, "POST /api/uploads (begin)", true, service.begin_upload(&ann, new)).await?;
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(data.clone())]);
    blobs.put_object(&file.id, data.len() as u64, body).await?;
    c.count(s, "POST /api/uploads/{id}/complete", true, service.complete_upload(&ann, &file.id)).await?;
    let q = FileQuery {
        user: ann.id.clone(),
        scope: Scope::Mine,
        within: Within::Anywhere,
        uploading: false,
        sort: SortKey::Updated,
        descending: true,
        offset: 0,
        limit: 100,
    };
    c.count(s, "GET /api/files", false, service.list(&ann, q.clone())).await?;
    c.count(s, "GET /api/files/{id} (owner: shares, links)", false, service.details(&ann, &file.id)).await?;
    c.count(s, "PATCH /api/files/{id} (rename)", true, service.update_file(&ann, &file.id, rename("b.txt")?)).await?;
    c.count(s, "POST /api/files/{id}/shares", true, service.share(&ann, &file.id, bob.email.clone())).await?;
    let shared = FileQuery { user: bob.id.clone(), scope: Scope::SharedWithMe, ..q.clone() };
    c.count(s, "GET /api/files?scope=shared", false, service.list(&bob, shared)).await?;
    c.count(s, "POST /api/files/{id}/download (recipient)", true, service.download(&bob, &file.id, false)).await?;
    let link = NewLink { expires_in: None, password: None, max_downloads: Some(10) };
    let (view, token) =
        c.count(s, "POST /api/files/{id}/links", true, service.create_link(&ann, &file.id, link)).await?;
    c.count(s, "GET /api/files/{id}/links", false, service.links(&ann, &file.id)).await?;
    c.count(s, "GET /api/files/{id} (owner, now shared and linked)", false, service.details(&ann, &file.id)).await?;
    c.count(s, "GET /api/s/{token} (resolve a link)", false, service.link_info(&token)).await?;
    c.count(s, "POST /api/s/{token}/download", true, service.link_download(&token, None, None, false)).await?;
    c.count(s, "GET /api/activity", false, service.activity(&ann, None, 100)).await?;
    c.count(s, "GET /api/files/{id}/activity", false, service.activity(&ann, Some(&file.id), 100)).await?;
    c.count(s, "DELETE /api/links/{id}", true, service.revoke_link(&ann, &view.id)).await?;
    c.count(s, "DELETE /api/files/{id}/shares/{email}", true, service.unshare(&ann, &file.id, bob.email.clone()))
        .await?;
    c.count(s, "DELETE /api/files/{id}", true, service.delete(&ann, &file.id)).await?;

    // Folders: each operation costs the same whatever the tree holds (a
    // tree of 30 folders here; moves and shares write them in one commit).
    let trip =
        c.count(s, "POST /api/folders", true, service.create_folder(&ann, None, FileName::parse("Trip")?)).await?;
    let mut parent = trip.id.clone();
    for i in 0..30 {
        parent = service.create_folder(&ann, Some(parent), FileName::parse(&format!("d{i}"))?).await?.id;
    }
    let inside = NewUpload { folder: Some(trip.id.clone()), ..upload("in.txt", &data)? };
    let (f, _) = service.begin_upload(&ann, inside).await?;
    // The uploader's report: the file read (whose is it, how far), one write.
    let told = service.report_progress(&ann, &f.id, data.len() as u64 / 2);
    c.within(s, "POST /api/uploads/{id}/progress", true, 2, told).await?;
    let watched = FileQuery { within: Within::Folder(trip.id.clone()), uploading: true, ..q.clone() };
    c.within(s, "GET /api/files?within=&uploading=true (owner)", false, 2, service.list(&ann, watched)).await?;
    blobs
        .put_object(&f.id, data.len() as u64, futures_util::stream::iter([Ok::<_, std::io::Error>(data.clone())]))
        .await?;
    // One more than at the top: the folder's name, read for the log
    // ("added 24 files to Trip").
    let into_folder = service.complete_upload(&ann, &f.id);
    c.within(s, "POST /api/uploads/{id}/complete (into a folder)", true, 4, into_folder).await?;
    c.within(s, "GET /api/folders/{id} (breadcrumbs, 31 deep)", false, 3, service.folder(&ann, &parent)).await?;
    c.within(s, "GET /api/folders?parent=", false, 2, service.folders_in(&ann, Some(&trip.id))).await?;
    let within = FileQuery { within: Within::Folder(trip.id.clone()), ..q.clone() };
    c.within(s, "GET /api/files?within= (owner)", false, 2, service.list(&ann, within.clone())).await?;
    // The folder, its tree in one query, files 30 folders a query, and the
    // activity record of the download.
    c.within(
        s,
        "POST /api/folders/{id}/archive (first page, 31 folders: reads, and the log)",
        true,
        5,
        service.archive_page(&ann, &trip.id, None, false),
    )
    .await?;
    // A selection in Trip (its file and its first folder, 30 deep): the
    // first item, the folder it is in, Trip's files (a page of 1000), its
    // tree, the walk's files, and the log.
    let d0 = service.folders_in(&ann, Some(&trip.id)).await?.remove(0);
    let picked = livedrop::service::Selection { files: vec![f.id.clone()], folders: vec![d0.id] };
    c.within(
        s,
        "POST /api/archive (a file and a folder 30 deep, first page)",
        true,
        7,
        service.selection_archive(&ann, &picked, None, false),
    )
    .await?;
    // A link to the folder: its holder lists a folder (the link, the
    // folder's path up to the linked one, its folders and its files),
    // downloads a file in it (the link, the file, its folder's path, the
    // counting transaction), and downloads it all as a ZIP (the link, the
    // path, the walk, the counting transaction).
    let to_trip = NewLink { expires_in: None, password: None, max_downloads: None };
    let (_, folder_token) = c
        .within(s, "POST /api/folders/{id}/links", true, 2, service.create_folder_link(&ann, &trip.id, to_trip))
        .await?;
    c.within(s, "GET /api/folders/{id}/links", false, 2, service.folder_links(&ann, &trip.id)).await?;
    c.within(s, "GET /api/s/{token} (a folder link)", false, 2, service.link_info(&folder_token)).await?;
    c.within(s, "POST /api/s/{token}/list", false, 5, service.link_list(&folder_token, None, None)).await?;
    c.within(
        s,
        "POST /api/s/{token}/download (a file in a folder link)",
        true,
        6,
        service.link_download(&folder_token, None, Some(&f.id), false),
    )
    .await?;
    let first = c
        .within(
            s,
            "POST /api/s/{token}/archive (first page, 31 folders)",
            true,
            8,
            service.link_archive(&folder_token, None, None, None, None),
        )
        .await?;
    c.within(
        s,
        "POST /api/s/{token}/archive (again, with its ticket)",
        false,
        7,
        service.link_archive(&folder_token, None, None, None, Some(&first.ticket)),
    )
    .await?;
    let to_top = livedrop::service::FileChange { name: None, folder: Some(None) };
    c.within(s, "PATCH /api/files/{id} (move)", true, 4, service.update_file(&ann, &f.id, to_top)).await?;
    let back = livedrop::service::FileChange { name: None, folder: Some(Some(trip.id.clone())) };
    service.update_file(&ann, &f.id, back).await?;
    c.within(
        s,
        "POST /api/folders/{id}/shares (31 folders)",
        true,
        5,
        service.share_folder(&ann, &trip.id, bob.email.clone()),
    )
    .await?;
    let theirs = FileQuery { user: bob.id.clone(), ..within.clone() };
    let watching = FileQuery { uploading: true, ..theirs.clone() };
    c.within(s, "GET /api/files?within= (recipient)", false, 3, service.list(&bob, theirs)).await?;
    c.within(s, "GET /api/files?within=&uploading=true (recipient)", false, 3, service.list(&bob, watching)).await?;
    c.within(s, "POST /api/files/{id}/download (in a shared folder)", true, 4, service.download(&bob, &f.id, false))
        .await?;
    let moved = livedrop::service::FolderChange { name: None, parent: Some(Some(trip.id.clone())) };
    let other = service.create_folder(&ann, None, FileName::parse("Other")?).await?;
    c.within(s, "PATCH /api/folders/{id} (move a folder)", true, 5, service.update_folder(&ann, &other.id, moved))
        .await?;
    c.within(
        s,
        "DELETE /api/folders/{id}/shares/{email} (31 folders)",
        true,
        5,
        service.unshare_folder(&ann, &trip.id, bob.email.clone()),
    )
    .await?;

    report.h2("4. Cloud mode");
    report.line(
        "Firestore round trips per API operation, counted by the Firestore store (`round_trips()`) on the Firestore \
         emulator, through the service the API handlers call (bytes on disk here: only metadata is counted). \
         Authenticating a request verifies the ID token locally and costs no round trip once an instance knows the \
         person; the first row is what the first request of a person to a fresh instance adds.",
    );
    report.table(&["operation", "kind", "round trips", "target"], c.rows);
    if c.over.is_empty() {
        report.line("Every operation is within its target.");
    } else {
        report.line(&format!("Over the target: {}.", c.over.join(", ")));
    }
    Ok(())
}

/// Starts a function binary as `vercel dev` would (`VERCEL_DEV_PORT`) and
/// times it until it answers `GET /api/health`.
async fn cold_start(bin: &Path, env: &[(&str, String)]) -> Result<Duration> {
    let port = common::free_port()?;
    let start = Instant::now();
    let mut child = Command::new(bin)
        .env("VERCEL_DEV_PORT", port.to_string())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/health");
    let answered = loop {
        if http.get(&url).send().await.is_ok() {
            break Some(start.elapsed());
        }
        if child.try_wait()?.is_some() || start.elapsed() > Duration::from_secs(20) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    answered.ok_or_else(|| anyhow::anyhow!("{} did not answer within 20 s", bin.display()))
}

async fn functions(emulator: &FirestoreEmulator, reps: usize, report: &mut Report) -> Result<()> {
    let env = [
        ("LIVEDROP_FIREBASE_PROJECT", "demo-livedrop-bench".to_owned()),
        ("FIRESTORE_EMULATOR_HOST", emulator.host().to_owned()),
        ("FIREBASE_AUTH_EMULATOR_HOST", "127.0.0.1:9099".to_owned()),
        ("STORAGE_EMULATOR_HOST", "http://127.0.0.1:4443".to_owned()),
        ("LIVEDROP_GCS_BUCKET", "bench".to_owned()),
    ];
    let mut rows = Vec::new();
    for name in FUNCTIONS {
        let bin = Path::new("target/release").join(name);
        if !bin.exists() {
            bail!("{} is missing: `cargo build --release --bins` builds it", bin.display());
        }
        let size = std::fs::metadata(&bin)?.len();
        let mut times = Vec::new();
        for _ in 0..reps {
            times.push(cold_start(&bin, &env).await?.as_secs_f64() * 1000.0);
        }
        rows.push(vec![
            format!("`api/{name}.rs`"),
            format!("{:.1}", size as f64 / (1 << 20) as f64),
            Spread::of(&times).show(1),
        ]);
    }
    report.line(&format!(
        "Vercel function binaries (`cargo build --release`, as the Rust builder makes them): size, and cold start \
         from exec to the first answer on `VERCEL_DEV_PORT` with the emulators' settings, {reps} starts each, \
         median (min–max). On Vercel the platform's own start comes on top."
    ));
    report.table(&["function", "MiB", "cold start ms"], rows);
    Ok(())
}

pub async fn run(dir: &Path, reps: usize, report: &mut Report) -> Result<()> {
    eprintln!("cloud: starting the Firestore emulator");
    let emulator = FirestoreEmulator::from_env_or_start().await?;
    round_trips(&emulator, dir, report).await?;
    eprintln!("cloud: function binaries");
    functions(&emulator, reps, report).await
}

fn rename(name: &str) -> Result<FileChange> {
    Ok(FileChange { name: Some(FileName::parse(name)?), folder: None })
}

fn upload(name: &str, data: &[u8]) -> Result<NewUpload> {
    Ok(NewUpload {
        name: FileName::parse(name)?,
        folder: None,
        on_conflict: OnConflict::KeepBoth,
        size: data.len() as u64,
        content_type: ContentType::parse(Some("text/plain"))?,
        crc32c: Crc32c::of(data),
    })
}
