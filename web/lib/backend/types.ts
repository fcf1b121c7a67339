// The shapes the app works with, and the interface every deployment's
// backend implements. Wire types follow the API contract
// (src/http/openapi.json); components import only from here and from
// `@/lib/backend`.

export type Mode = "self-hosted" | "cloud";

export interface Config {
  mode: Mode;
  signup_open: boolean;
  max_file_size: number;
  resumable_threshold: number;
  /** Whether this server sends e-mail (SMTP is configured). */
  mail: boolean;
  /**
   * Firebase web config (apiKey, authDomain, projectId, ...), in cloud mode
   * only; `emulators: { auth, firestore }` when the server uses them.
   */
  firebase?: Record<string, unknown>;
}

export interface User {
  id: string;
  email: string;
}

export interface Usage {
  used: number;
  quota: number;
}

export interface Me {
  user: User;
  /** Null when the request was made with a bearer token, not the cookie. */
  csrf_token: string | null;
  /**
   * Whether I have proved my address is mine (always true in the cloud).
   * Until then nothing shared with it reaches me.
   */
  email_verified: boolean;
  /** Whether I get a letter when someone downloads one of my files. */
  download_notices: boolean;
  usage: Usage;
  max_file_size: number;
}

export type FileStatus = "pending" | "ready";

export interface FileRecord {
  id: string;
  owner_id: string;
  owner_email: string;
  name: string;
  size: number;
  content_type: string;
  crc32c: string;
  status: FileStatus;
  /**
   * Bytes stored so far, as the uploader reports them (while pending); equals
   * `size` once ready. Older servers leave it out: read it with `receivedOf`.
   */
  received?: number;
  created_at: string;
  updated_at: string;
  /** The folder it is in; null at the top. */
  folder_id: string | null;
}

