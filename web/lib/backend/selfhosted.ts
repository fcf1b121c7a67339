// The self-hosted backend: the livedrop server's JSON API on the same origin,
// its blob endpoint for bytes, and its WebSocket feed for live data.

import { ApiError, NetworkError, errorFromBody, isAbort } from "./errors";
import { LISTING_LIMIT, WebSocketFeed } from "./feed";
import type {
  Activity,
  ArchivePage,
  ApiToken,
  Backend,
  BlobTransfer,
  Config,
  CreatedLink,
  CreatedToken,
  DeletedFolder,
  FileChange,
  FileDetails,
  FilePage,
  FileQuery,
  Features,
  FileRecord,
  Folder,
  FolderChange,
  FolderDetails,
  Link,
  LinkAccess,
  LinkArchivePage,
  LinkArchiveRequest,
  LinkDownloadOptions,
  LinkListing,
  LiveData,
  Me,
  NewLink,
  NewUpload,
  ProgressFn,
  PublicLink,
  SelectedItems,
  SessionState,
  Share,
  SignedUrl,
  UploadStart,
  UploadTarget,
  User,
} from "./types";

export type Method = "GET" | "POST" | "PATCH" | "DELETE" | "PUT";

const enc = encodeURIComponent;

/** Parses a resumable session's `Range: bytes=0-N` into the stored byte count. */
export function storedFromRange(range: string | null): number {
  if (!range) return 0;
  const m = /bytes=(\d+)-(\d+)/.exec(range);
  return m ? Number(m[2]) + 1 : 0;
}

/** Answers of a resumable session: 308 partial, 200/201 complete, 404/410 gone. */
export function sessionState(status: number, range: string | null): SessionState | null {
  if (status === 308) return { kind: "partial", stored: storedFromRange(range) };
  if (status === 200 || status === 201) return { kind: "complete" };
  if (status === 404 || status === 410) return { kind: "gone" };
  return null;
}

/** XMLHttpRequest, because fetch cannot report upload progress. */
function xhr(
  method: string,
  url: string,
  headers: [string, string][],
  body: Blob | null,
  onProgress: ProgressFn,
  signal: AbortSignal,
): Promise<{ status: number; text: string; header: (name: string) => string | null }> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new DOMException("aborted", "AbortError"));
      return;
    }
    const req = new XMLHttpRequest();
    req.open(method, url);
    for (const [k, v] of headers) req.setRequestHeader(k, v);
    req.upload.onprogress = (e) => onProgress(e.loaded);
    const abort = () => req.abort();
    signal.addEventListener("abort", abort, { once: true });
    req.onload = () => {
      signal.removeEventListener("abort", abort);
      resolve({
        status: req.status,
        text: req.responseText,
        header: (name) => req.getResponseHeader(name),
      });
    };
    req.onerror = () => {
      signal.removeEventListener("abort", abort);
      reject(new NetworkError("The connection was interrupted."));
    };
    req.onabort = () => {
      signal.removeEventListener("abort", abort);
      reject(new DOMException("aborted", "AbortError"));
    };
    req.send(body);
  });
}

export const blobTransfer: BlobTransfer = {
  async putWhole(target: UploadTarget, body: Blob, onProgress: ProgressFn, signal: AbortSignal) {
    const res = await xhr("PUT", target.url, target.headers, body, onProgress, signal);
    if (res.status < 200 || res.status >= 300) {
      throw errorFromBody(res.status, res.text, res.header("Retry-After"));
    }
  },

  async startSession(target: UploadTarget, signal: AbortSignal) {
    let res: Response;
    try {
      res = await fetch(target.url, { method: "POST", headers: target.headers, signal });
    } catch (e) {
      if (isAbort(e)) throw e;
      throw new NetworkError();
    }
    if (!res.ok) throw errorFromBody(res.status, await res.text(), res.headers.get("Retry-After"));
    const location = res.headers.get("Location");
    if (!location)
      throw new ApiError(res.status, "invalid_response", "No upload session was started.");
    return location;
  },

  async putChunk(location, chunk, first, total, onProgress, signal) {
    const last = first + chunk.size - 1;
    const res = await xhr(
      "PUT",
      location,
      [["Content-Range", `bytes ${first}-${last}/${total}`]],
      chunk,
      onProgress,
      signal,
    );
    const state = sessionState(res.status, res.header("Range"));
    if (state && state.kind !== "gone") return state;
    throw errorFromBody(res.status, res.text, res.header("Retry-After"));
  },

  async querySession(location, total, signal) {
    let res: Response;
    try {
      res = await fetch(location, {
        method: "PUT",
        headers: { "Content-Range": `bytes */${total}` },
        signal,
      });
    } catch (e) {
      if (isAbort(e)) throw e;
      throw new NetworkError();
    }
    const state = sessionState(res.status, res.headers.get("Range"));
    if (state) return state;
    throw errorFromBody(res.status, await res.text(), res.headers.get("Retry-After"));
  },
};

