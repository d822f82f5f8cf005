// Issue #10, "The first message counts": the orders in which a seeker (the PWA in Chromium) and a
// counselor (matrix-js-sdk with Rust crypto in Node, as Element) meet in a consultation. Each test
// checks text and an encrypted attachment in both directions, decrypted on the receiving side
// (attachments by the SHA-256 of the bytes sent):
//  1. the seeker writes before the counselor has ever signed in (the PWA holds it, README "Web app");
//  2. the counselor has a device but accepts after the seeker wrote;
//  3. the counselor accepts first;
//  4. a hand-over: the new counselor reads from the hand-over on, nothing before it (README
//     "Administration": history_visibility "invited");
//  5. the counselor's history on a new session, recovered as Element does it: cross-signing,
//     secret storage under a recovery key, server-side key backup.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { startServer, register, startCryptoClient, loginDevice, waitFor, api, uniqueName, sdk, AGENCY } from "../../../tests/integration/harness.mjs";
import { sendAttachment } from "../../src/attachments.js";
import { CATALOG } from "../../src/all_languages.js";
import { decodeRecoveryKey } from "matrix-js-sdk/lib/crypto-api/recovery-key.js";  // the recovery key as typed
import { launchChromium, sha256, downloadAndDecrypt, decryptedEvent, startConsultation } from "./helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.LOTSE_WEB_DIST ?? join(here, "../../dist");
const T = CATALOG.en;
const enc = encodeURIComponent;
const PASSWORD = "correct horse battery";  // the counselors'
const SEEKER_PASSWORD = "seeker-password-10";
let server, browser;
const clients = [];  // every matrix-js-sdk client started here, stopped at the end
const track = (c) => { clients.push(c); return c; };

before(async () => {
  server = await startServer({ extraConfig: `[web_client]\ndir = "${dist}"` });
  browser = await launchChromium();
});
after(async () => {
  for (const c of clients) c.stopClient();
  await browser?.close();
  await server?.stop();
  server?.cleanup();
});

// Attachments: each one unique (bytes after PNG's IEND or PDF's %%EOF are ignored by viewers), so a
// matching hash means this very file.
const PNG_1PX = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763f8cfc0000003010100c9fe92ef0000000049454e44ae426082", "hex");
const PDF_MIN = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
  "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
const png = (name) => ({ name, mimeType: "image/png", buffer: Buffer.concat([PNG_1PX, randomBytes(24)]) });
const pdf = (name) => ({ name, mimeType: "application/pdf", buffer: Buffer.concat([Buffer.from(PDF_MIN), randomBytes(24)]) });

// ---- the seeker: the PWA in Chromium ----

