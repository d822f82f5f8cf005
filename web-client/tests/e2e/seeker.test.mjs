// The seeker's app in Debian's Chromium (Playwright) against a real lotse serving the built app:
// language, registration, directory, an encrypted conversation with a counselor on matrix-js-sdk,
// right-to-left Arabic, offline outbox, manifest and service worker. Screenshots go to
// build/screenshots/. CTest runs it twice: directly and through nginx (LOTSE_TEST_VIA_NGINX, the
// deploy template with TLS in front).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, register, startCryptoClient, decryptedBody, waitFor, loginDevice } from "../../../tests/integration/harness.mjs";
import { findContent, downloadAndDecrypt, startConsultation, launchChromium } from "./helpers.mjs";
import { CATALOG } from "../../src/all_languages.js";
import { sendAttachment } from "../../src/attachments.js";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "../../dist");
const shots = join(here, "../../../build/screenshots");
mkdirSync(shots, { recursive: true });
let server, browser, counselorReg;

before(async () => {
  server = await startServer({ extraConfig: `[web_client]\ndir = "${dist}"` });
  counselorReg = await register(server, "haddad", undefined, { display_name: "Frau Haddad", languages: ["de", "ar"], topics: ["aufenthalt"], postal_codes: ["10"] });
  browser = await launchChromium(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]);
});
after(async () => { await browser?.close(); await server.stop(); server.cleanup(); });

const GERMAN = { name: "Fantasiename", password: "Passwort", submit: "Konto anlegen" };
const ENGLISH = { name: "Pseudonym", password: "Password", submit: "Create account" };

// Fills the registration form in the given language and submits it.
async function registerInBrowser(page, labels, name, password) {
  await page.getByLabel(labels.name).fill(name);
  await page.getByLabel(labels.password).fill(password);
  await page.getByRole("button", { name: labels.submit }).click();
}

async function newSeekerPage(lang) {
  const context = await browser.newContext({ viewport: { width: 390, height: 800 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(server.baseUrl + "/");
  await page.screenshot({ path: join(shots, "language-pick.png") });
  await page.getByRole("button", { name: lang }).click();
  // The language's strings load when it is chosen (src/i18n.js): the next screen comes with them.
  await page.locator("#password").waitFor();
  return { context, page };
}

test("the first screen does not wait for the branding request", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 800 } });
  try {
    const page = await context.newPage();
    await page.route("**/_lotse/client/v1/branding", () => {});  // never answered
    await page.goto(server.baseUrl + "/");
    await page.getByRole("button", { name: "Deutsch" }).waitFor({ timeout: 5000 });
  } finally {
    await context.close();
  }
});

