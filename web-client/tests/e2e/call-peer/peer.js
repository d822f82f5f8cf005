// Stands in for Element Web in the call tests (tests/e2e/calls.test.mjs): the unmodified matrix-js-sdk
// with Rust crypto and its 1:1 calls (MatrixCall, CallEventHandler), the same m.call.* events Element
// sends, relay-only like Element with "Allow peer-to-peer for 1:1 calls" switched off. The test
// drives it through window.peer.
import { createClient, ClientEvent } from "matrix-js-sdk";
import { CallEventHandlerEvent } from "matrix-js-sdk/lib/webrtc/callEventHandler.js";
import { createNewMatrixCall, CallErrorCode } from "matrix-js-sdk/lib/webrtc/call.js";
import { logger } from "matrix-js-sdk/lib/logger.js";

logger.setLevel("warn");
let client = null;
const calls = [];  // every call of this page, incoming and outgoing, in order
let autoAnswer = false;  // answer with video the moment a call rings (for the set-up time)

window.peer = {
  async start({ baseUrl, userId, accessToken, deviceId }) {
    client = createClient({ baseUrl, userId, accessToken, deviceId, forceTURN: true });
    await client.initRustCrypto({ useIndexedDB: false });
    client.on(CallEventHandlerEvent.Incoming, (call) => {
      calls.push(call);
      if (autoAnswer) call.answer(true, true);
    });
    const ready = new Promise((resolve) => client.on(ClientEvent.Sync, (s) => { if (s === "PREPARED" || s === "SYNCING") resolve(); }));
    await client.startClient({ initialSyncLimit: 10 });
    await ready;
    await client.checkTurnServers();
    return { turn: client.getTurnServers().map((s) => s.urls).flat() };
  },
  async join(roomId) {
    await client.joinRoom(roomId);
  },
  invites() {
    return client.getRooms().filter((r) => r.getMyMembership() === "invite").map((r) => ({ roomId: r.roomId, name: r.name }));
  },
  // Element's condition for a 1:1 call: two joined members who are not functional members.
  nonFunctionalJoined(roomId) {
    const room = client.getRoom(roomId);
    const service = room?.currentState.getStateEvents("io.element.functional_members", "")?.getContent()?.service_members ?? [];
    return room?.getJoinedMembers().filter((m) => !service.includes(m.userId)).map((m) => m.userId) ?? [];
  },
  async place(roomId, invitee, video) {
    const call = createNewMatrixCall(client, roomId, { invitee });
    calls.push(call);
    await (video ? call.placeVideoCall() : call.placeVoiceCall());
  },
  state() {
    const c = calls[calls.length - 1];
    return c ? { n: calls.length, state: c.state, type: c.type, direction: c.direction, hangupReason: c.hangupReason ?? null,
      hangupParty: c.hangupParty ?? null, sender: c.getOpponentMember()?.userId ?? null } : { n: 0 };
  },
  autoAnswer(on) { autoAnswer = on; },
  async answer(video) { await calls[calls.length - 1].answer(true, video); },
  // Stops (or resumes) sending video while the audio goes on: what a connection too weak for video does.
  async videoThrough(on) {
    for (const sender of calls[calls.length - 1].peerConn.getSenders().filter((x) => x.track?.kind === "video")) {
      const p = sender.getParameters();
      for (const e of p.encodings) e.active = on;
      await sender.setParameters(p);
    }
  },
  // What the counselor's client knows of the seeker's feed (from her stream metadata), and its own camera.
  remoteVideoMuted() { return calls[calls.length - 1].getRemoteFeeds()[0]?.isVideoMuted() ?? null; },
  remoteAudioMuted() { return calls[calls.length - 1].getRemoteFeeds()[0]?.isAudioMuted() ?? null; },
  async setVideoMuted(on) { await calls[calls.length - 1].setLocalVideoMuted(on); },
  reject() { calls[calls.length - 1].reject(); },
  hangup() { calls[calls.length - 1].hangup(CallErrorCode.UserHangup, false); },
  // Timeline lines of a room: type and call_id of each m.call.* event (decrypted), to check they came encrypted.
  callEvents(roomId) {
    return client.getRoom(roomId).getLiveTimeline().getEvents().filter((e) => e.getType().startsWith("m.call."))
      .map((e) => ({ type: e.getType(), encrypted: e.isEncrypted(), callId: e.getContent().call_id, ts: e.getTs() }));
  },
  stop() { client?.stopClient(); },
};
