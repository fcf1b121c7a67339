import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { FileRecord, Folder, Link, Share } from "@/lib/backend";
import { ApiError } from "@/lib/backend";
import {
  ShareDialog,
  linkSummary,
  type FileShareBackend,
  type FolderShareBackend,
} from "./ShareDialog";

const file = { id: "f1", name: "plan.pdf", size: 2048 } as FileRecord;

const link: Link = {
  id: "l1",
  file_id: "f1",
  folder_id: null,
  has_password: true,
  expires_at: "2026-01-17T12:00:00Z",
  max_downloads: 5,
  downloads: 2,
  revoked: false,
  created_at: "2026-01-10T11:58:00Z",
};

function fakeBackend() {
  return {
    getFile: vi.fn(async () => ({
      file,
      shares: [{ email: "bob@x.io", user_id: "u2", pending: false }],
      links: [link],
    })),
    share: vi.fn(async (_id: string, email: string): Promise<Share> => ({
      email,
      user_id: null,
      pending: true,
    })),
    unshare: vi.fn(async () => {}),
    createLink: vi.fn(async () => ({
      link: { ...link, id: "l2", has_password: false, downloads: 0, max_downloads: 3 },
      token: "tok",
      url: "/s/tok",
    })),
    revokeLink: vi.fn(async () => {}),
  } satisfies FileShareBackend;
}

describe("ShareDialog", () => {
  it("lists people and links", async () => {
    render(
      <ShareDialog backend={fakeBackend()} file={file} onClose={() => {}} origin="http://h" />,
    );
    expect(await screen.findByText("bob@x.io")).toBeTruthy();
    expect(screen.getByText(/2 of 5 downloads/)).toBeTruthy();
    expect(screen.getByText(/password/)).toBeTruthy();
  });

  it("says when a person has no confirmed account yet", async () => {
    const b = fakeBackend();
    render(<ShareDialog backend={b} file={file} onClose={() => {}} origin="http://h" />);
    await screen.findByText("bob@x.io");
    fireEvent.change(screen.getByLabelText("E-mail address"), { target: { value: "new@x.io" } });
    fireEvent.click(screen.getByRole("button", { name: "Share" }));
    expect(await screen.findByText(/new@x.io has no confirmed account yet/)).toBeTruthy();
    expect(screen.getByText("Invited")).toBeTruthy();
    expect(screen.queryByTestId("invite-link")).toBeNull();
    expect(b.share).toHaveBeenCalledWith("f1", "new@x.io");
  });

  it("hands over the invitation link when the server sends no mail", async () => {
    const b = fakeBackend();
    b.share.mockImplementationOnce(async (_id: string, email: string) => ({
      email,
      user_id: null,
      pending: true,
      invite_url: "/verify/?token=abc",
    }));
    render(<ShareDialog backend={b} file={file} onClose={() => {}} origin="http://h" />);
    await screen.findByText("bob@x.io");
    fireEvent.change(screen.getByLabelText("E-mail address"), { target: { value: "new@x.io" } });
    fireEvent.click(screen.getByRole("button", { name: "Share" }));
    expect(await screen.findByText(/this server sends no e-mail/)).toBeTruthy();
    const field = screen.getByLabelText("Invitation link for new@x.io") as HTMLInputElement;
    expect(field.value).toBe("http://h/verify/?token=abc");
  });

  it("shows the server's error for a bad address", async () => {
    const b = fakeBackend();
    b.share.mockRejectedValueOnce(
      new ApiError(400, "invalid_email", "that is not an e-mail address"),
    );
    render(<ShareDialog backend={b} file={file} onClose={() => {}} origin="http://h" />);
    await screen.findByText("bob@x.io");
    fireEvent.change(screen.getByLabelText("E-mail address"), { target: { value: "x@y" } });
    fireEvent.click(screen.getByRole("button", { name: "Share" }));
    expect(await screen.findByText("that is not an e-mail address")).toBeTruthy();
  });

  it("creates a link with a limit and shows it with a QR code", async () => {
    const b = fakeBackend();
    render(<ShareDialog backend={b} file={file} onClose={() => {}} origin="http://h" />);
    await screen.findByText("bob@x.io");
    fireEvent.change(screen.getByLabelText(/Download limit/), { target: { value: "3" } });
    fireEvent.click(screen.getByRole("button", { name: "Create link" }));
    const input = (await screen.findByLabelText(/New link/)) as HTMLInputElement;
    expect(input.value).toBe("http://h/s/tok");
    expect(screen.getByRole("img", { name: "QR code of the new link" })).toBeTruthy();
    expect(b.createLink).toHaveBeenCalledWith("f1", {
      expires_in_seconds: 604800,
      max_downloads: 3,
    });
  });

  it("revokes a link", async () => {
    const b = fakeBackend();
    render(<ShareDialog backend={b} file={file} onClose={() => {}} origin="http://h" />);
    fireEvent.click(await screen.findByRole("button", { name: /Revoke the link/ }));
    await waitFor(() => expect(screen.queryByText(/2 of 5 downloads/)).toBeNull());
    expect(b.revokeLink).toHaveBeenCalledWith("l1");
  });

  it("summarises a link", () => {
    expect(linkSummary(link, Date.parse("2026-01-10T12:00:00Z"))).toBe(
      "Created 2 min ago · expires in 7 days · password · 2 of 5 downloads",
    );
  });
});