test("a seeker registers, picks a counselor and chats end to end encrypted", async () => {
  const counselor = await startCryptoClient(server, counselorReg);
  const { context, page } = await newSeekerPage("Deutsch");
  try {
    await page.getByLabel("Fantasiename").fill("sonnenblume");
    await page.getByLabel("Passwort").fill("geheim-genug-123");
    await page.screenshot({ path: join(shots, "register-de.png") });
    await page.getByRole("button", { name: "Konto anlegen" }).click();
    await page.locator(".counselor").first().waitFor({ timeout: 30000 });
    await page.screenshot({ path: join(shots, "directory-de.png") });
    await startConsultation(page, counselorReg.userId);
    await page.locator("#message").waitFor({ timeout: 30000 });

    const roomId = await waitFor(() => counselor.getRooms().find((r) => r.getMyMembership() === "invite")?.roomId, "counselor invited", 20000);
    await counselor.joinRoom(roomId);
    await waitFor(async () => counselor.getCrypto().isEncryptionEnabledInRoom(roomId), "encrypted room");

    const text = "Hallo, ich habe eine Frage zu meinem Aufenthaltstitel.";
    await page.locator("#message").fill(text);
    await page.getByRole("button", { name: "Senden" }).click();
    const sent = await waitFor(() => counselor.getRoom(roomId)?.getLiveTimeline().getEvents().find((e) => e.getSender().startsWith("@sonnenblume") && e.getWireType() === "m.room.encrypted"), "encrypted message arrives", 30000);
    assert.equal(await decryptedBody(counselor, roomId, sent.getId(), "counselor decrypts"), text);

    const reply = "Guten Tag! Ich helfe Ihnen gern.";
    await counselor.sendTextMessage(roomId, reply);
    await page.getByText(reply).waitFor({ timeout: 30000 });
    await page.screenshot({ path: join(shots, "chat-de.png") });

    // Offline: the message waits in the outbox and is delivered after reconnecting.
    await context.setOffline(true);
    await page.locator("#message").fill("Diese Nachricht schrieb ich ohne Netz.");
    await page.getByRole("button", { name: "Senden" }).click();
    await page.locator(".queued").waitFor();
    await context.setOffline(false);
    await page.evaluate(() => window.dispatchEvent(new Event("online")));
    const late = await waitFor(async () => {
      for (const e of counselor.getRoom(roomId).getLiveTimeline().getEvents()) {
        if (!e.getSender().startsWith("@sonnenblume")) continue;
        await counselor.decryptEventIfNeeded(e);
        if (e.getClearContent()?.body === "Diese Nachricht schrieb ich ohne Netz.") return e;
      }
      return null;
    }, "queued message delivered", 30000);
    assert.ok(late);

    // Installable: manifest linked, service worker active.
    const manifest = await page.evaluate(() => document.querySelector('link[rel="manifest"]')?.href);
    assert.match(manifest, /manifest-de\.webmanifest$/);  // the chosen language's (vite.config.js)
    const m = await (await fetch(manifest)).json();
    assert.equal(m.id, "/");
    const anyIcon = m.icons.find((i) => i.purpose === "any"), maskable = m.icons.find((i) => i.purpose === "maskable");
    assert.ok(anyIcon && maskable && anyIcon.src !== maskable.src, "separate any and maskable icons");
    for (const src of [...m.icons.map((i) => i.src), ...m.screenshots.map((i) => i.src)])
      assert.equal((await fetch(new URL(src, manifest))).headers.get("content-type"), "image/png", src);
    assert.equal(m.screenshots[0].form_factor, "narrow");
    const sw = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL);
    assert.match(sw, /\/sw\.js$/);
  } finally {
    counselor.stopClient();
    await context.close();
  }
});

test("Arabic renders right to left", async () => {
  const { context, page } = await newSeekerPage("العربية");
  try {
    assert.equal(await page.evaluate(() => document.documentElement.dir), "rtl");
    assert.equal(await page.evaluate(() => document.documentElement.lang), "ar");
    // The manifest follows the language: an app installed now is named in Arabic.
    const manifest = await page.evaluate(() => document.querySelector('link[rel="manifest"]')?.href);
    assert.match(manifest, /manifest-ar\.webmanifest$/);
    const m = await (await fetch(manifest)).json();
    assert.deepEqual([m.lang, m.dir, m.name, m.id], ["ar", "rtl", CATALOG.ar["app.name"], "/"]);
    await page.getByRole("button", { name: "إنشاء الحساب" }).waitFor();
    await page.screenshot({ path: join(shots, "register-ar.png") });
    await page.getByLabel("اسم مستعار").fill("qamar");
    await page.getByLabel("كلمة المرور").fill("kalimat-sirr-123");
    await page.getByRole("button", { name: "إنشاء الحساب" }).click();
    await page.locator(".counselor").first().waitFor({ timeout: 30000 });
    await page.screenshot({ path: join(shots, "directory-ar.png") });
  } finally {
    await context.close();
  }
});

test("errors are shown in the seeker's language, and nothing typed is lost", async () => {
  const { context, page } = await newSeekerPage("English");
  try {
    await page.getByRole("button", { name: "I already have an account" }).click();
    await page.getByLabel("Pseudonym").fill("nobody-here");
    await page.getByLabel("Password").fill("wrong-password-1");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").waitFor();
    assert.match(await page.getByRole("alert").innerText(), /Pseudonym or password is wrong/);
    assert.equal(await page.getByLabel("Pseudonym").inputValue(), "nobody-here");
    // A taken pseudonym ("sonnenblume" registered in the first test).
    await page.getByRole("button", { name: "Create a new account" }).click();
    await page.getByLabel("Pseudonym").fill("sonnenblume");
    await page.getByLabel("Password").fill("another-password-1");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText("This pseudonym is taken").waitFor();
    // No network: the message says so, and the form keeps what was typed.
    await context.setOffline(true);
    await page.getByLabel("Pseudonym").fill("offline-person");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByText("No connection").waitFor();
    assert.equal(await page.getByLabel("Pseudonym").inputValue(), "offline-person");
    await context.setOffline(false);
  } finally {
    await context.close();
  }
});

