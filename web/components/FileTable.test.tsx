import { fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FileRecord, Folder } from "@/lib/backend";
import { FileTable } from "./FileTable";

// A ZIP's limit of selected items, smaller where a test says (1001 rows
// take seconds in jsdom).
const zipLimit = vi.hoisted(() => ({ value: null as number | null }));
vi.mock("@/lib/backend", async (importOriginal) => {
  const real = await importOriginal<typeof import("@/lib/backend")>();
  return {
    ...real,
    get SELECTION_ZIP_LIMIT() {
      return zipLimit.value ?? real.SELECTION_ZIP_LIMIT;
    },
  };
});
afterEach(() => {
  zipLimit.value = null;
});

const now = Date.parse("2026-01-10T12:00:00Z");

function file(id: string, name: string, size: number, updated: string, owner = "me"): FileRecord {
  return {
    id,
    owner_id: owner,
    owner_email: owner === "me" ? "me@x.io" : "bob@x.io",
    name,
    size,
    content_type: "image/png",
    crc32c: "AAAAAA==",
    status: "ready",
    created_at: updated,
    updated_at: updated,
    folder_id: null,
  };
}

const files = [
  file("1", "alpha.png", 3000, "2026-01-10T11:00:00Z"),
  file("2", "beta.png", 1000, "2026-01-10T11:59:59Z", "bob"),
  file("3", "gamma.png", 2000, "2026-01-09T11:00:00Z"),
];

function names() {
  return screen.getAllByRole("link").map((a) => a.textContent);
}

describe("FileTable", () => {
  it("shows size, type, owner and date on each row, newest first", () => {
    render(
      <FileTable
        files={files}
        scope="mine"
        meId="me"
        now={now}
        onDownload={() => {}}
        emptyText="none"
      />,
    );
    expect(names()).toEqual(["beta.png", "alpha.png", "gamma.png"]);
    const row = screen.getByRole("link", { name: "alpha.png" }).closest("tr")!;
    expect(within(row).getByText("3.0 kB")).toBeTruthy();
    expect(within(row).getAllByText(/PNG image/).length).toBeGreaterThan(0);
    expect(within(row).getByText("You")).toBeTruthy();
    expect(within(row).getAllByText(/1 h ago/).length).toBeGreaterThan(0);
    const other = screen.getByRole("link", { name: "beta.png" }).closest("tr")!;
    expect(within(other).getByText("bob@x.io")).toBeTruthy();
    // Changed a second ago: it flashes.
    expect(other.className).toBe("fresh");
  });

  it("sorts by a column and flips the order on a second click", () => {
    render(
      <FileTable
        files={files}
        scope="mine"
        meId="me"
        now={now}
        onDownload={() => {}}
        emptyText="none"
      />,
    );
    fireEvent.click(screen.getByRole("button", { name: /Name/ }));
    expect(names()).toEqual(["alpha.png", "beta.png", "gamma.png"]);
    expect(screen.getByRole("columnheader", { name: /Name/ }).getAttribute("aria-sort")).toBe(
      "ascending",
    );
    fireEvent.click(screen.getByRole("button", { name: /Name/ }));
    expect(names()).toEqual(["gamma.png", "beta.png", "alpha.png"]);
    fireEvent.click(screen.getByRole("button", { name: /Size/ }));
    expect(names()).toEqual(["alpha.png", "gamma.png", "beta.png"]);
  });

  it("searches and says when nothing matches", () => {
    render(
      <FileTable
        files={files}
        scope="mine"
        meId="me"
        now={now}
        onDownload={() => {}}
        emptyText="none"
      />,
    );
    fireEvent.change(screen.getByLabelText("Search files"), { target: { value: "bob" } });
    expect(names()).toEqual(["beta.png"]);
    fireEvent.change(screen.getByLabelText("Search files"), { target: { value: "zzz" } });
    expect(screen.getByText("No files match “zzz”.")).toBeTruthy();
  });

  it("offers download and share per row", () => {
    const onDownload = vi.fn();
    const onShare = vi.fn();
    render(
      <FileTable
        files={files}
        scope="mine"
        meId="me"
        now={now}
        onDownload={onDownload}
        onShare={onShare}
        emptyText="none"
      />,
    );
    fireEvent.click(screen.getByRole("button", { name: "Download gamma.png" }));
    fireEvent.click(screen.getByRole("button", { name: "Share alpha.png" }));
    expect(onDownload).toHaveBeenCalledWith(files[2]);
    expect(onShare).toHaveBeenCalledWith(files[0]);
  });

  it("shows loading and empty states", () => {
    const { rerender } = render(
      <FileTable
        files={null}
        scope="shared"
        meId="me"
        now={now}
        onDownload={() => {}}
        emptyText="Nothing shared"
      />,
    );
    expect(screen.getByText("Loading files…")).toBeTruthy();
    rerender(
      <FileTable
        files={[]}
        scope="shared"
        meId="me"
        now={now}
        onDownload={() => {}}
        emptyText="Nothing shared"
      />,
    );
    expect(screen.getByText("Nothing shared")).toBeTruthy();
  });
});

