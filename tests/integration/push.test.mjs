// Notifications: push rules evaluated server-side give /sync's unread counts and GET /notifications,
// and the built-in gateway delivers by Web Push to a fake push service on loopback (real TLS with a
// throwaway CA). The test decrypts what arrives with an independent implementation (npm http_ece),
// checks the VAPID JWT with Node's crypto, and that no content, sender or name is in it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey, randomBytes, verify } from "node:crypto";
import { startServer, register, api, waitFor } from "./harness.mjs";
import { startPushService, decryptPush } from "./web_push_receiver.mjs";

const enc = encodeURIComponent;
let server, push;
const PUBLIC = "https://lotse.example.org";  // the instance's public URL: its gateway is PUBLIC + /_matrix/push/v1/notify

before(async () => {
  push = await startPushService();
  server = await startServer({ topConfig: `public_baseurl = "${PUBLIC}"`, extraConfig: push.config });
});
after(async () => { push.close(); await server.stop(); server.cleanup(); });

const sync = async (who, query = "") => (await api(server, "GET", `/_matrix/client/v3/sync${query}`, { token: who.accessToken })).body;
const send = async (who, roomId, content, type = "m.room.message") => {
  const res = await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/${type}/${randomBytes(6).toString("hex")}`, { token: who.accessToken, body: content });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.event_id;
};
const createRoom = async (who, invite, body = {}) => {
  const res = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: who.accessToken, body: { invite: [invite.userId], ...body } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const joined = await api(server, "POST", `/_matrix/client/v3/join/${enc(res.body.room_id)}`, { token: invite.accessToken, body: {} });
  assert.equal(joined.status, 200);
  return res.body.room_id;
};
const counts = async (who, roomId, query = "") => (await sync(who, query)).rooms.join[roomId].unread_notifications;

const subscription = () => push.subscription();
const setPusher = (who, sub, overrides = {}) => api(server, "POST", "/_matrix/client/v3/pushers/set", { token: who.accessToken, body: {
  kind: "http", app_id: "de.lotse.pwa", pushkey: sub.pushkey, app_display_name: "Lotse", device_display_name: "Phone", lang: "de",
  data: { url: `${PUBLIC}/_matrix/push/v1/notify`, format: "event_id_only", endpoint: sub.endpoint, auth: sub.auth }, ...overrides } });

const decrypt = (sub, body) => JSON.parse(decryptPush(sub, body));

test("pushers/set accepts only the built-in gateway, an allowed push service and a working key", async () => {
  const alice = await register(server);
  const sub = subscription();
  const refused = [
    [{ data: { url: "https://sygnal.example.org/_matrix/push/v1/notify", endpoint: sub.endpoint, auth: sub.auth } }, "M_INVALID_PARAM"],
    [{ data: { url: `${PUBLIC}/_matrix/push/v1/notify`, endpoint: `http://127.0.0.1:${push.port}/x`, auth: sub.auth } }, "M_INVALID_PARAM"],
    [{ data: { url: `${PUBLIC}/_matrix/push/v1/notify`, endpoint: "https://evil.example.org/x", auth: sub.auth } }, "M_INVALID_PARAM"],
    [{ data: { url: `${PUBLIC}/_matrix/push/v1/notify`, endpoint: "https://user@127.0.0.1/x", auth: sub.auth } }, "M_INVALID_PARAM"],
    [{ data: { url: `${PUBLIC}/_matrix/push/v1/notify`, endpoint: sub.endpoint, auth: "c2hvcnQ" } }, "M_INVALID_PARAM"],
    [{ data: { url: `${PUBLIC}/_matrix/push/v1/notify`, format: "full", endpoint: sub.endpoint, auth: sub.auth } }, "M_INVALID_PARAM"],
    [{ pushkey: Buffer.alloc(65, 4).toString("base64url") }, "M_INVALID_PARAM"],  // not a point on the curve
    [{ pushkey: "" }, "M_INVALID_PARAM"],
    [{ kind: "email" }, "M_INVALID_PARAM"],
    [{ kind: 7 }, "M_BAD_JSON"],
    [{ data: undefined }, "M_MISSING_PARAM"],
    [{ app_id: "x".repeat(65) }, "M_INVALID_PARAM"],
  ];
  for (const [overrides, errcode] of refused) {
    const res = await setPusher(alice, sub, overrides);
    assert.equal(res.status, 400, `${JSON.stringify(overrides)}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.errcode, errcode, JSON.stringify(overrides));
  }
  assert.deepEqual((await api(server, "GET", "/_matrix/client/v3/pushers", { token: alice.accessToken })).body.pushers, []);
  assert.equal((await setPusher(alice, sub)).status, 200);
  const listed = (await api(server, "GET", "/_matrix/client/v3/pushers", { token: alice.accessToken })).body.pushers;
  assert.equal(listed.length, 1);
  assert.equal(listed[0].pushkey, sub.pushkey);
  assert.equal(listed[0].data.endpoint, sub.endpoint);
  // kind null removes it.
  assert.equal((await setPusher(alice, sub, { kind: null })).status, 200);
  assert.deepEqual((await api(server, "GET", "/_matrix/client/v3/pushers", { token: alice.accessToken })).body.pushers, []);
  // Without a token: 401.
  assert.equal((await api(server, "GET", "/_matrix/client/v3/pushers")).status, 401);
});

test("a message reaches the push service encrypted, with a valid VAPID JWT and nothing but ids and a count", async () => {
  const alice = await register(server), bob = await register(server, undefined, undefined, { display_name: "Bob Beratung" });
  const roomId = await createRoom(bob, alice, { name: "Aufenthalt Kim" });
  const sub = subscription();
  assert.equal((await setPusher(alice, sub)).status, 200);
  const vapid = (await api(server, "GET", "/_lotse/client/v1/push", { token: alice.accessToken })).body;
  assert.equal(vapid.enabled, true);
  assert.equal(Buffer.from(vapid.vapid_public_key, "base64url").length, 65);

  const before = push.received.length;
  const eventId = await send(bob, roomId, { msgtype: "m.text", body: "Geheim: Termin am Montag bei der Ausländerbehörde" });
  await waitFor(() => push.received.slice(before).some((r) => r.url === sub.path), "the push request");
  const req = push.received.slice(before).find((r) => r.url === sub.path);
  assert.equal(req.method, "POST");
  assert.equal(req.headers["content-encoding"], "aes128gcm");
  assert.ok(Number(req.headers.ttl) > 0);

  // VAPID (RFC 8292): t = an ES256 JWT for the push service's origin, k = the server's public key.
  const m = /^vapid t=([^,]+), k=(.+)$/.exec(req.headers.authorization);
  assert.ok(m, req.headers.authorization);
  assert.equal(m[2], vapid.vapid_public_key);
  const [h, c, s] = m[1].split(".");
  assert.deepEqual(JSON.parse(Buffer.from(h, "base64url")), { typ: "JWT", alg: "ES256" });
  const claims = JSON.parse(Buffer.from(c, "base64url"));
  assert.equal(claims.aud, `https://127.0.0.1:${push.port}`);
  const now = Date.now() / 1000;
  assert.ok(claims.exp > now && claims.exp <= now + 24 * 3600, `exp ${claims.exp}`);
  assert.match(claims.sub, /^(mailto:|https:)/);
  const raw = Buffer.from(m[2], "base64url");
  const key = createPublicKey({ key: { kty: "EC", crv: "P-256", x: raw.subarray(1, 33).toString("base64url"), y: raw.subarray(33).toString("base64url") }, format: "jwk" });
  assert.ok(verify("sha256", Buffer.from(`${h}.${c}`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url")), "VAPID signature");
  // A tampered token does not verify (the check above can fail).
  assert.ok(!verify("sha256", Buffer.from(`${h}.${c}x`), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url")));

  // The body opens with the subscription's keys (RFC 8291) and holds ids and a count only.
  const payload = decrypt(sub, req.body);
  assert.equal(payload.room_id, roomId);
  assert.equal(payload.event_id, eventId);
  assert.ok(payload.unread >= 1);
  const text = JSON.stringify(payload);
  for (const leak of ["Geheim", "Montag", "Bob", bob.userId, alice.userId, "Aufenthalt", "Kim"])
    assert.ok(!text.includes(leak), `payload contains ${leak}`);
  assert.ok(!req.body.includes(Buffer.from("Geheim")));
  // Another subscription's keys do not open it.
  assert.throws(() => decrypt(subscription(), req.body));
  // Her own messages never push to her.
  const mine = push.received.length;
  await send(alice, roomId, { msgtype: "m.text", body: "danke" });
  await send(bob, roomId, { msgtype: "m.text", body: "marker" });
  await waitFor(() => push.received.length > mine, "the marker push");
  assert.equal(push.received.length, mine + 1);
  await setPusher(alice, sub, { kind: null });
});

test("429 and 5xx are retried, 410 removes the pusher", async () => {
  const alice = await register(server), bob = await register(server);
  const roomId = await createRoom(bob, alice);
  const sub = subscription();
  assert.equal((await setPusher(alice, sub)).status, 200);
  let calls = 0;
  push.respond = (r) => (r.url === sub.path ? (++calls === 1 ? 429 : calls === 2 ? 503 : 201) : 201);
  await send(bob, roomId, { msgtype: "m.text", body: "one" });
  await waitFor(() => calls >= 3, "two retries", 20000);
  const after = push.received.filter((r) => r.url === sub.path).length;

  push.respond = (r) => (r.url === sub.path ? 410 : 201);
  await send(bob, roomId, { msgtype: "m.text", body: "two" });
  await waitFor(async () => (await api(server, "GET", "/_matrix/client/v3/pushers", { token: alice.accessToken })).body.pushers.length === 0,
    "the pusher removed after 410");
  // The row goes before the commit's fsync and the log line after it: the line may come a moment later.
  await waitFor(() => server.lines.some((l) => l.includes("pusher removed")), "the removal's log line");
  const gone = push.received.filter((r) => r.url === sub.path).length;
  assert.equal(gone, after + 1, "410 is not retried");
  await send(bob, roomId, { msgtype: "m.text", body: "three" });
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(push.received.filter((r) => r.url === sub.path).length, gone, "nothing goes to a removed subscription");
  push.respond = () => 201;
});

test("a push service that never answers does not hold up sending", async () => {
  const alice = await register(server), bob = await register(server);
  const roomId = await createRoom(bob, alice);
  const sub = subscription();
  assert.equal((await setPusher(alice, sub)).status, 200);
  push.respond = (r) => (r.url === sub.path ? null : 201);
  // Every send is answered while the push service still holds every push request open.
  for (let i = 0; i < 20; i++) await send(bob, roomId, { msgtype: "m.text", body: `m${i}` });
  await waitFor(() => push.held.length >= 1, "held push requests");
  const s = await sync(alice);
  assert.ok(s.rooms.join[roomId].timeline.events.length > 0);
  assert.equal(push.received.filter((r) => r.url === sub.path).length, push.held.length, "no push was answered yet");
  push.respond = () => 201;
  push.release();
  await setPusher(alice, sub, { kind: null });
});

test("unread counts follow the push rules: a mention highlights, a notice and a muted room do not count, a receipt resets", async () => {
  const alice = await register(server), bob = await register(server);
  const roomId = await createRoom(bob, alice);
  assert.deepEqual(await counts(alice, roomId), { notification_count: 0, highlight_count: 0 });
  await send(bob, roomId, { msgtype: "m.text", body: "hallo" });
  const mention = await send(bob, roomId, { msgtype: "m.text", body: "schau mal", "m.mentions": { user_ids: [alice.userId] } });
  await send(bob, roomId, { msgtype: "m.notice", body: "automatische Nachricht" });
  await send(bob, roomId, { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AAAA", sender_key: "x", session_id: "y", device_id: "D" }, "m.room.encrypted");
  assert.deepEqual(await counts(alice, roomId), { notification_count: 3, highlight_count: 1 });
  // Bob's own messages do not count for him.
  assert.deepEqual(await counts(bob, roomId), { notification_count: 0, highlight_count: 0 });

  // GET /notifications: newest first, the mention highlighted, unread.
  const list = (await api(server, "GET", "/_matrix/client/v3/notifications", { token: alice.accessToken })).body.notifications;
  assert.equal(list.length, 3);
  assert.ok(list.every((n) => n.room_id === roomId && n.read === false && n.event && n.ts > 0));
  const only = (await api(server, "GET", "/_matrix/client/v3/notifications?only=highlight", { token: alice.accessToken })).body.notifications;
  assert.deepEqual(only.map((n) => n.event.event_id), [mention]);
  const page = (await api(server, "GET", "/_matrix/client/v3/notifications?limit=2", { token: alice.accessToken })).body;
  assert.equal(page.notifications.length, 2);
  const rest = (await api(server, "GET", `/_matrix/client/v3/notifications?from=${page.next_token}`, { token: alice.accessToken })).body;
  assert.equal(rest.notifications.length, 1);
  assert.equal((await api(server, "GET", "/_matrix/client/v3/notifications?from=abc", { token: alice.accessToken })).status, 400);

  // A read receipt on the newest event resets both counts.
  const last = await send(bob, roomId, { msgtype: "m.text", body: "noch was" });
  assert.equal((await counts(alice, roomId)).notification_count, 4);
  assert.equal((await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(last)}`, { token: alice.accessToken, body: {} })).status, 200);
  assert.deepEqual(await counts(alice, roomId), { notification_count: 0, highlight_count: 0 });
  assert.ok((await api(server, "GET", "/_matrix/client/v3/notifications", { token: alice.accessToken })).body.notifications.every((n) => n.read));
  // A receipt for an older event (a stale second device) does not move hers back: the counts stay read.
  assert.equal((await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(mention)}`, { token: alice.accessToken, body: {} })).status, 200);
  assert.deepEqual(await counts(alice, roomId), { notification_count: 0, highlight_count: 0 });
  const receipts = (await sync(alice)).rooms.join[roomId].ephemeral.events.filter((e) => e.type === "m.receipt");
  assert.ok(receipts.some((e) => e.content[last]?.["m.read"]?.[alice.userId]), JSON.stringify(receipts));
  assert.ok(!receipts.some((e) => e.content[mention]?.["m.read"]?.[alice.userId]), JSON.stringify(receipts));

  // Muted as Element mutes a room: an override rule on the room id with no actions.
  const rule = await api(server, "PUT", `/_matrix/client/v3/pushrules/global/override/${enc(roomId)}`, { token: alice.accessToken,
    body: { conditions: [{ kind: "event_match", key: "room_id", pattern: roomId }], actions: [] } });
  assert.equal(rule.status, 200);
  await send(bob, roomId, { msgtype: "m.text", body: "stumm", "m.mentions": { user_ids: [alice.userId] } });
  assert.deepEqual(await counts(alice, roomId), { notification_count: 0, highlight_count: 0 });
  // Unmuted again, it counts.
  await api(server, "DELETE", `/_matrix/client/v3/pushrules/global/override/${enc(roomId)}`, { token: alice.accessToken });
  await send(bob, roomId, { msgtype: "m.text", body: "wieder laut" });
  assert.equal((await counts(alice, roomId)).notification_count, 1);
});

test("thread counts when the filter asks for them", async () => {
  const alice = await register(server), bob = await register(server);
  const roomId = await createRoom(bob, alice);
  const root = await send(bob, roomId, { msgtype: "m.text", body: "root" });
  await send(bob, roomId, { msgtype: "m.text", body: "in thread", "m.relates_to": { rel_type: "m.thread", event_id: root } });
  await send(bob, roomId, { msgtype: "m.text", body: "in thread 2", "m.relates_to": { rel_type: "m.thread", event_id: root } });
  assert.equal((await counts(alice, roomId)).notification_count, 3);
  const filter = enc(JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } }));
  const room = (await sync(alice, `?filter=${filter}`)).rooms.join[roomId];
  assert.deepEqual(room.unread_notifications, { notification_count: 1, highlight_count: 0 });
  assert.deepEqual(room.unread_thread_notifications, { [root]: { notification_count: 2, highlight_count: 0 } });
});

test("a redacted message no longer counts; a threaded receipt clears only its thread", async () => {
  const alice = await register(server), bob = await register(server);
  const roomId = await createRoom(bob, alice);
  const gone = await send(bob, roomId, { msgtype: "m.text", body: "versehentlich" });
  const root = await send(bob, roomId, { msgtype: "m.text", body: "root" });
  const inThread = await send(bob, roomId, { msgtype: "m.text", body: "reply", "m.relates_to": { rel_type: "m.thread", event_id: root } });
  await send(bob, roomId, { msgtype: "m.text", body: "main again" });
  assert.equal((await counts(alice, roomId)).notification_count, 4);
  const red = await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(gone)}/r1`, { token: bob.accessToken, body: {} });
  assert.equal(red.status, 200);
  assert.equal((await counts(alice, roomId)).notification_count, 3);
  assert.ok(!(await api(server, "GET", "/_matrix/client/v3/notifications", { token: alice.accessToken })).body.notifications.some((n) => n.event.event_id === gone));
  // Reading the thread (a receipt with its thread_id) leaves the main timeline unread.
  const r = await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read/${enc(inThread)}`, { token: alice.accessToken, body: { thread_id: root } });
  assert.equal(r.status, 200);
  const filter = enc(JSON.stringify({ room: { timeline: { unread_thread_notifications: true } } }));
  const room = (await sync(alice, `?filter=${filter}`)).rooms.join[roomId];
  assert.deepEqual(room.unread_notifications, { notification_count: 2, highlight_count: 0 });
  assert.deepEqual(room.unread_thread_notifications, {});
  assert.equal((await counts(alice, roomId)).notification_count, 2);
});

