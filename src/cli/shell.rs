//! `livedrop shell`: an interactive session with the commands of the
//! original socket prototype, also driven from a pipe.
//!
//! ```text
//! LIST [folder]        your folders and files (at the top, or in a folder),
//!                      and the files shared with you
//! UPLOAD [--new] <file> upload a local file (quote names with spaces); one
//!                      already there is skipped, as with `livedrop put`
//! DOWNLOAD <file> [to] download a file by path, name or id into the current directory
//! HELP                 the commands
//! EXIT                 close the session (so does the end of input)
//! ```
//!
//! Commands are case-insensitive. Results go to standard output, errors to
//! standard error as `error: ...`; the session goes on after an error. The
//! exit status is 0 when every command succeeded, else the exit code of the
//! last one that failed.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use tokio::io::AsyncBufReadExt;

use super::Ctx;
use super::client::{Api, str_field};
use super::error::{CliError, Result};
use super::files::{Mine, Sort, Target, destination, get_file, listing, put_one, resolve};
use super::format;
use super::paths::{self, Entry};
use super::transfer::Options;

pub const HELP: &str = "\
Commands (case does not matter; quote names with spaces):
  LIST [folder]           list your folders and files (at the top, or in a folder
                          such as \"Trip/day 1\") and the files shared with you
  UPLOAD [--new] <file>   upload a local file; skipped if it is already there
                          (same name, size and checksum) unless --new
  DOWNLOAD <file> [path]  download a file (by path, name or id) into the current directory, or to path
  HELP                    show this help
  EXIT                    close the session";

async fn execute(ctx: &Ctx, api: &Api, opts: &Options, words: &[String]) -> Result<Option<String>> {
    let (cmd, args) = words.split_first().expect("callers skip empty lines");
    let wrong = |usage: &str| {
        CliError::usage(format!("usage: {usage}")).hint("quote names that contain spaces: UPLOAD \"my file.txt\"")
    };
    let arity = |min: usize, max: usize, usage: &str| {
        if args.len() < min || args.len() > max { Err(wrong(usage)) } else { Ok(()) }
    };
    match cmd.to_ascii_uppercase().as_str() {
        "LIST" | "LS" => {
            arity(0, 1, "LIST [folder]")?;
            let folder = match args.first() {
                None => None,
                Some(spec) => match paths::entry(api, spec, false).await? {
                    Entry::Top => None,
                    Entry::Folder(f) => Some(f),
                    Entry::File(_) => return Err(CliError::usage(format!("'{spec}' is a file, not a folder"))),
                },
            };
            Ok(Some(listing(api, folder, true, true, Sort::Name, false).await?.table()))
        }
        "UPLOAD" | "PUT" => {
            let (flags, files): (Vec<&String>, Vec<&String>) = args.iter().partition(|a| *a == "--new");
            let [file] = files.as_slice() else { return Err(wrong("UPLOAD [--new] <file>")) };
            // Listed afresh for each command: the session may be long, and
            // files come and go from elsewhere meanwhile.
            let mut mine = Mine::default();
            let top = Target::default();
            let put = put_one(ctx, api, Path::new(file), None, !flags.is_empty(), &mut mine, opts, &top).await?;
            if let Some(note) = put.note() {
                opts.say(note);
            }
            Ok(Some(put.line()))
        }
        "DOWNLOAD" | "GET" => {
            arity(1, 2, "DOWNLOAD <file> [path]")?;
            let f = resolve(api, &args[0], true).await?;
            let name = str_field(&f, "name")?.to_owned();
            let out = args.get(1).map(PathBuf::from);
            let dest = destination(out.as_deref(), &name, false);
            let shown = match &dest {
                super::transfer::Dest::File { path, .. } => path.display().to_string(),
                super::transfer::Dest::Stdout => "standard output".into(),
            };
            get_file(ctx, api, &f, dest, opts).await?;
            Ok(Some(format!("saved {name} ({}) to {shown}", format::size(f["size"].as_u64().unwrap_or(0)))))
        }
        "HELP" | "?" => Ok(Some(HELP.to_owned())),
        other => Err(CliError::usage(format!("unknown command '{other}'")).hint("type HELP for the commands")),
    }
}

/// Runs the session; returns its exit status.
pub async fn run(ctx: &Ctx) -> Result<u8> {
    let api = ctx.api()?;
    let me = api.get("/api/me").await?;
    let email = me["user"]["email"].as_str().unwrap_or("?");
    let interactive = std::io::stdin().is_terminal();
    let opts = Options::new(None, ctx.quiet)?;
    println!("livedrop shell: signed in as {email} on {}. Type HELP for the commands, EXIT to leave.", api.server());
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut status = 0u8;
    loop {
        if interactive {
            print!("livedrop> ");
            let _ = std::io::stdout().flush();
        }
        let line = match lines.next_line().await {
            Ok(Some(l)) => l,
            Ok(None) => break,
            Err(e) => {
                eprintln!("error: cannot read the next command: {e}");
                status = 1;
                break;
            }
        };
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let words = match shell_words::split(trimmed) {
            Ok(w) if !w.is_empty() => w,
            Ok(_) => continue,
            Err(_) => {
                eprintln!("error: unbalanced quotes in: {trimmed}");
                status = super::error::Exit::Usage as u8;
                continue;
            }
        };
        if matches!(words[0].to_ascii_uppercase().as_str(), "EXIT" | "QUIT" | "BYE") {
            break;
        }
        match execute(ctx, &api, &opts, &words).await {
            Ok(Some(out)) => println!("{out}"),
            Ok(None) => {}
            Err(e) => {
                eprintln!("error: {e}");
                status = e.exit_code();
            }
        }
    }
    println!("bye");
    Ok(status)
}
