// Who may reach whom, tried as an attacker would: a second seeker, a counselor without a
// consultation with the seeker, invited-but-not-joined members. Seekers reach only themselves and
// the people they share a room with (join or invite); counselors reach seekers only through a
// shared room; staff reach staff freely. And the legitimate consultation flow still works.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, register, registerSeeker, api, loginDevice, startCryptoClient, decryptedBody, waitFor } from "./harness.mjs";
import { unpadded, keyPair, signObject, deviceKeys, otks } from "./signed_keys.mjs";

const enc = encodeURIComponent;
let server;
// seeker: has a consultation with `counselor`, who is invited but has not joined.
// other: a second seeker with her own consultation with `otherCounselor`.
// stranger: a counselor sharing no room with either seeker.
let seeker, other, counselor, otherCounselor, stranger, roomId, otherRoomId;

before(async () => {
  server = await startServer();
  counselor = await register(server);
  otherCounselor = await register(server);
  stranger = await register(server);
  seeker = await registerSeeker(server);
  other = await registerSeeker(server);
  roomId = await openConsultation(seeker, counselor);
  otherRoomId = await openConsultation(other, otherCounselor);
});
after(async () => { await server.stop(); server.cleanup(); });

async function openConsultation(s, c) {
  const res = await api(server, "POST", "/_lotse/client/v1/consultations", { token: s.accessToken, body: { counselor: c.userId, topic: "aufenthalt" } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.room_id;
}

const expectForbidden = (res, what) => {
  assert.equal(res.status, 403, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.body.errcode, "M_FORBIDDEN", what);
  assert.ok(res.body.error.length > 10, "a message a person can act on");
};

// Hand-made keys (Node's ed25519), as in keys.test.mjs.
const upload = (s, body) => api(server, "POST", "/_matrix/client/v3/keys/upload", { token: s.accessToken, body });
const query = (s, users) => api(server, "POST", "/_matrix/client/v3/keys/query", { token: s.accessToken, body: { device_keys: Object.fromEntries(users.map((u) => [u, []])) } });
const claim = (s, target) => api(server, "POST", "/_matrix/client/v3/keys/claim", { token: s.accessToken, body: { one_time_keys: { [target.userId]: { [target.deviceId]: "signed_curve25519" } } } });
const sync = (s, since) => api(server, "GET", `/_matrix/client/v3/sync?timeout=0${since ? `&since=${since}` : ""}`, { token: s.accessToken });

// Device keys with one-time keys and a fallback key, and a recognisable device name.
async function publishKeys(s, deviceName, n = 3) {
  const kp = keyPair();
  const fallback = { "signed_curve25519:FB": signObject({ key: unpadded(Buffer.alloc(32, 9)), fallback: true }, s.userId, `ed25519:${s.deviceId}`, kp.privateKey) };
  const res = await upload(s, { device_keys: deviceKeys(s, kp), one_time_keys: otks(s, kp, n, "K"), fallback_keys: fallback });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal((await api(server, "PUT", `/_matrix/client/v3/devices/${enc(s.deviceId)}`, { token: s.accessToken, body: { display_name: deviceName } })).status, 200);
  return kp;
}
const otkCount = async (s) => (await upload(s, {})).body.one_time_key_counts.signed_curve25519 ?? 0;

// Cross-signing keys (master, self-signing, user-signing) for a user; the first upload needs no password.
async function crossSigning(s) {
  const master = keyPair(), ssk = keyPair(), usk = keyPair();
  const masterKey = { user_id: s.userId, usage: ["master"], keys: { [`ed25519:${master.pub}`]: master.pub } };
  const byMaster = (o) => signObject(o, s.userId, `ed25519:${master.pub}`, master.privateKey);
  const res = await api(server, "POST", "/_matrix/client/v3/keys/device_signing/upload", { token: s.accessToken, body: {
    master_key: masterKey,
    self_signing_key: byMaster({ user_id: s.userId, usage: ["self_signing"], keys: { [`ed25519:${ssk.pub}`]: ssk.pub } }),
    user_signing_key: byMaster({ user_id: s.userId, usage: ["user_signing"], keys: { [`ed25519:${usk.pub}`]: usk.pub } }),
  } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { master, usk, masterKey };
}
// `signer` signs `target`'s master key with the user-signing key.
const signMaster = (signer, signerCs, target, targetCs) => api(server, "POST", "/_matrix/client/v3/keys/signatures/upload", {
  token: signer.accessToken,
  body: { [target.userId]: { [targetCs.master.pub]: signObject(targetCs.masterKey, signer.userId, `ed25519:${signerCs.usk.pub}`, signerCs.usk.privateKey) } },
});

let seekerKeysPublished = false;
async function seekerKeys() {
  if (!seekerKeysPublished) {
    await publishKeys(seeker, "Fatimas Handy", 4);
    await publishKeys(counselor, "Büro-PC", 4);
    await publishKeys(stranger, "Stranger-PC", 4);
    seekerKeysPublished = true;
  }
}

test("keys/query: a second seeker and an unrelated counselor learn nothing of a seeker's devices", async () => {
  await seekerKeys();
  for (const [who, name] of [[other, "another seeker"], [stranger, "a counselor without a consultation with her"], [otherCounselor, "another seeker's counselor"]]) {
    const res = await query(who, [seeker.userId, "@nobody-here:localhost"]);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.device_keys, {}, `${name}: left out like an unknown user`);
    assert.deepEqual(res.body.failures, {}, `${name}: no failure either`);
    assert.ok(!JSON.stringify(res.body).includes("Fatimas Handy"), `${name}: no device name`);
  }
  // A seeker cannot look at staff she shares no room with either.
  assert.deepEqual((await query(seeker, [stranger.userId])).body.device_keys, {}, "seeker -> unrelated counselor");
});

test("keys/query: the seeker, her invited (not yet joined) counselor and staff among themselves still see keys", async () => {
  await seekerKeys();
  const byCounselor = await query(counselor, [seeker.userId]);
  const dev = byCounselor.body.device_keys[seeker.userId]?.[seeker.deviceId];
  assert.ok(dev, `the invited counselor sees the seeker's device: ${JSON.stringify(byCounselor.body)}`);
  assert.equal(dev.unsigned.device_display_name, "Fatimas Handy");
  assert.ok((await query(seeker, [counselor.userId])).body.device_keys[counselor.userId][counselor.deviceId], "seeker -> her counselor");
  assert.ok((await query(seeker, [seeker.userId])).body.device_keys[seeker.userId][seeker.deviceId], "seeker -> herself");
  assert.ok((await query(stranger, [counselor.userId])).body.device_keys[counselor.userId][counselor.deviceId], "staff -> staff");
});

test("keys/claim: strangers cannot drain a seeker's one-time keys; her counselor can claim one", async () => {
  await seekerKeys();
  const before = await otkCount(seeker);
  for (const who of [other, stranger, otherCounselor]) {
    for (let i = 0; i < 3; i++) {
      const res = await claim(who, seeker);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.one_time_keys, {}, "no key handed out");
      assert.deepEqual(res.body.failures, {});
    }
  }
  assert.equal(await otkCount(seeker), before, "all one-time keys still there");
  const strangerBefore = await otkCount(stranger);
  assert.deepEqual((await claim(seeker, stranger)).body.one_time_keys, {}, "a seeker cannot claim keys of unrelated staff");
  assert.equal(await otkCount(stranger), strangerBefore);

  const legit = await claim(counselor, seeker);
  assert.equal(Object.keys(legit.body.one_time_keys[seeker.userId][seeker.deviceId]).length, 1, "the invited counselor claims a key");
  assert.equal(await otkCount(seeker), before - 1);
  assert.equal(Object.keys((await claim(seeker, counselor)).body.one_time_keys[counselor.userId][counselor.deviceId]).length, 1, "seeker -> her counselor");
});

test("sendToDevice: messages from and to people without a shared room are dropped silently", async () => {
  const tag = `probe-${Date.now()}`;
  const send = (from, to, txn, device = "*") => api(server, "PUT", `/_matrix/client/v3/sendToDevice/m.test/${txn}`,
    { token: from.accessToken, body: { messages: { [to.userId]: { [device]: { tag, from: from.userId } } } } });
  const seeker2 = await loginDevice(server, seeker.username, seeker.password, "Tablet");
  // Drain what is pending, then send.
  const s0 = await sync(seeker), c0 = await sync(counselor), st0 = await sync(stranger);
  for (const [from, to, txn] of [[other, seeker, "a1"], [stranger, seeker, "a2"], [otherCounselor, seeker, "a3"], [seeker, stranger, "a4"], [seeker, other, "a5"]]) {
    const res = await send(from, to, `${txn}-${tag}`);
    assert.equal(res.status, 200, "the call succeeds (the spec defines no error)");
    assert.deepEqual(res.body, {});
  }
  assert.equal((await send(other, seeker, `a6-${tag}`, seeker.deviceId)).status, 200, "also when naming the device");
  // Legitimate: counselor <-> seeker, and the seeker's own other device.
  await send(counselor, seeker, `b1-${tag}`);
  await send(seeker, counselor, `b2-${tag}`);
  await send(seeker2, seeker, `b3-${tag}`, seeker.deviceId);

  const got = (s) => s.body.to_device.events.filter((e) => e.content.tag === tag).map((e) => e.sender).sort();
  assert.deepEqual(got(await sync(seeker, s0.body.next_batch)), [counselor.userId, seeker.userId].sort(), "only her counselor and herself");
  assert.deepEqual(got(await sync(counselor, c0.body.next_batch)), [seeker.userId]);
  assert.deepEqual(got(await sync(stranger, st0.body.next_batch)), [], "nothing from the seeker to unrelated staff");
  assert.deepEqual(got(await sync(other)), [], "nothing reaches the second seeker");
});

test("keys/signatures/upload: nobody signs keys of people they share no room with; others' signatures stay private", async () => {
  const s = await registerSeeker(server), s2 = await registerSeeker(server), c = await register(server);
  const room = await openConsultation(s, c);
  const room2 = await openConsultation(s2, c);
  assert.ok(room && room2);
  const [sCs, s2Cs, cCs, otherCs] = [await crossSigning(s), await crossSigning(s2), await crossSigning(c), await crossSigning(other)];
  // Another seeker signs s's master key (she knows it from elsewhere): refused as unknown.
  let res = await signMaster(other, otherCs, s, sCs);
  assert.equal(res.body.failures?.[s.userId]?.[sCs.master.pub]?.errcode, "M_NOT_FOUND", JSON.stringify(res.body));
  res = await signMaster(stranger, await crossSigning(stranger), s, sCs);
  assert.equal(res.body.failures?.[s.userId]?.[sCs.master.pub]?.errcode, "M_NOT_FOUND", "an unrelated counselor");

  // Both seekers verify their counselor: accepted.
  assert.deepEqual((await signMaster(s, sCs, c, cCs)).body.failures, {});
  assert.deepEqual((await signMaster(s2, s2Cs, c, cCs)).body.failures, {});
  // s2 queries the counselor: she sees her own signature, never s's (that would name another seeker).
  const seenByS2 = (await query(s2, [c.userId])).body;
  const sigs = seenByS2.master_keys[c.userId].signatures;
  assert.ok(sigs[s2.userId], "her own signature");
  assert.equal(sigs[s.userId], undefined, `another seeker's signature is hidden: ${JSON.stringify(sigs)}`);
  assert.ok(!JSON.stringify(seenByS2).includes(s.userId), "s is not named anywhere");
  // The counselor (owner) does not see who verified her either; s sees her own.
  assert.deepEqual(Object.keys((await query(c, [c.userId])).body.master_keys[c.userId].signatures ?? {}), [], "the owner's view");
  assert.ok((await query(s, [c.userId])).body.master_keys[c.userId].signatures[s.userId]);
});

test("profiles: seekers see counselors and themselves, never other seekers or unrelated admins; counselors see seekers only through a shared room", async () => {
  const get = (viewer, target, suffix = "") => api(server, "GET", `/_matrix/client/v3/profile/${enc(target)}${suffix}`, { token: viewer.accessToken });
  for (const suffix of ["", "/displayname"]) {
    expectForbidden(await get(other, seeker.userId, suffix), `another seeker${suffix}`);
    expectForbidden(await get(stranger, seeker.userId, suffix), `an unrelated counselor${suffix}`);
    expectForbidden(await get(otherCounselor, seeker.userId, suffix), `another seeker's counselor${suffix}`);
  }
  expectForbidden(await get(other, "@nobody-here:localhost"), "unknown users look like hidden ones");
  expectForbidden(await get(other, server.admin.userId), "an administrator she shares no room with");
  assert.equal((await get(counselor, seeker.userId)).status, 200, "her invited counselor");
  assert.equal((await get(seeker, seeker.userId)).status, 200, "herself");
  assert.equal((await get(seeker, stranger.userId)).status, 200, "any counselor (they are in the public directory)");
  assert.equal((await get(stranger, counselor.userId)).status, 200, "staff -> staff");
});

test("user directory: counselors find only the seekers they share a room with; seekers only their counselors", async () => {
  const search = async (viewer, term) => (await api(server, "POST", "/_matrix/client/v3/user_directory/search", { token: viewer.accessToken, body: { search_term: term, limit: 50 } })).body.results.map((r) => r.user_id);
  assert.deepEqual(await search(stranger, seeker.username), [], "an unrelated counselor does not find her");
  assert.deepEqual(await search(otherCounselor, "seeker"), [other.userId], "a counselor lists only the seekers of her consultations");
  assert.deepEqual(await search(counselor, seeker.username), [seeker.userId], "her (invited) counselor finds her");
  assert.deepEqual(await search(other, ""), [otherCounselor.userId], "a seeker finds only her counselor, not the service user or seekers");
});

test("createRoom cannot invite a seeker (invite, is_direct, trusted_private_chat), and she sees nothing of it", async () => {
  const s0 = await sync(seeker);
  for (const body of [
    { name: "Nur für Dich", invite: [seeker.userId] },
    { name: "Direkt", invite: [seeker.userId], is_direct: true, preset: "trusted_private_chat" },
    { name: "Mit Kollegin", invite: [stranger.userId, seeker.userId], preset: "private_chat" },
  ])
    expectForbidden(await api(server, "POST", "/_matrix/client/v3/createRoom", { token: stranger.accessToken, body }), `createRoom ${JSON.stringify(body)}`);
  const memberState = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: stranger.accessToken,
    body: { initial_state: [{ type: "m.room.member", state_key: seeker.userId, content: { membership: "invite" } }] } });
  assert.equal(memberState.status, 400, "initial_state cannot hold member events");
  // A public room made by a counselor: the seeker still cannot join it.
  const { body: { room_id: publicRoom } } = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: stranger.accessToken,
    body: { preset: "public_chat", initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "public" } }] } });
  expectForbidden(await api(server, "POST", `/_matrix/client/v3/join/${enc(publicRoom)}`, { token: seeker.accessToken, body: {} }), "join a public room");
  // Inviting staff only still works.
  assert.equal((await api(server, "POST", "/_matrix/client/v3/createRoom", { token: stranger.accessToken, body: { invite: [counselor.userId], is_direct: true } })).status, 200);
  const s1 = await sync(seeker, s0.body.next_batch);
  assert.deepEqual(Object.keys(s1.body.rooms?.invite ?? {}), [], "no invite reached the seeker");
  assert.deepEqual(Object.keys(s1.body.rooms?.leave ?? {}), []);
});