test("the badge number in each push follows new messages, receipts, read markers, redactions and leaving a room", async () => {
  // The server keeps each user's number in memory and changes it with every row that counts: each
  // step below would show a stale number if one of those changes were missed.
  const alice = await register(server), bob = await register(server), carol = await register(server);
  const roomA = await createRoom(bob, alice), roomB = await createRoom(carol, alice);
  const sub = subscription();
  assert.equal((await setPusher(alice, sub)).status, 200);
  const badgeAfter = async (who, roomId, body) => {
    const before = push.received.length;
    const eventId = await send(who, roomId, { msgtype: "m.text", body });
    const req = await waitFor(() => push.received.slice(before).find((r) => r.url === sub.path && decrypt(sub, r.body).event_id === eventId), `the push of ${body}`);
    return { eventId, unread: decrypt(sub, req.body).unread };
  };
  assert.equal((await badgeAfter(bob, roomA, "a1")).unread, 1);
  const a2 = await badgeAfter(bob, roomA, "a2");
  assert.equal(a2.unread, 2);
  assert.equal((await badgeAfter(carol, roomB, "b1")).unread, 3);
  // A read receipt in A: only B's message and the new one are unread.
  assert.equal((await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomA)}/receipt/m.read/${enc(a2.eventId)}`, { token: alice.accessToken, body: {} })).status, 200);
  const a3 = await badgeAfter(bob, roomA, "a3");
  assert.equal(a3.unread, 2);
  // A private read marker in B (POST /read_markers).
  const b2 = await badgeAfter(carol, roomB, "b2");
  assert.equal(b2.unread, 3);
  assert.equal((await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomB)}/read_markers`, { token: alice.accessToken, body: { "m.read.private": b2.eventId } })).status, 200);
  assert.equal((await badgeAfter(bob, roomA, "a4")).unread, 2);  // a3, a4
  // Bob redacts a3: it no longer counts.
  assert.equal((await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomA)}/redact/${enc(a3.eventId)}/r${randomBytes(4).toString("hex")}`, { token: bob.accessToken, body: {} })).status, 200);
  assert.equal((await badgeAfter(carol, roomB, "b3")).unread, 2);  // a4, b3
  // Alice leaves B: its messages are no longer hers to read.
  assert.equal((await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomB)}/leave`, { token: alice.accessToken, body: {} })).status, 200);
  assert.equal((await badgeAfter(bob, roomA, "a5")).unread, 2);  // a4, a5
  // The number each push carried is the one /sync gives.
  assert.equal((await counts(alice, roomA)).notification_count, 2);
  await setPusher(alice, sub, { kind: null });
});

