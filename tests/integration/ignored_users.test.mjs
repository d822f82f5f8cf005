// Ignoring users (client-server API "Ignoring Users", m.ignored_user_list): from the next /sync on,
// an ignored user's messages do not reach the ignoring user (state events still do), nor do they
// show in /messages, count as unread or appear in /notifications; invites from them are not shown;
// un-ignoring brings new messages again. Nobody else is affected.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, register, api } from "./harness.mjs";

const enc = encodeURIComponent;
let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); server.cleanup(); });

const sync = async (who, since) => (await api(server, "GET", `/_matrix/client/v3/sync${since ? `?since=${enc(since)}` : ""}`, { token: who.accessToken })).body;
const send = async (who, roomId, body) =>
  (await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${Math.random().toString(36).slice(2)}`,
    { token: who.accessToken, body: { msgtype: "m.text", body } })).body.event_id;
const ignore = async (who, users) => {
  const res = await api(server, "PUT", `/_matrix/client/v3/user/${enc(who.userId)}/account_data/m.ignored_user_list`,
    { token: who.accessToken, body: { ignored_users: Object.fromEntries(users.map((u) => [u.userId, {}])) } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
};
const bodies = (room) => (room?.timeline.events ?? []).filter((e) => e.type === "m.room.message").map((e) => e.content.body);

test("an ignored user's messages, counts, notifications and invites stop for the ignoring user only", async () => {
  const alice = await register(server), bob = await register(server), carol = await register(server);
  const roomId = (await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { invite: [bob.userId, carol.userId] } })).body.room_id;
  for (const who of [bob, carol]) assert.equal((await api(server, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: who.accessToken, body: {} })).status, 200);
  await send(alice, roomId, "before");
  const first = await sync(bob);
  let since = first.next_batch;
  const unreadBefore = first.rooms.join[roomId].unread_notifications.notification_count;

  await ignore(bob, [alice]);
  await send(alice, roomId, "ignored message");
  await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.name/`, { token: alice.accessToken, body: { name: "Neuer Name" } });
  await send(carol, roomId, "from carol");
  const s = await sync(bob, since);
  const room = s.rooms.join[roomId];
  assert.deepEqual(bodies(room), ["from carol"], "no message of the ignored user");
  assert.ok(room.timeline.events.some((e) => e.type === "m.room.name" && e.sender === alice.userId), "state events still come");
  assert.equal(room.unread_notifications.notification_count, unreadBefore + 1, "only carol's message counts");
  const notes = (await api(server, "GET", "/_matrix/client/v3/notifications", { token: bob.accessToken })).body.notifications;
  assert.ok(notes.some((n) => n.event.content?.body === "from carol"));
  assert.ok(notes.every((n) => n.event.content?.body !== "ignored message"), "no notification for the ignored message");
  // /messages, backwards from now: the ignored message is not there for bob, but is for carol.
  const page = async (who) => (await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=50`, { token: who.accessToken })).body.chunk
    .filter((e) => e.type === "m.room.message").map((e) => e.content.body);
  assert.ok(!(await page(bob)).includes("ignored message"));
  assert.ok((await page(bob)).includes("from carol"));
  assert.ok((await page(carol)).includes("ignored message"), "others are not affected");
  const carolSync = await sync(carol);
  assert.ok(bodies(carolSync.rooms.join[roomId]).includes("ignored message"));

  // An invite from the ignored user is not shown; one from someone else is.
  const fromAlice = (await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { invite: [bob.userId] } })).body.room_id;
  const fromCarol = (await api(server, "POST", "/_matrix/client/v3/createRoom", { token: carol.accessToken, body: { invite: [bob.userId] } })).body.room_id;
  const invites = (await sync(bob)).rooms.invite;
  assert.ok(!(fromAlice in invites), "no invite from the ignored user");
  assert.ok(fromCarol in invites);

  // Un-ignored: what she sends now reaches bob again.
  since = s.next_batch;
  await ignore(bob, []);
  await send(alice, roomId, "after");
  assert.deepEqual(bodies((await sync(bob, since)).rooms.join[roomId]), ["after"]);
});
