// The cloud backend: the same JSON API (served by Vercel functions), with a
// Firebase Auth ID token as the bearer credential instead of a cookie, bytes
// on Cloud Storage's signed URLs, and live data from Firestore listeners.
//
// Loaded only by `import("./cloud")` in cloud mode (lib/backend/index.ts),
// so the Firebase SDK never reaches a self-hosted page.

import { initializeApp } from "firebase/app";
import {
  GoogleAuthProvider,
  connectAuthEmulator,
  createUserWithEmailAndPassword,
  getAuth,
  sendEmailVerification,
  signInWithEmailAndPassword,
  signInWithPopup,
  signOut as firebaseSignOut,
  type Auth,
  type User as FirebaseUser,
} from "firebase/auth";
import {
  collection,
  connectFirestoreEmulator,
  getFirestore,
  limit,
  onSnapshot,
  orderBy,
  query,
  where,
  type Firestore,
  type Query,
} from "firebase/firestore";
import { authError, firebaseConfig, trackingTransfer } from "./cloud-helpers";
import { ApiError } from "./errors";
import { ACTIVITY_LIMIT } from "./feed";
import { FirestoreLive, type Listen, type LiveCollection } from "./firestore-live";
import { SelfHostedBackend, blobTransfer, type Method } from "./selfhosted";
import type {
  ApiToken,
  BlobTransfer,
  Config,
  CreatedToken,
  Features,
  LiveData,
  Me,
  User,
} from "./types";

/** As many files per live list as the self-hosted feed sends. */
const LIST_LIMIT = 1000;

function notSupported(): Promise<never> {
  return Promise.reject(
    new ApiError(
      404,
      "not_supported",
      "API tokens are for self-hosted servers. In the cloud, the command-line client signs in with your account.",
    ),
  );
}

export class CloudBackend extends SelfHostedBackend {
  override readonly transfer: BlobTransfer = trackingTransfer(blobTransfer);
  override readonly features: Features = { apiTokens: false, googleSignIn: true };
  private readonly auth: Auth;
  private readonly db: Firestore;
  private readonly ready: Promise<void>;
  private liveData: FirestoreLive | null = null;
  /** Addresses need no verification on the Auth emulator (the server says so too). */
  private readonly emulated: boolean;

  constructor(config: Config) {
    super(config);
    const fb = firebaseConfig(config);
    this.emulated = fb.authEmulator !== null;
    const app = initializeApp(fb.options, "livedrop");
    this.auth = getAuth(app);
    if (fb.authEmulator) connectAuthEmulator(this.auth, fb.authEmulator, { disableWarnings: true });
    this.db = getFirestore(app);
    if (fb.firestoreEmulator) {
      connectFirestoreEmulator(this.db, fb.firestoreEmulator[0], fb.firestoreEmulator[1]);
    }
    // Signed out in another tab: the listeners are refused from then on,
    // the live status goes offline, and the session sends this tab to sign-in.
    this.ready = this.auth.authStateReady();
  }

  protected override async authHeaders(): Promise<Record<string, string>> {
    await this.ready;
    const user = this.auth.currentUser;
    // getIdToken refreshes the token when it is about to expire.
    return user ? { Authorization: `Bearer ${await user.getIdToken()}` } : {};
  }

  protected override async recover(err: ApiError): Promise<boolean> {
    // A token the server refused (expired in the meantime, revoked): once
    // more with a fresh one.
    const user = this.auth.currentUser;
    if (err.status !== 401 || !user) return false;
    try {
      await user.getIdToken(true);
      return true;
    } catch {
      return false;
    }
  }

  private async api<T>(method: Method, path: string, body?: unknown): Promise<T> {
    return this.request<T>(method, path, body);
  }

  /**
   * After Firebase has signed someone in: the API's view of them (which
   * also stores their profile and turns invitations into shares). An
   * address the provider has not verified is refused by the API in
   * production: send the verification mail and say so.
   */
  private async welcome(user: FirebaseUser): Promise<User> {
    const me = await this.me();
    if (me) return me.user;
    if (!user.emailVerified && !this.emulated) {
      await sendEmailVerification(user).catch(() => {});
      const address = user.email ?? "your address";
      await firebaseSignOut(this.auth).catch(() => {});
      throw new ApiError(
        403,
        "email_not_verified",
        `Confirm your e-mail address first: we sent a link to ${address}. Open it, then sign in.`,
      );
    }
    throw new ApiError(401, "unauthenticated", "The server did not accept this account.");
  }

  override async signUp(email: string, password: string): Promise<User> {
    let user: FirebaseUser;
    try {
      user = (await createUserWithEmailAndPassword(this.auth, email, password)).user;
    } catch (e) {
      throw authError(e);
    }
    return this.welcome(user);
  }

  override async signIn(email: string, password: string): Promise<User> {
    let user: FirebaseUser;
    try {
      user = (await signInWithEmailAndPassword(this.auth, email, password)).user;
    } catch (e) {
      throw authError(e);
    }
    return this.welcome(user);
  }

  override async signInWithGoogle(): Promise<User> {
    let user: FirebaseUser;
    try {
      const provider = new GoogleAuthProvider();
      provider.setCustomParameters({ prompt: "select_account" });
      user = (await signInWithPopup(this.auth, provider)).user;
    } catch (e) {
      throw authError(e);
    }
    return this.welcome(user);
  }

  override async signOut(): Promise<void> {
    this.stopLive();
    try {
      await firebaseSignOut(this.auth);
    } catch (e) {
      throw authError(e);
    }
  }

  override async me(): Promise<Me | null> {
    await this.ready;
    if (!this.auth.currentUser) return null;
    try {
      return await this.api<Me>("GET", "/api/me");
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  }

  override listTokens(): Promise<ApiToken[]> {
    return notSupported();
  }

  override createToken(): Promise<CreatedToken> {
    return notSupported();
  }

  override revokeToken(): Promise<void> {
    return notSupported();
  }

  /** The query behind each live list; each carries the reader's id, as firestore.rules require. */
  private query(name: LiveCollection, uid: string): Query {
    const files = collection(this.db, "files");
    switch (name) {
      case "files":
        return query(
          files,
          where("owner_id", "==", uid),
          where("status", "==", "ready"),
          orderBy("updated_at", "desc"),
          limit(LIST_LIMIT),
        );
      case "shared":
        return query(
          files,
          where("readers", "array-contains", uid),
          where("status", "==", "ready"),
          orderBy("updated_at", "desc"),
          limit(LIST_LIMIT),
        );
      case "activity":
        return query(
          collection(this.db, "activity"),
          where("owner_id", "==", uid),
          orderBy("logged_at", "desc"),
          limit(ACTIVITY_LIMIT),
        );
    }
  }

  private stopLive() {
    this.liveData?.close();
    this.liveData = null;
  }

  override live(): LiveData {
    if (!this.liveData) {
      const listen: Listen = (name, onResult, onError) => {
        const uid = this.auth.currentUser?.uid;
        if (!uid) {
          onError(new ApiError(401, "unauthenticated", "Signed out."));
          return () => {};
        }
        return onSnapshot(
          this.query(name, uid),
          { includeMetadataChanges: true },
          (snap) =>
            onResult({
              docs: snap.docs.map((d) => ({ id: d.id, data: d.data() })),
              fromCache: snap.metadata.fromCache,
            }),
          onError,
        );
      };
      this.liveData = new FirestoreLive({ listen });
    }
    return this.liveData;
  }
}
