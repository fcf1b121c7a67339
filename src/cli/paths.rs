//! Paths: what `Trip/day 1/img1.jpg` names among a person's folders and
//! files (`GET /api/resolve`; the server matches names case-insensitively,
//! as it keeps them unique within a folder), ids, and making the folders
//! along a path (`mkdir -p`).
//!
//! A spec without a `/` is first a name at the top, then an id (of a file
//! you may see, or of one of your folders), then, where files shared with
//! you count, the name of one of those. Where they count, a path that is
//! none of yours goes down a folder shared with you, from its name at your
//! top level as "Shared with me" shows it: `Trip/day 2/img.jpg`.

use serde_json::{Value, json};

use super::client::{Api, seg, str_field};
use super::error::{CliError, Exit, Result};
use super::files::{list_all, list_in};

/// What a spec names.
#[derive(Debug, Clone)]
pub enum Entry {
    /// The top of the person's tree (`/`, or an empty path).
    Top,
    Folder(Value),
    File(Value),
}

pub fn looks_like_id(s: &str) -> bool {
    s.len() >= 16 && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The names along a path: `Trip/day 1/` is `["Trip", "day 1"]`, and `""`
/// or `/` (the top) none. `.` and `..` are no names: paths go down from the
/// top.
pub fn names(spec: &str) -> Result<Vec<&str>> {
    let names: Vec<&str> = spec.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(bad) = names.iter().find(|n| **n == "." || **n == "..") {
        return Err(CliError::usage(format!("'{spec}': '{bad}' is not a name here"))
            .hint("livedrop paths go down from the top, e.g. Trip/day 1/img1.jpg"));
    }
    Ok(names)
}

/// `parent/name`, or `name` at the top (`parent` empty).
pub fn child_label(parent: &str, name: &str) -> String {
    if parent.is_empty() { name.to_owned() } else { format!("{parent}/{name}") }
}

/// Where a folder is, for people: `"the top"` or `"Trip/day 1"`.
pub fn place(label: &str) -> String {
    if label.is_empty() { "the top".to_owned() } else { label.to_owned() }
}

/// What the path of `names` names, `None` if nothing does.
pub async fn lookup(api: &Api, names: &[&str]) -> Result<Option<Entry>> {
    let path = names.join("/");
    match api.get(&format!("/api/resolve?path={}", seg(&path))).await {
        Ok(v) => match v["kind"].as_str() {
            Some("top") => Ok(Some(Entry::Top)),
            Some("folder") => Ok(Some(Entry::Folder(v["folder"].clone()))),
            Some("file") => Ok(Some(Entry::File(v["file"].clone()))),
            _ => Err(CliError::failure(
                "the server's answer has no `kind`; is this a livedrop server of another version?",
            )),
        },
        // A name the server would never give anything names nothing.
        Err(e) if e.exit == Exit::NotFound || e.code.as_deref() == Some("invalid_name") => Ok(None),
        Err(e) => Err(e),
    }
}

/// What `spec` names: a path, an id, or (with `shared`) the name of a file
/// shared with you; `None` if nothing.
pub async fn find(api: &Api, spec: &str, shared: bool) -> Result<Option<Entry>> {
    let path = names(spec)?;
    if path.is_empty() {
        return Ok(Some(Entry::Top));
    }
    if let Some(e) = lookup(api, &path).await? {
        return Ok(Some(e));
    }
    if shared {
        if let Some(e) = shared_lookup(api, &path).await? {
            return Ok(Some(e));
        }
    }
    if spec.contains('/') {
        return Ok(None);
    }
    if looks_like_id(spec) {
        // A file by id may be one shared with you; someone else's is "not found".
        for (what, key) in [("files", "file"), ("folders", "folder")] {
            match api.get(&format!("/api/{what}/{}", seg(spec))).await {
                Ok(v) if key == "file" => return Ok(Some(Entry::File(v["file"].clone()))),
                Ok(v) => return Ok(Some(Entry::Folder(v["folder"].clone()))),
                Err(e) if e.exit == Exit::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    if shared {
        let files = list_all(api, "shared", "name", false).await?;
        let named: Vec<&Value> = files.iter().filter(|f| f["name"].as_str() == Some(spec)).collect();
        match named.as_slice() {
            [one] => return Ok(Some(Entry::File((*one).clone()))),
            [] => {}
            many => {
                let ids: Vec<&str> = many.iter().filter_map(|f| f["id"].as_str()).collect();
                return Err(CliError::usage(format!("{} files shared with you are called '{spec}'", many.len()))
                    .hint(format!("name one by its id: {}", ids.join(", "))));
            }
        }
    }
    Ok(None)
}

/// The folder shared with the person whose name (at their top level) is
/// `name`, if one is; two of that name are a usage error naming their ids.
async fn shared_folder(api: &Api, name: &str) -> Result<Option<Value>> {
    let key = name.to_lowercase();
    let all = api.get("/api/folders?scope=shared").await?["folders"].as_array().cloned().unwrap_or_default();
    let named: Vec<Value> =
        all.into_iter().filter(|f| f["name"].as_str().is_some_and(|n| n.to_lowercase() == key)).collect();
    match named.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        many => {
            let ids: Vec<&str> = many.iter().filter_map(|f| f["id"].as_str()).collect();
            Err(CliError::usage(format!("{} folders shared with you are called '{name}'", many.len()))
                .hint(format!("name one by its id: {}", ids.join(", "))))
        }
    }
}

/// What `names` names inside what is shared with the person: the first is
/// a folder shared with them, the rest go down inside it (folders first, a
/// ready file last), as the owner's names are matched: case-insensitively.
async fn shared_lookup(api: &Api, names: &[&str]) -> Result<Option<Entry>> {
    let Some((first, rest)) = names.split_first() else { return Ok(None) };
    let Some(mut at) = shared_folder(api, first).await? else { return Ok(None) };
    let same = |v: &Value, name: &str| v["name"].as_str().is_some_and(|n| n.to_lowercase() == name.to_lowercase());
    for (i, name) in rest.iter().enumerate() {
        let id = id_of(&at)?;
        if let Some(f) = folders_in(api, Some(&id)).await?.into_iter().find(|f| same(f, name)) {
            at = f;
            continue;
        }
        if i + 1 < rest.len() {
            return Ok(None);
        }
        let files = list_in(api, Some(&id), "name", false, false).await?;
        return Ok(files.into_iter().find(|f| same(f, name) && f["status"] == "ready").map(Entry::File));
    }
    Ok(Some(Entry::Folder(at)))
}

/// The error for nothing at `spec` where what is shared with the person
/// counts: inside a folder shared with them, said so; else `nothing_at`.
async fn nothing_shared_at(api: &Api, spec: &str, what: &str) -> CliError {
    if let Ok([first, _, ..]) = names(spec).as_deref() {
        if lookup(api, &[first]).await.ok().flatten().is_none() {
            if let Ok(Some(_)) = shared_folder(api, first).await {
                let (parent, last) = spec.trim_end_matches('/').rsplit_once('/').unwrap_or(("", spec));
                return CliError::not_found(format!(
                    "no {what} called '{last}' in '{parent}', a folder shared with you"
                ))
                .hint(format!("`livedrop ls '{parent}'` lists what is in it"));
            }
        }
    }
    nothing_at(api, spec, what).await
}

/// The error for nothing at `spec`, saying which part of a path is missing;
/// `what` is "file", "folder" or "file or folder".
pub async fn nothing_at(api: &Api, spec: &str, what: &str) -> CliError {
    let path = match names(spec) {
        Ok(p) => p,
        Err(e) => return e,
    };
    if let [name] = path.as_slice() {
        let msg = if looks_like_id(spec) {
            format!("no {what} called '{name}', and no {what} with that id that you may see")
        } else {
            format!("no {what} called '{name}'")
        };
        return CliError::not_found(msg).hint("`livedrop ls` lists your files and folders, and their ids");
    }
    let whole = path.join("/");
    for i in 1..path.len() {
        let above = path[..i].join("/");
        match lookup(api, &path[..i]).await {
            Ok(Some(Entry::Folder(_))) => {}
            Ok(Some(Entry::File(_))) => {
                return CliError::not_found(format!("no {what} at '{whole}': '{above}' is a file, not a folder"));
            }
            Ok(_) => {
                let parent = path[..i - 1].join("/");
                let hint = if parent.is_empty() {
                    "`livedrop ls` lists what is at the top".to_owned()
                } else {
                    format!("`livedrop ls '{parent}'` lists what is in it")
                };
                return CliError::not_found(format!("no {what} at '{whole}': there is no folder '{above}'")).hint(hint);
            }
            Err(e) => return e,
        }
    }
    let (last, parent) = path.split_last().map(|(l, p)| (*l, p.join("/"))).unwrap_or_default();
    CliError::not_found(format!("no {what} called '{last}' in '{parent}'"))
        .hint(format!("`livedrop ls '{parent}'` lists what is in it"))
}

/// What `spec` names, or a "not found" error.
pub async fn entry(api: &Api, spec: &str, shared: bool) -> Result<Entry> {
    match find(api, spec, shared).await? {
        Some(e) => Ok(e),
        None if shared => Err(nothing_shared_at(api, spec, "file or folder").await),
        None => Err(nothing_at(api, spec, "file or folder").await),
    }
}

/// The file `spec` names, for the commands that take files; a folder is a
/// usage error, with `folder_hint`.
pub async fn file(api: &Api, spec: &str, shared: bool, folder_hint: &str) -> Result<Value> {
    match find(api, spec, shared).await? {
        Some(Entry::File(f)) => Ok(f),
        Some(Entry::Folder(_)) => Err(CliError::usage(format!("'{spec}' is a folder, not a file")).hint(folder_hint)),
        Some(Entry::Top) => Err(CliError::usage("name a file: a path such as Trip/notes.txt, a name or an id")),
        None if shared => Err(nothing_shared_at(api, spec, "file").await),
        None => Err(nothing_at(api, spec, "file").await),
    }
}

/// The id of a folder record.
pub fn id_of(folder: &Value) -> Result<String> {
    str_field(folder, "id").map(str::to_owned)
}

/// Where a folder is, as a path from the top: `Trip/day 1` (`""` for the top).
pub async fn folder_label(api: &Api, id: Option<&str>) -> Result<String> {
    let Some(id) = id else { return Ok(String::new()) };
    let v = api.get(&format!("/api/folders/{}", seg(id))).await?;
    let mut names: Vec<&str> = v["path"].as_array().into_iter().flatten().filter_map(|f| f["name"].as_str()).collect();
    names.push(str_field(&v["folder"], "name")?);
    Ok(names.join("/"))
}

/// The folders directly in `parent` (`None`: the top), by name.
pub async fn folders_in(api: &Api, parent: Option<&str>) -> Result<Vec<Value>> {
    let path = match parent {
        Some(p) => format!("/api/folders?parent={}", seg(p)),
        None => "/api/folders".to_owned(),
    };
    Ok(api.get(&path).await?["folders"].as_array().cloned().unwrap_or_default())
}

/// The folder `name` directly in `parent`, made if there is none; says
/// whether it was made. `label` is its path, for errors.
pub async fn child_folder(api: &Api, parent: Option<&str>, name: &str, label: &str) -> Result<(Value, bool)> {
    match api.post("/api/folders", &json!({ "name": name, "parent_id": parent })).await {
        Ok(v) => Ok((v["folder"].clone(), true)),
        Err(e) if e.code.as_deref() == Some("name_taken") => {
            let key = name.to_lowercase();
            let there = folders_in(api, parent)
                .await?
                .into_iter()
                .find(|f| f["name"].as_str().is_some_and(|n| n.to_lowercase() == key));
            match there {
                Some(f) => Ok((f, false)),
                None => Err(CliError::conflict(format!("'{label}' is a file, not a folder"))
                    .hint("rename or move that file, or choose another folder")),
            }
        }
        Err(e) => Err(e),
    }
}

/// The folder `spec` names (a path or an id; `None`: the top), made with
/// every folder above it that is missing, like `mkdir -p`; also the paths
/// of the folders made, the top first.
pub async fn make_folders(api: &Api, spec: &str) -> Result<(Option<Value>, Vec<String>)> {
    match find(api, spec, false).await? {
        Some(Entry::Top) => return Ok((None, vec![])),
        Some(Entry::Folder(f)) => return Ok((Some(f), vec![])),
        Some(Entry::File(_)) => {
            return Err(CliError::conflict(format!("'{spec}' is a file, not a folder"))
                .hint("rename or move that file, or choose another folder"));
        }
        None => {}
    }
    let path = names(spec)?;
    let mut at: Option<Value> = None;
    let mut made = Vec::new();
    for i in 0..path.len() {
        let parent = at.as_ref().map(id_of).transpose()?;
        let label = path[..=i].join("/");
        let (folder, new) = child_folder(api, parent.as_deref(), path[i], &label).await?;
        if new {
            made.push(label);
        }
        at = Some(folder);
    }
    Ok((at, made))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_names_from_the_top() {
        assert_eq!(names("Trip/day 1/img1.jpg").unwrap(), ["Trip", "day 1", "img1.jpg"]);
        assert_eq!(names("/Trip//day 1/").unwrap(), ["Trip", "day 1"]);
        assert!(names("/").unwrap().is_empty());
        assert!(names("").unwrap().is_empty());
        assert_eq!(names("Trip/../x").unwrap_err().exit, Exit::Usage);
        assert_eq!(child_label("", "a"), "a");
        assert_eq!(child_label("Trip", "a"), "Trip/a");
    }
}
