//! The file commands: `ls`, `put`, `get`, `share`, `unshare`, `link`,
//! `links`, `revoke`, `open`. (`mkdir`, `mv` and `rm` are in `folders`;
//! `put -r` and `get -r` walk their trees in `tree`; what a path names is
//! `paths`.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::Ctx;
use super::auth::read_password;
use super::client::{Api, Auth, normalize_server, seg, str_field, u64_field};
use super::error::{CliError, Exit, Result};
use super::format;
use super::paths::{self, Entry, child_label, place};
use super::transfer::{self, Dest, Options, Prepared, Source, UploadTo};
use super::tree;
use crate::domain::{Crc32c, sha256_hex};

/// Every file a query of `/api/files` lists, all pages.
async fn list_pages(api: &Api, query: &str) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/files?{query}&limit=1000");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", seg(c)));
        }
        let page = api.get(&path).await?;
        out.extend(page["files"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Ok(out),
        }
    }
}

fn order(descending: bool) -> &'static str {
    if descending { "desc" } else { "asc" }
}

/// Every file of a scope (`mine`, in whatever folder, or `shared`), all pages.
pub async fn list_all(api: &Api, scope: &str, sort: &str, descending: bool) -> Result<Vec<Value>> {
    list_pages(api, &format!("scope={scope}&sort={sort}&order={}", order(descending))).await
}

/// The ready files directly in `folder` (`None`: at the top), all pages;
/// with `uploading`, the uploads in progress into it as well.
pub async fn list_in(
    api: &Api,
    folder: Option<&str>,
    sort: &str,
    descending: bool,
    uploading: bool,
) -> Result<Vec<Value>> {
    let within = folder.map(seg).unwrap_or_else(|| "top".to_owned());
    let query = format!("scope=mine&within={within}&sort={sort}&order={}&uploading={uploading}", order(descending));
    list_pages(api, &query).await
}

/// `spec` as it would be typed again in a shell (for hints).
pub fn quoted(spec: &str) -> String {
    shell_words::quote(spec).into_owned()
}

/// The file a person means by `spec`: a path (`Trip/notes.txt`), a name at
/// the top, an id, or (with `shared`) the name of a file shared with them.
pub async fn resolve(api: &Api, spec: &str, shared: bool) -> Result<Value> {
    let hint = format!("`livedrop ls {}` lists what is in it", quoted(spec));
    paths::file(api, spec, shared, &hint).await
}

fn file_name(f: &Value) -> String {
    let name = f["name"].as_str().unwrap_or("?");
    if f["status"].as_str() != Some("pending") {
        return name.to_owned();
    }
    match (f["received"].as_u64(), f["size"].as_u64()) {
        (Some(r), Some(s)) if s > 0 => format!("{name} (uploading, {}%)", r.min(s) * 100 / s),
        _ => format!("{name} (uploading)"),
    }
}

/// One row of the file table: name, size, updated, (owner,) id.
fn file_row(f: &Value, with_owner: bool) -> Vec<String> {
    let mut row = vec![
        file_name(f),
        format::size(f["size"].as_u64().unwrap_or(0)),
        format::time(f["updated_at"].as_str().unwrap_or("")),
    ];
    if with_owner {
        row.push(f["owner_email"].as_str().unwrap_or("").to_owned());
    }
    row.push(f["id"].as_str().unwrap_or("").to_owned());
    row
}

/// A folder's row in the same table: its name with a `/`, no size.
fn folder_row(d: &Value) -> Vec<String> {
    vec![
        format!("{}/", d["name"].as_str().unwrap_or("?")),
        "-".to_owned(),
        format::time(d["updated_at"].as_str().unwrap_or("")),
        d["id"].as_str().unwrap_or("").to_owned(),
    ]
}

/// What `ls` and the shell's `LIST` show: the folders, then the files, at
/// the top or in a folder; at the top also the files shared with you.
#[derive(Default)]
pub struct Listing {
    /// The folder listed; `None`: the top.
    pub folder: Option<Value>,
    /// Its path from the top.
    pub label: String,
    pub folders: Vec<Value>,
    pub files: Vec<Value>,
    /// At the top: the folders and the files shared with you.
    pub shared_folders: Vec<Value>,
    pub shared: Vec<Value>,
}

