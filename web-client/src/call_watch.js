// Calls without their weight: the WebRTC code (matrix-js-sdk's MatrixCall, ~100 KB gzip, in
// src/calls.js) is loaded only when a call starts or rings. Until then this watches the timeline for
// a fresh m.call.invite (decrypted: call signalling is end-to-end encrypted like every message) and
// keeps the call events that came with it; once the call code is installed, matrix-js-sdk's own
// CallEventHandler takes over and this stops watching.
import { RoomEvent } from "matrix-js-sdk/lib/models/room.js";
import { MatrixEventEvent } from "matrix-js-sdk/lib/models/event.js";

const RING_GRACE_MS = 3000;     // as matrix-js-sdk: an invite about to expire does not ring
const KEEP_MS = 2 * 60 * 1000;  // call events older than this belong to no call that can still ring

let callsModule = null;
export const loadCalls = () => (callsModule ??= import("./calls.js").catch((e) => { callsModule = null; throw e; }));

const isCallEvent = (ev) => ev.getType().startsWith("m.call.");

// An invite this user should hear ringing: from someone else, meant for her, still valid.
export function rings(ev, userId) {
  if (ev.getType() !== "m.call.invite" || ev.getSender() === userId) return false;
  const c = ev.getContent();
  if (c.invitee && c.invitee !== userId) return false;
  return ev.getLocalAge() < (c.lifetime ?? 0) - RING_GRACE_MS;
}

const installed = new WeakMap();  // client -> Promise of the installed calls module

// The calls module for this client, installed once: TURN credentials fetched, then the SDK's call
// handler started, then the call events seen so far handed to it.
export function callsFor(client, onIncoming) {
  let p = installed.get(client);
  if (!p) {
    const w = watchers.get(client);
    p = loadCalls().then(async (m) => {
      if (!client.clientRunning) throw new Error("the client has stopped");
      await m.prepare(client);
      if (!client.clientRunning) throw new Error("the client has stopped");
      w?.stop();  // from here on the SDK's handler sees every event itself
      await m.install(client, onIncoming, w?.pending ?? []);
      return m;
    });
    p.catch(() => installed.delete(client));
    installed.set(client, p);
  }
  return p;
}

const watchers = new WeakMap();

const MAX_PENDING = 200;
const SETTLE_MS = 250;  // how long a ringing invite waits for the rest of its sync batch
const ENDS_RINGING = new Set(["m.call.answer", "m.call.hangup", "m.call.reject", "m.call.select_answer"]);

export function watchCalls(client, onIncoming) {
  const w = { pending: [], stop: () => {} };
  const keep = (ev) => {
    if (w.pending.includes(ev)) return;
    w.pending.push(ev);
    if (w.pending.length > MAX_PENDING) w.pending.shift();
  };
  const consider = (ev) => {
    if (ev.getLocalAge() > KEEP_MS) return;
    // Still encrypted: it may turn out to be a call event after the hand-over to the SDK's handler,
    // which decrypts what it is given.
    if (ev.getType() === "m.room.encrypted") { if (!ev.isDecryptionFailure()) keep(ev); return; }
    if (!isCallEvent(ev)) return;
    keep(ev);
    if (!rings(ev, client.getUserId())) return;
    // An invite that was answered, declined or hung up already (a call that is over, seen again when
    // the app opens within the invite's lifetime) loads nothing: the events of one sync are decrypted
    // within moments, so the end of the call is looked for a little later.
    const callId = ev.getContent().call_id;
    setTimeout(() => {
      if (w.pending.some((e) => ENDS_RINGING.has(e.getType()) && e.getContent()?.call_id === callId)) return;
      callsFor(client, onIncoming).catch((e) => console.warn("the call code did not load", e));
    }, SETTLE_MS);
  };
  const onTimeline = (ev, room, toStart) => { if (!toStart) consider(ev); };
  client.on(RoomEvent.Timeline, onTimeline);
  client.on(MatrixEventEvent.Decrypted, consider);
  w.stop = () => {
    client.off(RoomEvent.Timeline, onTimeline);
    client.off(MatrixEventEvent.Decrypted, consider);
  };
  watchers.set(client, w);
  return w.stop;
}
