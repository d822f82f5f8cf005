// Entry point: the app at once, the branding when it arrives; registers the service worker built by vite-plugin-pwa.
import { render } from "preact";
import { html } from "htm/preact";
import { App } from "./app.js";
import { loadLanguage } from "./i18n.js";
import "./style.css";

// The first render never waits for the network: the branding last seen (or the defaults) now, the
// server's when it answers (a stalled request once left a white page for 15 s).
const DEFAULTS = { name: "Lotse", primary_color: "#0b5cad", languages: ["de", "en", "ar", "fa", "ru", "uk", "tr"] };
function show(branding) {
  document.documentElement.style.setProperty("--primary", branding.primary_color);
  document.title = branding.name;
  render(html`<${App} branding=${branding} />`, document.getElementById("app"));
}
function start() {
  let cached = null;
  try { cached = JSON.parse(localStorage.getItem("lotse.branding") ?? "null"); } catch { /* none */ }
  show(cached ?? DEFAULTS);
  fetch("/_lotse/client/v1/branding")
    .then((res) => (res.ok ? res.json() : null))
    .then((branding) => {
      if (!branding) return;
      localStorage.setItem("lotse.branding", JSON.stringify(branding));
      show(branding);
    })
    .catch(() => { /* offline: what is shown stays */ });
}

if ("serviceWorker" in navigator) {
  import("virtual:pwa-register").then(({ registerSW }) => registerSW({ immediate: true })).catch(() => {});
}
// The chosen language's strings first (from the service worker's cache after the first visit), but
// never more than 1.5 s of waiting: then the app starts in German and switches when they arrive.
Promise.race([loadLanguage(localStorage.getItem("lotse.lang")).catch(() => {}), new Promise((r) => setTimeout(r, 1500))]).then(start);
