// Presence (client-server API "Presence") as colleagues in Element see it, and as a seeker's
// confidentiality needs it: set and read, in /sync (initial, incremental, waking a long-poll), with
// set_presence; shared only between staff who share a room: not with outsiders, never a seeker's,
// none for a seeker; malformed input refused.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, register, registerSeeker, api } from "./harness.mjs";

const enc = encodeURIComponent;
let server, alice, bob, carol, seeker;
before(async () => {
  server = await startServer();
  [alice, bob, carol] = [await register(server), await register(server), await register(server)];
  seeker = await registerSeeker(server);
});
after(async () => { await server.stop(); server.cleanup(); });

const call = (who, method, path, body) => api(server, method, path, { token: who.accessToken, body });
const status = (who, of) => call(who, "GET", `/_matrix/client/v3/presence/${enc(of.userId)}/status`);
const setStatus = (who, body) => call(who, "PUT", `/_matrix/client/v3/presence/${enc(who.userId)}/status`, body);
const PRESENCE_ONLY = enc(JSON.stringify({ presence: { types: ["m.presence"] }, room: { rooms: [] } }));
const sync = async (who, query = "") => {
  const res = await call(who, "GET", `/_matrix/client/v3/sync?filter=${PRESENCE_ONLY}${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
};
const presenceOf = (body, who) => body.presence.events.filter((e) => e.sender === who.userId).map((e) => e.content);

test("presence between colleagues: set, read, in /sync and waking a long-poll; not for outsiders", async () => {
  const roomId = (await call(alice, "POST", "/_matrix/client/v3/createRoom", { invite: [bob.userId] })).body.room_id;
  await call(bob, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, {});
  assert.equal((await setStatus(alice, { presence: "online", status_msg: "Bis 16 Uhr erreichbar" })).status, 200);
  const seen = (await status(bob, alice)).body;
  assert.equal(seen.presence, "online");
  assert.equal(seen.status_msg, "Bis 16 Uhr erreichbar");
  assert.equal(seen.currently_active, true);
  assert.ok(seen.last_active_ago >= 0 && seen.last_active_ago < 60000, JSON.stringify(seen));
  assert.equal((await status(carol, alice)).status, 403, "no shared room");

  // Bob's initial sync shows Alice (and himself: his sync made him online); Carol's does not.
  const first = await sync(bob);
  assert.equal(presenceOf(first, alice)[0]?.presence, "online");
  assert.equal(presenceOf(first, bob)[0]?.presence, "online", "his own presence, set by his sync");
  assert.deepEqual(presenceOf(await sync(carol), alice), []);

  // A long-poll wakes when Alice becomes unavailable, and sees only that change.
  const waiting = sync(bob, `&since=${first.next_batch}&timeout=20000`);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  assert.equal((await setStatus(alice, { presence: "unavailable" })).status, 200);
  const woke = await waiting;
  assert.ok(Date.now() - t0 < 10000, "woken by the change, not by the timeout");
  assert.deepEqual(presenceOf(woke, alice).map((c) => c.presence), ["unavailable"]);
  assert.equal(presenceOf(woke, alice)[0].status_msg, undefined, "a new status without a message clears it");
  assert.deepEqual(presenceOf(woke, bob), [], "unchanged presence is not sent again");

  // set_presence=offline on sync leaves her state alone, and so does the default ("online") an
  // "unavailable" she set (Element sets it when she is away, while its sync goes on); set_presence
  // names a state, or she sets "online" herself, and she is back.
  await call(alice, "GET", "/_matrix/client/v3/sync?timeout=0&set_presence=offline");
  assert.equal((await status(bob, alice)).body.presence, "unavailable");
  await call(alice, "GET", "/_matrix/client/v3/sync?timeout=0");
  assert.equal((await status(bob, alice)).body.presence, "unavailable");
  await setStatus(alice, { presence: "online" });
  assert.equal((await status(bob, alice)).body.presence, "online");
  const later = await sync(bob, `&since=${woke.next_batch}&timeout=0`);
  assert.deepEqual(presenceOf(later, alice).map((c) => c.presence), ["online"]);
  // Tokens of before presence (three parts) still work.
  const [s, typing, toDevice] = later.next_batch.slice(1).split("_");
  assert.equal((await call(bob, "GET", `/_matrix/client/v3/sync?since=s${s}_${typing}_${toDevice}&timeout=0`)).status, 200);
});

test("a seeker has no presence and sees none, even in her consultation", async () => {
  const c = await api(server, "POST", "/_lotse/client/v1/consultations", { token: seeker.accessToken, body: { counselor: alice.userId, topic: "aufenthalt" } });
  assert.equal(c.status, 200, JSON.stringify(c.body));
  await call(alice, "POST", `/_matrix/client/v3/join/${enc(c.body.room_id)}`, {});
  assert.equal((await setStatus(seeker, { presence: "online", status_msg: "zu Hause" })).status, 200, "accepted, and ignored");
  await call(seeker, "GET", "/_matrix/client/v3/sync?timeout=0");
  assert.equal((await status(alice, seeker)).status, 403, "the counselor does not see whether she is online");
  assert.equal((await status(seeker, alice)).status, 403, "nor she the counselor's");
  assert.deepEqual((await status(seeker, seeker)).body, { presence: "offline" });
  assert.deepEqual(presenceOf(await sync(alice), seeker), []);
  assert.deepEqual((await sync(seeker)).presence.events, []);
});

test("presence input is checked", async () => {
  const expect = async (res, code, errcode) => { assert.equal(res.status, code, JSON.stringify(res.body)); assert.equal(res.body.errcode, errcode); };
  await expect(await setStatus(alice, { presence: "away" }), 400, "M_INVALID_PARAM");
  await expect(await setStatus(alice, {}), 400, "M_MISSING_PARAM");
  await expect(await setStatus(alice, { presence: "online", status_msg: 5 }), 400, "M_BAD_JSON");
  await expect(await setStatus(alice, { presence: "online", status_msg: "x".repeat(513) }), 400, "M_INVALID_PARAM");
  await expect(await call(alice, "PUT", `/_matrix/client/v3/presence/${enc(bob.userId)}/status`, { presence: "offline" }), 403, "M_FORBIDDEN");
  await expect(await call(alice, "GET", `/_matrix/client/v3/presence/${enc("@niemand:localhost")}/status`), 404, "M_NOT_FOUND");
  await expect(await call(alice, "GET", "/_matrix/client/v3/sync?timeout=0&set_presence=busy"), 400, "M_INVALID_PARAM");
});

test("joining a room brings the members' presence as it is, and the newcomer's to them, in the next incremental sync", async () => {
  const [dora, emil] = [await register(server), await register(server)];
  await call(dora, "GET", "/_matrix/client/v3/sync?timeout=0");
  assert.equal((await setStatus(emil, { presence: "unavailable", status_msg: "im Termin" })).status, 200);
  const dora0 = await sync(dora), emil0 = await sync(emil);
  assert.deepEqual(presenceOf(dora0, emil), [], "no shared room yet");
  const roomId = (await call(emil, "POST", "/_matrix/client/v3/createRoom", { invite: [dora.userId] })).body.room_id;
  const emil1 = await sync(emil, `&since=${emil0.next_batch}&timeout=0`);
  await call(dora, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, {});
  const dora1 = await sync(dora, `&since=${dora0.next_batch}&timeout=0`);
  assert.deepEqual(presenceOf(dora1, emil).map((c) => [c.presence, c.status_msg]), [["unavailable", "im Termin"]], "unchanged, yet sent: the room is new to her");
  const emil2 = await sync(emil, `&since=${emil1.next_batch}&timeout=0`);
  assert.deepEqual(presenceOf(emil2, dora).map((c) => c.presence), ["online"], "the newcomer's presence");
  const dora2 = await sync(dora, `&since=${dora1.next_batch}&timeout=0`);
  assert.deepEqual(presenceOf(dora2, emil), [], "once, not at every sync");
});

test("many changes at once (beyond a handful, checked against one query) still show only colleagues in a shared room", async () => {
  const viewer = await register(server);
  const [joined1, joined2, invited, gone, out1, out2, out3] = await Promise.all(Array.from({ length: 7 }, () => register(server)));
  const roomId = (await call(viewer, "POST", "/_matrix/client/v3/createRoom", { invite: [joined1.userId, joined2.userId, invited.userId, gone.userId] })).body.room_id;
  for (const who of [joined1, joined2, gone]) assert.equal((await call(who, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, {})).status, 200);
  assert.equal((await call(gone, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, {})).status, 200);
  const since = (await sync(viewer)).next_batch;
  for (const who of [joined1, joined2, invited, gone, out1, out2, out3]) assert.equal((await setStatus(who, { presence: "unavailable" })).status, 200);
  const body = await sync(viewer, `&since=${since}`);
  const senders = body.presence.events.map((e) => e.sender).sort();
  assert.deepEqual(senders, [joined1.userId, joined2.userId, invited.userId].sort());
  assert.ok(body.presence.events.every((e) => e.content.presence === "unavailable"), JSON.stringify(body.presence.events));
});
