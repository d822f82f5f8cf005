// The seeker's Matrix session: registration, login, the client with Rust crypto (IndexedDB store),
// Lotse API calls, and the logout that leaves nothing behind.
// Deep imports: matrix-js-sdk's index pulls in every module (widgets, MatrixRTC, OIDC ...) and the
// package declares no sideEffects, so importing the client directly keeps the bundle smaller.
import { MatrixClient, ClientEvent } from "matrix-js-sdk/lib/client.js";
import { MemoryStore } from "matrix-js-sdk/lib/store/memory.js";
import { IndexedDBStore } from "matrix-js-sdk/lib/store/indexeddb.js";
import { RoomEvent } from "matrix-js-sdk/lib/models/room.js";
import { RoomMemberEvent } from "matrix-js-sdk/lib/models/room-member.js";
import { MatrixEventEvent } from "matrix-js-sdk/lib/models/event.js";
import { logger as sdkLogger } from "matrix-js-sdk/lib/logger.js";

import { deriveKeys, localpart, ensureRecovery, findSecretStorageKey, rekeySecretStorage, waitForBackup } from "./key_recovery.js";

// No MatrixScheduler: it retried a failed send silently for ~45 s while the app showed it as sent;
// the app's outbox (src/outbox.js) retries instead and shows each message's true state.
function createClient(opts, store) {
  return new MatrixClient({ ...opts, store: store ?? new MemoryStore({ localStorage: globalThis.localStorage }) });
}

// The signed-in client keeps its rooms and messages (as the server sent them, encrypted) in
// IndexedDB, so an app opened offline shows the consultations and messages it had; the Rust crypto
// store beside it decrypts them again. Logout deletes both (logoutEverywhere).
// One database per account: another account signed in on the same phone never sees these rooms.
async function syncStore(userId) {
  if (!globalThis.indexedDB) return null;
  const store = new IndexedDBStore({ indexedDB: globalThis.indexedDB, dbName: `lotse-sync-${userId}`, localStorage: globalThis.localStorage });
  try {
    await store.startup();
    return store;
  } catch (e) {
    console.warn("no IndexedDB for the sync store, keeping it in memory", e);
    return null;
  }
}

// The SDK writes the sync store every five minutes; what arrived since would be missing offline.
// Here it is written a few seconds after anything new, and when the app goes to the background.
const SAVE_AFTER_MS = 2000;
function keepSaved(client, store) {
  let timer = null;
  const save = () => { clearTimeout(timer); timer = null; store.save(true).catch(() => {}); };
  client.on(ClientEvent.Sync, (state) => { if (state === "SYNCING" && !timer) timer = setTimeout(save, SAVE_AFTER_MS); });
  const hidden = () => { if (document.visibilityState === "hidden") save(); };
  document.addEventListener("visibilitychange", hidden);
  client.once("Session.logged_out", () => { clearTimeout(timer); document.removeEventListener("visibilitychange", hidden); });
}

const BASE = location.origin;
const SESSION_KEY = "lotse.session";

export const savedSession = () => JSON.parse(localStorage.getItem(SESSION_KEY) ?? "null");

