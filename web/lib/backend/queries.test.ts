// The queries the app's Firestore listeners make are the ones declared in
// cloud/client-queries.json, whose indexes tests/firestore_indexes.rs
// checks: production refuses a query without its composite index, the
// emulator never does. The SDK is replaced by recorders here: each
// listener's query is read back as the shape the JSON file describes.

import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";

type Part = { kind: string; args: unknown[] };

vi.mock("firebase/app", () => ({ initializeApp: () => ({}) }));
vi.mock("firebase/auth", () => ({
  getAuth: () => ({ currentUser: { uid: "me" }, authStateReady: () => Promise.resolve() }),
  connectAuthEmulator: () => {},
  GoogleAuthProvider: class {},
  createUserWithEmailAndPassword: vi.fn(),
  sendEmailVerification: vi.fn(),
  signInWithEmailAndPassword: vi.fn(),
  signInWithPopup: vi.fn(),
  signOut: vi.fn(),
}));
const seen: Part[][] = [];
vi.mock("firebase/firestore", () => ({
  getFirestore: () => ({}),
  connectFirestoreEmulator: () => {},
  collection: (_db: unknown, name: string): Part => ({ kind: "collection", args: [name] }),
  where: (...args: unknown[]): Part => ({ kind: "where", args }),
  orderBy: (...args: unknown[]): Part => ({ kind: "orderBy", args }),
  limit: (...args: unknown[]): Part => ({ kind: "limit", args }),
  query: (...parts: Part[]) => parts,
  onSnapshot: (q: Part[]) => {
    seen.push(q);
    return () => {};
  },
}));

interface Shape {
  collection: string;
  equal: string[];
  contains?: string;
  order: [string, string][];
}

function shapeOf(parts: Part[]): Shape {
  const shape: Shape = { collection: "", equal: [], order: [] };
  for (const p of parts) {
    if (p.kind === "collection") shape.collection = p.args[0] as string;
    if (p.kind === "where") {
      const [field, op] = p.args as [string, string];
      if (op === "==" || op === "in") shape.equal.push(field);
      else if (op === "array-contains") shape.contains = field;
      else throw new Error(`a ${op} filter: add its shape to cloud/client-queries.json`);
    }
    if (p.kind === "orderBy") {
      const [field, dir] = p.args as [string, string | undefined];
      shape.order.push([field, dir ?? "asc"]);
    }
  }
  shape.equal.sort();
  return shape;
}

const key = (s: Shape) => JSON.stringify([s.collection, s.equal, s.contains ?? null, s.order]);

describe("the app's live queries", () => {
  it("are each declared in cloud/client-queries.json, which the index test checks", async () => {
    const declared = JSON.parse(readFileSync("../cloud/client-queries.json", "utf8")) as {
      queries: {
        collection: string;
        equal?: string[];
        contains?: string;
        order: [string, string][];
      }[];
    };
    const known = new Set(
      declared.queries.map((q) => key({ ...q, equal: [...(q.equal ?? [])].sort() })),
    );
    const { startFirebase } = await import("./firebase-sdk");
    const session = startFirebase({ options: {} } as never);
    const names = [
      "files",
      "shared",
      "folder-files",
      "folders",
      "shared-folders",
      "shared-files",
      "activity",
    ] as const;
    for (const name of names) {
      session.listen(
        name,
        () => {},
        () => {},
        null,
      );
      session.listen(
        name,
        () => {},
        () => {},
        "a-folder",
      );
    }
    expect(seen.length).toBe(names.length * 2);
    const unknown = seen.map(shapeOf).filter((s) => !known.has(key(s)));
    expect(unknown).toEqual([]);
  });
});