/** One of my folders. Names are unique (case-insensitively) among the files and folders beside it. */
export interface Folder {
  id: string;
  owner_id: string;
  /** The owner's address: who it is shared by. */
  owner_email: string;
  name: string;
  /** The folder it is in; null at the top. */
  parent_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface FolderDetails {
  folder: Folder;
  /**
   * The folders above it, the top first: its breadcrumbs. For someone it is
   * shared with, from the folder shared with them down.
   */
  path: Folder[];
  /** Only for the owner: the people and invitations the folder itself is shared with. */
  shares?: Share[];
}

/** What deleting a folder removed, itself included. */
export interface DeletedFolder {
  folders: number;
  files: number;
}

/** A change to a folder's name or place; a field left out stays as it is. */
export interface FolderChange {
  name?: string;
  /** null: to the top. */
  parent_id?: string | null;
}

/** A change to a file's name or place; a field left out stays as it is. */
export interface FileChange {
  name?: string;
  /** null: to the top. */
  folder_id?: string | null;
}

export interface Share {
  email: string;
  user_id: string | null;
  /**
   * True while no account has proved the address: the share waits as an
   * invitation.
   */
  pending: boolean;
  /**
   * Only when the server sends no mail, on the answer to a pending share:
   * the invitation's link (a path in the app) for the owner to pass on.
   */
  invite_url?: string;
}

/** A public link, to a file or to a folder (with everything in it). */
export interface Link {
  id: string;
  /** The file it is a link to; null for a folder's link. */
  file_id: string | null;
  /** The folder it is a link to; null for a file's link. */
  folder_id: string | null;
  has_password: boolean;
  expires_at: string | null;
  max_downloads: number | null;
  downloads: number;
  revoked: boolean;
  created_at: string;
}

export interface CreatedLink {
  link: Link;
  token: string;
  /** Relative: "/s/<token>". */
  url: string;
}

export interface FileDetails {
  file: FileRecord;
  /** Only for the owner. */
  shares?: Share[];
  /** Only for the owner. */
  links?: Link[];
}

export type ActivityKind =
  | "uploaded"
  | "shared"
  | "unshared"
  | "link_created"
  | "link_revoked"
  | "downloaded"
  | "viewed"
  | "renamed"
  | "moved"
  | "deleted";

export interface Activity {
  id: string;
  owner_id: string;
  /** null for what is done to a whole folder (downloaded as ZIP). */
  file_id: string | null;
  /** The folder, for what is done to a whole folder. */
  folder_id: string | null;
  /** The file's name, or the folder's. */
  file_name: string;
  kind: ActivityKind;
  actor_id: string | null;
  actor_email: string | null;
  link_id: string | null;
  /**
   * renamed: the old name; moved: the destination folder's name ("" for
   * the top); uploaded: the folder it went into (null at the top);
   * shared/unshared: the address; a folder downloaded: "zip".
   */
  detail: string | null;
  at: string;
}

export interface ApiToken {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  /** When it stops working by itself; null: when revoked. */
  expires_at: string | null;
}

export interface CreatedToken {
  token: ApiToken;
  /** "ldt_...": shown once. */
  secret: string;
}

export interface SignedUrl {
  url: string;
  expires_at: string;
}

/**
 * One page of a folder's archive (POST /api/folders/{id}/archive): what a
 * ZIP of it holds, in the order it is written (depth first, each folder's
 * files before the folders in it, by name), each file with a signed URL
 * fresh for this page.
 */
export interface ArchivePage {
  /** The folder's name: the archive is "<name>.zip", its entries under "<name>/". */
  name: string;
  entries: ArchiveEntry[];
  /** Pass back for the next page; null after the last. */
  next_cursor: string | null;
}

export type ArchiveEntry =
  | {
      kind: "folder";
      /** Relative to the archived folder, names joined by "/". */
      path: string;
      updated_at: string;
    }
  | {
      kind: "file";
      path: string;
      file_id: string;
      size: number;
      updated_at: string;
      /** Signed GET for the file's bytes, and when it stops working. */
      url: string;
      expires_at: string;
    };

/**
 * Some files and folders, by id, for one ZIP (POST /api/archive): all in
 * one folder, or all at the top of my files; at most SELECTION_ZIP_LIMIT in
 * all.
 */
export interface SelectedItems {
  files: string[];
  folders: string[];
}

/** How many selected items one ZIP takes at most (the server refuses more). */
export const SELECTION_ZIP_LIMIT = 1000;

export interface UploadTarget {
  method: "PUT" | "POST";
  url: string;
  headers: [string, string][];
  resumable: boolean;
}

export interface UploadStart {
  file: FileRecord;
  upload: UploadTarget;
}

/**
 * What completing an upload does if its name is taken in its folder by then:
 * keep both (the server names the new one "report (2).pdf"), or replace the
 * file that has it.
 */
export type OnConflict = "keep_both" | "replace";

export interface NewUpload {
  name: string;
  size: number;
  content_type: string;
  crc32c: string;
  /** The folder it goes in; null or left out: the top. */
  folder_id?: string | null;
  on_conflict?: OnConflict;
}

export interface NewLink {
  expires_in_seconds?: number;
  password?: string;
  max_downloads?: number;
}

/** What a public link's page shows before anything is downloaded (GET /api/s/{token}). */
export type PublicLink = PublicFileLink | PublicFolderLink;

interface PublicLinkCommon {
  /** The file's name, or the folder's. */
  name: string;
  password_required: boolean;
  expires_at: string | null;
  /** Downloads (previews and ZIPs included) the link still allows; null: no limit. */
  downloads_left: number | null;
}

export interface PublicFileLink extends PublicLinkCommon {
  kind: "file";
  size: number;
  content_type: string;
}

export interface PublicFolderLink extends PublicLinkCommon {
  kind: "folder";
  size: null;
  content_type: null;
}

/** A folder seen through a folder's public link. */
export interface LinkFolder {
  id: string;
  name: string;
  updated_at: string;
}

/** A ready file seen through a folder's public link. */
export interface LinkFile {
  id: string;
  name: string;
  size: number;
  content_type: string;
  updated_at: string;
}

/** One folder of a folder's public link (POST /api/s/{token}/list). */
export interface LinkListing {
  folder: LinkFolder;
  /**
   * Its breadcrumbs: from the linked folder down to the folder above it
   * (empty for the linked folder itself).
   */
  path: { id: string; name: string }[];
  folders: LinkFolder[];
  files: LinkFile[];
}

/** What a call through a public link may carry. */
export interface LinkAccess {
  /** The link's password, when it has one. */
  password?: string;
}

export interface LinkDownloadOptions extends LinkAccess {
  inline?: boolean;
  /** A folder's link: the file, anywhere inside the linked folder (required). */
  file_id?: string;
}

/**
 * A page of a folder link's archive (POST /api/s/{token}/archive). The
 * first call carries the password and counts one download; it answers a
 * ticket, which every later call for the same archive sends instead.
 */
export interface LinkArchiveRequest extends LinkAccess {
  /** A folder inside the linked one; left out: the linked folder. */
  folder_id?: string;
  cursor?: string | null;
  ticket?: string;
}

export interface LinkArchivePage extends ArchivePage {
  /** Good for 24 h, for this link and this folder_id: later pages and re-signing. */
  ticket: string;
}

export type SortKey = "name" | "size" | "created" | "updated";
export type SortOrder = "asc" | "desc";

export interface FileQuery {
  scope: "mine" | "shared";
  sort?: SortKey;
  order?: SortOrder;
  limit?: number;
  cursor?: string;
  /**
   * The files directly in this folder (null: my files at the top); left
   * out: all. A folder id works in either scope for a folder I own or one
   * shared with me (the files are listed as its owner's).
   */
  within?: string | null;
  /**
   * Uploads in progress too (status "pending", with `received`), in the same
   * order as the ready files; left out: ready files only.
   */
  uploading?: boolean;
}

export interface FilePage {
  files: FileRecord[];
  next_cursor: string | null;
}

/** Where a resumable session stands. */
export type SessionState =
  { kind: "partial"; stored: number } | { kind: "complete" } | { kind: "gone" };

export type ProgressFn = (loadedInThisRequest: number) => void;

/**
 * Moving bytes to and from signed URLs: the same GCS-shaped protocol for the
 * self-hosted blob endpoint and Cloud Storage.
 */
export interface BlobTransfer {
  /** One request with the whole body. */
  putWhole(
    target: UploadTarget,
    body: Blob,
    onProgress: ProgressFn,
    signal: AbortSignal,
  ): Promise<void>;
  /** Starts a resumable session; returns its Location. */
  startSession(target: UploadTarget, signal: AbortSignal): Promise<string>;
  /** Sends bytes [first, first + chunk.size) of total; says what is stored after. */
  putChunk(
    location: string,
    chunk: Blob,
    first: number,
    total: number,
    onProgress: ProgressFn,
    signal: AbortSignal,
  ): Promise<SessionState>;
  /** Asks a session how much it holds (after a drop or a reload). */
  querySession(location: string, total: number, signal: AbortSignal): Promise<SessionState>;
}

export type LiveStatus = "connecting" | "live" | "reconnecting" | "offline";

export type Unsubscribe = () => void;

/**
 * Live data: listener semantics (the whole current set on subscribe, then the
 * new set after every change). Self-hosted: the server's WebSocket feed;
 * cloud: Firestore listeners.
 */
export interface LiveData {
  subscribeFiles(onChange: (files: FileRecord[]) => void): Unsubscribe;
  subscribeShared(onChange: (files: FileRecord[]) => void): Unsubscribe;
  /** Activity on my files, newest first. */
  subscribeActivity(onChange: (activity: Activity[]) => void): Unsubscribe;
  /** My folders directly in `parent` (null: the top). */
  subscribeFolders(parent: string | null, onChange: (folders: Folder[]) => void): Unsubscribe;
  /**
   * My files directly in `parent` (null: the top): ready ones, and uploads
   * in progress (status "pending", with `received`).
   */
  subscribeFilesIn(parent: string | null, onChange: (files: FileRecord[]) => void): Unsubscribe;
  /**
   * Folders shared with me: with `parent` null, the ones shared with me
   * themselves (the top of "Shared with me"); else those directly in
   * `parent`, a folder I see through a share of it or of one above it.
   */
  subscribeSharedFolders(parent: string | null, onChange: (folders: Folder[]) => void): Unsubscribe;
  /**
   * The files directly in `parent`, a folder shared with me (it or one above
   * it): ready ones, and uploads in progress into it.
   */
  subscribeSharedFilesIn(parent: string, onChange: (files: FileRecord[]) => void): Unsubscribe;
  subscribeStatus(onChange: (status: LiveStatus) => void): Unsubscribe;
  close(): void;
}

/** What a deployment offers beyond the common API. */
export interface Features {
  /** API tokens for the CLI (self-hosted: the cloud CLI signs in with Firebase). */
  apiTokens: boolean;
  /** "Continue with Google" (Firebase Auth, cloud). */
  googleSignIn: boolean;
  /**
   * "Sign out everywhere else" and the password change (self-hosted: in the
   * cloud, Firebase Auth owns sessions and passwords).
   */
  sessions: boolean;
  /**
   * Proving one's address with a letter or an invitation link (self-hosted:
   * in the cloud, Firebase Auth verifies addresses).
   */
  addressVerification: boolean;
}

/** Everything the app asks of a deployment. */
export interface Backend {
  readonly config: Config;
  readonly features: Features;

