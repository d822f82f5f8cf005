// Key endpoints with hand-made keys (Node's ed25519): signature checks, one-time key claims that
// never hand out a key twice, fallback keys, to-device delivery and acknowledgement, device lists.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, register, api, loginDevice } from "./harness.mjs";
import { unpadded, keyPair, signObject, deviceKeys, otks } from "./signed_keys.mjs";

const enc = encodeURIComponent;
let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); server.cleanup(); });

const upload = (s, body) => api(server, "POST", "/_matrix/client/v3/keys/upload", { token: s.accessToken, body });
const query = (s, users) => api(server, "POST", "/_matrix/client/v3/keys/query", { token: s.accessToken, body: { device_keys: Object.fromEntries(users.map((u) => [u, []])) } });

test("bad device keys are refused with clear errors and change nothing", async () => {
  const alice = await register(server), bob = await register(server);
  const kp = keyPair();
  const good = deviceKeys(alice, kp);
  const tampered = { ...good, algorithms: ["m.megolm.v1.aes-sha2"] };
  let res = await upload(alice, { device_keys: tampered });
  assert.equal(res.status, 400);
  assert.equal(res.body.errcode, "M_INVALID_PARAM");
  res = await upload(alice, { device_keys: deviceKeys(bob, keyPair()) });
  assert.equal(res.body.errcode, "M_INVALID_PARAM", "keys for another user's device");
  res = await upload(alice, { device_keys: { user_id: alice.userId, device_id: alice.deviceId } });
  assert.equal(res.status, 400);
  res = await upload(alice, { device_keys: "nope" });
  assert.equal(res.body.errcode, "M_BAD_JSON");
  res = await upload(alice, { one_time_keys: otks(alice, kp, 1) });
  assert.equal(res.status, 400, "signed one-time keys need device keys first");
  assert.deepEqual((await query(bob, [alice.userId])).body.device_keys[alice.userId], {}, "nothing stored");

  res = await upload(alice, { device_keys: good, one_time_keys: otks(alice, kp, 3) });
  assert.equal(res.status, 200);
  assert.equal(res.body.one_time_key_counts.signed_curve25519, 3);
  const wrongSig = otks(alice, keyPair(), 1, "B");
  res = await upload(alice, { one_time_keys: wrongSig });
  assert.equal(res.body.errcode, "M_INVALID_PARAM");
  const dup = otks(alice, kp, 1);
  dup["signed_curve25519:A0"] = signObject({ key: unpadded(Buffer.alloc(32, 99)) }, alice.userId, `ed25519:${alice.deviceId}`, kp.privateKey);
  res = await upload(alice, { one_time_keys: dup });
  assert.equal(res.body.errcode, "M_INVALID_PARAM", "a different key under an existing id");
  res = await upload(alice, {});
  assert.equal(res.body.one_time_key_counts.signed_curve25519, 3, "still three keys");

  const q = await query(bob, [alice.userId]);
  const dev = q.body.device_keys[alice.userId][alice.deviceId];
  assert.equal(dev.keys[`ed25519:${alice.deviceId}`], kp.pub);
  assert.deepEqual(dev.signatures, good.signatures);
});

test("each one-time key is claimed once, even concurrently; then the fallback key", async () => {
  const alice = await register(server), bob = await register(server);
  const kp = keyPair();
  const fallback = { "signed_curve25519:F1": signObject({ key: unpadded(Buffer.alloc(32, 42)), fallback: true }, alice.userId, `ed25519:${alice.deviceId}`, kp.privateKey) };
  await upload(alice, { device_keys: deviceKeys(alice, kp), one_time_keys: otks(alice, kp, 20), fallback_keys: fallback });
  let s = await api(server, "GET", "/_matrix/client/v3/sync", { token: alice.accessToken });
  assert.equal(s.body.device_one_time_keys_count.signed_curve25519, 20);
  assert.deepEqual(s.body.device_unused_fallback_key_types, ["signed_curve25519"]);

  const claim = () => api(server, "POST", "/_matrix/client/v3/keys/claim", { token: bob.accessToken, body: { one_time_keys: { [alice.userId]: { [alice.deviceId]: "signed_curve25519" } } } });
  const results = await Promise.all(Array.from({ length: 20 }, claim));
  const ids = results.map((r) => Object.keys(r.body.one_time_keys[alice.userId][alice.deviceId])[0]);
  assert.equal(new Set(ids).size, 20, "no key handed out twice");
  const fb = await claim();
  assert.deepEqual(Object.keys(fb.body.one_time_keys[alice.userId][alice.deviceId]), ["signed_curve25519:F1"]);
  assert.equal(fb.body.one_time_keys[alice.userId][alice.deviceId]["signed_curve25519:F1"].fallback, true);
  s = await api(server, "GET", "/_matrix/client/v3/sync", { token: alice.accessToken });
  assert.equal(s.body.device_one_time_keys_count.signed_curve25519, 0);
  assert.deepEqual(s.body.device_unused_fallback_key_types, [], "the fallback key is now used");
  const none = await api(server, "POST", "/_matrix/client/v3/keys/claim", { token: bob.accessToken, body: { one_time_keys: { "@nobody:localhost": { X: "signed_curve25519" } } } });
  assert.deepEqual(none.body.one_time_keys, {});
});

