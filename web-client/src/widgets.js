// Pieces shared by the screens: attachments (decrypted in the browser), the voice recorder, and
// the top bar with quick exit.
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { attachmentUrl } from "./attachments.js";

const sizeLabel = (lang, bytes) => (bytes >= 1048576
  ? `${(bytes / 1048576).toLocaleString(lang, { maximumFractionDigits: 1 })} MB`
  : `${Math.max(1, Math.round(bytes / 1024)).toLocaleString(lang)} KB`);
export const durationLabel = (ms) => { const s = Math.round(ms / 1000); return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`; };

// A received or sent attachment, decrypted in the browser: an image that enlarges when tapped, a
// voice message with its recorded duration, a file with its name, size and an icon.
export function Attachment({ t, lang, client, content, onEnlarge }) {
  const [url, setUrl] = useState(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (!content.file) return;
    attachmentUrl(client, content.file).then(setUrl).catch(() => setFailed(true));
  }, [content.file?.url]);
  if (failed) return html`<span>⚠ ${content.body}</span>`;
  if (!url) return html`<span aria-busy="true">${content.body} …</span>`;
  if (content.msgtype === "m.image")
    return html`<button type="button" class="image-open" aria-label=${t("chat.enlarge")} onClick=${() => onEnlarge({ url, alt: content.body })}>
      <img src=${url} alt=${content.body} /></button>`;
  const duration = content.info?.duration;
  if (content.msgtype === "m.audio")
    return html`<span class="voice"><audio controls preload="metadata" src=${url} aria-label=${content.body}></audio>
      ${duration ? html`<span class="meta">${durationLabel(duration)}</span>` : ""}</span>`;
  return html`<a class="file" href=${url} download=${content.body}><svg class="file-icon" aria-hidden="true" viewBox="0 0 24 24" width="24" height="24"><path d="M6 2h8l6 6v14H6z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/><path d="M14 2v6h6" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/></svg>
    <span class="file-name" dir="auto">${content.body}</span>${content.info?.size ? html`<span class="meta">${sizeLabel(lang, content.info.size)}</span>` : ""}</a>`;
}

// Records a voice message with MediaRecorder (Opus), showing the duration; can be cancelled.
export function VoiceRecorder({ t, onDone, onError, onRecording }) {
  const [rec, setRec] = useState(null);
  const [seconds, setSeconds] = useState(0);
  useEffect(() => {
    if (!rec) return;
    const timer = setInterval(() => setSeconds((Date.now() - rec.started) / 1000), 200);
    return () => clearInterval(timer);
  }, [rec]);
  const start = async () => {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const type = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus"].find((m) => MediaRecorder.isTypeSupported(m));
      const recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
      const chunks = [];
      recorder.ondataavailable = (e) => chunks.push(e.data);
      const r = { recorder, stream, chunks, started: Date.now(), cancelled: false };
      recorder.onstop = () => {
        stream.getTracks().forEach((tr) => tr.stop());
        if (!r.cancelled) onDone(new Blob(chunks, { type: recorder.mimeType.split(";")[0] }), Date.now() - r.started);
      };
      recorder.start(250);
      setSeconds(0);
      setRec(r);
      onRecording?.(true);
    } catch (e) {
      onError(e);
    }
  };
  const stop = (cancel) => { rec.cancelled = cancel; rec.recorder.stop(); setRec(null); onRecording?.(false); };
  if (!rec) return html`<button type="button" class="secondary record" onClick=${start}>${t("voice.record")}</button>`;
  // While recording: what is happening and for how long, and the recording's own Send (the
  // composer's is hidden meanwhile, so there is one Send).
  return html`<span class="row recording"><span class="rec-dot" aria-hidden="true"></span>
    <span role="status">${t("voice.recording")}</span> <span class="meta" role="timer">${durationLabel(seconds * 1000)}</span>
    <button type="button" class="send-voice" onClick=${() => stop(false)}>${t("voice.send")}</button>
    <button type="button" class="secondary cancel-voice" onClick=${() => stop(true)}>${t("voice.cancel")}</button></span>`;
}

export function QuickExit({ t, client, before }) {
  const leave = () => {
    before?.();  // e.g. a call is hung up first
    // Leave to a neutral page at once and lock the app: the next start asks for the password.
    localStorage.setItem("lotse.locked", "1");
    try { client?.stopClient(); } catch { /* not started */ }
    location.replace("/neutral.html");
  };
  return html`<button class="quick-exit" onClick=${leave}>${t("exit.quick")}</button>`;
}

// The top bar of every screen: what the screen is about on one side, quick exit on the other. Quick
// exit lives here, in the layout, so it never floats over anything the seeker taps.
export function TopBar({ t, client, title, children }) {
  return html`<header class="topbar">
    ${children}
    <span class="topbar-title" id="topbar-title"><bdi>${title}</bdi></span>
    <${QuickExit} t=${t} client=${client} />
  </header>`;
}
