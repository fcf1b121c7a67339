//! The `livedrop` command-line client: a client of any livedrop
//! deployment, for people who live in a terminal.
//!
//! # Layout
//!
//! - `mod.rs`: the commands and their options (clap), and `run`, which
//!   `main.rs` calls.
//! - `error`: `CliError` and the exit codes scripts can rely on.
//! - `config`: the config directory: logins (mode 0600) and the state of
//!   unfinished transfers.
//! - `client`: the HTTP client for the API and for signed blob URLs.
//! - `auth`: `signup`, `login`, `logout`, `whoami` (self-hosted: password
//!   once, then a revocable API token; cloud: Firebase Auth).
//! - `firebase`: Firebase Auth's REST API: password sign-in and sign-up,
//!   refreshing ID tokens.
//! - `transfer`: resumable uploads and downloads with progress bars.
//! - `files`: `ls`, `put`, `get`, `share`, `unshare`, `link`, `links`,
//!   `revoke`, `open`.
//! - `folders`: `mkdir`, `mv`, `rm` (files and folders).
//! - `paths`: what a path (`Trip/day 1/img1.jpg`), a name or an id names;
//!   making the folders along a path.
//! - `tree`: `put -r` and `get -r`, a directory tree each way.
//! - `watch`: the live feed in the terminal.
//! - `shell`: the interactive session (`LIST`, `UPLOAD`, `DOWNLOAD`, ...).
//! - `sweep`: `livedrop sweep`, the server's reconcile sweep run by hand.
//! - `format`: sizes, durations, times, tables.

mod auth;
mod client;
mod config;
mod error;
mod files;
mod firebase;
mod folders;
mod format;
mod paths;
mod shell;
mod sweep;
mod transfer;
mod tree;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use client::{Api, Auth, normalize_server, server_key};
use config::{Login, Paths};
pub use error::EXIT_CODES_HELP;
use error::{CliError, Exit, Result};

/// Options every client command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct Conn {
    /// The livedrop server, e.g. http://127.0.0.1:8080 (default: the one you logged in to last).
    #[arg(long, env = "LIVEDROP_SERVER")]
    server: Option<String>,
    /// No progress bars or notes on stderr; only results and errors.
    #[arg(long, short)]
    quiet: bool,
}

fn parse_size_arg(s: &str) -> std::result::Result<u64, String> {
    format::parse_size(s).map_err(|e| e.message)
}

fn parse_duration_arg(s: &str) -> std::result::Result<u64, String> {
    format::parse_duration(s).map_err(|e| e.message)
}