test("push rules are bounded: long patterns, many conditions, many rules and large actions are refused", async () => {
  const alice = await register(server);
  const put = (id, body, kind = "override") => api(server, "PUT", `/_matrix/client/v3/pushrules/global/${kind}/${enc(id)}`, { token: alice.accessToken, body });
  const cond = (pattern) => ({ kind: "event_match", key: "content.body", pattern });
  for (const [body, kind] of [
    [{ conditions: [cond("*" + "a".repeat(300))], actions: ["notify"] }, "override"],
    [{ pattern: "x".repeat(257), actions: ["notify"] }, "content"],
    [{ conditions: Array.from({ length: 17 }, () => cond("a")), actions: [] }, "override"],
    [{ conditions: [], actions: [{ set_tweak: "sound", value: "x".repeat(1100) }] }, "override"],
  ]) {
    const res = await put("big", body, kind);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.errcode, "M_INVALID_PARAM");
  }
  for (let i = 0; i < 100; i++) assert.equal((await put(`r${i}`, { conditions: [cond(`w${i}`)], actions: [] })).status, 200);
  const over = await put("r100", { conditions: [cond("w")], actions: [] });
  assert.equal(over.status, 400);
  assert.equal(over.body.errcode, "M_LIMIT_EXCEEDED");
  // Replacing one of the 100 still works.
  assert.equal((await put("r5", { conditions: [cond("v")], actions: [] })).status, 200);
});