describe("ShareDialog for a folder", () => {
  const folder = { id: "d1", name: "Project", owner_id: "u1", parent_id: null } as Folder;

  function folderBackend() {
    return {
      folderShares: vi.fn(async (): Promise<Share[]> => [
        { email: "bob@x.io", user_id: "u2", pending: false },
      ]),
      shareFolder: vi.fn(async (_id: string, email: string): Promise<Share> => ({
        email,
        user_id: "u3",
        pending: false,
      })),
      unshareFolder: vi.fn(async () => {}),
      folderLinks: vi.fn(async (): Promise<Link[]> => [folderLink]),
      createFolderLink: vi.fn(async () => ({
        link: { ...folderLink, id: "l9", downloads: 0, expires_at: null, max_downloads: 1 },
        token: "ftok",
        url: "/s/ftok",
      })),
      revokeLink: vi.fn(async () => {}),
    } satisfies FolderShareBackend;
  }
  const folderLink: Link = { ...link, id: "l8", file_id: null, folder_id: "d1" };

  it("shares with people: adds, lists and removes them", async () => {
    const b = folderBackend();
    render(<ShareDialog backend={b} folder={folder} onClose={() => {}} origin="http://h" />);
    expect(screen.getByRole("heading", { name: "Share “Project”" })).toBeTruthy();
    expect(await screen.findByText("bob@x.io")).toBeTruthy();
    expect(b.folderShares).toHaveBeenCalledWith("d1");

    fireEvent.change(screen.getByLabelText("E-mail address"), { target: { value: "cy@x.io" } });
    fireEvent.click(screen.getByRole("button", { name: "Share" }));
    expect(await screen.findByText(/Shared with cy@x.io/)).toBeTruthy();
    expect(b.shareFolder).toHaveBeenCalledWith("d1", "cy@x.io");
    const people = screen.getByRole("list", { name: "People with access" });
    expect(people.textContent).toContain("cy@x.io");

    fireEvent.click(screen.getByRole("button", { name: "Stop sharing with bob@x.io" }));
    expect(await screen.findByText("bob@x.io no longer has access.")).toBeTruthy();
    expect(b.unshareFolder).toHaveBeenCalledWith("d1", "bob@x.io");
    expect(screen.getByRole("list", { name: "People with access" }).textContent).not.toContain(
      "bob@x.io",
    );
  });

  it("lists, creates (password, limit, never expires) and revokes the folder's public links", async () => {
    const b = folderBackend();
    render(<ShareDialog backend={b} folder={folder} onClose={() => {}} origin="http://h" />);
    expect(screen.getByRole("heading", { name: "Public links" })).toBeTruthy();
    const active = await screen.findByRole("list", { name: "Active links" });
    expect(active.textContent).toMatch(/password · 2 of 5 downloads/);
    expect(b.folderLinks).toHaveBeenCalledWith("d1");
    expect(screen.getByText(/whole folder as ZIP/)).toBeTruthy();

    fireEvent.change(screen.getByLabelText("Expires after"), { target: { value: "4" } });
    fireEvent.change(screen.getByLabelText("Password"), { target: { value: "pw" } });
    fireEvent.change(screen.getByLabelText("Download limit"), { target: { value: "1" } });
    fireEvent.click(screen.getByRole("button", { name: "Create link" }));
    const input = (await screen.findByLabelText(/New link/)) as HTMLInputElement;
    expect(input.value).toBe("http://h/s/ftok");
    expect(b.createFolderLink).toHaveBeenCalledWith("d1", { password: "pw", max_downloads: 1 });
    expect(screen.getByText(/can open the folder and download what is in it/)).toBeTruthy();
    expect(screen.getByRole("img", { name: "QR code of the new link" })).toBeTruthy();
    expect(screen.getByRole("list", { name: "Active links" }).textContent).toMatch(
      /never expires · password · 0 of 1 downloads/,
    );

    const revokes = screen.getAllByRole("button", { name: /Revoke the link/ });
    fireEvent.click(revokes[0]!);
    await waitFor(() => expect(screen.queryByTestId("new-link")).toBeNull());
    expect(b.revokeLink).toHaveBeenCalledWith("l9");
    expect(screen.getAllByRole("button", { name: /Revoke the link/ })).toHaveLength(1);
  });

  it("shows why the links could not be made", async () => {
    const b = folderBackend();
    b.createFolderLink.mockRejectedValueOnce(new ApiError(404, "not_found", "folder not found"));
    render(<ShareDialog backend={b} folder={folder} onClose={() => {}} origin="http://h" />);
    await screen.findByRole("list", { name: "Active links" });
    fireEvent.click(screen.getByRole("button", { name: "Create link" }));
    expect((await screen.findByRole("alert")).textContent).toBe("folder not found");
  });

  it("shows why the shares could not be read", async () => {
    const b = folderBackend();
    b.folderShares.mockRejectedValueOnce(new ApiError(404, "not_found", "folder not found"));
    render(<ShareDialog backend={b} folder={folder} onClose={() => {}} origin="http://h" />);
    expect((await screen.findByRole("alert")).textContent).toMatch(/not found|not exist/i);
  });
});
