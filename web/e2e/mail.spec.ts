import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { email, makeFile, newUser, PASSWORD, upload, expect, test } from "./helpers";

// Against the second server of playwright.config.ts, which sends its mail
// to a real SMTP server (aiosmtpd) that writes each letter to E2E_MAIL_DIR.
const MAIL_BASE = `http://127.0.0.1:${process.env.E2E_MAIL_PORT}`;
test.use({ baseURL: MAIL_BASE });

interface Letter {
  to: string[];
  subject: string;
  body: string;
}

/** The first letter to `to` whose subject matches, waiting for it to arrive. */
async function letterTo(to: string, subject: RegExp): Promise<Letter> {
  const dir = process.env.E2E_MAIL_DIR!;
  let found: Letter | undefined;
  await expect
    .poll(
      () => {
        found = readdirSync(dir)
          .filter((f) => f.endsWith(".json"))
          .sort()
          .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as Letter)
          .find((l) => l.to.includes(to) && subject.test(l.subject));
        return found !== undefined;
      },
      { timeout: 15_000, message: `a letter to ${to} about ${subject}` },
    )
    .toBe(true);
  return found!;
}

/** The link in a letter. */
function linkIn(letter: Letter): string {
  const m = letter.body.match(/https?:\/\/\S+/);
  expect(m, letter.body).not.toBeNull();
  return m![0];
}

test("letters arrive, and their links confirm, open the file and invite", async ({ browser }) => {
  // Bob signs up: nothing shared reaches him until he opens the letter.
  const bob = await newUser(browser, "bob");
  const b = bob.page;
  await expect(b.getByTestId("confirm-address")).toContainText("open the link we sent");
  const confirm = await letterTo(bob.email, /Confirm your e-mail address/);
  expect(linkIn(confirm)).toContain(`${MAIL_BASE}/verify/?token=`);
  await b.goto(linkIn(confirm));
  await expect(b.getByText(`${bob.email} is confirmed as yours.`)).toBeVisible();

  // Alice confirms too, and asks to hear of downloads.
  const alice = await newUser(browser, "alice");
  const a = alice.page;
  await a.goto(linkIn(await letterTo(alice.email, /Confirm your e-mail address/)));
  await expect(a.getByText(`${alice.email} is confirmed as yours.`)).toBeVisible();
  await a.goto("/account/");
  await a.getByLabel("Tell me by e-mail when someone downloads one of my files").check();
  await expect(a.getByText(/You will get a letter/)).toBeVisible();

  // She shares with Bob: his letter opens the file.
  await a.goto("/files/");
  await upload(a, makeFile("minutes.txt", "the minutes"));
  await expect(a.getByTestId("upload-status")).toHaveText(/Uploaded/);
  await a.getByRole("button", { name: "Share minutes.txt" }).click();
  await a.getByLabel("E-mail address").fill(bob.email);
  await a.getByRole("button", { name: "Share", exact: true }).click();
  await expect(a.getByText(`Shared with ${bob.email}`)).toBeVisible();
  const shared = await letterTo(bob.email, /shared “minutes\.txt” with you/);
  await b.goto(linkIn(shared));
  await expect(b.getByTestId("file-title")).toHaveText("minutes.txt");

  // Bob downloads it: Alice is told.
  const download = b.waitForEvent("download");
  await b.getByRole("button", { name: "Download" }).first().click();
  await download;
  const notice = await letterTo(alice.email, /“minutes\.txt” was downloaded/);
  expect(notice.body).toContain(`${bob.email} downloaded`);

  // A newcomer is invited: the letter's link, then sign-up, then the file.
  const newcomer = email("newcomer");
  await a.getByLabel("E-mail address").fill(newcomer);
  await a.getByRole("button", { name: "Share", exact: true }).click();
  await expect(a.getByText(/has no confirmed account yet/)).toBeVisible();
  const invitation = await letterTo(newcomer, /shared “minutes\.txt” with you on livedrop/);
  const n = await (await browser.newContext()).newPage();
  await n.goto(linkIn(invitation));
  await expect(n).toHaveURL(/\/signin\/\?next=/);
  await n.getByRole("link", { name: "Create an account" }).click();
  // The sign-in form has an E-mail field too: fill the sign-up form's.
  await expect(n.getByRole("heading", { name: "Create an account" })).toBeVisible();
  await n.getByLabel("E-mail").fill(newcomer);
  await n.getByLabel("Password").fill(PASSWORD);
  await n.getByRole("button", { name: "Create account" }).click();
  await expect(n.getByText(`${newcomer} is confirmed as yours.`)).toBeVisible();
  await n.getByRole("link", { name: "Shared with me" }).first().click();
  await expect(n.getByRole("link", { name: "minutes.txt" })).toBeVisible();

  await n.context().close();
  await alice.context.close();
  await bob.context.close();
});
