// Key recovery for seekers (README "Key backup opened by the password"): the password is stretched
// once with PBKDF2-SHA-512 into two independent 32-byte keys. The first, base64-encoded, is the
// Matrix login password (the server stores its argon2id hash); the second is the Secret Storage key
// (m.secret_storage.v1.aes-hmac-sha2) that holds the cross-signing private keys and the key-backup
// decryption key. The password itself and the Secret Storage key never leave the browser.
// No matrix-js-sdk import here: the client passed in does the work, and Node tests can import this.

export const KDF_ITERATIONS = 600_000;
export const KDF_SALT_PREFIX = "lotse.seeker-keys.v1:";
export const SECRET_STORAGE_ALGORITHM = "m.secret_storage.v1.aes-hmac-sha2";
const KEY_NAME = "Lotse (password)";
const SECRETS = ["m.cross_signing.master", "m.cross_signing.self_signing", "m.cross_signing.user_signing", "m.megolm_backup.v1"];

const VALID_LOCALPART = /^[a-z0-9._=\/+-]+$/;

// The localpart as the server names the account ("@name:server" typed in full is accepted too). A
// name that is not one already is mapped as the Matrix spec suggests (appendices, "Mapping from
// other character sets"): ASCII letters lower-cased, every other byte of its UTF-8 outside
// [a-z0-9._/+-] (and "=") as "=xx". So "Anna" signs in as "anna" and "Олена_77", imported from the
// old system, as "=d0=9e=d0=bb...". lotse-bridge maps old usernames the same way
// (bridge/decoders.cpp, localpart_for); a valid localpart stays as it is, so mapping twice is harmless.
export function localpart(name) {
  const n = name.trim();
  if (n.startsWith("@")) return n.slice(1).split(":")[0];
  if (VALID_LOCALPART.test(n)) return n;
  let out = "";
  for (const b of new TextEncoder().encode(n)) {
    const c = String.fromCharCode(b);
    if (b >= 0x41 && b <= 0x5a) out += c.toLowerCase();
    else if (/[a-z0-9._\/+-]/.test(c) && b < 0x80) out += c;
    else out += "=" + b.toString(16).padStart(2, "0");
  }
  return out;
}

export function base64Unpadded(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/=+$/, "");
}

// One PBKDF2 call of 512 bits (one SHA-512 block, so no extra cost), split in two halves: knowing
// one half (the server learns the login secret) tells nothing about the other.
export async function deriveKeys(name, password, iterations = KDF_ITERATIONS) {
  const subtle = globalThis.crypto.subtle;
  const enc = new TextEncoder();
  const base = await subtle.importKey("raw", enc.encode(password.normalize("NFC")), "PBKDF2", false, ["deriveBits"]);
  const salt = enc.encode(KDF_SALT_PREFIX + localpart(name));
  const bits = new Uint8Array(await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-512", salt, iterations }, base, 512));
  return { loginSecret: base64Unpadded(bits.subarray(0, 32)), secretStorageKey: bits.slice(32, 64) };
}

// Secret Storage keys the seeker's password(s) derived, in memory only while they are needed.
const keyring = [];
export function forgetKeys() {
  for (const k of keyring.splice(0)) k.fill(0);
}

// cryptoCallbacks.getSecretStorageKey: the first requested key (the default first) that one of the
// derived keys opens, checked against the key's MAC so a wrong password is not mistaken for a key.
export async function findSecretStorageKey(client, keys) {
  const defaultId = await client.secretStorage.getDefaultKeyId();
  const ids = Object.keys(keys).sort((a, b) => (b === defaultId) - (a === defaultId));
  for (const id of ids)
    for (const k of keyring) if (keys[id]?.mac && await client.secretStorage.checkKey(k, keys[id])) return [id, k];
  return null;
}

// UIA for uploading cross-signing keys: none for the first upload (MSC3967), else the login secret.
function passwordAuth(userId, loginSecret) {
  return async (makeRequest) => {
    try {
      return await makeRequest(null);
    } catch (e) {
      if (e.httpStatus !== 401 || !e.data?.flows) throw e;
      return makeRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: userId }, password: loginSecret, session: e.data.session });
    }
  };
}

