// Relations and threads: /v1/relations with filters and pagination, /v1/threads, bundled thread
// aggregations, and redaction removing a relation.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, register, api } from "./harness.mjs";

const enc = encodeURIComponent;
let server, alice, bob, roomId;
const send = async (who, type, content) =>
  (await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/${type}/${Math.random().toString(36).slice(2)}`, { token: who.accessToken, body: content })).body.event_id;
const thread = (root, body) => ({ msgtype: "m.text", body, "m.relates_to": { rel_type: "m.thread", event_id: root } });

before(async () => {
  server = await startServer();
  alice = await register(server);
  bob = await register(server);
  roomId = (await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { preset: "public_chat" } })).body.room_id;
  await api(server, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} });
});
after(async () => { await server.stop(); server.cleanup(); });

test("relations of an event, by type, paginated", async () => {
  const root = await send(alice, "m.room.message", { msgtype: "m.text", body: "Frage zur Anmeldung" });
  const replies = [];
  for (let i = 0; i < 5; i++) replies.push(await send(i % 2 ? bob : alice, "m.room.message", thread(root, `reply ${i}`)));
  const reaction = await send(bob, "m.reaction", { "m.relates_to": { rel_type: "m.annotation", event_id: root, key: "👍" } });
  const base = `/_matrix/client/v1/rooms/${enc(roomId)}/relations/${enc(root)}`;

  const all = await api(server, "GET", base, { token: bob.accessToken });
  assert.deepEqual(all.body.chunk.map((e) => e.event_id), [reaction, ...replies.slice().reverse()]);
  const annotations = await api(server, "GET", `${base}/m.annotation`, { token: bob.accessToken });
  assert.deepEqual(annotations.body.chunk.map((e) => e.event_id), [reaction]);
  const typed = await api(server, "GET", `${base}/m.thread/m.room.message?limit=2`, { token: bob.accessToken });
  assert.deepEqual(typed.body.chunk.map((e) => e.event_id), [replies[4], replies[3]]);
  assert.ok(typed.body.next_batch);
  const page2 = await api(server, "GET", `${base}/m.thread/m.room.message?limit=2&from=${typed.body.next_batch}`, { token: bob.accessToken });
  assert.deepEqual(page2.body.chunk.map((e) => e.event_id), [replies[2], replies[1]]);
  const forward = await api(server, "GET", `${base}/m.thread?dir=f&limit=10`, { token: bob.accessToken });
  assert.deepEqual(forward.body.chunk.map((e) => e.event_id), replies);

  // The root carries the bundled thread summary.
  const ev = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(root)}`, { token: bob.accessToken });
  const summary = ev.body.unsigned["m.relations"]["m.thread"];
  assert.equal(summary.count, 5);
  assert.equal(summary.latest_event.event_id, replies[4]);
  assert.equal(summary.current_user_participated, true);

  // Redacting a reply removes it from the relations.
  await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/redact/${enc(replies[4])}/r1`, { token: alice.accessToken, body: {} });
  const after = await api(server, "GET", `${base}/m.thread`, { token: bob.accessToken });
  assert.ok(!after.body.chunk.some((e) => e.event_id === replies[4]));
  assert.equal(after.body.chunk.length, 4);
});

test("thread list, newest activity first, and participated filter", async () => {
  const t1 = await send(alice, "m.room.message", { msgtype: "m.text", body: "Thema 1" });
  const t2 = await send(bob, "m.room.message", { msgtype: "m.text", body: "Thema 2" });
  await send(bob, "m.room.message", thread(t1, "a"));
  await send(alice, "m.room.message", thread(t2, "b"));
  await send(bob, "m.room.message", thread(t1, "c"));
  const list = await api(server, "GET", `/_matrix/client/v1/rooms/${enc(roomId)}/threads?limit=2`, { token: alice.accessToken });
  assert.deepEqual(list.body.chunk.map((e) => e.event_id), [t1, t2]);
  assert.ok(list.body.next_batch);
  const bobs = await api(server, "GET", `/_matrix/client/v1/rooms/${enc(roomId)}/threads?include=participated`, { token: bob.accessToken });
  assert.ok(bobs.body.chunk.some((e) => e.event_id === t1) && bobs.body.chunk.some((e) => e.event_id === t2));
  const outsider = await register(server);
  assert.equal((await api(server, "GET", `/_matrix/client/v1/rooms/${enc(roomId)}/threads`, { token: outsider.accessToken })).status, 403);
});
