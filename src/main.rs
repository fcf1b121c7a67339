//! The `livedrop` command: `serve` runs the self-hosted server; the other
//! commands are the client (`livedrop::cli`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use livedrop::config::{Config, parse_duration, parse_size};
use livedrop::server::{ServeOptions, around_api, run, serve as serve_router};

#[derive(Parser)]
#[command(name = "livedrop", version, about = "Real-time file sharing", after_long_help = livedrop::cli::EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server: API, file storage, live feed and web app on one port
    /// (self-hosted), or the same API against Firebase (`--backend firebase`).
    Serve(ServeArgs),
    #[command(flatten)]
    Client(livedrop::cli::Command),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LIVEDROP_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the database, the signing key and the files are kept.
    #[arg(long, env = "LIVEDROP_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// The exported web app to serve at `/`.
    #[arg(long, env = "LIVEDROP_WEB_DIR", default_value = "web/out")]
    web_dir: PathBuf,
    /// Whether anyone may sign up.
    #[arg(long, env = "LIVEDROP_SIGNUP", default_value = "open", value_parser = ["open", "closed"])]
    signup: String,
    /// Storage per person, e.g. `500GiB`.
    #[arg(long, env = "LIVEDROP_QUOTA", default_value = "500GiB", value_parser = parse_size)]
    quota: u64,
    /// The largest file, e.g. `100GiB`.
    #[arg(long, env = "LIVEDROP_MAX_FILE_SIZE", default_value = "100GiB", value_parser = parse_size)]
    max_file_size: u64,
    /// How long an upload may stay unfinished before the sweep removes it
    /// (e.g. 24h, 90m).
    #[arg(long, env = "LIVEDROP_PENDING_TTL", default_value = "24h", value_parser = parse_duration)]
    pending_ttl: jiff::SignedDuration,
    /// Mark the session cookie Secure on every answer. Without it, it is
    /// Secure whenever the request came over HTTPS (through a
    /// --trusted-proxy's X-Forwarded-Proto).
    #[arg(long, env = "LIVEDROP_SECURE_COOKIES")]
    secure_cookies: bool,
    /// A proxy in front of this server (e.g. 127.0.0.1 for nginx on the same
    /// machine) whose X-Forwarded-For names the client; repeat or separate
    /// with commas.
    #[arg(long = "trusted-proxy", env = "LIVEDROP_TRUSTED_PROXIES", value_delimiter = ',')]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// `sqlite`: self-hosted, everything in --data-dir. `firebase`: Firestore,
    /// Cloud Storage and Firebase Auth, configured by LIVEDROP_FIREBASE_* and
    /// the emulator variables (see .env.example).
    #[arg(long, env = "LIVEDROP_BACKEND", default_value = "sqlite", value_parser = ["sqlite", "firebase"])]
    backend: String,
    /// Log lines as JSON objects instead of text.
    #[arg(long, env = "LIVEDROP_LOG_JSON")]
    log_json: bool,
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LIVEDROP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=info"));
    let fmt = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json { fmt.json().init() } else { fmt.init() }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    init_logs(a.log_json);
    let mut opts = ServeOptions::new(a.data_dir);
    opts.web_dir = Some(a.web_dir);
    opts.config = Config {
        signup_open: a.signup == "open",
        quota_bytes: a.quota,
        max_file_size: a.max_file_size,
        pending_ttl: a.pending_ttl,
        secure_cookies: a.secure_cookies,
        trusted_proxies: a.trusted_proxies,
        cron_secret: livedrop::config::cron_secret_from_env(),
        ..Config::default()
    };
    opts.smtp = livedrop::mail::smtp::SmtpSettings::from_env()?;
    opts.public_url = livedrop::mail::smtp::public_url_from_env()?.or_else(|| Some(format!("http://{}", a.listen)));
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", a.listen))?;
    if a.backend == "firebase" {
        let trusted_proxies = opts.config.trusted_proxies.clone();
        let settings = livedrop::cloud::app::CloudSettings::from_env(opts.config)?;
        // The pages reach the Firebase services (or emulators) and the
        // storage endpoint this server is configured with.
        let storage = livedrop::cloud::gcs::endpoint_from_env()?.base_url();
        let origins = livedrop::http::csp::Origins::firebase(&settings.web_config, &storage);
        let api = livedrop::http::router(livedrop::cloud::app::state(settings).await?);
        let pages = livedrop::http::csp::Pages { dir: opts.web_dir.as_deref(), origins };
        let router = around_api(api, pages, &trusted_proxies);
        serve_router(listener, router, shutdown_signal(), opts.shutdown_grace).await?;
    } else {
        run(listener, opts, shutdown_signal()).await?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(a) => {
            let served =
                tokio::runtime::Runtime::new().map_err(anyhow::Error::from).and_then(|rt| rt.block_on(serve(a)));
            match served {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("livedrop: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Client(c) => livedrop::cli::main(c),
    }
}
