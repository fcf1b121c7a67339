//! Trees: `put -r DIR` (a local directory becomes a folder of the same
//! name, with its folders and files) and `get -r FOLDER` (the other way),
//! with one overall progress line. Each file is what `put` and `get` make
//! of one file: one already there is skipped, an interrupted transfer
//! continues on the next run, so running the same command again finishes
//! what a cut one left.
//!
//! Symlinks in a tree are passed over (and said so): they may point out of
//! it, or in circles. A directory named on the command line is followed.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Ctx;
use super::client::{Api, str_field};
use super::error::{CliError, Exit, Result};
use super::files::{Mine, OpenOptions, Run, Target, get_file, get_one, list_in, put_one};
use super::format;
use super::paths::{self, Entry, child_label};
use super::transfer::{self, Dest, Options, UploadTo};

/// A local directory of a tree: its names from the tree's own
/// (`["photos", "2024"]`), and its files with their sizes.
type LocalDir = (Vec<String>, Vec<(PathBuf, u64)>);

/// A local directory, walked: what `put -r` will make and send.
pub struct Plan {
    /// Each directory, a parent before what is in it.
    dirs: Vec<LocalDir>,
    pub files: usize,
    pub bytes: u64,
    /// What is not uploaded, and why.
    passed_over: Vec<(PathBuf, &'static str)>,
    /// Directories that could not be read.
    unreadable: Vec<CliError>,
}

/// Walks `root` (which is a directory): everything under it, by name.
pub fn plan(root: &Path) -> Result<Plan> {
    let name = match root.file_name() {
        Some(n) => n.to_string_lossy().into_owned(),
        // `.`, `..`, `dir/..`: the name of the directory they are.
        None => std::fs::canonicalize(root)
            .map_err(|e| CliError::io("read", root, &e))?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| CliError::usage(format!("{} has no name to give its folder", root.display())))?,
    };
    let mut plan = Plan { dirs: Vec::new(), files: 0, bytes: 0, passed_over: Vec::new(), unreadable: Vec::new() };
    walk(root, vec![name], &mut plan);
    Ok(plan)
}

