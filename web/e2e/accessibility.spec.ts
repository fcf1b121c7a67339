import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { makeFile, newUser, upload, expect, test } from "./helpers";

async function violations(page: Page, what: string) {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze();
  if (process.env.AXE_VERBOSE)
    console.log(
      what,
      result.passes.length,
      "passes;",
      result.violations.map((v) => `${v.id}:${v.impact}`).join(", "),
    );
  const serious = result.violations.filter(
    (v) => v.impact === "serious" || v.impact === "critical",
  );
  const report = serious.map(
    (v) =>
      `${what}: ${v.id} (${v.impact}) ${v.help}\n  ${v.nodes.map((n) => n.target.join(" ")).join("\n  ")}`,
  );
  return report;
}

for (const colorScheme of ["light", "dark"] as const) {
  test(`no serious accessibility problems (${colorScheme})`, async ({ browser }) => {
    const { page, context } = await newUser(browser, `ally-${colorScheme}`, { colorScheme });
    await upload(page, makeFile("notes.txt", "hello"));
    await expect(page.getByTestId("upload-status")).toHaveText(/Uploaded/);
    const found: string[] = [];
    found.push(...(await violations(page, "files")));

    await page.getByRole("button", { name: "Share notes.txt" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Create link" }).click();
    const url = await page
      .getByRole("dialog")
      .getByLabel(/New link/)
      .inputValue();
    found.push(...(await violations(page, "share dialog")));
    await page.keyboard.press("Escape");

    await page.getByRole("link", { name: "notes.txt" }).click();
    await expect(page.locator(".preview pre")).toHaveText("hello");
    found.push(...(await violations(page, "details")));

    await page.getByRole("link", { name: "Account" }).click();
    await expect(page.getByText("No tokens.")).toBeVisible();
    found.push(...(await violations(page, "account")));

    await page.goto(url);
    await expect(page.getByTestId("link-name")).toHaveText("notes.txt");
    found.push(...(await violations(page, "recipient")));

    const anon = await browser.newContext({ colorScheme });
    const p = await anon.newPage();
    await p.goto("/signin/");
    await expect(p.getByLabel("E-mail")).toBeVisible();
    found.push(...(await violations(p, "sign-in")));
    await anon.close();

    expect(found, found.join("\n")).toEqual([]);
    await context.close();
  });
}