test("invites, kicks and bans of seekers outside their own consultation are refused, whichever endpoint", async () => {
  const s0 = await sync(seeker);
  const { body: { room_id: room } } = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: stranger.accessToken, body: { name: "Sonderraum" } });
  const member = (by, r, target, membership) => api(server, "PUT", `/_matrix/client/v3/rooms/${enc(r)}/state/m.room.member/${enc(target)}`, { token: by.accessToken, body: { membership } });
  const action = (by, r, act, target) => api(server, "POST", `/_matrix/client/v3/rooms/${enc(r)}/${act}`, { token: by.accessToken, body: { user_id: target, reason: "Komm her" } });
  expectForbidden(await action(stranger, room, "invite", seeker.userId), "invite into a counselor's room");
  expectForbidden(await member(stranger, room, seeker.userId, "invite"), "invite via state");
  expectForbidden(await action(stranger, room, "ban", seeker.userId), "ban (would show the room in her sync)");
  expectForbidden(await member(stranger, room, seeker.userId, "ban"), "ban via state");
  expectForbidden(await member(stranger, room, seeker.userId, "leave"), "kick via state");
  expectForbidden(await action(stranger, room, "kick", seeker.userId), "kick");
  expectForbidden(await action(stranger, room, "unban", seeker.userId), "unban");
  // Another seeker's consultation: her counselor cannot pull this seeker in.
  expectForbidden(await action(otherCounselor, otherRoomId, "invite", seeker.userId), "into another seeker's consultation");
  const s1 = await sync(seeker, s0.body.next_batch);
  for (const section of ["invite", "join", "leave"])
    assert.deepEqual(Object.keys(s1.body.rooms?.[section] ?? {}).filter((r) => r !== roomId), [], `nothing in rooms.${section}`);
  // Staff targets are unaffected.
  assert.equal((await action(stranger, room, "invite", counselor.userId)).status, 200);
  assert.equal((await action(stranger, room, "ban", otherCounselor.userId)).status, 200);
});