function remember(res) {
  const session = { userId: res.user_id, accessToken: res.access_token, deviceId: res.device_id };
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

// The keys derived at the last registration, login or unlock, for startClient to set up or restore
// the key backup with (key_recovery.js). In memory only; startClient takes them.
let pendingKeys = null;
const keep = (userId, keys) => { pendingKeys = { userId, keys }; };

const passwordAuth = (user, password, session) => ({ type: "m.login.password", identifier: { type: "m.id.user", user }, password, session });

// The typed password is never sent, except to an account whose Matrix password is still the typed
// one (registered by another Matrix client, or imported from the old system): the server says so on
// a wrong password ("de.lotse.password_scheme": "as_typed"). Every password this app sets is a
// derived login secret, and the server is told (registration, password change), so that a typo or
// an old password typed out of habit is never sent as typed.
const DERIVED = { "de.lotse.password_scheme": "derived-v1" };
const keptAsTyped = (e) => e?.data?.["de.lotse.password_scheme"] === "as_typed";
const setDerivedPassword = (client, auth, secret) =>
  client.http.authedRequest("POST", "/account/password", undefined, { auth, new_password: secret, logout_devices: false, ...DERIVED });

export async function register(name, password) {
  await ending;
  const username = localpart(name);
  const keys = await deriveKeys(username, password);
  const c = createClient({ baseUrl: BASE });
  let session;
  try {
    await c.registerRequest({ username, password: keys.loginSecret, ...DERIVED });
  } catch (e) {
    if (e.httpStatus !== 401) throw e;
    session = e.data?.session;
  }
  const res = await c.registerRequest({ username, password: keys.loginSecret, initial_device_display_name: "Lotse Web",
    auth: { type: "m.login.dummy", session }, ...DERIVED });
  keep(res.user_id, keys);
  // A name that had to be mapped ("Олена", "Anna") is shown to counselors as she typed it.
  if (name.trim() !== username)
    await fetch(`${BASE}/_matrix/client/v3/profile/${encodeURIComponent(res.user_id)}/displayname`, {
      method: "PUT", headers: { Authorization: `Bearer ${res.access_token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ displayname: name.trim() }),
    }).catch(() => { /* the mapped name stays */ });
  return remember(res);
}

// Login with the derived login secret. An account whose password is still as typed (see DERIVED)
// gets a 403 saying so; then the typed password is tried and, if it works, the Matrix password is
// changed to the login secret at once (other devices stay logged in).
async function passwordLogin(username, password, keys, deviceName) {
  const c = createClient({ baseUrl: BASE });
  const attempt = (pw, extra = {}) => c.loginRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: username }, password: pw,
    ...(deviceName ? { initial_device_display_name: deviceName } : {}), ...extra });
  try {
    try {
      // Marked as derived: an account this app registered before the server kept the scheme has it
      // recorded by this login.
      return await attempt(keys.loginSecret, DERIVED);
    } catch (e) {
      if (e.httpStatus !== 403 || e.errcode !== "M_FORBIDDEN" || !keptAsTyped(e)) throw e;
    }
    const res = await attempt(password);
    const legacy = createClient({ baseUrl: BASE, userId: res.user_id, accessToken: res.access_token });
    try {
      await setDerivedPassword(legacy, passwordAuth(res.user_id, password), keys.loginSecret);
    } catch (e) {
      await legacy.logout(true).catch(() => {});  // not migrated: the next login tries again
      throw e;
    }
    return res;
  } catch (e) {
    e.context = "login";
    throw e;
  }
}

// A device ended elsewhere: its client stopped and its stores (sync, crypto) deleted. A new login or
// registration waits for it, so that the new device never opens the old one's crypto store. If that
// takes over 20 s (a client that never comes up, a deletion blocked by another tab), the stores are
// deleted by name instead, without waiting, and the login goes on.
let ending = Promise.resolve();
const RUST_CRYPTO_DBS = ["matrix-js-sdk::matrix-sdk-crypto", "matrix-js-sdk::matrix-sdk-crypto-meta"];
export function endDevice(clientPromise, userId) {
  const end = async () => {
    const c = await clientPromise;
    c?.stopClient();
    await c?.clearStores();
    return true;
  };
  ending = ending.then(() => Promise.race([end(), new Promise((resolve) => setTimeout(() => resolve(false), 20000))]))
    .catch((e) => { console.warn("the ended device's stores could not be deleted", e); return false; })
    .then((done) => {
      if (done || !globalThis.indexedDB) return;
      for (const name of [...RUST_CRYPTO_DBS, ...(userId ? [`lotse-sync-${userId}`] : [])]) indexedDB.deleteDatabase(name);
    });
  return ending;
}

export async function login(name, password) {
  await ending;
  const username = localpart(name);
  const keys = await deriveKeys(username, password);
  const res = await passwordLogin(username, password, keys, "Lotse Web");
  keep(res.user_id, keys);
  return remember(res);
}

// Unlocking after a quick exit: the password is checked with a short-lived login that is logged
// out at once, so the original device and its keys stay (no history is lost). The derived keys
// also let a device signed in before the key backup join it now.
// If the saved session was ended elsewhere meanwhile (M_UNKNOWN_TOKEN), the short-lived login becomes
// the new session instead, so she types her password once: this device's old keys and stored sync
// are useless then and deleted (the outbox stays and is sent from the new device).
export async function unlock(name, password) {
  await ending;
  const username = localpart(name);
  const saved = savedSession();
  const keys = await deriveKeys(username, password);
  const res = await passwordLogin(username, password, keys, "Lotse Web");
  if (saved?.userId === res.user_id && await sessionEnded(saved)) {
    await forgetDevice(saved);
    keep(res.user_id, keys);
    return remember(res);
  }
  if (!saved || saved.userId !== res.user_id) {
    // Another account than the locked one: a fresh start on this login (the other's stores go).
    if (saved) await forgetDevice(saved);
    keep(res.user_id, keys);
    return remember(res);
  }
  await fetch(`${BASE}/_matrix/client/v3/logout`, { method: "POST", headers: { Authorization: `Bearer ${res.access_token}` } }).catch(() => {});
  keep(res.user_id, keys);
  return saved;
}

// True only when the server says the token is gone; offline or any other answer keeps the session.
async function sessionEnded(session) {
  try {
    const res = await fetch(`${BASE}/_matrix/client/v3/account/whoami`, { headers: { Authorization: `Bearer ${session.accessToken}` } });
    if (res.status !== 401) return false;
    return (await res.json())?.errcode === "M_UNKNOWN_TOKEN";
  } catch {
    return false;
  }
}

// The stored sync and the crypto store of a device the server no longer knows (endDevice on a
// client made for its stores only).
const forgetDevice = (session) =>
  endDevice(syncStore(session.userId).then((store) => createClient({ baseUrl: BASE, ...session }, store)), session.userId);

// UIA with the password: the derived login secret, or the raw password on a device that signed in
// before the key backup and whose account was never migrated.
async function withPassword(client, password, call) {
  const me = client.getUserId();
  const keys = await deriveKeys(localpart(me), password);
  try {
    return await call(passwordAuth(me, keys.loginSecret), keys);
  } catch (e) {
    if (e.httpStatus !== 401 || !keptAsTyped(e)) throw e;
    return call(passwordAuth(me, password), keys);
  }
}

// Accounts deleted here: their logout has no backup to wait for.
const deleted = new WeakSet();

export async function deleteAccount(client, password) {
  await withPassword(client, password, (auth) => client.deactivateAccount(auth, true));
  deleted.add(client);
  client.stopClient();  // the token is gone: no sync to fail with M_UNKNOWN_TOKEN ("ended elsewhere")
}

// Password change that keeps the history (key_recovery.js rekeySecretStorage).
export async function changePassword(client, oldPassword, newPassword) {
  const me = client.getUserId();
  const oldKeys = await deriveKeys(localpart(me), oldPassword);
  const newKeys = await deriveKeys(localpart(me), newPassword);
  const setPassword = async (secret) => {
    try {
      await setDerivedPassword(client, passwordAuth(me, oldKeys.loginSecret), secret);
    } catch (e) {
      if (e.httpStatus !== 401 || !keptAsTyped(e)) throw e;
      await setDerivedPassword(client, passwordAuth(me, oldPassword), secret);  // never migrated
    }
  };
  const hadStorage = !!(await client.secretStorage.getDefaultKeyId());
  try {
    await rekeySecretStorage(client, oldKeys, newKeys, setPassword);
  } catch (e) {
    if (e.httpStatus === 401) e.context = "login";
    throw e;
  }
  if (!hadStorage) await ensureRecovery(client, await deriveKeys(localpart(me), newPassword));
}

// Recovery status for the UI and tests: "lotse-recovery" events on window.
function announce(detail) {
  globalThis.dispatchEvent?.(new CustomEvent("lotse-recovery", { detail }));
}

// The SDK's and its crypto module's debug and info lines, hundreds while a key backup is restored,
// took a sixth of the restore's time on a phone and nobody reads them there: only warnings and
// errors are written, unless localStorage "lotse.debug" is set. (Loggers the SDK makes later are
// children of its root logger and take its method factory.)
const verbose = !!globalThis.localStorage?.getItem("lotse.debug");
if (!verbose) {
  const factory = sdkLogger.methodFactory;
  sdkLogger.methodFactory = function (method, level, name) {
    return method === "warn" || method === "error" ? factory.call(this, method, level, name) : () => {};
  };
  sdkLogger.rebuild();
}
let cryptoTracing = null;  // kept: the crypto module's log level lives as long as this handle
async function quietCryptoLogs() {
  if (verbose || cryptoTracing) return;
  const wasm = await import("@matrix-org/matrix-sdk-crypto-wasm");
  try { cryptoTracing = new wasm.Tracing(wasm.LoggerLevel.Warn); } catch (e) { console.warn("crypto log level not set", e); }
}

// The crypto module (2 MB of WebAssembly) fetched and compiled while the seeker types on the login
// screen, so that after the click only the sync and the key backup remain; the client's own start
// (initRustCrypto) then finds it ready. Not on the registration screen: the directory that follows
// a registration needs no crypto, and on a slow network the download would delay it.
let warming = null;
export function warmCrypto() {
  warming ??= import("@matrix-org/matrix-sdk-crypto-wasm").then((m) => m.initAsync())
    .catch((e) => { warming = null; console.warn("the crypto module could not be prepared", e); });
  return warming;
}

export async function startClient(session, onChange) {
  const keys = pendingKeys?.userId === session.userId ? pendingKeys.keys : null;
  pendingKeys = null;
  const store = await syncStore(session.userId);
  const client = createClient({ baseUrl: BASE, ...session,
    cryptoCallbacks: { getSecretStorageKey: ({ keys: wanted }) => findSecretStorageKey(client, wanted) } }, store);
  if (store) keepSaved(client, store);
  await client.initRustCrypto();
  await quietCryptoLogs();
  // Consultation rooms have two or three members: no need to spread backup uploads over 10 s.
  const backupManager = client.getCrypto()?.backupManager?.constructor;
  if (typeof backupManager?.maxBackupLoopStartDelayMillis === "number") backupManager.maxBackupLoopStartDelayMillis = 1000;
  const ready = new Promise((resolve, reject) => {
    client.on(ClientEvent.Sync, (state) => { if (state === "PREPARED" || state === "SYNCING") resolve(); });
    // Token revoked elsewhere (M_UNKNOWN_TOKEN): the app offers a new login (err.client to clean up).
    client.once("Session.logged_out", (err) => reject(Object.assign(err, { client })));
  });
  for (const ev of [RoomEvent.Timeline, RoomEvent.Receipt, RoomMemberEvent.Typing, RoomEvent.MyMembership])
    client.on(ev, () => onChange());
  client.on(MatrixEventEvent.Decrypted, () => onChange());
  // No lazy loading of members: a consultation has three, so it buys nothing, and the stored sync
  // then holds each room's full membership (no separately stored member lists that could go stale).
  await client.startClient({ initialSyncLimit: 30, lazyLoadMembers: false });
  await ready;  // offline, PREPARED comes from the sync store
  if (keys) {
    const started = performance.now();
    announce({ state: "running" });
    ensureRecovery(client, keys)
      .then((r) => { announce({ state: "done", ms: Math.round(performance.now() - started), ...r }); onChange(); })
      .catch((e) => { console.warn("key recovery failed", e); announce({ state: "failed", error: String(e?.message ?? e) }); });
  }
  return client;
}

export async function lotseApi(session, method, path, body) {
  const res = await fetch(`${BASE}/_lotse/client/v1${path}`, {
    method, headers: { Authorization: `Bearer ${session.accessToken}`, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw Object.assign(new Error(json.error), { errcode: json.errcode, reason: json["de.lotse.reason"], httpStatus: res.status });
  return json;
}

// Logout that leaves nothing on a shared phone: server session, keys, local stores. Without a
// client (its crypto still loading) the session's token is logged out directly.
export async function logoutEverywhere(client, session) {
  if (client && !deleted.has(client)) try { await waitForBackup(client); } catch { /* no backup: nothing to wait for */ }
  try {
    if (client) await client.logout(true);
    else if (session) await fetch(`${BASE}/_matrix/client/v3/logout`, { method: "POST", headers: { Authorization: `Bearer ${session.accessToken}` } });
  } catch { /* offline: the local wipe still happens */ }
  try { client?.stopClient(); await client?.clearStores(); } catch { /* nothing stored yet */ }
  const lang = localStorage.getItem("lotse.lang");
  localStorage.clear();
  if (lang) localStorage.setItem("lotse.lang", lang);
  for (const db of (await indexedDB.databases?.()) ?? []) if (db.name) indexedDB.deleteDatabase(db.name);
}
