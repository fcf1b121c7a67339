import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { ApiError, type Backend } from "@/lib/backend";
import { SessionsCard, endedSentence, newPasswordProblem } from "./SessionsCard";

function fakeBackend(sessions = true) {
  return {
    features: {
      apiTokens: sessions,
      googleSignIn: !sessions,
      sessions,
      addressVerification: sessions,
    },
    signOutOthers: vi.fn(async () => 2),
    changePassword: vi.fn(async () => 1),
  } satisfies Pick<Backend, "features" | "signOutOthers" | "changePassword">;
}

function fillPassword(current: string, next: string, repeat: string) {
  fireEvent.change(screen.getByLabelText("Current password"), { target: { value: current } });
  fireEvent.change(screen.getByLabelText("New password"), { target: { value: next } });
  fireEvent.change(screen.getByLabelText("Repeat new password"), { target: { value: repeat } });
  fireEvent.click(screen.getByRole("button", { name: "Change password" }));
}

describe("SessionsCard", () => {
  it("signs out everywhere else after confirming, and says how many", async () => {
    const b = fakeBackend();
    render(<SessionsCard backend={b} email="a@x.io" />);
    fireEvent.click(screen.getByRole("button", { name: "Sign out everywhere else" }));
    expect(b.signOutOthers).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole("button", { name: "Sign them out" }));
    expect(await screen.findByText("Signed out 2 other sessions.")).toBeTruthy();
    expect(screen.getByTestId("signout-others-status").getAttribute("role")).toBe("status");
    expect(screen.queryByRole("dialog")).toBeNull();
    expect(b.signOutOthers).toHaveBeenCalledTimes(1);
  });

  it("says when nobody else was signed in, and cancelling asks nothing", async () => {
    const b = fakeBackend();
    b.signOutOthers.mockResolvedValueOnce(0);
    render(<SessionsCard backend={b} email="a@x.io" />);
    fireEvent.click(screen.getByRole("button", { name: "Sign out everywhere else" }));
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(b.signOutOthers).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole("button", { name: "Sign out everywhere else" }));
    fireEvent.click(screen.getByRole("button", { name: "Sign them out" }));
    expect(await screen.findByText("No other sessions were signed in.")).toBeTruthy();
  });

  it("keeps the dialog open with the error when signing out fails", async () => {
    const b = fakeBackend();
    b.signOutOthers.mockRejectedValueOnce(new ApiError(403, "csrf_failed", "csrf"));
    render(<SessionsCard backend={b} email="a@x.io" />);
    fireEvent.click(screen.getByRole("button", { name: "Sign out everywhere else" }));
    fireEvent.click(screen.getByRole("button", { name: "Sign them out" }));
    const message = await screen.findByText(/out of date/);
    expect(message.getAttribute("role")).toBe("alert");
    expect(screen.getByRole("button", { name: "Sign them out" })).toBeTruthy();
  });

  it("changes the password and says the other sessions were signed out", async () => {
    const b = fakeBackend();
    render(<SessionsCard backend={b} email="a@x.io" />);
    expect(screen.getByLabelText("Current password").getAttribute("autocomplete")).toBe(
      "current-password",
    );
    expect(screen.getByLabelText("New password").getAttribute("autocomplete")).toBe("new-password");
    fillPassword("old secret", "new secret!", "new secret!");
    expect(await screen.findByText("Password changed. Signed out 1 other session.")).toBeTruthy();
    expect(b.changePassword).toHaveBeenCalledWith("old secret", "new secret!");
    expect((screen.getByLabelText("New password") as HTMLInputElement).value).toBe("");
  });

  it("does not send a new password that does not match its repeat", () => {
    const b = fakeBackend();
    render(<SessionsCard backend={b} email="a@x.io" />);
    fillPassword("old secret", "new secret!", "new secret?");
    expect(screen.getByTestId("password-error").textContent).toMatch(/don’t match/);
    expect(screen.getByLabelText("Repeat new password").getAttribute("aria-invalid")).toBe("true");
    expect(b.changePassword).not.toHaveBeenCalled();
  });

  it.each([
    [
      new ApiError(403, "wrong_password", "the current password is wrong"),
      /current password is wrong/,
    ],
    [new ApiError(400, "invalid_password", "too short"), /at least 8 characters/],
    [new ApiError(429, "rate_limited", "slow down", 30), /Try again in 30 s/],
  ])("puts %s in clear words", async (error, words) => {
    const b = fakeBackend();
    b.changePassword.mockRejectedValueOnce(error);
    render(<SessionsCard backend={b} email="a@x.io" />);
    fillPassword("old secret", "new secret!", "new secret!");
    await waitFor(() => expect(screen.getByTestId("password-error").textContent).toMatch(words));
    expect(screen.getByTestId("password-error").getAttribute("role")).toBe("alert");
    expect(screen.getByTestId("password-status").textContent).toBe("");
  });

  it("in the cloud, says the sign-in provider manages both, with no buttons", () => {
    render(<SessionsCard backend={fakeBackend(false)} email="a@x.io" />);
    expect(screen.getByText(/managed by the sign-in provider/)).toBeTruthy();
    expect(screen.queryByRole("button")).toBeNull();
    expect(screen.queryByLabelText("Current password")).toBeNull();
  });

  it("words the counts and checks a new password as the server does", () => {
    expect(endedSentence(0)).toBe("No other sessions were signed in");
    expect(endedSentence(1)).toBe("Signed out 1 other session");
    expect(endedSentence(3)).toBe("Signed out 3 other sessions");
    expect(newPasswordProblem("short", "short")).toMatch(/at least 8/);
    // Eight characters, more bytes: enough.
    expect(newPasswordProblem("éééééééé", "éééééééé")).toBeNull();
    expect(newPasswordProblem("x".repeat(1025), "x".repeat(1025))).toMatch(/too long/);
    expect(newPasswordProblem("long enough", "long enougH")).toMatch(/don’t match/);
  });
});
