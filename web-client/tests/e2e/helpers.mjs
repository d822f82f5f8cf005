// Helpers shared by the browser tests: Debian's Chromium, starting a consultation from the directory,
// the phone-layout checks (quick exit overlapping something, a page wider than the phone), and what a
// counselor's matrix-js-sdk in Node does with the seeker's messages (find them decrypted, download and
// decrypt attachments).
import { createHash, webcrypto } from "node:crypto";
import { crc32, deflateSync } from "node:zlib";
import { chromium } from "playwright-core";
import { waitFor, VIA_NGINX } from "../../../tests/integration/harness.mjs";
import assert from "node:assert/strict";

export const launchChromium = (extraArgs = []) => chromium.launch({
  executablePath: "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", ...(VIA_NGINX ? ["--ignore-certificate-errors"] : []), ...extraArgs],
});

export const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

// The first decrypted event of a msgtype in a room, as the counselor's client sees it.
export async function findContent(client, roomId, msgtype, what) {
  return waitFor(async () => {
    for (const e of client.getRoom(roomId).getLiveTimeline().getEvents()) {
      await client.decryptEventIfNeeded(e);
      if (e.getClearContent()?.msgtype === msgtype) return e.getClearContent();
    }
    return null;
  }, what, 30000);
}

// Downloads an encrypted attachment over authenticated media and decrypts it (AES-CTR, JWK key).
export async function downloadAndDecrypt(client, token, file) {
  const url = client.mxcUrlToHttp(file.url, undefined, undefined, undefined, false, true, true);
  const cipher = Buffer.from(await (await fetch(url, { headers: { Authorization: `Bearer ${token}` } })).arrayBuffer());
  const key = await webcrypto.subtle.importKey("jwk", file.key, { name: "AES-CTR" }, false, ["decrypt"]);
  return Buffer.from(await webcrypto.subtle.decrypt({ name: "AES-CTR", counter: Buffer.from(file.iv, "base64"), length: 64 }, key, cipher));
}

// What a client holds of a room's encrypted events from `sender`: one line each, for failure messages.
export function encryptedEventsOf(client, roomId, sender) {
  return (client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [])
    .filter((e) => e.isEncrypted() && (!sender || e.getSender() === sender))
    .map((e) => `${e.getId()} session ${e.getWireContent().session_id}: ` +
      (e.isDecryptionFailure() ? `undecryptable (${e.decryptionFailureReason})` : `${e.getClearContent()?.msgtype} "${e.getClearContent()?.body}"`));
}

// The event in a room whose decrypted content `match`es, waiting for it to arrive and decrypt. On a
// timeout the error lists the encrypted events the client has and why they did not decrypt.
export async function decryptedEvent(client, roomId, match, what, timeoutMs = 30000) {
  try {
    return await waitFor(async () => {
      for (const e of client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? []) {
        if (!e.isEncrypted()) continue;
        await client.decryptEventIfNeeded(e);
        if (!e.isDecryptionFailure() && match(e.getClearContent() ?? {})) return e;
      }
      return null;
    }, what, timeoutMs);
  } catch (e) {
    const room = client.getRoom(roomId);
    const seen = encryptedEventsOf(client, roomId);
    throw new Error(`${e.message}; ${client.getUserId()} (${client.getDeviceId()}) is ${room?.getMyMembership() ?? "not in the room"} ` +
      `and has ${seen.length} encrypted event(s)${seen.length ? ":\n  " + seen.join("\n  ") : ""}`);
  }
}

// Starts a consultation from the directory as a seeker does: the counselor's card opens her
// profile, where the topic is chosen (preselected when she has one) and the consultation started.
export async function startConsultation(page, counselorId, { timeout = 30000, topic } = {}) {
  await page.locator(`.counselor[data-user="${counselorId}"] button`).click({ timeout });
  const profile = page.locator(`.profile[data-user="${counselorId}"]`);
  if (topic) await profile.locator(`input[name="topic"][value="${topic}"]`).check({ timeout });
  await profile.locator("button.start").click({ timeout });
}

