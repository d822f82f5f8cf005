// A seeker of the old system in the PWA after lotse-bridge imported it (issues #13 and #12): she signs
// in with her old pseudonym (non-ASCII, with a space) and old password; the PWA moves the account to
// the derived-key scheme in the same step; her imported consultation is there and its history, which
// the server holds only encrypted, decrypts on this new device once `lotse-bridge serve` delivered the
// keys. Then the old password no longer signs in, the derived one does.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer, api } from "../../../tests/integration/harness.mjs";
import { deriveKeys, localpart } from "../../src/key_recovery.js";
import { CATALOG } from "../../src/all_languages.js";

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.LOTSE_WEB_DIST ?? join(here, "../../dist");
const BRIDGE = process.env.LOTSE_BRIDGE_BIN ?? join(here, "../../../build/bridge/lotse-bridge");
const EXPORT = process.env.LOTSE_OLD_EXPORT ?? join(here, "../../../tests/fixtures/old-system");
const answers = JSON.parse(readFileSync(join(EXPORT, "answers.json"), "utf8"));
const work = mkdtempSync(join(tmpdir(), "lotse-migration-"));
let server, browser, serve;

function run(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(BRIDGE, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => { out += d; });
    child.stderr.on("data", (d) => { err += d; });
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`lotse-bridge ${args[0]}: ${err}`))));
  });
}

before(async () => {
  server = await startServer({ extraConfig: `[web_client]\ndir = "${dist}"` });
  const state = join(work, "state.db");
  await run(["import", "--export", EXPORT, "--secrets", join(EXPORT, "secrets.example.toml"), "--server", server.baseUrl,
    "--token", server.admin.accessToken, "--state", state, "--json"]);
  serve = spawn(BRIDGE, ["serve", "--server", server.baseUrl, "--state", state, "--interval", "1"],
    { stdio: "ignore", env: { ...process.env, LOTSE_ADMIN_TOKEN: server.admin.accessToken } });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium", headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
  serve?.kill("SIGTERM");
  await server.stop();
  server.cleanup();
  rmSync(work, { recursive: true, force: true });
});

test("an imported seeker signs in with her old name and password and reads her consultation's history", { timeout: 180000 }, async () => {
  const session = answers.sessions.find((s) => s.session_id === 1237);
  const seeker = answers.users.find((u) => u.id === session.seeker.id);
  assert.equal(seeker.username, "Şükrü 16");
  assert.equal(seeker.password_algorithm, "bcrypt");
  const texts = session.messages.filter((m) => m.type === "text").map((m) => m.body);
  assert.ok(texts.length >= 5);

  const context = await browser.newContext({ viewport: { width: 390, height: 800 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(server.baseUrl + "/");
  await page.getByRole("button", { name: "English" }).click();
  await page.getByRole("button", { name: "I already have an account" }).click();
  await page.getByLabel("Pseudonym").fill(seeker.username);
  await page.getByLabel("Password", { exact: true }).fill(seeker.password);
  await page.getByRole("button", { name: "Log in" }).click();

  await page.locator(".consultation button").first().click({ timeout: 60000 });
  // The enquiry, the counselor's answers and the last message, decrypted on this new device.
  for (const t of [texts[0], texts[1], texts[texts.length - 1]]) await page.getByText(t, { exact: false }).first().waitFor({ timeout: 60000 });
  // The old system's automatic "what happens next" event, in the language she chose (English here).
  assert.ok(session.messages.some((m) => m.message_type === "FURTHER_STEPS"));
  await page.getByText(CATALOG.en["notice.FURTHER_STEPS"]).first().waitFor({ timeout: 10000 });
  await context.close();

  const name = localpart(seeker.username);
  const login = (password) => api(server, "POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user: name }, password } });
  assert.equal((await login(seeker.password)).status, 403, "the old password no longer signs in");
  assert.equal((await login((await deriveKeys(name, seeker.password)).loginSecret)).status, 200, "the derived secret does");
});