test("a seeker who left her consultation is not pulled back in by a counselor", async () => {
  const s = await registerSeeker(server), c = await register(server);
  const room = await openConsultation(s, c);
  assert.equal((await api(server, "POST", `/_matrix/client/v3/join/${enc(room)}`, { token: c.accessToken, body: {} })).status, 200);
  assert.equal((await api(server, "POST", `/_matrix/client/v3/rooms/${enc(room)}/leave`, { token: s.accessToken, body: {} })).status, 200);
  expectForbidden(await api(server, "POST", `/_matrix/client/v3/rooms/${enc(room)}/invite`, { token: c.accessToken, body: { user_id: s.userId } }), "re-invite");
  // Kicking and banning her from her own consultation stays possible.
  assert.equal((await api(server, "POST", `/_matrix/client/v3/rooms/${enc(room)}/ban`, { token: c.accessToken, body: { user_id: s.userId } })).status, 200);
});

test("device lists: /keys/changes and /sync never name seekers to people who share no room with them", async () => {
  const s = await registerSeeker(server), c = await register(server);
  await openConsultation(s, c);
  const watchers = [other, stranger, otherCounselor, c];
  const tokens = new Map();
  for (const w of watchers) tokens.set(w, (await sync(w)).body.next_batch);
  await publishKeys(s, "Neues Handy", 1);
  const second = await loginDevice(server, s.username, s.password, "Zweitgerät");
  await upload(second, { device_keys: deviceKeys(second, keyPair()) });
  for (const w of watchers) {
    const since = tokens.get(w);
    const delta = (await sync(w, since)).body.device_lists ?? { changed: [], left: [] };
    const now = (await sync(w)).body.next_batch;
    const changes = (await api(server, "GET", `/_matrix/client/v3/keys/changes?from=${since}&to=${now}`, { token: w.accessToken })).body;
    const named = [...delta.changed, ...delta.left, ...changes.changed, ...changes.left].includes(s.userId);
    assert.equal(named, w === c, `${w.userId} ${w === c ? "(her invited counselor) is told" : "learns nothing"}: ${JSON.stringify({ delta, changes })}`);
  }
});