impl Listing {
    pub fn table(&self) -> String {
        if self.folders.is_empty() && self.files.is_empty() && self.shared.is_empty() && self.shared_folders.is_empty()
        {
            return match self.folder {
                None => "no files yet: upload one with `livedrop put FILE`".into(),
                Some(_) => format!("{}/ is empty", self.label),
            };
        }
        let mut out = String::new();
        if !self.folders.is_empty() || !self.files.is_empty() {
            let rows: Vec<Vec<String>> =
                self.folders.iter().map(folder_row).chain(self.files.iter().map(|f| file_row(f, false))).collect();
            out.push_str(&format::table(&["NAME", "SIZE", "UPDATED", "ID"], &rows));
        }
        if !self.shared.is_empty() || !self.shared_folders.is_empty() {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str("Shared with you:\n");
            let folders = self.shared_folders.iter().map(|d| {
                let mut row = folder_row(d);
                row.insert(3, d["owner_email"].as_str().unwrap_or("").to_owned());
                row
            });
            let rows: Vec<Vec<String>> = folders.chain(self.shared.iter().map(|f| file_row(f, true))).collect();
            out.push_str(&format::table(&["NAME", "SIZE", "UPDATED", "OWNER", "ID"], &rows));
        }
        out
    }

    /// `ls --json`: `folder` (null at the top), `folders`, `files`,
    /// `shared_folders`, `shared`.
    pub fn json(&self) -> Value {
        json!({
            "folder": self.folder,
            "folders": self.folders,
            "files": self.files,
            "shared_folders": self.shared_folders,
            "shared": self.shared,
        })
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    Name,
    Size,
    Updated,
    Created,
}

impl Sort {
    /// The API's sort key, and whether it goes down by default.
    fn key(self) -> (&'static str, bool) {
        match self {
            Sort::Name => ("name", false),
            Sort::Size => ("size", true),
            Sort::Updated => ("updated", true),
            Sort::Created => ("created", true),
        }
    }
}

/// Folders come by name from the server; by time if the files go by time
/// (they have no size: by name then).
fn sort_folders(folders: &mut [Value], sort: Sort, descending: bool) {
    let field = match sort {
        Sort::Updated => "updated_at",
        Sort::Created => "created_at",
        Sort::Name if descending => return folders.reverse(),
        Sort::Name | Sort::Size => return,
    };
    let at = |f: &Value| f[field].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok());
    folders.sort_by(|a, b| if descending { at(b).cmp(&at(a)) } else { at(a).cmp(&at(b)) });
}

/// The folders and files in `folder` (`None`: the top) if `mine`, and at
/// the top the files shared with you if `shared`.
pub async fn listing(
    api: &Api,
    folder: Option<Value>,
    mine: bool,
    shared: bool,
    sort: Sort,
    reverse: bool,
) -> Result<Listing> {
    let (key, descending) = sort.key();
    let descending = descending != reverse;
    let id = folder.as_ref().map(paths::id_of).transpose()?;
    let mut l = Listing { label: paths::folder_label(api, id.as_deref()).await?, ..Listing::default() };
    if mine {
        l.folders = paths::folders_in(api, id.as_deref()).await?;
        sort_folders(&mut l.folders, sort, descending);
        // Uploads in progress too: someone may be filling the folder now.
        l.files = list_in(api, id.as_deref(), key, descending, true).await?;
    }
    if shared && folder.is_none() {
        let folders = api.get("/api/folders?scope=shared").await?;
        l.shared_folders = folders["folders"].as_array().cloned().unwrap_or_default();
        sort_folders(&mut l.shared_folders, sort, descending);
        l.shared = list_all(api, "shared", key, descending).await?;
    }
    l.folder = folder;
    Ok(l)
}

pub struct LsOptions {
    pub folder: Option<String>,
    pub mine: bool,
    pub shared: bool,
    pub sort: Sort,
    pub reverse: bool,
    pub json: bool,
}

