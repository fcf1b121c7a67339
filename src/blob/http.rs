//! The self-hosted blob endpoint: the GCS-shaped protocol of `BlobStore`
//! over HTTP, on the same port as the API.
//!
//! - `PUT  /blob/{object}?…&sig=…` one request, the whole object
//! - `POST /blob/{object}?…&sig=…` with `x-goog-resumable: start`: `201`
//!   and `Location: /blob/sessions/{session}`
//! - `PUT  /blob/sessions/{session}` with `Content-Range: bytes a-b/total`
//!   (a chunk) or `bytes */total` (where are we?): `308` with `Range`
//!   until the last byte, then `200`
//! - `DELETE /blob/sessions/{session}` cancels
//! - `GET|HEAD /blob/{object}?…&sig=…` with `Range` support

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use jiff::Timestamp;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::ObjectInfo;
use super::disk::{ChunkRange, DiskBlobs, Progress};
use super::signing::param;
use crate::domain::{ContentType, FileId};
use crate::error::{Error, Result};

pub fn routes(blobs: Arc<DiskBlobs>) -> Router {
    Router::new()
        .route("/blob/{object}", get(download).head(download).put(put_object).post(start_session))
        .route("/blob/sessions/{session}", put(write_chunk).delete(cancel_session))
        .with_state(blobs)
}

fn verify(blobs: &DiskBlobs, method: &str, uri: &Uri) -> Result<Vec<(String, String)>> {
    blobs.signer().verify(method, uri.path(), uri.query(), Timestamp::now())
}

fn signed_size(params: &[(String, String)]) -> Result<u64> {
    param(params, "size").and_then(|s| s.parse().ok()).ok_or(Error::SignatureInvalid)
}

fn object_id(object: &str) -> Result<FileId> {
    FileId::parse(object)
}

fn stored(info: ObjectInfo) -> Response {
    (StatusCode::OK, axum::Json(info)).into_response()
}

async fn put_object(
    State(blobs): State<Arc<DiskBlobs>>,
    Path(object): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let params = verify(&blobs, "PUT", &uri)?;
    let size = signed_size(&params)?;
    let object = object_id(&object)?;
    if let Some(len) = content_length(&headers)? {
        if len != size {
            return Err(Error::SizeMismatch { declared: size, stored: len });
        }
    }
    let info = blobs.put_object(&object, size, body.into_data_stream()).await?;
    Ok(stored(info))
}

async fn start_session(
    State(blobs): State<Arc<DiskBlobs>>,
    Path(object): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response> {
    let params = verify(&blobs, "POST", &uri)?;
    let size = signed_size(&params)?;
    let object = object_id(&object)?;
    if headers.get("x-goog-resumable").and_then(|v| v.to_str().ok()) != Some("start") {
        return Err(Error::InvalidRequest(
            "a POST here starts a resumable upload: send `x-goog-resumable: start`".into(),
        ));
    }
    let content_type = param(&params, "type").unwrap_or("application/octet-stream");
    let id = blobs.start_session(&object, size, content_type).await?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/blob/sessions/{id}"))]).into_response())
}

fn content_length(headers: &HeaderMap) -> Result<Option<u64>> {
    headers
        .get(header::CONTENT_LENGTH)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| Error::InvalidRequest("bad Content-Length".into()))
        })
        .transpose()
}

/// A parsed `Content-Range` of a resumable chunk.
enum UploadRange {
    Status,
    Chunk(ChunkRange),
}

fn parse_upload_range(value: &str) -> Result<UploadRange> {
    let bad = || {
        Error::InvalidRange(format!(
            "Content-Range must be `bytes FIRST-LAST/TOTAL` or `bytes */TOTAL`, not `{}`",
            value.chars().take(80).collect::<String>()
        ))
    };
    let spec = value.trim().strip_prefix("bytes ").ok_or_else(bad)?;
    let (range, total) = spec.split_once('/').ok_or_else(bad)?;
    let total = match total {
        "*" => None,
        t => Some(t.parse::<u64>().map_err(|_| bad())?),
    };
    if range == "*" {
        return Ok(UploadRange::Status);
    }
    let (first, last) = range.split_once('-').ok_or_else(bad)?;
    let first: u64 = first.parse().map_err(|_| bad())?;
    let last: u64 = last.parse().map_err(|_| bad())?;
    if last < first {
        return Err(bad());
    }
    Ok(UploadRange::Chunk(ChunkRange { first, last, total }))
}

fn progress_response(p: Progress) -> Response {
    match p {
        Progress::Complete(info) => stored(info),
        Progress::Partial(0) => StatusCode::PERMANENT_REDIRECT.into_response(),
        Progress::Partial(n) => {
            (StatusCode::PERMANENT_REDIRECT, [(header::RANGE, format!("bytes=0-{}", n - 1))]).into_response()
        }
    }
}

async fn write_chunk(
    State(blobs): State<Arc<DiskBlobs>>,
    Path(session): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let range = match headers.get(header::CONTENT_RANGE) {
        Some(v) => {
            parse_upload_range(v.to_str().map_err(|_| Error::InvalidRange("Content-Range is not text".into()))?)?
        }
        None => return Err(Error::InvalidRange("a chunk needs a Content-Range header".into())),
    };
    let progress = match range {
        UploadRange::Status => {
            if content_length(&headers)?.unwrap_or(0) != 0 {
                return Err(Error::InvalidRange("`bytes */TOTAL` asks for the status and takes no body".into()));
            }
            blobs.session_status(&session).await?
        }
        UploadRange::Chunk(range) => {
            if let Some(len) = content_length(&headers)? {
                if len != range.last - range.first + 1 {
                    return Err(Error::InvalidRange(format!(
                        "Content-Range covers {} bytes but Content-Length is {len}",
                        range.last - range.first + 1
                    )));
                }
            }
            blobs.write_chunk(&session, range, body.into_data_stream()).await?
        }
    };
    Ok(progress_response(progress))
}

