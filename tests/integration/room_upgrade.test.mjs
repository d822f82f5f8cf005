// Room versions 1 to 11 and room upgrades (client-server API "Room Upgrades"), as a client and as an
// attacker would try them: every stable version can be created and used (event IDs in each
// version's format, redactions, `creator` where the version has it); /upgrade makes a replacement
// room linked both ways, copies what the spec recommends and the bans, moves aliases, the canonical
// alias and the directory entry, restricts the old room, invites its members and copies their tags,
// m.direct entries and push rules; unknown versions, users without the power to send a tombstone,
// seekers' consultations and unknown rooms are refused, with nothing written.
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
const room = (id) => `/_matrix/client/v3/rooms/${enc(id)}`;
const state = async (who, roomId, type, key = "") => (await call(who, "GET", `${room(roomId)}/state/${type}/${enc(key)}`)).body;
const timeline = async (who, roomId) => (await call(who, "GET", `${room(roomId)}/messages?dir=f&limit=100`)).body.chunk;
const send = async (who, roomId, body) =>
  (await call(who, "PUT", `${room(roomId)}/send/m.room.message/t${Math.random().toString(36).slice(2)}`, { msgtype: "m.text", body })).body.event_id;

test("every stable room version can be created and used; each has its event ID format", async () => {
  const caps = (await call(alice, "GET", "/_matrix/client/v3/capabilities")).body.capabilities["m.room_versions"];
  assert.deepEqual(Object.keys(caps.available).sort((a, b) => a - b), ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]);
  assert.equal(caps.default, "11");
  for (let v = 1; v <= 11; v++) {
    const created = await call(alice, "POST", "/_matrix/client/v3/createRoom", { room_version: String(v), invite: [bob.userId] });
    assert.equal(created.status, 200, `v${v}: ${JSON.stringify(created.body)}`);
    const roomId = created.body.room_id;
    const create = await state(alice, roomId, "m.room.create");
    assert.equal(create.room_version, String(v));
    assert.equal(create.creator, v <= 10 ? alice.userId : undefined, `v${v}: creator only up to v10`);
    assert.equal((await call(bob, "POST", `${room(roomId)}/join`, {})).status, 200, `v${v}: join`);
    // Enough messages that base64 IDs of v3 hold a '/' or '+' now and then: each is read back by its ID.
    const ids = [];
    for (let i = 0; i < 6; i++) ids.push(await send(i % 2 ? bob : alice, roomId, `v${v} #${i}`));
    for (const id of ids) {
      if (v <= 2) assert.match(id, /^\$[A-Za-z0-9_-]+:localhost$/, `v${v}: opaque ID with the server`);
      else if (v === 3) assert.match(id, /^\$[A-Za-z0-9+/]{43}$/, "v3: standard base64 reference hash");
      else assert.match(id, /^\$[A-Za-z0-9_-]{43}$/, `v${v}: URL-safe reference hash`);
      const got = await call(bob, "GET", `${room(roomId)}/event/${enc(id)}`);
      assert.equal(got.status, 200, `v${v} ${id}: ${JSON.stringify(got.body)}`);
      assert.equal(got.body.event_id, id);
    }
    const bodies = (await timeline(bob, roomId)).filter((e) => e.type === "m.room.message").map((e) => e.content.body);
    assert.deepEqual(bodies, [0, 1, 2, 3, 4, 5].map((i) => `v${v} #${i}`));
    // A redaction in each version's algorithm; its own ID in the right format too.
    const redaction = await call(alice, "PUT", `${room(roomId)}/redact/${enc(ids[1])}/r${v}`, { reason: "test" });
    assert.equal(redaction.status, 200, `v${v}: redact ${JSON.stringify(redaction.body)}`);
    const redacted = (await call(bob, "GET", `${room(roomId)}/event/${enc(ids[1])}`)).body;
    assert.deepEqual(redacted.content, {}, `v${v}: content gone`);
    assert.equal(redacted.unsigned.redacted_because.event_id, redaction.body.event_id);
  }
  for (const bad of ["12", "0", "01", "1.0", ""])
    expectError(await call(alice, "POST", "/_matrix/client/v3/createRoom", { room_version: bad }), 400, "M_UNSUPPORTED_ROOM_VERSION", `room_version ${JSON.stringify(bad)}`);
  expectError(await call(alice, "POST", "/_matrix/client/v3/createRoom", { room_version: 10 }), 400, "M_BAD_JSON", "a number is no version");
});