test("to-device messages: in order, idempotent, deleted after acknowledgement, gone with the device", async () => {
  const alice = await register(server), bob = await register(server);
  const bob2 = await loginDevice(server, bob.username, bob.password);
  let b = await api(server, "GET", "/_matrix/client/v3/sync", { token: bob.accessToken });
  const send = (txn, n) => api(server, "PUT", `/_matrix/client/v3/sendToDevice/m.test/${txn}`, { token: alice.accessToken, body: { messages: { [bob.userId]: { "*": { n } } } } });
  await send("t1", 1);
  await send("t2", 2);
  await send("t2", 2);  // retry: stored once
  const r1 = await api(server, "GET", `/_matrix/client/v3/sync?since=${b.body.next_batch}`, { token: bob.accessToken });
  assert.deepEqual(r1.body.to_device.events.map((e) => [e.sender, e.type, e.content.n]), [[alice.userId, "m.test", 1], [alice.userId, "m.test", 2]]);
  // Not acknowledged yet: the same token gets the same messages again.
  const again = await api(server, "GET", `/_matrix/client/v3/sync?since=${b.body.next_batch}`, { token: bob.accessToken });
  assert.equal(again.body.to_device.events.length, 2);
  // Syncing with the newer token acknowledges them.
  const r2 = await api(server, "GET", `/_matrix/client/v3/sync?since=${r1.body.next_batch}&timeout=0`, { token: bob.accessToken });
  assert.equal(r2.body.to_device.events.length, 0);
  const old = await api(server, "GET", `/_matrix/client/v3/sync?since=${b.body.next_batch}`, { token: bob.accessToken });
  assert.equal(old.body.to_device.events.length, 0, "deleted after acknowledgement");

  // The other device got its own copies; deleting it drops its queue.
  const d2 = await api(server, "GET", "/_matrix/client/v3/sync", { token: bob2.accessToken });
  assert.equal(d2.body.to_device.events.length, 2);
  await api(server, "PUT", `/_matrix/client/v3/sendToDevice/m.test/t3`, { token: alice.accessToken, body: { messages: { [bob.userId]: { [bob2.deviceId]: { n: 3 } } } } });
  const del = await api(server, "POST", "/_matrix/client/v3/delete_devices", { token: bob.accessToken,
    body: { devices: [bob2.deviceId], auth: { type: "m.login.password", identifier: { type: "m.id.user", user: bob.userId }, password: bob.password } } });
  assert.equal(del.status, 200);
  const fresh = await loginDevice(server, bob.username, bob.password);
  const d3 = await api(server, "GET", "/_matrix/client/v3/sync", { token: fresh.accessToken });
  assert.equal(d3.body.to_device.events.length, 0);
});