/** Reads the runtime config the page starts from. */
export async function fetchConfig(): Promise<Config> {
  let res: Response;
  try {
    res = await fetch("/api/config", { credentials: "same-origin" });
  } catch {
    throw new NetworkError();
  }
  if (!res.ok) throw errorFromBody(res.status, await res.text(), res.headers.get("Retry-After"));
  return (await res.json()) as Config;
}

export class SelfHostedBackend implements Backend {
  readonly transfer: BlobTransfer = blobTransfer;
  readonly features: Features = {
    apiTokens: true,
    googleSignIn: false,
    sessions: true,
    addressVerification: true,
  };
  private csrf: string | null = null;
  private feed: WebSocketFeed | null = null;

  constructor(readonly config: Config) {}

  /** Headers that say who is asking: the CSRF token (the session cookie goes by itself). */
  protected async authHeaders(method: Method): Promise<Record<string, string>> {
    return method !== "GET" && this.csrf ? { "X-CSRF-Token": this.csrf } : {};
  }

  /** Whether a failed request is worth one more try after putting things right. */
  protected async recover(err: ApiError, path: string): Promise<boolean> {
    // The token rotates with the session (another tab signed in again):
    // fetch the current one and try once more.
    if (err.code === "csrf_failed" && path !== "/api/me") {
      const me = await this.me().catch(() => null);
      return me !== null;
    }
    return false;
  }

