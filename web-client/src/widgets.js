// Pieces shared by the screens: attachments (decrypted in the browser), the voice recorder, and
// the top bar with quick exit.
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { attachmentUrl } from "./attachments.js";

// A received or sent attachment, decrypted in the browser: image preview, audio player, download.
export function Attachment({ client, content }) {
  const [url, setUrl] = useState(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (!content.file) return;
    attachmentUrl(client, content.file).then(setUrl).catch(() => setFailed(true));
  }, [content.file?.url]);
  if (failed) return html`<span>⚠ ${content.body}</span>`;
  if (!url) return html`<span aria-busy="true">${content.body} …</span>`;
  if (content.msgtype === "m.image") return html`<img src=${url} alt=${content.body} style="max-width:100%;border-radius:0.5rem" />`;
  if (content.msgtype === "m.audio")
    return html`<span><audio controls src=${url} aria-label=${content.body}></audio>
      ${content.info?.duration ? html`<span class="meta"> ${Math.round(content.info.duration / 1000)} s</span>` : ""}</span>`;
  return html`<a href=${url} download=${content.body}>${content.body}</a>`;
}

// Records a voice message with MediaRecorder (Opus), showing the duration; can be cancelled.
export function VoiceRecorder({ t, onDone, onError }) {
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
    } catch (e) {
      onError(e);
    }
  };
  const stop = (cancel) => { rec.cancelled = cancel; rec.recorder.stop(); setRec(null); };
  if (!rec) return html`<button type="button" class="secondary record" onClick=${start}>${t("voice.record")}</button>`;
  return html`<span class="row recording"><span class="meta" role="timer">${seconds.toFixed(0)} s</span>
    <button type="button" class="send-voice" onClick=${() => stop(false)}>${t("voice.send")}</button>
    <button type="button" class="secondary cancel-voice" onClick=${() => stop(true)}>${t("voice.cancel")}</button></span>`;
}

export function QuickExit({ t, client }) {
  const leave = () => {
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
    <span class="topbar-title" id="topbar-title">${title}</span>
    <${QuickExit} t=${t} client=${client} />
  </header>`;
}
