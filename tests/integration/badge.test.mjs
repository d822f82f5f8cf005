// What Element shows as a room's badge, against Lotse: Element takes the badge from matrix-js-sdk's
// room counts (RoomNotifs.determineUnreadState: a red badge for highlights, a grey one for the
// total, none in a muted room), and the SDK builds those counts in an encrypted room from the
// server's /sync counts and its own evaluation of each decrypted event. So the server's part is:
// count every encrypted event that may notify, answer 0 once a receipt has read it all, and follow
// the push rules Element writes for its room settings (Mute: an override rule on the room id with
// "dont_notify"; Mentions only: a room rule with "dont_notify"; the master switch). Synapse answers
// the same, since it cannot read encrypted events either.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, register, api, startCryptoClient, decryptedBody, waitFor } from "./harness.mjs";

const enc = encodeURIComponent;
let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); server.cleanup(); });

// The room's counts as Element reads them (main timeline, no threads), and as the server sent them.
const badge = (client, roomId) => {
  const room = client.getRoom(roomId);
  return { total: room.getRoomUnreadNotificationCount("total"), highlight: room.getRoomUnreadNotificationCount("highlight") };
};
async function serverCounts(session, roomId) {
  const res = await api(server, "GET", "/_matrix/client/v3/sync?timeout=0", { token: session.accessToken });
  return res.body.rooms.join[roomId].unread_notifications;
}

test("Element's badge: encrypted messages count, a mention is red, a notice is not counted, a receipt clears it, Mute and Mentions-only and the master switch hold", async () => {
  const counselorReg = await register(server, "badge_beraterin");
  const seekerReg = await register(server, "badge_seeker");
  const third = await register(server, "badge_service");
  const counselor = await startCryptoClient(server, counselorReg);
  const seeker = await startCryptoClient(server, seekerReg);
  try {
    // Three members, as in a consultation (seeker, counselor, service user): no one-to-one rule.
    const { room_id: roomId } = await seeker.createRoom({
      preset: "private_chat", invite: [counselorReg.userId, third.userId],
      initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
    });
    await waitFor(() => counselor.getRoom(roomId)?.getMyMembership() === "invite", "the invite");
    await counselor.joinRoom(roomId);
    assert.equal((await api(server, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: third.accessToken, body: {} })).status, 200);
    await waitFor(() => seeker.getRoom(roomId)?.getJoinedMemberCount() === 3, "three joined");
    await waitFor(async () => seeker.getCrypto().isEncryptionEnabledInRoom(roomId), "encryption on");

    const say = async (content) => {
      const { event_id: id } = await seeker.sendMessage(roomId, content);
      await decryptedBody(counselor, roomId, id, `the counselor decrypts "${content.body}"`);
      return id;
    };
    await say({ msgtype: "m.text", body: "Guten Tag" });
    await say({ msgtype: "m.text", body: "Frau Berger, haben Sie Zeit?", "m.mentions": { user_ids: [counselorReg.userId] } });
    await say({ msgtype: "m.notice", body: "automatische Antwort" });
    const last = await say({ msgtype: "m.text", body: "Danke" });

    // The server cannot read them: all four count, none is a highlight (as with Synapse) ...
    assert.deepEqual(await serverCounts(counselorReg, roomId), { notification_count: 4, highlight_count: 0 });
    // ... and the SDK, after decryption, drops the notice and finds the mention: grey 3, red 1.
    await waitFor(() => badge(counselor, roomId).total === 3, `a badge of 3 (now ${JSON.stringify(badge(counselor, roomId))})`);
    assert.deepEqual(badge(counselor, roomId), { total: 3, highlight: 1 });

    // Reading to the end: the server's 0 is what the SDK takes in an encrypted room.
    await counselor.sendReadReceipt(counselor.getRoom(roomId).findEventById(last));
    await waitFor(async () => (await serverCounts(counselorReg, roomId)).notification_count === 0, "the server's count reset");
    await waitFor(() => badge(counselor, roomId).total === 0, "the badge cleared");

    // Mute, as Element sets it: nothing counts on the server or in the SDK, not even a mention.
    await counselor.addPushRule("global", "override", roomId, {
      conditions: [{ kind: "event_match", key: "room_id", pattern: roomId }], actions: ["dont_notify"] });
    await waitFor(() => counselor.pushRules?.global?.override?.some((r) => r.rule_id === roomId), "the SDK sees the mute rule");
    await say({ msgtype: "m.text", body: "Noch eine Frage" });
    const mutedLast = await say({ msgtype: "m.text", body: "Frau Berger?", "m.mentions": { user_ids: [counselorReg.userId] } });
    assert.deepEqual(await serverCounts(counselorReg, roomId), { notification_count: 0, highlight_count: 0 });
    assert.deepEqual(badge(counselor, roomId), { total: 0, highlight: 0 });
    await counselor.sendReadReceipt(counselor.getRoom(roomId).findEventById(mutedLast));

    // Mentions only, as Element sets it (the mute rule goes, a room rule comes): a plain message
    // counts nowhere; a mention is counted and red in the SDK (the server cannot see it).
    await counselor.deletePushRule("global", "override", roomId);
    await counselor.addPushRule("global", "room", roomId, { actions: ["dont_notify"] });
    await waitFor(() => counselor.pushRules?.global?.room?.some((r) => r.rule_id === roomId) &&
      !counselor.pushRules.global.override.some((r) => r.rule_id === roomId), "the SDK sees the room rule");
    await say({ msgtype: "m.text", body: "Ich warte" });
    assert.deepEqual(await serverCounts(counselorReg, roomId), { notification_count: 0, highlight_count: 0 });
    assert.deepEqual(badge(counselor, roomId), { total: 0, highlight: 0 });
    await say({ msgtype: "m.text", body: "Frau Berger, bitte!", "m.mentions": { user_ids: [counselorReg.userId] } });
    await waitFor(() => badge(counselor, roomId).highlight === 1, "the mention is red");
    assert.equal(badge(counselor, roomId).total, 1);

    // The master switch ("Enable notifications for this account" off): the server counts nothing.
    await counselor.deletePushRule("global", "room", roomId);
    await counselor.setPushRuleEnabled("global", "override", ".m.rule.master", true);
    const before = await serverCounts(counselorReg, roomId);
    await say({ msgtype: "m.text", body: "Hallo?" });
    assert.deepEqual(await serverCounts(counselorReg, roomId), before);
    await counselor.setPushRuleEnabled("global", "override", ".m.rule.master", false);
    await say({ msgtype: "m.text", body: "Hallo!" });
    assert.equal((await serverCounts(counselorReg, roomId)).notification_count, before.notification_count + 1);
  } finally {
    counselor.stopClient();
    seeker.stopClient();
  }
});