async fn cancel_session(State(blobs): State<Arc<DiskBlobs>>, Path(session): Path<String>) -> Result<Response> {
    blobs.cancel_session(&session).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `Range: bytes=a-b | a- | -n`, one range. Several ranges are answered
/// with the whole file, which RFC 9110 allows.
fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let unsatisfiable = Error::RangeNotSatisfiable { size };
    let (a, b) = spec.split_once('-').ok_or(Error::RangeNotSatisfiable { size })?;
    let (first, last) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| Error::RangeNotSatisfiable { size })?;
            if n == 0 || size == 0 {
                return Err(unsatisfiable);
            }
            (size.saturating_sub(n), size - 1)
        }
        (a, "") => (a.parse().map_err(|_| Error::RangeNotSatisfiable { size })?, size.saturating_sub(1)),
        (a, b) => {
            let a: u64 = a.parse().map_err(|_| Error::RangeNotSatisfiable { size })?;
            let b: u64 = b.parse().map_err(|_| Error::RangeNotSatisfiable { size })?;
            if b < a {
                return Err(unsatisfiable);
            }
            (a, b.min(size.saturating_sub(1)))
        }
    };
    if first >= size {
        return Err(unsatisfiable);
    }
    Ok(Some((first, last)))
}

async fn download(
    State(blobs): State<Arc<DiskBlobs>>,
    Path(object): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response> {
    // A HEAD is a GET without the body: one signature serves both.
    let params = verify(&blobs, "GET", &uri)?;
    let object = object_id(&object)?;
    let content_type = ContentType::parse(param(&params, "type"))?;
    let mut disposition = param(&params, "disposition").unwrap_or("attachment").to_owned();
    // Defence in depth: even a signed URL cannot make script-capable
    // content render on our origin.
    if !content_type.is_safe_inline() && !disposition.starts_with("attachment") {
        disposition = format!("attachment{}", disposition.trim_start_matches("inline"));
    }
    let (mut file, info) = blobs.open_object(&object).await?.ok_or(Error::not_found("file"))?;
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(r) => parse_range(r, info.size)?,
        None => None,
    };

    let mut resp = Response::builder()
        .header(header::CONTENT_TYPE, content_type.as_str())
        .header(header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(|_| Error::SignatureInvalid)?)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, format!("\"{}\"", info.crc32c))
        .header(header::CACHE_CONTROL, "private, max-age=300")
        .header("cross-origin-resource-policy", "same-origin");
    // Chrome refuses to show a PDF in a sandboxed document; every other type
    // gets a sandbox so nothing in it can act as our origin. Previews may be
    // framed by our own pages (the PDF viewer), by nobody else's.
    let frame = "frame-ancestors 'self'";
    if content_type.as_str() != "application/pdf" || disposition.starts_with("attachment") {
        resp = resp.header(
            header::CONTENT_SECURITY_POLICY,
            format!("default-src 'none'; media-src 'self'; img-src 'self'; sandbox; {frame}"),
        );
    } else {
        resp = resp.header(header::CONTENT_SECURITY_POLICY, frame);
    }
    if disposition.starts_with("inline") {
        resp = resp.header(header::X_FRAME_OPTIONS, "SAMEORIGIN");
    }
    let (status, start, len) = match range {
        Some((first, last)) => {
            resp = resp.header(header::CONTENT_RANGE, format!("bytes {first}-{last}/{}", info.size));
            (StatusCode::PARTIAL_CONTENT, first, last - first + 1)
        }
        None => (StatusCode::OK, 0, info.size),
    };
    resp = resp.status(status).header(header::CONTENT_LENGTH, len);
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        file.seek(std::io::SeekFrom::Start(start)).await?;
        Body::from_stream(tokio_util::io::ReaderStream::with_capacity(file.take(len), 256 * 1024))
    };
    resp.body(body).map_err(Error::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_ranges() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-1000", 100).unwrap(), Some((50, 99)));
        assert_eq!(parse_range("bytes=0-1,5-6", 100).unwrap(), None);
        assert!(parse_range("bytes=100-", 100).is_err());
        assert!(parse_range("bytes=9-1", 100).is_err());
        assert!(parse_range("bytes=x-1", 100).is_err());
    }

    #[test]
    fn upload_ranges() {
        assert!(matches!(parse_upload_range("bytes */100").unwrap(), UploadRange::Status));
        assert!(matches!(parse_upload_range("bytes */*").unwrap(), UploadRange::Status));
        match parse_upload_range("bytes 0-9/100").unwrap() {
            UploadRange::Chunk(c) => assert_eq!(c, ChunkRange { first: 0, last: 9, total: Some(100) }),
            _ => panic!(),
        }
        for bad in ["0-9/100", "bytes 9-0/100", "bytes a-b/100", "bytes 0-9", "bytes 0-9/x"] {
            assert!(parse_upload_range(bad).is_err(), "{bad}");
        }
    }
}
