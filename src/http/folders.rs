//! The folder handlers: `/api/folders` and `/api/resolve`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{AppState, Authed, Json, Rechecked, folder_ids, nullable};
use crate::domain::{Email, FileId, FileName, FolderId};
use crate::error::{Error, Result};
use crate::service::{FolderChange, Selection};
use crate::store::Entry;

type Reply = Result<Response>;

#[derive(Deserialize)]
pub struct NewFolder {
    name: String,
    /// Absent or `null`: at the top.
    #[serde(default)]
    parent_id: Option<String>,
}

#[derive(Deserialize)]
pub struct FolderPatch {
    #[serde(default, deserialize_with = "nullable")]
    name: Option<Option<String>>,
    /// A folder id, or `null` for the top; absent: where it is.
    #[serde(default, deserialize_with = "nullable")]
    parent_id: Option<Option<String>>,
}

fn parent_of(q: &HashMap<String, String>) -> Result<Option<FolderId>> {
    q.get("parent").map(|p| FolderId::parse(p)).transpose()
}

pub async fn list(State(state): State<AppState>, Authed(p): Authed, Query(q): Query<HashMap<String, String>>) -> Reply {
    let parent = parent_of(&q)?;
    let folders = match (q.get("scope").map(String::as_str), &parent) {
        (None | Some("mine" | "shared"), Some(_)) | (None | Some("mine"), None) => {
            state.service.folders_in(&p.user, parent.as_ref()).await?
        }
        (Some("shared"), None) => state.service.shared_folders(&p.user).await?,
        (Some(_), _) => return Err(Error::InvalidRequest("scope must be `mine` or `shared`".into())),
    };
    Ok(axum::Json(json!({ "folders": folders })).into_response())
}

pub async fn create(State(state): State<AppState>, Authed(p): Authed, Json(n): Json<NewFolder>) -> Reply {
    let parent = n.parent_id.as_deref().map(FolderId::parse).transpose()?;
    let folder = state.service.create_folder(&p.user, parent, FileName::parse(&n.name)?).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "folder": folder }))).into_response())
}

pub async fn get(State(state): State<AppState>, Authed(p): Authed, Path(id): Path<String>) -> Reply {
    let id = FolderId::parse(&id)?;
    let view = state.service.folder(&p.user, &id).await?;
    let mut body = json!({ "folder": view.folder, "path": view.path });
    if view.folder.owner_id == p.user.id {
        body["shares"] = json!(state.service.folder_shares(&p.user, &id).await?);
    }
    Ok(axum::Json(body).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    Authed(p): Authed,
    Path(id): Path<String>,
    Json(c): Json<FolderPatch>,
) -> Reply {
    if c.name.is_none() && c.parent_id.is_none() {
        return Err(Error::InvalidRequest("give the folder a new `name`, a `parent_id`, or both".into()));
    }
    let change = FolderChange { name: super::new_name(c.name)?, parent: folder_ids(c.parent_id)? };
    let folder = state.service.update_folder(&p.user, &FolderId::parse(&id)?, change).await?;
    Ok(axum::Json(json!({ "folder": folder })).into_response())
}

pub async fn delete(State(state): State<AppState>, Rechecked(p): Rechecked, Path(id): Path<String>) -> Reply {
    let deleted = state.service.delete_folder(&p.user, &FolderId::parse(&id)?).await?;
    Ok(axum::Json(json!({ "deleted": deleted })).into_response())
}

/// The longest path `/api/resolve` takes: Linux's PATH_MAX, in characters.
pub const MAX_PATH_CHARS: usize = 4096;

/// What a path names among the caller's files and folders.
pub async fn resolve(
    State(state): State<AppState>,
    Authed(p): Authed,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    let path = q.get("path").ok_or_else(|| Error::InvalidRequest("path is required".into()))?;
    // Counted in characters, as the schema's maxLength counts them. At most
    // 12 bytes each once percent-encoded, a path this long keeps the request
    // line well under hyper's 64 KiB, past which it would answer a bodiless 414.
    if path.chars().count() > MAX_PATH_CHARS {
        return Err(Error::InvalidRequest(format!("path is longer than {MAX_PATH_CHARS} characters")));
    }
    let body = match state.service.resolve(&p.user, path).await? {
        None => json!({ "kind": "top" }),
        Some(Entry::Folder(f)) => json!({ "kind": "folder", "folder": f }),
        Some(Entry::File(f)) => json!({ "kind": "file", "file": f }),
    };
    Ok(axum::Json(body).into_response())
}

/// A page of what a ZIP of the folder holds, with signed URLs.
pub async fn archive(
    State(state): State<AppState>,
    Authed(p): Authed,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Reply {
    #[derive(serde::Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Body {
        cursor: Option<String>,
        #[serde(default)]
        again: bool,
    }
    let b: Body = super::api::optional_body(&body)?;
    // An empty cursor is none: the first page.
    let cursor = b.cursor.as_deref().filter(|c| !c.is_empty());
    let page = state.service.archive_page(&p.user, &FolderId::parse(&id)?, cursor, b.again).await?;
    Ok(axum::Json(page).into_response())
}

/// `POST /api/archive`: a page of what a ZIP of some files and folders of
/// one folder holds, with signed URLs (as a folder's archive).
pub async fn selection_archive(
    State(state): State<AppState>,
    Authed(p): Authed,
    Json(b): Json<SelectionBody>,
) -> Reply {
    let selection = Selection {
        files: b.files.iter().map(|id| FileId::parse(id)).collect::<Result<_>>()?,
        folders: b.folders.iter().map(|id| FolderId::parse(id)).collect::<Result<_>>()?,
    };
    let cursor = b.cursor.as_deref().filter(|c| !c.is_empty());
    let page = state.service.selection_archive(&p.user, &selection, cursor, b.again).await?;
    Ok(axum::Json(page).into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectionBody {
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    folders: Vec<String>,
    cursor: Option<String>,
    #[serde(default)]
    again: bool,
}

pub async fn links(State(state): State<AppState>, Authed(p): Authed, Path(id): Path<String>) -> Reply {
    let links = state.service.folder_links(&p.user, &FolderId::parse(&id)?).await?;
    Ok(axum::Json(json!({ "links": links })).into_response())
}

pub async fn create_link(
    State(state): State<AppState>,
    Rechecked(p): Rechecked,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Reply {
    let new = super::api::new_link(&body)?;
    let (link, token) = state.service.create_folder_link(&p.user, &FolderId::parse(&id)?, new).await?;
    super::api::link_created(link, token)
}

pub async fn share(
    State(state): State<AppState>,
    Rechecked(p): Rechecked,
    Path(id): Path<String>,
    Json(s): Json<super::api::ShareWith>,
) -> Reply {
    let share = state.service.share_folder(&p.user, &FolderId::parse(&id)?, Email::parse(&s.email)?).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({ "share": share }))).into_response())
}

pub async fn unshare(
    State(state): State<AppState>,
    Rechecked(p): Rechecked,
    Path((id, email)): Path<(String, String)>,
) -> Reply {
    let email = Email::parse(&email).map_err(|_| Error::not_found("share"))?;
    state.service.unshare_folder(&p.user, &FolderId::parse(&id)?, email).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
