// The seekers' app: language, account, counselor directory, consultations, encrypted chat.
import { html } from "htm/preact";
import { cloneElement } from "preact";
import { useEffect, useLayoutEffect, useMemo, useState, useCallback, useRef } from "preact/hooks";
import { LANGUAGES, CHOOSE_LANGUAGE, isRtl, translator, errorKey, loadLanguage, formatDate, TIME } from "./i18n.js";
import { savedSession, register, login, unlock, startClient, lotseApi, logoutEverywhere, deleteAccount, warmCrypto, endDevice } from "./session.js";
import { ChangePassword } from "./password_change.js";
import { TopBar } from "./widgets.js";
import { loadOutbox, startOutbox, stopOutbox, forgetOutbox, retryNow, whenDrained } from "./outbox.js";
import { pushState, enablePush, disablePush, dismissPush, storePushText } from "./push.js";
import { Chat, counselorOf } from "./chat.js";
import { watchCalls, callsFor } from "./call_watch.js";
import { localpart } from "./key_recovery.js";

const MAX_LOCALPART = 200;  // the server's limit for a user name, after session.js's mapping

// The UI language, changeable on every screen that has room for it (login, the consultations).
// `compact`: in the chat's head row, the label for screen readers only.
function LanguageSwitch({ t, lang, languages, onPick, compact = false }) {
  const id = compact ? "chat-lang" : "app-lang";
  return html`<p class=${compact ? "language-switch compact" : "language-switch"}><label for=${id} class=${compact ? "visually-hidden" : ""}>${t("settings.language")}</label>
    <select id=${id} value=${lang} onChange=${(e) => onPick(e.target.value)}>
      ${languages.map((l) => html`<option value=${l} lang=${l}>${LANGUAGES[l] ?? l}</option>`)}
    </select></p>`;
}

function LanguagePick({ languages, onPick }) {
  return html`<main>
    <h1>${languages.map((l) => CHOOSE_LANGUAGE[l] ?? CHOOSE_LANGUAGE.de).slice(0, 2).join(" · ")}</h1>
    <ul class="langs">
      ${languages.map((l) => html`<li><button lang=${l} dir=${isRtl(l) ? "rtl" : "ltr"} onClick=${() => onPick(l)}>${LANGUAGES[l] ?? l}</button></li>`)}
    </ul>
  </main>`;
}

