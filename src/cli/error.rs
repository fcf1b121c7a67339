//! What can go wrong in the client, as stable exit codes and clear messages.
//!
//! Scripts may rely on these exit codes (also listed in `livedrop --help`):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | anything else: the server failed, or answered something unexpected |
//! | 2 | usage: a bad argument, option or value (also clap's own errors) |
//! | 3 | not signed in, or the login is no longer valid (revoked or expired), or a wrong account password |
//! | 4 | not found: no such file, folder, share or link, or it is not yours to see |
//! | 5 | the server cannot be reached |
//! | 6 | a local file problem: missing, unreadable, a directory, or would be overwritten without `--force` |
//! | 7 | refused by the server: quota, size limit, expired or used-up link, wrong link password, rate limit, sign-up closed, e-mail taken |
//! | 8 | integrity: the bytes do not match their checksum |
//! | 9 | conflict in your folders: the name is taken where it would go (`name_taken`, also a file where a folder is needed), or a folder cannot go there: into itself or a folder within it, or deeper than 32 folders (`invalid_move`) |
//!
//! Paths: every command that names a file or folder takes a path from the
//! top, `Trip/day 1/img1.jpg` (names match case-insensitively, as the server
//! keeps them unique within a folder), or an id; a bare name is a file or
//! folder at the top, or a file shared with you.

use std::fmt;

/// The exit code of a failed command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Failure = 1,
    Usage = 2,
    Auth = 3,
    NotFound = 4,
    Unreachable = 5,
    LocalFile = 6,
    Refused = 7,
    Integrity = 8,
    Conflict = 9,
}

/// The exit codes for `--help`.
pub const EXIT_CODES_HELP: &str = "\
Paths:
  Commands that name a file or folder take a path from the top, e.g.
  'Trip/day 1/img1.jpg' (names match case-insensitively), or an id. A bare
  name is a file or folder at the top, or else a file shared with you.

Exit codes:
  0  success
  1  other failure (server error, unexpected answer)
  2  usage error (bad argument or option)
  3  not signed in, login revoked or expired, or wrong account password
  4  not found (no such file, folder, share or link, or not yours)
  5  server unreachable
  6  local file problem (missing, unreadable, or exists without --force)
  7  refused by the server (quota, size limit, link expired or used up, wrong link password, rate limit)
  8  checksum mismatch
  9  conflict in your folders: the name is taken there, or a folder cannot move
     there (into itself or a folder within it, or deeper than 32 folders)

Environment:
  LIVEDROP_SERVER      the server, instead of --server or the last login
  LIVEDROP_TOKEN       an API token to use instead of the stored login (for scripts and CI)
  LIVEDROP_CONFIG_DIR  where logins and unfinished transfers are kept
                       (default: $XDG_CONFIG_HOME/livedrop, i.e. ~/.config/livedrop)
  LIVEDROP_CHUNK_SIZE  bytes per request of a resumable upload, e.g. 64MiB
                       (default: the rest of the file in one request)
  CRON_SECRET          the server's secret, for `livedrop sweep`";

#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
    /// What to do about it, when there is something to do.
    pub hint: Option<String>,
    /// The server's stable error code, when the server refused.
    pub code: Option<String>,
}

pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self { exit, message: message.into(), hint: None, code: None }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }

    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(Exit::Failure, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Exit::NotFound, message)
    }

    pub fn local(message: impl Into<String>) -> Self {
        Self::new(Exit::LocalFile, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Exit::Conflict, message)
    }

    /// A local file operation that failed, worded for a person.
    pub fn io(what: &str, path: &std::path::Path, e: &std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        let p = path.display();
        let msg = match e.kind() {
            NotFound => format!("{p}: no such file or directory"),
            PermissionDenied => format!("cannot {what} {p}: permission denied"),
            IsADirectory => format!("{p} is a directory, not a file"),
            _ => format!("cannot {what} {p}: {e}"),
        };
        Self::local(msg)
    }

    /// An error answer of the livedrop API (`{"error":{"code","message"}}`).
    pub fn api(status: u16, code: &str, message: &str) -> Self {
        let exit = match code {
            "unauthenticated" | "invalid_credentials" => Exit::Auth,
            "not_found" | "link_not_available" => Exit::NotFound,
            "checksum_mismatch" | "size_mismatch" => Exit::Integrity,
            // Before the `invalid_` rule: a move can be impossible however it is asked.
            "name_taken" | "invalid_move" => Exit::Conflict,
            "quota_exceeded"
            | "file_too_large"
            | "link_expired"
            | "link_exhausted"
            | "wrong_password"
            | "password_required"
            | "rate_limited"
            | "signup_closed"
            | "email_taken"
            | "csrf_failed"
            | "file_not_ready"
            | "not_pending"
            | "not_supported"
            | "signature_expired"
            | "signature_invalid"
            | "verification_invalid"
            | "verification_other_address"
            | "mail_not_configured" => Exit::Refused,
            c if c.starts_with("invalid_") => Exit::Usage,
            _ if status == 404 => Exit::NotFound,
            _ if status == 401 => Exit::Auth,
            _ => Exit::Failure,
        };
        let message = if message.is_empty() { format!("the server answered {status}") } else { message.to_owned() };
        Self { exit, message, hint: None, code: Some(code.to_owned()) }
    }

    pub fn exit_code(&self) -> u8 {
        self.exit as u8
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codes_map_to_stable_exit_codes() {
        assert_eq!(CliError::api(401, "unauthenticated", "sign in first").exit, Exit::Auth);
        assert_eq!(CliError::api(404, "not_found", "file not found").exit, Exit::NotFound);
        assert_eq!(CliError::api(410, "link_exhausted", "x").exit, Exit::Refused);
        assert_eq!(CliError::api(400, "invalid_name", "x").exit, Exit::Usage);
        assert_eq!(CliError::api(422, "checksum_mismatch", "x").exit, Exit::Integrity);
        assert_eq!(CliError::api(500, "internal", "x").exit, Exit::Failure);
        assert_eq!(CliError::api(404, "something_new", "x").exit, Exit::NotFound);
        assert_eq!(CliError::api(409, "name_taken", "x").exit, Exit::Conflict);
        assert_eq!(CliError::api(409, "invalid_move", "x").exit, Exit::Conflict);
        assert_eq!(Exit::Conflict as u8, 9);
    }
}