test("device lists: key changes and newly shared rooms reach sync and /keys/changes", async () => {
  const alice = await register(server), bob = await register(server);
  const first = await api(server, "GET", "/_matrix/client/v3/sync", { token: alice.accessToken });
  const { body: { room_id: roomId } } = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { invite: [bob.userId] } });
  await api(server, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} });
  const s1 = await api(server, "GET", `/_matrix/client/v3/sync?since=${first.body.next_batch}`, { token: alice.accessToken });
  assert.ok(s1.body.device_lists.changed.includes(bob.userId), "bob now shares a room");
  await upload(bob, { device_keys: deviceKeys(bob, keyPair()) });
  const s2 = await api(server, "GET", `/_matrix/client/v3/sync?since=${s1.body.next_batch}&timeout=5000`, { token: alice.accessToken });
  assert.deepEqual(s2.body.device_lists.changed, [bob.userId]);
  const changes = await api(server, "GET", `/_matrix/client/v3/keys/changes?from=${s1.body.next_batch}&to=${s2.body.next_batch}`, { token: alice.accessToken });
  assert.deepEqual(changes.body.changed, [bob.userId]);
  await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { token: bob.accessToken, body: {} });
  const s3 = await api(server, "GET", `/_matrix/client/v3/sync?since=${s2.body.next_batch}`, { token: alice.accessToken });
  assert.deepEqual(s3.body.device_lists.left, [bob.userId]);
});