test("knocking exists from room version 7 on", async () => {
  for (const [v, allowed] of [["6", false], ["7", true]]) {
    const roomId = (await call(alice, "POST", "/_matrix/client/v3/createRoom", { room_version: v, initial_state: [{ type: "m.room.join_rules", state_key: "", content: { join_rule: "knock" } }] })).body.room_id;
    const knock = await call(carol, "PUT", `${room(roomId)}/state/m.room.member/${enc(carol.userId)}`, { membership: "knock" });
    assert.equal(knock.status, allowed ? 200 : 403, `v${v}: ${JSON.stringify(knock.body)}`);
  }
});

test("/upgrade: a replacement room linked both ways, with the state, bans, aliases, directory entry and members' settings", async () => {
  const created = await call(alice, "POST", "/_matrix/client/v3/createRoom", {
    room_version: "10", name: "Fallbesprechung", topic: "Dienstags", room_alias_name: "fallrunde", invite: [bob.userId],
    creation_content: { "m.federate": false },
    initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
  });
  const old = created.body.room_id;
  await call(bob, "POST", `${room(old)}/join`, {});
  await call(alice, "PUT", `/_matrix/client/v3/directory/list/room/${enc(old)}`, { visibility: "public" });
  await call(alice, "POST", `${room(old)}/ban`, { user_id: carol.userId, reason: "test" });
  await call(alice, "PUT", `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/m.direct`, { [bob.userId]: [old] });
  await call(bob, "PUT", `/_matrix/client/v3/user/${enc(bob.userId)}/rooms/${enc(old)}/tags/u.work`, { order: 0.5 });
  assert.equal((await call(bob, "PUT", `/_matrix/client/v3/pushrules/global/room/${enc(old)}`, { actions: ["dont_notify"] })).status, 200);
  const pl = await state(alice, old, "m.room.power_levels");
  const before = (await timeline(alice, old)).length;

  const upgraded = await call(alice, "POST", `${room(old)}/upgrade`, { new_version: "9" });
  assert.equal(upgraded.status, 200, JSON.stringify(upgraded.body));
  const fresh = upgraded.body.replacement_room;
  assert.notEqual(fresh, old);

  // The old room: the tombstone first, then its power levels restricted and the canonical alias cleared.
  const after = (await timeline(alice, old)).slice(before);
  assert.equal(after[0].type, "m.room.tombstone");
  assert.equal(after[0].content.replacement_room, fresh);
  const oldPl = await state(alice, old, "m.room.power_levels");
  assert.equal(oldPl.events_default, 50);
  assert.equal(oldPl.invite, 50);
  assert.deepEqual(await state(alice, old, "m.room.canonical_alias"), {});
  expectError(await call(bob, "PUT", `${room(old)}/send/m.room.message/late`, { msgtype: "m.text", body: "zu spät" }), 403, "M_FORBIDDEN", "the old room takes no more messages");

  // The new room.
  const create = await state(alice, fresh, "m.room.create");
  assert.deepEqual(create.predecessor, { room_id: old, event_id: after[0].event_id });
  assert.equal(create.room_version, "9");
  assert.equal(create.creator, alice.userId);
  assert.equal(create["m.federate"], false);
  assert.deepEqual(await state(alice, fresh, "m.room.power_levels"), pl, "the same power levels, the upgrader's level included");
  assert.equal((await state(alice, fresh, "m.room.name")).name, "Fallbesprechung");
  assert.equal((await state(alice, fresh, "m.room.topic")).topic, "Dienstags");
  assert.equal((await state(alice, fresh, "m.room.encryption")).algorithm, "m.megolm.v1.aes-sha2");
  assert.equal((await state(alice, fresh, "m.room.join_rules")).join_rule, "invite");
  assert.equal((await state(alice, fresh, `m.room.member`, carol.userId)).membership, "ban", "bans are copied");
  assert.equal((await state(alice, fresh, `m.room.member`, bob.userId)).membership, "invite", "members of an invite-only room are invited");
  assert.deepEqual(await state(alice, fresh, "m.room.canonical_alias"), { alias: "#fallrunde:localhost" });
  assert.equal((await call(bob, "GET", `/_matrix/client/v3/directory/room/${enc("#fallrunde:localhost")}`)).body.room_id, fresh);
  assert.equal((await call(alice, "GET", `/_matrix/client/v3/directory/list/room/${enc(fresh)}`)).body.visibility, "public");
  assert.equal((await call(alice, "GET", `/_matrix/client/v3/directory/list/room/${enc(old)}`)).body.visibility, "private");
  assert.deepEqual((await call(alice, "GET", `/_matrix/client/v3/user/${enc(alice.userId)}/account_data/m.direct`)).body, { [bob.userId]: [old, fresh] });

  // Bob joins and finds his settings for the room there.
  assert.equal((await call(bob, "POST", `${room(fresh)}/join`, {})).status, 200);
  assert.deepEqual((await call(bob, "GET", `/_matrix/client/v3/user/${enc(bob.userId)}/rooms/${enc(fresh)}/tags`)).body, { tags: { "u.work": { order: 0.5 } } });
  const rule = await call(bob, "GET", `/_matrix/client/v3/pushrules/global/room/${enc(fresh)}`);
  assert.equal(rule.status, 200, JSON.stringify(rule.body));
  assert.deepEqual(rule.body.actions, ["dont_notify"]);
  assert.equal((await call(bob, "GET", `/_matrix/client/v3/pushrules/global/room/${enc(old)}`)).status, 200, "the old room's rule stays");
  assert.ok(await send(bob, fresh, "weiter hier"));
});