// The layout facts of the current screen: interactive elements whose visible box (clipped by their
// scroll containers and the viewport) meets the quick-exit button, the page's width, scroll
// containers wider than themselves, and whether the composer's Send button is really on top.
async function layout(page) {
  return page.evaluate(() => {
    // The quick exit on screen (a call view has its own; the screen under it is hidden meanwhile).
    const shown = (sel) => [...document.querySelectorAll(sel)].find((e) => e.getClientRects().length > 0) ?? null;
    const exit = shown(".quick-exit");
    const q = exit?.getBoundingClientRect() ?? new DOMRect();
    const visibleBox = (el) => {
      const r = el.getBoundingClientRect();
      let box = { l: r.left, t: r.top, r: r.right, b: r.bottom };
      for (let p = el.parentElement; p; p = p.parentElement) {
        const cs = getComputedStyle(p);
        if (cs.overflowX === "visible" && cs.overflowY === "visible") continue;
        const pr = p.getBoundingClientRect();
        box = { l: Math.max(box.l, pr.left), t: Math.max(box.t, pr.top), r: Math.min(box.r, pr.right), b: Math.min(box.b, pr.bottom) };
      }
      return { l: Math.max(box.l, 0), t: Math.max(box.t, 0), r: Math.min(box.r, innerWidth), b: Math.min(box.b, innerHeight) };
    };
    const overlaps = [];
    for (const el of document.querySelectorAll("button, a[href], input, select, textarea, label, audio, [role=button], [tabindex]")) {
      if (el === exit || el.closest(".visually-hidden") || el.classList.contains("visually-hidden")) continue;
      const b = visibleBox(el);
      if (b.r - b.l <= 0 || b.b - b.t <= 0) continue;  // scrolled out of view or hidden
      if (b.l < q.right && b.r > q.left && b.t < q.bottom && b.b > q.top)
        overlaps.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}"`);
    }
    const wide = [...document.querySelectorAll("*")].filter((el) => {
      const cs = getComputedStyle(el);
      return (cs.overflowX === "auto" || cs.overflowX === "scroll") && el.scrollWidth > el.clientWidth + 1;
    }).map((el) => `${el.tagName.toLowerCase()}.${el.className} ${el.scrollWidth}>${el.clientWidth}`);
    let sendOnTop = null;
    const send = shown(".composer button[type=submit]");
    if (send) {
      const r = send.getBoundingClientRect();
      sendOnTop = send.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
    }
    return { overlaps, wide, scrollWidth: document.documentElement.scrollWidth, width: innerWidth, sendOnTop,
      exitVisible: q.width > 0 && q.top >= 0 && q.bottom <= innerHeight };
  });
}

// `modal`: a dialog over the screen (the enlarged photo) is meant to cover Send.
export async function checkLayout(page, what, { modal = false } = {}) {
  const l = await layout(page);
  assert.deepEqual(l.overlaps, [], `${what}: quick exit overlaps`);
  assert.equal(l.scrollWidth, l.width, `${what}: page wider than the phone`);
  assert.deepEqual(l.wide, [], `${what}: a scroll container is wider than itself`);
  assert.ok(l.exitVisible, `${what}: quick exit in view`);
  if (l.sendOnTop !== null && !modal) assert.ok(l.sendOnTop, `${what}: Send is covered`);
}

// A real PNG of w x h grey pixels (8-bit greyscale), for a photo that takes room once it has loaded.
export function pngOf(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), data])));
    return Buffer.concat([len, Buffer.from(type), data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(w, 0); header.writeUInt32BE(h, 4); header[8] = 8; header[9] = 0;
  const rows = Buffer.alloc((w + 1) * h, 0x80);
  for (let y = 0; y < h; y++) rows[y * (w + 1)] = 0;  // filter type "none" per row
  return Buffer.concat([Buffer.from("89504e470d0a1a0a", "hex"), chunk("IHDR", header), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

// The message list ends at its newest message (within a few pixels).
export const chatAtBottom = (page) => page.locator("ul.messages").evaluate((ul) => ul.scrollHeight - ul.scrollTop - ul.clientHeight < 4);
