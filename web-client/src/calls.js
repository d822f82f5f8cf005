// Voice and video calls with the counselor (loaded on demand by src/call_watch.js): matrix-js-sdk's
// 1:1 calls (MatrixCall, the m.call.* events Element Web speaks), end to end encrypted (DTLS-SRTP for
// the media, Megolm for the signalling), always through the instance's TURN relay (forceTURN), so
// the counselor's side never learns the seeker's IP address. The full-screen call view is here too.
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { CallEventHandler, CallEventHandlerEvent } from "matrix-js-sdk/lib/webrtc/callEventHandler.js";
import { createNewMatrixCall, CallEvent, CallState, CallErrorCode, CallDirection } from "matrix-js-sdk/lib/webrtc/call.js";
import { CallFeedEvent } from "matrix-js-sdk/lib/webrtc/callFeed.js";
import { MediaHandler } from "matrix-js-sdk/lib/webrtc/mediaHandler.js";
import { durationLabel, QuickExit } from "./widgets.js";

const TURN_REFRESH_MS = 10 * 60 * 1000;

// TURN credentials before anything else: a call takes the client's TURN servers when it is created.
export async function prepare(client) {
  client.canSupportVoip = true;  // the client was built with the call code aliased away (vite.config.js)
  client.forceTURN = true;       // relay only: no host or server-reflexive candidates leave the phone
  if (!(client.getMediaHandler() instanceof MediaHandler)) client.mediaHandler = new MediaHandler(client);
  await client.checkTurnServers();
  if (!client.checkTurnServersIntervalID)
    client.checkTurnServersIntervalID = setInterval(() => client.checkTurnServers(), TURN_REFRESH_MS);
}

// Starts matrix-js-sdk's call handler (synchronously, before the first await, so no event is seen
// twice) and hands it the call events that arrived before the code was loaded.
export async function install(client, onIncoming, pending) {
  const handler = new CallEventHandler(client);
  client.callEventHandler = handler;
  handler.start();
  client.on(CallEventHandlerEvent.Incoming, (call) => {
    // Busy: one call at a time.
    const other = [...handler.calls.values()].find((c) => c !== call && c.state !== CallState.Ended);
    if (other) call.hangup(CallErrorCode.UserBusy, false);
    else onIncoming(call);
  });
  // Chained like the handler's own batches, so a hangup in the next sync is applied after these.
  if (pending.length) await (handler.eventBufferPromiseChain = handler.evaluateEventBuffer(pending));
}

export function place(client, roomId, invitee, video) {
  const call = createNewMatrixCall(client, roomId, { invitee });
  if (!call) throw Object.assign(new Error("This browser cannot place calls"), { callError: "unsupported" });
  // Not awaited: the call view shows "calling" at once; a failure (no camera) arrives as an error event.
  (video ? call.placeVideoCall() : call.placeVoiceCall()).catch(() => {});
  return call;
}


// Why a call ended, as the seeker reads it.
function endText(call) {
  const reason = call.hangupReason;
  if (call.hangupParty === "remote" && reason === "user_hangup" && !call.callStartTime) return call.direction === CallDirection.Outbound ? "wasDeclined" : "ended";
  if (reason === CallErrorCode.InviteTimeout) return "noAnswer";
  if (reason === CallErrorCode.UserBusy) return "busy";
  if (reason === CallErrorCode.NoUserMedia) return "noMedia";
  if ([CallErrorCode.IceFailed, CallErrorCode.SignallingFailed, CallErrorCode.SendInvite, CallErrorCode.CreateOffer,
    CallErrorCode.CreateAnswer, CallErrorCode.SetRemoteDescription, CallErrorCode.LocalOfferFailed].includes(reason)) return "failed";
  return "ended";
}

function Video({ stream, className, muted }) {
  const ref = useRef(null);
  useEffect(() => { if (ref.current && ref.current.srcObject !== stream) ref.current.srcObject = stream ?? null; }, [stream]);
  return html`<video ref=${ref} class=${className} autoplay playsinline muted=${muted}></video>`;
}