fn walk(dir: &Path, names: Vec<String>, plan: &mut Plan) {
    let mut entries = match std::fs::read_dir(dir).and_then(|rd| rd.collect::<std::io::Result<Vec<_>>>()) {
        Ok(e) => e,
        Err(e) => {
            plan.unreadable.push(CliError::io("read", dir, &e));
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    for e in entries {
        let path = e.path();
        // Not followed: `symlink_metadata` is the link's own.
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => plan.passed_over.push((path, "symlink")),
            Ok(m) if m.is_dir() => subdirs.push((path, e.file_name().to_string_lossy().into_owned())),
            Ok(m) if m.is_file() => {
                plan.files += 1;
                plan.bytes += m.len();
                files.push((path, m.len()));
            }
            Ok(_) => plan.passed_over.push((path, "not a regular file")),
            Err(e) => plan.unreadable.push(CliError::io("read", &path, &e)),
        }
    }
    plan.dirs.push((names.clone(), files));
    for (path, name) in subdirs {
        let mut below = names.clone();
        below.push(name);
        walk(&path, below, plan);
    }
}

/// Uploads a walked directory into `base`: a folder of its name there (the
/// one that is there already, if any), and so on down.
#[allow(clippy::too_many_arguments)]
pub async fn put_tree(
    ctx: &Ctx,
    api: &Api,
    plan: &Plan,
    base: &Target,
    new: bool,
    mine: &mut Mine,
    opts: &Options,
    run: &mut Run,
    json_out: bool,
) -> Result<()> {
    for (path, why) in &plan.passed_over {
        let what = if *why == "symlink" { "a symlink".to_owned() } else { (*why).to_owned() };
        opts.say(format!("passed over {}: {what}; livedrop uploads files and directories", path.display()));
        run.passed_over.push((path.clone(), why));
    }
    for e in &plan.unreadable {
        run.fail(opts, CliError::new(e.exit, e.message.clone()));
    }
    // The folder made (or found) for each directory, by its names.
    let mut ids: Vec<(&[String], Option<String>)> = Vec::new();
    for (names, files) in &plan.dirs {
        let Some((name, above)) = names.split_last() else { continue };
        let parent = if above.is_empty() {
            Some(base.to.folder_id.clone())
        } else {
            ids.iter().find(|(n, _)| *n == above).and_then(|(_, id)| id.clone()).map(Some)
        };
        let label = child_label(&base.label, &names.join("/"));
        let made = match parent {
            // The folder above could not be made: said once, there.
            None => Err(None),
            Some(parent) => paths::child_folder(api, parent.as_deref(), name, &label).await.map_err(Some),
        };
        let id = match made {
            Ok((folder, new_folder)) => {
                let id = paths::id_of(&folder)?;
                if new_folder {
                    mine.made(&id);
                    opts.say(format!("created folder {label}"));
                    run.made.push(label.clone());
                }
                Some(id)
            }
            Err(e) => {
                if let Some(e) = e {
                    if matches!(e.exit, Exit::Auth | Exit::Unreachable) {
                        return Err(e);
                    }
                    let hint = e.hint.clone();
                    let mut e = CliError::new(e.exit, format!("cannot make folder {label}: {}", e.message));
                    e.hint = hint;
                    run.fail(opts, e);
                }
                for (_, size) in files {
                    run.failed += 1;
                    if let Some(o) = &opts.overall {
                        o.passed(*size);
                    }
                }
                None
            }
        };
        ids.push((names, id.clone()));
        let Some(id) = id else { continue };
        let target = Target { to: UploadTo { folder_id: Some(id), replace: base.to.replace }, label };
        for (path, size) in files {
            let r = put_one(ctx, api, path, None, new, mine, opts, &target).await;
            run.record(opts, r, *size, json_out)?;
        }
    }
    Ok(())
}

/// A folder of the server, walked: where it goes here, and its files.
struct RemoteDir {
    local: PathBuf,
    label: String,
    files: Vec<Value>,
}

/// A name from the server as one local path component: never a path.
fn local_name(name: &str) -> Result<&str> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(CliError::failure(format!("the server sent '{name}' as a name; it is no file name here")));
    }
    Ok(name)
}

