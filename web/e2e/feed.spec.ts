import type { WebSocketRoute } from "@playwright/test";
import { makeFile, newUser, proveAddress, upload, expect, test } from "./helpers";

test("after a dropped feed the page resumes and gets what it missed", async ({ browser }) => {
  const watcher = await newUser(browser, "wes");
  const sharer = await newUser(browser, "sol");
  await proveAddress(sharer, watcher);
  const w = watcher.page;

  // Pass the feed through, keeping hold of each connection.
  const sockets: WebSocketRoute[] = [];
  await w.routeWebSocket(/\/api\/feed/, (ws) => {
    ws.connectToServer();
    sockets.push(ws);
  });
  await w.goto("/shared/");
  await expect(w.locator(".live")).toHaveText("Live");
  expect(sockets).toHaveLength(1);
  expect(sockets[0]!.url()).not.toContain("since=");

  // Drop it, and share while the watcher is away.
  await sockets[0]!.close({ code: 1006 });
  await expect(w.locator(".live")).toHaveText(/Reconnecting|Live/);
  await upload(sharer.page, makeFile("while-away.txt", "missed?"));
  await expect(sharer.page.getByTestId("upload-status")).toHaveText(/Uploaded/);
  await sharer.page.getByRole("button", { name: "Share while-away.txt" }).click();
  await sharer.page.getByLabel("E-mail address").fill(watcher.email);
  await sharer.page.getByRole("button", { name: "Share", exact: true }).click();
  await expect(sharer.page.getByText(`Shared with ${watcher.email}`)).toBeVisible();

  // The reconnect asks to resume from where it was, and the share arrives.
  await expect(w.getByRole("link", { name: "while-away.txt" })).toBeVisible({ timeout: 10_000 });
  expect(sockets.length).toBeGreaterThanOrEqual(2);
  expect(sockets[1]!.url()).toMatch(/\?epoch=[^&]+&since=\d+$/);
  await expect(w.locator(".live")).toHaveText("Live");

  await watcher.context.close();
  await sharer.context.close();
});

test("signing out in one tab sends the other tabs to sign in at once", async ({ browser }) => {
  const { context, page } = await newUser(browser, "tab");
  await page.goto("/files/");
  await expect(page.locator(".live")).toHaveText("Live");
  const other = await context.newPage();
  await other.goto("/account/");
  await other.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(other).toHaveURL(/\/signin\/$/);
  // The server closes the first tab's feed as its session ends.
  await expect(page).toHaveURL(/\/signin\//, { timeout: 5_000 });
  await context.close();
});
