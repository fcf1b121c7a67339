import { act, fireEvent, render, screen } from "@testing-library/react";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { Backend, Folder } from "@/lib/backend";
import type { ArchiveSource, ZipOptions, ZipProgress } from "@/lib/zip-download";

// The component is tested over a stand-in for the download itself
// (lib/zip-download.test.ts tests that).
const calls: {
  archive: ArchiveSource;
  options: ZipOptions;
  resolve: () => void;
  reject: (e: unknown) => void;
}[] = [];
vi.mock("@/lib/zip-download", async (importOriginal) => {
  const real = await importOriginal<typeof import("@/lib/zip-download")>();
  return {
    ...real,
    downloadZip: vi.fn(
      (archive: ArchiveSource, options: ZipOptions) =>
        new Promise<void>((resolve, reject) => {
          calls.push({ archive, options, resolve, reject });
          options.signal?.addEventListener("abort", () =>
            reject(new DOMException("aborted", "AbortError")),
          );
        }),
    ),
  };
});

const { ZipButton, startArchiveDownload, startSelectionZipDownload, startZipDownload } =
  await import("./ZipButton");
const { ZipUnsupportedError, folderArchive } = await import("@/lib/zip-download");

const backend = {} as Backend;
const folder = { id: "f1", name: "Trip" } as Folder;
const archive = folderArchive(backend, folder);
const progress = (p: Partial<ZipProgress>): ZipProgress => ({
  phase: "saving",
  listed: 5,
  files: 3,
  written: 0,
  total: 10_000_000,
  bytesPerSecond: null,
  secondsLeft: null,
  via: "stream",
  ...p,
});

beforeEach(() => {
  calls.length = 0;
});

describe("ZipButton", () => {
  it("shows bytes, speed and time left, then what it saved", async () => {
    render(<ZipButton archive={archive} />);
    fireEvent.click(screen.getByRole("button", { name: "Download as ZIP" }));
    expect(calls).toHaveLength(1);
    act(() => calls[0]!.options.onProgress!(progress({ phase: "listing", listed: 3 })));
    expect(screen.getByTestId("zip-status").textContent).toBe("Listing the folder… 3 items");
    act(() =>
      calls[0]!.options.onProgress!(
        progress({ written: 2_500_000, bytesPerSecond: 1_250_000, secondsLeft: 6 }),
      ),
    );
    expect(screen.getByTestId("zip-status").textContent).toBe(
      "2.5 MB of 10 MB · 1.3 MB/s · 6 s left",
    );
    const bar = screen.getByRole("progressbar", { name: "ZIP download of Trip" });
    expect(bar.getAttribute("aria-valuenow")).toBe("25");
    expect(screen.getByText("Keep this page open until the download is done.")).toBeTruthy();
    await act(async () => calls[0]!.resolve());
    expect(screen.getByRole("status").textContent).toBe("Done: 3 files, 10 MB.");
    // Full, though the last report was at a quarter.
    expect(bar.getAttribute("aria-valuenow")).toBe("100");
    expect(screen.getByRole("button", { name: "Download again" })).toBeTruthy();
  });

  it("cancels", async () => {
    render(<ZipButton archive={archive} />);
    fireEvent.click(screen.getByRole("button", { name: "Download as ZIP" }));
    const signal = calls[0]!.options.signal!;
    await act(async () =>
      fireEvent.click(screen.getByRole("button", { name: "Cancel the ZIP download of Trip" })),
    );
    expect(signal.aborted).toBe(true);
    expect(screen.getByRole("status").textContent).toBe("The ZIP download was cancelled.");
  });

  it("says clearly when this browser cannot save it", async () => {
    render(<ZipButton archive={archive} />);
    fireEvent.click(screen.getByRole("button", { name: "Download as ZIP" }));
    await act(async () =>
      calls[0]!.reject(new ZipUnsupportedError('… or the command line: livedrop get -r "Trip"')),
    );
    expect(screen.getByRole("alert").textContent).toContain('livedrop get -r "Trip"');
  });

  it("notes when the archive is made in memory", () => {
    render(<ZipButton archive={archive} />);
    fireEvent.click(screen.getByRole("button", { name: "Download as ZIP" }));
    act(() => calls[0]!.options.onProgress!(progress({ via: "memory" })));
    expect(screen.getByText(/put together in memory first/)).toBeTruthy();
  });
});

describe("startZipDownload", () => {
  it("starts it in a panel at once, one per folder, dismissable when over", async () => {
    await act(async () => {
      startZipDownload(backend, folder);
      startZipDownload(backend, folder);
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.archive.name).toBe("Trip");
    const panel = screen.getByRole("region", { name: "ZIP downloads" });
    expect(panel.textContent).toContain("Trip.zip");
    await act(async () => calls[0]!.resolve());
    await act(async () =>
      fireEvent.click(screen.getByRole("button", { name: "Dismiss the ZIP download of Trip" })),
    );
    expect(screen.queryByRole("region", { name: "ZIP downloads" })).toBeNull();
  });
});

describe("startArchiveDownload", () => {
  it("runs any archive in the panel, one per id", async () => {
    const through = { ...archive, name: "Shared trip" };
    await act(async () => {
      startArchiveDownload("link:tok:top", through);
      startArchiveDownload("link:tok:top", through);
      startArchiveDownload("folder:f1", archive);
    });
    expect(calls.map((c) => c.archive.name)).toEqual(["Shared trip", "Trip"]);
    const panel = screen.getByRole("region", { name: "ZIP downloads" });
    expect(panel.textContent).toContain("Shared trip.zip");
    await act(async () => calls.forEach((c) => c.resolve()));
    for (const name of ["Shared trip", "Trip"]) {
      await act(async () =>
        fireEvent.click(
          screen.getByRole("button", { name: `Dismiss the ZIP download of ${name}` }),
        ),
      );
    }
    expect(screen.queryByRole("region", { name: "ZIP downloads" })).toBeNull();
  });
});

describe("startSelectionZipDownload", () => {
  it("runs the selection's ZIP in the panel, named after its folder, once for the same items", async () => {
    const pages = vi.fn(async () => ({ name: "Trip", entries: [], next_cursor: null }));
    const withPages = { selectionArchivePage: pages } as unknown as Backend;
    await act(async () => {
      startSelectionZipDownload(withPages, { files: ["a", "b"], folders: ["d"] }, "Trip");
      // The same items in another order: the same download.
      startSelectionZipDownload(withPages, { files: ["b", "a"], folders: ["d"] }, "Trip");
      startSelectionZipDownload(withPages, { files: ["a"], folders: [] }, "Trip");
    });
    expect(calls).toHaveLength(2);
    expect(calls[0]!.archive.name).toBe("Trip");
    // Its pages are the selection's.
    await calls[0]!.archive.open()(null, false);
    expect(pages).toHaveBeenCalledWith({ files: ["a", "b"], folders: ["d"] }, null);
    const panel = screen.getByRole("region", { name: "ZIP downloads" });
    expect(panel.textContent).toContain("Trip.zip");
    await act(async () => calls.forEach((c) => c.resolve()));
    for (const dismiss of screen.getAllByRole("button", {
      name: "Dismiss the ZIP download of Trip",
    })) {
      await act(async () => fireEvent.click(dismiss));
    }
    expect(screen.queryByRole("region", { name: "ZIP downloads" })).toBeNull();
  });
});
