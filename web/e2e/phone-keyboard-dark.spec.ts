import { email, makeFile, newUser, PASSWORD, shot, upload, expect, test } from "./helpers";

test("a 375-pixel phone: no sideways scrolling, everything reachable", async ({ browser }) => {
  const { page, context } = await newUser(browser, "phoebe", {
    viewport: { width: 375, height: 740 },
    isMobile: true,
    hasTouch: true,
  });
  await upload(page, [
    makeFile("a-rather-long-file-name-for-a-small-screen-2026-final-v2.pdf", "%PDF-1.4\n"),
    makeFile("photo.txt", "hi"),
  ]);
  await expect(page.getByTestId("upload-status")).toHaveText([/Uploaded/, /Uploaded/]);
  const overflow = () =>
    page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
  expect(await overflow()).toBe(0);
  await shot(page, "13-phone-files");

  await page.getByRole("button", { name: "Share photo.txt" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Create link" }).click();
  await expect(page.getByRole("img", { name: "QR code of the new link" })).toBeVisible();
  expect(await overflow()).toBe(0);
  await shot(page, "14-phone-share");
  const url = await page
    .getByRole("dialog")
    .getByLabel(/New link/)
    .inputValue();
  await page.keyboard.press("Escape");

  await page.getByRole("link", { name: "photo.txt" }).click();
  await expect(page.locator(".preview pre")).toHaveText("hi");
  expect(await overflow()).toBe(0);
  await shot(page, "15-phone-details");

  await page.getByRole("link", { name: "Activity", exact: true }).click();
  await expect(page.getByTestId("all-activity")).toContainText("You created a public link");
  expect(await overflow()).toBe(0);
  await shot(page, "15b-phone-activity");

  await page.goto(url);
  await expect(page.getByTestId("link-name")).toHaveText("photo.txt");
  expect(await overflow()).toBe(0);
  await shot(page, "16-phone-recipient");
  await context.close();
});

test("keyboard alone: sign up, sort, share and close the dialog", async ({ browser }) => {
  const context = await browser.newContext({ colorScheme: "dark" });
  const page = await context.newPage();
  await page.goto("/signup/");
  // The e-mail field has focus on arrival.
  await page.keyboard.type(email("kai"));
  await page.keyboard.press("Tab");
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/files\/$/);

  await upload(page, [makeFile("beta.txt", "b"), makeFile("alpha.txt", "a")]);
  await expect(page.getByTestId("upload-status")).toHaveText([/Uploaded/, /Uploaded/]);

  // Sort by name from the keyboard.
  await page.getByRole("button", { name: "Name" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("columnheader", { name: "Name" })).toHaveAttribute(
    "aria-sort",
    "ascending",
  );
  await expect(page.locator("tbody tr").first()).toContainText("alpha.txt");

  // Open the share dialog, type an address, submit, close with Escape.
  const share = page.getByRole("button", { name: "Share alpha.txt" });
  await share.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  await dialog.getByLabel("E-mail address").focus();
  await page.keyboard.type("friend@example.com");
  await page.keyboard.press("Enter");
  await expect(dialog.getByText(/friend@example.com has no confirmed account yet/)).toBeVisible();
  await shot(page, "17-dark-share-dialog");
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(share).toBeFocused();
  await shot(page, "18-dark-files");

  // The skip link is the first stop.
  await page.reload();
  await expect(page.locator(".live")).toHaveText("Live");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await context.close();
});

test("signed-out visitors are sent to sign in, and back after", async ({ browser }) => {
  const { context: c1, email: address } = await newUser(browser, "sam");
  await c1.close();
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto("/account/");
  await expect(page).toHaveURL(/\/signin\/\?next=%2Faccount%2F/);
  await page.getByLabel("E-mail").fill(address);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator("p[role=alert]")).toHaveText("Wrong e-mail or password.");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/account\/$/);

  // API tokens: create, shown once, revoke.
  await page.getByLabel("Token name").fill("laptop CLI");
  await page.getByRole("button", { name: "Create token" }).click();
  await expect(page.getByLabel("New token")).toHaveValue(/^ldt_/);
  await expect(page.getByTestId("new-token")).toContainText(
    "livedrop login --server http://127.0.0.1:",
  );
  await shot(page, "19-account-tokens");
  await page.getByRole("button", { name: "Revoke token laptop CLI" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
  await expect(page.getByText("No tokens.")).toBeVisible();

  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/signin\/$/);
  await context.close();
});

test("a `next` that leaves the site stays on it after sign-in", async ({ browser, baseURL }) => {
  const { context: c1, email: address } = await newUser(browser, "nell");
  await c1.close();
  const context = await browser.newContext();
  const elsewhere: string[] = [];
  await context.route(
    (url) => url.hostname.endsWith("evil.example"),
    (route) => {
      elsewhere.push(route.request().url());
      return route.abort();
    },
  );
  const page = await context.newPage();
  const origin = new URL(baseURL!).origin;
  // As typed in the address bar: `%09` is a tab, which the browser drops
  // when it resolves `/<tab>/evil.example` (to `//evil.example`).
  for (const next of [
    "/%09/evil.example",
    "//evil.example",
    "/%5Cevil.example",
    "/.//evil.example",
  ]) {
    await page.goto(`/signin/?next=${next}`);
    await page.getByLabel("E-mail").fill(address);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(`${origin}/files/`);
    await expect(page.locator(".live")).toHaveText("Live");
    // Signed in already: the sign-in page sends straight on, and here too.
    await page.goto(`/signin/?next=${next}`);
    await expect(page).toHaveURL(`${origin}/files/`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/signin\/$/);
  }
  expect(elsewhere).toEqual([]);
  await context.close();
});