test("a voice message from the fake microphone and a photo reach the counselor encrypted", async () => {
  // A second device of the counselor: a fresh crypto store needs its own device, never a reused one.
  const counselor = await startCryptoClient(server, await loginDevice(server, "haddad", counselorReg.password, "Büro"));
  const { context, page } = await newSeekerPage("Deutsch");
  await context.grantPermissions(["microphone"]);
  try {
    await registerInBrowser(page, GERMAN, "regenbogen", "geheim-genug-456");
    await startConsultation(page, counselorReg.userId, { timeout: 30000 });
    await page.locator("#message").waitFor({ timeout: 30000 });
    const roomId = await waitFor(() => counselor.getRooms().find((r) => r.getMyMembership() === "invite" &&
      r.name.includes("regenbogen"))?.roomId, "invite", 20000);
    await counselor.joinRoom(roomId);
    await waitFor(async () => counselor.getCrypto().isEncryptionEnabledInRoom(roomId), "encrypted room");

    // Voice: record ~1.5 s from Chromium's fake microphone, then send.
    await page.getByRole("button", { name: /Sprachnachricht/ }).click();
    await page.getByRole("timer").waitFor();
    // While recording: an indicator, the time, and one Send (the recording's; the composer's is hidden).
    assert.equal(await page.getByRole("status").filter({ hasText: "Aufnahme läuft" }).count(), 1);
    assert.ok(await page.locator(".rec-dot").isVisible());
    assert.equal(await page.getByRole("button", { name: "Senden", exact: true }).count(), 1, "one Send while recording");
    await page.waitForTimeout(1500);
    await page.getByRole("button", { name: "Senden", exact: true }).click();
    await page.locator(".composer").waitFor();  // the composer is back
    const audio = await findContent(counselor, roomId, "m.audio", "voice message arrives");
    assert.ok(audio.info.duration >= 1000, `duration ${audio.info.duration}`);
    assert.match(audio.file.mimetype, /^audio\/(webm|ogg)/);
    const plain = await downloadAndDecrypt(counselor, counselor.getAccessToken(), audio.file);
    assert.ok(plain.subarray(0, 4).toString("hex") === "1a45dfa3" || plain.subarray(0, 4).toString() === "OggS", "a real WebM/Ogg recording");

    // Photo: picked in the browser, previewed for the seeker, decrypted by the counselor.
    const png = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082", "hex");
    await page.setInputFiles('input[type="file"]', { name: "brief.png", mimeType: "image/png", buffer: png });
    await page.locator("img[alt='brief.png']").waitFor({ timeout: 30000 });
    const image = await findContent(counselor, roomId, "m.image", "photo arrives");
    assert.equal(image.body, "brief.png");
    assert.ok(image.file.key && !image.url, "sent as an encrypted attachment");
    const imagePlain = await downloadAndDecrypt(counselor, counselor.getAccessToken(), image.file);
    assert.deepEqual(imagePlain, png, "the counselor decrypts the same bytes");
    // Her own voice message: the recorded duration, the player inside its bubble.
    const voice = page.locator("li.msg.mine[data-event] .voice");
    await voice.waitFor({ timeout: 30000 });
    assert.match(await voice.innerText(), /^0:0[1-9]$/m);
    const [bubble, player] = [await voice.locator("xpath=ancestor::li").boundingBox(), await voice.locator("audio").boundingBox()];
    assert.ok(player.x >= bubble.x && player.x + player.width <= bubble.x + bubble.width, "the player fits its bubble");
    // Who wrote each message, for screen readers.
    assert.equal((await voice.locator("xpath=ancestor::li").locator(".visually-hidden").textContent()).trim(), "Sie:");
    // A document from the counselor: name, size and an icon, at least 44 px tall, opened by a tap.
    const pdf = Buffer.from("%PDF-1.4\n" + "Merkblatt zum Aufenthalt. ".repeat(200) + "\n%%EOF\n");
    await sendAttachment(counselor, roomId, new Blob([pdf], { type: "application/pdf" }), { name: "merkblatt.pdf", msgtype: "m.file" });
    const file = page.locator("li.msg a.file", { hasText: "merkblatt.pdf" });
    await file.waitFor({ timeout: 30000 });
    assert.match(await file.innerText(), /merkblatt\.pdf\s+5 KB/);
    assert.ok((await file.boundingBox()).height >= 44, "a tap target");
    assert.equal(await file.locator(".file-icon").count(), 1);
    assert.equal((await file.locator("xpath=ancestor::li").locator(".visually-hidden").textContent()).trim(), "Frau Haddad:");
    // The photo enlarges when tapped, over the chat but not over the top bar, and closes again.
    await page.locator("li.msg.mine button.image-open").click();
    const box = page.locator(".lightbox");
    await box.locator("img[alt='brief.png']").waitFor();
    assert.ok((await box.boundingBox()).y >= (await page.locator(".topbar").boundingBox()).height, "quick exit stays uncovered");
    await page.screenshot({ path: join(shots, "chat-image-enlarged-de.png") });
    await box.getByRole("button", { name: "Schließen" }).click();
    await box.waitFor({ state: "detached" });
    await page.screenshot({ path: join(shots, "chat-attachments-de.png") });
  } finally {
    counselor.stopClient();
    await context.close();
  }
});

