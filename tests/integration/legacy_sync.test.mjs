// The deprecated sync endpoints (spec old_sync.yaml, room_initial_sync.yaml): /initialSync,
// /rooms/{roomId}/initialSync and the /events stream show what /sync would, in the old shapes: her
// rooms with their latest messages, state and account data; a room she left only up to her leaving;
// invites; nothing of rooms she is not in; the stream long-polls and carries account data changes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, register, api } from "./harness.mjs";

const enc = encodeURIComponent;
let server, alice, bob, carol;
before(async () => {
  server = await startServer();
  [alice, bob, carol] = [await register(server), await register(server), await register(server)];
});
after(async () => { await server.stop(); server.cleanup(); });

const call = (who, method, path, body) => api(server, method, path, { token: who.accessToken, body });
const room = (id) => `/_matrix/client/v3/rooms/${enc(id)}`;
const send = async (who, roomId, body) =>
  (await call(who, "PUT", `${room(roomId)}/send/m.room.message/t${Math.random().toString(36).slice(2)}`, { msgtype: "m.text", body })).body.event_id;
const bodies = (info) => info.messages.chunk.filter((e) => e.type === "m.room.message").map((e) => e.content.body);

test("/initialSync and /rooms/{id}/initialSync: rooms, latest messages, state, account data; left rooms up to the leave; invites", async () => {
  const main = (await call(alice, "POST", "/_matrix/client/v3/createRoom", { name: "Team", invite: [bob.userId] })).body.room_id;
  await call(bob, "POST", `${room(main)}/join`, {});
  for (const b of ["eins", "zwei", "drei"]) await send(bob, main, b);
  await call(bob, "GET", "/_matrix/client/v3/sync?timeout=0");  // online
  await call(alice, "PUT", `/_matrix/client/v3/user/${enc(alice.userId)}/rooms/${enc(main)}/tags/u.wichtig`, { order: 1 });
  const left = (await call(bob, "POST", "/_matrix/client/v3/createRoom", { invite: [alice.userId] })).body.room_id;
  await call(alice, "POST", `${room(left)}/join`, {});
  await send(bob, left, "vorher");
  await call(alice, "POST", `${room(left)}/leave`, {});
  await send(bob, left, "nachher");
  const invited = (await call(bob, "POST", "/_matrix/client/v3/createRoom", { invite: [alice.userId] })).body.room_id;
  const foreign = (await call(carol, "POST", "/_matrix/client/v3/createRoom", {})).body.room_id;

  const res = await call(alice, "GET", "/_matrix/client/v3/initialSync?limit=2");
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const byId = Object.fromEntries(res.body.rooms.map((r) => [r.room_id, r]));
  assert.ok(res.body.end && Array.isArray(res.body.presence));
  assert.equal(byId[main].membership, "join");
  assert.deepEqual(bodies(byId[main]), ["zwei", "drei"], "the latest two, oldest first");
  assert.ok(byId[main].messages.start && byId[main].messages.end);
  assert.ok(byId[main].state.some((e) => e.type === "m.room.name" && e.content.name === "Team"));
  assert.equal(byId[main].visibility, "private");
  assert.deepEqual(byId[main].account_data.find((e) => e.type === "m.tag").content, { tags: { "u.wichtig": { order: 1 } } });
  assert.ok(!res.body.account_data.some((e) => e.type === "m.push_rules"), "push rules are /pushrules' in the old API");
  assert.ok(byId[main].messages.chunk.every((e) => e.user_id === e.sender), "the old format names the sender as user_id");
  assert.equal(res.body.presence.find((p) => p.sender === alice.userId)?.content.user_id, alice.userId, "her own presence: online");
  assert.ok(Array.isArray(res.body.receipts));
  assert.equal(byId[invited].membership, "invite");
  assert.equal(byId[invited].invite.content.membership, "invite");
  assert.equal(byId[left], undefined, "a left room only with archived=true");
  assert.equal(byId[foreign], undefined);

  const archived = Object.fromEntries((await call(alice, "GET", "/_matrix/client/v3/initialSync?archived=true")).body.rooms.map((r) => [r.room_id, r]));
  assert.equal(archived[left].membership, "leave");
  assert.deepEqual(bodies(archived[left]), ["vorher"], "nothing after her leaving");

  const three = (await call(alice, "GET", `${room(main)}/messages?dir=b&limit=1`)).body.chunk[0].event_id;
  await call(alice, "POST", `${room(main)}/receipt/m.read/${enc(three)}`, {});
  const one = await call(alice, "GET", `${room(main)}/initialSync?limit=1`);
  assert.deepEqual(bodies(one.body), ["drei"]);
  assert.ok(one.body.presence.some((p) => p.sender === bob.userId && p.content.presence === "online"), "the members' presence");
  const lone = (await call(bob, "GET", `${room(left)}/initialSync`)).body;  // Alice left it: only Bob is there
  assert.deepEqual(lone.presence.map((p) => p.sender), [bob.userId]);
  assert.ok(one.body.receipts[0]?.content[three]?.["m.read"]?.[alice.userId]?.ts > 0, `her read receipt: ${JSON.stringify(one.body.receipts)} ${three}`);
  const gone = (await call(alice, "GET", `${room(left)}/initialSync`)).body;
  assert.deepEqual(bodies(gone), ["vorher"]);
  assert.deepEqual([gone.presence, gone.receipts], [[], []], "nothing from after her leaving");
  assert.equal((await call(alice, "GET", `${room(foreign)}/initialSync`)).status, 403, "a room she was never in");
  assert.equal((await call(alice, "GET", `${room("!unbekannt:localhost")}/initialSync`)).status, 404);
});