describe("FileTable with folders", () => {
  const folder = (id: string, name: string, updated = "2026-01-01T00:00:00Z"): Folder => ({
    id,
    owner_id: "me",
    owner_email: "owner@example.com",
    name,
    parent_id: null,
    created_at: updated,
    updated_at: updated,
  });
  const folders = [folder("d2", "zebra"), folder("d1", "Apples")];

  it("lists folders first, by name, as links to their page, and counts both", () => {
    render(
      <FileTable
        files={files}
        folders={folders}
        scope="mine"
        meId="me"
        now={now}
        onDownload={() => {}}
        emptyText="none"
      />,
    );
    expect(names()).toEqual(["Apples", "zebra", "beta.png", "alpha.png", "gamma.png"]);
    // (Next writes the trailing slash in the export, which has trailingSlash.)
    expect(screen.getByRole("link", { name: "Apples" }).getAttribute("href")).toMatch(
      /^\/files\/?\?folder=d1$/,
    );
    expect(screen.getByText("2 folders, 3 files")).toBeTruthy();
    // Sorting files by size keeps the folders on top, by name.
    fireEvent.click(screen.getByRole("button", { name: /Size/ }));
    expect(names().slice(0, 2)).toEqual(["Apples", "zebra"]);
    fireEvent.change(screen.getByLabelText("Search files"), { target: { value: "zeb" } });
    expect(names()).toEqual(["zebra"]);
  });

  it("lists folders shared with me as links into Shared with me, with their owner when known", () => {
    const shared = folders.map((f) => ({ ...f, owner_id: f.id === "d1" ? "bob" : "ann" }));
    render(
      <FileTable
        files={[files[1]!]}
        folders={shared}
        folderLink={(id) => `/shared/?folder=${id}`}
        folderOwner={(f) => (f.owner_id === "bob" ? "bob@x.io" : null)}
        scope="shared"
        meId="me"
        now={now}
        onDownload={() => {}}
        emptyText="none"
      />,
    );
    expect(screen.getByRole("link", { name: "Apples" }).getAttribute("href")).toMatch(
      /^\/shared\/?\?folder=d1$/,
    );
    const apples = screen.getByRole("link", { name: "Apples" }).closest("tr")!;
    expect(within(apples).getByText("bob@x.io")).toBeTruthy();
    const zebra = screen.getByRole("link", { name: "zebra" }).closest("tr")!;
    expect(zebra.querySelector(".col-owner")!.textContent).toBe("");
    // Nothing of theirs to act on: only downloads.
    expect(screen.queryByRole("button", { name: /^More actions/ })).toBeNull();
    expect(screen.getByRole("button", { name: "Download beta.png" })).toBeTruthy();
  });

  it("waits for folders as for files, and is empty only when both are", () => {
    const { rerender } = render(
      <FileTable
        files={[]}
        folders={null}
        scope="mine"
        meId="me"
        now={now}
        onDownload={() => {}}
        emptyText="Empty folder"
      />,
    );
    expect(screen.getByText("Loading files…")).toBeTruthy();
    rerender(
      <FileTable
        files={[]}
        folders={[folders[0]!]}
        scope="mine"
        meId="me"
        now={now}
        onDownload={() => {}}
        emptyText="Empty folder"
      />,
    );
    expect(screen.queryByText("Empty folder")).toBeNull();
    expect(screen.getByText("1 folder, 0 files")).toBeTruthy();
  });

  it("offers a row's actions in a menu, by mouse and by keyboard", async () => {
    const rename = vi.fn();
    const remove = vi.fn();
    const move = vi.fn();
    render(
      <FileTable
        files={files}
        folders={folders}
        scope="mine"
        meId="me"
        now={now}
        onDownload={() => {}}
        folderActions={(f) => [
          { label: "Rename", onSelect: () => rename(f.id) },
          { label: "Delete", danger: true, onSelect: () => remove(f.id) },
        ]}
        fileActions={(f) => [{ label: "Move", onSelect: () => move(f.id) }]}
        emptyText="none"
      />,
    );
    const button = screen.getByRole("button", { name: "More actions for zebra" });
    expect(button.getAttribute("aria-expanded")).toBe("false");
    fireEvent.click(button);
    expect(button.getAttribute("aria-expanded")).toBe("true");
    const menu = screen.getByRole("menu", { name: "More actions for zebra" });
    // The first item has focus; arrows move, and wrap.
    expect(document.activeElement).toBe(within(menu).getByRole("menuitem", { name: "Rename" }));
    fireEvent.keyDown(menu, { key: "ArrowDown" });
    expect(document.activeElement).toBe(within(menu).getByRole("menuitem", { name: "Delete" }));
    fireEvent.keyDown(menu, { key: "ArrowDown" });
    expect(document.activeElement).toBe(within(menu).getByRole("menuitem", { name: "Rename" }));
    // Escape closes it and gives focus back.
    fireEvent.keyDown(menu, { key: "Escape" });
    expect(screen.queryByRole("menu")).toBeNull();
    expect(document.activeElement).toBe(button);
    // ArrowUp opens it at the last item; choosing one closes it.
    fireEvent.keyDown(button, { key: "ArrowUp" });
    fireEvent.click(screen.getByRole("menuitem", { name: "Delete" }));
    expect(remove).toHaveBeenCalledWith("d2");
    expect(screen.queryByRole("menu")).toBeNull();

    fireEvent.click(screen.getByRole("button", { name: "More actions for gamma.png" }));
    fireEvent.click(screen.getByRole("menuitem", { name: "Move" }));
    expect(move).toHaveBeenCalledWith("3");
    // A click elsewhere closes an open menu.
    fireEvent.click(screen.getByRole("button", { name: "More actions for Apples" }));
    fireEvent.pointerDown(document.body);
    expect(screen.queryByRole("menu")).toBeNull();
    expect(rename).not.toHaveBeenCalled();
  });
});

