// The cloud backend: the same JSON API (served by Vercel functions), with a
// Firebase Auth ID token as the bearer credential instead of a cookie, bytes
// on Cloud Storage's signed URLs, and live data from Firestore listeners.
//
// Loaded only by `import("./cloud")` in cloud mode (lib/backend/index.ts),
// and it loads the Firebase SDK (firebase-sdk.ts) only when someone's
// identity matters: a public link's page (/s/...) never downloads it.

import { firebaseConfig, trackingTransfer, type FirebaseRuntimeConfig } from "./cloud-helpers";
import { ApiError, NetworkError } from "./errors";
import type { FirebaseSession, FirebaseUser } from "./firebase-sdk";
import { FirestoreLive } from "./firestore-live";
import { SelfHostedBackend, blobTransfer } from "./selfhosted";
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

function notSupported(
  message = "API tokens are for self-hosted servers. In the cloud, the command-line client signs in with your account.",
): Promise<never> {
  return Promise.reject(new ApiError(404, "not_supported", message));
}

const PROVIDER_OWNS_SESSIONS =
  "Sessions and passwords are managed by the sign-in provider in the cloud.";
const PROVIDER_VERIFIES_ADDRESSES = "Addresses are verified by the sign-in provider in the cloud.";

export class CloudBackend extends SelfHostedBackend {
  override readonly transfer: BlobTransfer = trackingTransfer(blobTransfer);
  override readonly features: Features = {
    apiTokens: false,
    googleSignIn: true,
    sessions: false,
    addressVerification: false,
  };
  private readonly fb: FirebaseRuntimeConfig;
  private sdk: Promise<FirebaseSession> | null = null;
  private liveData: FirestoreLive | null = null;

  constructor(config: Config) {
    super(config);
    this.fb = firebaseConfig(config);
  }

  /** The Firebase SDK, started on first use. */
  private firebase(): Promise<FirebaseSession> {
    if (!this.sdk) {
      this.sdk = import("./firebase-sdk").then(
        (m) => m.startFirebase(this.fb),
        () => {
          this.sdk = null;
          throw new NetworkError();
        },
      );
    }
    return this.sdk;
  }

  protected override async authHeaders(): Promise<Record<string, string>> {
    const user = await (await this.firebase()).currentUser();
    // getIdToken refreshes the token when it is about to expire. Signed out
    // in another tab: the listeners are refused from then on, the live
    // status goes offline, and the session sends this tab to sign-in.
    return user ? { Authorization: `Bearer ${await user.getIdToken()}` } : {};
  }

  protected override async recover(err: ApiError): Promise<boolean> {
    // A token the server refused (expired in the meantime, revoked): once
    // more with a fresh one.
    if (err.status !== 401) return false;
    const user = await (await this.firebase()).currentUser();
    if (!user) return false;
    try {
      await user.getIdToken(true);
      return true;
    } catch {
      return false;
    }
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
    if (!user.emailVerified && !this.fb.authEmulator) {
      const sdk = await this.firebase();
      await sdk.sendVerification(user).catch(() => {});
      await sdk.signOut().catch(() => {});
      throw new ApiError(
        403,
        "email_not_verified",
        `Confirm your e-mail address first: we sent a link to ${user.email ?? "your address"}. Open it, then sign in.`,
      );
    }
    throw new ApiError(401, "unauthenticated", "The server did not accept this account.");
  }

  override async signUp(email: string, password: string): Promise<User> {
    return this.welcome(await (await this.firebase()).signUp(email, password));
  }

  override async signIn(email: string, password: string): Promise<User> {
    return this.welcome(await (await this.firebase()).signIn(email, password));
  }

  override async signInWithGoogle(): Promise<User> {
    return this.welcome(await (await this.firebase()).signInWithGoogle());
  }

  override async signOut(): Promise<void> {
    this.liveData?.close();
    this.liveData = null;
    await (await this.firebase()).signOut();
  }

  override async me(): Promise<Me | null> {
    if (!(await (await this.firebase()).currentUser())) return null;
    try {
      return await this.request<Me>("GET", "/api/me");
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return null;
      throw e;
    }
  }

  override verifyAddress(): Promise<void> {
    return notSupported(PROVIDER_VERIFIES_ADDRESSES);
  }

  override resendVerification(): Promise<boolean> {
    return notSupported(PROVIDER_VERIFIES_ADDRESSES);
  }

  override signOutOthers(): Promise<number> {
    return notSupported(PROVIDER_OWNS_SESSIONS);
  }

  override changePassword(): Promise<number> {
    return notSupported(PROVIDER_OWNS_SESSIONS);
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

  override live(): LiveData {
    if (!this.liveData) {
      const sdk = this.firebase();
      this.liveData = new FirestoreLive({
        listen: (name, onResult, onError, parent) => {
          let stop: (() => void) | null = null;
          let stopped = false;
          sdk.then(
            (s) => {
              if (!stopped) stop = s.listen(name, onResult, onError, parent);
            },
            (e) => {
              if (!stopped) onError(e);
            },
          );
          return () => {
            stopped = true;
            stop?.();
          };
        },
      });
    }
    return this.liveData;
  }
}
