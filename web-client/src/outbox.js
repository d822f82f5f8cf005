// The outbox: every message the seeker writes (text, photo, file, voice) is stored here first, in
// IndexedDB (files as the Blob itself), and leaves it only once the server has acknowledged it.
// States: "sending" (a request is under way), "waiting" (no connection or no answer: retried with
// back-off, at once on 'online' and when the sync reconnects), "failed" (the server refused it:
// shown with a retry button). Order is kept: the oldest waiting message goes first.
import { encryptFile } from "./attachments.js";

const DB_NAME = "lotse-outbox";
const STORE = "items";
const LEGACY_KEY = "lotse.outbox";  // the old localStorage outbox (text only), imported once
const FIRST_DELAY = 2000;
const MAX_DELAY = 30000;
const SLOW_MS = 8000;  // a request without an answer after this long counts as "waiting"

let items = [];
let client = null;
let timer = null;
let running = false;
let delay = FIRST_DELAY;
let dbPromise = null;
const listeners = new Set();

const notify = () => listeners.forEach((fn) => fn());
export const subscribeOutbox = (fn) => { listeners.add(fn); return () => listeners.delete(fn); };
export const outboxItems = (roomId) => items.filter((i) => i.roomId === roomId);

function db() {
  dbPromise ??= new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "id" });
    req.onsuccess = () => {
      req.result.onversionchange = () => { req.result.close(); dbPromise = null; };  // logout deletes it
      resolve(req.result);
    };
    req.onerror = () => reject(req.error);
  });
  return dbPromise;
}

async function tx(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction(STORE, mode);
    const r = fn(t.objectStore(STORE));
    t.oncomplete = () => resolve(r?.result);
    t.onerror = () => reject(t.error);
  });
}

// What is stored: everything but the transient display state ("sending" is stored as "waiting").
const persist = (item) => tx("readwrite", (s) => s.put({ ...item, state: item.state === "failed" ? "failed" : "waiting", slow: undefined }))
  .catch(() => { /* private mode without IndexedDB: the message stays in memory */ });

export async function loadOutbox() {
  try {
    items = ((await tx("readonly", (s) => s.getAll())) ?? []).sort((a, b) => a.ts - b.ts);
  } catch {
    items = [];
  }
  const legacy = JSON.parse(localStorage.getItem(LEGACY_KEY) ?? "[]");
  for (const m of legacy) {
    if (items.some((i) => i.id === m.id)) continue;
    const item = { id: m.id, txnId: `lotse-${m.id}`, roomId: m.roomId, kind: "text", body: m.body, ts: Date.now(), state: "waiting" };
    items.push(item);
    await persist(item);
  }
  localStorage.removeItem(LEGACY_KEY);
  notify();
}

// Adds a message: { roomId, kind: "text", body } or { roomId, kind: "file", blob, name, msgtype, extra }.
export async function enqueue(message) {
  const id = crypto.randomUUID();
  const item = { ...message, id, txnId: `lotse-${id}`, ts: Date.now(), state: navigator.onLine ? "sending" : "waiting" };
  items.push(item);
  notify();
  await persist(item);
  kick();
  return item;
}

// Sends what waits now: one item (the retry button of a failed one) or, without `id`, every item that
// waits for the connection. A message held for a counselor without a device keeps its label: the
// kick checks her devices again and only then changes it.
export function retryNow(id) {
  for (const i of items) if (!id || i.id === id) if (i.state !== "sending" && (id || (i.state !== "failed" && i.state !== "awaiting"))) i.state = "waiting";
  delay = FIRST_DELAY;
  clearTimeout(timer);
  timer = null;
  notify();
  kick();
}

export function startOutbox(c) {
  client = c;
  // A counselor's first device (see counselorHasDevice) lets held messages go at once.
  c.on?.("crypto.devicesUpdated", () => retryNow());
  kick();
}

export function stopOutbox() {
  client = null;
  clearTimeout(timer);
  timer = null;
}

// Resolves once nothing is on its way any more (every item sent, failed for good, or waiting for a
// counselor without a device), or after `timeoutMs`: a logout lets what is being sent arrive first.
export function whenDrained(timeoutMs) {
  const busy = () => client && navigator.onLine && items.some((i) => i.state !== "failed" && i.state !== "awaiting");
  if (!busy()) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { clearTimeout(t); listeners.delete(check); resolve(); };
    const check = () => { if (!busy()) done(); };
    const t = setTimeout(done, timeoutMs);
    listeners.add(check);
  });
}

// After logout (the database itself is deleted with the others).
export function forgetOutbox() {
  stopOutbox();
  items = [];
  notify();
}

const update = (item, changes) => { Object.assign(item, changes); notify(); };

// Refused by the server for good: retrying would not help (forbidden, too large, bad request).
function permanent(err) {
  const status = err?.httpStatus;
  if (err?.errcode === "M_TOO_LARGE") return true;
  if (err?.errcode === "M_UNKNOWN_TOKEN" || status === 429 || status === 401) return false;
  return status >= 400 && status < 500;
}