/// `get -r`: the folder `spec` names, with everything in it, into
/// `output/<its name>/` (here if no `-o`).
pub async fn get_tree(
    ctx: &Ctx,
    spec: &str,
    output: Option<&Path>,
    force: bool,
    limit_rate: Option<u64>,
) -> Result<()> {
    let api = ctx.api()?;
    let opts = Options::new(limit_rate, ctx.quiet)?;
    let folder = match paths::entry(&api, spec, true).await? {
        Entry::Folder(f) => f,
        // Like `cp -r FILE`: the file.
        Entry::File(f) => return get_one(ctx, &api, &f, output, force, &opts).await,
        Entry::Top => {
            return Err(CliError::usage("name a folder: `get -r` downloads one folder with everything in it")
                .hint("`livedrop ls` lists your folders"));
        }
    };
    let into = match output {
        Some(p) if p.as_os_str() == "-" => {
            return Err(CliError::usage("-o - writes one file to standard output; a folder needs a directory"));
        }
        Some(p) => p.to_owned(),
        None => PathBuf::from("."),
    };
    if into.exists() && !into.is_dir() {
        return Err(CliError::local(format!("{} is not a directory", into.display()))
            .hint("-o names the directory the folder goes in"));
    }
    let name = local_name(str_field(&folder, "name")?)?.to_owned();
    let root = into.join(&name);
    let top_label = paths::folder_label(&api, Some(&paths::id_of(&folder)?)).await?;

    // The whole tree first: the overall line knows what is coming.
    let mut dirs = Vec::new();
    let mut stack = vec![(folder, root.clone(), top_label.clone())];
    while let Some((f, local, label)) = stack.pop() {
        let id = paths::id_of(&f)?;
        let files = list_in(&api, Some(&id), "name", false, false).await?;
        let subs = paths::folders_in(&api, Some(&id)).await?;
        dirs.push(RemoteDir { local: local.clone(), label: label.clone(), files });
        for s in subs.iter().rev() {
            let n = local_name(str_field(s, "name")?)?;
            stack.push((s.clone(), local.join(n), format!("{label}/{n}")));
        }
    }
    let files: usize = dirs.iter().map(|d| d.files.len()).sum();
    let bytes: u64 = dirs.iter().flat_map(|d| &d.files).map(|f| f["size"].as_u64().unwrap_or(0)).sum();
    let opts = opts.with_overall(files, bytes, "downloaded");
    let overall = opts.overall.clone();
    let passed = |size: u64| {
        if let Some(o) = &overall {
            o.passed(size);
        }
    };

    let mut first_error: Option<CliError> = None;
    let (mut saved, mut skipped, mut failed) = (0usize, 0usize, 0usize);
    let mut fail = |e: CliError, opts: &Options| -> Result<()> {
        if matches!(e.exit, Exit::Auth | Exit::Unreachable) {
            return Err(e);
        }
        opts.warn(format!("livedrop: {e}"));
        first_error.get_or_insert(e);
        Ok(())
    };
    for dir in &dirs {
        if let Err(e) = std::fs::create_dir_all(&dir.local) {
            fail(CliError::io("make the directory", &dir.local, &e), &opts)?;
            failed += dir.files.len();
            dir.files.iter().for_each(|f| passed(f["size"].as_u64().unwrap_or(0)));
            continue;
        }
        for f in &dir.files {
            let size = f["size"].as_u64().unwrap_or(0);
            let shown = child_label(&dir.label, f["name"].as_str().unwrap_or("?"));
            let path = match local_name(str_field(f, "name")?) {
                Ok(n) => dir.local.join(n),
                Err(e) => {
                    fail(e, &opts)?;
                    failed += 1;
                    passed(size);
                    continue;
                }
            };
            if !force && std::fs::symlink_metadata(&path).is_ok() {
                passed(size);
                if same_file_here(&path, f).await {
                    opts.warn(format!("{} is already there (same size and checksum): skipped", path.display()));
                    skipped += 1;
                } else {
                    let e = CliError::local(format!("{} already exists, with other contents", path.display()))
                        .hint("pass --force to overwrite it, or -o DIR to save the folder elsewhere");
                    fail(e, &opts)?;
                    failed += 1;
                }
                continue;
            }
            match get_file(ctx, &api, f, Dest::File { path: path.clone(), force }, &opts).await {
                Ok(()) => {
                    if let Some(o) = &overall {
                        o.done(size);
                    }
                    opts.out(format!("saved {shown} ({}) to {}", format::size(size), path.display()));
                    saved += 1;
                }
                Err(e) => {
                    passed(size);
                    fail(e, &opts)?;
                    failed += 1;
                }
            }
        }
    }
    if let Some(o) = &overall {
        o.finish();
    }
    opts.say(format!(
        "{top_label}: {saved} of {files} file{} saved to {} ({} already there, {failed} failed; {} folder{})",
        if files == 1 { "" } else { "s" },
        root.display(),
        skipped,
        dirs.len(),
        if dirs.len() == 1 { "" } else { "s" },
    ));
    first_error.map_or(Ok(()), Err)
}

/// Whether the local file at `path` is the server's `f`: its size and CRC32C.
async fn same_file_here(path: &Path, f: &Value) -> bool {
    let Ok(meta) = std::fs::metadata(path) else { return false };
    let size = f["size"].as_u64();
    if !meta.is_file() || Some(meta.len()) != size {
        return false;
    }
    let want = f["crc32c"].as_str().and_then(|c| crate::domain::Crc32c::parse(c).ok());
    match (want, transfer::local_crc(path, meta.len()).await) {
        (Some(want), Ok(have)) => want == have,
        _ => false,
    }
}