test("a seeker deletes the account in the app; logout leaves nothing behind", async () => {
  const { context, page } = await newSeekerPage("English");
  try {
    await registerInBrowser(page, ENGLISH, "kurzbesuch", "short-visit-789");
    await page.getByRole("button", { name: "Delete account" }).click({ timeout: 30000 });
    await page.getByLabel("Password").fill("short-visit-789");
    await page.locator("form.card").getByRole("button", { name: "Delete account" }).click();
    await page.getByRole("button", { name: "Create account" }).waitFor({ timeout: 30000 });
    assert.equal(await page.evaluate(() => localStorage.getItem("lotse.session")), null);
    const login = await fetch(`${server.baseUrl}/_matrix/client/v3/login`, { method: "POST",
      body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: "kurzbesuch" }, password: "short-visit-789" }) });
    assert.equal(login.status, 403, "the account is gone on the server");
  } finally {
    await context.close();
  }
});

test("quick exit leaves to a neutral page and locks the app; the shell loads offline", async () => {
  const { context, page } = await newSeekerPage("Deutsch");
  try {
    await registerInBrowser(page, GERMAN, "blitz", "schnell-weg-123");
    await page.locator(".counselor").first().waitFor({ timeout: 30000 });
    await page.evaluate(async () => navigator.serviceWorker.ready);
    await page.getByRole("button", { name: "Schnell verlassen" }).click();
    await page.waitForURL(/neutral\.html$/);
    assert.match(await page.locator("h1").innerText(), /Wetter/);
    // Back in the app it is locked: the password is needed again.
    await page.goto(server.baseUrl + "/");
    await page.getByText("Gesperrt").waitFor();
    // Offline, the service worker still serves the app shell.
    await context.setOffline(true);
    await page.reload();
    await page.getByRole("button", { name: "Schnell verlassen" }).waitFor();
    await context.setOffline(false);
    await page.getByLabel("Fantasiename").fill("blitz");
    await page.getByLabel("Passwort").fill("schnell-weg-123");
    await page.getByRole("button", { name: "Anmelden" }).click();
    await page.locator(".counselor").first().waitFor({ timeout: 30000 });
  } finally {
    await context.close();
  }
});

test("a seeker loads under 250 KB of JavaScript gzip without a call (the crypto WASM aside)", async () => {
  const { readdirSync, readFileSync } = await import("node:fs");
  const { gzipSync } = await import("node:zlib");
  // Everything but the call code (loaded when a call starts or rings) and the languages: of those
  // she loads one, and the largest is counted.
  const gz = (path) => gzipSync(readFileSync(path), { level: 9 }).length;
  const isLanguage = (f) => /^(de|en|ar|fa|ru|uk|tr)-[\w-]+\.js$/.test(f);
  let total = 0, language = 0, calls = 0;
  for (const f of readdirSync(join(dist, "assets")).filter((f) => f.endsWith(".js"))) {
    const n = gz(join(dist, "assets", f));
    if (f.startsWith("calls-")) calls += n;
    else if (isLanguage(f)) language = Math.max(language, n);
    else total += n;
  }
  for (const f of readdirSync(dist)) if (f.endsWith(".js")) total += gz(join(dist, f));
  assert.ok(calls > 10 * 1024, `the call code is its own chunk (${calls} bytes)`);
  assert.ok(language > 0, "the languages are chunks of their own");
  total += language;
  assert.ok(total < 250 * 1024, `${Math.round(total / 1024)} KB gzip`);
});