// Every consultation is encrypted. matrix-js-sdk sends in plain text to a room it does not know (an
// app started offline before the room's first sync) or whose encryption it has not seen, so a
// message waits until the client knows the room as encrypted; it is never sent otherwise.
async function encryptedRoom(c, roomId) {
  const room = c.getRoom(roomId);
  if (!room) return false;
  return room.hasEncryptionStateEvent() || Boolean(await c.getCrypto?.()?.isEncryptionEnabledInRoom(roomId));
}

async function sendOne(c, item) {
  if (!(await encryptedRoom(c, item.roomId))) throw new Error("the room is not known as encrypted yet");
  let content;
  if (item.kind === "text") content = { msgtype: "m.text", body: item.body };
  else {
    if (!item.content) {
      const limit = (await c.getMediaConfig().catch(() => ({})))["m.upload.size"];
      if (limit && item.blob.size > limit) throw Object.assign(new Error("too large"), { errcode: "M_TOO_LARGE" });
      const { cipher, info } = await encryptFile(await item.blob.arrayBuffer());
      const { content_uri } = await c.uploadContent(new Blob([cipher]), { type: "application/octet-stream", includeFilename: false });
      const mimetype = item.blob.type || "application/octet-stream";
      // Uploaded once: a retry sends the same ciphertext again without uploading it twice.
      item.content = {
        msgtype: item.msgtype, body: item.name, info: { mimetype, size: item.blob.size, ...(item.extra?.info ?? {}) },
        file: { ...info, url: content_uri, mimetype }, ...(item.extra?.content ?? {}),
      };
      await persist(item);
    }
    content = item.content;
  }
  const room = c.getRoom(item.roomId);
  // The SDK refuses a transaction id it still knows from a local echo; then a fresh one.
  if (room?.txnToEvent?.has?.(item.txnId)) {
    item.txnId = `lotse-${crypto.randomUUID()}`;
    await persist(item);
  }
  try {
    // The same transaction id on every attempt: the server stores a message only once.
    return await c.sendEvent(item.roomId, "m.room.message", content, item.txnId);
  } catch (err) {
    // The SDK keeps a failed local echo in the timeline; the outbox shows the message instead.
    try { if (err?.event) c.cancelPendingEvent(err.event); } catch { /* already gone */ }
    room?.txnToEvent?.delete?.(item.txnId);  // so the retry may reuse the transaction id
    throw err;
  }
}

// A consultation whose counselor has no device yet (she has never signed in): no one could decrypt
// the message, so it waits here, shown as "waiting for the counselor", and goes out as soon as she
// has a device (her device list reaches us through the shared room). Nothing unreadable is sent.
async function counselorHasDevice(c, roomId) {
  const crypto = c.getCrypto?.();
  const counselor = c.getRoom(roomId)?.currentState.getStateEvents("de.lotse.consultation", "")?.getContent()?.counselor;
  if (!crypto || !counselor) return true;
  const devices = await crypto.getUserDeviceInfo([counselor], true);
  return (devices.get(counselor)?.size ?? 0) > 0;
}

async function kick() {
  if (running || !client) return;
  running = true;
  try {
    // Rooms whose counselor has no device yet: their messages wait, the others' go on.
    const held = new Set();
    for (;;) {
      const c = client;
      const item = items.find((i) => i.state !== "failed" && !held.has(i.roomId));
      if (!item || !c) break;
      if (!navigator.onLine) {
        for (const i of items) if (i.state === "sending") i.state = "waiting";
        notify();
        break;  // the 'online' event calls retryNow
      }
      if (!(await counselorHasDevice(c, item.roomId).catch(() => true))) {
        held.add(item.roomId);
        for (const i of items) if (i.roomId === item.roomId && i.state !== "failed") i.state = "awaiting";
        notify();
        continue;
      }
      update(item, { state: "sending" });
      const slow = setTimeout(() => item.state === "sending" && update(item, { state: "waiting" }), SLOW_MS);
      try {
        await sendOne(c, item);
        clearTimeout(slow);
        items = items.filter((i) => i !== item);
        delay = FIRST_DELAY;
        notify();
        tx("readwrite", (s) => s.delete(item.id)).catch(() => {});
      } catch (err) {
        clearTimeout(slow);
        if (permanent(err)) {
          update(item, { state: "failed", errcode: err?.errcode ?? null });
          await persist(item);
          continue;
        }
        update(item, { state: "waiting" });
        if (err?.errcode === "M_UNKNOWN_TOKEN") break;  // the app asks for a new login
        const wait = err?.data?.retry_after_ms ?? delay;
        delay = Math.min(delay * 2, MAX_DELAY);
        clearTimeout(timer);
        timer = setTimeout(() => { timer = null; kick(); }, wait);
        break;
      }
    }
    if (held.size && !timer) {
      timer = setTimeout(() => { timer = null; kick(); }, delay);
      delay = Math.min(delay * 2, MAX_DELAY);
    }
  } finally {
    running = false;
  }
}
