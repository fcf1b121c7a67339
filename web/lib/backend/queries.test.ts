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
  /** Fields filtered with `==` or `in` (an index serves both alike). */
  equal: string[];
  /** Of those, the ones filtered with `in`. */
  in: string[];
  contains?: string;
  order: [string, string][];
}

function shapeOf(parts: Part[]): Shape {
  const shape: Shape = { collection: "", equal: [], in: [], order: [] };
  for (const p of parts) {
    if (p.kind === "collection") shape.collection = p.args[0] as string;
    if (p.kind === "where") {
      const [field, op] = p.args as [string, string];
      if (op === "==" || op === "in") shape.equal.push(field);
      else if (op === "array-contains") shape.contains = field;
      else throw new Error(`a ${op} filter: add its shape to cloud/client-queries.json`);
      if (op === "in") shape.in.push(field);
    }
    if (p.kind === "orderBy") {
      const [field, dir] = p.args as [string, string | undefined];
      shape.order.push([field, dir ?? "asc"]);
    }
  }
  shape.equal.sort();
  shape.in.sort();
  return shape;
}

const key = (s: Shape) => JSON.stringify([s.collection, s.equal, s.contains ?? null, s.order]);

/** What a listener filters `status` with, if it does. */
function statusFilter(parts: Part[]): [string, unknown] | null {
  for (const p of parts) {
    if (p.kind === "where" && p.args[0] === "status") return [p.args[1] as string, p.args[2]];
  }
  return null;
}

function listenAll() {
  return import("./firebase-sdk").then(({ startFirebase }) => {
    const session = startFirebase({ options: {} } as never);
    const out: { name: string; parent: string | null; parts: Part[] }[] = [];
    for (const name of NAMES) {
      for (const parent of [null, "a-folder"]) {
        const before = seen.length;
        session.listen(
          name,
          () => {},
          () => {},
          parent,
        );
        out.push({ name, parent, parts: seen[before]! });
      }
    }
    return out;
  });
}

const NAMES = [
  "files",
  "shared",
  "folder-files",
  "folders",
  "shared-folders",
  "shared-files",
  "activity",
] as const;

describe("the app's live queries", () => {
  it("are each declared in cloud/client-queries.json, which the index test checks", async () => {
    const declared = JSON.parse(readFileSync("../cloud/client-queries.json", "utf8")) as {
      queries: {
        collection: string;
        equal?: string[];
        /** Fields filtered with `in`: listed in `equal` too, or only here. */
        in?: string[];
        contains?: string;
        order: [string, string][];
      }[];
    };
    // Declared `in` fields count as equality, whether `equal` lists them or not.
    const known = new Map(
      declared.queries.map((q) => {
        const equal = [...new Set([...(q.equal ?? []), ...(q.in ?? [])])].sort();
        return [key({ ...q, equal, in: [] }), q.in ? [...q.in].sort() : null] as const;
      }),
    );
    seen.length = 0;
    const made = await listenAll();
    expect(made.length).toBe(NAMES.length * 2);
    const shapes = made.map((m) => shapeOf(m.parts));
    const unknown = shapes.filter((s) => !known.has(key(s)));
    expect(unknown).toEqual([]);
    // Where the file says which filters are `in`, the app's are those.
    const mismatched = shapes.filter((s) => {
      const declaredIn = known.get(key(s));
      return declaredIn != null && JSON.stringify(declaredIn) !== JSON.stringify(s.in);
    });
    expect(mismatched).toEqual([]);
  });

  it("read uploads in progress in folder and file lists, but only ready files shared with me", async () => {
    seen.length = 0;
    const made = await listenAll();
    const status = (name: string) =>
      made.filter((m) => m.name === name).map((m) => statusFilter(m.parts));
    for (const name of ["files", "folder-files", "shared-files"]) {
      expect(status(name)).toEqual([
        ["in", ["pending", "ready"]],
        ["in", ["pending", "ready"]],
      ]);
    }
    // A pending file has no shares of its own: "Shared with me" lists ready ones.
    expect(status("shared")).toEqual([
      ["==", "ready"],
      ["==", "ready"],
    ]);
    for (const name of ["folders", "shared-folders", "activity"]) {
      expect(status(name)).toEqual([null, null]);
    }
  });
});
