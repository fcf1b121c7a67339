//! The commands of the tree: `mkdir`, and `mv` and `rm`, which take files
//! and folders alike.

use reqwest::Method;
use serde_json::{Value, json};

use super::Ctx;
use super::client::{Api, seg, str_field};
use super::error::{CliError, Exit, Result};
use super::files::quoted;
use super::paths::{self, Entry, child_label};

/// `mkdir PATH...`: each folder with the folders above it that are missing.
pub async fn mkdir(ctx: &Ctx, specs: &[String]) -> Result<()> {
    let api = ctx.api()?;
    for spec in specs {
        if paths::names(spec)?.is_empty() {
            return Err(CliError::usage("name a folder to make, e.g. 'Trip/day 1'"));
        }
        let (folder, made) = paths::make_folders(&api, spec).await?;
        if made.is_empty() {
            let id = folder.as_ref().map(paths::id_of).transpose()?;
            println!("{} already exists", paths::folder_label(&api, id.as_deref()).await?);
        }
        for m in made {
            println!("created folder {m}");
        }
    }
    Ok(())
}

/// Where a file or folder is, as a path from the top.
async fn label_of(api: &Api, e: &Entry) -> Result<String> {
    let (record, parent) = match e {
        Entry::File(f) => (f, "folder_id"),
        Entry::Folder(f) => (f, "parent_id"),
        Entry::Top => return Ok(String::new()),
    };
    let name = str_field(record, "name")?;
    match paths::folder_label(api, record[parent].as_str()).await {
        Ok(above) => Ok(child_label(&above, name)),
        // Someone else's folder (a file shared with you): its name will do.
        Err(e) if e.exit == Exit::NotFound => Ok(name.to_owned()),
        Err(e) => Err(e),
    }
}

/// What `mv` and `rm` take: a file or a folder, never the top.
async fn thing(api: &Api, spec: &str, verb: &str) -> Result<Entry> {
    match paths::entry(api, spec, false).await? {
        Entry::Top => Err(CliError::usage(format!("the top is not something to {verb}: name a file or a folder"))),
        e => Ok(e),
    }
}

/// `mv SRC... DEST`, as `mv` does it: into DEST if it is a folder (or `/`,
/// the top), keeping the names; else (one SRC) to DEST's last name in the
/// folder above it: renamed, moved, or both.
pub async fn mv(ctx: &Ctx, args: &[String]) -> Result<()> {
    let Some((dest, srcs)) = args.split_last().filter(|(_, s)| !s.is_empty()) else {
        return Err(CliError::usage("usage: livedrop mv SRC... DEST"));
    };
    let api = ctx.api()?;
    let mut things = Vec::new();
    for src in srcs {
        things.push(thing(&api, src, "move").await?);
    }
    let names = paths::names(dest)?;
    let into = match paths::find(&api, dest, false).await? {
        Some(Entry::Top) => Some(None),
        // `mv Box BOX`: the folder itself in other letters is a new name for
        // it (the same name is into itself, refused as `mv` does).
        Some(Entry::Folder(f))
            if matches!(things.as_slice(), [Entry::Folder(s)]
                if s["id"] == f["id"] && !dest.ends_with('/') && names.last().is_some_and(|n| s["name"] != *n)) =>
        {
            None
        }
        Some(Entry::Folder(f)) => Some(Some(f)),
        Some(Entry::File(_)) | None => None,
    };
    if let Some(folder) = into {
        for e in &things {
            place_entry(&api, e, None, folder.as_ref()).await?;
        }
        return Ok(());
    }
    if things.len() > 1 || dest.ends_with('/') {
        return match paths::find(&api, dest, false).await? {
            Some(Entry::File(_)) => {
                Err(CliError::usage(format!("'{dest}' is a file, not a folder to move things into")))
            }
            _ => Err(paths::nothing_at(&api, dest, "folder").await),
        };
    }
    let Some((name, above)) = names.split_last() else {
        return Err(CliError::usage("name where it goes: a folder, or a new name"));
    };
    let parent = if above.is_empty() {
        None
    } else {
        match paths::lookup(&api, above).await? {
            Some(Entry::Folder(f)) => Some(f),
            Some(Entry::Top) => None,
            Some(Entry::File(_)) => {
                return Err(CliError::conflict(format!("'{}' is a file, not a folder", above.join("/"))));
            }
            None => return Err(paths::nothing_at(&api, &above.join("/"), "folder").await),
        }
    };
    place_entry(&api, &things[0], Some(name), parent.as_ref()).await
}

/// Renames `e` to `name` (`None`: keeps its name) and/or moves it into
/// `into` (`None`: the top), and says which.
async fn place_entry(api: &Api, e: &Entry, name: Option<&str>, into: Option<&Value>) -> Result<()> {
    let (kind, one, record, parent_field, slash) = match e {
        Entry::File(f) => ("files", "file", f, "folder_id", ""),
        Entry::Folder(f) => ("folders", "folder", f, "parent_id", "/"),
        Entry::Top => return Err(CliError::usage("the top does not move")),
    };
    let id = str_field(record, "id")?;
    let old_name = str_field(record, "name")?;
    let old_parent = record[parent_field].as_str();
    let new_parent = into.map(paths::id_of).transpose()?;
    let mut body = json!({});
    if let Some(n) = name.filter(|n| *n != old_name) {
        body["name"] = json!(n);
    }
    let moved = new_parent.as_deref() != old_parent;
    if moved {
        body[parent_field] = json!(new_parent);
    }
    let from = label_of(api, e).await?;
    if body.as_object().is_none_or(|o| o.is_empty()) {
        println!("{from}{slash} is already there");
        return Ok(());
    }
    let r = api.patch(&format!("/api/{kind}/{}", seg(id)), &body).await?;
    let placed = &r[one];
    let new_name = placed["name"].as_str().unwrap_or(name.unwrap_or(old_name));
    if moved {
        let to = child_label(&paths::folder_label(api, new_parent.as_deref()).await?, new_name);
        let at_top = if new_parent.is_none() { " (at the top)" } else { "" };
        println!("moved {from}{slash} to {to}{slash}{at_top}");
    } else {
        println!("renamed {from}{slash} to {new_name}{slash}");
    }
    Ok(())
}

/// `rm PATH...`: files; folders with `-r`, with everything in them.
pub async fn rm(ctx: &Ctx, specs: &[String], recursive: bool) -> Result<()> {
    let api = ctx.api()?;
    for spec in specs {
        let e = thing(&api, spec, "delete").await?;
        match &e {
            Entry::File(f) => {
                let label = label_of(&api, &e).await?;
                api.delete(&format!("/api/files/{}", seg(str_field(f, "id")?))).await?;
                println!("deleted {label}");
            }
            Entry::Folder(_) if !recursive => {
                return Err(CliError::usage(format!("'{spec}' is a folder"))
                    .hint(format!("`livedrop rm -r {}` deletes it with everything in it", quoted(spec))));
            }
            Entry::Folder(f) => {
                let label = label_of(&api, &e).await?;
                let r = api.call(Method::DELETE, &format!("/api/folders/{}", seg(str_field(f, "id")?)), None).await?;
                let d = r.as_ref().map(|r| &r["deleted"]);
                let count = |k: &str| d.and_then(|d| d[k].as_u64()).unwrap_or(0);
                let folders = count("folders").saturating_sub(1);
                let files = count("files");
                let plural = |n: u64, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
                println!(
                    "deleted folder {label}/ with {} and {} in it",
                    plural(folders, "folder"),
                    plural(files, "file")
                );
            }
            Entry::Top => {}
        }
    }
    Ok(())
}
