// /sync details clients depend on: filters stored byte for byte, lazy-loaded members, invite and leave
// sections, incremental state, unsigned fields, history visibility, private receipts, account data.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, register, api } from "./harness.mjs";

const enc = encodeURIComponent;
let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); server.cleanup(); });

const sync = async (who, query = "") => (await api(server, "GET", `/_matrix/client/v3/sync${query}`, { token: who.accessToken })).body;
const send = async (who, roomId, body, txn = Math.random().toString(36).slice(2)) =>
  (await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${txn}`, { token: who.accessToken, body: { msgtype: "m.text", body } })).body.event_id;
const createRoom = async (who, body = {}) => (await api(server, "POST", "/_matrix/client/v3/createRoom", { token: who.accessToken, body })).body.room_id;
const join = async (who, roomId) => api(server, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: who.accessToken, body: {} });

test("stored filters read back exactly as uploaded and apply to sync", async () => {
  const alice = await register(server);
  const raw = '{"room":{"timeline":{"limit":2},"state":{"lazy_load_members":true}},"event_format":"client","presence":{"not_types":["*"]}}';
  const created = await api(server, "POST", `/_matrix/client/v3/user/${enc(alice.userId)}/filter`, { token: alice.accessToken, raw, headers: { "Content-Type": "application/json" } });
  assert.equal(created.status, 200);
  const fetched = await fetch(`${server.baseUrl}/_matrix/client/v3/user/${enc(alice.userId)}/filter/${created.body.filter_id}`, { headers: { Authorization: `Bearer ${alice.accessToken}` } });
  assert.equal(await fetched.text(), raw);

  const roomId = await createRoom(alice);
  for (let i = 0; i < 5; i++) await send(alice, roomId, `m${i}`);
  const s = await sync(alice, `?filter=${created.body.filter_id}`);
  const room = s.rooms.join[roomId];
  assert.equal(room.timeline.events.length, 2);
  assert.equal(room.timeline.limited, true);
  assert.ok(room.timeline.prev_batch);
  // The state before the timeline holds the room's setup (lazy loading keeps alice's own member event).
  const types = room.state.events.map((e) => e.type);
  assert.ok(types.includes("m.room.create") && types.includes("m.room.power_levels"));
  assert.ok(room.state.events.some((e) => e.type === "m.room.member" && e.state_key === alice.userId));

  // An inline filter with types.
  const only = await sync(alice, `?filter=${enc('{"room":{"timeline":{"types":["m.room.name"]}}}')}`);
  assert.ok(only.rooms.join[roomId].timeline.events.every((e) => e.type === "m.room.name"));
  assert.equal((await api(server, "GET", `/_matrix/client/v3/sync?filter=999`, { token: alice.accessToken })).status, 404);

  // Malformed filters are refused when uploaded (400), whichever part is wrong; valid IDs are taken.
  const upload = (filter) => api(server, "POST", `/_matrix/client/v3/user/${enc(alice.userId)}/filter`, { token: alice.accessToken, body: filter });
  for (const bad of [{ presence: "x" }, { room: { timeline: "x" } }, { room: { state: "x" } }, { room: { ephemeral: "x" } },
    { room: { account_data: "x" } }, ...["rooms", "not_rooms", "senders", "not_senders", "types", "not_types"].map((k) => ({ room: { timeline: { [k]: "not_a_list" } } })),
    { room: { timeline: { types: [0] } } }, { room: { timeline: { rooms: ["not_a_room_id"] } } }, { room: { rooms: ["!ok:localhost", "nope"] } },
    { room: { timeline: { senders: ["not_a_sender_id"] } } }, { room: { state: { not_senders: ["@"] } } }]) {
    const res = await upload(bad);
    assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${JSON.stringify(res.body)}`);
    assert.ok(["M_BAD_JSON", "M_INVALID_PARAM"].includes(res.body.errcode), JSON.stringify(res.body));
  }
  assert.equal((await upload({ room: { rooms: [roomId], timeline: { senders: [alice.userId], not_rooms: ["!other:localhost"] } } })).status, 200);
});

