// Vite build of the seekers' PWA; the service worker and manifest come from vite-plugin-pwa.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";
import { isRtl } from "./src/i18n.js";
import { CATALOG } from "./src/all_languages.js";

// The web manifest in every language of the app (manifest-LANG.webmanifest; src/app.js links the
// one of the chosen language, so an installed app is named in it); German is the default one.
const manifestFor = (lang) => ({
  id: "/",
  lang,
  dir: isRtl(lang) ? "rtl" : "ltr",
  name: CATALOG[lang]["app.name"],
  short_name: "Lotse",
  description: CATALOG[lang]["app.description"],
  start_url: "/",
  display: "standalone",
  background_color: "#ffffff",
  theme_color: "#0b5cad",
  icons: [
    // "any": the rounded mark on transparency; "maskable": full bleed, the mark in the safe zone (tools/icons.mjs).
    { src: "/icon-any-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
    { src: "/icon-any-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
    { src: "/icon-maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
  ],
  screenshots: [
    { src: "/screenshot-narrow.png", sizes: "390x844", type: "image/png", form_factor: "narrow", label: CATALOG[lang]["consultations.title"] },
  ],
});
const languageManifests = () => ({
  name: "lotse-language-manifests",
  generateBundle() {
    for (const lang of Object.keys(CATALOG))
      this.emitFile({ type: "asset", fileName: `manifest-${lang}.webmanifest`, source: JSON.stringify(manifestFor(lang)) });
  },
});

export default defineConfig({
  build: { target: "es2022", sourcemap: false },
  test: { include: ["tests/unit/**/*.test.js"] },
  worker: { format: "es" },
  resolve: {
    // matrix-js-sdk's client would pull its WebRTC/MatrixRTC code into the first load: its own imports
    // of it get stand-ins (src/no-calls.js); the app loads the real call code on demand (src/calls.js).
    alias: [
      { find: /^\.\/(webrtc\/(call|callEventHandler|groupCallEventHandler|groupCall|mediaHandler)|matrixrtc\/(MatrixRTCSessionManager|types))\.js$/,
        replacement: fileURLToPath(new URL("./src/no-calls.js", import.meta.url)) },
      // Nor sliding sync, MSC3089 file trees, sticky events, the IndexedDB worker backend or .well-known discovery (src/sdk-unused.js).
      { find: /^\.\/(sliding-sync-sdk|models\/MSC3089TreeSpace|indexeddb-remote-backend|autodiscovery|room-sticky-events)\.js$/,
        replacement: fileURLToPath(new URL("./src/sdk-unused.js", import.meta.url)) },
    ],
  },
  plugins: [
    languageManifests(),
    VitePWA({
      registerType: "autoUpdate",
      injectRegister: null,  // registered in src/main.js so errors are visible
      includeAssets: ["icon-any-192.png", "icon-any-512.png", "icon-maskable-512.png", "neutral.html", "push-sw.js"],
      manifest: manifestFor("de"),
      workbox: {
        globPatterns: ["**/*.{js,css,html,png,svg,wasm}"],
        // Screenshots are for install dialogs only. The call code (src/calls.js) is not in the first
        // load but cached afterwards, so an app left open across an update still finds it.
        globIgnores: ["**/screenshot-*"],
        maximumFileSizeToCacheInBytes: 12 * 1024 * 1024,
        navigateFallbackDenylist: [/^\/_matrix/, /^\/_lotse/],
        importScripts: ["/push-sw.js"],  // Web Push: the neutral notification (public/push-sw.js)
      },
    }),
  ],
});
