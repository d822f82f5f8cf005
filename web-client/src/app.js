// The seekers' app: language, account, counselor directory, consultations, encrypted chat.
import { html } from "htm/preact";
import { useEffect, useMemo, useState, useCallback } from "preact/hooks";
import { LANGUAGES, isRtl, translator, errorKey } from "./i18n.js";
import { savedSession, register, login, unlock, startClient, lotseApi, outbox, flushOutbox, logoutEverywhere } from "./session.js";
import { sendAttachment, attachmentUrl } from "./attachments.js";

// A received or sent attachment, decrypted in the browser: image preview, audio player, download.
function Attachment({ client, content }) {
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
function VoiceRecorder({ t, onDone, onError }) {
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

function QuickExit({ t, client }) {
  const leave = () => {
    // Leave to a neutral page at once and lock the app: the next start asks for the password.
    localStorage.setItem("lotse.locked", "1");
    try { client?.stopClient(); } catch { /* not started */ }
    location.replace("/neutral.html");
  };
  return html`<button class="quick-exit" onClick=${leave}>${t("exit.quick")}</button>`;
}

function LanguagePick({ languages, onPick }) {
  return html`<main>
    <h1>${languages.map((l) => translator(l)("lang.choose")).slice(0, 2).join(" · ")}</h1>
    <ul class="langs">
      ${languages.map((l) => html`<li><button lang=${l} dir=${isRtl(l) ? "rtl" : "ltr"} onClick=${() => onPick(l)}>${LANGUAGES[l] ?? l}</button></li>`)}
    </ul>
  </main>`;
}

function Auth({ t, locked, onSession }) {
  const [mode, setMode] = useState(locked ? "login" : "register");
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const act = mode === "register" ? register : locked ? unlock : login;
      onSession(await act(name.trim(), password));
    } catch (err) {
      setError(t(errorKey(err)));  // what was typed stays in the form
    } finally {
      setBusy(false);
    }
  };
  return html`<main>
    <p>${t("welcome.intro")}</p>
    ${locked && html`<p class="warning">${t("unlock.title")}</p>`}
    <h1>${t(mode === "register" ? "register.title" : "login.title")}</h1>
    <form onSubmit=${submit}>
      <label for="pseudonym">${t("register.pseudonym")}</label>
      <input id="pseudonym" name="pseudonym" autocomplete="username" value=${name} onInput=${(e) => setName(e.target.value)} required />
      <label for="password">${t("register.password")}</label>
      <input id="password" name="password" type="password" autocomplete=${mode === "register" ? "new-password" : "current-password"}
        value=${password} onInput=${(e) => setPassword(e.target.value)} required minlength="8" />
      ${mode === "register" && html`<p class="warning" role="note">${t("register.warning")}</p>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <p><button type="submit" disabled=${busy}>${t(mode === "register" ? "register.submit" : "login.submit")}</button></p>
    </form>
    <button class="secondary" onClick=${() => setMode(mode === "register" ? "login" : "register")}>
      ${t(mode === "register" ? "register.switch" : "login.switch")}</button>
  </main>`;
}

function Directory({ t, session, lang, onOpened }) {
  const [topics, setTopics] = useState([]);
  const [filters, setFilters] = useState({ language: lang, topic: "", postal_code: "" });
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => { lotseApi(session, "GET", "/topics").then((r) => setTopics(r.topics)).catch(() => {}); }, []);
  useEffect(() => {
    const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString();
    lotseApi(session, "GET", `/counselors?${q}`).then((r) => setList(r.counselors)).catch((e) => setError(t(errorKey(e))));
  }, [filters]);
  const open = async (counselor) => {
    try {
      const c = await lotseApi(session, "POST", "/consultations", { counselor: counselor.user_id, topic: filters.topic || counselor.topics[0] });
      onOpened(c.room_id);
    } catch (e) {
      setError(e.message || t(errorKey(e)));
    }
  };
  const set = (k) => (e) => setFilters({ ...filters, [k]: e.target.value });
  return html`<section aria-labelledby="dir-title">
    <h1 id="dir-title">${t("directory.title")}</h1>
    <label for="f-lang">${t("filter.language")}</label>
    <select id="f-lang" value=${filters.language} onChange=${set("language")}>
      <option value="">${t("filter.any")}</option>
      ${Object.entries(LANGUAGES).map(([code, name]) => html`<option value=${code}>${name}</option>`)}
    </select>
    <label for="f-topic">${t("filter.topic")}</label>
    <select id="f-topic" value=${filters.topic} onChange=${set("topic")}>
      <option value="">${t("filter.any")}</option>
      ${topics.map((tp) => html`<option value=${tp.topic_id}>${tp.name}</option>`)}
    </select>
    <label for="f-postal">${t("filter.postal")}</label>
    <input id="f-postal" inputmode="numeric" value=${filters.postal_code} onInput=${set("postal_code")} />
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${list && list.length === 0 && html`<p>${t("directory.empty")}</p>`}
    ${(list ?? []).map((c) => html`<div class="card counselor" data-user=${c.user_id}>
      <strong>${c.display_name}</strong>
      <div class="meta">${c.languages.map((l) => LANGUAGES[l] ?? l).join(", ")} · ${c.topics.join(", ")}</div>
      ${c.absence && c.absent_now && html`<p class="warning">${t("counselor.absent")}: ${c.absence.message}</p>`}
      <button onClick=${() => open(c)}>${t("directory.start")}</button>
    </div>`)}
  </section>`;
}

function Chat({ t, client, roomId, onBack, tick }) {
  const [text, setText] = useState("");
  const [error, setError] = useState(null);
  const attach = async (blob, name, msgtype, extra) => {
    setError(null);
    try {
      await sendAttachment(client, roomId, blob, { name, msgtype, extra });
    } catch (e) {
      setError(t(errorKey(e)));
    }
  };
  const pickFile = (e) => {
    const f = e.target.files?.[0];
    e.target.value = "";
    if (f) attach(f, f.name, f.type.startsWith("image/") ? "m.image" : "m.file");
  };
  const voiceDone = (blob, ms) => attach(blob, blob.type.includes("ogg") ? "voice-message.ogg" : "voice-message.webm", "m.audio",
    { info: { duration: ms }, content: { "org.matrix.msc3245.voice": {}, "org.matrix.msc1767.audio": { duration: ms } } });
  const room = client.getRoom(roomId);
  const me = client.getUserId();
  const events = (room?.getLiveTimeline().getEvents() ?? []).filter((e) => (e.getType() === "m.room.message" && e.getContent()?.msgtype !== "m.notice") || e.isDecryptionFailure() || e.getContent()?.msgtype === "m.notice");
  const queued = outbox.all().filter((m) => m.roomId === roomId);
  const typing = room?.getMembers().filter((m) => m.typing && m.userId !== me) ?? [];
  const last = [...events].reverse().find((e) => e.getSender() === me);
  const readByOther = last && room.getUsersReadUpTo(last).some((u) => u !== me);
  useEffect(() => {
    const newest = events[events.length - 1];
    if (newest && newest.getSender() !== me) client.sendReadReceipt(newest).catch(() => {});
  }, [events.length]);
  const send = async (e) => {
    e.preventDefault();
    const body = text.trim();
    if (!body) return;
    setText("");
    if (!navigator.onLine) {
      outbox.add({ id: crypto.randomUUID(), roomId, body });
      return;
    }
    try {
      await client.sendTextMessage(roomId, body);
    } catch {
      outbox.add({ id: crypto.randomUUID(), roomId, body });  // nothing typed is lost
    }
  };
  return html`<section aria-labelledby="chat-title" data-tick=${tick}>
    <div class="row"><button class="secondary" onClick=${onBack}>${t("chat.back")}</button>
      <h1 id="chat-title">${room?.name ?? ""}</h1></div>
    <p class="meta">${t("chat.encrypted")}</p>
    <ul class="messages" aria-live="polite">
      ${events.map((ev) => html`<li class=${`msg ${ev.getSender() === me ? "mine" : ""}`} data-event=${ev.getId()}>
        ${ev.getContent()?.file ? html`<${Attachment} client=${client} content=${ev.getContent()} />` : ev.getContent()?.body ?? "…"}</li>`)}
      ${queued.map((m) => html`<li class="msg mine queued">${m.body}<div class="meta">${t("chat.queued")}</div></li>`)}
    </ul>
    ${last && html`<p class="meta delivery">${readByOther ? t("chat.read") : t("chat.sent")}</p>`}
    ${typing.length > 0 && html`<p class="meta typing">${typing.map((m) => m.name).join(", ")} ${t("chat.typing")}</p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="row">
      <label class="secondary" style="display:inline-block;padding:0.6rem 1rem;background:#e8eef6;border-radius:0.5rem;margin:0">
        ${t("attach.file")}<input type="file" accept="image/*,application/pdf" onChange=${pickFile}
          style="position:absolute;left:-9999px" aria-label=${t("attach.file")} /></label>
      <${VoiceRecorder} t=${t} onDone=${voiceDone} onError=${(e) => setError(t(errorKey(e)))} />
    </div>
    <form class="composer" onSubmit=${send}>
      <label for="message" class="visually-hidden" style="position:absolute;left:-9999px">${t("chat.placeholder")}</label>
      <input id="message" value=${text} placeholder=${t("chat.placeholder")}
        onInput=${(e) => { setText(e.target.value); client.sendTyping(roomId, true, 5000).catch(() => {}); }} />
      <button type="submit">${t("chat.send")}</button>
    </form>
  </section>`;
}

// Deleting the account erases it on the server (messages redacted, files deleted), then locally.
function DeleteAccount({ t, client, onDeleted }) {
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState("");
  const [error, setError] = useState(null);
  if (!open) return html`<button class="secondary delete-account" onClick=${() => setOpen(true)}>${t("account.delete")}</button>`;
  const confirm = async (e) => {
    e.preventDefault();
    try {
      await client.deactivateAccount({ type: "m.login.password", identifier: { type: "m.id.user", user: client.getUserId() }, password }, true);
      onDeleted();
    } catch (err) {
      setError(t(err?.httpStatus === 401 ? "error.wrongPassword" : errorKey(err)));
    }
  };
  return html`<form class="card" onSubmit=${confirm}>
    <p class="warning">${t("account.deleteWarning")}</p>
    <label for="delete-password">${t("register.password")}</label>
    <input id="delete-password" type="password" value=${password} onInput=${(e) => setPassword(e.target.value)} required />
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <p class="row"><button type="submit">${t("account.delete")}</button>
      <button type="button" class="secondary" onClick=${() => setOpen(false)}>${t("voice.cancel")}</button></p>
  </form>`;
}

function Home({ t, session, client, lang, tick, onLogout }) {
  const [consultations, setConsultations] = useState([]);
  const [roomId, setRoomId] = useState(null);
  const [showDirectory, setShowDirectory] = useState(false);
  const reload = useCallback(() => lotseApi(session, "GET", "/consultations").then((r) => setConsultations(r.consultations)).catch(() => {}), [session]);
  useEffect(() => { reload(); }, [tick === 0]);
  if (roomId && client.getRoom(roomId)) return html`<main><${Chat} t=${t} client=${client} roomId=${roomId} tick=${tick} onBack=${() => { setRoomId(null); reload(); }} /></main>`;
  return html`<main>
    <div class="row" style="justify-content:space-between"><h1>${t("consultations.title")}</h1>
      <button class="secondary" onClick=${onLogout}>${t("logout")}</button></div>
    ${consultations.length === 0 && html`<p>${t("consultations.empty")}</p>`}
    ${consultations.map((c) => html`<div class="card consultation"><button class="secondary" onClick=${() => setRoomId(c.room_id)}>
      ${c.counselor_display_name ?? c.counselor} · ${c.topic}${c.unread_count ? ` (${c.unread_count})` : ""}</button></div>`)}
    ${showDirectory || consultations.length === 0
      ? html`<${Directory} t=${t} session=${session} lang=${lang} onOpened=${(id) => { reload(); setRoomId(id); }} />`
      : html`<button onClick=${() => setShowDirectory(true)}>${t("consultations.new")}</button>`}
    <hr />
    <${DeleteAccount} t=${t} client=${client} onDeleted=${onLogout} />
  </main>`;
}

export function App({ branding }) {
  const [lang, setLang] = useState(localStorage.getItem("lotse.lang"));
  const [session, setSession] = useState(localStorage.getItem("lotse.locked") ? null : savedSession());
  const [client, setClient] = useState(null);
  const [tick, setTick] = useState(0);
  const t = useMemo(() => translator(lang ?? "de"), [lang]);
  useEffect(() => {
    document.documentElement.lang = lang ?? "de";
    document.documentElement.dir = isRtl(lang) ? "rtl" : "ltr";
  }, [lang]);
  useEffect(() => {
    if (!session) return;
    let stopped = false;
    const bump = () => setTick((n) => n + 1);
    startClient(session, bump).then((c) => {
      if (stopped) return c.stopClient();
      setClient(c);
      flushOutbox(c, bump);
      window.addEventListener("online", () => flushOutbox(c, bump));
    }).catch(() => { localStorage.removeItem("lotse.session"); setSession(null); });
    return () => { stopped = true; };
  }, [session]);
  const pick = (l) => { localStorage.setItem("lotse.lang", l); setLang(l); };
  const onSession = (s) => { localStorage.removeItem("lotse.locked"); setSession(s); };
  const logout = async () => { await logoutEverywhere(client); setClient(null); setSession(null); };

  let screen;
  if (!lang) screen = html`<${LanguagePick} languages=${branding.languages} onPick=${pick} />`;
  else if (!session) screen = html`<${Auth} t=${t} locked=${!!localStorage.getItem("lotse.locked")} onSession=${onSession} />`;
  else if (!client) screen = html`<main><p aria-busy="true">…</p></main>`;
  else screen = html`<${Home} t=${t} session=${session} client=${client} lang=${lang} tick=${tick} onLogout=${logout} />`;
  return html`${screen}<${QuickExit} t=${t} client=${client} />`;
}
