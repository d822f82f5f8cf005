// The seeker's app on a cheap phone (390x844), in German and Arabic (right to left): quick exit
// overlaps nothing a seeker taps, no screen is wider than the phone, each own message shows its true
// state (sending / waiting / failed / waiting for the counselor / delivered / read), the outbox
// (text and files) drains by itself when the server answers again, a session revoked elsewhere asks
// for a new login and keeps what was typed, undecryptable history is a translated sentence.
// Screenshots go to build/screenshots/mobile-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { webcrypto } from "node:crypto";
import { chromium } from "playwright-core";
import { startServer, register, startCryptoClient, waitFor, api } from "../../../tests/integration/harness.mjs";
import { CATALOG } from "../../src/all_languages.js";
import { startConsultation, checkLayout, pngOf, chatAtBottom } from "./helpers.mjs";
import { sendAttachment } from "../../src/attachments.js";

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.LOTSE_WEB_DIST ?? join(here, "../../dist");  // a private build while another one runs
const shots = join(here, "../../../build/screenshots");
mkdirSync(shots, { recursive: true });
const PHONE = { width: 390, height: 844 };
const KEYBOARD_OPEN = { width: 390, height: 500 };  // the layout viewport with the on-screen keyboard up
const LANGS = [{ code: "de", button: "Deutsch" }, { code: "ar", button: "العربية" }];
const SEND_ROUTE = "**/_matrix/client/v3/rooms/*/send/**";
let server, browser, counselorReg, counselor;

before(async () => {
  server = await startServer({ extraConfig: `[web_client]\ndir = "${dist}"` });
  counselorReg = await register(server, "yilmaz", undefined, { display_name: "Frau Yılmaz", languages: ["de", "ar"], topics: ["aufenthalt"] });
  counselor = await startCryptoClient(server, counselorReg);
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium", headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
  });
});
after(async () => { counselor?.stopClient(); await browser?.close(); await server.stop(); server.cleanup(); });

async function phone() {
  const context = await browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  if (process.env.PAGE_LOG) page.on("console", (m) => console.error("console:", m.type(), m.text().slice(0, 300)));
  await page.goto(server.baseUrl + "/");
  return { context, page };
}

// Registers a seeker in the browser and opens a consultation with the counselor; returns the room.
async function seekerInChat(page, T, name, { join = true } = {}) {
  await page.getByLabel(T["register.pseudonym"]).fill(name);
  await page.getByLabel(T["register.password"], { exact: true }).fill("geheim-genug-123");
  await page.getByRole("button", { name: T["register.submit"] }).click();
  await startConsultation(page, counselorReg.userId, { timeout: 30000 });
  await page.locator("#message").waitFor({ timeout: 30000 });
  const roomId = await waitFor(() => counselor.getRooms().find((r) => r.getMyMembership() === "invite" && r.name.includes(name))?.roomId,
    "counselor invited", 20000);
  if (join) await joinAsCounselor(roomId);
  return roomId;
}

async function joinAsCounselor(roomId) {
  await counselor.joinRoom(roomId);
  await waitFor(async () => counselor.getCrypto().isEncryptionEnabledInRoom(roomId), "encrypted room");
}

// The seeker's message as the counselor decrypts it.
async function counselorReads(roomId, text) {
  return waitFor(async () => {
    for (const e of counselor.getRoom(roomId)?.getLiveTimeline().getEvents() ?? []) {
      if (e.getSender() === counselorReg.userId) continue;
      await counselor.decryptEventIfNeeded(e);
      if (e.getClearContent()?.body === text) return e;
    }
    return null;
  }, `counselor decrypts "${text}"`, 30000);
}

const ownMessage = (page, text) => page.locator("li.msg.mine", { hasText: text });

