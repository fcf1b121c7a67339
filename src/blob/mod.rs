//! The blob store: where file bytes live, reached only on signed URLs.
//!
//! Shaped like Google Cloud Storage, because the cloud deployment *is* GCS:
//! a signed single `PUT`, a signed `POST` that starts a resumable session,
//! and a signed `GET` that carries its own `Content-Disposition`. The
//! self-hosted store (`disk`) speaks the same protocol on the same port as
//! the API (`http`), so clients have one upload path and one download path.

pub mod disk;
pub mod http;
pub mod signing;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;

use crate::domain::{ContentType, Crc32c, FileId, FileName};
use crate::error::Result;

/// Where and how a client sends bytes.
#[derive(Debug, Clone, Serialize)]
pub struct UploadTarget {
    /// `PUT` for a single request, `POST` (with `x-goog-resumable: start`)
    /// to start a resumable session.
    pub method: &'static str,
    /// Absolute for GCS, relative to the API's origin when self-hosted.
    pub url: String,
    /// Headers the request must carry for the signature to hold.
    pub headers: Vec<(String, String)>,
    pub resumable: bool,
}

/// What the store holds for an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ObjectInfo {
    pub size: u64,
    pub crc32c: Crc32c,
    /// Which write made these bytes (GCS's object generation). Downloads are
    /// signed for it, so that they serve exactly what `complete` verified.
    /// `None` where the store never replaces an object's bytes in place.
    #[serde(skip)]
    pub generation: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Save as a file: always safe.
    Attachment,
    /// Show in the browser: only for `ContentType::is_safe_inline` types.
    Inline,
}

/// What the reconcile sweep finds in the store under a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// The file id the object is named after.
    pub object: FileId,
    /// A tombstone: the name is closed, no bytes.
    pub tombstone: bool,
    /// When the store wrote it.
    pub written_at: Timestamp,
}

/// One page of `BlobStore::list_objects`.
#[derive(Debug, Clone, Default)]
pub struct ObjectPage {
    pub objects: Vec<StoredObject>,
    /// Where the next page starts, if there is one.
    pub next: Option<String>,
}

/// Where file bytes live.
///
/// **An upload target takes bytes only while its file is pending.** Every
/// upload URL this store signs is create-only: it cannot write a name that
/// already holds an object (what GCS enforces with
/// `x-goog-if-generation-match: 0`), nor more than the declared size. A
/// complete object is therefore immutable. Closing a file (`delete`)
/// replaces its object by a *tombstone*, which keeps the name taken, so that
/// an upload URL or session handed out for it, replayed later, still finds
/// the name taken and stores nothing. Tombstones go once every URL and
/// session that could write the name has expired (`session_lifetime`), by
/// the reconcile sweep (`Service::sweep`).
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// A URL that takes the whole object in one `PUT` of exactly `size` bytes.
    fn sign_put(
        &self,
        object: &FileId,
        size: u64,
        content_type: &ContentType,
        expires: Timestamp,
    ) -> Result<UploadTarget>;
    /// A URL whose `POST` starts a resumable session for `size` bytes; the
    /// answer's `Location` takes `PUT`s with `Content-Range`.
    fn sign_resumable_start(
        &self,
        object: &FileId,
        size: u64,
        content_type: &ContentType,
        expires: Timestamp,
    ) -> Result<UploadTarget>;
    /// A URL that serves the object with `Range` support and the given
    /// disposition and file name; with a `generation`, only those bytes.
    fn sign_get(
        &self,
        object: &FileId,
        generation: Option<i64>,
        name: &FileName,
        content_type: &ContentType,
        disposition: Disposition,
        expires: Timestamp,
    ) -> Result<String>;
    /// Size and checksum of a complete object, or `None` if there is none
    /// (a tombstone is none).
    async fn stat(&self, object: &FileId) -> Result<Option<ObjectInfo>>;
    /// The object's file is ready: its upload sessions end, so that a
    /// request to one is refused (the object refuses overwrites already).
    async fn seal(&self, object: &FileId) -> Result<()>;
    /// Removes the object's bytes but leaves its name open: the pending
    /// upload whose bytes `complete` refused may send them again.
    async fn discard(&self, object: &FileId) -> Result<()>;
    /// Closes the name for good: the bytes and any unfinished upload go, and
    /// a tombstone stays. Idempotent.
    async fn delete(&self, object: &FileId) -> Result<()>;
    /// Removes a tombstone (the sweep, once it has outlived every URL and
    /// session). Only a tombstone: bytes under the name stay.
    async fn remove_tombstone(&self, object: &FileId) -> Result<()>;
    /// Objects and tombstones, a page at a time, in name order.
    async fn list_objects(&self, after: Option<String>) -> Result<ObjectPage>;
    /// Removes what unfinished upload sessions left behind that started
    /// before `before`; returns how many sessions. Stores whose sessions
    /// hold nothing of ours (GCS expires them itself) remove nothing.
    async fn sweep_sessions(&self, before: Timestamp) -> Result<u64>;
    /// How long a session started on a signed URL can go on writing after
    /// the URL itself has expired: a tombstone must outlive both.
    fn session_lifetime(&self) -> jiff::SignedDuration;
}

/// `Content-Disposition` per RFC 6266 with an RFC 8187 `filename*`, plus an
/// ASCII-only `filename` for old clients. The name is already a valid
/// `FileName` (no control characters, no slashes).
pub fn content_disposition(disposition: Disposition, name: &FileName) -> String {
    let kind = match disposition {
        Disposition::Attachment => "attachment",
        Disposition::Inline => "inline",
    };
    let ascii: String = name
        .as_str()
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    // attr-char of RFC 8187: ALPHA / DIGIT / "!#$&+-.^_`|~"
    const ATTR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(name.as_str(), ATTR);
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_has_an_ascii_fallback_and_an_exact_utf8_name() {
        let name = FileName::parse("Résumé \"final\".pdf").unwrap();
        assert_eq!(
            content_disposition(Disposition::Attachment, &name),
            "attachment; filename=\"R_sum_ _final_.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf"
        );
    }
}
