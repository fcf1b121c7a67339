//! The file commands: `ls`, `put`, `get`, `rm`, `mv`, `share`, `unshare`,
//! `link`, `links`, `revoke`, `open`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::Ctx;
use super::auth::read_password;
use super::client::{Api, Auth, normalize_server, seg, str_field, u64_field};
use super::error::{CliError, Exit, Result};
use super::format;
use super::transfer::{self, Dest, Options, Prepared, Source};
use crate::domain::{Crc32c, sha256_hex};

/// Every file of a scope (`mine` or `shared`), all pages.
pub async fn list_all(api: &Api, scope: &str, sort: &str, descending: bool) -> Result<Vec<Value>> {
    let order = if descending { "desc" } else { "asc" };
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/files?scope={scope}&sort={sort}&order={order}&limit=1000");
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

fn looks_like_id(s: &str) -> bool {
    s.len() >= 16 && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The file a person means by `spec`: an id, or the name of one of their
/// files (or, with `shared`, of a file shared with them).
pub async fn resolve(api: &Api, spec: &str, shared: bool) -> Result<Value> {
    let mut files = list_all(api, "mine", "name", false).await?;
    if shared {
        files.extend(list_all(api, "shared", "name", false).await?);
    }
    if let Some(f) = files.iter().find(|f| f["id"].as_str() == Some(spec)) {
        return Ok(f.clone());
    }
    let named: Vec<&Value> = files.iter().filter(|f| f["name"].as_str() == Some(spec)).collect();
    match named.as_slice() {
        [one] => return Ok((*one).clone()),
        [] => {}
        many => {
            let ids: Vec<&str> = many.iter().filter_map(|f| f["id"].as_str()).collect();
            return Err(CliError::usage(format!("{} files are called '{spec}'", many.len()))
                .hint(format!("name one by its id: {}", ids.join(", "))));
        }
    }
    if looks_like_id(spec) {
        // Perhaps an id beyond the listing; someone else's is "not found".
        match api.get(&format!("/api/files/{}", seg(spec))).await {
            Ok(v) => return Ok(v["file"].clone()),
            Err(e) if e.exit == Exit::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Err(CliError::not_found(if looks_like_id(spec) {
        format!("no file called '{spec}', and no file with that id that you may see")
    } else {
        format!("no file called '{spec}'")
    })
    .hint("`livedrop ls` lists your files and their ids"))
}

fn file_name(f: &Value) -> String {
    let name = f["name"].as_str().unwrap_or("?");
    if f["status"].as_str() == Some("pending") { format!("{name} (incomplete upload)") } else { name.to_owned() }
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

/// The table `ls` and the shell's `LIST` print.
pub fn files_table(mine: &[Value], shared: &[Value]) -> String {
    let mut out = String::new();
    if mine.is_empty() && shared.is_empty() {
        return "no files yet: upload one with `livedrop put FILE`".into();
    }
    if !mine.is_empty() {
        let rows: Vec<Vec<String>> = mine.iter().map(|f| file_row(f, false)).collect();
        out.push_str(&format::table(&["NAME", "SIZE", "UPDATED", "ID"], &rows));
    }
    if !shared.is_empty() {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str("Shared with you:\n");
        let rows: Vec<Vec<String>> = shared.iter().map(|f| file_row(f, true)).collect();
        out.push_str(&format::table(&["NAME", "SIZE", "UPDATED", "OWNER", "ID"], &rows));
    }
    out
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Sort {
    Name,
    Size,
    Updated,
    Created,
}

pub struct LsOptions {
    pub mine: bool,
    pub shared: bool,
    pub sort: Sort,
    pub reverse: bool,
    pub json: bool,
}

pub async fn ls(ctx: &Ctx, o: LsOptions) -> Result<()> {
    let api = ctx.api()?;
    let (sort, descending) = match o.sort {
        Sort::Name => ("name", false),
        Sort::Size => ("size", true),
        Sort::Updated => ("updated", true),
        Sort::Created => ("created", true),
    };
    let descending = descending != o.reverse;
    let both = !o.mine && !o.shared;
    let mine = if o.mine || both { list_all(&api, "mine", sort, descending).await? } else { vec![] };
    let shared = if o.shared || both { list_all(&api, "shared", sort, descending).await? } else { vec![] };
    if o.json {
        let v = json!({ "files": mine, "shared": shared });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        println!("{}", files_table(&mine, &shared));
    }
    Ok(())
}

/// The name a local path uploads as.
pub fn upload_name(path: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| CliError::usage(format!("{} has no file name", path.display())))
}

/// The person's own ready files, listed once per command (when first
/// needed) and kept up to date with what the command uploads: what `put`
/// compares a file with. Files shared with them do not count.
#[derive(Default)]
pub struct Mine {
    files: Option<Vec<Value>>,
}

impl Mine {
    async fn files(&mut self, api: &Api) -> Result<&mut Vec<Value>> {
        if self.files.is_none() {
            self.files = Some(list_all(api, "mine", "name", false).await?);
        }
        Ok(self.files.get_or_insert_default())
    }
}

/// What `put` did with one file.
pub enum Put {
    /// Uploaded (or an interrupted upload finished); `namesakes` are the
    /// person's other files of that name, with other contents.
    Uploaded { file: Value, namesakes: Vec<Value> },
    /// A file of that name, size and CRC32C was already there: nothing sent.
    AlreadyThere { file: Value, local: PathBuf },
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
            Put::Uploaded { file, .. } => uploaded_line(file),
            Put::AlreadyThere { file, local } => {
                let name = file["name"].as_str().unwrap_or("?");
                let id = file["id"].as_str().unwrap_or("?");
                let what = match local.file_name() {
                    Some(n) if n.to_string_lossy() != name => format!("{} is already there as {name}", local.display()),
                    _ => format!("{name} is already there"),
                };
                format!("{what} (same size and checksum): skipped (id {id}; --new uploads another copy)")
            }
        }
    }

    /// For a file uploaded beside others of its name: there are now several,
    /// and how to tell them apart.
    pub fn namesake_note(&self) -> Option<String> {
        let Put::Uploaded { file, namesakes } = self else { return None };
        if namesakes.is_empty() {
            return None;
        }
        let name = file["name"].as_str().unwrap_or("?");
        let id = file["id"].as_str().unwrap_or("?");
        let others: Vec<String> = namesakes
            .iter()
            .map(|f| {
                format!(
                    "{} ({}, updated {})",
                    f["id"].as_str().unwrap_or("?"),
                    format::size(f["size"].as_u64().unwrap_or(0)),
                    format::time(f["updated_at"].as_str().unwrap_or(""))
                )
            })
            .collect();
        let mut note = format!(
            "note: you now have {} files called {name}, with different contents: {id} (uploaded now), {}\n  \
             commands that take the name will ask for an id; `livedrop ls` shows them",
            namesakes.len() + 1,
            others.join(", ")
        );
        if let [old] = namesakes.as_slice() {
            note.push_str(&format!("; `livedrop rm {}` keeps only the new one", old["id"].as_str().unwrap_or("?")));
        }
        Some(note)
    }
}

fn same_contents(f: &Value, size: u64, crc: Crc32c) -> bool {
    f["status"].as_str() == Some("ready")
        && f["size"].as_u64() == Some(size)
        && f["crc32c"].as_str().and_then(|c| Crc32c::parse(c).ok()) == Some(crc)
}

/// Uploads `path` (as `name`, else under its own name), unless one of the
/// person's ready files has that name, size and CRC32C; `new` uploads it
/// anyway. An interrupted upload of the same file always continues.
pub async fn put_one(
    ctx: &Ctx,
    api: &Api,
    path: &Path,
    name: Option<&str>,
    new: bool,
    mine: &mut Mine,
    opts: &Options,
) -> Result<Put> {
    let name = match name {
        Some(n) => n.to_owned(),
        None => upload_name(path)?,
    };
    let (file, namesakes) = match transfer::prepare(api, &ctx.paths, path, &name, opts).await? {
        Prepared::Resumed(file) => {
            let namesakes = if new { vec![] } else { namesakes(mine.files(api).await?, &file) };
            (file, namesakes)
        }
        Prepared::New(up) if new => (transfer::send(api, &ctx.paths, up, opts).await?, vec![]),
        Prepared::New(up) => {
            let (size, crc) = (up.size(), up.crc32c());
            let there = mine.files(api).await?.iter().find(|f| f["name"] == name && same_contents(f, size, crc));
            if let Some(f) = there {
                return Ok(Put::AlreadyThere { file: f.clone(), local: path.to_owned() });
            }
            let file = transfer::send(api, &ctx.paths, up, opts).await?;
            (file.clone(), namesakes(mine.files(api).await?, &file))
        }
    };
    if let Some(files) = mine.files.as_mut().filter(|fs| !fs.iter().any(|f| f["id"] == file["id"])) {
        files.push(file.clone());
    }
    Ok(Put::Uploaded { file, namesakes })
}

/// The other files in `mine` with `file`'s name.
fn namesakes(mine: &[Value], file: &Value) -> Vec<Value> {
    mine.iter().filter(|f| f["name"] == file["name"] && f["id"] != file["id"]).cloned().collect()
}

pub fn uploaded_line(f: &Value) -> String {
    format!(
        "uploaded {} ({}) id {}",
        f["name"].as_str().unwrap_or("?"),
        format::size(f["size"].as_u64().unwrap_or(0)),
        f["id"].as_str().unwrap_or("?")
    )
}

pub async fn put(
    ctx: &Ctx,
    files: &[PathBuf],
    name: Option<&str>,
    new: bool,
    limit_rate: Option<u64>,
    json_out: bool,
) -> Result<()> {
    if name.is_some() && files.len() > 1 {
        return Err(CliError::usage("--name works with one file at a time"));
    }
    let api = ctx.api()?;
    let opts = Options::new(limit_rate, ctx.quiet)?;
    let mut mine = Mine::default();
    let mut first_error = None;
    let mut done = Vec::new();
    for path in files {
        match put_one(ctx, &api, path, name, new, &mut mine, &opts).await {
            Ok(p) => {
                match &p {
                    // Nothing happened to it: said on stderr, so that
                    // standard output lists what was uploaded.
                    Put::AlreadyThere { .. } => eprintln!("{}", p.line()),
                    Put::Uploaded { .. } if !json_out => println!("{}", p.line()),
                    Put::Uploaded { .. } => {}
                }
                if let Some(note) = p.namesake_note() {
                    opts.say(note);
                }
                done.push(p.json());
            }
            Err(e) if files.len() > 1 => {
                eprintln!("livedrop: {e}");
                first_error.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&json!({ "files": done })).unwrap_or_default());
    }
    first_error.map_or(Ok(()), Err)
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

pub async fn get(ctx: &Ctx, spec: &str, output: Option<&Path>, force: bool, limit_rate: Option<u64>) -> Result<()> {
    let api = ctx.api()?;
    let opts = Options::new(limit_rate, ctx.quiet)?;
    let f = resolve(&api, spec, true).await?;
    let name = str_field(&f, "name")?.to_owned();
    let dest = destination(output, &name, force);
    let shown = match &dest {
        Dest::File { path, .. } => Some(path.clone()),
        Dest::Stdout => None,
    };
    get_file(ctx, &api, &f, dest, &opts).await?;
    if let Some(p) = shown {
        println!("saved {name} ({}) to {}", format::size(f["size"].as_u64().unwrap_or(0)), p.display());
    }
    Ok(())
}

pub async fn rm(ctx: &Ctx, specs: &[String]) -> Result<()> {
    let api = ctx.api()?;
    for spec in specs {
        let f = resolve(&api, spec, false).await?;
        api.delete(&format!("/api/files/{}", seg(str_field(&f, "id")?))).await?;
        println!("deleted {}", f["name"].as_str().unwrap_or(spec));
    }
    Ok(())
}

pub async fn mv(ctx: &Ctx, spec: &str, new_name: &str) -> Result<()> {
    let api = ctx.api()?;
    let f = resolve(&api, spec, false).await?;
    let r = api.patch(&format!("/api/files/{}", seg(str_field(&f, "id")?)), &json!({ "name": new_name })).await?;
    println!("renamed {} to {}", f["name"].as_str().unwrap_or(spec), r["file"]["name"].as_str().unwrap_or(new_name));
    Ok(())
}

pub async fn share(ctx: &Ctx, spec: &str, emails: &[String]) -> Result<()> {
    let api = ctx.api()?;
    let f = resolve(&api, spec, false).await?;
    let (id, name) = (str_field(&f, "id")?, str_field(&f, "name")?);
    for email in emails {
        let r = api.post(&format!("/api/files/{}/shares", seg(id)), &json!({ "email": email })).await?;
        let s = &r["share"];
        let who = s["email"].as_str().unwrap_or(email);
        if let Some(path) = s["invite_url"].as_str() {
            let link = api.base.join(path).map(String::from).unwrap_or_else(|_| path.to_owned());
            println!("shared {name} with {who} (no confirmed account yet, and this server sends no e-mail)");
            println!("  send them this invitation link yourself; whoever opens it signed in as {who} gets the file:");
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
    let f = resolve(&api, spec, false).await?;
    let (id, name) = (str_field(&f, "id")?, str_field(&f, "name")?);
    for email in emails {
        api.delete(&format!("/api/files/{}/shares/{}", seg(id), seg(email.trim()))).await?;
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
    let f = resolve(&api, spec, false).await?;
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
    let r = api.post(&format!("/api/files/{}/links", seg(str_field(&f, "id")?)), &body).await?;
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
    let size = u64_field(&info, "size")?;
    if o.info {
        println!("{name} ({})", format::size(size));
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
