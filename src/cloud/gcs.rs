//! The cloud blob store: a Google Cloud Storage bucket (Firebase Storage is
//! one), reached by clients only on V4 signed URLs.
//!
//! - Uploads: a signed `PUT` for small files, a signed `POST` with
//!   `x-goog-resumable: start` for large ones (GCS answers with the session
//!   `Location`, which takes `PUT`s with `Content-Range`). Both sign
//!   `content-type`, so the object is stored with the declared type.
//! - Downloads: a signed `GET` whose `response-content-disposition` and
//!   `response-content-type` make GCS serve the name and type we chose.
//! - `stat` and `delete` go through the JSON API with an OAuth token of the
//!   service account, or with no credentials at all when
//!   `STORAGE_EMULATOR_HOST` points at an emulator (fake-gcs-server).
//!
//! Objects live under `files/<file id>`. Every upload URL signs what GCS
//! itself then enforces (`BlobStore`'s create-only rule):
//!
//! - `x-goog-if-generation-match: 0`: the write fails (`412`) if the name
//!   holds an object. For a resumable session GCS checks it when the
//!   session makes its object, at the last chunk.
//! - `x-goog-content-length-range: 0,SIZE`: a `PUT` larger than declared is
//!   refused. A session's total is not bound by it; `complete_upload` finds
//!   a larger object by `stat` and discards it.
//!
//! Closing a name (`delete`) overwrites the object with an empty
//! *tombstone* (custom metadata `livedrop: tombstone`), in one request, so
//! that a replayed URL or a session still open finds the name taken. GCS
//! keeps a resumable session for a week and gives its URI to the client
//! only, so a tombstone lives `SESSION_LIFETIME` past the upload URL's
//! expiry before the sweep removes it. Downloads are signed for the object
//! generation `stat` saw at completion.

pub mod v4;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use percent_encoding::utf8_percent_encode;
use serde::Deserialize;

use crate::blob::{BlobStore, Disposition, ObjectInfo, ObjectPage, StoredObject, UploadTarget, content_disposition};
use crate::cloud::clock::{self, Clock};
use crate::cloud::service_account::{AccessTokens, STORAGE_SCOPE, ServiceAccount};
use crate::domain::{ContentType, Crc32c, FileId, FileName};
use crate::error::{Error, Result};
use v4::{Endpoint, UrlRequest, UrlStyle};

/// Prefix of every object livedrop writes, so the bucket can hold other
/// things (and lifecycle rules can target ours).
pub const OBJECT_PREFIX: &str = "files/";

/// Everything the store needs to know.
pub struct GcsConfig {
    pub bucket: String,
    /// Where signed URLs point and where the JSON API is called.
    pub endpoint: Endpoint,
    /// Signs URLs and, outside the emulator, buys access tokens.
    pub account: Arc<ServiceAccount>,
    /// Talking to a storage emulator: no credentials on JSON API calls, and
    /// resumable starts also name their object in the query (below).
    pub emulator: bool,
}

impl std::fmt::Debug for GcsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcsConfig")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("account", &self.account.client_email)
            .field("emulator", &self.emulator)
            .finish()
    }
}

impl GcsConfig {
    /// From the environment:
    ///
    /// - `LIVEDROP_GCS_BUCKET` (required): the bucket, e.g.
    ///   `my-project.firebasestorage.app`.
    /// - `STORAGE_EMULATOR_HOST`: `host:port` or `http://host:port` of an
    ///   emulator; then no key is needed (URLs are signed with a throwaway
    ///   key, since the emulator checks none).
    /// - `LIVEDROP_GCS_ENDPOINT`: another endpoint than
    ///   `https://storage.googleapis.com` (ignored with an emulator).
    /// - `LIVEDROP_SERVICE_ACCOUNT_JSON` (the key file's content, for hosts
    ///   like Vercel that take secrets as variables) or
    ///   `GOOGLE_APPLICATION_CREDENTIALS` (its path).
    pub fn from_env() -> Result<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let bucket = var("LIVEDROP_GCS_BUCKET").ok_or_else(|| {
            Error::internal("set LIVEDROP_GCS_BUCKET to the Cloud Storage bucket (e.g. PROJECT.firebasestorage.app)")
        })?;
        let emulator_host = var("STORAGE_EMULATOR_HOST");
        let endpoint = endpoint_from_env()?;
        let account = if let Some(json) = var("LIVEDROP_SERVICE_ACCOUNT_JSON") {
            ServiceAccount::from_json(&json)?
        } else if let Some(path) = var("GOOGLE_APPLICATION_CREDENTIALS") {
            ServiceAccount::from_file(std::path::Path::new(&path))?
        } else if emulator_host.is_some() {
            ServiceAccount::ephemeral("livedrop-emulator@localhost")?
        } else {
            return Err(Error::internal(
                "signing Cloud Storage URLs needs a service account key: set LIVEDROP_SERVICE_ACCOUNT_JSON \
                 (its JSON) or GOOGLE_APPLICATION_CREDENTIALS (its path)",
            ));
        };
        Ok(Self { bucket, endpoint, account: Arc::new(account), emulator: emulator_host.is_some() })
    }
}

