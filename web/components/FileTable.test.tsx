import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { FileRecord } from "@/lib/backend";
import { FileTable } from "./FileTable";

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
