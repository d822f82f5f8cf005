// Entry point: branding, then the app; registers the service worker built by vite-plugin-pwa.
import { render } from "preact";
import { html } from "htm/preact";
import { App } from "./app.js";
import "./style.css";

async function start() {
  let branding = { name: "Lotse", primary_color: "#0b5cad", languages: ["de", "en", "ar", "fa", "ru", "uk", "tr"] };
  try {
    const res = await fetch("/_lotse/client/v1/branding");
    if (res.ok) branding = await res.json();
  } catch { /* offline: defaults, the app shell still works */ }
  document.documentElement.style.setProperty("--primary", branding.primary_color);
  document.title = branding.name;
  render(html`<${App} branding=${branding} />`, document.getElementById("app"));
}

if ("serviceWorker" in navigator) {
  import("virtual:pwa-register").then(({ registerSW }) => registerSW({ immediate: true })).catch(() => {});
}
start();