async function opens(client, keyId, key) {
  const found = keyId && await client.secretStorage.getKey(keyId);
  return !!found?.[1]?.mac && client.secretStorage.checkKey(key, found[1]);
}

// After a login or registration with the derived keys, once the client has synced: sets up
// cross-signing, Secret Storage and the key backup on the first device; on any other device takes
// the cross-signing keys from Secret Storage (and signs itself), loads the backup key and restores
// every room key. Resolves with { created } or { total, imported }.
// The keys of what she sees first. matrix-js-sdk fetches the key of each undecryptable event by
// itself, but one request at a time in the order the events failed, oldest first: with 30 messages
// in view the newest came last. Here the sessions of the newest undecryptable events of every room
// (the most recently active rooms first, then round by round) are fetched a few at a time and
// imported as they arrive; the SDK then decrypts those events again. The full restore runs beside.
const NEWEST_PER_ROOM = 30;
const PARALLEL = 4;
export async function restoreNewestFirst(client) {
  const crypto = client.getCrypto();
  const [info, key] = await Promise.all([crypto.getKeyBackupInfo(), crypto.getSessionBackupPrivateKey()]);
  if (!info?.version || !key) return 0;
  const lastTs = (room) => room.getLastActiveTimestamp?.() ?? 0;
  const perRoom = client.getRooms().sort((a, b) => lastTs(b) - lastTs(a)).map((room) => {
    const sessions = [];
    for (const e of [...room.getLiveTimeline().getEvents()].reverse()) {
      const sid = e.isDecryptionFailure() ? e.getWireContent()?.session_id : null;
      if (sid && !sessions.includes(sid)) sessions.push(sid);
      if (sessions.length >= NEWEST_PER_ROOM) break;
    }
    return sessions.map((sid) => [room.roomId, sid]);
  });
  const wanted = [];
  for (let i = 0; perRoom.some((list) => i < list.length); i++) for (const list of perRoom) if (list[i]) wanted.push(list[i]);
  if (!wanted.length) return 0;
  const decryptor = await crypto.getBackupDecryptor(info, key);
  let imported = 0;
  try {
    const fetchOne = async ([roomId, sid]) => {
      let data;
      try {
        data = await client.http.authedRequest("GET", `/room_keys/keys/${encodeURIComponent(roomId)}/${encodeURIComponent(sid)}`,
          { version: info.version }, undefined, { prefix: "/_matrix/client/v3" });
      } catch {
        return;  // not in the backup (yet): the SDK's own download and the full restore remain
      }
      const keys = await decryptor.decryptSessions({ [sid]: data });
      for (const k of keys) k.room_id = roomId;
      await crypto.importBackedUpRoomKeys(keys, info.version);
      imported += keys.length;
    };
    const queue = [...wanted];
    await Promise.all(Array.from({ length: PARALLEL }, async () => { while (queue.length) await fetchOne(queue.shift()); }));
  } finally {
    decryptor.free();
  }
  return imported;
}