// The full-screen call: ringing (accept with video or sound, decline), calling, and the call itself
// (mute, camera, hang up), with what the connection does. `name` is the counselor's.
export function CallView({ t, lang, client, call, name, onClose, onReplaced }) {
  const [, setTick] = useState(0);
  const [seconds, setSeconds] = useState(0);
  const [remoteVideoStalled, setStalled] = useState(false);
  const [error, setError] = useState(null);
  const bump = () => setTick((n) => n + 1);
  useEffect(() => {
    const onState = (state) => {
      bump();
      if (state === CallState.Ended) setTimeout(onClose, 2500);
    };
    const onError = (e) => setError(e?.code === CallErrorCode.NoUserMedia ? "noMedia" : "failed");
    // Glare (both called at once): the SDK answers the other call in place of this one.
    const events = [[CallEvent.State, onState], [CallEvent.FeedsChanged, bump], [CallEvent.Error, onError],
      [CallEvent.LengthChanged, setSeconds], [CallEvent.Hangup, bump], [CallEvent.Replaced, onReplaced]];
    for (const [e, f] of events) call.on(e, f);
    if (call.state === CallState.Ended) onState(CallState.Ended);  // ended before the view listened
    return () => { for (const [e, f] of events) call.off(e, f); };
  }, [call]);
  // The other side's video: off by their choice (SDP stream metadata), or stalled: no frame decoded
  // for two seconds while the call is connected, as when the connection is too weak for video
  // (WebRTC keeps the audio going). Read from the connection's statistics once a second.
  const remote = call.remoteUsermediaFeed;
  useEffect(() => {
    let frames = -1, still = 0;
    const timer = setInterval(async () => {
      // (The type is known only once the media is there: ask each time.)
      if (call.type !== "video" || call.state !== CallState.Connected) return;
      const report = await call.peerConn?.getStats().catch(() => null);
      if (!report) return;
      let now = 0;
      report.forEach((r) => { if (r.type === "inbound-rtp" && r.kind === "video") now += r.framesDecoded ?? 0; });
      still = now === frames ? still + 1 : 0;
      frames = now;
      setStalled(still >= 2);
    }, 1000);
    return () => clearInterval(timer);
  }, [call]);
  useEffect(() => {
    if (!remote) return;
    remote.on(CallFeedEvent.MuteStateChanged, bump);
    return () => remote.off(CallFeedEvent.MuteStateChanged, bump);
  }, [remote]);
  const state = call.state;
  const video = call.type === "video";
  const ringing = state === CallState.Ringing;
  const ended = state === CallState.Ended;
  const connected = state === CallState.Connected;
  const ice = call.peerConn?.iceConnectionState;
  let status;
  if (ended) status = error ?? endText(call);
  else if (ringing) status = null;
  else if (call.direction === CallDirection.Outbound && [CallState.WaitLocalMedia, CallState.CreateOffer, CallState.InviteSent].includes(state)) status = "calling";
  else if (connected && (ice === "disconnected" || ice === "failed")) status = "reconnecting";
  else if (connected && video && remote?.isVideoMuted()) status = "remoteCameraOff";
  else if (connected && video && remoteVideoStalled) status = "weak";
  else if (connected) status = "connected";
  else status = "connecting";
  const micMuted = call.isMicrophoneMuted();
  const camMuted = call.isLocalVideoMuted();
  const act = (f) => async () => { try { await f(); } catch (e) { console.warn("call action failed", e); } bump(); };
  const title = ringing ? t(`call.${video ? "incomingVideo" : "incomingVoice"}`).replace("{name}", name) : name;
  return html`<div class=${`call-view${video ? " video" : " voice"}`} role="dialog" aria-modal="true" aria-labelledby="call-title" data-state=${state}>
    <div class="call-top"><${QuickExit} t=${t} client=${client} before=${() => { try { call.hangup(CallErrorCode.UserHangup, false); } catch { /* ended */ } }} /></div>
    <${Video} stream=${call.remoteUsermediaStream} className="remote" muted=${false} />
    ${video && html`<${Video} stream=${call.localUsermediaStream} className="local" muted=${true} />`}
    <div class="call-info">
      <h2 id="call-title"><bdi>${title}</bdi></h2>
      <p class="call-status" role="status">${status ? t(`call.${status}`).replace("{name}", name) : ""}${connected ? html` <span class="meta" role="timer">${durationLabel(seconds * 1000)}</span>` : ""}</p>
    </div>
    <div class="call-controls">
      ${ringing ? html`
        ${video && html`<button type="button" class="accept" onClick=${act(() => call.answer(true, true))}>${t("call.acceptVideo")}</button>`}
        <button type="button" class=${video ? "accept secondary" : "accept"} onClick=${act(() => call.answer(true, false))}>${t("call.acceptVoice")}</button>
        <button type="button" class="decline danger" onClick=${act(() => call.reject())}>${t("call.decline")}</button>`
      : !ended && html`
        <button type="button" class="secondary mic" aria-pressed=${micMuted} onClick=${act(() => call.setMicrophoneMuted(!micMuted))}>${t(`call.${micMuted ? "unmute" : "mute"}`)}</button>
        ${video && html`<button type="button" class="secondary camera" aria-pressed=${camMuted} onClick=${act(() => call.setLocalVideoMuted(!camMuted))}>${t(`call.${camMuted ? "cameraOn" : "cameraOff"}`)}</button>`}
        <button type="button" class="hangup danger" onClick=${act(() => call.hangup(CallErrorCode.UserHangup, false))}>${t("call.hangup")}</button>`}
    </div>
  </div>`;
}
