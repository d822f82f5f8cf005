// The consultation chat: the counselor's name in the top bar, messages with day separators, times
// and the true state of each own message, the outbox, attachments, voice, and the composer.
import { noticeText } from "./notices.js";
import { html } from "htm/preact";
import { useEffect, useRef, useState, useReducer } from "preact/hooks";
import { errorKey, formatDate, TIME } from "./i18n.js";
import { Attachment, VoiceRecorder, TopBar, durationLabel } from "./widgets.js";
import { enqueue, outboxItems, subscribeOutbox, retryNow } from "./outbox.js";

// What was typed but not sent, per room: kept while the app runs (also across a new login).
export const drafts = new Map();

const TYPING_EVERY_MS = 4000;

// The counselor of a consultation: from the room's de.lotse.consultation state, with her
// membership (invite until she accepts, then join) and a display name. `known` ({ id, name }, from
// the consultation list) names her only while she is still the room's counselor: after a hand-over
// the room's state names the new one first.
export function counselorOf(room, known) {
  const id = room?.currentState.getStateEvents("de.lotse.consultation", "")?.getContent()?.counselor;
  if (!id) return null;
  const member = room.getMember(id);
  const displayname = member?.events.member?.getContent()?.displayname;
  const knownName = known?.id === id ? known.name : null;
  return { id, membership: member?.membership ?? "invite", name: knownName || displayname || id.slice(1).split(":")[0] };
}

function dayLabel(t, lang, ts) {
  const d = new Date(ts);
  const today = new Date();
  const yesterday = new Date(today.getTime() - 86400000);
  const same = (a, b) => a.toDateString() === b.toDateString();
  if (same(d, today)) return t("chat.today");
  if (same(d, yesterday)) return t("chat.yesterday");
  return formatDate(lang, d, DAY);
}
const DAY = { day: "numeric", month: "long", year: "numeric" };
const timeOf = (lang, ts) => formatDate(lang, ts, TIME);

const STATE_LABEL = {
  sending: "chat.sending", waiting: "chat.queued", failed: "chat.failed",
  sent: "chat.sent", awaiting: "chat.awaitingCounselor", delivered: "chat.delivered", read: "chat.read",
};