/// Where signed URLs point and the JSON API is called, from the
/// environment as `GcsConfig::from_env` reads it: `STORAGE_EMULATOR_HOST`,
/// else `LIVEDROP_GCS_ENDPOINT`, else Google's.
pub fn endpoint_from_env() -> Result<Endpoint> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    match (var("STORAGE_EMULATOR_HOST"), var("LIVEDROP_GCS_ENDPOINT")) {
        (Some(host), _) => Endpoint::parse(&host, "http"),
        (None, Some(endpoint)) => Endpoint::parse(&endpoint, "https"),
        (None, None) => Ok(Endpoint::google()),
    }
}

/// The Cloud Storage implementation of `BlobStore`.
pub struct GcsStore {
    config: GcsConfig,
    http: reqwest::Client,
    /// `None` with an emulator, which wants no credentials.
    tokens: Option<AccessTokens>,
    clock: Clock,
}

#[derive(Deserialize)]
struct ObjectResource {
    #[serde(default)]
    name: String,
    /// The JSON API writes 64-bit numbers as strings.
    #[serde(default)]
    size: String,
    crc32c: Option<String>,
    generation: Option<String>,
    #[serde(rename = "timeCreated")]
    time_created: Option<String>,
    #[serde(default)]
    metadata: std::collections::HashMap<String, String>,
}

impl ObjectResource {
    fn is_tombstone(&self) -> bool {
        self.metadata.get(TOMBSTONE_KEY).map(String::as_str) == Some(TOMBSTONE_VALUE)
    }

    fn generation(&self) -> Option<i64> {
        self.generation.as_deref().and_then(|g| g.parse().ok())
    }
}

#[derive(Deserialize)]
struct ObjectList {
    #[serde(default)]
    items: Vec<ObjectResource>,
    #[serde(rename = "nextPageToken")]
    next_page_token: Option<String>,
}

/// The custom metadata that marks a tombstone.
const TOMBSTONE_KEY: &str = "livedrop";
const TOMBSTONE_VALUE: &str = "tombstone";

/// How long GCS keeps a resumable session usable after it starts.
pub const SESSION_LIFETIME: jiff::SignedDuration = jiff::SignedDuration::from_hours(24 * 7);

/// The headers every upload URL signs: create-only, at most `size` bytes.
fn upload_headers(content_type: &ContentType, size: u64) -> Vec<(String, String)> {
    vec![
        ("content-type".to_owned(), content_type.as_str().to_owned()),
        ("x-goog-content-length-range".to_owned(), format!("0,{size}")),
        ("x-goog-if-generation-match".to_owned(), "0".to_owned()),
    ]
}

impl GcsStore {
    pub fn new(config: GcsConfig) -> Result<Self> {
        Self::with_clock(config, clock::system())
    }

