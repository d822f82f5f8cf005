// Key backup opened by the password (issue #12, README "Key backup opened by the password"): a
// seeker's history survives logout, a fresh browser profile and a second device; neither the
// password nor the Secret Storage key is ever sent; devices are cross-signed; a password change
// keeps the history; an account registered with the raw password moves to the new scheme at its
// first login. Ends with a timing of login + backup restore under 4x CPU throttling.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join, dirname } from "node:path";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer, register, registerSeeker, startCryptoClient, waitFor, api } from "../../../tests/integration/harness.mjs";
import { deriveKeys, KDF_ITERATIONS } from "../../src/key_recovery.js";
import { startConsultation } from "./helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "../../dist");
// 20 keys under CTest (the restore must bring them all back); scripts/bench runs it with 500 for the figure.
const ROOM_KEYS = Number(process.env.LOTSE_RECOVERY_KEYS ?? 20);
let server, browser, counselorReg, counselor;
const bodies = [];  // every request body any seeker page sent

before(async () => {
  server = await startServer({ extraConfig: `[web_client]\ndir = "${dist}"` });
  counselorReg = await register(server, "yilmaz", undefined, { display_name: "Herr Yilmaz", languages: ["de", "en"], topics: ["aufenthalt"] });
  counselor = await startCryptoClient(server, counselorReg);
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium", headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});
after(async () => { counselor?.stopClient(); await browser?.close(); await server.stop(); server.cleanup(); });

async function newPage({ record = true } = {}) {
  const context = await browser.newContext({ viewport: { width: 390, height: 800 } });
  if (record) context.on("request", (r) => bodies.push({ url: r.url(), body: r.postData() ?? "" }));
  await context.addInitScript(() => {
    window.__recovery = [];
    addEventListener("lotse-recovery", (e) => window.__recovery.push(e.detail));
    // The CSP forbids fetching blob: URLs; keep the Blobs behind them to compare the bytes.
    window.__blobs = {};
    const create = URL.createObjectURL;
    URL.createObjectURL = (b) => { const u = create(b); window.__blobs[u] = b; return u; };
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(server.baseUrl + "/");
  await page.getByRole("button", { name: "English" }).click();
  return { context, page };
}

async function fillAuth(page, name, password, submit) {
  await page.getByLabel("Pseudonym").fill(name);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: submit }).click();
}

async function loginInBrowser(name, password, opts) {
  const { context, page } = await newPage(opts);
  await page.getByRole("button", { name: "I already have an account" }).click();
  await fillAuth(page, name, password, "Log in");
  return { context, page };
}

const recovery = (page, timeout = 60000) => page.waitForFunction(() => window.__recovery.find((d) => d.state !== "running"), null, { timeout })
  .then((h) => h.jsonValue());

// Every earlier message and the photo, byte-exact, in the seeker's chat.
async function seesHistory(page, texts, png) {
  await page.locator(".consultation button").first().click({ timeout: 30000 });
  for (const t of texts) await page.getByText(t).first().waitFor({ timeout: 30000 });
  const img = page.locator("img[alt='brief.png']");
  await img.waitFor({ timeout: 30000 });
  const bytes = await img.evaluate(async (el) => Array.from(new Uint8Array(await window.__blobs[el.src].arrayBuffer())));
  assert.deepEqual(Buffer.from(bytes), png, "the photo decrypts to the same bytes");
}

const deviceOf = async (page) => JSON.parse(await page.evaluate(() => localStorage.getItem("lotse.session")));

async function signedByOwner(userId, deviceId) {
  return waitFor(async () => {
    await counselor.getCrypto().getUserDeviceInfo([userId], true);
    return (await counselor.getCrypto().getDeviceVerificationStatus(userId, deviceId))?.signedByOwner;
  }, `${deviceId} cross-signed by its owner`, 30000);
}

async function counselorJoins(name) {
  const roomId = await waitFor(() => counselor.getRooms().find((r) => r.getMyMembership() === "invite" && r.name.includes(name))?.roomId, "invite", 30000);
  await counselor.joinRoom(roomId);
  await waitFor(async () => counselor.getCrypto().isEncryptionEnabledInRoom(roomId), "encrypted room");
  return roomId;
}

async function sendText(page, text) {
  await page.locator("#message").fill(text);
  await page.getByRole("button", { name: "Send", exact: true }).click();
}

const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082", "hex");
const NAME = "fluss", PASSWORD = "mein-geheimes-wort-42", NEW_PASSWORD = "ein-anderes-wort-77";
const history = ["Ich schreibe zum ersten Mal.", "Willkommen, ich bin für Sie da.", "Danke, das hilft mir."];
let roomId;

// Never sent: the password, nor the Secret Storage key in any usual encoding.
async function assertNothingSecretSent(passwords) {
  for (const pw of passwords) {
    const { secretStorageKey } = await deriveKeys(NAME, pw);
    const k = Buffer.from(secretStorageKey);
    const forms = [pw, k.toString("base64"), k.toString("base64").replace(/=+$/, ""), k.toString("base64url"), k.toString("hex")];
    for (const { url, body } of bodies) for (const f of forms) assert.ok(!body.includes(f), `a secret in the body of ${url}`);
  }
  assert.ok(bodies.length > 50, `${bodies.length} requests recorded`);
}

test("history survives logout: a fresh profile reads every message and the photo with pseudonym and password", async () => {
  const a = await newPage();
  await a.page.getByRole("button", { name: "Create account" }).waitFor();
  await fillAuth(a.page, NAME, PASSWORD, "Create account");
  assert.equal((await recovery(a.page)).created, true, "the first device sets up the backup");
  await startConsultation(a.page, counselorReg.userId, { timeout: 30000 });
  await a.page.locator("#message").waitFor({ timeout: 30000 });
  roomId = await counselorJoins(NAME);
  await sendText(a.page, history[0]);
  await waitFor(() => counselor.getRoom(roomId)?.getLiveTimeline().getEvents().some((e) => e.getSender() !== counselorReg.userId && e.getWireType() === "m.room.encrypted"), "message arrives", 30000);
  await counselor.sendTextMessage(roomId, history[1]);
  await a.page.getByText(history[1]).waitFor({ timeout: 30000 });
  await sendText(a.page, history[2]);
  await a.page.setInputFiles('input[type="file"]', { name: "brief.png", mimeType: "image/png", buffer: PNG });
  await a.page.locator("img[alt='brief.png']").waitFor({ timeout: 30000 });
  const first = await deviceOf(a.page);
  assert.equal(await signedByOwner(first.userId, first.deviceId), true);
  // Logout wipes the device (after the backup holds every key).
  await a.page.goto(server.baseUrl + "/");
  await a.page.getByRole("button", { name: "Log out" }).click({ timeout: 30000 });
  // After a logout the login form comes first, not registration.
  await a.page.getByRole("heading", { name: "Log in" }).waitFor({ timeout: 30000 });
  await a.context.close();

  const b = await loginInBrowser(NAME, PASSWORD);
  const restored = await recovery(b.page);
  assert.ok(restored.imported >= 1, JSON.stringify(restored));
  await seesHistory(b.page, history, PNG);
  const second = await deviceOf(b.page);
  assert.notEqual(second.deviceId, first.deviceId);
  assert.equal(await signedByOwner(second.userId, second.deviceId), true, "the new device signed itself");

  // A second device while the first stays logged in; both read what comes next. The pseudonym typed
  // with capitals (as a phone keyboard offers it) is the same account with the same keys.
  const c = await loginInBrowser(NAME[0].toUpperCase() + NAME.slice(1), PASSWORD);
  await recovery(c.page);
  await seesHistory(c.page, history, PNG);
  const third = await deviceOf(c.page);
  assert.equal(await signedByOwner(third.userId, third.deviceId), true);
  await counselor.sendTextMessage(roomId, "Eine neue Nachricht für beide Geräte.");
  await b.page.getByText("Eine neue Nachricht für beide Geräte.").waitFor({ timeout: 30000 });
  await c.page.getByText("Eine neue Nachricht für beide Geräte.").waitFor({ timeout: 30000 });
  await b.context.close();
  await c.context.close();
  await assertNothingSecretSent([PASSWORD]);
});

test("a password change keeps the history; the old password then fails login and secret storage", async () => {
  const { context, page } = await loginInBrowser(NAME, PASSWORD);
  await recovery(page);
  await page.getByRole("button", { name: "Change password" }).click({ timeout: 30000 });
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.locator("form.password-form").getByRole("button", { name: "Change password" }).click();
  await page.getByText("Password changed").waitFor({ timeout: 60000 });
  await context.close();

  const oldKeys = await deriveKeys(NAME, PASSWORD), newKeys = await deriveKeys(NAME, NEW_PASSWORD);
  const loginWith = (password) => api(server, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", identifier: { type: "m.id.user", user: NAME }, password } });
  assert.equal((await loginWith(oldKeys.loginSecret)).status, 403);
  assert.equal((await loginWith(PASSWORD)).status, 403);
  const ok = await loginWith(newKeys.loginSecret);
  assert.equal(ok.status, 200);
  // Secret storage: the default key is the new password's; the secrets are encrypted under it alone.
  const { calculateKeyCheck } = await import("matrix-js-sdk/lib/secret-storage.js");
  const data = (type) => api(server, "GET", `/_matrix/client/v3/user/${encodeURIComponent(ok.body.user_id)}/account_data/${type}`, { token: ok.body.access_token }).then((r) => r.body);
  const { key: keyId } = await data("m.secret_storage.default_key");
  const info = await data(`m.secret_storage.key.${keyId}`);
  assert.equal((await calculateKeyCheck(newKeys.secretStorageKey, info.iv)).mac, info.mac);
  assert.notEqual((await calculateKeyCheck(oldKeys.secretStorageKey, info.iv)).mac, info.mac);
  for (const s of ["m.cross_signing.master", "m.megolm_backup.v1"]) assert.deepEqual(Object.keys((await data(s)).encrypted), [keyId]);

  // The old password typed out of habit: refused, and never sent as typed (recorded like the rest;
  // the server gives the as-typed hint only to accounts whose password is still the typed one).
  const wrong = await loginInBrowser(NAME, PASSWORD);
  await wrong.page.getByRole("alert").waitFor({ timeout: 30000 });
  assert.match(await wrong.page.getByRole("alert").innerText(), /Pseudonym or password is wrong/);
  await wrong.context.close();
  const d = await loginInBrowser(NAME, NEW_PASSWORD);
  assert.ok((await recovery(d.page)).imported >= 1);
  await seesHistory(d.page, history, PNG);
  await d.context.close();
  await assertNothingSecretSent([PASSWORD, NEW_PASSWORD]);
});

test("an account registered with the raw password moves to the new scheme at its first login", async () => {
  const legacy = await registerSeeker(server, "altkonto", "altes-passwort-123");
  const { context, page } = await loginInBrowser("altkonto", "altes-passwort-123");
  assert.equal((await recovery(page)).created, true, "backup and cross-signing set up for the migrated account");
  await page.getByRole("button", { name: "Log out" }).waitFor();
  const me = await deviceOf(page);
  await context.close();
  // The counselor shares no room with this account and cannot query its keys: ask as the account.
  const q = (await api(server, "POST", "/_matrix/client/v3/keys/query", { token: legacy.accessToken, body: { device_keys: { [me.userId]: [] } } })).body;
  const ssk = Object.keys(q.self_signing_keys[me.userId].keys)[0];
  assert.ok(q.device_keys[me.userId][me.deviceId].signatures[me.userId][ssk], "the device is signed by the new self-signing key");
  const loginWith = (password) => api(server, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", identifier: { type: "m.id.user", user: "altkonto" }, password } });
  assert.equal((await loginWith(legacy.password)).status, 403, "the raw password no longer logs in");
  assert.equal((await loginWith((await deriveKeys("altkonto", legacy.password)).loginSecret)).status, 200);
  // Its earlier session (the old PWA's device) was kept.
  assert.equal((await api(server, "GET", "/_matrix/client/v3/account/whoami", { token: legacy.accessToken })).status, 200);
});

test(`login time with ${ROOM_KEYS} room keys in the backup, Chromium CPU throttled 4x`, { timeout: 30 * 60 * 1000 }, async () => {
  const name = "messung", password = "mess-passwort-2024";
  const a = await newPage();
  await a.page.getByRole("button", { name: "Create account" }).waitFor();
  await fillAuth(a.page, name, password, "Create account");
  await recovery(a.page);
  await startConsultation(a.page, counselorReg.userId, { timeout: 30000 });
  await a.page.locator("#message").waitFor({ timeout: 30000 });
  const room = await counselorJoins(name);
  // One Megolm session per message: every message is a room key of its own.
  const started = Date.now();
  for (let i = 0; i < ROOM_KEYS; i++) {
    await counselor.getCrypto().forceDiscardSession(room);
    await counselor.sendTextMessage(room, `Nachricht ${i + 1} von ${ROOM_KEYS}`);
  }
  const sentMs = Date.now() - started;
  const seeker = JSON.parse(await a.page.evaluate(() => localStorage.getItem("lotse.session")));
  await waitFor(async () => (await api(server, "GET", "/_matrix/client/v3/room_keys/version", { token: seeker.accessToken })).body.count >= ROOM_KEYS,
    "all room keys in the backup", 10 * 60 * 1000);
  await a.page.goto(server.baseUrl + "/");
  await a.page.getByRole("button", { name: "Log out" }).click({ timeout: 60000 });
  await a.page.getByRole("button", { name: /Log in|Create account/ }).first().waitFor({ timeout: 60000 });
  await a.context.close();

  const { context, page } = await newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
  const kdfMs = await page.evaluate(async (iterations) => {
    const t = performance.now();
    const base = await crypto.subtle.importKey("raw", new TextEncoder().encode("x"), "PBKDF2", false, ["deriveBits"]);
    await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-512", salt: new Uint8Array(16), iterations }, base, 512);
    return Math.round(performance.now() - t);
  }, KDF_ITERATIONS);
  await page.getByRole("button", { name: "I already have an account" }).click();
  // Typed as a person types on a phone (~8 keys a second): meanwhile the app prepares the crypto module.
  await page.getByLabel("Pseudonym").pressSequentially(name, { delay: 120 });
  await page.getByLabel("Password", { exact: true }).pressSequentially(password, { delay: 120 });
  // LOTSE_RECOVERY_PROFILE=FILE.cpuprofile: a CPU profile of the page from the click to the restore's
  // end (read with bench/profile-summary.mjs, or in Chromium's DevTools).
  const profile = process.env.LOTSE_RECOVERY_PROFILE;
  if (profile) { await cdp.send("Profiler.enable"); await cdp.send("Profiler.setSamplingInterval", { interval: 500 }); await cdp.send("Profiler.start"); }
  const t0 = Date.now();
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Log out" }).waitFor({ timeout: 120000 });
  const homeMs = Date.now() - t0;
  // She opens her consultation at once: its newest messages decrypt while the restore still runs.
  await page.locator(".consultation button").first().click();
  await page.getByText(`Nachricht ${ROOM_KEYS} von ${ROOM_KEYS}`).waitFor({ timeout: 120000 });
  const lastVisibleMs = Date.now() - t0;
  const restored = await recovery(page, 10 * 60 * 1000);
  const restoredMs = Date.now() - t0;
  if (profile) writeFileSync(profile, JSON.stringify((await cdp.send("Profiler.stop")).profile));
  assert.ok(restored.total >= ROOM_KEYS, JSON.stringify(restored));
  console.log(`# recovery timing: ${restored.total} room keys (${restored.imported} imported), CPU x4: KDF ${kdfMs} ms (PBKDF2-SHA-512, ${KDF_ITERATIONS} iterations), ` +
    `login to home ${homeMs} ms, to backup restored ${restoredMs} ms (restore itself ${restored.ms} ms), to the last message shown ${lastVisibleMs} ms; sending the keys took ${sentMs} ms`);
  await context.close();
});
