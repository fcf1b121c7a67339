// Debian's Chromium, started the way these offline machines need: without the
// background-networking flags its connections to Google are refused by the
// closed network, many at a time. Shared by both Playwright configs.
export const chromiumLaunchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};