    /// With a clock of the caller's: signatures embed the signing time.
    pub fn with_clock(config: GcsConfig, clock: Clock) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        let tokens = (!config.emulator)
            .then(|| AccessTokens::new(config.account.clone(), STORAGE_SCOPE, http.clone(), clock.clone()));
        Ok(Self { config, http, tokens, clock })
    }

    pub fn config(&self) -> &GcsConfig {
        &self.config
    }

    /// The object that holds a file's bytes.
    pub fn object_name(object: &FileId) -> String {
        format!("{OBJECT_PREFIX}{object}")
    }

    fn sign(
        &self,
        method: &str,
        object: &FileId,
        headers: &[(String, String)],
        query: &[(String, String)],
        expires: Timestamp,
    ) -> Result<String> {
        let now = (self.clock)();
        // Whole seconds, at least one: the URL must outlive its signing.
        let secs = (expires.as_second() - now.as_second()).clamp(1, v4::MAX_EXPIRES_SECS as i64) as u64;
        let name = Self::object_name(object);
        let req = UrlRequest {
            method,
            bucket: &self.config.bucket,
            object: Some(&name),
            headers,
            query,
            expires_in_secs: secs,
            style: &UrlStyle::PathStyle,
        };
        Ok(v4::sign_url(&self.config.account, &self.config.endpoint, &req, now)?.url)
    }

    /// `…/storage/v1/b/BUCKET/o/OBJECT`, the object's JSON API resource.
    /// The name is one path segment there, so its `/` is encoded too.
    fn json_url(&self, object: &FileId) -> String {
        format!(
            "{}/storage/v1/b/{}/o/{}",
            self.config.endpoint.base_url(),
            utf8_percent_encode(&self.config.bucket, v4::UNRESERVED),
            utf8_percent_encode(&Self::object_name(object), v4::UNRESERVED)
        )
    }

    /// `…/storage/v1/b/BUCKET/o`, the bucket's object list.
    fn list_url(&self) -> String {
        format!(
            "{}/storage/v1/b/{}/o",
            self.config.endpoint.base_url(),
            utf8_percent_encode(&self.config.bucket, v4::UNRESERVED)
        )
    }

    /// The object's resource as the JSON API reports it, or `None`.
    async fn resource(&self, object: &FileId) -> Result<Option<ObjectResource>> {
        let req = self.http.get(self.json_url(object)).query(&[("fields", "size,crc32c,generation,metadata")]);
        let res = self.authorize(req).await?.send().await.map_err(|e| api_error("object metadata read", e))?;
        match res.status() {
            reqwest::StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(res.json().await.map_err(|e| api_error("object metadata read", e))?)),
            _ => Err(unexpected("object metadata read", res).await),
        }
    }

    /// Deletes the object, only if it is still `generation` when given.
    async fn delete_object(&self, object: &FileId, generation: Option<i64>) -> Result<()> {
        let mut req = self.http.delete(self.json_url(object));
        if let Some(g) = generation {
            req = req.query(&[("ifGenerationMatch", g.to_string())]);
        }
        let res = self.authorize(req).await?.send().await.map_err(|e| api_error("object delete", e))?;
        match res.status() {
            // Gone already (deleting is idempotent), or replaced meanwhile.
            reqwest::StatusCode::NOT_FOUND | reqwest::StatusCode::PRECONDITION_FAILED => Ok(()),
            s if s.is_success() => Ok(()),
            _ => Err(unexpected("object delete", res).await),
        }
    }

    async fn authorize(&self, req: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder> {
        Ok(match &self.tokens {
            Some(tokens) => req.bearer_auth(tokens.token().await?),
            None => req,
        })
    }
}

fn api_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("Cloud Storage {what} failed: {e}"))
}

async fn unexpected(what: &str, res: reqwest::Response) -> Error {
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    api_error(what, format!("{status}: {}", body.chars().take(300).collect::<String>()))
}

#[async_trait]
impl BlobStore for GcsStore {
    fn sign_put(
        &self,
        object: &FileId,
        size: u64,
        content_type: &ContentType,
        expires: Timestamp,
    ) -> Result<UploadTarget> {
        let headers = upload_headers(content_type, size);
        let url = self.sign("PUT", object, &headers, &[], expires)?;
        Ok(UploadTarget { method: "PUT", url, headers, resumable: false })
    }

    fn sign_resumable_start(
        &self,
        object: &FileId,
        size: u64,
        content_type: &ContentType,
        expires: Timestamp,
    ) -> Result<UploadTarget> {
        let mut headers = upload_headers(content_type, size);
        headers.push(("x-goog-resumable".to_owned(), "start".to_owned()));
        // fake-gcs-server names a session started on a signed URL after its
        // `name` parameter and ignores the path (its `resumableUpload`), so
        // the emulator gets one; real GCS takes the name from the path and
        // never sees this parameter.
        let query = if self.config.emulator { vec![("name".to_owned(), Self::object_name(object))] } else { vec![] };
        let url = self.sign("POST", object, &headers, &query, expires)?;
        Ok(UploadTarget { method: "POST", url, headers, resumable: true })
    }

