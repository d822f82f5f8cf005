// Room aliases (client-server API "Room aliases"), tried as a client and as an attacker would:
// createRoom with room_alias_name sets m.room.canonical_alias; the alias resolves (without a token,
// as the spec has it) and joins; taken, malformed and foreign aliases are refused; only members
// who are no seekers create one; only the creator or the room's moderators delete one; only
// members list them; a canonical alias must point to its room. Also: the same state twice and a
// second join make no new event. And the published room directory (/publicRooms).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, register, registerSeeker, api } from "./harness.mjs";

const enc = encodeURIComponent;
let server, alice, bob, carol;
before(async () => {
  server = await startServer();
  [alice, bob, carol] = [await register(server), await register(server), await register(server)];
});
after(async () => { await server.stop(); server.cleanup(); });

const call = (who, method, path, body) => api(server, method, path, { token: who?.accessToken, body });
const expectError = (res, status, errcode, what) => {
  assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.errcode, errcode, what);
};

test("createRoom with an alias: canonical alias, resolution without a token, join by alias; a taken alias is refused", async () => {
  const created = await call(alice, "POST", "/_matrix/client/v3/createRoom", { preset: "public_chat", room_alias_name: "fallbesprechung" });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  const roomId = created.body.room_id;
  const alias = "#fallbesprechung:localhost";
  assert.deepEqual((await call(alice, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.canonical_alias/`)).body, { alias });
  const resolved = await call(null, "GET", `/_matrix/client/v3/directory/room/${enc(alias)}`);
  assert.deepEqual(resolved.body, { room_id: roomId, servers: ["localhost"] });
  assert.equal((await call(bob, "POST", `/_matrix/client/v3/join/${enc(alias)}`, {})).body.room_id, roomId);
  expectError(await call(bob, "POST", "/_matrix/client/v3/createRoom", { room_alias_name: "fallbesprechung" }), 400, "M_ROOM_IN_USE", "taken in createRoom");
  expectError(await call(bob, "POST", "/_matrix/client/v3/createRoom", { room_alias_name: "a:b" }), 400, "M_INVALID_PARAM", "a colon in the name");
  expectError(await call(bob, "POST", `/_matrix/client/v3/join/${enc("#unknown:localhost")}`, {}), 404, "M_NOT_FOUND", "an unknown alias");
});

test("PUT, GET and DELETE /directory/room: who may create, list and delete aliases", async () => {
  const roomId = (await call(alice, "POST", "/_matrix/client/v3/createRoom", {})).body.room_id;
  const alias = "#team-mitte:localhost";
  expectError(await call(bob, "PUT", `/_matrix/client/v3/directory/room/${enc(alias)}`, { room_id: roomId }), 403, "M_FORBIDDEN", "a non-member");
  assert.equal((await call(alice, "PUT", `/_matrix/client/v3/directory/room/${enc(alias)}`, { room_id: roomId })).status, 200);
  expectError(await call(alice, "PUT", `/_matrix/client/v3/directory/room/${enc(alias)}`, { room_id: roomId }), 409, "M_UNKNOWN", "twice");
  expectError(await call(alice, "PUT", `/_matrix/client/v3/directory/room/${enc("#x:elsewhere.example")}`, { room_id: roomId }), 400, "M_INVALID_PARAM", "another server");
  expectError(await call(alice, "PUT", `/_matrix/client/v3/directory/room/${enc("noalias")}`, { room_id: roomId }), 400, "M_INVALID_PARAM", "malformed");
  expectError(await call(alice, "PUT", `/_matrix/client/v3/directory/room/${enc("#y:localhost")}`, { room_id: "!nope:localhost" }), 404, "M_NOT_FOUND", "an unknown room");
  assert.deepEqual((await call(alice, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/aliases`)).body, { aliases: [alias] });
  expectError(await call(carol, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/aliases`), 403, "M_FORBIDDEN", "a non-member lists");
  // Bob joins (invited) with power 0: he cannot delete Alice's alias; Alice can.
  await call(alice, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { user_id: bob.userId });
  await call(bob, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, {});
  expectError(await call(bob, "DELETE", `/_matrix/client/v3/directory/room/${enc(alias)}`), 403, "M_FORBIDDEN", "neither creator nor moderator");
  assert.equal((await call(alice, "DELETE", `/_matrix/client/v3/directory/room/${enc(alias)}`)).status, 200);
  expectError(await call(alice, "GET", `/_matrix/client/v3/directory/room/${enc(alias)}`), 404, "M_NOT_FOUND", "deleted");
  expectError(await call(alice, "DELETE", `/_matrix/client/v3/directory/room/${enc(alias)}`), 404, "M_NOT_FOUND", "deleted twice");
  // Made a moderator (power 50, the level for m.room.canonical_alias), Bob deletes an alias of Alice's.
  const another = "#team-mitte-2:localhost";
  assert.equal((await call(alice, "PUT", `/_matrix/client/v3/directory/room/${enc(another)}`, { room_id: roomId })).status, 200);
  const third = "#team-mitte-3:localhost";
  assert.equal((await call(alice, "PUT", `/_matrix/client/v3/directory/room/${enc(third)}`, { room_id: roomId })).status, 200);
  const canonical = `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.canonical_alias/`;
  assert.equal((await call(alice, "PUT", canonical, { alias: another, alt_aliases: [third, another] })).status, 200);
  const pl = (await call(alice, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`)).body;
  pl.users[bob.userId] = 50;
  assert.equal((await call(alice, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, pl)).status, 200);
  assert.equal((await call(bob, "DELETE", `/_matrix/client/v3/directory/room/${enc(another)}`)).status, 200, "a moderator deletes");
  // A deleted alias leaves the canonical alias event, as `alias` and among `alt_aliases`.
  assert.deepEqual((await call(alice, "GET", canonical)).body, { alt_aliases: [third] });
  // Without the power to change that event, deleting one's own alias leaves the event as it is.
  const own = "#bobs-eigener:localhost";
  pl.users[bob.userId] = 0;
  assert.equal((await call(alice, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.power_levels/`, pl)).status, 200);
  assert.equal((await call(bob, "PUT", `/_matrix/client/v3/directory/room/${enc(own)}`, { room_id: roomId })).status, 200);
  assert.equal((await call(alice, "PUT", canonical, { alt_aliases: [third, own] })).status, 200);
  assert.equal((await call(bob, "DELETE", `/_matrix/client/v3/directory/room/${enc(own)}`)).status, 200, "the alias's creator deletes it");
  assert.deepEqual((await call(alice, "GET", canonical)).body, { alt_aliases: [third, own] });
});

test("a seeker gives no room an alias, not even her consultation", async () => {
  const seeker = await registerSeeker(server);
  const opened = await call(seeker, "POST", "/_lotse/client/v1/consultations", { counselor: alice.userId, topic: "aufenthalt" });
  assert.equal(opened.status, 200, JSON.stringify(opened.body));
  expectError(await call(seeker, "PUT", `/_matrix/client/v3/directory/room/${enc("#meine-beratung:localhost")}`, { room_id: opened.body.room_id }),
    403, "M_FORBIDDEN", "a seeker's alias");
});

test("m.room.canonical_alias must point to its room; the same state twice and a second join make no new event", async () => {
  const roomId = (await call(alice, "POST", "/_matrix/client/v3/createRoom", { room_alias_name: "eins" })).body.room_id;
  const other = (await call(alice, "POST", "/_matrix/client/v3/createRoom", { room_alias_name: "zwei" })).body.room_id;
  assert.ok(other);
  const put = (content) => call(alice, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.canonical_alias/`, content);
  expectError(await put({ alias: "#zwei:localhost" }), 400, "M_BAD_ALIAS", "another room's alias");
  expectError(await put({ alias: "#eins:localhost", alt_aliases: ["#frei:localhost"] }), 400, "M_BAD_ALIAS", "an alias that does not exist");
  expectError(await put({ alias: "eins" }), 400, "M_INVALID_PARAM", "not an alias");
  assert.equal((await put({ alias: "#eins:localhost", alt_aliases: [] })).status, 200);
  const topic = (t) => call(alice, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.topic/`, { topic: t });
  const first = await topic("Fallbesprechung");
  assert.equal((await topic("Fallbesprechung")).body.event_id, first.body.event_id, "the same state again");
  assert.notEqual((await topic("Anderes Thema")).body.event_id, first.body.event_id);
  const before = (await call(alice, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=50`)).body.chunk.length;
  assert.equal((await call(alice, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, {})).status, 200);
  assert.equal((await call(alice, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=50`)).body.chunk.length, before, "joined again: no event");
});

test("the published room directory: createRoom's visibility, /directory/list/room, /publicRooms with search and pages; not for seekers, never a consultation", async () => {
  const listed = (await call(alice, "POST", "/_matrix/client/v3/createRoom", { visibility: "public", preset: "public_chat", name: "Fallbesprechung Mitte", topic: "Mittwochs" })).body.room_id;
  const hidden = (await call(bob, "POST", "/_matrix/client/v3/createRoom", { name: "Privat" })).body.room_id;
  assert.deepEqual((await call(null, "GET", `/_matrix/client/v3/directory/list/room/${enc(listed)}`)).body, { visibility: "public" });
  assert.deepEqual((await call(null, "GET", `/_matrix/client/v3/directory/list/room/${enc(hidden)}`)).body, { visibility: "private" });
  const all = (await call(carol, "GET", "/_matrix/client/v3/publicRooms")).body;
  const entry = all.chunk.find((r) => r.room_id === listed);
  assert.deepEqual([entry.name, entry.topic, entry.num_joined_members, entry.world_readable, entry.guest_can_join, entry.join_rule],
    ["Fallbesprechung Mitte", "Mittwochs", 1, false, false, "public"]);
  assert.ok(!all.chunk.some((r) => r.room_id === hidden), "a private room is not listed");
  const found = (await call(carol, "POST", "/_matrix/client/v3/publicRooms", { filter: { generic_search_term: "MITTE" } })).body.chunk;
  assert.deepEqual(found.map((r) => r.room_id), [listed]);
  assert.equal((await call(carol, "POST", "/_matrix/client/v3/publicRooms", { filter: { generic_search_term: "nirgends" } })).body.chunk.length, 0);
  // Pages of one: the second room comes with next_batch.
  const second = (await call(bob, "POST", "/_matrix/client/v3/createRoom", { visibility: "public", name: "Zweiter Raum" })).body.room_id;
  const page1 = (await call(carol, "GET", "/_matrix/client/v3/publicRooms?limit=1")).body;
  assert.equal(page1.chunk.length, 1);
  const page2 = (await call(carol, "GET", `/_matrix/client/v3/publicRooms?limit=1&since=${page1.next_batch}`)).body;
  assert.ok(page1.next_batch, "a next page");
  assert.equal(page2.next_batch, undefined, "the last page");
  assert.equal(page2.prev_batch, "o0");
  assert.deepEqual([...page1.chunk, ...page2.chunk].map((r) => r.room_id).sort(), [listed, second].sort());
  assert.equal(page1.total_room_count_estimate, 2);
  expectError(await call(carol, "GET", "/_matrix/client/v3/publicRooms?since=zz"), 400, "M_INVALID_PARAM", "a bad token");
  // Who may change it: not someone outside the room; the creator may.
  expectError(await call(carol, "PUT", `/_matrix/client/v3/directory/list/room/${enc(listed)}`, { visibility: "private" }), 403, "M_FORBIDDEN", "an outsider");
  assert.equal((await call(alice, "PUT", `/_matrix/client/v3/directory/list/room/${enc(listed)}`, { visibility: "private" })).status, 200);
  assert.ok(!(await call(carol, "GET", "/_matrix/client/v3/publicRooms")).body.chunk.some((r) => r.room_id === listed));
  // Seekers: no directory, and their consultations are never listed.
  const seeker = await registerSeeker(server);
  expectError(await call(seeker, "GET", "/_matrix/client/v3/publicRooms"), 403, "M_FORBIDDEN", "a seeker");
  assert.equal((await call(null, "GET", "/_matrix/client/v3/publicRooms")).status, 401);
  const consultation = (await call(seeker, "POST", "/_lotse/client/v1/consultations", { counselor: alice.userId, topic: "wohnen" })).body.room_id;
  await call(alice, "POST", `/_matrix/client/v3/join/${enc(consultation)}`, {});
  expectError(await call(alice, "PUT", `/_matrix/client/v3/directory/list/room/${enc(consultation)}`, { visibility: "public" }), 403, "M_FORBIDDEN", "a consultation");
});