test("the push gateway API endpoint is not served: nobody outside can make the server send pushes", async () => {
  const alice = await register(server), bob = await register(server);
  const roomId = await createRoom(bob, alice);
  const sub = subscription();
  assert.equal((await setPusher(alice, sub)).status, 200);
  const eventId = await send(bob, roomId, { msgtype: "m.text", body: "x" });
  await waitFor(() => push.received.some((r) => r.url === sub.path), "the regular push");
  const before = push.received.length;
  const res = await api(server, "POST", "/_matrix/push/v1/notify", { body: { notification: { event_id: eventId, room_id: roomId,
    devices: Array.from({ length: 50 }, () => ({ app_id: "de.lotse.pwa", pushkey: sub.pushkey })) } } });
  assert.equal(res.status, 404);
  assert.equal(res.body.errcode, "M_UNRECOGNIZED");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(push.received.length, before);
  await setPusher(alice, sub, { kind: null });
});

test("logout removes the device's pushers; the data export names the push service", async () => {
  const alice = await register(server);
  const sub = subscription();
  assert.equal((await setPusher(alice, sub)).status, 200);
  const exported = await api(server, "GET", `/_lotse/admin/v1/users/${enc(alice.userId)}/export`, { token: server.admin.accessToken });
  assert.equal(exported.status, 200);
  assert.deepEqual(exported.body.pushers.map((p) => p.endpoint), [sub.endpoint]);
  assert.ok(!JSON.stringify(exported.body).includes(sub.auth), "the export holds no subscription secret");
  assert.equal((await api(server, "POST", "/_matrix/client/v3/logout", { token: alice.accessToken, body: {} })).status, 200);
  const again = await api(server, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", identifier: { type: "m.id.user", user: alice.username }, password: alice.password } });
  assert.deepEqual((await api(server, "GET", "/_matrix/client/v3/pushers", { token: again.body.access_token })).body.pushers, []);
});

test("push rule paths: a kind's list ends in '/', paths naming no rule are 400, unknown actions are refused", async () => {
  const user = await register(server);
  const call = (method, path, body) => api(server, method, `/_matrix/client/v3/pushrules${path}`, { token: user.accessToken, body });
  assert.equal((await call("PUT", "/global/room/!r:localhost", { actions: ["notify"] })).status, 200);
  const list = await call("GET", "/global/room/");
  assert.ok(Array.isArray(list.body) && list.body.some((r) => r.rule_id === "!r:localhost"), JSON.stringify(list.body));
  assert.equal((await call("GET", "")).status, 404, "the list of all rules is /pushrules/");
  for (const [method, path] of [["GET", "/global"], ["GET", "/global/room"], ["GET", "/other/"], ["GET", "/global/nokind/"],
    ["GET", "/global/override/.m.rule.master/nope"], ["PUT", "/"], ["PUT", "/global"], ["PUT", "/global/room"], ["PUT", "/global/room/"],
    ["PUT", "/global/override/.m.rule.master/nope"]]) {
    const res = await call(method, path, method === "PUT" ? { actions: ["notify"] } : undefined);
    assert.equal(res.status, 400, `${method} ${path}: ${JSON.stringify(res.body)}`);
    assert.ok(res.body.errcode && res.body.error, `${method} ${path}: a Matrix error`);
  }
  const bad = await call("PUT", "/global/room/!s:localhost", { actions: ["notify", "beep"] });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errcode, "M_INVALID_PARAM");
  assert.equal((await call("PUT", "/global/room/!s:localhost", { actions: ["notify", { set_tweak: "sound", value: "default" }] })).status, 200);
});

test("a push service whose certificate no trusted CA signed gets nothing: the gateway verifies TLS", async () => {
  const stranger = await startPushService();  // its own throwaway CA, which lotse was not told to trust
  try {
    const alice = await register(server), bob = await register(server), carol = await register(server);
    const roomId = await createRoom(bob, alice);
    assert.equal((await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { token: bob.accessToken, body: { user_id: carol.userId } })).status, 200);
    assert.equal((await api(server, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: carol.accessToken, body: {} })).status, 200);
    const trusted = subscription(), untrusted = stranger.subscription();
    assert.equal((await setPusher(alice, trusted)).status, 200);
    assert.equal((await setPusher(carol, untrusted)).status, 200);
    const before = push.received.length;
    await send(bob, roomId, { msgtype: "m.text", body: "Termin morgen" });
    await waitFor(() => push.received.slice(before).some((r) => r.url === trusted.path), "the push at the trusted service");
    await waitFor(() => stranger.counts.tlsErrors > 0, "the gateway's refused handshake at the stranger");
    assert.equal(stranger.received.length, 0, "no request reached the service with the untrusted certificate");
    assert.equal(stranger.counts.connections, 0);
  } finally {
    stranger.close();
  }
});
