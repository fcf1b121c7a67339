//! livedrop: real-time file sharing, self-hosted in one process or on
//! Vercel + Firebase, from one codebase.
//!
//! # Layout
//!
//! - `domain`: types that parse their input (file names, e-mails, CRC32C,
//!   ids) and the records (file, link, activity).
//! - `error`: the one error type and its stable codes; `http::error` maps
//!   it to HTTP in one place.
//! - `service`: the use cases (upload, complete, list, rename, delete,
//!   share, link, download, activity, the reconcile sweep) over the traits
//!   below; `service::folders` those of folders, `service::archive` what
//!   a ZIP of a folder or of a selection in one holds, page by page, with
//!   signed URLs;
//!   `service::links` public links, a file's or a folder's (what a link
//!   holder may list, download and archive, and what is counted).
//! - `store`: the metadata traits, one per concern (`MetadataStore` for
//!   people, files, shares, links and activity, built on `FolderStore` for
//!   the tree and `FolderSharing` for who sees a folder), their SQLite
//!   implementation (`store::sqlite`, folders in `sqlite::folders`), and the
//!   contract suites every implementation must pass (`tests/contract/`).
//! - `blob`: the `BlobStore` trait (GCS-shaped signed URLs; create-only
//!   names, tombstones for closed ones), the disk implementation, its HMAC
//!   signer and its HTTP endpoint.
//! - `identity`: the `Identity` trait and self-hosted local accounts
//!   (argon2id passwords, sessions, API tokens, proofs of an address); the
//!   `Addresses` trait says who has proved theirs.
//! - `mail`: e-mail (`Letter`s, the `Outbox` they wait in, the `Postman`
//!   who sends them over SMTP with retries), and what each letter says.
//! - `feed`: the live change feed (`ChangeSink`, `Hub`) behind the WebSocket.
//! - `http`: the shared axum router: API handlers, extractors, WebSocket,
//!   and `openapi.json`, the contract the web app and the CLI build against.
//! - `server`: `livedrop serve`, wiring the self-hosted implementations.
//! - `cloud`: cloud mode. `firestore` (the Firestore `MetadataStore`; its
//!   folders, its `upgrade` of older documents, and the query shapes the
//!   index test checks),
//!   `gcs` (the Cloud Storage `BlobStore` and its V4 signer),
//!   `firebase_auth` (the Firebase ID token `Identity`), `service_account`,
//!   `app` (all of it wired into the router), `vercel` (the body of each
//!   function in `api/`), `emulator` (the cloud emulators, private ones for tests).
//! - `cli`: the command-line client (`livedrop ls`, `put`, `get`, `shell`, ...)
//!   of both deployments; `cli::firebase` signs in to cloud ones.
//! - `config`, `ratelimit`: settings and failure-counting limits.
//!
//! `src/main.rs` only parses the command line and calls into here.

pub mod blob;
pub mod cli;
pub mod cloud;
pub mod config;
pub mod domain;
pub mod error;
pub mod feed;
pub mod http;
pub mod identity;
pub mod mail;
pub mod ratelimit;
pub mod server;
pub mod service;
pub mod store;

pub use error::{Error, Result};