/// The client commands, flattened into `livedrop`'s own.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Create an account on a server and sign in.
    Signup {
        #[command(flatten)]
        conn: Conn,
        /// Your account's e-mail address.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Sign in to a server; what is kept is a revocable API token (self-hosted) or a Firebase login (cloud), never the password.
    Login {
        #[command(flatten)]
        conn: Conn,
        /// Your account's e-mail address.
        #[arg(long, required_unless_present = "with_token")]
        email: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Sign in with an API token made in the web app (self-hosted), read from standard input.
        #[arg(long, conflicts_with_all = ["email", "password_stdin"])]
        with_token: bool,
    },
    /// Sign out: forget this computer's login (and revoke its token, self-hosted).
    Logout {
        #[command(flatten)]
        conn: Conn,
    },
    /// Who you are signed in as, and how much space you use.
    Whoami {
        #[command(flatten)]
        conn: Conn,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Confirm your e-mail address with the link from a livedrop letter or an invitation (self-hosted).
    ///
    /// Until you do, nothing shared with your address reaches you. Give the
    /// whole link, or just its token.
    Verify {
        #[command(flatten)]
        conn: Conn,
        /// The link (`https://…/verify/?token=…`) or its token.
        link: String,
    },
    /// List your folders and files (at the top, or in FOLDER), and what is shared with you.
    ///
    /// Folders come first, marked with a `/`. At the top, the folders and
    /// files shared with you follow; a folder shared with you is named by
    /// the path you see it under (`ls "Trip/day 1"`). `--json` prints
    /// `folder`, `folders`, `files`, `shared_folders` and `shared`.
    Ls {
        #[command(flatten)]
        conn: Conn,
        /// A folder: its path (`Trip/day 1`) or id; the top if left out.
        folder: Option<String>,
        /// Only your own files.
        #[arg(long, conflicts_with = "shared")]
        mine: bool,
        /// Only files shared with you.
        #[arg(long)]
        shared: bool,
        #[arg(long, value_enum, default_value = "name")]
        sort: files::Sort,
        /// Reverse the order.
        #[arg(long, short)]
        reverse: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Upload files (and with -r directories); one already there is skipped, and an interrupted upload continues on the next run.
    ///
    /// A file is already there when one of your own files in the folder it
    /// goes to has its name, its size and its CRC32C: it is skipped (exit
    /// 0), said so on stderr, and `--json` lists it with `"skipped": true`.
    /// A file of the same name with other contents is uploaded beside the
    /// old one as "name (2).ext", with a note giving both ids; `--replace`
    /// replaces the old one instead. An interrupted upload of the same file
    /// continues where it stopped.
    ///
    /// With -r, a directory becomes a folder of its name (in --to FOLDER,
    /// or at the top) with its folders and files, under one overall
    /// progress line; symlinks in it are passed over, and said so. Running
    /// the same command again sends only what is not there yet.
    Put {
        #[command(flatten)]
        conn: Conn,
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Into this folder: a path (`Trip/day 1`) or id; made, with the folders above it, if missing.
        #[arg(long, value_name = "FOLDER")]
        to: Option<String>,
        /// Upload directories with everything in them, as folders.
        #[arg(long, short)]
        recursive: bool,
        /// If the name is taken in the folder, replace that file (by default both are kept: "name (2).ext").
        #[arg(long)]
        replace: bool,
        /// Upload under another name (one file only).
        #[arg(long)]
        name: Option<String>,
        /// Upload even a file that is already there: a second copy ("name (2).ext", or with --replace in its place).
        #[arg(long)]
        new: bool,
        /// At most this many bytes per second, e.g. 10MiB.
        #[arg(long, value_parser = parse_size_arg)]
        limit_rate: Option<u64>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Download a file by path, name or id (with -r a folder); resumes a partial download, verifies the checksum.
    ///
    /// With -r, FOLDER with everything in it goes to DIR/<its name>/ (-o
    /// DIR, else here), its folders made as directories, under one overall
    /// progress line. A file already there with the same size and checksum
    /// is skipped, one with other contents is left as it is (an error)
    /// unless --force: running the same command again finishes a cut one.
    Get {
        #[command(flatten)]
        conn: Conn,
        /// The file's path (`Trip/day 1/img1.jpg`), name or id; with -r a folder.
        file: String,
        /// Where to save it: a path, a directory, or - for standard output; with -r the directory the folder goes in.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Overwrite an existing file.
        #[arg(long, short)]
        force: bool,
        /// Download a folder with everything in it.
        #[arg(long, short)]
        recursive: bool,
        /// At most this many bytes per second, e.g. 10MiB.
        #[arg(long, value_parser = parse_size_arg)]
        limit_rate: Option<u64>,
    },
    /// Delete files (with their shares and links), and with -r folders with everything in them.
    Rm {
        #[command(flatten)]
        conn: Conn,
        /// Paths (`Trip/notes.txt`), names or ids.
        #[arg(required = true)]
        files: Vec<String>,
        /// Delete folders too, with every folder and file in them.
        #[arg(long, short)]
        recursive: bool,
    },
    /// Rename or move files and folders, like mv.
    ///
    /// If DEST is a folder (or /, the top), SRC goes into it under its own
    /// name (several SRC too). Otherwise DEST's last name is SRC's new name
    /// and what is above it the folder it goes in: `mv Trip/a.jpg
    /// Trip/b.jpg` renames, `mv a.jpg Trip/` moves, `mv a.jpg Trip/b.jpg`
    /// does both. A name taken there, or a folder into itself, is refused
    /// (exit 9).
    Mv {
        #[command(flatten)]
        conn: Conn,
        /// SRC... DEST: paths, names or ids.
        #[arg(required = true, num_args = 2.., value_name = "SRC... DEST")]
        paths: Vec<String>,
    },
    /// Make folders, with the folders above them that are missing (like mkdir -p).
    Mkdir {
        #[command(flatten)]
        conn: Conn,
        /// Paths such as `Trip/day 1`.
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Share a file, or a folder with everything in it, with people by e-mail (they need not have an account yet).
    Share {
        #[command(flatten)]
        conn: Conn,
        file: String,
        #[arg(required = true)]
        emails: Vec<String>,
    },
    /// Stop sharing a file or a folder with people.
    Unshare {
        #[command(flatten)]
        conn: Conn,
        file: String,
        #[arg(required = true)]
        emails: Vec<String>,
    },
    /// Make a public link to a file, or to a folder with everything in it; prints its URL.
    Link {
        #[command(flatten)]
        conn: Conn,
        file: String,
        /// The link stops working after this long: 30m, 12h, 7d, 2w.
        #[arg(long, value_parser = parse_duration_arg)]
        expires: Option<u64>,
        /// Protect the link with a password (asked for).
        #[arg(long)]
        password: bool,
        /// Protect the link with the password on the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// The link stops working after this many downloads.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        max_downloads: Option<u64>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the public links of a file, or of all your files.
    Links {
        #[command(flatten)]
        conn: Conn,
        file: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke public links by id (see `livedrop links`).
    Revoke {
        #[command(flatten)]
        conn: Conn,
        #[arg(required = true)]
        links: Vec<String>,
    },
    /// Download through a public link, without signing in.
    Open {
        #[command(flatten)]
        conn: Conn,
        /// The link (https://host/s/TOKEN), or its token with --server.
        link: String,
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[arg(long, short)]
        force: bool,
        /// Read the link's password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Only show what the link is (name, size, terms); download nothing.
        #[arg(long)]
        info: bool,
        #[arg(long, value_parser = parse_size_arg)]
        limit_rate: Option<u64>,
    },
    /// Watch changes to your files, shares and activity live.
    Watch {
        #[command(flatten)]
        conn: Conn,
        /// Print each feed message as a JSON line.
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Stop after this many changes.
        #[arg(long)]
        count: Option<u64>,
    },
    /// An interactive session: LIST [folder], UPLOAD <file>, DOWNLOAD <file>, HELP, EXIT (also from a pipe).
    Shell {
        #[command(flatten)]
        conn: Conn,
    },
    /// Run the server's sweep now: remove abandoned uploads, orphan objects and stale upload sessions.
    ///
    /// The sweep the server's scheduler runs anyway (Vercel Cron, or `livedrop
    /// serve`'s own), by hand, against either backend. It needs no login: the
    /// server's CRON_SECRET is the permission, read from the CRON_SECRET
    /// variable or, with --secret-stdin, from standard input. A server without
    /// CRON_SECRET set does not sweep on request (exit 4); a wrong secret
    /// exits 3.
    Sweep {
        #[command(flatten)]
        conn: Conn,
        /// Read the server's CRON_SECRET from the first line of standard input.
        #[arg(long)]
        secret_stdin: bool,
        /// Print the server's answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What every command needs: where the config lives and which server.
pub(crate) struct Ctx {
    paths: Paths,
    server: Option<String>,
    quiet: bool,
}

impl Ctx {
    fn new(conn: &Conn) -> Result<Self> {
        Ok(Self { paths: Paths::locate()?, server: conn.server.clone(), quiet: conn.quiet })
    }

    /// `--server`, else the server of the last login.
    fn server_url(&self) -> Result<reqwest::Url> {
        if let Some(s) = &self.server {
            return normalize_server(s);
        }
        match self.paths.load_credentials()?.default_server {
            Some(s) => normalize_server(&s),
            None => Err(CliError::new(Exit::Auth, "not signed in to any livedrop server")
                .hint("run `livedrop login --server URL --email you@example.com`")),
        }
    }

    /// A client signed in to the server: with `$LIVEDROP_TOKEN` if set,
    /// else with the stored login.
    fn api(&self) -> Result<Api> {
        let url = self.server_url()?;
        if let Some(t) = std::env::var("LIVEDROP_TOKEN").ok().filter(|t| !t.trim().is_empty()) {
            return Ok(Api::new(url, Auth::Bearer(t.trim().to_owned())));
        }
        let key = server_key(&url);
        match self.paths.load_credentials()?.servers.remove(&key) {
            Some(Login::ApiToken { token, .. }) => Ok(Api::new(url, Auth::Bearer(token))),
            Some(Login::Firebase { user_id, api_key, emulator, refresh_token, id_token, expires_at, .. }) => {
                let project = firebase::Project { api_key, emulator };
                let tokens = firebase::Tokens { user_id, id_token, refresh_token, expires_at };
                let session = firebase::Session::new(project, tokens, self.keep_refreshed(key));
                Ok(Api::new(url, Auth::Firebase(session)))
            }
            None => Err(CliError::new(Exit::Auth, format!("not signed in to {key}"))
                .hint(format!("run `livedrop login --server {key} --email you@example.com`"))),
        }
    }

    /// Stores a cloud login's refreshed tokens, so the next command starts
    /// with them. Best effort: if it fails, the next command refreshes again.
    fn keep_refreshed(&self, key: String) -> firebase::OnRefresh {
        let paths = self.paths.clone();
        Box::new(move |fresh: &firebase::Tokens| {
            let Ok(mut creds) = paths.load_credentials() else { return };
            if let Some(Login::Firebase { user_id, refresh_token, id_token, expires_at, .. }) =
                creds.servers.get_mut(&key)
            {
                // Only the same person's login: another may have replaced it meanwhile.
                if *user_id == fresh.user_id {
                    *refresh_token = fresh.refresh_token.clone();
                    *id_token = fresh.id_token.clone();
                    *expires_at = fresh.expires_at;
                    let _ = paths.save_credentials(&creds);
                }
            }
        })
    }
}

async fn dispatch(cmd: Command) -> Result<u8> {
    use Command::*;
    let conn = match &cmd {
        Signup { conn, .. }
        | Login { conn, .. }
        | Logout { conn }
        | Whoami { conn, .. }
        | Verify { conn, .. }
        | Ls { conn, .. }
        | Put { conn, .. }
        | Get { conn, .. }
        | Rm { conn, .. }
        | Mv { conn, .. }
        | Mkdir { conn, .. }
        | Share { conn, .. }
        | Unshare { conn, .. }
        | Link { conn, .. }
        | Links { conn, .. }
        | Revoke { conn, .. }
        | Open { conn, .. }
        | Watch { conn, .. }
        | Shell { conn }
        | Sweep { conn, .. } => conn.clone(),
    };
    let ctx = Ctx::new(&conn)?;
    match cmd {
        Signup { email, password_stdin, .. } => auth::sign_in(&ctx, &email, password_stdin, true).await?,
        Login { with_token: true, .. } => auth::sign_in_with_token(&ctx).await?,
        Login { email, password_stdin, .. } => {
            let email = email.ok_or_else(|| CliError::usage("pass --email (or --with-token)"))?;
            auth::sign_in(&ctx, &email, password_stdin, false).await?
        }
        Logout { .. } => auth::logout(&ctx).await?,
        Whoami { json, .. } => auth::whoami(&ctx, json).await?,
        Verify { link, .. } => auth::verify(&ctx, &link).await?,
        Ls { folder, mine, shared, sort, reverse, json, .. } => {
            files::ls(&ctx, files::LsOptions { folder, mine, shared, sort, reverse, json }).await?
        }
        Put { files, to, recursive, replace, name, new, limit_rate, json, .. } => {
            let o = files::PutOptions { files, name, new, to, recursive, replace, limit_rate, json };
            files::put(&ctx, o).await?
        }
        Get { file, output, force, recursive, limit_rate, .. } => {
            files::get(&ctx, &file, output.as_deref(), force, recursive, limit_rate).await?
        }
        Rm { files: f, recursive, .. } => folders::rm(&ctx, &f, recursive).await?,
        Mv { paths, .. } => folders::mv(&ctx, &paths).await?,
        Mkdir { paths, .. } => folders::mkdir(&ctx, &paths).await?,
        Share { file, emails, .. } => files::share(&ctx, &file, &emails).await?,
        Unshare { file, emails, .. } => files::unshare(&ctx, &file, &emails).await?,
        Link { file, expires, password, password_stdin, max_downloads, json, .. } => {
            let o = files::LinkOptions { expires, password, password_stdin, max_downloads, json };
            files::link(&ctx, &file, o).await?
        }
        Links { file, json, .. } => files::links(&ctx, file.as_deref(), json).await?,
        Revoke { links, .. } => files::revoke(&ctx, &links).await?,
        Open { link, output, force, password_stdin, info, limit_rate, .. } => {
            let o = files::OpenOptions { output, force, password_stdin, info, limit_rate };
            files::open(&ctx, &link, o).await?
        }
        Watch { json, count, .. } => watch::watch(&ctx, json, count).await?,
        Shell { .. } => return shell::run(&ctx).await,
        Sweep { secret_stdin, json, .. } => sweep::sweep(&ctx, secret_stdin, json).await?,
    }
    Ok(0)
}

/// Runs one client command on a runtime of its own: a single thread, so
/// that the bytes of a transfer stay on one core from the socket to the
/// disk (measured faster than a multi-threaded runtime; files are read and
/// checksummed on threads of their own).
pub fn main(cmd: Command) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(run(cmd)),
        Err(e) => {
            eprintln!("livedrop: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one client command; errors go to stderr as `livedrop: ...` and
/// become the documented exit codes.
pub async fn run(cmd: Command) -> ExitCode {
    match dispatch(cmd).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("livedrop: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
