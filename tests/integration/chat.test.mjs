// Two people chat through matrix-js-sdk: register, log in, create a room, invite, join, talk both
// ways, paginate back, typing and receipts, redact, leave.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, register, startClient, waitFor, api, sdk } from "./harness.mjs";

let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); server.cleanup(); });

test("a counselor and a seeker chat through matrix-js-sdk", async () => {
  const matrix = await sdk();
  const aliceReg = await register(server, "alice");
  const bobReg = await register(server, "bob");

  // Log in again with the password flow, as a client would on a new device.
  const loginClient = matrix.createClient({ baseUrl: server.baseUrl });
  const login = await loginClient.loginRequest({
    type: "m.login.password", identifier: { type: "m.id.user", user: "bob" }, password: bobReg.password,
    initial_device_display_name: "bob's laptop",
  });
  assert.equal(login.user_id, "@bob:localhost");
  const bobSession = { userId: login.user_id, accessToken: login.access_token, deviceId: login.device_id };

  const alice = await startClient(server, aliceReg);
  const bob = await startClient(server, bobSession);
  try {
    const { room_id: roomId } = await alice.createRoom({ name: "Beratung", preset: "private_chat", invite: [bob.getUserId()], is_direct: true });
    await waitFor(() => bob.getRoom(roomId)?.getMyMembership() === "invite", "bob's invite");
    await bob.joinRoom(roomId);
    await waitFor(() => alice.getRoom(roomId)?.getMember(bob.getUserId())?.membership === "join", "alice sees bob join");
    assert.equal(bob.getRoom(roomId).name, "Beratung");

    // Messages both ways; each side sees the other's exact body.
    const { event_id: helloId } = await alice.sendTextMessage(roomId, "Guten Tag, wie kann ich helfen?");
    const seen = await waitFor(() => bob.getRoom(roomId)?.getLiveTimeline().getEvents().find((e) => e.getId() === helloId), "bob receives hello");
    assert.equal(seen.getContent().body, "Guten Tag, wie kann ich helfen?");
    assert.equal(seen.getSender(), alice.getUserId());
    const { event_id: replyId } = await bob.sendTextMessage(roomId, "مرحبا، لدي سؤال عن الإقامة");
    const reply = await waitFor(() => alice.getRoom(roomId).getLiveTimeline().getEvents().find((e) => e.getId() === replyId), "alice receives reply");
    assert.equal(reply.getContent().body, "مرحبا، لدي سؤال عن الإقامة");

    // Typing and read receipts reach the other side.
    await bob.sendTyping(roomId, true, 10000);
    await waitFor(() => alice.getRoom(roomId).getMember(bob.getUserId())?.typing, "alice sees bob typing");
    await bob.sendTyping(roomId, false);
    await waitFor(() => !alice.getRoom(roomId).getMember(bob.getUserId())?.typing, "typing stops");
    await alice.sendReceipt(reply, "m.read");
    await waitFor(() => bob.getRoom(roomId).getReadReceiptForUserId(alice.getUserId())?.eventId === replyId, "bob sees alice's receipt");

    // Redaction: both sides see the message as redacted.
    await alice.redactEvent(roomId, helloId);
    await waitFor(() => bob.getRoom(roomId).findEventById(helloId)?.isRedacted(), "bob sees the redaction");
    const fetched = await api(server, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(helloId)}`, { token: bobSession.accessToken });
    assert.equal(fetched.status, 200);
    assert.deepEqual(fetched.body.content, {});
    assert.ok(fetched.body.unsigned.redacted_because, "redacted_because is served");

    // Leave: bob's membership ends and alice sees it.
    await bob.leave(roomId);
    await waitFor(() => alice.getRoom(roomId).getMember(bob.getUserId())?.membership === "leave", "alice sees bob leave");
  } finally {
    alice.stopClient();
    bob.stopClient();
  }
});

test("a fresh client paginates back through history", async () => {
  const aliceReg = await register(server);
  const carolReg = await register(server);
  const alice = await startClient(server, aliceReg);
  try {
    const { room_id: roomId } = await alice.createRoom({ preset: "private_chat", invite: [carolReg.userId] });
    const sent = [];
    for (let i = 0; i < 45; i++) sent.push((await alice.sendTextMessage(roomId, `message ${i}`)).event_id);
    await api(server, "POST", `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { token: carolReg.accessToken, body: {} });

    const carol = await startClient(server, carolReg, { initialSyncLimit: 5 });
    try {
      const room = await waitFor(() => carol.getRoom(roomId), "carol's room");
      let guard = 0;
      while (room.getLiveTimeline().getEvents().filter((e) => e.getType() === "m.room.message").length < 45 && guard++ < 30)
        await carol.scrollback(room, 10);
      const bodies = room.getLiveTimeline().getEvents().filter((e) => e.getType() === "m.room.message").map((e) => e.getContent().body);
      assert.deepEqual(bodies, sent.map((_, i) => `message ${i}`));
      assert.equal(room.getLiveTimeline().getEvents()[0].getType(), "m.room.create");
    } finally {
      carol.stopClient();
    }
  } finally {
    alice.stopClient();
  }
});
