import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ApiError, type Backend, type Folder, type FolderDetails } from "@/lib/backend";
import { useFolderPlace, useLiveFolders } from "./live-folders";

const folder = (id: string, name: string, parent: string | null): Folder => ({
  id,
  owner_id: "me",
  owner_email: "owner@example.com",
  name,
  parent_id: parent,
  created_at: "",
  updated_at: "",
});

/** Folders the test changes; every listing subscribed is told at once. */
function fakeBackend(initial: Folder[]) {
  let folders = initial;
  const subs = new Set<{ parent: string | null; cb: (f: Folder[]) => void }>();
  const tell = () => {
    for (const s of subs) s.cb(folders.filter((f) => f.parent_id === s.parent));
  };
  const getFolder = vi.fn(async (id: string): Promise<FolderDetails> => {
    const f = folders.find((x) => x.id === id);
    if (!f) throw new ApiError(404, "not_found", "folder not found");
    const path: Folder[] = [];
    for (let p = f.parent_id; p; p = folders.find((x) => x.id === p)!.parent_id) {
      path.unshift(folders.find((x) => x.id === p)!);
    }
    return { folder: f, path };
  });
  const backend = {
    getFolder,
    live: () => ({
      subscribeFolders: (parent: string | null, cb: (f: Folder[]) => void) => {
        const s = { parent, cb };
        subs.add(s);
        cb(folders.filter((f) => f.parent_id === parent));
        return () => subs.delete(s);
      },
    }),
  } as unknown as Backend;
  const set = (next: Folder[]) => {
    folders = next;
    act(tell);
  };
  return { backend, set, getFolder };
}

const names = (place: ReturnType<typeof useFolderPlace>) =>
  place.kind === "folder" ? [...place.path, place.folder].map((f) => f.name) : place.kind;

describe("useFolderPlace", () => {
  it("is the top without a folder, and missing when there is no such folder", async () => {
    const { backend } = fakeBackend([]);
    expect(renderHook(() => useFolderPlace(backend, null)).result.current).toEqual({
      kind: "top",
    });
    const { result } = renderHook(() => useFolderPlace(backend, "nope"));
    expect(result.current.kind).toBe("loading");
    await waitFor(() => expect(result.current.kind).toBe("missing"));
  });

  it("follows renames, moves and a deletion of the folder or one above it", async () => {
    const trip = folder("trip", "Trip", null);
    const day = folder("day", "day 1", "trip");
    const work = folder("work", "Work", null);
    const { backend, set, getFolder } = fakeBackend([trip, day, work]);
    const { result } = renderHook(() => useFolderPlace(backend, "day"));
    await waitFor(() => expect(names(result.current)).toEqual(["Trip", "day 1"]));

    // A rename above it: told by the listing, no new request.
    set([{ ...trip, name: "Trip 2026" }, day, work]);
    expect(names(result.current)).toEqual(["Trip 2026", "day 1"]);
    expect(getFolder).toHaveBeenCalledTimes(1);

    // Moved into Work: the path is asked for again.
    set([{ ...trip, name: "Trip 2026" }, { ...day, parent_id: "work" }, work]);
    await waitFor(() => expect(names(result.current)).toEqual(["Work", "day 1"]));

    // Work is deleted, and everything in it.
    set([{ ...trip, name: "Trip 2026" }]);
    await waitFor(() => expect(result.current.kind).toBe("missing"));
  });
});

describe("useLiveFolders", () => {
  it("is null until the folder's listing comes, and never another folder's", () => {
    const { backend } = fakeBackend([folder("a", "A", null), folder("b", "B", "a")]);
    const { result, rerender } = renderHook(({ parent }) => useLiveFolders(backend, parent), {
      initialProps: { parent: null as string | null },
    });
    expect(result.current!.map((f) => f.id)).toEqual(["a"]);
    rerender({ parent: "a" });
    expect(result.current!.map((f) => f.id)).toEqual(["b"]);
  });
});

describe("useFolderPlace in a folder shared with me", () => {
  it("starts at the folder shared with me, and is missing once it is unshared", async () => {
    const project = { ...folder("p", "Project", "theirs"), owner_id: "ann" };
    const drafts = { ...folder("d", "Drafts", "p"), owner_id: "ann" };
    let roots = [project];
    const subs = new Set<{ parent: string | null; cb: (f: Folder[]) => void }>();
    const listing = (parent: string | null) =>
      parent === null ? roots : [drafts].filter((f) => f.parent_id === parent);
    const getFolder = vi.fn(async (id: string): Promise<FolderDetails> => {
      if (!roots.length) throw new ApiError(404, "not_found", "folder not found");
      return id === "d" ? { folder: drafts, path: [project] } : { folder: project, path: [] };
    });
    const subscribeFolders = vi.fn();
    const backend = {
      getFolder,
      live: () => ({
        subscribeFolders,
        subscribeSharedFolders: (parent: string | null, cb: (f: Folder[]) => void) => {
          const s = { parent, cb };
          subs.add(s);
          cb(listing(parent));
          return () => subs.delete(s);
        },
      }),
    } as unknown as Backend;
    const { result } = renderHook(() => useFolderPlace(backend, "d", true));
    await waitFor(() => expect(names(result.current)).toEqual(["Project", "Drafts"]));
    expect(subscribeFolders).not.toHaveBeenCalled();
    // Renamed by its owner: told by the folders shared with me.
    roots = [{ ...project, name: "Project 2" }];
    act(() => subs.forEach((s) => s.cb(listing(s.parent))));
    expect(names(result.current)).toEqual(["Project 2", "Drafts"]);
    // Unshared: gone from there, so the path is asked for again, and it is not found.
    roots = [];
    act(() => subs.forEach((s) => s.cb(listing(s.parent))));
    await waitFor(() => expect(result.current.kind).toBe("missing"));
  });
});
