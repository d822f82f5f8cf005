// Web app figures for scripts/bench: bundle sizes (raw and gzip) and, on a throttled connection
// (1.6 Mbit/s down, 150 ms RTT, empty cache, no service worker): the first screen, registration
// submit -> directory, and the time until a returning seeker sees the chat screen, cold (empty
// cache) and warm (service worker cache).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { startServer, register, registerSeeker, api } from "../../tests/integration/harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "../dist");
const out = {};

// js: what a seeker loads without a call (German built in; the other languages, loaded when
// chosen, are "lang", the largest one; the call code, loaded when a call starts or rings, "calls").
const sizes = { js: [0, 0], lang: [0, 0], calls: [0, 0], css: [0, 0], wasm: [0, 0] };
for (const f of readdirSync(join(dist, "assets"))) {
  const isJs = f.endsWith(".js");
  if (/^(en|ar|fa|ru|uk|tr)-[\w-]+\.js$/.test(f)) {
    const bytes = readFileSync(join(dist, "assets", f));
    const gz = gzipSync(bytes, { level: 9 }).length;
    if (gz > sizes.lang[1]) sizes.lang = [bytes.length, gz];
    continue;
  }
  const kind = isJs ? (f.startsWith("calls-") ? "calls" : "js") : f.endsWith(".css") ? "css" : f.endsWith(".wasm") ? "wasm" : null;
  if (!kind) continue;
  const bytes = readFileSync(join(dist, "assets", f));
  sizes[kind][0] += bytes.length;
  sizes[kind][1] += gzipSync(bytes, { level: 9 }).length;
}
for (const [k, [raw, gz]] of Object.entries(sizes)) {
  out[`web_${k}_kb`] = Math.round(raw / 1024);
  out[`web_${k}_gzip_kb`] = Math.round(gz / 1024);
}

const server = await startServer({ extraConfig: `[web_client]\ndir = "${dist}"` });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
try {
  const counselor = await register(server, "bench-counselor");
  const seeker = await registerSeeker(server, "bench-seeker");
  const c = await api(server, "POST", "/_lotse/client/v1/consultations", { token: seeker.accessToken, body: { counselor: counselor.userId, topic: "aufenthalt" } });
  if (c.status !== 200) throw new Error(JSON.stringify(c.body));
  const session = { userId: seeker.userId, accessToken: seeker.accessToken, deviceId: seeker.deviceId };
  const throttle = async (context, page) => {
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 0.75e6 / 8 });
  };
  // A new visitor: the language buttons of the first screen; then, in a fresh context with the
  // language chosen, from the registration's submit to the directory.
  {
    const context = await browser.newContext({ serviceWorkers: "block" });
    const page = await context.newPage();
    await throttle(context, page);
    const start = Date.now();
    await page.goto(server.baseUrl + "/");
    await page.locator(".langs button").first().waitFor({ timeout: 120000 });
    out.web_first_screen_ms = Date.now() - start;
    await context.close();
  }
  {
    const context = await browser.newContext({ serviceWorkers: "block" });
    await context.addInitScript(() => localStorage.setItem("lotse.lang", "de"));
    const page = await context.newPage();
    await throttle(context, page);
    await page.goto(server.baseUrl + "/");
    await page.locator("#pseudonym").fill(`bench-new-${Date.now()}`);
    await page.locator("#password").fill("bench-password-123");
    const start = Date.now();
    await page.locator("form button[type=submit]").click();
    await page.locator(".counselor").first().waitFor({ timeout: 120000 });
    out.web_register_to_directory_ms = Date.now() - start;
    await context.close();
  }
  // Cold: empty cache and no service worker (a worker's own fetches would escape the throttling).
  // Warm: the service worker has cached the app during an earlier, unthrottled visit.
  const measure = async (serviceWorkers, warmUp) => {
    const context = await browser.newContext({ serviceWorkers });
    await context.addInitScript((s) => {
      localStorage.setItem("lotse.lang", "de");
      if (!localStorage.getItem("lotse.session")) localStorage.setItem("lotse.session", JSON.stringify(s));
    }, session);
    const page = await context.newPage();
    if (warmUp) {
      await page.goto(server.baseUrl + "/");
      await page.evaluate(async () => navigator.serviceWorker.ready);
      await page.locator(".consultation button").first().waitFor({ timeout: 120000 });
    }
    await throttle(context, page);
    const start = Date.now();
    await page.goto(server.baseUrl + "/");
    await page.locator(".consultation button").first().click({ timeout: 120000 });
    await page.locator("#message").waitFor({ timeout: 120000 });
    const ms = Date.now() - start;
    await context.close();
    return ms;
  };
  out.web_chat_first_render_cold_ms = await measure("block", false);
  out.web_chat_first_render_warm_ms = await measure("allow", true);
} finally {
  await browser.close();
  await server.stop();
  server.cleanup();
}
console.log(JSON.stringify(out));
