//! `livedrop serve`: the self-hosted deployment in one process.
//!
//! SQLite for metadata, a folder for bytes, local accounts, the WebSocket
//! feed, the blob endpoint and the built web app, all on one port.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tokio::net::TcpListener;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::blob::disk::DiskBlobs;
use crate::blob::signing::Signer;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::feed::Hub;
use crate::http::{AppState, router};
use crate::identity::LocalAccounts;
use crate::mail::Postman;
use crate::mail::smtp::{SmtpMailer, SmtpSettings};
use crate::mail::sqlite::SqliteOutbox;
use crate::service::Service;
use crate::store::sqlite::{Db, SqliteStore};

/// How a self-hosted server is set up.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Holds `livedrop.db`, `secret` and `blobs/`.
    pub data_dir: PathBuf,
    /// The exported web app (`web/out`); served at `/` when it exists.
    pub web_dir: Option<PathBuf>,
    pub config: Config,
    /// Read connections to SQLite.
    pub db_readers: usize,
    /// How long in-flight requests may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// Where mail goes out; `None` sends none (`LIVEDROP_SMTP_*`).
    pub smtp: Option<SmtpSettings>,
    /// Where people reach this server, for links in letters
    /// (`LIVEDROP_PUBLIC_URL`); needed with `smtp`.
    pub public_url: Option<String>,
}

impl ServeOptions {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            web_dir: None,
            config: Config::default(),
            db_readers: 4,
            shutdown_grace: Duration::from_secs(30),
            smtp: None,
            public_url: None,
        }
    }
}

/// The key that signs blob URLs, made on first start and kept with the data
/// so that URLs and resumable sessions outlive a restart.
fn load_secret(data_dir: &Path) -> Result<[u8; 32]> {
    let path = data_dir.join("secret");
    if !path.exists() {
        let mut key = [0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut key[..]);
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let tmp = data_dir.join("secret.tmp");
        {
            use std::io::Write;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&tmp)?;
            f.write_all(hex.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
    }
    let hex = std::fs::read_to_string(&path)?;
    let bytes: Vec<u8> = (0..hex.trim().len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(hex.trim().get(i..i + 2)?, 16).ok())
        .collect();
    bytes.try_into().map_err(|_| Error::internal(format!("{} is not a 64-digit hex key", path.display())))
}

/// The parts of a running self-hosted server, for tests and benchmarks.
pub struct App {
    pub router: Router,
    pub service: Arc<Service>,
    pub blobs: Arc<DiskBlobs>,
    pub hub: Arc<Hub>,
    pub accounts: Arc<LocalAccounts>,
    /// `None` without SMTP settings.
    pub postman: Option<Arc<Postman>>,
}

pub fn build(opts: &ServeOptions) -> Result<App> {
    std::fs::create_dir_all(&opts.data_dir)?;
    let key = load_secret(&opts.data_dir)?;
    let db = Db::open(&opts.data_dir.join("livedrop.db"), opts.db_readers)?;
    let store = Arc::new(SqliteStore::new(db.clone()));
    let blobs = Arc::new(DiskBlobs::open(&opts.data_dir.join("blobs"), Signer::new(key))?);
    let hub = Arc::new(Hub::new());
    let accounts = Arc::new(LocalAccounts::new(db.clone(), store.clone()));
    let postman = match &opts.smtp {
        Some(smtp) => {
            let public_url = opts.public_url.as_deref().ok_or_else(|| {
                Error::internal("LIVEDROP_PUBLIC_URL must be set with LIVEDROP_SMTP_HOST: letters link to the app")
            })?;
            let outbox = Arc::new(SqliteOutbox::new(db.clone()));
            Some(Arc::new(Postman::new(outbox, Arc::new(SmtpMailer::new(smtp)?), public_url)))
        }
        None => None,
    };
    let mut service = Service::new(store.clone(), blobs.clone(), hub.clone(), accounts.clone(), opts.config.clone())
        .with_preferences(store.clone());
    if let Some(p) = &postman {
        service = service.with_mail(p.clone());
    }
    let service = Arc::new(service);
    let state =
        AppState::new(service.clone(), accounts.clone(), Some(accounts.clone()), Some(hub.clone()), "self-hosted");

    let api = router(state).merge(crate::blob::http::routes(blobs.clone()));
    let router = around_api(api, opts.web_dir.as_deref(), &opts.config.trusted_proxies);
    Ok(App { router, service, blobs, hub, accounts, postman })
}

/// What every deployment served by this process puts around the API: the
/// web app (`web`: its folder, and where its pages may reach: see
/// `http::csp`), security headers (the pages' Content-Security-Policy; HSTS
/// when reached over HTTPS, directly or through one of `trusted_proxies`)
/// and request logs.
pub fn around_api<'a>(
    api: Router,
    web: impl Into<crate::http::csp::Pages<'a>>,
    trusted_proxies: &[std::net::IpAddr],
) -> Router {
    let web = web.into();
    let web_dir = web.dir;
    let app = match web_dir {
        Some(dir) if dir.join("index.html").exists() => {
            // Recipient links are /s/<token>: one static page reads the token.
            let recipient = ServeFile::new(dir.join("s").join("index.html"));
            let site = ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .not_found_service(ServeFile::new(dir.join("404.html")));
            api.nest_service("/s", recipient).fallback_service(site)
        }
        _ => api.fallback(|| async {
            (
                axum::http::StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "The web app is not built. Run `npm --prefix web run build`, or start livedrop with --web-dir \
                 pointing at web/out.\n",
            )
        }),
    };
    let hdr = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    let trusted: Arc<[std::net::IpAddr]> = trusted_proxies.into();
    let hsts = axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
        let trusted = trusted.clone();
        async move {
            let peer = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
            let https = crate::http::reached_over_https(req.uri(), req.headers(), peer, &trusted);
            let mut resp = next.run(req).await;
            if https {
                // A year; browsers then refuse plain HTTP to this host.
                resp.headers_mut()
                    .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
            }
            resp
        }
    });
    // On the web app's pages (HTML), unless a response brings its own (a
    // blob download's sandbox). Read once: the export does not change under
    // a running server.
    let csp = HeaderValue::from_str(&web.policy()).expect("a policy is header-safe");
    let csp = axum::middleware::map_response(move |mut resp: axum::response::Response| {
        let csp = csp.clone();
        async move {
            let html = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
            if html && !resp.headers().contains_key(header::CONTENT_SECURITY_POLICY) {
                resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
            }
            resp
        }
    });
    app.layer(csp)
        .layer(hsts)
        .layer(hdr(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Recipient links carry their token in the path: never leak it.
        .layer(hdr(header::REFERRER_POLICY, "no-referrer"))
        .layer(hdr(header::X_FRAME_OPTIONS, "DENY"))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %req.method(), path = %loggable_path(req.uri().path()))
                })
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
}