  signUp(email: string, password: string): Promise<User>;
  signIn(email: string, password: string): Promise<User>;
  /** Only where features.googleSignIn. */
  signInWithGoogle(): Promise<User>;
  signOut(): Promise<void>;
  /** null when nobody is signed in. */
  me(): Promise<Me | null>;
  /**
   * Ends every other session of mine (their live feeds close); says how
   * many ended. Only where features.sessions.
   */
  signOutOthers(): Promise<number>;
  /**
   * Changes my password and ends every other session; says how many ended.
   * Only where features.sessions.
   */
  changePassword(current: string, next: string): Promise<number>;
  /**
   * Proves my address with the token of a confirmation letter or an
   * invitation link. Only where features.addressVerification.
   */
  verifyAddress(token: string): Promise<void>;
  /**
   * Sends the confirmation letter again; false when my address is verified
   * already. Only where features.addressVerification and config.mail.
   */
  resendVerification(): Promise<boolean>;
  /** Whether I get a letter when someone downloads one of my files. */
  setDownloadNotices(on: boolean): Promise<void>;

  listFiles(query: FileQuery): Promise<FilePage>;
  getFile(id: string): Promise<FileDetails>;
  renameFile(id: string, name: string): Promise<FileRecord>;
  /** Renames and/or moves one of my files (409 name_taken). */
  updateFile(id: string, change: FileChange): Promise<FileRecord>;
  deleteFile(id: string): Promise<void>;
  downloadUrl(id: string, inline: boolean): Promise<SignedUrl>;
  fileActivity(id: string): Promise<Activity[]>;