describe("FileTable: uploads in progress", () => {
  const MB = 1_000_000;
  const pending = (received: number | undefined, over: Partial<FileRecord> = {}): FileRecord => ({
    ...file("p1", "report.pdf", 30 * MB, "2026-01-10T11:00:00Z", "bob"),
    content_type: "application/pdf",
    status: "pending",
    ...(received === undefined ? {} : { received }),
    ...over,
  });

  function table(list: FileRecord[], at = now, extra: { onShare?: () => void } = {}) {
    return (
      <FileTable
        files={list}
        scope="shared"
        meId="me"
        now={at}
        onDownload={() => {}}
        onShare={extra.onShare}
        fileActions={() => [{ label: "Rename", onSelect: () => {} }]}
        emptyText="none"
      />
    );
  }

  it("shows its name and an accessible progress bar, and offers nothing to do with it", () => {
    render(table([pending(12 * MB), files[0]!], now, { onShare: () => {} }));
    const bar = screen.getByRole("progressbar", { name: "Uploading report.pdf" });
    expect(bar.getAttribute("aria-valuenow")).toBe("40");
    expect(bar.getAttribute("aria-valuemin")).toBe("0");
    expect(bar.getAttribute("aria-valuemax")).toBe("100");
    const row = bar.closest("tr")!;
    expect(row.getAttribute("data-status")).toBe("pending");
    expect(within(row).getByText("report.pdf")).toBeTruthy();
    expect(within(row).getByTestId("pending-status").textContent).toBe(
      "Uploading 40% · 12 MB of 30 MB",
    );
    // No link to its page (preview), no download, share or menu.
    expect(within(row).queryByRole("link")).toBeNull();
    expect(within(row).queryByRole("button")).toBeNull();
    // The ready file beside it has them all.
    const ready = screen.getByRole("link", { name: "alpha.png" }).closest("tr")!;
    expect(within(ready).getByRole("button", { name: "Download alpha.png" })).toBeTruthy();
    expect(within(ready).getByRole("button", { name: "Share alpha.png" })).toBeTruthy();
    // Counted apart from the files.
    expect(screen.getByText("1 file, 1 uploading")).toBeTruthy();
  });

  it("reads a pending file from an older server (no received) as nothing yet", () => {
    render(table([pending(undefined)]));
    expect(
      screen
        .getByRole("progressbar", { name: "Uploading report.pdf" })
        .getAttribute("aria-valuenow"),
    ).toBe("0");
    expect(screen.getByTestId("pending-status").textContent).toBe("Uploading 0% · 0 B of 30 MB");
  });

  it("says it waits after 60 s without progress while watched, and moves on when it moves", () => {
    const { rerender } = render(table([pending(12 * MB)]));
    const status = () => screen.getByTestId("pending-status").textContent;
    rerender(table([pending(12 * MB)], now + 55_000));
    expect(status()).toBe("Uploading 40% · 12 MB of 30 MB");
    // The same bytes in a new list (another file changed): still not moving.
    rerender(table([pending(12 * MB), files[1]!], now + 58_000));
    rerender(table([pending(12 * MB), files[1]!], now + 60_000));
    expect(status()).toBe("Uploading 40% · 12 MB of 30 MB · Waiting for the upload to continue");
    // It moves again: the words go.
    rerender(table([pending(15 * MB), files[1]!], now + 61_000));
    expect(status()).toBe("Uploading 50% · 15 MB of 30 MB");
    rerender(table([pending(15 * MB), files[1]!], now + 100_000));
    expect(status()).toBe("Uploading 50% · 15 MB of 30 MB");
  });

  it("becomes a normal row in place when ready", () => {
    const { rerender } = render(table([pending(29 * MB)]));
    const row = screen.getByRole("progressbar").closest("tr")!;
    rerender(
      table([
        {
          ...pending(30 * MB),
          status: "ready",
          updated_at: "2026-01-10T11:59:59Z",
        },
      ]),
    );
    expect(screen.queryByRole("progressbar")).toBeNull();
    const link = screen.getByRole("link", { name: "report.pdf" });
    // The same row element: it turned ready where it was.
    expect(link.closest("tr")).toBe(row);
    expect(row.getAttribute("data-status")).toBeNull();
    expect(screen.getByRole("button", { name: "Download report.pdf" })).toBeTruthy();
    expect(screen.getByText("1 file")).toBeTruthy();
  });
});