test("lazy loading sends only the members of the timeline's senders, with a summary", async () => {
  const [alice, bob, carol] = [await register(server), await register(server), await register(server)];
  const roomId = await createRoom(alice, { preset: "public_chat" });
  await join(bob, roomId);
  await join(carol, roomId);
  await send(bob, roomId, "from bob");
  const s = await sync(alice, `?filter=${enc('{"room":{"timeline":{"limit":1},"state":{"lazy_load_members":true}}}')}`);
  const room = s.rooms.join[roomId];
  const members = [...room.state.events, ...room.timeline.events].filter((e) => e.type === "m.room.member").map((e) => e.state_key).sort();
  assert.deepEqual(members, [alice.userId, bob.userId].sort());
  assert.equal(room.summary["m.joined_member_count"], 3);
  assert.deepEqual(room.summary["m.heroes"].sort(), [bob.userId, carol.userId].sort());
  // Named, the room needs no heroes (spec: they are required only for a room without a name).
  await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.name/`, { token: alice.accessToken, body: { name: "Team" } });
  const named = (await sync(alice, `?filter=${enc('{"room":{"timeline":{"limit":1},"state":{"lazy_load_members":true}}}')}`)).rooms.join[roomId];
  assert.equal(named.summary["m.heroes"], undefined);
  assert.equal(named.summary["m.joined_member_count"], 3);
  // Without lazy loading, everyone's member event is there.
  const full = (await sync(alice, `?filter=${enc('{"room":{"timeline":{"limit":1}}}')}`)).rooms.join[roomId];
  assert.equal(full.state.events.filter((e) => e.type === "m.room.member").length, 3);
});

test("invites, joins and leaves appear in the right sections", async () => {
  const [alice, bob] = [await register(server), await register(server)];
  const first = await sync(bob);
  const roomId = await createRoom(alice, { name: "Sprechstunde", invite: [bob.userId], is_direct: true });
  const invited = await sync(bob, `?since=${first.next_batch}`);
  const inv = invited.rooms.invite[roomId].invite_state.events;
  assert.ok(inv.some((e) => e.type === "m.room.name" && e.content.name === "Sprechstunde"));
  assert.ok(inv.some((e) => e.type === "m.room.member" && e.state_key === bob.userId && e.content.membership === "invite" && e.content.is_direct));
  assert.ok(inv.some((e) => e.type === "m.room.member" && e.state_key === alice.userId), "the inviter's member event");

  await join(bob, roomId);
  const joined = await sync(bob, `?since=${invited.next_batch}`);
  assert.ok(joined.rooms.join[roomId], "room appears under join after joining");
  assert.ok(!joined.rooms.invite[roomId]);

  await send(alice, roomId, "before leave");
  await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/leave`, { token: bob.accessToken, body: {} });
  await send(alice, roomId, "after leave");
  const left = await sync(bob, `?since=${joined.next_batch}`);
  const leave = left.rooms.leave[roomId];
  const bodies = leave.timeline.events.filter((e) => e.type === "m.room.message").map((e) => e.content.body);
  assert.deepEqual(bodies, ["before leave"]);
  assert.ok(leave.timeline.events.some((e) => e.type === "m.room.member" && e.state_key === bob.userId && e.content.membership === "leave"));
  assert.ok(!left.rooms.join[roomId]);

  // After leaving, nothing sent later is visible, and forgetting removes the room from sync.
  const msgs = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b`, { token: bob.accessToken });
  assert.ok(!msgs.body.chunk.some((e) => e.content?.body === "after leave"));
  assert.equal((await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/forget`, { token: bob.accessToken, body: {} })).status, 200);
  const withLeave = await sync(bob, `?filter=${enc('{"room":{"include_leave":true}}')}`);
  assert.ok(!withLeave.rooms.leave[roomId]);
});

