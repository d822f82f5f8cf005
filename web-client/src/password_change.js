// Password change that keeps the history (session.js changePassword, key_recovery.js).
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { errorKey } from "./i18n.js";
import { changePassword } from "./session.js";

export function ChangePassword({ t, client }) {
  const [open, setOpen] = useState(false);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [state, setState] = useState(null);  // null | "busy" | "done" | an error message
  if (!open) return html`${state === "done" && html`<p class="meta" role="status">${t("password.changed")}</p>`}
    <button class="secondary change-password" onClick=${() => { setOpen(true); setState(null); }}>${t("password.change")}</button>`;
  const submit = async (e) => {
    e.preventDefault();
    setState("busy");
    try {
      await changePassword(client, current, next);
      setCurrent(""); setNext(""); setOpen(false); setState("done");
    } catch (err) {
      setState(t(errorKey(err)));
    }
  };
  return html`<form class="card password-form" onSubmit=${submit}>
    <label for="current-password">${t("password.current")}</label>
    <input id="current-password" type="password" autocomplete="current-password" value=${current} onInput=${(e) => setCurrent(e.target.value)} required />
    <label for="new-password">${t("password.new")}</label>
    <input id="new-password" type="password" autocomplete="new-password" minlength="8" value=${next} onInput=${(e) => setNext(e.target.value)} required />
    ${state && state !== "busy" && state !== "done" && html`<p class="error" role="alert">${state}</p>`}
    <p class="row"><button type="submit" disabled=${state === "busy"}>${t("password.change")}</button>
      <button type="button" class="secondary" onClick=${() => setOpen(false)}>${t("voice.cancel")}</button></p>
  </form>`;
}

