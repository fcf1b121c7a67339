import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { FileRecord } from "@/lib/backend";
import { savedUploadsKey, UploadManager, type UploadBackend } from "@/lib/uploads";
import { UploadPanel } from "./UploadPanel";

function backend(): UploadBackend {
  return {
    createUpload: vi.fn(async (u) => ({
      file: { id: "f1", name: u.name } as FileRecord,
      upload: { method: "PUT" as const, url: "/blob/f1", headers: [], resumable: false },
    })),
    completeUpload: vi.fn(async () => ({ id: "f1" }) as FileRecord),
    cancelUpload: vi.fn(async () => {}),
    transfer: {
      putWhole: vi.fn(async (_t, body, onProgress) => onProgress(body.size)),
      startSession: vi.fn(),
      putChunk: vi.fn(),
      querySession: vi.fn(),
    },
  };
}

describe("UploadPanel", () => {
  it("uploads picked files and tells when they are done", async () => {
    const onFinished = vi.fn();
    const uploads = new UploadManager({
      backend: backend(),
      maxFileSize: 1000,
      owner: "u-ann",
      storage: localStorage,
    });
    render(<UploadPanel uploads={uploads} onFinished={onFinished} />);
    const input = screen.getByTestId("file-input");
    fireEvent.change(input, {
      target: { files: [new File(["hello"], "hello.txt", { type: "text/plain" })] },
    });
    expect(await screen.findByText("hello.txt")).toBeTruthy();
    await waitFor(() =>
      expect(screen.getByTestId("upload-status").textContent).toMatch(/Uploaded/),
    );
    expect(onFinished).toHaveBeenCalled();
    fireEvent.click(screen.getByRole("button", { name: "Dismiss hello.txt" }));
    expect(screen.queryByText("hello.txt")).toBeNull();
  });

  it("refuses a file over the limit with a clear message", async () => {
    const uploads = new UploadManager({
      backend: backend(),
      maxFileSize: 3,
      owner: "u-ann",
      storage: localStorage,
    });
    render(<UploadPanel uploads={uploads} />);
    fireEvent.drop(screen.getByTestId("dropzone"), {
      dataTransfer: { files: [new File(["hello"], "big.bin")] },
    });
    expect((await screen.findByRole("alert")).textContent).toMatch(/Too large: the limit is 3 B/);
  });

  it("lists unfinished uploads from an earlier page", () => {
    localStorage.setItem(
      savedUploadsKey("u-ann"),
      JSON.stringify([
        {
          fileId: "f9",
          location: "/blob/sessions/s",
          name: "movie.mp4",
          size: 5e9,
          lastModified: 1,
          savedAt: Date.now(),
        },
      ]),
    );
    const uploads = new UploadManager({
      backend: backend(),
      maxFileSize: 1e10,
      owner: "u-ann",
      storage: localStorage,
    });
    render(<UploadPanel uploads={uploads} />);
    expect(screen.getByText(/Unfinished uploads/)).toBeTruthy();
    expect(screen.getByText("movie.mp4")).toBeTruthy();
  });

  it("never lists someone else's unfinished uploads", () => {
    localStorage.setItem(
      savedUploadsKey("u-ann"),
      JSON.stringify([
        {
          fileId: "f9",
          location: "/blob/sessions/s",
          name: "movie.mp4",
          size: 5e9,
          lastModified: 1,
          savedAt: Date.now(),
        },
      ]),
    );
    const uploads = new UploadManager({
      backend: backend(),
      maxFileSize: 1e10,
      owner: "u-bob",
      storage: localStorage,
    });
    render(<UploadPanel uploads={uploads} />);
    expect(screen.queryByText(/Unfinished uploads/)).toBeNull();
    expect(screen.queryByText("movie.mp4")).toBeNull();
  });

  it("hands picked folders and dropped trees to onUpload, and shows a folder upload as a whole", async () => {
    const uploads = new UploadManager({
      backend: backend(),
      maxFileSize: 1000,
      owner: "u-ann",
      storage: localStorage,
    });
    const onUpload = vi.fn();
    render(<UploadPanel uploads={uploads} onUpload={onUpload} destination="Trip" />);
    expect(screen.getByText(/drop files or folders here to put them in “Trip”/)).toBeTruthy();
    const folderInput = screen.getByTestId("folder-input");
    expect(folderInput.hasAttribute("webkitdirectory")).toBe(true);
    const a = new File(["a"], "a.txt");
    Object.defineProperty(a, "webkitRelativePath", { value: "Photos/day 1/a.txt" });
    fireEvent.change(folderInput, { target: { files: [a] } });
    expect(onUpload).toHaveBeenCalledWith({
      files: [{ file: a, dirs: ["Photos", "day 1"] }],
      dirs: [["Photos"], ["Photos", "day 1"]],
    });
    // Plain files picked go the same way, with no folders.
    const b = new File(["b"], "b.txt");
    fireEvent.change(screen.getByTestId("file-input"), { target: { files: [b] } });
    expect(onUpload).toHaveBeenLastCalledWith({ files: [{ file: b, dirs: [] }], dirs: [] });

    // The batch, as the folder upload drives it.
    let id = "";
    act(() => {
      id = uploads.beginBatch("Photos", 2, 4, 1);
    });
    expect(screen.getByTestId("batch-status").textContent).toBe("Making folders… 0 of 1");
    act(() => {
      uploads.updateBatch(id, { foldersMade: 1, prepared: true });
      uploads.addItems([
        { file: new File(["aa"], "x.txt"), folderId: "d1", path: "Photos", batch: id },
        { file: new File(["bb"], "y.txt"), folderId: "d1", path: "Photos", batch: id },
      ]);
    });
    await waitFor(() =>
      expect(screen.getByTestId("batch-status").textContent).toBe("Uploaded 2 files · 4 B"),
    );
    expect(
      screen.getByRole("progressbar", { name: "Upload of Photos" }).getAttribute("aria-valuenow"),
    ).toBe("100");
    expect(screen.getAllByText("in Photos")).toHaveLength(2);
    fireEvent.click(screen.getByRole("button", { name: "Clear finished" }));
    expect(screen.queryByTestId("batch-status")).toBeNull();
    expect(screen.queryByText("x.txt")).toBeNull();
  });

  it("offers no folder upload without onUpload", () => {
    const uploads = new UploadManager({
      backend: backend(),
      maxFileSize: 1000,
      owner: "u-ann",
      storage: localStorage,
    });
    render(<UploadPanel uploads={uploads} />);
    expect(screen.queryByRole("button", { name: "Upload folder" })).toBeNull();
    expect(screen.queryByTestId("folder-input")).toBeNull();
  });
});