test("cross-signing keys and signatures are checked", async () => {
  const alice = await register(server), bob = await register(server);
  const dk = keyPair();
  await upload(alice, { device_keys: deviceKeys(alice, dk) });
  const master = keyPair(), ssk = keyPair(), usk = keyPair();
  const masterKey = { user_id: alice.userId, usage: ["master"], keys: { [`ed25519:${master.pub}`]: master.pub } };
  const sskKey = signObject({ user_id: alice.userId, usage: ["self_signing"], keys: { [`ed25519:${ssk.pub}`]: ssk.pub } }, alice.userId, `ed25519:${master.pub}`, master.privateKey);
  const badUsk = signObject({ user_id: alice.userId, usage: ["user_signing"], keys: { [`ed25519:${usk.pub}`]: usk.pub } }, alice.userId, `ed25519:${ssk.pub}`, ssk.privateKey);
  const up = (body) => api(server, "POST", "/_matrix/client/v3/keys/device_signing/upload", { token: alice.accessToken, body });
  let res = await up({ master_key: masterKey, self_signing_key: sskKey, user_signing_key: badUsk });
  assert.equal(res.body.errcode, "M_INVALID_PARAM", "user-signing key not signed by the master key");
  res = await up({ master_key: { ...masterKey, usage: ["self_signing"] } });
  assert.equal(res.body.errcode, "M_INVALID_PARAM");
  const usk2 = signObject({ user_id: alice.userId, usage: ["user_signing"], keys: { [`ed25519:${usk.pub}`]: usk.pub } }, alice.userId, `ed25519:${master.pub}`, master.privateKey);
  res = await up({ master_key: masterKey, self_signing_key: sskKey, user_signing_key: usk2 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal((await up({ master_key: masterKey, self_signing_key: sskKey, user_signing_key: usk2 })).status, 200, "identical re-upload needs no password");
  // The same endpoint under its MSC1756 name, with the same checks.
  const unstable = (body) => api(server, "POST", "/_matrix/client/unstable/keys/device_signing/upload", { token: alice.accessToken, body });
  assert.equal((await unstable({ master_key: masterKey, self_signing_key: sskKey, user_signing_key: usk2 })).status, 200);
  assert.equal((await unstable({ master_key: masterKey, self_signing_key: sskKey, user_signing_key: badUsk })).body.errcode, "M_INVALID_PARAM");
  assert.equal((await api(server, "POST", "/_matrix/client/unstable/keys/device_signing/upload", { body: {} })).status, 401, "needs a token");
  const other = keyPair();
  res = await up({ master_key: { ...masterKey, keys: { [`ed25519:${other.pub}`]: other.pub } } });
  assert.equal(res.status, 401, "replacing needs user-interactive auth");

  // Sign the device with the self-signing key: accepted. A signature by a random key: refused.
  const stored = (await query(alice, [alice.userId])).body.device_keys[alice.userId][alice.deviceId];
  const { unsigned, ...deviceObj } = stored;
  const signedDevice = signObject(deviceObj, alice.userId, `ed25519:${ssk.pub}`, ssk.privateKey);
  const forged = signObject(deviceObj, alice.userId, `ed25519:${ssk.pub}`, keyPair().privateKey);
  res = await api(server, "POST", "/_matrix/client/v3/keys/signatures/upload", { token: alice.accessToken, body: { [alice.userId]: { [alice.deviceId]: forged } } });
  assert.equal(res.body.failures[alice.userId][alice.deviceId].errcode, "M_INVALID_SIGNATURE");
  res = await api(server, "POST", "/_matrix/client/v3/keys/signatures/upload", { token: alice.accessToken, body: { [alice.userId]: { [alice.deviceId]: signedDevice } } });
  assert.deepEqual(res.body.failures, {});
  const after = (await query(bob, [alice.userId])).body;
  assert.ok(after.device_keys[alice.userId][alice.deviceId].signatures[alice.userId][`ed25519:${ssk.pub}`]);
  assert.ok(after.master_keys[alice.userId] && after.self_signing_keys[alice.userId]);
  assert.equal(after.user_signing_keys[alice.userId], undefined, "user-signing keys only for their owner");
  res = await api(server, "POST", "/_matrix/client/v3/keys/signatures/upload", { token: alice.accessToken, body: { [bob.userId]: { NOPE: {} } } });
  assert.equal(res.body.failures[bob.userId].NOPE.errcode, "M_NOT_FOUND");
});

test("key backup: versions, three granularities, etag and count, the better copy wins", async () => {
  const alice = await register(server);
  const call = (method, path, body) => api(server, method, `/_matrix/client/v3/room_keys${path}`, { token: alice.accessToken, body });
  assert.equal((await call("GET", "/version")).body.errcode, "M_NOT_FOUND");
  const v1 = (await call("POST", "/version", { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: { public_key: "abc" } })).body.version;
  const v2 = (await call("POST", "/version", { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: { public_key: "def" } })).body.version;
  assert.equal((await call("GET", "/version")).body.version, v2);
  const data = (fmi, fwd, verified, tag) => ({ first_message_index: fmi, forwarded_count: fwd, is_verified: verified, session_data: { ciphertext: tag } });
  const room = "!r:localhost";
  let res = await call("PUT", `/keys/${enc(room)}/s1?version=${v1}`, data(5, 0, false, "a"));
  assert.equal(res.body.errcode, "M_WRONG_ROOM_KEYS_VERSION");
  assert.equal(res.body.current_version, v2);
  res = await call("PUT", `/keys/${enc(room)}/s1?version=${v2}`, data(5, 0, false, "a"));
  assert.equal(res.body.count, 1);
  const etag1 = res.body.etag;
  res = await call("PUT", `/keys/${enc(room)}?version=${v2}`, { sessions: { s1: data(10, 0, false, "worse"), s2: data(0, 0, false, "b") } });
  assert.equal(res.body.count, 2);
  assert.notEqual(res.body.etag, etag1);
  assert.equal((await call("GET", `/keys/${enc(room)}/s1?version=${v2}`)).body.session_data.ciphertext, "a", "higher index does not replace");
  await call("PUT", `/keys?version=${v2}`, { rooms: { [room]: { sessions: { s1: data(2, 0, false, "better") } } } });
  assert.equal((await call("GET", `/keys/${enc(room)}/s1?version=${v2}`)).body.session_data.ciphertext, "better");
  await call("PUT", `/keys/${enc(room)}/s1?version=${v2}`, data(9, 3, true, "verified"));
  assert.equal((await call("GET", `/keys/${enc(room)}/s1?version=${v2}`)).body.session_data.ciphertext, "verified", "verified beats unverified");
  const all = (await call("GET", `/keys?version=${v2}`)).body;
  assert.deepEqual(Object.keys(all.rooms[room].sessions).sort(), ["s1", "s2"]);
  assert.deepEqual(Object.keys((await call("GET", `/keys/${enc(room)}?version=${v2}`)).body.sessions).sort(), ["s1", "s2"]);
  assert.equal((await call("GET", `/keys/${enc(room)}/nope?version=${v2}`)).status, 404);
  res = await call("DELETE", `/keys/${enc(room)}/s2?version=${v2}`);
  assert.equal(res.body.count, 1);
  assert.equal((await call("GET", "/version")).body.count, 1);
  assert.equal((await call("PUT", `/version/${v2}`, { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: { public_key: "ghi" } })).status, 200);
  assert.deepEqual((await call("GET", `/version/${v2}`)).body.auth_data, { public_key: "ghi" });
  assert.equal((await call("DELETE", `/version/${v2}`)).status, 200);
  assert.equal((await call("GET", "/version")).body.version, v1);
  assert.equal((await call("GET", `/version/${v2}`)).status, 404);
});