  /**
   * One API call. `anonymous`: without credentials (public links), so that
   * cloud mode need not load the Firebase SDK for them.
   */
  protected async request<T>(
    method: Method,
    path: string,
    body?: unknown,
    { retried = false, anonymous = false }: { retried?: boolean; anonymous?: boolean } = {},
  ): Promise<T> {
    const headers: Record<string, string> = anonymous ? {} : await this.authHeaders(method);
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch {
      throw new NetworkError();
    }
    if (!res.ok) {
      const err = errorFromBody(res.status, await res.text(), res.headers.get("Retry-After"));
      if (!retried && !anonymous && (await this.recover(err, path))) {
        return this.request<T>(method, path, body, { retried: true });
      }
      throw err;
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async signUp(email: string, password: string): Promise<User> {
    const r = await this.request<{ user: User; csrf_token: string }>("POST", "/api/auth/signup", {
      email,
      password,
    });
    this.csrf = r.csrf_token;
    return r.user;
  }

  async signIn(email: string, password: string): Promise<User> {
    const r = await this.request<{ user: User; csrf_token: string }>("POST", "/api/auth/signin", {
      email,
      password,
    });
    this.csrf = r.csrf_token;
    return r.user;
  }

  signInWithGoogle(): Promise<User> {
    return Promise.reject(new ApiError(404, "not_supported", "This server has no Google sign-in."));
  }

  async signOut(): Promise<void> {
    try {
      await this.request<void>("POST", "/api/auth/signout");
    } finally {
      this.csrf = null;
      this.feed?.close();
      this.feed = null;
    }
  }

  async signOutOthers(): Promise<number> {
    return (await this.request<{ ended: number }>("POST", "/api/auth/signout-others", {})).ended;
  }

  async changePassword(current: string, next: string): Promise<number> {
    return (
      await this.request<{ ended: number }>("POST", "/api/auth/password", {
        current_password: current,
        new_password: next,
      })
    ).ended;
  }

  async verifyAddress(token: string): Promise<void> {
    await this.request("POST", "/api/auth/verify", { token });
  }

  async resendVerification(): Promise<boolean> {
    return (await this.request<{ sent: boolean }>("POST", "/api/auth/verify/resend", {})).sent;
  }

  async setDownloadNotices(on: boolean): Promise<void> {
    await this.request("PATCH", "/api/me", { download_notices: on });
  }

  async me(): Promise<Me | null> {
    try {
      const me = await this.request<Me>("GET", "/api/me");
      this.csrf = me.csrf_token;
      return me;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  }

  listFiles(q: FileQuery): Promise<FilePage> {
    const params = new URLSearchParams({ scope: q.scope });
    if (q.sort) params.set("sort", q.sort);
    if (q.order) params.set("order", q.order);
    if (q.limit) params.set("limit", String(q.limit));
    if (q.cursor) params.set("cursor", q.cursor);
    if (q.within !== undefined) params.set("within", q.within ?? "top");
    if (q.uploading) params.set("uploading", "true");
    return this.request("GET", `/api/files?${params}`);
  }

  getFile(id: string): Promise<FileDetails> {
    return this.request("GET", `/api/files/${enc(id)}`);
  }

  renameFile(id: string, name: string): Promise<FileRecord> {
    return this.updateFile(id, { name });
  }

  async updateFile(id: string, change: FileChange): Promise<FileRecord> {
    return (await this.request<{ file: FileRecord }>("PATCH", `/api/files/${enc(id)}`, change))
      .file;
  }

  async listFolders(parent: string | null): Promise<Folder[]> {
    const query = parent === null ? "" : `?parent=${enc(parent)}`;
    return (await this.request<{ folders: Folder[] }>("GET", `/api/folders${query}`)).folders;
  }

  async listSharedFolders(): Promise<Folder[]> {
    return (await this.request<{ folders: Folder[] }>("GET", "/api/folders?scope=shared")).folders;
  }

  getFolder(id: string): Promise<FolderDetails> {
    return this.request("GET", `/api/folders/${enc(id)}`);
  }

  async folderShares(folderId: string): Promise<Share[]> {
    return (await this.getFolder(folderId)).shares ?? [];
  }

  async shareFolder(folderId: string, email: string): Promise<Share> {
    return (
      await this.request<{ share: Share }>("POST", `/api/folders/${enc(folderId)}/shares`, {
        email,
      })
    ).share;
  }

  unshareFolder(folderId: string, email: string): Promise<void> {
    return this.request("DELETE", `/api/folders/${enc(folderId)}/shares/${enc(email)}`);
  }

  async createFolder(name: string, parent: string | null): Promise<Folder> {
    return (
      await this.request<{ folder: Folder }>("POST", "/api/folders", { name, parent_id: parent })
    ).folder;
  }

  async updateFolder(id: string, change: FolderChange): Promise<Folder> {
    return (await this.request<{ folder: Folder }>("PATCH", `/api/folders/${enc(id)}`, change))
      .folder;
  }

  async deleteFolder(id: string): Promise<DeletedFolder> {
    return (await this.request<{ deleted: DeletedFolder }>("DELETE", `/api/folders/${enc(id)}`))
      .deleted;
  }

  deleteFile(id: string): Promise<void> {
    return this.request("DELETE", `/api/files/${enc(id)}`);
  }

  downloadUrl(id: string, inline: boolean): Promise<SignedUrl> {
    return this.request("POST", `/api/files/${enc(id)}/download`, inline ? { inline } : {});
  }

  archivePage(
    folderId: string,
    cursor: string | null,
    options: { again?: boolean } = {},
  ): Promise<ArchivePage> {
    const body = { ...(cursor ? { cursor } : {}), ...(options.again ? { again: true } : {}) };
    return this.request("POST", `/api/folders/${enc(folderId)}/archive`, body);
  }

  selectionArchivePage(
    items: SelectedItems,
    cursor: string | null,
    options: { again?: boolean } = {},
  ): Promise<ArchivePage> {
    const body = {
      files: items.files,
      folders: items.folders,
      ...(cursor ? { cursor } : {}),
      ...(options.again ? { again: true } : {}),
    };
    return this.request("POST", "/api/archive", body);
  }

  async fileActivity(id: string): Promise<Activity[]> {
    return (await this.request<{ activity: Activity[] }>("GET", `/api/files/${enc(id)}/activity`))
      .activity;
  }

  async share(fileId: string, email: string): Promise<Share> {
    return (
      await this.request<{ share: Share }>("POST", `/api/files/${enc(fileId)}/shares`, { email })
    ).share;
  }

  unshare(fileId: string, email: string): Promise<void> {
    return this.request("DELETE", `/api/files/${enc(fileId)}/shares/${enc(email)}`);
  }

  async listLinks(fileId: string): Promise<Link[]> {
    return (await this.request<{ links: Link[] }>("GET", `/api/files/${enc(fileId)}/links`)).links;
  }

  createLink(fileId: string, options: NewLink): Promise<CreatedLink> {
    return this.request("POST", `/api/files/${enc(fileId)}/links`, options);
  }

  async folderLinks(folderId: string): Promise<Link[]> {
    return (await this.request<{ links: Link[] }>("GET", `/api/folders/${enc(folderId)}/links`))
      .links;
  }

  createFolderLink(folderId: string, options: NewLink): Promise<CreatedLink> {
    return this.request("POST", `/api/folders/${enc(folderId)}/links`, options);
  }

  revokeLink(linkId: string): Promise<void> {
    return this.request("DELETE", `/api/links/${enc(linkId)}`);
  }

  async listTokens(): Promise<ApiToken[]> {
    return (await this.request<{ tokens: ApiToken[] }>("GET", "/api/tokens")).tokens;
  }

  createToken(name: string, expiresInDays: number | null): Promise<CreatedToken> {
    return this.request("POST", "/api/tokens", {
      name,
      ...(expiresInDays !== null ? { expires_in_days: expiresInDays } : {}),
    });
  }

  revokeToken(id: string): Promise<void> {
    return this.request("DELETE", `/api/tokens/${enc(id)}`);
  }

  createUpload(upload: NewUpload): Promise<UploadStart> {
    return this.request("POST", "/api/uploads", upload);
  }

  async completeUpload(fileId: string): Promise<FileRecord> {
    return (
      await this.request<{ file: FileRecord }>("POST", `/api/uploads/${enc(fileId)}/complete`)
    ).file;
  }

  cancelUpload(fileId: string): Promise<void> {
    return this.request("DELETE", `/api/uploads/${enc(fileId)}`);
  }

  async reportProgress(fileId: string, received: number): Promise<FileRecord> {
    return (
      await this.request<{ file: FileRecord }>("POST", `/api/uploads/${enc(fileId)}/progress`, {
        received,
      })
    ).file;
  }

  async readText(url: string, maxBytes: number): Promise<string> {
    let res: Response;
    try {
      res = await fetch(url, { headers: { Range: `bytes=0-${maxBytes - 1}` } });
    } catch {
      throw new NetworkError();
    }
    if (!res.ok) throw errorFromBody(res.status, await res.text(), null);
    const buf = await res.arrayBuffer();
    return new TextDecoder("utf-8", { fatal: false }).decode(buf.slice(0, maxBytes));
  }

  async readBlob(url: string): Promise<Blob> {
    let res: Response;
    try {
      res = await fetch(url);
    } catch {
      throw new NetworkError();
    }
    if (!res.ok) throw errorFromBody(res.status, await res.text(), null);
    return res.blob();
  }

  linkInfo(token: string): Promise<PublicLink> {
    return this.request("GET", `/api/s/${enc(token)}`, undefined, { anonymous: true });
  }

  linkDownload(token: string, options: LinkDownloadOptions): Promise<SignedUrl> {
    return this.request("POST", `/api/s/${enc(token)}/download`, options, { anonymous: true });
  }

  linkList(token: string, options: LinkAccess & { folder_id?: string }): Promise<LinkListing> {
    return this.request("POST", `/api/s/${enc(token)}/list`, options, { anonymous: true });
  }

  linkArchivePage(token: string, request: LinkArchiveRequest): Promise<LinkArchivePage> {
    return this.request("POST", `/api/s/${enc(token)}/archive`, request, { anonymous: true });
  }

  live(): LiveData {
    if (!this.feed) {
      this.feed = new WebSocketFeed({
        connect: (url) => new WebSocket(url),
        location: window.location,
        // What the snapshot does not cover in full, a folder at a time.
        list: {
          folders: (parent) => this.listFolders(parent),
          files: async (parent) =>
            (
              await this.listFiles({
                scope: "mine",
                within: parent,
                sort: "updated",
                order: "desc",
                limit: LISTING_LIMIT,
                // Uploads in progress are shown in their folder's list.
                uploading: true,
              })
            ).files,
          shared_folders: (parent) =>
            parent === null ? this.listSharedFolders() : this.listFolders(parent),
          shared: async (parent) =>
            (
              await this.listFiles({
                scope: "shared",
                within: parent,
                sort: "updated",
                order: "desc",
                limit: LISTING_LIMIT,
                // Uploads in progress are shown in their folder's list.
                uploading: true,
              })
            ).files,
          folder: (id) => this.getFolder(id),
        },
      });
    }
    return this.feed;
  }
}