for (const { code, button } of LANGS) {
  const T = CATALOG[code];

  test(`${code}: quick exit covers nothing, no screen is wider than the phone, the chat names the counselor and tells the truth`, async () => {
    const { context, page } = await phone();
    try {
      await page.getByRole("button", { name: button }).waitFor();
      await checkLayout(page, "language pick");
      await page.screenshot({ path: join(shots, "mobile-language-pick.png") });
      await page.getByRole("button", { name: button }).click();
      await page.getByRole("button", { name: T["register.submit"] }).waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.dir), code === "ar" ? "rtl" : "ltr");
      await checkLayout(page, "registration");
      // The pseudonym is typed as it is: no capital letter made by the phone, no spelling fixes.
      // (A string "false" given to preact set the spellcheck property to true.)
      for (const [attr, value] of [["autocapitalize", "none"], ["spellcheck", "false"], ["autocorrect", "off"]])
        assert.equal(await page.locator("#pseudonym").getAttribute(attr), value, attr);
      await page.screenshot({ path: join(shots, `mobile-register-${code}.png`) });
      await page.getByRole("button", { name: T["register.switch"] }).click();
      await page.getByRole("button", { name: T["login.submit"], exact: true }).waitFor();
      await checkLayout(page, "login");
      await page.screenshot({ path: join(shots, `mobile-login-${code}.png`) });
      await page.getByRole("button", { name: T["login.switch"] }).click();

      const name = `handy${code}`;
      await page.getByLabel(T["register.pseudonym"]).fill(name);
      await page.getByLabel(T["register.password"], { exact: true }).fill("geheim-genug-123");
      await page.getByRole("button", { name: T["register.submit"] }).click();
      await page.locator(".counselor").first().waitFor({ timeout: 30000 });
      await checkLayout(page, "directory");
      await page.screenshot({ path: join(shots, `mobile-directory-${code}.png`) });
      await startConsultation(page, counselorReg.userId);
      await page.locator("#message").waitFor({ timeout: 30000 });

      // The header names the counselor, not the topic and the seeker's own pseudonym.
      await page.locator(".topbar-title", { hasText: "Frau Yılmaz" }).waitFor({ timeout: 10000 });
      assert.doesNotMatch(await page.locator(".topbar-title").innerText(), new RegExp(name));

      // Until she accepts, the enquiry waits for her; then delivered; read once she answered.
      const roomId = await waitFor(() => counselor.getRooms().find((r) => r.name.includes(name))?.roomId, "invite", 20000);
      const first = code === "ar" ? "مرحبا، لدي سؤال." : "Hallo, ich habe eine Frage.";
      await page.locator("#message").fill(first);
      await page.getByRole("button", { name: T["chat.send"], exact: true }).click();
      await ownMessage(page, first).and(page.locator("[data-state=awaiting]")).waitFor({ timeout: 20000 });
      assert.match(await ownMessage(page, first).innerText(), new RegExp(T["chat.awaitingCounselor"]));
      await page.locator(".not-joined").waitFor();
      await joinAsCounselor(roomId);
      await ownMessage(page, first).and(page.locator("[data-state=delivered]")).waitFor({ timeout: 20000 });
      assert.match(await ownMessage(page, first).innerText(), new RegExp(T["chat.delivered"]));
      assert.equal(await (await counselorReads(roomId, first)).getClearContent().body, first, "the enquiry before joining reaches her");

      // A chat longer than one screen.
      for (let i = 1; i <= 20; i++) await counselor.sendTextMessage(roomId, `Antwort ${i}: ${"Sehr gern. ".repeat(i % 4 + 1)}`);
      await page.getByText("Antwort 20:").waitFor({ timeout: 30000 });
      // A voice message from her: its duration, the player inside the bubble in either direction.
      await sendAttachment(counselor, roomId, new Blob([Buffer.from("OggS-not-really-audio")], { type: "audio/ogg" }),
        { name: "sprachnachricht.ogg", msgtype: "m.audio", extra: { info: { duration: 2000 } } });
      const voice = page.locator("li.msg .voice").last();
      await voice.waitFor({ timeout: 30000 });
      assert.match(await voice.innerText(), /0:02/);
      const [bubble, player] = [await voice.locator("xpath=ancestor::li").boundingBox(), await voice.locator("audio").boundingBox()];
      assert.ok(player.x >= bubble.x && player.x + player.width <= bubble.x + bubble.width + 0.5, `the player fits its bubble (${code})`);
      // A photo from her is decrypted after it arrived and then grows the list: the chat still ends at it.
      await sendAttachment(counselor, roomId, new Blob([pngOf(240, 320)], { type: "image/png" }),
        { name: "foto.png", msgtype: "m.image", extra: { info: { w: 240, h: 320, mimetype: "image/png" } } });
      await page.locator("li.msg:not(.mine) img[alt='foto.png']").waitFor({ timeout: 30000 });
      await page.waitForFunction(() => [...document.querySelectorAll("li.msg img")].every((i) => i.complete && i.naturalHeight > 0));
      await waitFor(() => chatAtBottom(page), "the chat ends at the newest message once the photo has loaded", 5000);
      // A document from her: name, size and an icon in a row a thumb can hit.
      await sendAttachment(counselor, roomId, new Blob([Buffer.alloc(3000, 37)], { type: "application/pdf" }),
        { name: "merkblatt.pdf", msgtype: "m.file", extra: { info: { size: 3000, mimetype: "application/pdf" } } });
      const file = page.locator("li.msg a.file", { hasText: "merkblatt.pdf" });
      await file.waitFor({ timeout: 30000 });
      assert.ok((await file.boundingBox()).height >= 44, "the file row is at least 44 px tall");
      await waitFor(() => chatAtBottom(page), "the chat ends at the document", 5000);
      await checkLayout(page, "chat with attachments");
      await page.screenshot({ path: join(shots, `mobile-chat-attachments-${code}.png`) });
      // The photo enlarged, and closed again.
      await page.locator("li.msg button.image-open").last().click();
      await page.locator(".lightbox img").waitFor();
      await checkLayout(page, "enlarged photo", { modal: true });
      await page.screenshot({ path: join(shots, `mobile-chat-image-enlarged-${code}.png`) });
      await page.getByRole("button", { name: T["chat.close"] }).click();
      // Recording a voice message: what happens, for how long, one Send; cancelled here.
      await page.getByRole("button", { name: T["voice.record"] }).click();
      await page.locator(".recording [role=timer]").waitFor({ timeout: 10000 });
      const sends = page.locator("button:visible").filter({ hasText: new RegExp(`^(${T["chat.send"]}|${T["voice.send"]})$`) });
      assert.deepEqual(await sends.evaluateAll((bs) => bs.map((b) => b.className)), ["send-voice"], "one Send while recording: the recording's");
      await checkLayout(page, "recording");
      await page.screenshot({ path: join(shots, `mobile-chat-recording-${code}.png`) });
      await page.getByRole("button", { name: T["voice.cancel"] }).click();
      // Every message shows its time; the day is named once, above them.
      const times = await page.locator("ul.messages li.msg").evaluateAll((lis) => lis.map((li) => li.querySelector("time")?.textContent.trim() ?? ""));
      assert.ok(times.length >= 23 && times.every((x) => /[\d٠-٩]{1,2}\D{1,3}[\d٠-٩]{2}/.test(x)), `a time on every message (${times.slice(0, 3)})`);
      const days = await page.locator("ul.messages li.day").allInnerTexts();
      assert.equal(days.at(-1), T["chat.today"]);
      assert.equal(new Set(days).size, days.length, "each day named once");
      await ownMessage(page, first).and(page.locator("[data-state=read]")).waitFor({ timeout: 20000 });
      // Message text keeps its own direction whatever the UI's (dir="auto"), so mixed scripts read right.
      assert.equal(await ownMessage(page, first).locator(".text").getAttribute("dir"), "auto");
      // Scrolled up to read older messages, a new answer leaves her where she reads.
      await page.locator("ul.messages").evaluate((ul) => { ul.scrollTop = 0; });
      await page.waitForTimeout(200);
      await counselor.sendTextMessage(roomId, "Noch eine Antwort.");
      await page.getByText("Noch eine Antwort.").waitFor({ timeout: 20000 });
      await page.waitForTimeout(300);
      assert.equal(await page.locator("ul.messages").evaluate((ul) => ul.scrollTop), 0, "her reading position stays");
      // Typing a sentence sends one typing notification, not one per key.
      const typingPuts = [];
      const onRequest = (r) => { if (r.method() === "PUT" && /\/typing\//.test(r.url())) typingPuts.push(JSON.parse(r.postData() ?? "{}").typing); };
      page.on("request", onRequest);
      const thanks = code === "ar" ? "شكرا، إلى اللقاء" : "Danke, bis bald!";
      await page.locator("#message").pressSequentially(thanks, { delay: 40 });
      page.off("request", onRequest);
      assert.deepEqual(typingPuts, [true], "one typing notification for the whole sentence");
      await page.getByRole("button", { name: T["chat.send"], exact: true }).click();
      // Her own message brings the chat down to it; each own message shows its own state.
      await ownMessage(page, thanks).and(page.locator("[data-state=delivered]")).waitFor({ timeout: 20000 });
      await waitFor(() => chatAtBottom(page), "her own message brings the chat down", 5000);
      assert.equal(await ownMessage(page, first).getAttribute("data-state"), "read", "the earlier message stays read");
      await counselor.sendReadReceipt(await counselorReads(roomId, thanks));
      await ownMessage(page, thanks).and(page.locator("[data-state=read]")).waitFor({ timeout: 20000 });
      await checkLayout(page, "long chat");
      await page.screenshot({ path: join(shots, `mobile-chat-${code}.png`) });
      // The language can be changed in the chat too: to the other one and back, keeping the chat.
      const other = code === "ar" ? "de" : "ar";
      await page.locator("#chat-lang").selectOption(other);
      await page.getByRole("button", { name: CATALOG[other]["chat.send"], exact: true }).waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.dir), other === "ar" ? "rtl" : "ltr");
      await checkLayout(page, "chat after a language switch");
      await page.locator("#chat-lang").selectOption(code);
      await page.getByRole("button", { name: T["chat.send"], exact: true }).waitFor();
      assert.ok(await ownMessage(page, first).isVisible() || (await ownMessage(page, first).count()) === 1, "still in the same chat");
      // The keyboard open: a shorter layout viewport.
      await page.locator("#message").focus();
      await page.setViewportSize(KEYBOARD_OPEN);
      await page.waitForTimeout(300);
      await checkLayout(page, "chat with the keyboard open");
      await waitFor(() => chatAtBottom(page), "the newest message stays in view when the keyboard opens", 5000);
      await page.screenshot({ path: join(shots, `mobile-chat-keyboard-${code}.png`) });
      await page.setViewportSize(PHONE);

      // History this device cannot decrypt: a short translated sentence, never the SDK's English.
      const bogus = { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgAEnB4", sender_key: "c2VuZGVya2V5", session_id: "bm90LWEtc2Vzc2lvbg", device_id: counselorReg.deviceId };
      const res = await api(server, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/bogus${code}`,
        { token: counselorReg.accessToken, body: bogus });
      assert.equal(res.status, 200);
      await page.locator(".undecryptable").first().waitFor({ timeout: 20000 });
      assert.equal(await page.locator(".undecryptable").first().innerText(), T["chat.undecryptable"]);
      assert.doesNotMatch(await page.locator("main").innerText(), /Unable to decrypt|DecryptionError|\*\*/);

      await page.getByRole("button", { name: T["chat.back"] }).click();
      await page.locator(".consultation").first().waitFor();
      await checkLayout(page, "consultations");
      await page.screenshot({ path: join(shots, `mobile-home-${code}.png`) });
      // The whole card opens the consultation.
      const card = page.locator("li.consultation").first();
      const [cardBox, buttonBox] = [await card.boundingBox(), await card.locator("button").boundingBox()];
      assert.ok(Math.abs(cardBox.width - buttonBox.width) <= 2 && Math.abs(cardBox.height - buttonBox.height) <= 2,
        `button ${JSON.stringify(buttonBox)} fills card ${JSON.stringify(cardBox)}`);
      // Password change and account deletion, opened (not submitted).
      await page.getByRole("button", { name: T["password.change"] }).click();
      await page.getByRole("button", { name: T["account.delete"] }).click();
      await checkLayout(page, "password change and account deletion");
      await page.locator("main").evaluate((m) => m.lastElementChild?.scrollIntoView());
      await page.screenshot({ path: join(shots, `mobile-home-account-${code}.png`), fullPage: true });
      // The server answers the list with an error: said as such in her language, not as "offline".
      await page.route("**/_lotse/client/v1/consultations", (route) => route.fulfill({ status: 500, contentType: "application/json",
        body: JSON.stringify({ errcode: "M_UNKNOWN", error: "Internal server error" }) }));
      await card.locator("button").click();
      await page.getByRole("button", { name: T["chat.back"] }).click();
      await page.locator("main p.error").waitFor({ timeout: 10000 });
      assert.equal(await page.locator("main p.error").innerText(), T["error.generic"]);
      assert.equal(await page.locator(".offline").count(), 0);
      await page.unroute("**/_lotse/client/v1/consultations");
    } finally {
      await context.close();
    }
  });

  test(`${code}: a message the server does not take shows "waiting", then is delivered by itself`, async () => {
    const { context, page } = await phone();
    try {
      await page.getByRole("button", { name: button }).click();
      const roomId = await seekerInChat(page, T, `funkloch${code}`);
      await page.route(SEND_ROUTE, (route) => route.abort("connectionrefused"));  // the browser stays online
      const text = code === "ar" ? "رسالة بدون خادم" : "Nachricht ohne Server";
      await page.locator("#message").fill(text);
      await page.getByRole("button", { name: T["chat.send"], exact: true }).click();
      await ownMessage(page, text).and(page.locator("[data-state=waiting]")).waitFor({ timeout: 10000 });
      assert.match(await ownMessage(page, text).innerText(), new RegExp(T["chat.queued"]));
      await page.waitForTimeout(3000);
      assert.equal(await ownMessage(page, text).getAttribute("data-state"), "waiting", "never shown as sent while the server refuses");
      await page.screenshot({ path: join(shots, `mobile-chat-waiting-${code}.png`) });
      await page.unroute(SEND_ROUTE);
      // No reload, no 'online' event: the back-off retry delivers it.
      await ownMessage(page, text).and(page.locator("[data-state=delivered]")).waitFor({ timeout: 30000 });
      assert.equal(await page.locator("li[data-outbox]").count(), 0);
      assert.ok(await counselorReads(roomId, text));

      // A message the server refuses (403) is "failed" with a retry button, and not retried by
      // itself; the retry sends it.
      let refuse = true;
      await page.route(SEND_ROUTE, (route) => (refuse
        ? route.fulfill({ status: 403, contentType: "application/json", body: JSON.stringify({ errcode: "M_FORBIDDEN", error: "refused" }) })
        : route.continue()));
      const refused = code === "ar" ? "رسالة مرفوضة" : "Abgelehnte Nachricht";
      await page.locator("#message").fill(refused);
      await page.getByRole("button", { name: T["chat.send"], exact: true }).click();
      await ownMessage(page, refused).and(page.locator("[data-state=failed]")).waitFor({ timeout: 10000 });
      assert.match(await ownMessage(page, refused).innerText(), new RegExp(T["chat.failed"]));
      await page.screenshot({ path: join(shots, `mobile-chat-failed-${code}.png`) });
      await page.waitForTimeout(2000);
      assert.equal(await ownMessage(page, refused).getAttribute("data-state"), "failed", "a refusal is not retried by itself");
      refuse = false;
      await ownMessage(page, refused).getByRole("button", { name: T["chat.retry"] }).click();
      await ownMessage(page, refused).and(page.locator("[data-state=delivered]")).waitFor({ timeout: 30000 });
      assert.ok(await counselorReads(roomId, refused));
      await page.unroute(SEND_ROUTE);
    } finally {
      await context.close();
    }
  });

  test(`${code}: a session revoked elsewhere asks for a new login and keeps the draft and the outbox`, async () => {
    const { context, page } = await phone();
    try {
      await page.getByRole("button", { name: button }).click();
      const name = `widerruf${code}`;
      const roomId = await seekerInChat(page, T, name);
      await page.route(SEND_ROUTE, (route) => route.abort("connectionrefused"));
      const queued = code === "ar" ? "رسالة في الانتظار" : "Nachricht im Postausgang";
      await page.locator("#message").fill(queued);
      await page.getByRole("button", { name: T["chat.send"], exact: true }).click();
      await ownMessage(page, queued).and(page.locator("[data-state=waiting]")).waitFor({ timeout: 10000 });
      const draft = code === "ar" ? "مسودة لم تُرسل" : "Entwurf, noch nicht gesendet";
      await page.locator("#message").fill(draft);
      const token = await page.evaluate(() => JSON.parse(localStorage.getItem("lotse.session")).accessToken);
      assert.equal((await api(server, "POST", "/_matrix/client/v3/logout", { token, body: {} })).status, 200);
      await page.locator(".revoked").waitFor({ timeout: 45000 });
      assert.equal(await page.locator(".revoked").innerText(), T["session.revoked"]);
      assert.equal(await page.getByLabel(T["register.pseudonym"]).inputValue(), name);
      await checkLayout(page, "login after revocation");
      await page.screenshot({ path: join(shots, `mobile-revoked-${code}.png`) });
      await page.unroute(SEND_ROUTE);
      await page.getByLabel(T["register.password"], { exact: true }).fill("geheim-genug-123");
      await page.getByRole("button", { name: T["login.submit"], exact: true }).click();
      await page.locator(".consultation button").first().click({ timeout: 30000 });
      assert.equal(await page.locator("#message").inputValue(), draft, "the draft survives");
      assert.ok(await counselorReads(roomId, queued), "the outbox is sent from the new device");
      await ownMessage(page, queued).and(page.locator("[data-state=delivered], [data-state=read]")).waitFor({ timeout: 30000 });

      // Ended elsewhere while the app was closed: the next start says so (not "…" for ever).
      const sessionToken = () => page.evaluate(() => JSON.parse(localStorage.getItem("lotse.session")).accessToken);
      const second = await sessionToken();
      await page.goto("about:blank");
      assert.equal((await api(server, "POST", "/_matrix/client/v3/logout", { token: second, body: {} })).status, 200);
      await page.goto(server.baseUrl + "/");
      await page.locator(".revoked").waitFor({ timeout: 45000 });
      await page.getByLabel(T["register.password"], { exact: true }).fill("geheim-genug-123");
      await page.getByRole("button", { name: T["login.submit"], exact: true }).click();
      await page.locator(".consultation button").first().waitFor({ timeout: 30000 });

      // Ended elsewhere after a quick exit: unlocking takes the password once, and the app runs.
      // (The leaving is awaited below, not by the click: once in a loaded CI run Playwright's wait
      // for the click's navigation never ended although the click was done.)
      const third = await sessionToken();
      await page.getByRole("button", { name: T["exit.quick"] }).click({ noWaitAfter: true });
      await page.waitForURL(/neutral\.html$/, { timeout: 45000 });
      assert.equal((await api(server, "POST", "/_matrix/client/v3/logout", { token: third, body: {} })).status, 200);
      await page.goto(server.baseUrl + "/");
      await page.getByText(T["unlock.title"]).waitFor({ timeout: 20000 });
      await checkLayout(page, "locked");
      await page.screenshot({ path: join(shots, `mobile-locked-${code}.png`) });
      await page.getByLabel(T["register.pseudonym"]).fill(name);
      await page.getByLabel(T["register.password"], { exact: true }).fill("geheim-genug-123");
      await page.getByRole("button", { name: T["login.submit"], exact: true }).click();
      await page.locator(".consultation button").first().click({ timeout: 30000 });
      const after = code === "ar" ? "بعد فتح القفل" : "Nach dem Entsperren";
      await page.locator("#message").fill(after);
      await page.getByRole("button", { name: T["chat.send"], exact: true }).click();
      assert.ok(await counselorReads(roomId, after), "sent from the unlocked app");
      assert.equal(await page.locator(".revoked").count(), 0, "no second login asked for");
      assert.notEqual(await sessionToken(), third);
    } finally {
      await context.close();
    }
  });
}

test("de: a photo queued offline waits in IndexedDB (also across a reload) and reaches the counselor byte-exact", async () => {
  const T = CATALOG.de;
  const { context, page } = await phone();
  try {
    await page.getByRole("button", { name: "Deutsch" }).click();
    const roomId = await seekerInChat(page, T, "ohnenetz");
    await page.evaluate(async () => navigator.serviceWorker.ready);
    await context.setOffline(true);
    const png = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082", "hex");
    await page.setInputFiles('input[type="file"]', { name: "offline.png", mimeType: "image/png", buffer: png });
    const queued = page.locator("li[data-outbox][data-state=waiting]");
    await queued.waitFor({ timeout: 10000 });
    assert.match(await queued.innerText(), new RegExp(T["chat.queued"]));
    await queued.locator("img[alt='offline.png']").waitFor();
    const stored = await page.evaluate(() => new Promise((resolve, reject) => {
      const req = indexedDB.open("lotse-outbox");
      req.onsuccess = () => {
        const get = req.result.transaction("items").objectStore("items").getAll();
        get.onsuccess = () => { resolve(get.result.map((i) => ({ blob: i.blob instanceof Blob, size: i.blob?.size, name: i.name }))); req.result.close(); };
        get.onerror = () => reject(get.error);
      };
    }));
    assert.deepEqual(stored, [{ blob: true, size: png.length, name: "offline.png" }]);
    await page.reload();  // offline: the service worker serves the shell, the Blob is still there
    await page.getByRole("button", { name: T["exit.quick"] }).waitFor();
    await context.setOffline(false);
    await page.evaluate(() => window.dispatchEvent(new Event("online")));
    const image = await waitFor(async () => {
      for (const e of counselor.getRoom(roomId).getLiveTimeline().getEvents()) {
        await counselor.decryptEventIfNeeded(e);
        if (e.getClearContent()?.msgtype === "m.image") return e.getClearContent();
      }
      return null;
    }, "photo arrives", 45000);
    assert.equal(image.body, "offline.png");
    // Sent after an offline start, before the room's first sync: encrypted all the same, never in plain text.
    const inPlain = counselor.getRoom(roomId).getLiveTimeline().getEvents().filter((e) => e.getSender().startsWith("@ohnenetz:") && e.getWireType() === "m.room.message");
    assert.deepEqual(inPlain.map((e) => e.getId()), [], "no message from the seeker in plain text");
    const url = counselor.mxcUrlToHttp(image.file.url, undefined, undefined, undefined, false, true, true);
    const cipher = Buffer.from(await (await fetch(url, { headers: { Authorization: `Bearer ${counselor.getAccessToken()}` } })).arrayBuffer());
    const key = await webcrypto.subtle.importKey("jwk", image.file.key, { name: "AES-CTR" }, false, ["decrypt"]);
    const plain = Buffer.from(await webcrypto.subtle.decrypt({ name: "AES-CTR", counter: Buffer.from(image.file.iv, "base64"), length: 64 }, key, cipher));
    assert.deepEqual(plain, png, "the counselor decrypts the same bytes");
    await page.locator(".consultation button").first().click();  // the reload started on the consultations
    await page.locator("li.msg.mine[data-event] img[alt='offline.png']").waitFor({ timeout: 30000 });
    assert.equal(await page.locator("li[data-outbox]").count(), 0);
  } finally {
    await context.close();
  }
});

test("de: an enquiry written before the counselor ever signed in waits on the phone and reaches her once she has a device", async () => {
  const T = CATALOG.de;
  // A counselor with an account but no device yet (logged in without crypto: no device keys).
  const newReg = await register(server, "neuling", undefined, { display_name: "Herr Neu", languages: ["de"], topics: ["aufenthalt"] });
  const { context, page } = await phone();
  let fresh;
  try {
    await page.getByRole("button", { name: "Deutsch" }).click();
    await page.getByLabel(T["register.pseudonym"]).fill("zuerst");
    await page.getByLabel(T["register.password"], { exact: true }).fill("geheim-genug-456");
    await page.getByRole("button", { name: T["register.submit"] }).click();
    await startConsultation(page, newReg.userId, { timeout: 30000 });
    await page.locator("#message").waitFor({ timeout: 30000 });
    const enquiry = "Ich schreibe, bevor jemand da ist.";
    await page.locator("#message").fill(enquiry);
    await page.getByRole("button", { name: T["chat.send"], exact: true }).click();
    const held = page.locator("li.msg.mine.outbox", { hasText: enquiry });
    await held.and(page.locator("[data-state=awaiting]")).waitFor({ timeout: 20000 });
    assert.match(await held.innerText(), new RegExp(T["chat.awaitingCounselor"]));
    // A reconnect (or any device-list update) sends what waits for the connection; the held message
    // keeps saying it waits for the counselor, never "waiting for the connection" in between.
    await page.evaluate(() => {
      window.__heldStates = [];
      const li = document.querySelector("li.msg.mine.outbox[data-state=awaiting]");
      const observer = new MutationObserver(() => window.__heldStates.push(li.isConnected ? li.dataset.state : "gone"));
      observer.observe(li, { attributes: true, attributeFilter: ["data-state"] });
      window.dispatchEvent(new Event("online"));
    });
    // Nothing unreadable went to the server meanwhile.
    const rooms = (await api(server, "GET", "/_lotse/client/v1/consultations", { token: newReg.accessToken })).body.consultations;
    const roomId = rooms.find((c) => c.seeker_pseudonym === "zuerst").room_id;
    await page.waitForTimeout(3000);
    assert.deepEqual((await page.evaluate(() => window.__heldStates)).filter((s) => s !== "awaiting"), [], "the held message's label stays");
    assert.match(await held.innerText(), new RegExp(T["chat.awaitingCounselor"]));
    const seen = await api(server, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`, { token: newReg.accessToken });
    assert.ok(!seen.body.chunk.some((e) => e.type === "m.room.encrypted"), "held on the phone until she has a device");
    // She signs in for the first time, accepts, and reads it.
    fresh = await startCryptoClient(server, newReg);
    await waitFor(() => fresh.getRoom(roomId)?.getMyMembership() === "invite", "invited", 20000);
    await fresh.joinRoom(roomId);
    const body = await waitFor(async () => {
      for (const e of fresh.getRoom(roomId)?.getLiveTimeline().getEvents() ?? []) {
        await fresh.decryptEventIfNeeded(e);
        if (e.getClearContent()?.body === enquiry) return enquiry;
      }
      return null;
    }, "the new counselor decrypts the enquiry", 60000);
    assert.equal(body, enquiry);
    await page.locator("li.msg.mine:not(.outbox)", { hasText: enquiry }).waitFor({ timeout: 30000 });
  } finally {
    fresh?.stopClient();
    await context.close();
  }
});