// Registration or login; after a quick exit it unlocks, after a session revoked elsewhere it says so.
// After a logout (or a locked app, or a session ended elsewhere) the login form comes first; only a
// first visit or a deleted account starts with registration.
function Auth({ t, locked, revoked, signedOut, onSession, languageSwitch }) {
  const [mode, setMode] = useState(locked || revoked || signedOut ? "login" : "register");
  const [name, setName] = useState(revoked?.name ?? "");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => { if (mode === "login") warmCrypto(); }, [mode]);
  const submit = async (e) => {
    e.preventDefault();
    setError(null);
    if (localpart(name).length > MAX_LOCALPART) return setError(t("error.nameTooLong"));
    setBusy(true);
    try {
      const act = mode === "register" ? register : locked && !revoked ? unlock : login;
      // Pseudonyms are lower-case on the server: any case typed is folded (also for the key derivation).
      onSession(await act(name.trim(), password));  // session.js maps the name to its localpart
    } catch (err) {
      setError(t(errorKey(err)));  // what was typed stays in the form
    } finally {
      setBusy(false);
    }
  };
  return html`<main>
    <p>${t("welcome.intro")}</p>
    ${revoked ? html`<p class="warning revoked" role="alert">${t("session.revoked")}</p>`
      : locked && html`<p class="warning">${t("unlock.title")}</p>`}
    <h1>${t(mode === "register" ? "register.title" : "login.title")}</h1>
    <form onSubmit=${submit}>
      <label for="pseudonym">${t("register.pseudonym")}</label>
      <p class="meta" id="pseudonym-rules">${t("register.pseudonymHint")}</p>
      <input id="pseudonym" name="pseudonym" autocomplete="username" autocapitalize="none" autocorrect=${false} spellcheck=${false}
        aria-describedby="pseudonym-rules" dir="auto" value=${name} onInput=${(e) => setName(e.target.value)} required />
      <label for="password">${t("register.password")}</label>
      <input id="password" name="password" type="password" autocomplete=${mode === "register" ? "new-password" : "current-password"}
        value=${password} onInput=${(e) => setPassword(e.target.value)} required minlength="8" />
      ${mode === "register" && html`<p class="warning" role="note">${t("register.warning")}</p>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <p><button type="submit" disabled=${busy}>${t(mode === "register" ? "register.submit" : "login.submit")}</button></p>
    </form>
    <button class="secondary" onClick=${() => setMode(mode === "register" ? "login" : "register")}>
      ${t(mode === "register" ? "register.switch" : "login.switch")}</button>
    ${languageSwitch}
  </main>`;
}

const topicLabel = (topics, lang) => (id) => {
  const tp = topics.find((x) => x.topic_id === id);
  return tp ? tp.names?.[lang] || tp.name : id;
};
const languageNames = (codes) => codes.map((l) => LANGUAGES[l] ?? l).join(", ");

// A counselor before the consultation starts: where she counsels, her languages and topics, her
// absence; the seeker chooses the topic herself (preselected only when there is no choice to make).
function Profile({ t, counselor, topicName, preferred, error, onStart, onBack }) {
  const options = counselor.topics;
  const [topic, setTopic] = useState(options.includes(preferred) ? preferred : options.length === 1 ? options[0] : "");
  const [busy, setBusy] = useState(false);
  const start = async () => { setBusy(true); try { await onStart(topic); } finally { setBusy(false); } };
  return html`<section class="profile" aria-labelledby="profile-name" data-user=${counselor.user_id}>
    <h2 id="profile-name"><bdi>${counselor.display_name}</bdi></h2>
    ${counselor.agency_name && html`<p class="meta agency"><bdi>${counselor.agency_name}</bdi>${counselor.city ? html` · <bdi>${counselor.city}</bdi>` : ""}</p>`}
    <p>${t("profile.languages")}: ${languageNames(counselor.languages)}</p>
    ${counselor.absence && counselor.absent_now && html`<p class="warning">${t("counselor.absent")}: <bdi>${counselor.absence.message}</bdi></p>`}
    <fieldset class="topics"><legend>${t("profile.chooseTopic")}</legend>
      ${options.map((id) => html`<label class="choice"><input type="radio" name="topic" value=${id} checked=${topic === id}
        onChange=${() => setTopic(id)} /> <bdi>${topicName(id)}</bdi></label>`)}
    </fieldset>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <p class="row"><button class="start" disabled=${!topic || busy} onClick=${start}>${t("directory.start")}</button>
      <button class="secondary" onClick=${onBack}>${t("profile.back")}</button></p>
  </section>`;
}

function Directory({ t, session, lang, onOpened }) {
  const [topics, setTopics] = useState([]);
  const [filters, setFilters] = useState({ language: lang, topic: "", postal_code: "" });
  const [list, setList] = useState(null);
  const [chosen, setChosen] = useState(null);  // the counselor whose profile is shown
  const [error, setError] = useState(null);
  useEffect(() => { lotseApi(session, "GET", "/topics").then((r) => setTopics(r.topics)).catch(() => {}); }, []);
  useEffect(() => {
    const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString();
    setError(null);
    lotseApi(session, "GET", `/counselors?${q}`).then((r) => setList(r.counselors)).catch((e) => setError(t(errorKey(e))));
  }, [filters]);
  const topicName = topicLabel(topics, lang);
  const start = async (counselor, topic) => {
    setError(null);
    try {
      const c = await lotseApi(session, "POST", "/consultations", { counselor: counselor.user_id, topic });
      onOpened(c.room_id, { id: counselor.user_id, name: counselor.display_name });
    } catch (e) {
      setError(t(errorKey(e)));  // in the seeker's language, never the server's English
    }
  };
  if (chosen)
    return html`<${Profile} t=${t} counselor=${chosen} topicName=${topicName} preferred=${filters.topic} error=${error}
      onStart=${(topic) => start(chosen, topic)} onBack=${() => { setChosen(null); setError(null); }} />`;
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
      ${topics.map((tp) => html`<option value=${tp.topic_id}>${topicName(tp.topic_id)}</option>`)}
    </select>
    <label for="f-postal">${t("filter.postal")}</label>
    <input id="f-postal" inputmode="numeric" value=${filters.postal_code} onInput=${set("postal_code")} />
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${list && list.length === 0 && html`<p>${t("directory.empty")}</p>`}
    <ul class="cards">
    ${(list ?? []).map((c) => html`<li class="card counselor" data-user=${c.user_id}><button class="card-button" onClick=${() => setChosen(c)}>
      <strong><bdi>${c.display_name}</bdi></strong>
      ${c.agency_name && html`<span class="meta agency"><bdi>${c.agency_name}</bdi>${c.city ? html` · <bdi>${c.city}</bdi>` : ""}</span>`}
      <span class="meta">${languageNames(c.languages)} · ${c.topics.map(topicName).join(", ")}</span>
      ${c.absence && c.absent_now && html`<span class="warning">${t("counselor.absent")}: <bdi>${c.absence.message}</bdi></span>`}
    </button></li>`)}
    </ul>
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
      await deleteAccount(client, password);
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

// The offer to be notified: after login (never on the first screen), with what a notification will
// show; on iOS outside the home screen, how to get there first.
function PushOffer({ t, brand, session, client, lang }) {
  const [state, setState] = useState(pushState());
  const [error, setError] = useState(null);
  // The notification's words follow the app's language.
  useEffect(() => { if (state === "enabled") storePushText(t("push.title"), brand); }, [lang, brand, state]);
  if (state === "ios-install") return html`<p class="card push-offer">${t("push.ios")}</p>`;
  if (state !== "offer") return null;
  const enable = async () => {
    try {
      await enablePush(client, session, lang, t("push.title"), brand);
      setState("enabled");
    } catch (err) {
      if (err?.code === "denied") return setState("denied");
      setError(t("push.failed"));
    }
  };
  return html`<section class="card push-offer" aria-live="polite"><p>${t("push.offer")}</p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <p class="row"><button onClick=${enable}>${t("push.enable")}</button>
      <button class="secondary" onClick=${() => { dismissPush(); setState("dismissed"); }}>${t("push.later")}</button></p>
  </section>`;
}

// The consultation list as last seen, for an app opened offline; logout clears it with the rest.
const LIST_KEY = "lotse.consultations";
const cachedList = () => { try { return JSON.parse(localStorage.getItem(LIST_KEY) ?? "[]"); } catch { return []; } };

const SHORT_DAY = { day: "numeric", month: "short" };
function whenLabel(lang, ts) {
  if (!ts) return "";
  const d = new Date(ts);
  return d.toDateString() === new Date().toDateString() ? formatDate(lang, d, TIME) : formatDate(lang, d, SHORT_DAY);
}

// One consultation in the list: the whole card opens it; the last activity and the unread count
// come from the client's rooms once it runs (live), from the server's list before.
function ConsultationCard({ t, lang, c, onOpen }) {
  return html`<li class="card consultation" data-room=${c.room_id}><button class="card-button" onClick=${onOpen}>
    <span class="row card-head"><strong><bdi>${c.counselor_display_name ?? c.counselor}</bdi></strong>
      <time class="meta" datetime=${c.activity ? new Date(c.activity).toISOString() : ""}>${whenLabel(lang, c.activity)}</time></span>
    <span class="row card-head"><span class="meta"><bdi>${c.topicName}</bdi></span>
      ${c.unread > 0 && html`<span class="badge" aria-label=${t("consultations.unread").replace("{n}", c.unread)}>${c.unread}</span>`}</span>
  </button></li>`;
}

function Home({ t, brand, session, client, lang, tick, languageSwitch, onLogout, onDeleted, onRevoked, onCall }) {
  const [consultations, setConsultations] = useState(cachedList);
  const [offline, setOffline] = useState(false);
  const [listError, setListError] = useState(null);  // the server answered with an error (not: unreachable)
  const [topics, setTopics] = useState([]);
  const [roomId, setRoomId] = useState(null);
  const [opened, setOpened] = useState(null);  // { id, name } of the counselor just chosen in the directory
  const [showDirectory, setShowDirectory] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const reload = useCallback(() => lotseApi(session, "GET", "/consultations").then((r) => {
    setConsultations(r.consultations);
    localStorage.setItem(LIST_KEY, JSON.stringify(r.consultations));
    setOffline(false);
    setListError(null);
    setLoaded(true);
  }).catch((e) => {
    if (e?.errcode === "M_UNKNOWN_TOKEN") return onRevoked();
    // Unreachable (no HTTP answer, or a proxy's page that is no JSON) is "offline"; an error answered
    // by the server is said as what it is, in her language.
    if (e?.httpStatus && e?.errcode) setListError(t(errorKey(e))); else setOffline(true);
    setLoaded(true);
  }), [session]);
  useEffect(() => { reload(); lotseApi(session, "GET", "/topics").then((r) => setTopics(r.topics)).catch(() => {}); }, []);
  // Back online or syncing again: the list from the server (new consultations, hand-overs).
  useEffect(() => { if (offline && client?.getSyncState() === "SYNCING") reload(); }, [tick]);
  // A tapped notification opens its consultation: ?room= when the app starts, a message when it runs.
  useEffect(() => {
    const fromUrl = new URLSearchParams(location.search).get("room");
    if (fromUrl) { setRoomId(fromUrl); history.replaceState(null, "", "/"); }
    const onMessage = (e) => { if (e.data?.type === "lotse-open-room" && e.data.room_id) setRoomId(e.data.room_id); };
    navigator.serviceWorker?.addEventListener("message", onMessage);
    navigator.clearAppBadge?.().catch(() => {});
    return () => navigator.serviceWorker?.removeEventListener("message", onMessage);
  }, []);
  const back = () => { setRoomId(null); reload(); };
  if (roomId && client?.getRoom(roomId)) {
    const listed = consultations.find((c) => c.room_id === roomId);
    const known = listed ? { id: listed.counselor, name: listed.counselor_display_name } : opened;
    return html`<${Chat} key=${roomId} t=${t} lang=${lang} client=${client} roomId=${roomId} counselorKnown=${known} tick=${tick}
      languageSwitch=${languageSwitch && cloneElement(languageSwitch, { compact: true })}
      onCounselorChanged=${reload} onBack=${back} onCall=${onCall} />`;
  }
  // The chat needs the crypto (a 2 MB WebAssembly module on a first visit): until it runs, say so.
  if (roomId && !client)
    return html`<${TopBar} t=${t} client=${client} title=${brand}><button class="secondary back" onClick=${back}>${t("chat.back")}</button><//>
      <main><p aria-busy="true" class="connecting">${t("chat.connecting")}</p></main>`;
  const topicName = topicLabel(topics, lang);
  const cards = consultations.map((c) => {
    const room = client?.getRoom(c.room_id);
    return { ...c, topicName: topicName(c.topic),
      activity: Math.max(c.last_activity_ts ?? 0, room?.getLastActiveTimestamp() ?? 0),
      unread: room ? room.getUnreadNotificationCount("total") ?? 0 : c.unread_count ?? 0 };
  }).sort((x, y) => y.activity - x.activity);
  return html`<${TopBar} t=${t} client=${client} title=${brand} /><main>
    <div class="row" style="justify-content:space-between"><h1>${t("consultations.title")}</h1>
      <button class="secondary" onClick=${onLogout}>${t("logout")}</button></div>
    ${offline && html`<p class="warning offline" role="status">${t("consultations.offline")}</p>`}
    ${listError && html`<p class="error" role="alert">${listError}</p>`}
    ${client && html`<${PushOffer} t=${t} brand=${brand} session=${session} client=${client} lang=${lang} />`}
    ${loaded && cards.length === 0 && !offline && html`<p>${t("consultations.empty")}</p>`}
    ${cards.length > 0 && html`<ul class="cards">${cards.map((c) => html`<${ConsultationCard} t=${t} lang=${lang} c=${c} onOpen=${() => setRoomId(c.room_id)} />`)}</ul>`}
    ${offline ? null : showDirectory || (loaded && cards.length === 0)
      ? html`<${Directory} t=${t} session=${session} lang=${lang} onOpened=${(id, known) => { reload(); setOpened(known); setRoomId(id); }} />`
      : loaded && html`<button onClick=${() => setShowDirectory(true)}>${t("consultations.new")}</button>`}
    <hr />
    ${languageSwitch}
    ${client && html`<${ChangePassword} t=${t} client=${client} />
    <${DeleteAccount} t=${t} client=${client} onDeleted=${onDeleted} />`}
  </main>`;
}

// Client events that change what the chat shows (besides those session.js reports).
const CHAT_EVENTS = ["Room.localEchoUpdated", "RoomMember.membership", "RoomState.events"];

export function App({ branding }) {
  const [lang, setLang] = useState(localStorage.getItem("lotse.lang"));
  const [session, setSession] = useState(localStorage.getItem("lotse.locked") ? null : savedSession());
  const [client, setClient] = useState(null);
  const [revoked, setRevoked] = useState(null);
  const [tick, setTick] = useState(0);
  const [call, setCall] = useState(null);  // { call, calls }: the MatrixCall shown and the loaded calls module
  // Strings that were not loaded in time at start-up (src/main.js): loaded now, then shown.
  const [loaded, setLoaded] = useState(0);
  useEffect(() => { if (lang) loadLanguage(lang).then(() => setLoaded((n) => n + 1)).catch(() => {}); }, [lang]);
  const t = useMemo(() => translator(lang ?? "de"), [lang, loaded]);
  // Before the browser paints: a screen in the new language is never shown in the old direction.
  useLayoutEffect(() => {
    document.documentElement.lang = lang ?? "de";
    document.documentElement.dir = isRtl(lang) ? "rtl" : "ltr";
    // The manifest in her language (vite.config.js), so the installed app is named in it.
    if (lang && LANGUAGES[lang]) document.querySelector('link[rel="manifest"]')?.setAttribute("href", `/manifest-${lang}.webmanifest`);
  }, [lang]);
  useEffect(() => { loadOutbox(); }, []);
  // The session ended elsewhere (M_UNKNOWN_TOKEN): the keys of this device are useless now, but the
  // outbox and what was typed stay; the seeker logs in again and they are sent from the new device.
  const leaving = useRef(false);  // logout or account deletion: the token's end is expected then
  const starting = useRef(null);  // the client being started (startClient's promise)
  // `c`: the client that met the dead token; `s`: the session whose request met it (the list asks
  // before the client is up).
  const revoke = useCallback(async (c, s) => {
    if (leaving.current) return;
    // Requests of the old session still in flight (filter, push rules, the list) each report the dead
    // token; once she has logged in again such a report must not end her new session.
    const token = c?.getAccessToken() ?? s?.accessToken;
    if (!token || token !== savedSession()?.accessToken) return;
    stopOutbox();
    const userId = savedSession()?.userId;
    // Reported before the client was up: the one being started is ended once it is there. The next
    // login waits for its stores to be gone (session.js endDevice).
    endDevice(c ? Promise.resolve(c) : (starting.current ?? Promise.resolve(null)).catch((e) => e?.client ?? null), userId);
    localStorage.removeItem("lotse.session");
    localStorage.removeItem("lotse.locked");
    localStorage.removeItem(LIST_KEY);
    setRevoked({ name: userId?.slice(1).split(":")[0] ?? "" });
    setClient(null);
    setSession(null);
  }, []);
  useEffect(() => {
    if (!session) return;
    let stopped = false;
    let cleanup = () => {};
    // At most one render per frame: while a key backup is restored, hundreds of messages decrypt one
    // after the other, and rendering the whole chat for each of them took seconds on a phone.
    let frame = 0;
    const bump = () => { frame ||= requestAnimationFrame(() => { frame = 0; if (!stopped) setTick((n) => n + 1); }); };
    const started = startClient(session, bump);
    starting.current = started;
    started.then((c) => {
      if (stopped) return c.stopClient();
      const online = () => { c.retryImmediately(); retryNow(); };
      const sync = (state, prev) => {
        if (state === "SYNCING" && prev !== "SYNCING" && prev !== "PREPARED") retryNow();
        if (state !== prev) bump();  // e.g. back online: the list reloads (Home)
      };
      const loggedOut = () => revoke(c);
      window.addEventListener("online", online);
      c.on("sync", sync);
      c.on("Session.logged_out", loggedOut);
      for (const ev of CHAT_EVENTS) c.on(ev, bump);
      cleanup = () => { window.removeEventListener("online", online); c.off("Session.logged_out", loggedOut); };
      setClient(c);
      startOutbox(c);
    }).catch((err) => {
      if (err?.errcode === "M_UNKNOWN_TOKEN") return revoke(err.client);
      localStorage.removeItem("lotse.session");
      setSession(null);
    });
    return () => { stopped = true; cleanup(); };
  }, [session]);
  // Calls: an invite rings wherever the seeker is in the app; the call code loads on demand.
  const ring = useCallback((c) => callsFor(client, ring).then((calls) => { if (client.clientRunning) setCall({ call: c, calls }); }), [client]);
  useEffect(() => {
    if (!client) return undefined;
    const unwatch = watchCalls(client, ring);
    // The client goes (logout, session ended elsewhere): a call of it ends with it, camera and
    // microphone included, and its view goes too.
    return () => {
      unwatch();
      setCall((now) => {
        try { if (now && now.call.state !== "ended") now.call.hangup("user_hangup", false); } catch { /* the client has stopped */ }
        return null;
      });
      try { client.getMediaHandler().stopAllStreams(); } catch { /* no media */ }
    };
  }, [client]);
  const placeCall = async (roomId, invitee, video) => {
    const calls = await callsFor(client, ring);
    setCall({ call: calls.place(client, roomId, invitee, video), calls });
  };
  const callView = () => {
    if (!call || !client) return null;
    const room = client.getRoom(call.call.roomId);
    const name = counselorOf(room)?.name ?? call.call.getOpponentMember()?.name ?? "";
    return html`<${call.calls.CallView} t=${t} lang=${lang} client=${client} call=${call.call} name=${name}
      onClose=${() => setCall((now) => (now?.call === call.call ? null : now))}
      onReplaced=${(next) => setCall((now) => (now?.call === call.call ? { call: next, calls: call.calls } : now))} />`;
  };
  const pick = (l) => loadLanguage(l).then(() => { localStorage.setItem("lotse.lang", l); setLang(l); })
    .catch((e) => console.warn("the language could not be loaded", e));
  const onSession = (s) => { localStorage.removeItem("lotse.locked"); leaving.current = false; setRevoked(null); setSession(s); };
  const [signedOut, setSignedOut] = useState(false);  // in memory only: a shared phone keeps no trace
  // A logout first lets the outbox deliver what is on its way (up to 20 s); a deletion does not wait.
  // A logout while the client still starts waits for it (up to 20 s): only the client can wait for
  // the key backup to hold every key before the device is wiped.
  const leave = async (deleted) => {
    leaving.current = true;
    const c = client ?? await Promise.race([starting.current?.catch(() => null), new Promise((r) => setTimeout(() => r(null), 20000))]);
    if (!deleted) await whenDrained(20000);
    stopOutbox();
    await disablePush(c);
    await logoutEverywhere(c, session);
    forgetOutbox();
    setSignedOut(!deleted);
    setClient(null);
    setSession(null);
  };
  const logout = () => leave(false);

  const bar = html`<${TopBar} t=${t} client=${client} title=${branding.name} />`;
  if (!lang) return html`${bar}<${LanguagePick} languages=${branding.languages} onPick=${pick} />`;
  const languageSwitch = html`<${LanguageSwitch} t=${t} lang=${lang} languages=${branding.languages} onPick=${pick} />`;
  if (!session) return html`${bar}<${Auth} t=${t} locked=${!!localStorage.getItem("lotse.locked")} revoked=${revoked} signedOut=${signedOut}
    onSession=${onSession} languageSwitch=${languageSwitch} />`;
  // The list and the directory need only the session; the client (crypto, sync) joins when ready.
  // During a call the call view is the only screen; the one under it stays as it was (hidden).
  return html`<div class="screens" hidden=${!!call}><${Home} t=${t} brand=${branding.name} session=${session} client=${client} lang=${lang} tick=${tick}
    languageSwitch=${languageSwitch} onLogout=${logout} onDeleted=${() => leave(true)} onRevoked=${() => revoke(client, session)} onCall=${placeCall} /></div>
    ${callView()}`;
}