// A queued photo, voice message or file: previewed from the stored Blob until it is sent.
function QueuedFile({ item }) {
  const [url, setUrl] = useState(null);
  useEffect(() => {
    if (!item.blob || item.msgtype !== "m.image") return;
    const u = URL.createObjectURL(item.blob);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [item.id]);
  if (url) return html`<img src=${url} alt=${item.name} class="preview" />`;
  const seconds = item.extra?.info?.duration ? ` · ${durationLabel(item.extra.info.duration)}` : "";
  return html`<span class="file-name">📎 ${item.name}${seconds}</span>`;
}

// What became of a call, for its line in the chat (at its m.call.invite): answered and how long,
// declined (by the one called: reject, hangup or busy), missed (hers) or not answered (her own), or
// still ringing or going on. `byCall`: call_id -> its other events; `live`: the SDK's calls in this
// app. null: an invite given up in glare (both called at once) in favour of the other one.
export function callOutcome(invite, byCall, me, live) {
  const c = invite.getContent();
  const related = byCall.get(c.call_id) ?? [];
  const answer = related.find((e) => e.getType() === "m.call.answer");
  const end = related.find((e) => e.getType() === "m.call.hangup" || e.getType() === "m.call.reject");
  const video = /\bm=video\b/.test(c.offer?.sdp ?? "");
  const lifetime = c.lifetime ?? 0;
  const going = live?.get(c.call_id);
  if (answer && end) return { key: "call.done", video, ms: end.getTs() - answer.getTs() };
  if (answer) {
    if (going && going.state !== "ended") return { key: "call.ongoing", video };
    // Ended without a hangup (the app was closed, the network went): as long as it was seen going.
    return { key: "call.done", video, ms: Math.max(0, related[related.length - 1].getTs() - answer.getTs()) };
  }
  if (end && end.getSender() !== invite.getSender()) return { key: "call.declined", video };
  if (!end) {
    const glare = [...byCall.values()].some((evs) => {
      const other = evs.find((e) => e.getType() === "m.call.invite");
      return other && other !== invite && Math.abs(other.getTs() - invite.getTs()) < lifetime && evs.some((e) => e.getType() === "m.call.answer");
    });
    if (glare) return null;
    if (invite.getLocalAge() < lifetime) return { key: "call.ongoing", video };
  }
  return { key: invite.getSender() === me ? "call.notAnswered" : "call.missed", video };
}

const PHONE = html`<svg aria-hidden="true" viewBox="0 0 24 24" width="22" height="22"><path d="M6.6 10.8a15 15 0 006.6 6.6l2.2-2.2a1 1 0 011-.25 11.4 11.4 0 003.6.57 1 1 0 011 1V20a1 1 0 01-1 1A17 17 0 013 4a1 1 0 011-1h3.5a1 1 0 011 1c0 1.25.2 2.45.57 3.57a1 1 0 01-.25 1z" fill="currentColor"/></svg>`;
const CAMERA = html`<svg aria-hidden="true" viewBox="0 0 24 24" width="22" height="22"><path d="M3 6h12a1 1 0 011 1v10a1 1 0 01-1 1H3a1 1 0 01-1-1V7a1 1 0 011-1zm14 4l5-3v10l-5-3z" fill="currentColor"/></svg>`;

export function Chat({ t, lang, client, roomId, counselorKnown, onCounselorChanged, onBack, onCall, tick, languageSwitch }) {
  const [text, setText] = useState(drafts.get(roomId) ?? "");
  const [error, setError] = useState(null);
  const [recording, setRecording] = useState(false);
  const [enlarged, setEnlarged] = useState(null);  // { url, alt } of the image shown large
  const [, rerender] = useReducer((n) => n + 1, 0);
  const list = useRef(null);
  const lastTyping = useRef(0);
  useEffect(() => subscribeOutbox(rerender), []);
  const room = client.getRoom(roomId);
  // The members (the SDK loads none lazily here; this resolves at once when they are there).
  useEffect(() => { room?.loadMembersIfNeeded().then(rerender).catch(() => {}); }, [roomId]);
  const me = client.getUserId();
  const counselor = counselorOf(room, counselorKnown);
  // Handed over to another counselor: the consultation list (her display name) is reloaded.
  useEffect(() => { if (counselor && counselorKnown && counselor.id !== counselorKnown.id) onCounselorChanged?.(); },
    [counselor?.id, counselorKnown?.id]);
  const shown = (e) => (e.getType() === "m.room.message" || e.getType() === "m.call.invite" || e.isDecryptionFailure()) && (e.status === null || e.status === "sent");
  const all = room?.getLiveTimeline().getEvents() ?? [];
  const byCall = new Map();
  for (const e of all) if (e.getType().startsWith("m.call.")) { const id = e.getContent()?.call_id; if (id) byCall.set(id, [...(byCall.get(id) ?? []), e]); }
  const liveCalls = client.callEventHandler?.calls;
  const [calling, setCalling] = useState(false);
  const call = async (video) => {
    setError(null);
    setCalling(true);
    try { await onCall(roomId, counselor.id, video); } catch (e) { console.warn("call failed", e); setError(t("call.unavailable")); }
    setCalling(false);
  };
  const canCall = onCall && counselor?.membership === "join" && typeof RTCPeerConnection !== "undefined";
  const position = new Map(all.map((e, i) => [e.getId(), i]));
  const events = all.filter(shown);
  const queued = outboxItems(roomId);
  const typing = room?.getMembers().filter((m) => m.typing && m.userId !== me) ?? [];
  // Read up to here by the counselor: her read receipt, or a message she wrote later (not the
  // receipt the SDK makes up for her join event, which does not mean she read anything).
  const receiptIndex = position.get(counselor && room.getEventReadUpTo(counselor.id, true)) ?? -1;
  const answeredIndex = counselor ? all.findLastIndex((e) => e.getSender() === counselor.id && e.getType() === "m.room.message") : -1;
  const readIndex = Math.max(receiptIndex, answeredIndex);
  const stateOf = (ev) => {
    if (!counselor) return "sent";
    if (position.get(ev.getId()) <= readIndex && counselor.membership === "join") return "read";
    return counselor.membership === "join" ? "delivered" : "awaiting";
  };
  useEffect(() => {
    const newest = events[events.length - 1];
    if (newest && newest.getSender() !== me && newest.status === null) client.sendReadReceipt(newest).catch(() => {});
  }, [events.length]);
  // Newest at the bottom, in view: the chat opens there and follows new messages, also when a photo
  // or a voice message loads afterwards and grows the list, as long as she has not scrolled up to read
  // older ones (then the view stays where she reads; her own new message brings it down again).
  // Where the app last put the scroll position while she follows the newest message; Infinity once
  // she scrolled away from it to read older ones.
  const placed = useRef(0);
  const following = () => placed.current !== Infinity;
  const toBottom = () => { const ul = list.current; if (ul) { ul.scrollTop = ul.scrollHeight; placed.current = ul.scrollTop; } };
  useEffect(() => {
    const ul = list.current;
    if (!ul || typeof ResizeObserver === "undefined") return undefined;
    // A scroll event comes a frame late: the list may have grown meanwhile, so still being where the
    // app put it counts as following. Anywhere else she follows again only near the bottom.
    const onScroll = () => {
      if (Math.abs(ul.scrollTop - placed.current) <= 2) return;
      placed.current = ul.scrollHeight - ul.scrollTop - ul.clientHeight < 48 ? ul.scrollTop : Infinity;
    };
    // A message that grows (a photo or voice message decrypted), or the list itself shrinking (the
    // typing line, an error, the keyboard): the newest message stays in view while she follows.
    const grown = new ResizeObserver(() => { if (following()) toBottom(); });
    grown.observe(ul);
    for (const li of ul.children) grown.observe(li);
    const added = new MutationObserver((records) => {
      for (const r of records) {
        for (const n of r.addedNodes) if (n.nodeType === 1) grown.observe(n);
        for (const n of r.removedNodes) if (n.nodeType === 1) grown.unobserve(n);
      }
    });
    added.observe(ul, { childList: true });
    ul.addEventListener("scroll", onScroll, { passive: true });
    return () => { grown.disconnect(); added.disconnect(); ul.removeEventListener("scroll", onScroll); };
  }, []);
  const queuedBefore = useRef(queued.length);
  useEffect(() => {
    const sentNow = queued.length > queuedBefore.current;  // she just sent something
    queuedBefore.current = queued.length;
    if (following() || sentNow) toBottom();
  }, [events.length, queued.length]);

  const queue = async (message) => {
    setError(null);
    try {
      await enqueue({ roomId, ...message });
    } catch (e) {
      setError(t(errorKey(e)));
    }
  };
  const pickFile = (e) => {
    const f = e.target.files?.[0];
    e.target.value = "";
    if (f) queue({ kind: "file", blob: f, name: f.name, msgtype: f.type.startsWith("image/") ? "m.image" : "m.file" });
  };
  const voiceDone = (blob, ms) => queue({ kind: "file", blob, name: blob.type.includes("ogg") ? "voice-message.ogg" : "voice-message.webm",
    msgtype: "m.audio", extra: { info: { duration: ms }, content: { "org.matrix.msc3245.voice": {}, "org.matrix.msc1767.audio": { duration: ms } } } });
  const onInput = (e) => {
    setText(e.target.value);
    drafts.set(roomId, e.target.value);
    // One typing notification every few seconds while typing, not one per key.
    if (e.target.value && Date.now() - lastTyping.current > TYPING_EVERY_MS) {
      lastTyping.current = Date.now();
      client.sendTyping(roomId, true, TYPING_EVERY_MS + 2000).catch(() => {});
    }
  };
  const send = (e) => {
    e.preventDefault();
    const body = text.trim();
    if (!body) return;
    setText("");
    drafts.delete(roomId);
    if (lastTyping.current) { lastTyping.current = 0; client.sendTyping(roomId, false).catch(() => {}); }
    queue({ kind: "text", body });
  };

  let lastDay = null;
  const dayRow = (ts) => {
    const day = new Date(ts).toDateString();
    if (day === lastDay) return null;
    lastDay = day;
    return html`<li class="day" role="separator"><span>${dayLabel(t, lang, ts)}</span></li>`;
  };
  const stateLine = (ts, state, item) => html`<div class="meta state">
    <time>${timeOf(lang, ts)}</time> · <span class="status">${t(STATE_LABEL[state])}</span>
    ${state === "failed" && html` <button type="button" class="retry secondary" onClick=${() => retryNow(item.id)}>${t("chat.retry")}</button>`}</div>`;

  return html`<${TopBar} t=${t} client=${client} title=${counselor?.name ?? room?.name ?? ""}>
      <button class="secondary back" onClick=${onBack}>${t("chat.back")}</button>
    <//>
    <main class="chat" aria-labelledby="topbar-title" data-tick=${tick}>
      <div class="row chat-head"><p class="meta">${t("chat.encrypted")}</p>
        ${languageSwitch}
        ${canCall && html`<button type="button" class="secondary icon call-voice" aria-label=${t("call.voice")} title=${t("call.voice")} disabled=${calling} onClick=${() => call(false)}>${PHONE}</button>
        <button type="button" class="secondary icon call-video" aria-label=${t("call.video")} title=${t("call.video")} disabled=${calling} onClick=${() => call(true)}>${CAMERA}</button>`}</div>
      ${counselor && counselor.membership !== "join" && html`<p class="meta not-joined">${t("chat.notJoined")}</p>`}
      <ul class="messages" aria-live="polite" ref=${list}>
        ${events.map((ev) => {
          const mine = ev.getSender() === me;
          const content = ev.getContent() ?? {};
          if (ev.getType() === "m.call.invite") {
            const o = callOutcome(ev, byCall, me, liveCalls);
            if (!o) return null;
            return html`${dayRow(ev.getTs())}<li class=${`call-log ${o.key.slice(5)}`} data-call=${content.call_id}>
              ${o.video ? CAMERA : PHONE} <span>${t(o.key).replace("{d}", durationLabel(o.ms ?? 0))}</span> <time class="meta">${timeOf(lang, ev.getTs())}</time></li>`;
          }
          const body = ev.isDecryptionFailure()
            ? html`<span class="undecryptable">${t("chat.undecryptable")}</span>`
            : content.file ? html`<${Attachment} t=${t} lang=${lang} client=${client} content=${content} onEnlarge=${setEnlarged} />`
            : html`<span class=${`text${content.msgtype === "m.notice" ? " notice" : ""}`} dir="auto">${noticeText(t, lang, content) ?? content.body ?? "…"}</span>`;  // an Arabic message in a German UI keeps its own direction
          const state = mine ? stateOf(ev) : null;
          // Who wrote it, for screen readers (the bubbles' sides say it to the eye).
          const sender = mine ? t("chat.you") : ev.getSender() === counselor?.id ? counselor.name : (ev.sender?.name ?? "");
          return html`${dayRow(ev.getTs())}<li class=${`msg ${mine ? "mine" : ""}`} data-event=${ev.getId()} data-state=${state}>
            <span class="visually-hidden">${sender}: </span>${body}
            ${mine ? stateLine(ev.getTs(), state) : html`<div class="meta"><time>${timeOf(lang, ev.getTs())}</time></div>`}</li>`;
        })}
        ${queued.map((m) => html`${dayRow(m.ts)}<li class=${`msg mine outbox ${m.state === "failed" ? "failed" : "queued"}`} data-outbox=${m.id} data-state=${m.state}>
          ${m.kind === "text" ? html`<span class="text" dir="auto">${m.body}</span>` : html`<${QueuedFile} item=${m} />`}
          ${stateLine(m.ts, m.state, m)}</li>`)}
      </ul>
      ${typing.length > 0 && html`<p class="meta typing"><bdi>${typing.map((m) => m.name).join(", ")}</bdi> ${t("chat.typing")}</p>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <div class="compose">
        <div class="row">
          <label class="attach">${t("attach.file")}<input type="file" class="visually-hidden" accept="image/*,application/pdf"
            onChange=${pickFile} aria-label=${t("attach.file")} /></label>
          <${VoiceRecorder} t=${t} onDone=${voiceDone} onError=${(e) => setError(t(errorKey(e)))} onRecording=${setRecording} />
        </div>
        <form class="composer" onSubmit=${send} hidden=${recording}>
          <label for="message" class="visually-hidden">${t("chat.placeholder")}</label>
          <input id="message" dir="auto" value=${text} placeholder=${t("chat.placeholder")} autocomplete="off" onInput=${onInput} />
          <button type="submit">${t("chat.send")}</button>
        </form>
      </div>
      ${enlarged && html`<div class="lightbox" role="dialog" aria-modal="true" aria-label=${enlarged.alt}
        onKeyDown=${(e) => e.key === "Escape" && setEnlarged(null)}>
        <img src=${enlarged.url} alt=${enlarged.alt} />
        <button type="button" class="close" autofocus onClick=${() => setEnlarged(null)}>${t("chat.close")}</button>
      </div>`}
    </main>`;
}
