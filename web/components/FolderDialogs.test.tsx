import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ApiError, type Backend, type FileRecord, type Folder } from "@/lib/backend";
import { ConflictDialog, DeleteFolderDialog, MoveDialog, NameDialog } from "./FolderDialogs";

const folder = (id: string, name: string, parent: string | null): Folder => ({
  id,
  owner_id: "me",
  owner_email: "owner@example.com",
  name,
  parent_id: parent,
  created_at: "",
  updated_at: "",
});

const tree = [
  folder("trip", "Trip", null),
  folder("day1", "day 1", "trip"),
  folder("day2", "day 2", "trip"),
  folder("work", "Work", null),
];

function fakeBackend() {
  return {
    live: () => ({
      subscribeFolders: (parent: string | null, cb: (f: Folder[]) => void) => {
        cb(tree.filter((f) => f.parent_id === parent));
        return () => {};
      },
    }),
    updateFile: vi.fn(async () => ({}) as FileRecord),
    updateFolder: vi.fn(async () => ({}) as Folder),
    deleteFolder: vi.fn(async () => ({ folders: 3, files: 7 })),
  } as unknown as Backend & {
    updateFile: ReturnType<typeof vi.fn>;
    updateFolder: ReturnType<typeof vi.fn>;
    deleteFolder: ReturnType<typeof vi.fn>;
  };
}

describe("NameDialog", () => {
  it("checks the name, sends it trimmed, and shows the server's words when it refuses", async () => {
    const onSubmit = vi
      .fn<(name: string) => Promise<void>>()
      .mockRejectedValueOnce(new ApiError(409, "name_taken", "“Trip” is taken in this folder"))
      .mockResolvedValueOnce();
    const onClose = vi.fn();
    render(
      <NameDialog title="New folder" submitLabel="Create" onSubmit={onSubmit} onClose={onClose} />,
    );
    const input = screen.getByLabelText("Name");
    fireEvent.click(screen.getByRole("button", { name: "Create" }));
    expect(screen.getByRole("alert").textContent).toBe("Enter a name.");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(onSubmit).not.toHaveBeenCalled();
    fireEvent.change(input, { target: { value: "  Trip " } });
    fireEvent.click(screen.getByRole("button", { name: "Create" }));
    expect((await screen.findByRole("alert")).textContent).toBe("“Trip” is taken in this folder");
    expect(onSubmit).toHaveBeenLastCalledWith("Trip");
    expect(onClose).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole("button", { name: "Create" }));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
  });

  it("selects a file's name without its extension, ready to type over", () => {
    render(
      <NameDialog
        title="Rename"
        initial="report.final.pdf"
        keepExtension
        submitLabel="Rename"
        onSubmit={async () => {}}
        onClose={() => {}}
      />,
    );
    const input = screen.getByLabelText("Name") as HTMLInputElement;
    expect(document.activeElement).toBe(input);
    expect([input.selectionStart, input.selectionEnd]).toEqual([0, "report.final".length]);
  });
});

describe("MoveDialog", () => {
  it("browses the tree from where the file is and moves it to the folder shown", async () => {
    const backend = fakeBackend();
    const onMoved = vi.fn();
    const file = { id: "f1", name: "plan.pdf", folder_id: "day1" } as FileRecord;
    render(
      <MoveDialog
        backend={backend}
        what={{ kind: "file", item: file }}
        startTrail={[tree[0]!, tree[1]!]}
        onClose={() => {}}
        onMoved={onMoved}
      />,
    );
    const move = screen.getByRole("button", { name: "Move here" });
    expect(screen.getByText("“plan.pdf” is in “day 1” already.")).toBeTruthy();
    expect((move as HTMLButtonElement).disabled).toBe(true);
    // Up to Trip through the trail, then into day 2.
    fireEvent.click(screen.getByRole("button", { name: "Trip" }));
    const list = screen.getByRole("list", { name: "Folders in Trip" });
    expect(
      within(list)
        .getAllByRole("button")
        .map((b) => b.textContent),
    ).toEqual(["day 1›", "day 2›"]);
    fireEvent.click(screen.getByRole("button", { name: "Open day 2" }));
    expect(screen.getByText("“plan.pdf” goes into “day 2”.")).toBeTruthy();
    fireEvent.click(move);
    await waitFor(() => expect(onMoved).toHaveBeenCalledWith("day2"));
    expect(backend.updateFile).toHaveBeenCalledWith("f1", { folder_id: "day2" });
  });

  it("never offers a folder itself, nor moving it below itself; the top is a place too", async () => {
    const backend = fakeBackend();
    render(
      <MoveDialog
        backend={backend}
        what={{ kind: "folder", item: tree[1]! }}
        startTrail={[tree[0]!]}
        onClose={() => {}}
      />,
    );
    expect(screen.queryByRole("button", { name: "Open day 1" })).toBeNull();
    expect(screen.getByRole("button", { name: "Open day 2" })).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "My files" }));
    expect(screen.getByText("“day 1” goes into My files, at the top.")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Move here" }));
    await waitFor(() =>
      expect(backend.updateFolder).toHaveBeenCalledWith("day1", { parent_id: null }),
    );
  });

  it("shows why the server refused", async () => {
    const backend = fakeBackend();
    backend.updateFolder.mockRejectedValueOnce(
      new ApiError(409, "invalid_move", "a folder cannot go inside itself"),
    );
    render(
      <MoveDialog
        backend={backend}
        what={{ kind: "folder", item: tree[3]! }}
        startTrail={[tree[0]!]}
        onClose={() => {}}
      />,
    );
    fireEvent.click(screen.getByRole("button", { name: "Move here" }));
    expect((await screen.findByRole("alert")).textContent).toBe("a folder cannot go inside itself");
  });
});

describe("ConflictDialog", () => {
  it("asks once for all the taken names: keep both, replace, or nothing", () => {
    const onChoose = vi.fn();
    const taken = ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt", "f.txt", "g.txt"];
    render(<ConflictDialog taken={taken} onChoose={onChoose} />);
    expect(screen.getByRole("heading").textContent).toBe("7 names are already taken");
    expect(screen.getByText("and 2 more")).toBeTruthy();
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Keep both" }));
    fireEvent.click(screen.getByRole("button", { name: "Replace" }));
    fireEvent.click(screen.getByRole("button", { name: "Keep both" }));
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(onChoose.mock.calls).toEqual([["replace"], ["keep_both"], [null]]);
  });
});

describe("DeleteFolderDialog", () => {
  it("says everything inside goes, and tells what was deleted", async () => {
    const backend = fakeBackend();
    const onDeleted = vi.fn();
    render(
      <DeleteFolderDialog
        backend={backend}
        folder={tree[0]!}
        onClose={() => {}}
        onDeleted={onDeleted}
      />,
    );
    expect(screen.getByText(/Every folder and file inside “Trip” is deleted with it/)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Delete folder" }));
    await waitFor(() => expect(onDeleted).toHaveBeenCalledWith({ folders: 3, files: 7 }));
    expect(backend.deleteFolder).toHaveBeenCalledWith("trip");
  });
});