test("/events: long-polls for her rooms' new events and account data changes, nothing of other rooms", async () => {
  const roomId = (await call(alice, "POST", "/_matrix/client/v3/createRoom", { invite: [bob.userId] })).body.room_id;
  await call(bob, "POST", `${room(roomId)}/join`, {});
  const foreign = (await call(carol, "POST", "/_matrix/client/v3/createRoom", {})).body.room_id;
  const first = await call(alice, "GET", "/_matrix/client/v3/events?timeout=0");
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.deepEqual(first.body.chunk, [], "without `from`, the stream starts now");
  const waiting = call(alice, "GET", `/_matrix/client/v3/events?from=${enc(first.body.end)}&timeout=20000`);
  await new Promise((r) => setTimeout(r, 300));
  await send(carol, foreign, "nicht für Alice");
  const t0 = Date.now();
  const id = await send(bob, roomId, "neu");
  const woke = await waiting;
  assert.ok(Date.now() - t0 < 10000, "woken by the message");
  assert.deepEqual(woke.body.chunk.map((e) => e.event_id), [id], "only her room's event");
  assert.equal(woke.body.chunk[0].room_id, roomId);
  await call(alice, "PUT", `/_matrix/client/v3/user/${enc(alice.userId)}/rooms/${enc(roomId)}/tags/u.x`, {});
  const tags = await call(alice, "GET", `/_matrix/client/v3/events?from=${enc(woke.body.end)}&timeout=0`);
  assert.deepEqual(tags.body.chunk.map((e) => [e.type, e.room_id]), [["m.tag", roomId]]);
  assert.equal((await call(alice, "GET", "/_matrix/client/v3/events?from=garbage")).status, 400);
  for (const bad of ["-1", "0", "abc"]) assert.equal((await call(alice, "GET", `/_matrix/client/v3/events?limit=${bad}`)).status, 400, `limit=${bad}`);
  // With a limit, the rest comes with the next request.
  const [x, y] = [await send(bob, roomId, "x"), await send(bob, roomId, "y")];
  const page1 = (await call(alice, "GET", `/_matrix/client/v3/events?from=${enc(tags.body.end)}&limit=1`)).body;
  const page2 = (await call(alice, "GET", `/_matrix/client/v3/events?from=${enc(page1.end)}&limit=1`)).body;
  assert.deepEqual([page1.chunk.map((e) => e.event_id), page2.chunk.map((e) => e.event_id)], [[x], [y]]);
});