test("/upgrade is refused for unknown versions, without the power for a tombstone, for consultations and unknown rooms, with nothing written", async () => {
  const roomId = (await call(alice, "POST", "/_matrix/client/v3/createRoom", { preset: "public_chat" })).body.room_id;
  await call(bob, "POST", `${room(roomId)}/join`, {});
  const count = async () => (await timeline(alice, roomId)).length;
  const n = await count();
  const roomsOf = async (who) => (await call(who, "GET", "/_matrix/client/v3/joined_rooms")).body.joined_rooms.length;
  const bobRooms = await roomsOf(bob);
  expectError(await call(alice, "POST", `${room(roomId)}/upgrade`, { new_version: "my_bad_version" }), 400, "M_UNSUPPORTED_ROOM_VERSION", "unknown version");
  expectError(await call(alice, "POST", `${room(roomId)}/upgrade`, { new_version: 9 }), 400, "M_BAD_JSON", "a number");
  expectError(await call(alice, "POST", `${room(roomId)}/upgrade`, {}), 400, "M_MISSING_PARAM", "no version");
  expectError(await call(bob, "POST", `${room(roomId)}/upgrade`, { new_version: "11" }), 403, "M_FORBIDDEN", "a member without the power");
  assert.equal(await roomsOf(bob), bobRooms, "no replacement room was left behind");
  expectError(await call(carol, "POST", `${room(roomId)}/upgrade`, { new_version: "11" }), 403, "M_FORBIDDEN", "a non-member");
  expectError(await call(alice, "POST", `${room("!fail:unknown")}/upgrade`, { new_version: "11" }), 404, "M_NOT_FOUND", "an unknown room");
  expectError(await call(alice, "PUT", `${room(roomId)}/send/m.room.tombstone/t1`, { replacement_room: roomId }), 400, "M_INVALID_PARAM", "a tombstone naming its own room");
  expectError(await call(alice, "PUT", `${room(roomId)}/state/m.room.tombstone/`, { replacement_room: roomId }), 400, "M_INVALID_PARAM", "the same as state");
  assert.equal(await count(), n, "nothing was written to the room");

  // A consultation keeps its room; a seeker upgrades nothing.
  const seeker = await registerSeeker(server);
  const c = await api(server, "POST", "/_lotse/client/v1/consultations", { token: seeker.accessToken, body: { counselor: alice.userId, topic: "aufenthalt" } });
  assert.equal(c.status, 200, JSON.stringify(c.body));
  await call(alice, "POST", `${room(c.body.room_id)}/join`, {});
  expectError(await call(alice, "POST", `${room(c.body.room_id)}/upgrade`, { new_version: "11" }), 403, "M_FORBIDDEN", "the counselor, a consultation");
  expectError(await call(seeker, "POST", `${room(c.body.room_id)}/upgrade`, { new_version: "11" }), 403, "M_FORBIDDEN", "the seeker");
});