pub async fn ls(ctx: &Ctx, o: LsOptions) -> Result<()> {
    let api = ctx.api()?;
    let both = !o.mine && !o.shared;
    let folder = match o.folder.as_deref() {
        None => None,
        Some(spec) => match paths::entry(&api, spec, !o.mine).await? {
            Entry::Top => None,
            // A folder shared with you is listed as `ls` lists it; one of
            // your own holds nothing that --shared means.
            Entry::Folder(f) if o.shared => {
                let me = api.get("/api/me").await?;
                if f["owner_id"] == me["user"]["id"] {
                    return Err(CliError::usage(format!(
                        "'{spec}' is one of your folders: --shared lists what others share with you"
                    ))
                    .hint(format!("`livedrop ls {}` lists what is in it", quoted(spec))));
                }
                Some(f)
            }
            Entry::Folder(f) => Some(f),
            // Like `ls FILE`: that one file.
            Entry::File(f) => {
                let l = Listing { files: vec![f], ..Listing::default() };
                print_listing(&l, o.json);
                return Ok(());
            }
        },
    };
    // A folder named is listed whoever's it is: only the top has a part
    // shared with you.
    let mine = o.mine || both || folder.is_some();
    let l = listing(&api, folder, mine, o.shared || both, o.sort, o.reverse).await?;
    print_listing(&l, o.json);
    Ok(())
}

fn print_listing(l: &Listing, json_out: bool) {
    if json_out {
        println!("{}", serde_json::to_string_pretty(&l.json()).unwrap_or_default());
    } else {
        println!("{}", l.table());
    }
}

/// The name a local path uploads as.
pub fn upload_name(path: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| CliError::usage(format!("{} has no file name", path.display())))
}

/// The person's own ready files in each folder `put` uploads to, listed
/// once per command (when first needed) and kept up to date with what the
/// command uploads: what `put` compares a file with. Files shared with
/// them do not count.
#[derive(Default)]
pub struct Mine {
    folders: HashMap<Option<String>, Vec<Value>>,
}

impl Mine {
    async fn files(&mut self, api: &Api, folder: Option<&str>) -> Result<&mut Vec<Value>> {
        let key = folder.map(str::to_owned);
        if !self.folders.contains_key(&key) {
            let files = list_in(api, folder, "name", false, false).await?;
            self.folders.insert(key.clone(), files);
        }
        Ok(self.folders.entry(key).or_default())
    }

    /// A folder this command made: there is nothing in it to ask about.
    pub fn made(&mut self, folder: &str) {
        self.folders.insert(Some(folder.to_owned()), Vec::new());
    }

    fn listed(&mut self, folder: Option<&str>) -> Option<&mut Vec<Value>> {
        self.folders.get_mut(&folder.map(str::to_owned))
    }
}

/// Where `put` uploads.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub to: UploadTo,
    /// The folder's path from the top; empty for the top.
    pub label: String,
}

/// What `put` did with one file.
pub enum Put {
    /// Uploaded (or an interrupted upload finished) as `asked` in `label`;
    /// `displaced` is the file of that name that was there, if known.
    Uploaded { file: Value, asked: String, label: String, displaced: Option<Value>, replace: bool },
    /// A file of that name, size and CRC32C was already there: nothing sent.
    AlreadyThere { file: Value, local: PathBuf, label: String },
}

impl Put {
    pub fn file(&self) -> &Value {
        match self {
            Put::Uploaded { file, .. } | Put::AlreadyThere { file, .. } => file,
        }
    }

    /// The file's record, with `skipped` saying whether it was already there
    /// (what `put --json` prints for each file).
    pub fn json(&self) -> Value {
        let mut v = self.file().clone();
        if let Some(o) = v.as_object_mut() {
            o.insert("skipped".into(), Value::Bool(matches!(self, Put::AlreadyThere { .. })));
        }
        v
    }

    /// The line that says what happened.
    pub fn line(&self) -> String {
        match self {
            Put::Uploaded { file, label, .. } => uploaded_line(file, label),
            Put::AlreadyThere { file, local, label } => {
                let name = file["name"].as_str().unwrap_or("?");
                let id = file["id"].as_str().unwrap_or("?");
                let shown = child_label(label, name);
                let what = match local.file_name() {
                    Some(n) if n.to_string_lossy() != name => {
                        format!("{} is already there as {shown}", local.display())
                    }
                    _ => format!("{shown} is already there"),
                };
                format!("{what} (same size and checksum): skipped (id {id}; --new uploads another copy)")
            }
        }
    }

