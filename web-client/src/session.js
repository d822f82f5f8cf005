// The seeker's Matrix session: registration, login, the client with Rust crypto (IndexedDB store),
// Lotse API calls, and the outbox that keeps messages typed while offline.
// Deep imports: matrix-js-sdk's index pulls in every module (widgets, MatrixRTC, OIDC ...) and the
// package declares no sideEffects, so importing the client directly keeps the bundle smaller.
import { MatrixClient, ClientEvent } from "matrix-js-sdk/lib/client.js";
import { MemoryStore } from "matrix-js-sdk/lib/store/memory.js";
import { MatrixScheduler } from "matrix-js-sdk/lib/scheduler.js";
import { RoomEvent } from "matrix-js-sdk/lib/models/room.js";
import { RoomMemberEvent } from "matrix-js-sdk/lib/models/room-member.js";
import { MatrixEventEvent } from "matrix-js-sdk/lib/models/event.js";

function createClient(opts) {
  return new MatrixClient({ ...opts, store: new MemoryStore({ localStorage: globalThis.localStorage }), scheduler: new MatrixScheduler() });
}

const BASE = location.origin;
const SESSION_KEY = "lotse.session";
const OUTBOX_KEY = "lotse.outbox";

export const savedSession = () => JSON.parse(localStorage.getItem(SESSION_KEY) ?? "null");

function remember(res) {
  const session = { userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id };
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

export async function register(username, password) {
  const c = createClient({ baseUrl: BASE });
  let session;
  try {
    await c.registerRequest({ username, password });
  } catch (e) {
    if (e.httpStatus !== 401) throw e;
    session = e.data?.session;
  }
  return remember(await c.registerRequest({ username, password, initial_device_display_name: "Lotse Web",
    auth: { type: "m.login.dummy", session } }));
}

export async function login(username, password) {
  const c = createClient({ baseUrl: BASE });
  try {
    return remember(await c.loginRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: username },
      password, initial_device_display_name: "Lotse Web" }));
  } catch (e) {
    e.context = "login";
    throw e;
  }
}

// Unlocking after a quick exit: the password is checked with a short-lived login that is logged
// out at once, so the original device and its keys stay (no history is lost).
export async function unlock(username, password) {
  const saved = savedSession();
  const c = createClient({ baseUrl: BASE });
  let res;
  try {
    res = await c.loginRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: username }, password });
  } catch (e) {
    e.context = "login";
    throw e;
  }
  await fetch(`${BASE}/_matrix/client/v3/logout`, { method: "POST", headers: { Authorization: `Bearer ${res.access_token}` } }).catch(() => {});
  if (!saved || saved.userId !== res.user_id) return remember(res);  // another account: a fresh start
  return saved;
}

export async function startClient(session, onChange) {
  const client = createClient({ baseUrl: BASE, ...session });
  await client.initRustCrypto();
  const ready = new Promise((resolve) => client.on(ClientEvent.Sync, (state) => {
    if (state === "PREPARED" || state === "SYNCING") resolve();
  }));
  for (const ev of [RoomEvent.Timeline, RoomEvent.Receipt, RoomMemberEvent.Typing, RoomEvent.MyMembership])
    client.on(ev, () => onChange());
  client.on(MatrixEventEvent.Decrypted, () => onChange());
  await client.startClient({ initialSyncLimit: 30, lazyLoadMembers: true });
  await ready;
  return client;
}

export async function lotseApi(session, method, path, body) {
  const res = await fetch(`${BASE}/_lotse/client/v1${path}`, {
    method, headers: { Authorization: `Bearer ${session.accessToken}`, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw Object.assign(new Error(json.error), { errcode: json.errcode });
  return json;
}

// Messages typed while offline wait here, in order, and are sent when the network returns.
export const outbox = {
  all: () => JSON.parse(localStorage.getItem(OUTBOX_KEY) ?? "[]"),
  add(item) { localStorage.setItem(OUTBOX_KEY, JSON.stringify([...outbox.all(), item])); },
  remove(id) { localStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox.all().filter((m) => m.id !== id))); },
};

export async function flushOutbox(client, onChange) {
  for (const item of outbox.all()) {
    try {
      await client.sendTextMessage(item.roomId, item.body);
      outbox.remove(item.id);
      onChange();
    } catch {
      return;  // still offline: keep the rest in order
    }
  }
}

// Logout that leaves nothing on a shared phone: server session, keys, local stores.
export async function logoutEverywhere(client) {
  try { await client?.logout(true); } catch { /* offline: the local wipe still happens */ }
  try { client?.stopClient(); await client?.clearStores(); } catch { /* nothing stored yet */ }
  const lang = localStorage.getItem("lotse.lang");
  localStorage.clear();
  if (lang) localStorage.setItem("lotse.lang", lang);
  for (const db of (await indexedDB.databases?.()) ?? []) if (db.name) indexedDB.deleteDatabase(db.name);
}