  /**
   * My folders directly in `parent` (null: the top), by name; `parent` may
   * also be a folder shared with me (it or one above it).
   */
  listFolders(parent: string | null): Promise<Folder[]>;
  /** The folders shared with me themselves, by name. */
  listSharedFolders(): Promise<Folder[]>;
  getFolder(id: string): Promise<FolderDetails>;
  /**
   * One page of what a ZIP of the folder holds (owner or whoever it is
   * shared with). The first page is logged as a download of the folder;
   * `again` asks for a page a second time only to re-sign its URLs.
   */
  archivePage(
    folderId: string,
    cursor: string | null,
    options?: { again?: boolean },
  ): Promise<ArchivePage>;
  /**
   * One page of what a ZIP of some files and folders of one folder holds,
   * as archivePage: its `name` is the folder they are in ("My files" at the
   * top), its paths start at the selected items ("a.txt", "Trip/x.jpg").
   * 404 for an item I cannot see, 409 file_not_ready for a file still
   * uploading.
   */
  selectionArchivePage(
    items: SelectedItems,
    cursor: string | null,
    options?: { again?: boolean },
  ): Promise<ArchivePage>;
  /** 409 name_taken when a file or folder there has the name. */
  createFolder(name: string, parent: string | null): Promise<Folder>;
  /** Renames and/or moves a folder with everything in it (409 name_taken, invalid_move). */
  updateFolder(id: string, change: FolderChange): Promise<Folder>;
  /** Deletes the folder and everything in it. */
  deleteFolder(id: string): Promise<DeletedFolder>;

  share(fileId: string, email: string): Promise<Share>;
  unshare(fileId: string, email: string): Promise<void>;
  /** Who one of my folders is shared with (itself, not through a folder above it). */
  folderShares(folderId: string): Promise<Share[]>;
  /** Shares one of my folders, and everything in it, with a person by e-mail. */
  shareFolder(folderId: string, email: string): Promise<Share>;
  /** Takes one of my folders back from a person (or their invitation). */
  unshareFolder(folderId: string, email: string): Promise<void>;
  listLinks(fileId: string): Promise<Link[]>;
  createLink(fileId: string, options: NewLink): Promise<CreatedLink>;
  /** The public links of one of my folders (revoked ones included). */
  folderLinks(folderId: string): Promise<Link[]>;
  /** A public link to one of my folders, with everything in it. */
  createFolderLink(folderId: string, options: NewLink): Promise<CreatedLink>;
  /** Ends a link, a file's or a folder's. */
  revokeLink(linkId: string): Promise<void>;

  listTokens(): Promise<ApiToken[]>;
  /** A token that ends by itself after `expiresInDays`, or when revoked (null). */
  createToken(name: string, expiresInDays: number | null): Promise<CreatedToken>;
  revokeToken(id: string): Promise<void>;

  createUpload(upload: NewUpload): Promise<UploadStart>;
  completeUpload(fileId: string): Promise<FileRecord>;
  cancelUpload(fileId: string): Promise<void>;
  /**
   * Tells the server how many bytes of a pending upload of mine are stored,
   * for the people watching its folder (a smaller number than it has is
   * ignored; 409 not_pending once it is ready).
   */
  reportProgress(fileId: string, received: number): Promise<FileRecord>;
  readonly transfer: BlobTransfer;

  /** The first maxBytes of a signed URL, as text (for previews). */
  readText(url: string, maxBytes: number): Promise<string>;
  /** A signed URL's whole body (for previews that must not be framed from the network). */
  readBlob(url: string): Promise<Blob>;

  linkInfo(token: string): Promise<PublicLink>;
  /** A signed URL through a link; counted against its limit (previews too). */
  linkDownload(token: string, options: LinkDownloadOptions): Promise<SignedUrl>;
  /** One folder of a folder's link (`folder_id` left out: the linked folder); not counted. */
  linkList(token: string, options: LinkAccess & { folder_id?: string }): Promise<LinkListing>;
  /** A page of a folder link's archive (see LinkArchiveRequest). */
  linkArchivePage(token: string, request: LinkArchiveRequest): Promise<LinkArchivePage>;

  /** Starts the live-data source on first use. */
  live(): LiveData;
}