test("account data and filters of other users are out of reach", async () => {
  const ad = (viewer, target, method = "GET") => api(server, method, `/_matrix/client/v3/user/${enc(target.userId)}/account_data/m.direct`,
    { token: viewer.accessToken, body: method === "PUT" ? {} : undefined });
  expectForbidden(await ad(counselor, seeker), "read another user's account data");
  expectForbidden(await ad(other, seeker, "PUT"), "write another user's account data");
  expectForbidden(await api(server, "GET", `/_matrix/client/v3/user/${enc(seeker.userId)}/rooms/${enc(roomId)}/tags`, { token: counselor.accessToken }), "tags");
  expectForbidden(await api(server, "POST", `/_matrix/client/v3/user/${enc(seeker.userId)}/filter`, { token: other.accessToken, body: {} }), "filters");
});

test("the legitimate consultation flow still works end to end encrypted (key query, claim, to-device)", async () => {
  const sReg = await registerSeeker(server), cReg = await register(server);
  const s = await startCryptoClient(server, sReg);
  const c = await startCryptoClient(server, cReg);
  try {
    const room = await openConsultation(sReg, cReg);
    await waitFor(() => c.getRoom(room)?.getMyMembership() === "invite", "counselor invited");
    await c.joinRoom(room);
    await waitFor(() => s.getRoom(room)?.getMember(cReg.userId)?.membership === "join", "seeker sees the counselor");
    const q = "Ich brauche Hilfe mit meinem Mietvertrag.";
    const { event_id: qId } = await s.sendTextMessage(room, q);
    assert.equal(await decryptedBody(c, room, qId, "counselor decrypts"), q);
    const a = "Gern, schicken Sie ihn mir.";
    const { event_id: aId } = await c.sendTextMessage(room, a);
    assert.equal(await decryptedBody(s, room, aId, "seeker decrypts"), a);
  } finally {
    s.stopClient();
    c.stopClient();
  }
});