test("incremental sync after a gap is limited and carries the state changes", async () => {
  const [alice, bob] = [await register(server), await register(server)];
  const roomId = await createRoom(alice, { preset: "public_chat" });
  await join(bob, roomId);
  const s1 = await sync(bob);
  await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.topic/`, { token: alice.accessToken, body: { topic: "Wohnen" } });
  for (let i = 0; i < 12; i++) await send(alice, roomId, `n${i}`);
  const s2 = await sync(bob, `?since=${s1.next_batch}`);
  const room = s2.rooms.join[roomId];
  assert.equal(room.timeline.limited, true);
  assert.equal(room.timeline.events.length, 10);
  assert.ok(room.state.events.some((e) => e.type === "m.room.topic" && e.content.topic === "Wohnen"));
});

test("unsigned carries prev_content, transaction_id for the sending device only, and age", async () => {
  const [alice, bob] = [await register(server), await register(server)];
  const roomId = await createRoom(alice, { preset: "public_chat", name: "eins" });
  await join(bob, roomId);
  await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.name`, { token: alice.accessToken, body: { name: "zwei" } });
  const id = await send(alice, roomId, "hi", "txn-42");
  const mine = (await sync(alice)).rooms.join[roomId].timeline.events;
  const theirs = (await sync(bob)).rooms.join[roomId].timeline.events;
  const rename = theirs.find((e) => e.type === "m.room.name" && e.content.name === "zwei");
  assert.deepEqual(rename.unsigned.prev_content, { name: "eins" });
  assert.equal(mine.find((e) => e.event_id === id).unsigned.transaction_id, "txn-42");
  assert.equal(theirs.find((e) => e.event_id === id).unsigned.transaction_id, undefined);
  assert.equal(typeof theirs.find((e) => e.event_id === id).unsigned.age, "number");
  // GET state with and without format=event.
  const name = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.name/`, { token: bob.accessToken });
  assert.deepEqual(name.body, { name: "zwei" });
});

test("history visibility: 'joined' hides what came before the join", async () => {
  const [alice, bob] = [await register(server), await register(server)];
  const roomId = await createRoom(alice, { preset: "public_chat", initial_state: [{ type: "m.room.history_visibility", state_key: "", content: { history_visibility: "joined" } }] });
  const secretId = await send(alice, roomId, "before bob");
  await join(bob, roomId);
  const afterId = await send(alice, roomId, "after bob");
  const msgs = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=50`, { token: bob.accessToken });
  const ids = msgs.body.chunk.map((e) => e.event_id);
  assert.ok(ids.includes(afterId) && !ids.includes(secretId));
  assert.equal((await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(secretId)}`, { token: bob.accessToken })).status, 404);
  assert.equal((await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/context/${enc(secretId)}`, { token: bob.accessToken })).status, 404);
  const tl = (await sync(bob)).rooms.join[roomId].timeline.events.map((e) => e.event_id);
  assert.ok(tl.includes(afterId) && !tl.includes(secretId));
  // 'shared' (the default) shows the earlier history to members who join later.
  const shared = await createRoom(alice, { preset: "public_chat" });
  const early = await send(alice, shared, "early");
  await join(bob, shared);
  const ctx = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(shared)}/context/${enc(early)}?limit=4`, { token: bob.accessToken });
  assert.equal(ctx.status, 200);
  assert.equal(ctx.body.event.content.body, "early");
  assert.ok(Array.isArray(ctx.body.events_before) && Array.isArray(ctx.body.state));
});

test("private read receipts go only to their owner; account data and tags reach sync", async () => {
  const [alice, bob] = [await register(server), await register(server)];
  const roomId = await createRoom(alice, { preset: "public_chat" });
  await join(bob, roomId);
  const id = await send(alice, roomId, "read me");
  const a0 = await sync(alice);
  await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/receipt/m.read.private/${enc(id)}`, { token: bob.accessToken, body: {} });
  const bobSees = (await sync(bob)).rooms.join[roomId].ephemeral.events.find((e) => e.type === "m.receipt");
  assert.ok(bobSees.content[id]["m.read.private"][bob.userId]);
  const aliceInc = await sync(alice, `?since=${a0.next_batch}&timeout=0`);
  assert.ok(!aliceInc.rooms.join[roomId]?.ephemeral.events.some((e) => e.type === "m.receipt"));
  // Unread count for bob drops once he has read.
  assert.equal((await sync(bob)).rooms.join[roomId].unread_notifications.notification_count, 0);

  await api(server, "PUT", `/_matrix/client/v3/user/${enc(bob.userId)}/account_data/m.direct`, { token: bob.accessToken, body: { [alice.userId]: [roomId] } });
  await api(server, "PUT", `/_matrix/client/v3/user/${enc(bob.userId)}/rooms/${enc(roomId)}/tags/m.favourite`, { token: bob.accessToken, body: { order: 0.5 } });
  const s = await sync(bob);
  assert.deepEqual(s.account_data.events.find((e) => e.type === "m.direct").content, { [alice.userId]: [roomId] });
  assert.ok(s.account_data.events.some((e) => e.type === "m.push_rules"));
  assert.deepEqual(s.rooms.join[roomId].account_data.events.find((e) => e.type === "m.tag").content, { tags: { "m.favourite": { order: 0.5 } } });
  const got = await api(server, "GET", `/_matrix/client/v3/user/${enc(bob.userId)}/account_data/m.direct`, { token: bob.accessToken });
  assert.deepEqual(got.body, { [alice.userId]: [roomId] });
  assert.equal((await api(server, "GET", `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/m.direct`, { token: bob.accessToken })).status, 403);
  const markers = await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/read_markers`, { token: bob.accessToken, body: { "m.fully_read": id, "m.read": id } });
  assert.equal(markers.status, 200);
  assert.equal((await sync(bob)).rooms.join[roomId].account_data.events.find((e) => e.type === "m.fully_read").content.event_id, id);
});

test("a new display name in a room is an incremental change, not the whole room again", async () => {
  const alice = await register(server);
  const roomId = await createRoom(alice, {});
  const first = await sync(alice, "");
  const renamed = await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(alice.userId)}`,
    { token: alice.accessToken, body: { membership: "join", displayname: "Boris" } });
  assert.equal(renamed.status, 200);
  await send(alice, roomId, "after the new name");
  const next = (await sync(alice, `?since=${first.next_batch}`)).rooms.join[roomId];
  assert.deepEqual(next.timeline.events.map((e) => e.type), ["m.room.member", "m.room.message"]);
  assert.equal(next.timeline.events[0].event_id, renamed.body.event_id);
  assert.ok(!next.state?.events?.some((e) => e.type === "m.room.create"), "no full state");
});

test("POST /send without a transaction ID (the API before r0): each request is a new event, refused to non-members", async () => {
  const [alice, bob] = [await register(server), await register(server)];
  const roomId = await createRoom(alice);
  const post = (who) => api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message`, { token: who.accessToken, body: { msgtype: "m.text", body: "ohne txn" } });
  const [a, b] = [await post(alice), await post(alice)];
  assert.equal(a.status, 200, JSON.stringify(a.body));
  assert.notEqual(a.body.event_id, b.body.event_id);
  const chunk = (await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=5`, { token: alice.accessToken })).body.chunk;
  assert.deepEqual(chunk.slice(0, 2).map((e) => e.event_id), [b.body.event_id, a.body.event_id]);
  assert.equal((await post(bob)).status, 403);
});
