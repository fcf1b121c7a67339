//! SMTP through lettre: the settings, read from the environment in both
//! deployments, and the `Mailer` that uses them.
//!
//! | variable | meaning |
//! |---|---|
//! | `LIVEDROP_SMTP_HOST` | the relay; unset means no mail at all |
//! | `LIVEDROP_SMTP_PORT` | default 465 for `tls`, 587 for `starttls`, 25 for `none` |
//! | `LIVEDROP_SMTP_TLS` | `tls` (implicit), `starttls` (default) or `none` |
//! | `LIVEDROP_SMTP_USER`, `LIVEDROP_SMTP_PASSWORD` | credentials, if the relay wants them |
//! | `LIVEDROP_MAIL_FROM` | the sender, `livedrop <noreply@example.com>` |
//! | `LIVEDROP_PUBLIC_URL` | where people reach the app, for links in letters |

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Letter, Mailer};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (SMTPS).
    Tls,
    /// Plain, then upgraded with STARTTLS; refused if the relay can't.
    StartTls,
    /// No encryption: only for a relay on this machine or a test server.
    None,
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub user: Option<String>,
    pub password: Option<String>,
    pub from: String,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("from", &self.from)
            .finish()
    }
}

impl SmtpSettings {
    /// `Ok(None)` when `LIVEDROP_SMTP_HOST` is not set; an error naming the
    /// variable when one is set to something unusable.
    pub fn from_env() -> Result<Option<Self>> {
        let var = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let bad = |k: &str, why: &str| Error::internal(format!("{k}: {why}"));
        let Some(host) = var("LIVEDROP_SMTP_HOST") else { return Ok(None) };
        let tls = match var("LIVEDROP_SMTP_TLS").as_deref() {
            None | Some("starttls") => TlsMode::StartTls,
            Some("tls") => TlsMode::Tls,
            Some("none") => TlsMode::None,
            Some(_) => return Err(bad("LIVEDROP_SMTP_TLS", "must be `tls`, `starttls` or `none`")),
        };
        let port = match var("LIVEDROP_SMTP_PORT") {
            Some(p) => p.parse().map_err(|_| bad("LIVEDROP_SMTP_PORT", "must be a port number"))?,
            None => match tls {
                TlsMode::Tls => 465,
                TlsMode::StartTls => 587,
                TlsMode::None => 25,
            },
        };
        let from = var("LIVEDROP_MAIL_FROM").ok_or_else(|| {
            bad("LIVEDROP_MAIL_FROM", "must be set with LIVEDROP_SMTP_HOST (e.g. `livedrop <noreply@example.com>`)")
        })?;
        from.parse::<Mailbox>().map_err(|e| bad("LIVEDROP_MAIL_FROM", &e.to_string()))?;
        let user = var("LIVEDROP_SMTP_USER");
        let password = std::env::var("LIVEDROP_SMTP_PASSWORD").ok().filter(|p| !p.is_empty());
        if user.is_some() != password.is_some() {
            return Err(bad(
                "LIVEDROP_SMTP_USER",
                "set both LIVEDROP_SMTP_USER and LIVEDROP_SMTP_PASSWORD, or neither",
            ));
        }
        Ok(Some(Self { host, port, tls, user, password, from }))
    }
}

impl SmtpSettings {
    /// What an operator should hear about these settings at start.
    pub fn warning(&self) -> Option<&'static str> {
        let local = matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "::1");
        (self.tls == TlsMode::None && !local).then_some(
            "LIVEDROP_SMTP_TLS=none with a relay on another machine: letters (with their sign-in links) and \
             the SMTP password cross the network unencrypted",
        )
    }
}

/// `LIVEDROP_PUBLIC_URL`, checked to be an http(s) origin.
pub fn public_url_from_env() -> Result<Option<String>> {
    let Some(url) = std::env::var("LIVEDROP_PUBLIC_URL").ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(char::is_whitespace) {
        return Err(Error::internal("LIVEDROP_PUBLIC_URL: must be an http:// or https:// address"));
    }
    Ok(Some(url.trim_end_matches('/').to_owned()))
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(s: &SmtpSettings) -> Result<Self> {
        let builder = match s.tls {
            TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(Error::internal)?,
            TlsMode::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host).map_err(Error::internal)?
            }
            TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
        };
        // A relay that hangs delays the next letters, never a request.
        let mut builder = builder.port(s.port).timeout(Some(Duration::from_secs(30)));
        if let (Some(u), Some(p)) = (&s.user, &s.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        let from = s.from.parse().map_err(Error::internal)?;
        Ok(Self { transport: builder.build(), from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, letter: &Letter) -> std::result::Result<(), String> {
        let to: Mailbox = letter.to.as_str().parse().map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(letter.body.clone())
            .map_err(|e| e.to_string())?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| e.to_string())
    }
}
