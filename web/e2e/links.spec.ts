import type { Page } from "@playwright/test";
import { makeFile, newUser, shot, upload, expect, test } from "./helpers";

async function createLink(
  page: Page,
  file: string,
  options: { password?: string; limit?: number },
): Promise<string> {
  await page.getByRole("button", { name: `Share ${file}` }).click();
  const dialog = page.getByRole("dialog");
  if (options.password) await dialog.getByLabel("Password").fill(options.password);
  if (options.limit) await dialog.getByLabel("Download limit").fill(String(options.limit));
  await dialog.getByRole("button", { name: "Create link" }).click();
  const url = await dialog.getByLabel(/New link/).inputValue();
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{20,}$/);
  return url;
}

test("recipient page: password, download limit, revoked and unknown links", async ({ browser }) => {
  const owner = await newUser(browser, "lena");
  const o = owner.page;
  await upload(o, makeFile("quarterly-report.txt", "Q3: up and to the right.\n"));
  await expect(o.getByTestId("upload-status")).toHaveText(/Uploaded/);

  const url = await createLink(o, "quarterly-report.txt", { password: "open sesame", limit: 1 });
  await expect(o.getByRole("img", { name: "QR code of the new link" })).toBeVisible();
  await expect(o.getByRole("dialog").getByText(/0 of 1 downloads · /)).toHaveCount(0);
  await expect(o.getByRole("dialog").getByText(/password · 0 of 1 downloads/)).toBeVisible();
  await shot(o, "08-link-created-qr");
  await o.keyboard.press("Escape");

  // The owner watches the file's activity.
  await o.getByRole("link", { name: "quarterly-report.txt" }).click();
  await expect(o.getByTestId("activity")).toContainText("created a public link");

  // Someone who is not signed in opens the link.
  const anon = await browser.newContext();
  const p = await anon.newPage();
  await p.goto(url);
  await expect(p.getByTestId("link-name")).toHaveText("quarterly-report.txt");
  await expect(p.getByText(/1 download left/)).toBeVisible();
  await expect(p.getByText("Link expires in 7 days")).toBeVisible();
  await shot(p, "09-recipient-password");

  await p.getByLabel(/protected by a password/).fill("wrong guess");
  await p.getByRole("button", { name: "Download" }).click();
  await expect(p.getByText("Wrong password. Try again.")).toBeVisible();

  await p.getByLabel(/protected by a password/).fill("open sesame");
  const downloadPromise = p.waitForEvent("download");
  await p.getByRole("button", { name: "Download" }).click();
  expect((await downloadPromise).suggestedFilename()).toBe("quarterly-report.txt");
  await expect(p.getByText(/That was the last download this link allows/)).toBeVisible();

  // The owner sees it at once.
  await expect(o.getByTestId("activity").locator("li").first()).toContainText(
    "Someone downloaded the file through a public link (1 of 1 downloads used)",
    { timeout: 3000 },
  );

  // Opened again: used up.
  await p.reload();
  await expect(p.getByRole("heading")).toHaveText("This link has been used up");
  await shot(p, "10-recipient-exhausted");

  // A revoked link and a link that never existed look the same.
  await o.getByRole("link", { name: "← My files" }).click();
  const second = await createLink(o, "quarterly-report.txt", {});
  await o
    .getByRole("dialog")
    .getByRole("button", { name: /Revoke the link/ })
    .first()
    .click();
  await expect(o.getByRole("dialog").getByTestId("new-link")).toHaveCount(0);
  await p.goto(second);
  await expect(p.getByRole("heading")).toHaveText("This link is not available");
  await p.goto("/s/this-token-never-existed-0123456789");
  await expect(p.getByRole("heading")).toHaveText("This link is not available");
  await shot(p, "11-recipient-not-available");

  await anon.close();
  await owner.context.close();
});

test("recipient page previews a safe file without a password", async ({ browser }) => {
  const owner = await newUser(browser, "pia");
  await upload(owner.page, makeFile("readme.txt", "Hello from livedrop.\n"));
  await expect(owner.page.getByTestId("upload-status")).toHaveText(/Uploaded/);
  const url = await createLink(owner.page, "readme.txt", {});
  const anon = await browser.newContext();
  const p = await anon.newPage();
  await p.goto(url);
  await expect(p.getByText("Link expires in 7 days")).toBeVisible();
  await p.getByRole("button", { name: "Preview" }).click();
  await expect(p.locator(".preview pre")).toHaveText("Hello from livedrop.\n");
  await shot(p, "12-recipient-preview");
  await anon.close();
  await owner.context.close();
});

test("an expired link says so", async ({ browser }) => {
  const owner = await newUser(browser, "eve");
  const o = owner.page;
  await upload(o, makeFile("brief.txt", "short-lived"));
  await expect(o.getByTestId("upload-status")).toHaveText(/Uploaded/);
  const fileId = await o.locator("tr[data-file-id]").first().getAttribute("data-file-id");
  // The dialog offers an hour at least; ask the API for a one-second link.
  const me = await (await o.request.get("/api/me")).json();
  const res = await o.request.post(`/api/files/${fileId}/links`, {
    data: { expires_in_seconds: 1 },
    headers: { "X-CSRF-Token": me.csrf_token },
  });
  expect(res.status()).toBe(201);
  const { url } = await res.json();
  await new Promise((r) => setTimeout(r, 2100));
  const anon = await browser.newContext();
  const p = await anon.newPage();
  await p.goto(url);
  await expect(p.getByRole("heading")).toHaveText("This link has expired");
  await anon.close();
  await owner.context.close();
});