async function seekerPage() {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const requests = [];  // "METHOD /path" of every request the app made
  context.on("request", (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
  await context.addInitScript(() => {
    // The CSP forbids fetching blob: URLs; keep the Blobs behind them to hash what the app decrypted.
    window.__blobs = {};
    const create = URL.createObjectURL;
    URL.createObjectURL = (b) => { const u = create(b); window.__blobs[u] = b; return u; };
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  if (process.env.PAGE_LOG) page.on("console", (m) => console.error("console:", m.type(), m.text().slice(0, 300)));
  await page.goto(server.baseUrl + "/");
  await page.getByRole("button", { name: "English" }).click();
  return { context, page, requests };
}

// Registers in the app and opens a consultation with the counselor; returns the room and session.
async function seekerOpens(page, name, counselorId) {
  await page.getByLabel(T["register.pseudonym"]).fill(name);
  await page.getByLabel(T["register.password"], { exact: true }).fill(SEEKER_PASSWORD);
  await page.getByRole("button", { name: T["register.submit"] }).click();
  await startConsultation(page, counselorId, { timeout: 30000 });
  await page.locator("#message").waitFor({ timeout: 30000 });
  const session = JSON.parse(await page.evaluate(() => localStorage.getItem("lotse.session")));
  const list = (await api(server, "GET", "/_lotse/client/v1/consultations", { token: session.accessToken })).body.consultations;
  assert.equal(list.length, 1, "one consultation opened");
  return { roomId: list[0].room_id, session };
}

async function seekerSends(page, text) {
  await page.locator("#message").fill(text);
  await page.getByRole("button", { name: T["chat.send"], exact: true }).click();
}
const seekerAttaches = (page, file) => page.setInputFiles('input[type="file"]', file);

const fileIn = (page, name) => page.locator(`img[alt="${name}"], a[download="${name}"]`);
// The seeker's own messages once they left the outbox (shown from their event), and in the outbox.
const ownText = (page, text) => page.locator("li.msg.mine[data-event]", { hasText: text });
const ownFile = (page, name) => page.locator("li.msg.mine[data-event]").filter({ has: fileIn(page, name) });
const queuedText = (page, text) => page.locator("li.msg.mine[data-outbox]", { hasText: text });
const queuedFile = (page, name) => page.locator("li.msg.mine[data-outbox]").filter({ has: fileIn(page, name) });

async function seekerFails(page, err) {
  const shown = await page.locator("main").innerText({ timeout: 2000 }).catch(() => "(no chat)");
  return new Error(`${err.message}\n-- the seeker's chat shows:\n${shown}`);
}

// The counselor's text as the seeker's app shows it (decrypted in the browser).
async function seekerReadsText(page, text) {
  try {
    await page.locator("li.msg:not(.mine) .text", { hasText: text }).waitFor({ timeout: 30000 });
  } catch (e) { throw await seekerFails(page, e); }
  assert.equal(await page.locator("li.msg:not(.mine) .text", { hasText: text }).first().innerText(), text);
}

// The SHA-256 of the counselor's attachment as the seeker's app decrypted it.
async function seekerReadsFile(page, file) {
  const el = page.locator("li.msg:not(.mine)").locator(fileIn(page, file.name));
  try {
    await el.waitFor({ timeout: 30000 });
  } catch (e) { throw await seekerFails(page, e); }
  const hash = await el.first().evaluate(async (node) => {
    const blob = window.__blobs[node.src || node.href];
    if (!blob) return "no decrypted blob behind the element";
    const d = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
    return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
  });
  assert.equal(hash, sha256(file.buffer), `the seeker decrypts the same bytes of ${file.name}`);
}

// ---- the counselor: matrix-js-sdk with Rust crypto in Node ----

// A counselor account made by the administrator and never signed in: no device at all.
async function provisionCounselor(username, displayName) {
  const res = await api(server, "POST", "/_lotse/admin/v1/counselors", { token: server.admin.accessToken,
    body: { username, password: PASSWORD, display_name: displayName, agency: AGENCY, languages: ["en"], topics: ["aufenthalt"] } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { username, userId: res.body.user_id ?? `@${username}:localhost`, password: PASSWORD };
}

// A counselor who has signed in once (a device with keys), as the existing tests provision them.
async function signedInCounselor(prefix, displayName) {
  const reg = await register(server, uniqueName(prefix), PASSWORD, { display_name: displayName, languages: ["en"], topics: ["aufenthalt"] });
  return { reg, client: track(await startCryptoClient(server, reg)) };
}

async function accepts(client, roomId) {
  await waitFor(() => client.getRoom(roomId)?.getMyMembership() === "invite", `${client.getUserId()} invited`, 30000);
  await client.joinRoom(roomId);
  await waitFor(async () => client.getCrypto().isEncryptionEnabledInRoom(roomId), "encrypted room");
}

async function counselorReadsText(client, roomId, text, what, timeoutMs) {
  const ev = await decryptedEvent(client, roomId, (c) => c.body === text, what, timeoutMs);
  assert.equal(ev.getWireType(), "m.room.encrypted", "sent encrypted");
  assert.equal(ev.getClearContent().body, text);
  return ev;
}

async function counselorReadsFile(client, roomId, file, what, timeoutMs) {
  const ev = await decryptedEvent(client, roomId, (c) => c.body === file.name && !!c.file, what, timeoutMs);
  const content = ev.getClearContent();
  assert.equal(content.msgtype, file.mimeType.startsWith("image/") ? "m.image" : "m.file");
  assert.ok(!content.url, "an encrypted attachment, no plain URL");
  const plain = await downloadAndDecrypt(client, client.getAccessToken(), content.file);
  assert.equal(sha256(plain), sha256(file.buffer), `${what}: the counselor decrypts the same bytes`);
  return ev;
}

// Text and a file from the counselor, the file encrypted as Element sends it (AES-CTR v2, the key in the event).
async function counselorSends(client, roomId, text, file) {
  const ids = [(await client.sendTextMessage(roomId, text)).event_id];
  if (file) ids.push((await sendAttachment(client, roomId, new Blob([file.buffer], { type: file.mimeType }),
    { name: file.name, msgtype: file.mimeType.startsWith("image/") ? "m.image" : "m.file" })).event_id);
  return ids;
}

const messagesFor = async (token, roomId) =>
  (await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=200`, { token })).body.chunk ?? [];

// ---- the orders ----

test("1. the seeker writes (text and photo) before the counselor ever signed in; she signs in, accepts, reads both and answers", async () => {
  const counselorReg = await provisionCounselor(uniqueName("first"), "Ms First");
  const { context, page, requests } = await seekerPage();
  try {
    const { roomId, session } = await seekerOpens(page, `order1-${process.pid}`, counselorReg.userId);
    const text = "Hello, I am writing before anyone is here.";
    const photo = png("residence-permit.png");
    await seekerSends(page, text);
    await seekerAttaches(page, photo);

    // Both held on the phone (no one could decrypt them yet); what each says about itself is checked last.
    await queuedText(page, text).and(page.locator("[data-state=awaiting]")).waitFor({ timeout: 20000 });
    await queuedFile(page, photo.name).waitFor({ timeout: 20000 });
    await page.waitForTimeout(3000);
    assert.equal(await queuedText(page, text).getAttribute("data-state"), "awaiting");
    const held = await page.locator("li[data-outbox]").evaluateAll((els) => els.map((e) => `${e.dataset.state}: ${e.innerText.replace(/\s+/g, " ")}`));
    const leftEarly = requests.filter((r) => /\/rooms\/[^/]+\/send\/|\/_matrix\/media\/[^/]+\/upload/.test(r));
    assert.deepEqual(leftEarly, [], "nothing sent or uploaded while the counselor has no device");
    assert.ok(!(await messagesFor(session.accessToken, roomId)).some((e) => e.type === "m.room.encrypted"), "no ciphertext in the room yet");

    // Her first sign-in (a new device), then she accepts and reads both.
    const signedIn = Date.now();
    const counselor = track(await startCryptoClient(server, await loginDevice(server, counselorReg.username, PASSWORD, "Element")));
    await accepts(counselor, roomId);
    await counselorReadsText(counselor, roomId, text, "the counselor decrypts the enquiry", 60000);
    await counselorReadsFile(counselor, roomId, photo, "the counselor decrypts the photo", 60000);
    console.log(`# order 1: the held enquiry and photo decrypted by the counselor ${Date.now() - signedIn} ms after her first sign-in`);

    // She answers with text and a letter; the seeker reads both.
    const answer = "Good morning, I am here now. Please read the letter.";
    const letter = pdf("checklist.pdf");
    await counselorSends(counselor, roomId, answer, letter);
    await seekerReadsText(page, answer);
    await seekerReadsFile(page, letter);

    // The app tells the truth about the seeker's own messages now.
    await ownText(page, text).and(page.locator("[data-state=read]")).waitFor({ timeout: 20000 });
    await ownFile(page, photo.name).waitFor({ timeout: 20000 });
    assert.equal(await page.locator("li[data-outbox]").count(), 0, "the outbox is empty");
    // README "Web app": each own message shows its true state, "waiting for the counselor" while held.
    assert.deepEqual(held.map((h) => h.split(":")[0]), ["awaiting", "awaiting"],
      `both held messages (text, then photo) shown as waiting for the counselor; the app showed ${JSON.stringify(held)}`);
  } finally {
    await context.close();
  }
});

test("2. the counselor has a device but accepts only after the seeker wrote (text and photo); both directions", async () => {
  const { reg, client: counselor } = await signedInCounselor("later", "Mr Later");
  const { context, page } = await seekerPage();
  try {
    const { roomId } = await seekerOpens(page, `order2-${process.pid}`, reg.userId);
    const text = "I need help with my tenancy agreement.";
    const photo = png("tenancy-page-1.png");
    await seekerSends(page, text);
    await seekerAttaches(page, photo);
    // She has a device: both go out at once and wait for her to accept.
    await ownText(page, text).and(page.locator("[data-state=awaiting]")).waitFor({ timeout: 30000 });
    await ownFile(page, photo.name).waitFor({ timeout: 30000 });
    assert.equal(await page.locator("li[data-outbox]").count(), 0, "nothing left in the outbox");

    await accepts(counselor, roomId);
    await counselorReadsText(counselor, roomId, text, "the counselor decrypts the enquiry written before she accepted");
    await counselorReadsFile(counselor, roomId, photo, "the counselor decrypts the photo sent before she accepted");

    const answer = "Of course. What does the contract say about the deposit?";
    const form = pdf("deposit-form.pdf");
    await counselorSends(counselor, roomId, answer, form);
    await seekerReadsText(page, answer);
    await seekerReadsFile(page, form);

    const more = "Here is the second page.";
    const page2 = png("tenancy-page-2.png");
    await seekerSends(page, more);
    await seekerAttaches(page, page2);
    await counselorReadsText(counselor, roomId, more, "the counselor decrypts the next message");
    await counselorReadsFile(counselor, roomId, page2, "the counselor decrypts the next photo");
    await ownText(page, text).and(page.locator("[data-state=read]")).waitFor({ timeout: 20000 });
  } finally {
    await context.close();
  }
});

test("3. the counselor accepts first, then both exchange messages and attachments", async () => {
  const { reg, client: counselor } = await signedInCounselor("prompt", "Ms Prompt");
  const { context, page } = await seekerPage();
  try {
    const { roomId } = await seekerOpens(page, `order3-${process.pid}`, reg.userId);
    await accepts(counselor, roomId);
    await page.locator(".not-joined").waitFor({ state: "detached", timeout: 30000 });  // the app saw her accept

    const text = "Thank you for accepting. My question is about my work permit.";
    const photo = png("work-permit.png");
    await seekerSends(page, text);
    await seekerAttaches(page, photo);
    await counselorReadsText(counselor, roomId, text, "the counselor decrypts the first message");
    await counselorReadsFile(counselor, roomId, photo, "the counselor decrypts the photo");
    await ownText(page, text).and(page.locator("[data-state=delivered], [data-state=read]")).waitFor({ timeout: 20000 });

    const answer = "Please fill in this form and send it back.";
    const form = pdf("application.pdf");
    await counselorSends(counselor, roomId, answer, form);
    await seekerReadsText(page, answer);
    await seekerReadsFile(page, form);

    const back = "Done, here it is.";
    const filled = pdf("application-filled.pdf");
    await seekerSends(page, back);
    await seekerAttaches(page, filled);
    await counselorReadsText(counselor, roomId, back, "the counselor decrypts the reply");
    await counselorReadsFile(counselor, roomId, filled, "the counselor decrypts the filled-in PDF");
  } finally {
    await context.close();
  }
});

test("4. a hand-over: the new counselor reads from the hand-over on, nothing from before, and the seeker reads her answer", async () => {
  const first = await signedInCounselor("handing", "Ms Handing");
  const next = await signedInCounselor("taking", "Mr Taking");
  const { context, page } = await seekerPage();
  try {
    const { roomId, session } = await seekerOpens(page, `order4-${process.pid}`, first.reg.userId);
    await accepts(first.client, roomId);
    const before = "This is what I told the first counselor.";
    const beforePhoto = png("before-handover.png");
    await seekerSends(page, before);
    await seekerAttaches(page, beforePhoto);
    const beforeIds = [
      (await counselorReadsText(first.client, roomId, before, "the first counselor decrypts the message")).getId(),
      (await counselorReadsFile(first.client, roomId, beforePhoto, "the first counselor decrypts the photo")).getId(),
    ];
    const beforeSessions = new Set(beforeIds.map((id) => first.client.getRoom(roomId).findEventById(id).getWireContent().session_id));
    beforeIds.push(...await counselorSends(first.client, roomId, "I will hand you over to my colleague."));
    await seekerReadsText(page, "I will hand you over to my colleague.");

    // The administrator hands the consultation over (POST .../consultations/{room}/transfer).
    const moved = await api(server, "POST", `/_lotse/admin/v1/consultations/${enc(roomId)}/transfer`,
      { token: server.admin.accessToken, body: { to: next.reg.userId } });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(moved.body.counselor, next.reg.userId);
    await page.getByText(/handed over to Mr Taking/).waitFor({ timeout: 30000 });  // the app has seen the hand-over

    // The seeker writes after the hand-over, before the new counselor accepts (as in order 2).
    const after = "Hello, this is for the new counselor.";
    const afterPhoto = png("after-handover.png");
    await seekerSends(page, after);
    await seekerAttaches(page, afterPhoto);
    await ownText(page, after).waitFor({ timeout: 30000 });
    await ownFile(page, afterPhoto.name).waitFor({ timeout: 30000 });
    await accepts(next.client, roomId);
    const afterText = await counselorReadsText(next.client, roomId, after, "the new counselor decrypts the message after the hand-over");
    await counselorReadsFile(next.client, roomId, afterPhoto, "the new counselor decrypts the photo after the hand-over");

    // Nothing from before the hand-over: the server hides it from her ...
    const hers = await messagesFor(next.reg.accessToken, roomId);
    assert.ok(hers.some((e) => e.event_id === afterText.getId()), "her /messages has what came after the hand-over");
    for (const id of beforeIds) {
      assert.ok(!hers.some((e) => e.event_id === id), `${id} from before the hand-over is not in her /messages`);
      const single = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(id)}`, { token: next.reg.accessToken });
      assert.notEqual(single.status, 200, `${id} from before the hand-over cannot be fetched by her`);
      assert.equal(next.client.getRoom(roomId).findEventById(id), undefined, `${id} is not in her client`);
    }
    await next.client.scrollback(next.client.getRoom(roomId), 100);
    assert.ok(!next.client.getRoom(roomId).getLiveTimeline().getEvents().some((e) => beforeIds.includes(e.getId())), "not even after scrolling back");
    // ... and she holds no key that opens it: the earlier messages, had she got them, stay undecryptable.
    const { MatrixEvent } = await sdk();
    for (const id of beforeIds.slice(0, 2)) {
      const raw = (await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(id)}`, { token: session.accessToken })).body;
      assert.equal(raw.type, "m.room.encrypted");
      const ev = new MatrixEvent(raw);
      await next.client.decryptEventIfNeeded(ev);
      assert.ok(ev.isDecryptionFailure(), `${id} from before the hand-over does not decrypt for her: ${JSON.stringify(ev.getClearContent())}`);
    }
    const herKeys = await next.client.getCrypto().exportRoomKeys();
    console.log(`# order 4: sessions before the hand-over ${[...beforeSessions].join(", ")}; the new counselor holds ${herKeys.filter((k) => k.room_id === roomId).map((k) => k.session_id).join(", ")}`);

    // She answers; the seeker reads it. The first counselor sees nothing after her leave.
    const answer = "Good day, I have taken over your consultation.";
    const note = pdf("next-steps.pdf");
    const answerIds = await counselorSends(next.client, roomId, answer, note);
    await seekerReadsText(page, answer);
    await seekerReadsFile(page, note);
    for (const id of [afterText.getId(), ...answerIds]) {
      const single = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(id)}`, { token: first.reg.accessToken });
      assert.notEqual(single.status, 200, `${id} after the hand-over is hidden from the first counselor`);
    }
    // The chat header names the counselor the seeker now talks to (README "Web app").
    await page.locator(".topbar-title", { hasText: "Mr Taking" }).waitFor({ timeout: 10000 }).catch(async (e) => {
      throw new Error(`after the hand-over the chat header names "${await page.locator(".topbar-title").innerText()}", not the new counselor Mr Taking (${e.message.split("\n")[0]})`);
    });
  } finally {
    await context.close();
  }
});

// Element's recovery: the secret storage key is the recovery key the counselor keeps (cached while
// set up, typed in on a new session). `holder` = { key, client }.
const recoveryCallbacks = (holder) => ({
  getSecretStorageKey: async ({ keys }) => {
    if (!holder.key) return null;
    for (const [id, info] of Object.entries(keys)) if (await holder.client.secretStorage.checkKey(holder.key, info)) return [id, holder.key];
    return null;
  },
  cacheSecretStorageKey: (_id, _info, key) => { holder.key = key; },
});

// UIA for the cross-signing upload: none for the first (MSC3967), the password afterwards.
const passwordUia = (userId) => async (makeRequest) => {
  try {
    await makeRequest(null);
  } catch (e) {
    if (e.httpStatus !== 401) throw e;
    await makeRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: userId }, password: PASSWORD, session: e.data?.session });
  }
};

// The Megolm sessions a client's view of the room uses, and which of them the server's backup holds.
const sessionsOf = (client, roomId) => new Set((client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [])
  .filter((e) => e.isEncrypted()).map((e) => e.getWireContent().session_id));
async function backedUp(token, roomId, version) {
  const res = await api(server, "GET", `/_matrix/client/v3/room_keys/keys/${enc(roomId)}?version=${enc(version)}`, { token });
  return new Set(Object.keys(res.body?.sessions ?? {}));
}

test("5. the counselor reads the history on a new session through Element's recovery key and key backup", async () => {
  const reg = await register(server, uniqueName("backup"), PASSWORD, { display_name: "Ms Backup", languages: ["en"], topics: ["aufenthalt"] });
  // Her first session: Element's "Set up recovery" (cross-signing, secret storage, key backup).
  const holderA = {};
  const a = track(await startCryptoClient(server, reg, {}, { cryptoCallbacks: recoveryCallbacks(holderA) }));
  holderA.client = a;
  const cryptoA = a.getCrypto();
  await cryptoA.bootstrapCrossSigning({ authUploadDeviceSigningKeys: passwordUia(reg.userId) });
  const recoveryKey = await cryptoA.createRecoveryKeyFromPassphrase();
  await cryptoA.bootstrapSecretStorage({ createSecretStorageKey: async () => recoveryKey, setupNewKeyBackup: true });
  assert.equal(await cryptoA.isCrossSigningReady(), true, "cross-signing ready");
  assert.equal(await cryptoA.isSecretStorageReady(), true, "secret storage holds the cross-signing and backup keys");
  const version = await cryptoA.getActiveSessionBackupVersion();
  assert.ok(version, "key backup enabled");

  const { context, page } = await seekerPage();
  try {
    const { roomId } = await seekerOpens(page, `order5-${process.pid}`, reg.userId);
    const text = "My first question, read on your first computer.";
    const photo = png("letter-from-the-office.png");
    await seekerSends(page, text);
    await seekerAttaches(page, photo);
    await accepts(a, roomId);
    const earlier = [
      (await counselorReadsText(a, roomId, text, "the first session decrypts the message")).getId(),
      (await counselorReadsFile(a, roomId, photo, "the first session decrypts the photo")).getId(),
    ];
    const answer = "I have read your letter and will answer tomorrow.";
    const note = pdf("what-to-bring.pdf");
    earlier.push(...await counselorSends(a, roomId, answer, note));
    await seekerReadsText(page, answer);
    await seekerReadsFile(page, note);

    // Every room key of the conversation (the seeker's and her own) reaches the server's backup.
    const needed = sessionsOf(a, roomId);
    assert.ok(needed.size >= 2, `sessions of both sides: ${[...needed]}`);
    await waitFor(async () => { const have = await backedUp(reg.accessToken, roomId, version); return [...needed].every((s) => have.has(s)); },
      `every room key of the conversation in the backup (${[...needed].join(", ")})`, 45000);

    // That session ends (a new computer): no other device of hers could forward keys any more.
    a.stopClient();
    assert.equal((await api(server, "POST", "/_matrix/client/v3/logout", { token: reg.accessToken, body: {} })).status, 200);

    // A new session with a new crypto store: the recovery key typed in, as Element asks for it.
    const holderB = { key: decodeRecoveryKey(recoveryKey.encodedPrivateKey) };
    const sessionB = await loginDevice(server, reg.username, PASSWORD, "Element (new laptop)");
    const b = track(await startCryptoClient(server, sessionB, {}, { cryptoCallbacks: recoveryCallbacks(holderB) }));
    holderB.client = b;
    const cryptoB = b.getCrypto();
    // Before the restore, the history is there but undecryptable on this device.
    await waitFor(() => earlier.every((id) => b.getRoom(roomId)?.findEventById(id)), "the history synced to the new session", 20000);
    await waitFor(async () => {
      for (const id of earlier) await b.decryptEventIfNeeded(b.getRoom(roomId).findEventById(id));
      return earlier.every((id) => b.getRoom(roomId).findEventById(id).isDecryptionFailure());
    }, "the history undecryptable before the restore", 20000);
    // Her own identity must be known before the private keys from secret storage can be checked
    // against it (Element waits for this first key query too; without it the import fails at random).
    await cryptoB.getUserDeviceInfo([reg.userId], true);
    await waitFor(async () => (await cryptoB.getCrossSigningStatus()).publicKeysOnDevice, "her cross-signing identity downloaded", 20000);
    await cryptoB.bootstrapCrossSigning({ authUploadDeviceSigningKeys: passwordUia(reg.userId) });  // keys from secret storage
    assert.equal(await cryptoB.isCrossSigningReady(), true, "the new session has the cross-signing keys from secret storage");
    assert.equal((await cryptoB.getDeviceVerificationStatus(reg.userId, sessionB.deviceId))?.signedByOwner, true, "and signed itself");
    await cryptoB.loadSessionBackupPrivateKeyFromSecretStorage();
    const check = await cryptoB.checkKeyBackupAndEnable();
    assert.equal(check?.backupInfo?.version, version, "the same backup");
    assert.equal(check?.trustInfo?.trusted, true, "the backup is trusted (signed by her master key)");
    const restored = await cryptoB.restoreKeyBackup();
    assert.ok(restored.imported >= needed.size, `restored ${JSON.stringify(restored)}`);

    await counselorReadsText(b, roomId, text, "the new session decrypts the seeker's message from the backup");
    await counselorReadsFile(b, roomId, photo, "the new session decrypts the seeker's photo from the backup");
    await counselorReadsText(b, roomId, answer, "the new session decrypts her own answer from the backup");
    await counselorReadsFile(b, roomId, note, "the new session decrypts her own file from the backup");

    // The seeker writes again: it reaches the new session directly.
    const later = "Thank you! One more question.";
    const later2 = pdf("rent-notice.pdf");
    await seekerSends(page, later);
    await seekerAttaches(page, later2);
    await counselorReadsText(b, roomId, later, "the new session decrypts a message sent after it appeared");
    await counselorReadsFile(b, roomId, later2, "the new session decrypts a file sent after it appeared");
    const reply = "Yes, go ahead.";
    await counselorSends(b, roomId, reply);
    await seekerReadsText(page, reply);
  } finally {
    await context.close();
  }
});