    /// For an upload whose name was taken: what it is called instead, or
    /// (with `--replace`) which file it replaced.
    pub fn note(&self) -> Option<String> {
        let Put::Uploaded { file, asked, label, displaced, replace } = self else { return None };
        let name = file["name"].as_str().unwrap_or("?");
        let id = file["id"].as_str().unwrap_or("?");
        let old = displaced.as_ref().and_then(|d| d["id"].as_str());
        if name != asked {
            let other = old.map(|i| format!(" (id {i})")).unwrap_or_default();
            return Some(format!(
                "note: {} already has a {asked}{other}, so the new file is called {name} (id {id}); \
                 --replace replaces the old one instead",
                place(label)
            ));
        }
        match (replace, old) {
            (true, Some(old)) => Some(format!(
                "note: replaced the earlier {} (id {old}) with the new file (id {id})",
                child_label(label, asked)
            )),
            _ => None,
        }
    }
}

fn same_contents(f: &Value, size: u64, crc: Crc32c) -> bool {
    f["status"].as_str() == Some("ready")
        && f["size"].as_u64() == Some(size)
        && f["crc32c"].as_str().and_then(|c| Crc32c::parse(c).ok()) == Some(crc)
}

/// Names are one within a folder whatever their case, as the server keeps them.
fn same_name(f: &Value, name: &str) -> bool {
    f["name"].as_str().is_some_and(|n| n.to_lowercase() == name.to_lowercase())
}

/// Uploads `path` (as `name`, else under its own name) into `target`,
/// unless one of the person's ready files there has that name, size and
/// CRC32C; `new` uploads it anyway. An interrupted upload of the same file
/// always continues.
#[allow(clippy::too_many_arguments)]
pub async fn put_one(
    ctx: &Ctx,
    api: &Api,
    path: &Path,
    name: Option<&str>,
    new: bool,
    mine: &mut Mine,
    opts: &Options,
    target: &Target,
) -> Result<Put> {
    let name = match name {
        Some(n) => n.to_owned(),
        None => upload_name(path)?,
    };
    let folder = target.to.folder_id.as_deref();
    let file = match transfer::prepare(api, &ctx.paths, path, &name, &target.to, opts).await? {
        Prepared::Resumed(file) => file,
        Prepared::New(up) => {
            if !new {
                let (size, crc) = (up.size(), up.crc32c());
                let files = mine.files(api, folder).await?;
                if let Some(f) = files.iter().find(|f| same_name(f, &name) && same_contents(f, size, crc)) {
                    let label = target.label.clone();
                    return Ok(Put::AlreadyThere { file: f.clone(), local: path.to_owned(), label });
                }
            }
            transfer::send(api, &ctx.paths, up, opts).await?
        }
    };
    let mut displaced = None;
    if let Some(files) = mine.listed(folder) {
        displaced = files.iter().find(|f| same_name(f, &name) && f["id"] != file["id"]).cloned();
        if let Some(d) = displaced.as_ref().filter(|_| target.to.replace && file["name"].as_str() == Some(&name)) {
            files.retain(|f| f["id"] != d["id"]);
        }
        if !files.iter().any(|f| f["id"] == file["id"]) {
            files.push(file.clone());
        }
    }
    Ok(Put::Uploaded { file, asked: name, label: target.label.clone(), displaced, replace: target.to.replace })
}

/// `uploaded NAME (SIZE) id ID`, with the folder's path before the name.
pub fn uploaded_line(f: &Value, label: &str) -> String {
    format!(
        "uploaded {} ({}) id {}",
        child_label(label, f["name"].as_str().unwrap_or("?")),
        format::size(f["size"].as_u64().unwrap_or(0)),
        f["id"].as_str().unwrap_or("?")
    )
}