    fn sign_get(
        &self,
        object: &FileId,
        generation: Option<i64>,
        name: &FileName,
        content_type: &ContentType,
        disposition: Disposition,
        expires: Timestamp,
    ) -> Result<String> {
        let mut query = vec![
            ("response-content-disposition".to_owned(), content_disposition(disposition, name)),
            ("response-content-type".to_owned(), content_type.as_str().to_owned()),
        ];
        if let Some(g) = generation {
            query.push(("generation".to_owned(), g.to_string()));
        }
        self.sign("GET", object, &[], &query, expires)
    }

    async fn stat(&self, object: &FileId) -> Result<Option<ObjectInfo>> {
        let Some(o) = self.resource(object).await? else { return Ok(None) };
        if o.is_tombstone() {
            return Ok(None);
        }
        let size = o.size.parse().map_err(|_| api_error("object metadata read", "size is not a number"))?;
        let crc32c = Crc32c::parse(
            o.crc32c.as_deref().ok_or_else(|| api_error("object metadata read", "no crc32c in the answer"))?,
        )
        .map_err(|e| api_error("object metadata read", e))?;
        Ok(Some(ObjectInfo { size, crc32c, generation: o.generation() }))
    }

    /// A finished session answers with its object and changes nothing.
    async fn seal(&self, _object: &FileId) -> Result<()> {
        Ok(())
    }

    async fn discard(&self, object: &FileId) -> Result<()> {
        self.delete_object(object, None).await
    }

    /// One multipart upload replaces whatever the name holds by an empty
    /// object whose metadata says it is a tombstone.
    async fn delete(&self, object: &FileId) -> Result<()> {
        let boundary = format!("livedrop-{}", crate::domain::random_token(12));
        let meta = serde_json::json!({
            "name": Self::object_name(object),
            "contentType": "application/octet-stream",
            "metadata": { TOMBSTONE_KEY: TOMBSTONE_VALUE },
        });
        let body = format!(
            "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{meta}\r\n\
             --{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n"
        );
        let url = format!(
            "{}/upload/storage/v1/b/{}/o",
            self.config.endpoint.base_url(),
            utf8_percent_encode(&self.config.bucket, v4::UNRESERVED)
        );
        let req = self
            .http
            .post(url)
            .query(&[("uploadType", "multipart")])
            .header(reqwest::header::CONTENT_TYPE, format!("multipart/related; boundary={boundary}"))
            .body(body);
        let res = self.authorize(req).await?.send().await.map_err(|e| api_error("tombstone write", e))?;
        if !res.status().is_success() {
            return Err(unexpected("tombstone write", res).await);
        }
        Ok(())
    }

    async fn remove_tombstone(&self, object: &FileId) -> Result<()> {
        match self.resource(object).await? {
            Some(o) if o.is_tombstone() => self.delete_object(object, o.generation()).await,
            _ => Ok(()),
        }
    }

    async fn list_objects(&self, after: Option<String>) -> Result<ObjectPage> {
        let mut query = vec![
            ("prefix", OBJECT_PREFIX.to_owned()),
            ("fields", "items(name,timeCreated,metadata),nextPageToken".to_owned()),
        ];
        if let Some(token) = after {
            query.push(("pageToken", token));
        }
        let req = self.http.get(self.list_url()).query(&query);
        let res = self.authorize(req).await?.send().await.map_err(|e| api_error("object list", e))?;
        if !res.status().is_success() {
            return Err(unexpected("object list", res).await);
        }
        let list: ObjectList = res.json().await.map_err(|e| api_error("object list", e))?;
        let objects = list
            .items
            .iter()
            .filter_map(|o| {
                // Names that are not a file id are not ours to judge.
                let object = FileId::parse(o.name.strip_prefix(OBJECT_PREFIX)?).ok()?;
                let written_at = o.time_created.as_deref()?.parse::<Timestamp>().ok()?;
                Some(StoredObject { object, tombstone: o.is_tombstone(), written_at })
            })
            .collect();
        Ok(ObjectPage { objects, next: list.next_page_token.filter(|t| !t.is_empty()) })
    }

    /// A session's bytes are GCS's until it makes the object: nothing of ours.
    async fn sweep_sessions(&self, _before: Timestamp) -> Result<u64> {
        Ok(0)
    }

    fn session_lifetime(&self) -> jiff::SignedDuration {
        SESSION_LIFETIME
    }
}
