//! The one error type of the service, and its stable codes.
//!
//! Every failure a client can cause has its own variant with a stable
//! machine-readable code (`Error::code`) and a human message (`Display`).
//! `http::error` maps it to a status in one place; internal causes are logged
//! there and never shown to clients.

use std::fmt;

/// Why a public link refused to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// Never existed or was revoked: the two look the same to a link holder.
    NotAvailable,
    Expired,
    Exhausted,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidName(String),
    #[error("{0}")]
    InvalidEmail(String),
    #[error("{0}")]
    InvalidPassword(String),
    #[error("{0}")]
    InvalidChecksum(String),
    #[error("{0}")]
    InvalidSize(String),
    #[error("sign in first")]
    Unauthenticated,
    #[error("this request did not come from the livedrop app (missing or wrong CSRF token)")]
    CsrfFailed,
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    #[error("an account with this e-mail already exists")]
    EmailTaken,
    #[error("sign-up is closed on this server")]
    SignupClosed,
    #[error("too many attempts; try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("“{name}” is taken in this folder: choose another name, or move or rename the one there")]
    NameTaken { name: String },
    #[error("{0}")]
    InvalidMove(String),
    #[error("uploading {size} bytes would exceed your quota of {quota} bytes ({used} used)")]
    QuotaExceeded { size: u64, used: u64, quota: u64 },
    #[error("the file is {size} bytes; the largest allowed is {max} bytes")]
    FileTooLarge { size: u64, max: u64 },
    #[error("the file is still uploading")]
    FileNotReady,
    #[error("the upload is already complete")]
    NotPending,
    #[error(
        "this upload is over: its file was completed, cancelled or deleted, so this URL takes no more bytes; begin a new upload"
    )]
    UploadClosed,
    #[error("the upload is not complete: {0}")]
    UploadIncomplete(String),
    #[error("stored size {stored} does not match the declared size {declared}")]
    SizeMismatch { declared: u64, stored: u64 },
    #[error("stored checksum {stored} does not match the declared checksum {declared}")]
    ChecksumMismatch { declared: String, stored: String },
    #[error("{}", link_message(*.0))]
    Link(LinkRefusal),
    #[error("this link needs a password")]
    PasswordRequired,
    #[error("wrong password for this link")]
    WrongPassword,
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error(
        "this verification link is not valid: it was already used, has expired or was never issued; ask for a new one"
    )]
    ProofInvalid,
    #[error("this link was sent to another address than the one you are signed in with; sign in with that address")]
    ProofForOtherAddress,
    #[error("the URL signature is not valid")]
    SignatureInvalid,
    #[error("the signed URL has expired; ask the API for a new one")]
    SignatureExpired,
    #[error("{0}")]
    InvalidRange(String),
    #[error("the range is outside the file's {size} bytes")]
    RangeNotSatisfiable { size: u64 },
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: u64 },
    #[error("this server sends no e-mail (no SMTP is configured)")]
    MailNotConfigured,
    #[error("this operation is not available on this deployment")]
    NotSupported,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

fn link_message(r: LinkRefusal) -> &'static str {
    match r {
        LinkRefusal::NotAvailable => "this link is not available",
        LinkRefusal::Expired => "this link has expired",
        LinkRefusal::Exhausted => "this link has reached its download limit",
    }
}

impl Error {
    /// The stable code clients match on. Never change one once shipped.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidRequest(_) => "invalid_request",
            Error::InvalidName(_) => "invalid_name",
            Error::InvalidEmail(_) => "invalid_email",
            Error::InvalidPassword(_) => "invalid_password",
            Error::InvalidChecksum(_) => "invalid_checksum",
            Error::InvalidSize(_) => "invalid_size",
            Error::Unauthenticated => "unauthenticated",
            Error::CsrfFailed => "csrf_failed",
            Error::InvalidCredentials => "invalid_credentials",
            Error::EmailTaken => "email_taken",
            Error::SignupClosed => "signup_closed",
            Error::RateLimited { .. } => "rate_limited",
            Error::NotFound { .. } => "not_found",
            Error::NameTaken { .. } => "name_taken",
            Error::InvalidMove(_) => "invalid_move",
            Error::QuotaExceeded { .. } => "quota_exceeded",
            Error::FileTooLarge { .. } => "file_too_large",
            Error::FileNotReady => "file_not_ready",
            Error::NotPending => "not_pending",
            Error::UploadClosed => "upload_closed",
            Error::UploadIncomplete(_) => "upload_incomplete",
            Error::SizeMismatch { .. } => "size_mismatch",
            Error::ChecksumMismatch { .. } => "checksum_mismatch",
            Error::Link(LinkRefusal::NotAvailable) => "link_not_available",
            Error::Link(LinkRefusal::Expired) => "link_expired",
            Error::Link(LinkRefusal::Exhausted) => "link_exhausted",
            Error::PasswordRequired => "password_required",
            Error::WrongPassword | Error::WrongCurrentPassword => "wrong_password",
            Error::ProofInvalid => "verification_invalid",
            Error::ProofForOtherAddress => "verification_other_address",
            Error::SignatureInvalid => "signature_invalid",
            Error::SignatureExpired => "signature_expired",
            Error::InvalidRange(_) => "invalid_range",
            Error::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::MailNotConfigured => "mail_not_configured",
            Error::NotSupported => "not_supported",
            Error::Internal(_) => "internal",
        }
    }

    pub fn internal(e: impl fmt::Display) -> Error {
        Error::Internal(anyhow::anyhow!("{e}"))
    }

    pub(crate) fn not_found(what: &'static str) -> Error {
        Error::NotFound { what }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Internal(e.into())
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Internal(e.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
