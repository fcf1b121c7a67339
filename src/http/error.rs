//! The one place where errors become HTTP responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{Error, LinkRefusal};

impl Error {
    pub fn status(&self) -> StatusCode {
        use Error::*;
        match self {
            InvalidRequest(_) | InvalidName(_) | InvalidEmail(_) | InvalidPassword(_) | InvalidChecksum(_)
            | InvalidSize(_) | InvalidRange(_) => StatusCode::BAD_REQUEST,
            SizeMismatch { .. } | ChecksumMismatch { .. } | UploadIncomplete(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Unauthenticated | InvalidCredentials | PasswordRequired => StatusCode::UNAUTHORIZED,
            CsrfFailed
            | SignupClosed
            | WrongPassword
            | WrongCurrentPassword
            | ProofForOtherAddress
            | SignatureInvalid
            | SignatureExpired
            | QuotaExceeded { .. } => StatusCode::FORBIDDEN,
            NotFound { .. } | Link(LinkRefusal::NotAvailable) | ProofInvalid | NotSupported => StatusCode::NOT_FOUND,
            Link(_) => StatusCode::GONE,
            EmailTaken
            | FileNotReady
            | NotPending
            | UploadClosed
            | MailNotConfigured
            | NameTaken { .. }
            | InvalidMove(_) => StatusCode::CONFLICT,
            FileTooLarge { .. } | PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Error::Internal(cause) = &self {
            // The cause is for the log only; clients get a stable code.
            tracing::error!(error = ?cause, "internal error");
        }
        let body = serde_json::json!({ "error": { "code": self.code(), "message": self.to_string() } });
        let mut resp = (status, axum::Json(body)).into_response();
        match &self {
            Error::RateLimited { retry_after_secs } => {
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Error::RangeNotSatisfiable { size } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    resp.headers_mut().insert(header::CONTENT_RANGE, v);
                }
            }
            _ => {}
        }
        resp
    }
}
