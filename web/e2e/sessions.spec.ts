import type { Page } from "@playwright/test";
import { PASSWORD, newUser, shot, expect, test } from "./helpers";

async function signIn(page: Page, address: string, password: string): Promise<void> {
  await page.goto("/signin/");
  await page.getByLabel("E-mail").fill(address);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("sign out everywhere else, and a new password, end the other browser's session", async ({
  browser,
}) => {
  const first = await newUser(browser, "ses");
  const a = first.page;
  const secondContext = await browser.newContext();
  const b = await secondContext.newPage();
  await signIn(b, first.email, PASSWORD);
  await expect(b).toHaveURL(/\/files\/$/);
  await expect(b.locator(".live")).toHaveText("Live");

  // The first signs every other browser out: the second's feed closes, and
  // it goes to sign-in.
  await a.goto("/account/");
  await a.getByRole("button", { name: "Sign out everywhere else" }).click();
  await a.getByRole("dialog").getByRole("button", { name: "Sign them out" }).click();
  await expect(a.getByTestId("signout-others-status")).toHaveText("Signed out 1 other session.");
  await expect(b).toHaveURL(/\/signin\//, { timeout: 5_000 });
  // The first is still signed in.
  await expect(a.locator(".live")).toHaveText("Live");

  // Signed in again, then the first changes the password: the second is
  // signed out again.
  await signIn(b, first.email, PASSWORD);
  await expect(b).toHaveURL(/\/files\/$/);
  await expect(b.locator(".live")).toHaveText("Live");

  const form = a.getByTestId("password-form");
  const next = "a brand new passphrase";
  await form.getByLabel("Current password").fill(PASSWORD);
  await form.getByLabel("New password", { exact: true }).fill(next);
  await form.getByLabel("Repeat new password").fill(next + "!");
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(a.getByTestId("password-error")).toHaveText(/don’t match/);

  await form.getByLabel("Current password").fill("not the password");
  await form.getByLabel("Repeat new password").fill(next);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(a.getByTestId("password-error")).toHaveText("The current password is wrong.");

  await form.getByLabel("Current password").fill(PASSWORD);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(a.getByTestId("password-status")).toHaveText(
    "Password changed. Signed out 1 other session.",
  );
  await expect(a.getByTestId("password-error")).toHaveText("");
  await shot(a, "23-account-sessions");
  await expect(b).toHaveURL(/\/signin\//, { timeout: 5_000 });

  // The old password no longer works; the new one does.
  await signIn(b, first.email, PASSWORD);
  await expect(b.locator("p[role=alert]")).toHaveText("Wrong e-mail or password.");
  await b.getByLabel("Password").fill(next);
  await b.getByRole("button", { name: "Sign in" }).click();
  await expect(b).toHaveURL(/\/files\/$/);
  await expect(b.locator(".live")).toHaveText("Live");
  // And the first never stopped being signed in. On a phone, in dark mode,
  // the card fits.
  await a.setViewportSize({ width: 375, height: 740 });
  await a.emulateMedia({ colorScheme: "dark" });
  await a.reload();
  await expect(a.getByRole("heading", { name: "Sessions and password" })).toBeVisible();
  expect(
    await a.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    ),
  ).toBe(0);
  await shot(a, "24-phone-dark-account-sessions");

  await first.context.close();
  await secondContext.close();
});