export async function ensureRecovery(client, keys, { onProgress } = {}) {
  const crypto = client.getCrypto();
  const ss = client.secretStorage;
  const me = client.getUserId();
  keyring.push(keys.secretStorageKey);
  try {
    const auth = passwordAuth(me, keys.loginSecret);
    // An up-to-date view of our own identity, before cross-signing is set up or imported.
    const ownIdentity = crypto.userHasCrossSigningKeys(me, true);
    let defaultId = await ss.getDefaultKeyId();
    if (!defaultId) {
      // First device of a new (or just migrated) account.
      await ownIdentity;
      await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: auth });
      await crypto.bootstrapSecretStorage({
        createSecretStorageKey: async () => ({ privateKey: keys.secretStorageKey.slice(), keyInfo: { name: KEY_NAME } }),
        setupNewKeyBackup: true,
      });
      return { created: true };
    }
    if (!(await opens(client, defaultId, keys.secretStorageKey))) {
      // A password change that stopped after the server took the new password: the secrets are
      // stored under both keys; finish it by making ours the only one.
      const stored = (await ss.isStored("m.cross_signing.master")) ?? {};
      const ours = (await Promise.all(Object.keys(stored).map(async (id) => (await opens(client, id, keys.secretStorageKey)) && id))).find(Boolean);
      if (!ours) throw new Error("Secret storage is locked with a key this password does not derive");
      await restoreUnder(client, [ours]);
      await ss.setDefaultKeyId(ours);
      defaultId = ours;
    }
    // Cross-signing (import the keys, sign this device) and the key backup side by side: with the
    // backup key loaded and the backup enabled, the keys of what she opens first are fetched on
    // demand (matrix-js-sdk's per-session backup download) while the full restore still runs.
    const crossSigning = ownIdentity.then(() => crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: auth }));
    const backup = (async () => {
      if (!(await ss.isStored("m.megolm_backup.v1"))) return null;
      try {
        await crypto.loadSessionBackupPrivateKeyFromSecretStorage();
      } catch (e) {
        if (await crypto.getKeyBackupInfo()) throw e;
        return "reset";  // the backup was deleted: a new one, once cross-signing is done
      }
      await crypto.checkKeyBackupAndEnable();
      const newest = restoreNewestFirst(client).catch((e) => { console.warn("fetching the newest keys failed", e); return 0; });
      const all = await crypto.restoreKeyBackup({ progressCallback: onProgress });
      // A key imported first here is no longer new to the full restore: counted once, here.
      return { ...all, imported: Math.min(all.total, all.imported + (await newest)) };
    })();
    const settled = await Promise.allSettled([crossSigning, backup]);  // both finish before any error counts
    for (const r of settled) if (r.status === "rejected") throw r.reason;
    const result = settled[1].value;
    if (result === null) {
      await crypto.bootstrapSecretStorage({ setupNewKeyBackup: true });
      return { created: true };
    }
    if (result === "reset") {
      await crypto.resetKeyBackup();
      return { created: true };
    }
    return { total: result.total, imported: result.imported };
  } finally {
    forgetKeys();
  }
}

async function readSecrets(client) {
  const out = {};
  for (const name of SECRETS) if (await client.secretStorage.isStored(name)) out[name] = await client.secretStorage.get(name);
  return out;
}

async function restoreUnder(client, keyIds, secrets) {
  secrets ??= await readSecrets(client);
  for (const [name, value] of Object.entries(secrets)) if (value) await client.secretStorage.store(name, value, keyIds);
}

// Password change keeping the history: the secrets are re-encrypted under the key the new password
// derives. Order so that a break at any point leaves a password that opens everything: (1) store
// the secrets under both keys, (2) change the Matrix password (UIA with the old login secret, other
// devices stay), (3) store them under the new key only and make it the default.
// `setPassword(auth, newLoginSecret)` is the caller's server call (with its legacy fallback).
export async function rekeySecretStorage(client, oldKeys, newKeys, setPassword) {
  const ss = client.secretStorage;
  keyring.push(oldKeys.secretStorageKey, newKeys.secretStorageKey);
  try {
    const defaultId = await ss.getDefaultKeyId();
    if (defaultId && !(await opens(client, defaultId, oldKeys.secretStorageKey)))
      throw Object.assign(new Error("The current password is wrong"), { httpStatus: 401, errcode: "M_FORBIDDEN", context: "login" });
    if (!defaultId) return setPassword(newKeys.loginSecret);
    const secrets = await readSecrets(client);
    const { keyId } = await ss.addKey(SECRET_STORAGE_ALGORITHM, { name: KEY_NAME, key: newKeys.secretStorageKey.slice() });
    await restoreUnder(client, [defaultId, keyId], secrets);
    await setPassword(newKeys.loginSecret);
    await restoreUnder(client, [keyId], secrets);
    await ss.setDefaultKeyId(keyId);
  } finally {
    forgetKeys();
  }
}

// Before a logout wipes the device: wait (bounded) until the backup holds every room key.
export async function waitForBackup(client, timeoutMs = 20000) {
  const crypto = client?.getCrypto?.();
  const machine = crypto?.olmMachine;  // matrix-js-sdk 43 RustCrypto internals, guarded
  if (!machine?.roomKeyCounts || !(await crypto.getActiveSessionBackupVersion())) return;
  crypto.backupManager?.maybeUploadKey?.();
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const c = await machine.roomKeyCounts();
    if (c.backedUp >= c.total) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}
