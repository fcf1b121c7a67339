//! Domain types that parse their input: past these constructors a file name,
//! an e-mail address or a checksum is known to be valid.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Random bytes from the OS-seeded CSPRNG, as URL-safe base64 that starts
/// with a letter or digit: ids and link tokens are typed as command-line
/// arguments, where a leading `-` reads as an option (`livedrop revoke
/// -Rx...`). Drawing again when it would not costs under a tenth of a bit.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    loop {
        rand::Rng::fill(&mut rand::rng(), &mut buf[..]);
        let token = URL_SAFE_NO_PAD.encode(&buf);
        if token.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return token;
        }
    }
}

/// SHA-256 as lowercase hex: how secrets (session, API and link tokens) are
/// stored, so that a reader of the database cannot use them.
pub fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh id with 128 random bits.
            pub fn generate() -> Self {
                Self(random_token(16))
            }

            /// Accepts ids made by this service or by Firebase (up to 128
            /// characters of `[A-Za-z0-9_-]`); anything else is not found.
            pub fn parse(s: &str) -> Result<Self> {
                if !s.is_empty() && s.len() <= 128 && s.chars().all(is_id_char) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(Error::not_found($what))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(UserId, "user");
id_type!(FileId, "file");
id_type!(LinkId, "link");
id_type!(ActivityId, "activity");
id_type!(FolderId, "folder");

/// A file's display name: what the user called it, never a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FileName(String);

impl FileName {
    pub const MAX_BYTES: usize = 255;

    pub fn parse(s: &str) -> Result<Self> {
        // Said of files and folders alike.
        let bad = |why: &str| Err(Error::InvalidName(format!("the name {why}")));
        if s.is_empty() {
            return bad("is empty");
        }
        if s.len() > Self::MAX_BYTES {
            return bad(&format!("is longer than {} bytes", Self::MAX_BYTES));
        }
        if s.chars().any(|c| c.is_control()) {
            return bad("contains a control character");
        }
        if s.contains('/') || s.contains('\\') {
            return bad("contains a slash; names are not paths");
        }
        if s == "." || s == ".." {
            return bad("is '.' or '..'");
        }
        if s.trim() != s {
            return bad("starts or ends with a space");
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What names are unique by within a folder: case-insensitively, as on
    /// the desktops people unpack a folder's ZIP on, where "Report.pdf" and
    /// "report.pdf" would be one file.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    /// The `n`-th name beside this one (`n` ≥ 2): "report (2).pdf",
    /// "archive (2).tar.gz" keeps its whole extension, "notes (2)". Trimmed
    /// at the end of the stem if that would pass the longest name.
    pub fn numbered(&self, n: u32) -> FileName {
        let s = self.0.as_str();
        // The extension starts at the first dot of a well-known double one,
        // else at the last dot, and never at a leading dot (".bashrc").
        let split = [".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst"]
            .iter()
            .find_map(|ext| {
                let i = s.len().checked_sub(ext.len())?;
                (i > 0 && s.is_char_boundary(i) && s[i..].eq_ignore_ascii_case(ext)).then_some(i)
            })
            .or_else(|| s.rfind('.').filter(|&i| i > 0));
        let (stem, ext) = s.split_at(split.unwrap_or(s.len()));
        let tail = format!(" ({n}){ext}");
        let mut stem = stem.to_owned();
        while stem.len() + tail.len() > Self::MAX_BYTES && !stem.is_empty() {
            stem.pop();
        }
        let stem = stem.trim_end();
        FileName(format!("{stem}{tail}"))
    }
}

/// What to do when an upload's name is taken in its folder by the time it
/// completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    /// Take the first free "name (n)".
    #[default]
    KeepBoth,
    /// The new file takes the name; the file that had it is deleted.
    Replace,
}

impl OnConflict {
    pub fn as_str(self) -> &'static str {
        match self {
            OnConflict::KeepBoth => "keep_both",
            OnConflict::Replace => "replace",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// A folder: files and folders under one name, in a folder or at the top
/// of its owner's files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Folder {
    pub id: FolderId,
    pub owner_id: UserId,
    /// The owner's address when the folder was made, as files keep it: what
    /// the people it is shared with see it "shared by".
    pub owner_email: Email,
    pub name: FileName,
    /// `None` at the top.
    #[serde(rename = "parent_id")]
    pub parent: Option<FolderId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An e-mail address, trimmed and lower-cased so that one person is one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim().to_lowercase();
        let bad = || Err(Error::InvalidEmail(format!("'{}' is not an e-mail address", truncate(&s, 80))));
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad();
        }
        match s.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.') =>
            {
                Ok(Self(s))
            }
            _ => bad(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The placeholder address of a profile whose address moved to another
    /// profile: unique, and no one's mailbox (`.invalid`, RFC 2606).
    pub fn moved_away(id: &UserId) -> Email {
        Email(format!("moved+{}@livedrop.invalid", id.as_str().to_lowercase()))
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A password as typed. Length limits only: long passphrases are welcome,
/// megabyte ones are a denial of service on argon2.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_BYTES: usize = 1024;

    pub fn parse(s: &str) -> Result<Self> {
        if s.chars().count() < Self::MIN_CHARS {
            return Err(Error::InvalidPassword(format!("the password needs at least {} characters", Self::MIN_CHARS)));
        }
        if s.len() > Self::MAX_BYTES {
            return Err(Error::InvalidPassword(format!("the password is longer than {} bytes", Self::MAX_BYTES)));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Hashes a password (an account's or a link's) with argon2id. Slow on
/// purpose: call it from a blocking thread.
pub fn hash_password(password: &Password) -> Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

/// Checks a password against an argon2 hash in constant time.
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// CRC32C (Castagnoli) of a file's bytes, written as Google Cloud Storage
/// writes it: base64 of the four big-endian bytes. GCS reports it for every
/// object, and hardware computes it faster than disks deliver bytes, so both
/// deployments can verify an upload without reading it through a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crc32c(pub u32);

impl Crc32c {
    pub fn parse(s: &str) -> Result<Self> {
        let bytes = STANDARD.decode(s.trim()).ok().filter(|b| b.len() == 4).ok_or_else(|| {
            Error::InvalidChecksum(
                "crc32c must be the base64 of 4 big-endian bytes, as in Google Cloud Storage (e.g. \"AAAAAA==\")"
                    .into(),
            )
        })?;
        Ok(Self(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])))
    }

    pub fn of(data: &[u8]) -> Self {
        Self(crc32c::crc32c(data))
    }

    pub fn encode(self) -> String {
        STANDARD.encode(self.0.to_be_bytes())
    }
}

impl std::fmt::Display for Crc32c {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.encode())
    }
}

impl Serialize for Crc32c {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

/// A MIME type as the client declared it; only its shape is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ContentType(String);

impl ContentType {
    pub fn parse(s: Option<&str>) -> Result<Self> {
        let s = s.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("application/octet-stream");
        let ok = s.len() <= 255 && s.contains('/') && s.chars().all(|c| c.is_ascii_graphic() || c == ' ');
        if !ok {
            return Err(Error::InvalidRequest(format!("'{}' is not a content type", truncate(s, 80))));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Types a browser may show inline on our origin without running
    /// anything: no HTML, no SVG, no XML (all can carry script).
    pub fn is_safe_inline(&self) -> bool {
        let essence = self.0.split(';').next().unwrap_or("").trim();
        matches!(
            essence,
            "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "image/avif" | "application/pdf" | "text/plain"
        ) || essence.starts_with("video/")
            || essence.starts_with("audio/")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Pending,
    Ready,
}

impl FileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FileStatus::Pending => "pending",
            FileStatus::Ready => "ready",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
}

/// A file's metadata. Its bytes live in the blob store under `id`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileRecord {
    pub id: FileId,
    pub owner_id: UserId,
    pub owner_email: Email,
    pub name: FileName,
    /// The folder it is in; `None` at the top.
    pub folder_id: Option<FolderId>,
    pub size: u64,
    pub content_type: ContentType,
    /// Declared at upload, verified against the stored bytes at completion.
    pub crc32c: Crc32c,
    pub status: FileStatus,
    /// Bytes stored so far, as the uploader last reported them while the
    /// upload is pending (for those watching its folder); `size` once ready.
    pub received: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The stored object's generation that completion verified, where the
    /// blob store has generations (GCS): downloads are signed for it.
    /// Kept, never shown.
    #[serde(skip)]
    pub generation: Option<i64>,
    /// What completing the upload does if the name is taken by then.
    /// Kept while pending, never shown.
    #[serde(skip)]
    pub on_conflict: OnConflict,
}

/// What a public link opens: one file, or a folder with everything in it
/// (what is in it when the link is used, not when it was made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    File(FileId),
    Folder(FolderId),
}

impl LinkTarget {
    /// The error for a target that is not there (any more).
    pub fn not_found(&self) -> crate::error::Error {
        crate::error::Error::not_found(match self {
            LinkTarget::File(_) => "file",
            LinkTarget::Folder(_) => "folder",
        })
    }
}

/// A public link. The token itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub id: LinkId,
    pub target: LinkTarget,
    pub owner_id: UserId,
    pub token_hash: String,
    pub password_hash: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub max_downloads: Option<u64>,
    pub downloads: u64,
    pub revoked: bool,
    pub created_at: Timestamp,
}

impl Link {
    /// Why the link may not be used at `now`, if it may not. Every backend
    /// asks this inside its transaction, so they agree on the rules.
    pub fn refusal(&self, now: Timestamp) -> Option<crate::error::LinkRefusal> {
        use crate::error::LinkRefusal;
        if self.revoked {
            Some(LinkRefusal::NotAvailable)
        } else if self.expires_at.is_some_and(|e| e <= now) {
            Some(LinkRefusal::Expired)
        } else if self.max_downloads.is_some_and(|m| self.downloads >= m) {
            Some(LinkRefusal::Exhausted)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Uploaded,
    Shared,
    Unshared,
    LinkCreated,
    LinkRevoked,
    Downloaded,
    /// Shown in the browser (a preview) by someone the file is shared with.
    Viewed,
    Renamed,
    /// Moved to another folder (detail: the folder's name, "" for the top).
    Moved,
    Deleted,
}

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::Uploaded => "uploaded",
            ActivityKind::Shared => "shared",
            ActivityKind::Unshared => "unshared",
            ActivityKind::LinkCreated => "link_created",
            ActivityKind::LinkRevoked => "link_revoked",
            ActivityKind::Downloaded => "downloaded",
            ActivityKind::Viewed => "viewed",
            ActivityKind::Renamed => "renamed",
            ActivityKind::Moved => "moved",
            ActivityKind::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }
}

/// One line of a file owner's activity log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    pub id: ActivityId,
    /// Whose log this is: the file's (or folder's) owner.
    pub owner_id: UserId,
    /// The file it is about; `None` for what is done to a whole folder.
    pub file_id: Option<FileId>,
    /// The folder, for what is done to a whole folder (a ZIP of it).
    pub folder_id: Option<FolderId>,
    /// The file's name, or the folder's.
    pub file_name: String,
    pub kind: ActivityKind,
    /// Who did it, when a signed-in person did.
    pub actor_id: Option<UserId>,
    pub actor_email: Option<Email>,
    /// The link it went through, for downloads through a public link.
    pub link_id: Option<LinkId>,
    /// Kind-specific detail: the other person's e-mail for shares, the old
    /// name for renames, the destination's name for moves ("" the top) and
    /// the folder's name for uploads into a folder.
    pub detail: Option<String>,
    pub at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tokens_never_read_as_command_line_options() {
        // A leading `-` made `livedrop revoke <link id>` fail now and then.
        for _ in 0..20_000 {
            let t = random_token(16);
            assert!(t.starts_with(|c: char| c.is_ascii_alphanumeric()), "{t}");
            assert_eq!(t.len(), 22, "still 128 bits, unpadded");
        }
        assert!(LinkId::generate().as_str().starts_with(|c: char| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn file_names_that_are_paths_or_control_characters_are_refused() {
        for bad in ["", "../etc/passwd", "a/b", "a\\b", "..", ".", "a\0b", "a\nb", " lead", "trail "] {
            assert!(FileName::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(FileName::parse(&"x".repeat(10_000)).is_err());
        assert_eq!(FileName::parse("report (final).pdf").unwrap().as_str(), "report (final).pdf");
        assert!(FileName::parse("Überweisung €.txt").is_ok());
    }

    #[test]
    fn numbered_names_keep_the_extension_and_the_length_limit() {
        let n = |s: &str, k| FileName::parse(s).unwrap().numbered(k).as_str().to_owned();
        assert_eq!(n("report.pdf", 2), "report (2).pdf");
        assert_eq!(n("notes", 3), "notes (3)");
        assert_eq!(n(".bashrc", 2), ".bashrc (2)");
        assert_eq!(n("photos.TAR.GZ", 2), "photos (2).TAR.GZ");
        assert_eq!(n("a.b.c", 10), "a.b (10).c");
        let long = format!("{}.txt", "x".repeat(251));
        let got = n(&long, 12);
        assert!(got.len() <= FileName::MAX_BYTES && got.ends_with(" (12).txt"), "{got}");
        assert!(FileName::parse(&got).is_ok());
        assert_eq!(FileName::parse("Ärger.PDF").unwrap().key(), "ärger.pdf");
    }

    #[test]
    fn emails_are_normalised_to_one_key_per_person() {
        assert_eq!(Email::parse("  Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
        for bad in ["", "ann", "@x", "ann@", "a b@x", "a@@x", "a@.x"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn crc32c_round_trips_in_gcs_form() {
        // RFC 3720 B.4: 32 bytes of zeros.
        let c = Crc32c::of(&[0u8; 32]);
        assert_eq!(c.0, 0x8a91_36aa);
        assert_eq!(Crc32c::parse(&c.encode()).unwrap(), c);
        assert!(Crc32c::parse("nope").is_err());
        assert!(Crc32c::parse("AAAAAAAA").is_err());
    }

    #[test]
    fn html_and_svg_are_never_inline() {
        for t in ["text/html", "image/svg+xml", "application/xhtml+xml", "text/xml"] {
            assert!(!ContentType::parse(Some(t)).unwrap().is_safe_inline());
        }
        assert!(ContentType::parse(Some("image/png")).unwrap().is_safe_inline());
    }
}