/// `open LINK` of a folder link: the folder with everything in it, into
/// `output/<its name>/`, through the link's archive pages. One download is
/// counted against the link for the whole folder; the pages' ticket asks
/// again for a page whose URLs are about to expire.
pub async fn open_folder_link(
    ctx: &Ctx,
    api: &Api,
    token: &str,
    name: &str,
    password: Option<String>,
    o: &OpenOptions,
) -> Result<()> {
    let force = o.force;
    let opts = Options::new(o.limit_rate, ctx.quiet)?;
    let into = match o.output.as_deref() {
        Some(p) if p.as_os_str() == "-" => {
            return Err(CliError::usage("-o - writes one file to standard output; a folder needs a directory"));
        }
        Some(p) => p.to_owned(),
        None => PathBuf::from("."),
    };
    let root = into.join(local_name(name)?);
    // Checked before the download is counted against the link.
    if !force && std::fs::symlink_metadata(&root).is_ok() {
        return Err(CliError::local(format!("{} already exists", root.display()))
            .hint("pass --force to write into it, or -o DIR to save the folder elsewhere"));
    }
    let at = format!("/api/s/{}/archive", super::client::seg(token));
    let first = api.post(&at, &serde_json::json!({ "password": password })).await?;
    let ticket = str_field(&first, "ticket")?.to_owned();
    // Every page first (pages are cheap; the overall line knows what is
    // coming), each with the cursor that gives it again.
    let mut pages: Vec<(Option<String>, Value)> = vec![(None, first)];
    while let Some(next) = pages.last().and_then(|(_, p)| p["next_cursor"].as_str()).map(str::to_owned) {
        let page = api.post(&at, &serde_json::json!({ "ticket": ticket, "cursor": next })).await?;
        pages.push((Some(next), page));
    }
    let entries = |p: &Value| p["entries"].as_array().cloned().unwrap_or_default();
    let all: Vec<Value> = pages.iter().flat_map(|(_, p)| entries(p)).collect();
    let files = all.iter().filter(|e| e["kind"] == "file").count();
    let bytes: u64 = all.iter().filter_map(|e| e["size"].as_u64()).sum();
    let opts = opts.with_overall(files, bytes, "downloaded");
    std::fs::create_dir_all(&root).map_err(|e| CliError::io("make the directory", &root, &e))?;
    let mut saved = 0usize;
    for (cursor, page) in &pages {
        let mut page = page.clone();
        for i in 0..entries(&page).len() {
            let mut e = entries(&page)[i].clone();
            let mut path = root.clone();
            for n in str_field(&e, "path")?.split('/') {
                path.push(local_name(n)?);
            }
            if e["kind"] == "folder" {
                std::fs::create_dir_all(&path).map_err(|err| CliError::io("make the directory", &path, &err))?;
                continue;
            }
            // A URL about to expire: the same page again, signed afresh.
            let expires = e["expires_at"].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok());
            if expires.is_none_or(|t| t < jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60)) {
                page = api.post(&at, &serde_json::json!({ "ticket": ticket, "cursor": cursor })).await?;
                let fresh = entries(&page).into_iter().find(|f| f["path"] == e["path"]);
                e = fresh.ok_or_else(|| CliError::failure(format!("{} left the folder meanwhile", e["path"])))?;
            }
            let size = e["size"].as_u64().unwrap_or(0);
            let src = transfer::Source {
                url: api.url(str_field(&e, "url")?)?,
                name: str_field(&e, "path")?.to_owned(),
                size,
                crc32c: None,
                identity: format!("link-file:{}:{}", api.server(), str_field(&e, "file_id")?),
            };
            transfer::download(api.http(), &ctx.paths, src, Dest::File { path: path.clone(), force }, &opts).await?;
            if let Some(o) = &opts.overall {
                o.done(size);
            }
            opts.out(format!("saved {name}/{} ({}) to {}", str_field(&e, "path")?, format::size(size), path.display()));
            saved += 1;
        }
    }
    if let Some(o) = &opts.overall {
        o.finish();
    }
    opts.say(format!("{name}: {saved} file{} saved to {}", if saved == 1 { "" } else { "s" }, root.display()));
    Ok(())
}
