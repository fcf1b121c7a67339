import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ApiError,
  type Backend,
  type LinkArchivePage,
  type LinkArchiveRequest,
  type LinkListing,
  type PublicFolderLink,
} from "@/lib/backend";
import type { ArchiveSource } from "@/lib/zip-download";

// The ZIP itself is lib/zip-download's (tested there): here, what the page starts.
const started: { id: string; archive: ArchiveSource }[] = [];
vi.mock("./ZipButton", () => ({
  startArchiveDownload: (id: string, archive: ArchiveSource) => started.push({ id, archive }),
}));

const { RecipientView } = await import("./RecipientView");

const AT = "2026-01-02T03:04:05Z";
const info: PublicFolderLink = {
  kind: "folder",
  name: "Trip",
  size: null,
  content_type: null,
  password_required: true,
  expires_at: null,
  downloads_left: 5,
};

const top: LinkListing = {
  folder: { id: "d1", name: "Trip", updated_at: AT },
  path: [],
  folders: [{ id: "d2", name: "day 1", updated_at: AT }],
  files: [
    { id: "f1", name: "notes.txt", size: 1500, content_type: "text/plain", updated_at: AT },
    {
      id: "f2",
      name: "data.bin",
      size: 20,
      content_type: "application/octet-stream",
      updated_at: AT,
    },
  ],
};
const day1: LinkListing = {
  folder: { id: "d2", name: "day 1", updated_at: AT },
  path: [{ id: "d1", name: "Trip" }],
  folders: [],
  files: [{ id: "f3", name: "b.txt", size: 3, content_type: "text/plain", updated_at: AT }],
};

function fake(overrides: Partial<Record<keyof Backend, ReturnType<typeof vi.fn>>> = {}) {
  const b = {
    linkInfo: vi.fn(async () => info),
    linkList: vi.fn(async (_t: string, o: { password?: string; folder_id?: string }) => {
      if (o.password !== "secret") throw new ApiError(403, "wrong_password", "wrong password");
      if (!o.folder_id) return top;
      if (o.folder_id === "d2") return day1;
      throw new ApiError(404, "not_found", "not found");
    }),
    linkDownload: vi.fn(async (_t: string, o: { file_id?: string; inline?: boolean }) => ({
      url: `/blob/${o.file_id}?inline=${o.inline ? 1 : 0}`,
      expires_at: "",
    })),
    linkArchivePage: vi.fn(
      async (_t: string, body: LinkArchiveRequest): Promise<LinkArchivePage> => ({
        name: "Trip",
        entries: [],
        next_cursor: null,
        ticket: body.ticket ?? "t1",
      }),
    ),
    readText: vi.fn(async () => "hello"),
    readBlob: vi.fn(),
    ...overrides,
  };
  return { b, load: async () => b as unknown as Backend };
}

const loc = { hash: "", pathname: "/s/tok", assign: vi.fn() };
/** What the browser does on a link to a hash: the hash changes, then hashchange. */
async function go(hash: string) {
  loc.hash = hash;
  await act(async () => {
    window.dispatchEvent(new HashChangeEvent("hashchange"));
  });
}

async function unlock() {
  fireEvent.change(await screen.findByLabelText("This folder is protected by a password"), {
    target: { value: "secret" },
  });
  fireEvent.click(screen.getByRole("button", { name: "Open" }));
  await screen.findByRole("list", { name: "In Trip" });
}

