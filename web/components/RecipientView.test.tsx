import { fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type Backend, type PublicLink } from "@/lib/backend";
import { RecipientView, tokenFromPath } from "./RecipientView";

const info: PublicLink = {
  kind: "file",
  name: "photo.png",
  size: 1_500_000,
  content_type: "image/png",
  password_required: true,
  expires_at: null,
  downloads_left: 2,
};

function backend(overrides: Partial<Backend> = {}): () => Promise<Backend> {
  const b = {
    linkInfo: vi.fn(async () => info),
    linkDownload: vi.fn(async (_t: string, o: { password?: string }) => {
      if (o.password !== "secret") throw new ApiError(403, "wrong_password", "wrong password");
      return { url: "/blob/x?sig=1", expires_at: "" };
    }),
    readText: vi.fn(),
    ...overrides,
  } as unknown as Backend;
  return async () => b;
}

describe("tokenFromPath", () => {
  it("reads /s/<token> with or without a slash", () => {
    expect(tokenFromPath("/s/abc")).toBe("abc");
    expect(tokenFromPath("/s/abc/")).toBe("abc");
    expect(tokenFromPath("/s/")).toBeNull();
    expect(tokenFromPath("/s/a/b")).toBeNull();
  });
});

describe("RecipientView", () => {
  const assign = vi.fn();
  beforeEach(() => {
    vi.stubGlobal("location", { ...window.location, assign, pathname: "/s/tok" });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    assign.mockReset();
  });

  it("shows the file and asks for the password", async () => {
    render(<RecipientView token="tok" load={backend()} />);
    expect((await screen.findByTestId("link-name")).textContent).toBe("photo.png");
    expect(screen.getByText(/1.5 MB · PNG image/)).toBeTruthy();
    expect(screen.getByText(/2 downloads left/)).toBeTruthy();

    fireEvent.change(screen.getByLabelText(/protected by a password/), {
      target: { value: "nope" },
    });
    fireEvent.click(screen.getByRole("button", { name: "Download" }));
    expect(await screen.findByText("Wrong password. Try again.")).toBeTruthy();
    expect(assign).not.toHaveBeenCalled();

    fireEvent.change(screen.getByLabelText(/protected by a password/), {
      target: { value: "secret" },
    });
    fireEvent.click(screen.getByRole("button", { name: "Download" }));
    expect(await screen.findByText(/Your download has started/)).toBeTruthy();
    expect(assign).toHaveBeenCalledWith("/blob/x?sig=1");
    expect(screen.getByText(/1 download left/)).toBeTruthy();
  });

  it.each([
    ["link_not_available", 404, "This link is not available"],
    ["link_expired", 410, "This link has expired"],
    ["link_exhausted", 410, "This link has been used up"],
  ])("explains %s", async (code, status, title) => {
    const load = backend({
      linkInfo: vi.fn(async () => {
        throw new ApiError(status, code, "x");
      }),
    });
    render(<RecipientView token="tok" load={load} />);
    expect((await screen.findByRole("heading")).textContent).toBe(title);
  });

  it("treats a missing token as not available", async () => {
    render(<RecipientView token={null} load={backend()} />);
    expect((await screen.findByRole("heading")).textContent).toBe("This link is not available");
  });
});
