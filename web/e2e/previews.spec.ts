import { makeFile, newUser, upload, expect, test } from "./helpers";

test("video and audio previews stream with Range requests", async ({ browser }) => {
  const { page, context } = await newUser(browser, "vic");
  const body = Buffer.alloc(300_000, 7);
  await upload(page, [makeFile("clip.webm", body), makeFile("song.mp3", body)]);
  await expect(page.getByTestId("upload-status")).toHaveText([/Uploaded/, /Uploaded/]);

  for (const [name, tag] of [
    ["clip.webm", "video"],
    ["song.mp3", "audio"],
  ] as const) {
    await page.getByRole("link", { name }).click();
    const media = page.locator(`.preview ${tag}`);
    await expect(media).toHaveAttribute("src", /\/blob\//);
    const src = (await media.getAttribute("src"))!;
    const res = await page.request.get(src, { headers: { Range: "bytes=100-199" } });
    expect(res.status()).toBe(206);
    expect(res.headers()["content-range"]).toBe("bytes 100-199/300000");
    expect((await res.body()).length).toBe(100);
    await page.getByRole("link", { name: "← My files" }).click();
  }

  // Types that could run script in our origin are never shown inline.
  await upload(page, makeFile("page.html", "<script>alert(1)</script>"));
  await expect(page.getByTestId("upload-status").last()).toHaveText(/Uploaded/);
  await page.getByRole("link", { name: "page.html" }).click();
  await expect(page.getByText("No preview for this type of file.")).toBeVisible();
  await context.close();
});

test("a PDF preview is shown (framed from memory, as the server forbids framing)", async ({
  browser,
}) => {
  const { page, context } = await newUser(browser, "paula");
  const pdf =
    "%PDF-1.1\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" +
    "2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
    "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n" +
    "trailer<</Root 1 0 R>>\n%%EOF\n";
  await upload(page, makeFile("doc.pdf", pdf));
  await expect(page.getByTestId("upload-status")).toHaveText(/Uploaded/);
  await page.getByRole("link", { name: "doc.pdf" }).click();
  const frame = page.locator(".preview iframe");
  await expect(frame).toHaveAttribute("src", /^blob:/);
  await expect
    .poll(() => page.frames().map((f) => f.url()))
    .not.toContain("chrome-error://chromewebdata/");
  await context.close();
});