// [registration] role = "user" (for conformance suites such as sytest): self-registered accounts are
// ordinary Matrix users there; the default instance keeps the seekers' rules (the tests above).
test("with [registration] role = \"user\" self-registered accounts are ordinary Matrix users; by default they are seekers", async () => {
  const plain = await startServer({ extraConfig: `[registration]\nrole = "user"` });
  try {
    assert.ok(plain.lines.some((l) => l.includes("conformance tests only")), "the start-up warns");
    const a = await registerSeeker(plain), b = await registerSeeker(plain);
    const created = await api(plain, "POST", "/_matrix/client/v3/createRoom", { token: a.accessToken, body: { invite: [b.userId] } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal((await api(plain, "POST", `/_matrix/client/v3/join/${enc(created.body.room_id)}`, { token: b.accessToken, body: {} })).status, 200);
    const consultation = await api(plain, "POST", "/_lotse/client/v1/consultations", { token: a.accessToken, body: { counselor: "@x:localhost", topic: "aufenthalt" } });
    assert.equal(consultation.status, 403, "no consultations for them: they are not seekers");
  } finally {
    await plain.stop();
    plain.cleanup();
  }
  // The instance of the tests above: a self-registered account creates no rooms.
  const res = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: (await registerSeeker(server)).accessToken, body: {} });
  assert.equal(res.status, 403);
});
