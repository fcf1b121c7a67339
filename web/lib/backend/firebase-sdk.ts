// Everything cloud mode asks of the Firebase JS SDK, in one module that
// cloud.ts imports dynamically the first time someone's identity matters.
// So a recipient opening a public link (/s/...) in cloud mode never
// downloads the SDK, and a self-hosted page never even downloads cloud.ts.

import { initializeApp } from "firebase/app";
import {
  GoogleAuthProvider,
  connectAuthEmulator,
  createUserWithEmailAndPassword,
  getAuth,
  sendEmailVerification,
  signInWithEmailAndPassword,
  signInWithPopup,
  signOut,
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
  type Query,
} from "firebase/firestore";
import { authError, type FirebaseRuntimeConfig } from "./cloud-helpers";
import { ACTIVITY_LIMIT } from "./feed";
import type { Listen, LiveCollection } from "./firestore-live";

/** As many files per live list as the self-hosted feed sends. */
const LIST_LIMIT = 1000;

export type { FirebaseUser };

export interface FirebaseSession {
  /** The signed-in person, once Firebase has restored the saved session. */
  currentUser(): Promise<FirebaseUser | null>;
  signUp(email: string, password: string): Promise<FirebaseUser>;
  signIn(email: string, password: string): Promise<FirebaseUser>;
  signInWithGoogle(): Promise<FirebaseUser>;
  sendVerification(user: FirebaseUser): Promise<void>;
  signOut(): Promise<void>;
  /** The live queries, each carrying the reader's id as firestore.rules require. */
  listen: Listen;
}

export function startFirebase(fb: FirebaseRuntimeConfig): FirebaseSession {
  const app = initializeApp(fb.options, "livedrop");
  const auth = getAuth(app);
  if (fb.authEmulator) connectAuthEmulator(auth, fb.authEmulator, { disableWarnings: true });
  const db = getFirestore(app);
  if (fb.firestoreEmulator) {
    connectFirestoreEmulator(db, fb.firestoreEmulator[0], fb.firestoreEmulator[1]);
  }
  const ready = auth.authStateReady();

  const queryFor = (name: LiveCollection, uid: string, parent: string | null): Query => {
    // Files, newest first: ready ones only (shared with me themselves: an
    // upload in progress has no shares of its own), or uploads in progress
    // too (a folder's, mine or one I see; firestore.rules let its viewers
    // read them). The same composite indexes serve `in` as `==`.
    const files = (statuses: "ready" | "live", ...mine: ReturnType<typeof where>[]) =>
      query(
        collection(db, "files"),
        ...mine,
        statuses === "ready"
          ? where("status", "==", "ready")
          : where("status", "in", ["pending", "ready"]),
        orderBy("updated_at", "desc"),
        limit(LIST_LIMIT),
      );
    // Documents say "" for the top.
    const inFolder = where("parent", "==", parent ?? "");
    switch (name) {
      case "files":
        return files("live", where("owner_id", "==", uid));
      case "shared":
        return files("ready", where("readers", "array-contains", uid));
      case "folder-files":
        return files("live", where("owner_id", "==", uid), inFolder);
      case "folders":
        return query(
          collection(db, "folders"),
          where("owner_id", "==", uid),
          inFolder,
          orderBy("name_key"),
          limit(LIST_LIMIT),
        );
      case "shared-files":
        // Whoever sees the folder: firestore.rules check its `viewers`
        // against the folder this query names.
        return files("live", inFolder);
      case "shared-folders":
        return parent === null
          ? query(
              collection(db, "folders"),
              where("readers", "array-contains", uid),
              orderBy("name_key"),
              limit(LIST_LIMIT),
            )
          : query(
              collection(db, "folders"),
              inFolder,
              where("viewers", "array-contains", uid),
              orderBy("name_key"),
              limit(LIST_LIMIT),
            );
      case "activity":
        return query(
          collection(db, "activity"),
          where("owner_id", "==", uid),
          orderBy("logged_at", "desc"),
          limit(ACTIVITY_LIMIT),
        );
    }
  };

  const attempt = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      throw authError(e);
    }
  };

  return {
    async currentUser() {
      await ready;
      return auth.currentUser;
    },
    signUp: (email, password) =>
      attempt(async () => (await createUserWithEmailAndPassword(auth, email, password)).user),
    signIn: (email, password) =>
      attempt(async () => (await signInWithEmailAndPassword(auth, email, password)).user),
    signInWithGoogle: () =>
      attempt(async () => {
        const provider = new GoogleAuthProvider();
        provider.setCustomParameters({ prompt: "select_account" });
        return (await signInWithPopup(auth, provider)).user;
      }),
    sendVerification: (user) => sendEmailVerification(user),
    signOut: () => attempt(() => signOut(auth)),
    listen(name, onResult, onError, parent = null) {
      const uid = auth.currentUser?.uid;
      if (!uid) {
        onError(new Error("signed out"));
        return () => {};
      }
      return onSnapshot(
        queryFor(name, uid, parent),
        { includeMetadataChanges: true },
        (snap) =>
          onResult({
            docs: snap.docs.map((d) => ({ id: d.id, data: d.data() })),
            fromCache: snap.metadata.fromCache,
          }),
        onError,
      );
    },
  };
}