describe("FileTable: selecting rows for one ZIP", () => {
  const folder = (id: string, name: string): Folder => ({
    id,
    owner_id: "me",
    owner_email: "me@x.io",
    name,
    parent_id: null,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
  });
  const folders = [folder("d1", "Trip")];
  const uploading: FileRecord = {
    ...file("p1", "report.pdf", 3000, "2026-01-10T11:00:00Z"),
    status: "pending",
    received: 1000,
  };

  function table(
    list: FileRecord[] = [...files, uploading],
    dirs: Folder[] = folders,
    onDownloadSelection: (items: { files: string[]; folders: string[] }) => void = () => {},
  ) {
    return (
      <FileTable
        files={list}
        folders={dirs}
        scope="mine"
        meId="me"
        now={now}
        onDownload={() => {}}
        onDownloadSelection={onDownloadSelection}
        emptyText="none"
      />
    );
  }
  const box = (name: string) => screen.getByRole("checkbox", { name: `Select ${name}` });
  const selectAll = () => screen.getByRole("checkbox", { name: "Select all" }) as HTMLInputElement;
  const bar = () => screen.queryByRole("group", { name: "Selection" });

  it("selects folders and ready files by their checkboxes, and downloads them as one ZIP", () => {
    const download = vi.fn();
    render(table(undefined, undefined, download));
    // A checkbox per folder and ready file; none for the upload in progress.
    expect(screen.getAllByRole("checkbox").map((c) => c.getAttribute("aria-label"))).toEqual([
      null,
      "Select Trip",
      "Select beta.png",
      "Select alpha.png",
      "Select gamma.png",
    ]);
    const pending = screen
      .getByRole("progressbar", { name: "Uploading report.pdf" })
      .closest("tr")!;
    expect(within(pending).queryByRole("checkbox")).toBeNull();
    expect(bar()).toBeNull();

    fireEvent.click(box("alpha.png"));
    fireEvent.click(box("Trip"));
    expect(within(bar()!).getByText("2 selected")).toBeTruthy();
    expect((box("alpha.png") as HTMLInputElement).checked).toBe(true);
    expect(box("alpha.png").closest("tr")!.className).toBe("selected");
    fireEvent.click(within(bar()!).getByRole("button", { name: "Download as ZIP" }));
    expect(download).toHaveBeenCalledWith({ files: ["1"], folders: ["d1"] });
    // Unticked again: out of the selection.
    fireEvent.click(box("alpha.png"));
    expect(within(bar()!).getByText("1 selected")).toBeTruthy();
    fireEvent.click(within(bar()!).getByRole("button", { name: "Download as ZIP" }));
    expect(download).toHaveBeenLastCalledWith({ files: [], folders: ["d1"] });
  });

  it("selects all the rows shown, says when some are, and clears the selection", () => {
    render(table());
    expect(selectAll().checked).toBe(false);
    expect(selectAll().indeterminate).toBe(false);
    fireEvent.click(box("beta.png"));
    expect(selectAll().indeterminate).toBe(true);
    // From some to all: everything but the upload in progress.
    fireEvent.click(selectAll());
    expect(selectAll().checked).toBe(true);
    expect(selectAll().indeterminate).toBe(false);
    expect(within(bar()!).getByText("4 selected")).toBeTruthy();
    // All to none.
    fireEvent.click(selectAll());
    expect(bar()).toBeNull();

    // With a search, "Select all" is of what it shows; what it hides stays selected.
    fireEvent.click(box("Trip"));
    fireEvent.change(screen.getByLabelText("Search files"), { target: { value: "alpha" } });
    expect(selectAll().checked).toBe(false);
    fireEvent.click(selectAll());
    expect(within(bar()!).getByText("2 selected")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Search files"), { target: { value: "" } });
    expect((box("Trip") as HTMLInputElement).checked).toBe(true);
    expect(selectAll().indeterminate).toBe(true);

    fireEvent.click(within(bar()!).getByRole("button", { name: "Clear selection" }));
    expect(bar()).toBeNull();
    expect(screen.getAllByRole("checkbox").some((c) => (c as HTMLInputElement).checked)).toBe(
      false,
    );
    // Its button went: focus is on "Select all", not lost.
    expect(document.activeElement).toBe(selectAll());
  });

  it("works from the keyboard: Space ticks, Enter clears", async () => {
    const user = userEvent.setup();
    render(table());
    box("Trip").focus();
    await user.keyboard(" ");
    expect(within(bar()!).getByText("1 selected")).toBeTruthy();
    selectAll().focus();
    await user.keyboard(" ");
    expect(within(bar()!).getByText("4 selected")).toBeTruthy();
    within(bar()!).getByRole("button", { name: "Clear selection" }).focus();
    await user.keyboard("{Enter}");
    expect(bar()).toBeNull();
    expect(document.activeElement).toBe(selectAll());
  });

  it("drops what leaves the folder, live, for good", () => {
    const { rerender } = render(table());
    fireEvent.click(selectAll());
    expect(within(bar()!).getByText("4 selected")).toBeTruthy();
    // alpha.png deleted, Trip moved away: 2 left.
    rerender(table([files[1]!, files[2]!, uploading], []));
    expect(within(bar()!).getByText("2 selected")).toBeTruthy();
    // Back again, they are not selected.
    rerender(table([...files, uploading], folders));
    expect(within(bar()!).getByText("2 selected")).toBeTruthy();
    expect((box("alpha.png") as HTMLInputElement).checked).toBe(false);
    // A selected file uploaded anew (replaced) is an upload in progress: out too.
    rerender(table([{ ...files[1]!, status: "pending" }, files[2]!], folders));
    expect(within(bar()!).getByText("1 selected")).toBeTruthy();
    rerender(table([files[2]!], folders));
    fireEvent.click(box("gamma.png"));
    expect(bar()).toBeNull();
  });

  it("takes no more items in one ZIP than the server does", () => {
    zipLimit.value = 3;
    render(table());
    fireEvent.click(selectAll());
    expect(within(bar()!).getByText("4 selected")).toBeTruthy();
    const zip = within(bar()!).getByRole("button", {
      name: "Download as ZIP",
    }) as HTMLButtonElement;
    expect(zip.disabled).toBe(true);
    expect(
      within(bar()!).getByText("One ZIP takes at most 3 selected items: select fewer."),
    ).toBeTruthy();
    fireEvent.click(box("Trip"));
    expect(zip.disabled).toBe(false);
    expect(within(bar()!).queryByText(/at most/)).toBeNull();
  });

  it("offers no selecting where it is not turned on (the top of Shared with me)", () => {
    render(
      <FileTable
        files={files}
        folders={folders}
        scope="shared"
        meId="me"
        now={now}
        onDownload={() => {}}
        emptyText="none"
      />,
    );
    expect(screen.queryByRole("checkbox")).toBeNull();
    expect(screen.getByRole("table").className).toBe("files");
  });
});