/// The path as it may appear in logs: link tokens and upload session ids
/// are capabilities, so they are cut out (and query strings, which carry
/// URL signatures, are never logged).
fn loggable_path(path: &str) -> String {
    for secret_after in ["/api/s/", "/s/", "/blob/sessions/"] {
        if let Some(i) = path.find(secret_after) {
            return format!("{}…", &path[..i + secret_after.len()]);
        }
    }
    path.to_owned()
}

/// Runs the reconcile sweep (`Service::sweep`), purges expired sessions and
/// prunes idle feed channels, every few minutes.
fn spawn_sweeper(service: Arc<Service>, accounts: Arc<LocalAccounts>, hub: Arc<Hub>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(300));
        loop {
            every.tick().await;
            match service.sweep().await {
                Ok(r) if r == crate::service::SweepReport::default() => {}
                Ok(r) => tracing::info!(
                    pending_files = r.pending_files,
                    orphan_objects = r.orphan_objects,
                    sessions = r.sessions,
                    "swept"
                ),
                Err(e) => tracing::warn!(error = %e, "the sweep failed"),
            }
            match accounts.purge_expired_sessions().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sessions = n, "purged expired sessions"),
                Err(e) => tracing::warn!(error = %e, "purging expired sessions failed"),
            }
            hub.prune();
        }
    })
}

/// Serves until `shutdown` resolves, then lets requests in flight finish
/// (for at most `shutdown_grace`). Resumable sessions are on disk, so
/// clients resume them against the next start.
pub async fn run(
    listener: TcpListener,
    opts: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let app = build(&opts)?;
    let sweeper = spawn_sweeper(app.service.clone(), app.accounts.clone(), app.hub.clone());
    tracing::info!(data_dir = %opts.data_dir.display(), "self-hosted, with SQLite and files on disk");
    let postman = match (&app.postman, &opts.smtp) {
        (Some(p), Some(smtp)) => {
            tracing::info!(host = %smtp.host, port = smtp.port, tls = ?smtp.tls, "mail goes out through SMTP");
            if let Some(w) = smtp.warning() {
                tracing::warn!("{w}");
            }
            Some(p.spawn())
        }
        _ => {
            tracing::warn!(
                "no SMTP configured (LIVEDROP_SMTP_HOST): no mail is sent; addresses are proved by invitation links, \
                 which the sharer is shown to pass on"
            );
            None
        }
    };
    let served = serve(listener, app.router, shutdown, opts.shutdown_grace).await;
    sweeper.abort();
    if let Some(p) = postman {
        p.abort();
    }
    served
}

/// Serves `router` until `shutdown` resolves, then lets requests in flight
/// finish for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "livedrop is serving");
    let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight");
        let _ = stopping_tx.send(());
    };
    let server = axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(signal);
    let deadline = async move {
        if stopping_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        r = server => r?,
        _ = deadline => tracing::warn!("requests still running after the grace period; stopping anyway"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn capabilities_stay_out_of_the_logs() {
        assert_eq!(super::loggable_path("/api/s/SECRET/download"), "/api/s/…");
        assert_eq!(super::loggable_path("/s/SECRET"), "/s/…");
        assert_eq!(super::loggable_path("/blob/sessions/SECRET"), "/blob/sessions/…");
        assert_eq!(super::loggable_path("/api/files"), "/api/files");
    }
}