/// What one `put` did, file by file.
#[derive(Default)]
pub struct Run {
    /// `put --json`'s records.
    pub done: Vec<Value>,
    pub first_error: Option<CliError>,
    pub uploaded: usize,
    pub skipped: usize,
    pub failed: usize,
    /// The folders made, by path.
    pub made: Vec<String>,
    /// What a tree held that is not uploaded, and why ("symlink", ...).
    pub passed_over: Vec<(PathBuf, &'static str)>,
}

impl Run {
    /// Reports what happened to a file of `size` bytes. What would fail for
    /// every file (the login, the server) ends the command.
    pub fn record(&mut self, opts: &Options, r: Result<Put>, size: u64, json_out: bool) -> Result<()> {
        match r {
            Ok(p) => {
                match &p {
                    // Nothing happened to it: said on stderr, so that
                    // standard output lists what was uploaded.
                    Put::AlreadyThere { .. } => {
                        opts.warn(p.line());
                        self.skipped += 1;
                        if let Some(o) = &opts.overall {
                            o.passed(size);
                        }
                    }
                    Put::Uploaded { .. } => {
                        if !json_out {
                            opts.out(p.line());
                        }
                        self.uploaded += 1;
                        if let Some(o) = &opts.overall {
                            o.done(size);
                        }
                    }
                }
                if let Some(note) = p.note() {
                    opts.say(note);
                }
                self.done.push(p.json());
                Ok(())
            }
            Err(e) if matches!(e.exit, Exit::Auth | Exit::Unreachable) => Err(e),
            Err(e) => {
                self.fail(opts, e);
                if let Some(o) = &opts.overall {
                    o.passed(size);
                }
                Ok(())
            }
        }
    }