describe("a folder's public link", () => {
  beforeEach(() => {
    loc.hash = "";
    loc.assign.mockReset();
    started.length = 0;
    vi.stubGlobal("location", loc);
  });
  afterEach(() => vi.unstubAllGlobals());

  it("asks for the password, then shows the folder's folders and files", async () => {
    const { b, load } = fake();
    render(<RecipientView token="tok" load={load} />);
    expect((await screen.findByTestId("link-name")).textContent).toBe("Trip");
    expect(screen.getByText(/5 downloads left/)).toBeTruthy();
    expect(b.linkList).not.toHaveBeenCalled();

    fireEvent.change(screen.getByLabelText("This folder is protected by a password"), {
      target: { value: "nope" },
    });
    fireEvent.click(screen.getByRole("button", { name: "Open" }));
    expect(await screen.findByText("Wrong password. Try again.")).toBeTruthy();

    fireEvent.change(screen.getByLabelText("This folder is protected by a password"), {
      target: { value: "secret" },
    });
    fireEvent.click(screen.getByRole("button", { name: "Open" }));
    const list = await screen.findByRole("list", { name: "In Trip" });
    expect(b.linkList).toHaveBeenLastCalledWith("tok", { password: "secret" });
    const rows = within(list).getAllByRole("listitem");
    expect(rows.map((r) => r.textContent)).toEqual([
      expect.stringMatching(/^day 1Folder · /),
      expect.stringMatching(/^txtnotes\.txt1\.5 kB · .*PreviewDownload$/),
      // Not a type that is shown inline: no preview.
      expect.stringMatching(/^bindata\.bin20 B · .*[^w]Download$/),
    ]);
    expect(within(list).getByRole("link", { name: "day 1" }).getAttribute("href")).toBe(
      "#folder=d2",
    );
    expect(screen.queryByRole("navigation", { name: "Breadcrumbs" })).toBeNull();
    expect(document.title).toBe("Trip · livedrop");
  });

  it("browses into a folder by the hash, with breadcrumbs back, and back again", async () => {
    const { b, load } = fake();
    render(<RecipientView token="tok" load={load} />);
    await unlock();
    await go("#folder=d2");
    const heading = await screen.findByRole("heading", { level: 1, name: "day 1" });
    expect(b.linkList).toHaveBeenLastCalledWith("tok", { password: "secret", folder_id: "d2" });
    // Focus follows to the folder's name.
    expect(document.activeElement).toBe(heading);
    const crumbs = screen.getByRole("navigation", { name: "Breadcrumbs" });
    expect(within(crumbs).getByRole("link", { name: "Trip" }).getAttribute("href")).toBe("#");
    expect(screen.getByRole("list", { name: "In day 1" }).textContent).toContain("b.txt");

    await go("");
    expect(await screen.findByRole("heading", { level: 1, name: "Trip" })).toBeTruthy();
  });

  it("opens where the address says, after the password (a reload)", async () => {
    loc.hash = "#folder=d2";
    const { load } = fake();
    render(<RecipientView token="tok" load={load} />);
    fireEvent.change(await screen.findByLabelText("This folder is protected by a password"), {
      target: { value: "secret" },
    });
    fireEvent.click(screen.getByRole("button", { name: "Open" }));
    expect(await screen.findByRole("list", { name: "In day 1" })).toBeTruthy();
  });

  it("without a password: opens at once, and says when the folder in the address is not in it", async () => {
    loc.hash = "#folder=elsewhere";
    const { b, load } = fake({
      linkInfo: vi.fn(async () => ({ ...info, password_required: false })),
    });
    b.linkList.mockImplementation(async (_t, o) => {
      if (o.folder_id) throw new ApiError(404, "not_found", "not found");
      return top;
    });
    render(<RecipientView token="tok" load={load} />);
    expect((await screen.findByRole("alert")).textContent).toMatch(/not in the shared folder/);
    expect(b.linkList).toHaveBeenCalledWith("tok", { folder_id: "elsewhere" });
    await go("");
    expect(await screen.findByRole("list", { name: "In Trip" })).toBeTruthy();
    expect(b.linkList).toHaveBeenLastCalledWith("tok", {});
  });

  it("downloads and previews a file with the password, each counted", async () => {
    const { b, load } = fake();
    render(<RecipientView token="tok" load={load} />);
    await unlock();
    fireEvent.click(screen.getByRole("button", { name: "Download notes.txt" }));
    expect(await screen.findByText("Your download of “notes.txt” has started.")).toBeTruthy();
    expect(loc.assign).toHaveBeenCalledWith("/blob/f1?inline=0");
    expect(b.linkDownload).toHaveBeenLastCalledWith("tok", { password: "secret", file_id: "f1" });
    expect(screen.getByText(/4 downloads left/)).toBeTruthy();

    fireEvent.click(screen.getByRole("button", { name: "Preview notes.txt" }));
    await waitFor(() => expect(document.querySelector(".preview pre")?.textContent).toBe("hello"));
    expect(b.linkDownload).toHaveBeenLastCalledWith("tok", {
      password: "secret",
      file_id: "f1",
      inline: true,
    });
    expect(screen.getByText(/3 downloads left/)).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Close the preview" }));
    expect(document.querySelector(".preview")).toBeNull();
  });

  it("a file gone since the listing says so", async () => {
    const { load } = fake({
      linkDownload: vi.fn(async () => {
        throw new ApiError(404, "not_found", "not found");
      }),
    });
    render(<RecipientView token="tok" load={load} />);
    await unlock();
    fireEvent.click(screen.getByRole("button", { name: "Download data.bin" }));
    expect((await screen.findByRole("alert")).textContent).toBe(
      "“data.bin” is no longer in this folder.",
    );
  });

  it("never lets a preview take the last download, and the last download closes the page", async () => {
    const { load } = fake({ linkInfo: vi.fn(async () => ({ ...info, downloads_left: 1 })) });
    render(<RecipientView token="tok" load={load} />);
    await unlock();
    expect(screen.queryByRole("button", { name: "Preview notes.txt" })).toBeNull();
    fireEvent.click(screen.getByRole("button", { name: "Download notes.txt" }));
    await waitFor(() =>
      expect(screen.getByRole("heading").textContent).toBe("This link has been used up"),
    );
    expect(
      screen.getByText(
        "Your download of “notes.txt” has started. That was the last download this link allows.",
      ),
    ).toBeTruthy();
  });

  it("downloads the folder being looked at as ZIP: counted once, by the first page", async () => {
    const { b, load } = fake({ linkInfo: vi.fn(async () => ({ ...info, downloads_left: 2 })) });
    render(<RecipientView token="tok" load={load} />);
    await unlock();
    await go("#folder=d2");
    await screen.findByRole("heading", { level: 1, name: "day 1" });
    fireEvent.click(screen.getByRole("button", { name: "Download all as ZIP" }));
    await waitFor(() => expect(started).toHaveLength(1));
    expect(started[0]!.id).toBe("link:tok:d2");
    expect(started[0]!.archive.name).toBe("day 1");

    // The ZIP's listing: the first page with the password, then the ticket.
    const pages = started[0]!.archive.open();
    await act(async () => {
      await pages(null, false);
    });
    await pages("c1", false);
    expect(b.linkArchivePage.mock.calls.map((c: unknown[]) => c[1])).toEqual([
      { folder_id: "d2", password: "secret" },
      { folder_id: "d2", ticket: "t1", cursor: "c1" },
    ]);
    expect(screen.getByText(/1 download left/)).toBeTruthy();
    expect(screen.getByText(/Your ZIP of “day 1” has started/)).toBeTruthy();

    // The second ZIP was the last download the link allows.
    await act(async () => {
      await started[0]!.archive.open()(null, false);
    });
    expect(screen.getByRole("heading").textContent).toBe("This link has been used up");
    expect(screen.getByText(/Keep this page open until it says Done\./)).toBeTruthy();
  });

  it("the linked folder's ZIP names no folder", async () => {
    const { b, load } = fake();
    render(<RecipientView token="tok" load={load} />);
    await unlock();
    fireEvent.click(screen.getByRole("button", { name: "Download all as ZIP" }));
    await waitFor(() => expect(started).toHaveLength(1));
    await act(async () => {
      await started[0]!.archive.open()(null, false);
    });
    expect(b.linkArchivePage).toHaveBeenCalledWith("tok", { password: "secret" });
  });

  it.each([
    ["link_expired", 410, "This link has expired"],
    ["link_exhausted", 410, "This link has been used up"],
    ["link_not_available", 404, "This link is not available"],
  ])("closes when the link turns out %s", async (code, status, title) => {
    const { load } = fake({
      linkList: vi.fn(async () => {
        throw new ApiError(status, code, "x");
      }),
    });
    render(<RecipientView token="tok" load={load} />);
    fireEvent.change(await screen.findByLabelText("This folder is protected by a password"), {
      target: { value: "secret" },
    });
    fireEvent.click(screen.getByRole("button", { name: "Open" }));
    await waitFor(() => expect(screen.getByRole("heading").textContent).toBe(title));
  });

  it("says when there are too many attempts", async () => {
    const { load } = fake({
      linkList: vi.fn(async () => {
        throw new ApiError(429, "rate_limited", "slow down", 30);
      }),
    });
    render(<RecipientView token="tok" load={load} />);
    fireEvent.change(await screen.findByLabelText("This folder is protected by a password"), {
      target: { value: "secret" },
    });
    fireEvent.click(screen.getByRole("button", { name: "Open" }));
    expect((await screen.findByRole("alert")).textContent).toBe(
      "Too many attempts. Try again in 30 s.",
    );
  });
});