    /// Something did not go up: said now, the first one is the exit code.
    pub fn fail(&mut self, opts: &Options, e: CliError) {
        opts.warn(format!("livedrop: {e}"));
        self.failed += 1;
        self.first_error.get_or_insert(e);
    }
}

pub struct PutOptions {
    pub files: Vec<PathBuf>,
    pub name: Option<String>,
    pub new: bool,
    pub to: Option<String>,
    pub recursive: bool,
    pub replace: bool,
    pub limit_rate: Option<u64>,
    pub json: bool,
}

/// One argument of `put`: a file, or with `-r` a directory's tree.
enum Item {
    File(PathBuf),
    Tree(tree::Plan),
}

pub async fn put(ctx: &Ctx, o: PutOptions) -> Result<()> {
    if o.name.is_some() && o.files.len() > 1 {
        return Err(CliError::usage("--name works with one file at a time"));
    }
    let mut items = Vec::new();
    for path in &o.files {
        if o.recursive && std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            if o.name.is_some() {
                return Err(CliError::usage("--name works with one file; a directory goes up under its own name")
                    .hint("--to FOLDER puts it in another folder"));
            }
            items.push(Item::Tree(tree::plan(path)?));
        } else {
            items.push(Item::File(path.clone()));
        }
    }
    let api = ctx.api()?;
    let mut opts = Options::new(o.limit_rate, ctx.quiet)?;
    let mut mine = Mine::default();
    let mut run = Run::default();
    let mut base = Target { to: UploadTo { folder_id: None, replace: o.replace }, label: String::new() };
    if let Some(spec) = &o.to {
        let (folder, made) = paths::make_folders(&api, spec).await?;
        let id = folder.as_ref().map(paths::id_of).transpose()?;
        if let Some(id) = id.as_deref().filter(|_| !made.is_empty()) {
            mine.made(id);
        }
        for m in made {
            opts.say(format!("created folder {m}"));
            run.made.push(m);
        }
        base.label = paths::folder_label(&api, id.as_deref()).await?;
        base.to.folder_id = id;
    }
    if o.recursive {
        let size = |p: &PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let (files, bytes) = items.iter().fold((0, 0), |(n, b), i| match i {
            Item::File(p) => (n + 1, b + size(p)),
            Item::Tree(plan) => (n + plan.files, b + plan.bytes),
        });
        opts = opts.with_overall(files, bytes, "uploaded");
    }
    let several = o.files.len() > 1 || o.recursive;
    for item in &items {
        match item {
            Item::File(path) => {
                let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                let r = put_one(ctx, &api, path, o.name.as_deref(), o.new, &mut mine, &opts, &base).await;
                match r {
                    Err(e) if !several => return Err(e),
                    r => run.record(&opts, r, size, o.json)?,
                }
            }
            Item::Tree(plan) => {
                tree::put_tree(ctx, &api, plan, &base, o.new, &mut mine, &opts, &mut run, o.json).await?
            }
        }
    }
    if let Some(overall) = &opts.overall {
        overall.finish();
    }
    if o.json {
        let mut v = json!({ "files": run.done });
        if o.recursive || o.to.is_some() {
            v["created_folders"] = json!(run.made);
            let skipped: Vec<Value> = run
                .passed_over
                .iter()
                .map(|(p, why)| json!({ "path": p.display().to_string(), "reason": why }))
                .collect();
            v["skipped"] = json!(skipped);
        }
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else if o.recursive {
        let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        let mut summary = format!(
            "{} uploaded, {} already there, {} failed; {} made",
            plural(run.uploaded, "file"),
            run.skipped,
            run.failed,
            plural(run.made.len(), "folder")
        );
        if !run.passed_over.is_empty() {
            summary.push_str(&format!(", {} passed over", run.passed_over.len()));
        }
        opts.say(summary);
    }
    run.first_error.map_or(Ok(()), Err)
}

/// Where `get` saves: `-o PATH` (a directory takes the file's name), or
/// the file's name in the current directory, or `-` for standard output.
pub fn destination(output: Option<&Path>, name: &str, force: bool) -> Dest {
    match output {
        Some(p) if p.as_os_str() == "-" => Dest::Stdout,
        Some(p) if p.is_dir() || p.as_os_str().to_string_lossy().ends_with('/') => {
            Dest::File { path: p.join(name), force }
        }
        Some(p) => Dest::File { path: p.to_owned(), force },
        None => Dest::File { path: PathBuf::from(name), force },
    }
}

/// Downloads one of the person's (or a shared) files.
pub async fn get_file(ctx: &Ctx, api: &Api, f: &Value, dest: Dest, opts: &Options) -> Result<()> {
    let id = str_field(f, "id")?;
    let name = str_field(f, "name")?.to_owned();
    let signed = api.post(&format!("/api/files/{}/download", seg(id)), &json!({})).await?;
    let src = Source {
        url: api.url(str_field(&signed, "url")?)?,
        name,
        size: u64_field(f, "size")?,
        crc32c: f["crc32c"].as_str().and_then(|c| Crc32c::parse(c).ok()),
        identity: format!("file:{}:{id}", api.server()),
    };
    transfer::download(api.http(), &ctx.paths, src, dest, opts).await
}

/// `get` of one file, to `-o` or under its name here.
pub async fn get_one(
    ctx: &Ctx,
    api: &Api,
    f: &Value,
    output: Option<&Path>,
    force: bool,
    opts: &Options,
) -> Result<()> {
    let name = str_field(f, "name")?.to_owned();
    let dest = destination(output, &name, force);
    let shown = match &dest {
        Dest::File { path, .. } => Some(path.clone()),
        Dest::Stdout => None,
    };
    get_file(ctx, api, f, dest, opts).await?;
    if let Some(p) = shown {
        println!("saved {name} ({}) to {}", format::size(f["size"].as_u64().unwrap_or(0)), p.display());
    }
    Ok(())
}

pub async fn get(
    ctx: &Ctx,
    spec: &str,
    output: Option<&Path>,
    force: bool,
    recursive: bool,
    limit_rate: Option<u64>,
) -> Result<()> {
    if recursive {
        return tree::get_tree(ctx, spec, output, force, limit_rate).await;
    }
    let api = ctx.api()?;
    let opts = Options::new(limit_rate, ctx.quiet)?;
    let hint = format!("`livedrop get -r {}` downloads the folder with everything in it", quoted(spec));
    let f = paths::file(&api, spec, true, &hint).await?;
    get_one(ctx, &api, &f, output, force, &opts).await
}

/// Where the shares of what `spec` names are: a file's, or a folder's (with
/// everything in it); and the record.
async fn shares_of(api: &Api, spec: &str) -> Result<(String, Value)> {
    match paths::entry(api, spec, false).await? {
        Entry::File(f) => Ok((format!("/api/files/{}/shares", seg(str_field(&f, "id")?)), f)),
        Entry::Folder(d) => Ok((format!("/api/folders/{}/shares", seg(str_field(&d, "id")?)), d)),
        Entry::Top => Err(CliError::usage("name a file or a folder: a path such as Trip/notes.txt")),
    }
}

pub async fn share(ctx: &Ctx, spec: &str, emails: &[String]) -> Result<()> {
    let api = ctx.api()?;
    let (at, f) = shares_of(&api, spec).await?;
    let name = str_field(&f, "name")?;
    for email in emails {
        let r = api.post(&at, &json!({ "email": email })).await?;
        let s = &r["share"];
        let who = s["email"].as_str().unwrap_or(email);
        if let Some(path) = s["invite_url"].as_str() {
            let link = api.base.join(path).map(String::from).unwrap_or_else(|_| path.to_owned());
            println!("shared {name} with {who} (no confirmed account yet, and this server sends no e-mail)");
            println!("  send them this invitation link yourself; whoever opens it signed in as {who} gets {name}:");
            println!("  {link}");
        } else if s["pending"].as_bool().unwrap_or(false) {
            println!(
                "shared {name} with {who} (no confirmed account yet: they will see it once they sign up with \
                 this address and confirm it)"
            );
        } else {
            println!("shared {name} with {who}");
        }
    }
    Ok(())
}

pub async fn unshare(ctx: &Ctx, spec: &str, emails: &[String]) -> Result<()> {
    let api = ctx.api()?;
    let (at, f) = shares_of(&api, spec).await?;
    let name = str_field(&f, "name")?;
    for email in emails {
        api.delete(&format!("{at}/{}", seg(email.trim()))).await?;
        println!("stopped sharing {name} with {email}");
    }
    Ok(())
}

pub struct LinkOptions {
    pub expires: Option<u64>,
    pub password: bool,
    pub password_stdin: bool,
    pub max_downloads: Option<u64>,
    pub json: bool,
}

pub async fn link(ctx: &Ctx, spec: &str, o: LinkOptions) -> Result<()> {
    let api = ctx.api()?;
    // A file, or a folder with everything in it.
    let (at, f) = match paths::entry(&api, spec, false).await? {
        Entry::File(f) => (format!("/api/files/{}/links", seg(str_field(&f, "id")?)), f),
        Entry::Folder(d) => (format!("/api/folders/{}/links", seg(str_field(&d, "id")?)), d),
        Entry::Top => return Err(CliError::usage("name a file or a folder: a path such as Trip/notes.txt")),
    };
    let password = if o.password || o.password_stdin {
        Some(read_password("Password for the link: ", o.password_stdin, !o.password_stdin)?)
    } else {
        None
    };
    let body = json!({
        "expires_in_seconds": o.expires,
        "password": password,
        "max_downloads": o.max_downloads,
    });
    let r = api.post(&at, &body).await?;
    let url = api.url(str_field(&r, "url")?)?;
    if o.json {
        let mut v = r.clone();
        v["url"] = Value::String(url.to_string());
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    println!("{url}");
    if !ctx.quiet {
        let l = &r["link"];
        let mut terms = vec![];
        if let Some(e) = l["expires_at"].as_str() {
            terms.push(format!("expires {}", format::time(e)));
        }
        if l["has_password"].as_bool().unwrap_or(false) {
            terms.push("needs its password".into());
        }
        if let Some(m) = l["max_downloads"].as_u64() {
            terms.push(format!("{m} download{}", if m == 1 { "" } else { "s" }));
        }
        let terms = if terms.is_empty() { String::new() } else { format!(" ({})", terms.join(", ")) };
        eprintln!("link {} to {}{terms}", l["id"].as_str().unwrap_or("?"), f["name"].as_str().unwrap_or(spec));
    }
    Ok(())
}

pub async fn links(ctx: &Ctx, spec: Option<&str>, json_out: bool) -> Result<()> {
    let api = ctx.api()?;
    let files = match spec {
        Some(s) => vec![resolve(&api, s, false).await?],
        None => list_all(&api, "mine", "name", false).await?,
    };
    let mut all = Vec::new();
    for f in &files {
        if spec.is_none() && f["status"].as_str() != Some("ready") {
            continue;
        }
        let r = api.get(&format!("/api/files/{}/links", seg(str_field(f, "id")?))).await?;
        for mut l in r["links"].as_array().cloned().unwrap_or_default() {
            l["file_name"] = f["name"].clone();
            all.push(l);
        }
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&json!({ "links": all })).unwrap_or_default());
        return Ok(());
    }
    if all.is_empty() {
        println!("no links");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .map(|l| {
            let downloads = match l["max_downloads"].as_u64() {
                Some(m) => format!("{}/{m}", l["downloads"].as_u64().unwrap_or(0)),
                None => l["downloads"].as_u64().unwrap_or(0).to_string(),
            };
            let state = if l["revoked"].as_bool().unwrap_or(false) { "revoked" } else { "active" };
            vec![
                l["id"].as_str().unwrap_or("").to_owned(),
                l["file_name"].as_str().unwrap_or("").to_owned(),
                format::time(l["created_at"].as_str().unwrap_or("")),
                l["expires_at"].as_str().map(format::time).unwrap_or_else(|| "never".into()),
                downloads,
                if l["has_password"].as_bool().unwrap_or(false) { "yes" } else { "no" }.into(),
                state.into(),
            ]
        })
        .collect();
    println!("{}", format::table(&["ID", "FILE", "CREATED", "EXPIRES", "DOWNLOADS", "PASSWORD", "STATE"], &rows));
    Ok(())
}

pub async fn revoke(ctx: &Ctx, ids: &[String]) -> Result<()> {
    let api = ctx.api()?;
    for id in ids {
        api.delete(&format!("/api/links/{}", seg(id))).await?;
        println!("revoked link {id}");
    }
    Ok(())
}

/// A public link as people paste it: `https://host/s/TOKEN`, `host/s/TOKEN`,
/// or the bare token (with `--server`).
pub fn parse_link(ctx: &Ctx, link: &str) -> Result<(reqwest::Url, String)> {
    let link = link.trim();
    if let Some((before, token)) = link.rsplit_once("/s/") {
        let token = token.trim_end_matches('/').split(['?', '#']).next().unwrap_or("");
        let before = before.strip_suffix("/api").unwrap_or(before);
        if token.is_empty() {
            return Err(CliError::usage(format!("'{link}' is not a livedrop link")));
        }
        return Ok((normalize_server(before)?, token.to_owned()));
    }
    if link.contains('/') || link.is_empty() {
        return Err(CliError::usage(format!("'{link}' is not a livedrop link (…/s/TOKEN)")));
    }
    Ok((ctx.server_url()?, link.to_owned()))
}

pub struct OpenOptions {
    pub output: Option<PathBuf>,
    pub force: bool,
    pub password_stdin: bool,
    pub info: bool,
    pub limit_rate: Option<u64>,
}

pub async fn open(ctx: &Ctx, link: &str, o: OpenOptions) -> Result<()> {
    let (base, token) = parse_link(ctx, link)?;
    let api = Api::new(base, Auth::Anonymous);
    let info = api.get(&format!("/api/s/{}", seg(&token))).await?;
    let name = str_field(&info, "name")?.to_owned();
    let folder = info["kind"] == "folder";
    let size = if folder { 0 } else { u64_field(&info, "size")? };
    if o.info {
        if folder {
            println!("{name}/ (a folder)");
        } else {
            println!("{name} ({})", format::size(size));
        }
        if info["password_required"].as_bool().unwrap_or(false) {
            println!("needs a password");
        }
        if let Some(e) = info["expires_at"].as_str() {
            println!("expires {}", format::time(e));
        }
        if let Some(n) = info["downloads_left"].as_u64() {
            println!("{n} download{} left", if n == 1 { "" } else { "s" });
        }
        return Ok(());
    }
    let password = if info["password_required"].as_bool().unwrap_or(false) {
        Some(read_password(&format!("Password for {name}: "), o.password_stdin, false)?)
    } else {
        None
    };
    if folder {
        return super::tree::open_folder_link(ctx, &api, &token, &name, password, &o).await;
    }
    let dest = destination(o.output.as_deref(), &name, o.force);
    if let Dest::File { path, force: false } = &dest {
        if path.exists() {
            // Checked before the download is counted against the link.
            return Err(CliError::local(format!("{} already exists", path.display()))
                .hint("pass --force to overwrite it, or -o PATH to save it elsewhere"));
        }
    }
    let shown = match &dest {
        Dest::File { path, .. } => Some(path.clone()),
        Dest::Stdout => None,
    };
    let signed = api.post(&format!("/api/s/{}/download", seg(&token)), &json!({ "password": password })).await?;
    let opts = Options::new(o.limit_rate, ctx.quiet)?;
    let src = Source {
        url: api.url(str_field(&signed, "url")?)?,
        name: name.clone(),
        size,
        crc32c: None,
        identity: format!("link:{}", sha256_hex(&format!("{}\n{token}", api.server()))),
    };
    transfer::download(api.http(), &ctx.paths, src, dest, &opts).await?;
    if let Some(p) = shown {
        println!("saved {name} ({}) to {}", format::size(size), p.display());
    }
    Ok(())
}
