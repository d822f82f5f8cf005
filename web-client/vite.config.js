// Vite build of the seekers' PWA; the service worker and manifest come from vite-plugin-pwa.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";

export default defineConfig({
  build: { target: "es2022", sourcemap: false },
  test: { include: ["tests/unit/**/*.test.js"] },
  worker: { format: "es" },
  resolve: {
    // No calls in the seekers' app yet: keep matrix-js-sdk's WebRTC/MatrixRTC code out (src/no-calls.js).
    alias: [
      { find: /^\.\/(webrtc\/(call|callEventHandler|groupCallEventHandler|groupCall|mediaHandler)|matrixrtc\/(MatrixRTCSessionManager|types))\.js$/,
        replacement: fileURLToPath(new URL("./src/no-calls.js", import.meta.url)) },
    ],
  },
  plugins: [
    VitePWA({
      registerType: "autoUpdate",
      injectRegister: null,  // registered in src/main.js so errors are visible
      includeAssets: ["icon-192.png", "icon-512.png", "neutral.html", "push-sw.js"],
      manifest: {
        id: "/",
        lang: "de",
        dir: "auto",
        name: "Lotse – Beratung",
        short_name: "Lotse",
        description: "Vertrauliche Online-Beratung",
        start_url: "/",
        display: "standalone",
        background_color: "#ffffff",
        theme_color: "#0b5cad",
        icons: [
          // The mark sits inside the maskable safe zone, so one image serves both purposes, listed apart.
          { src: "/icon-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
          { src: "/icon-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
          { src: "/icon-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
        ],
      },
      workbox: {
        globPatterns: ["**/*.{js,css,html,png,svg,wasm}"],
        maximumFileSizeToCacheInBytes: 12 * 1024 * 1024,
        navigateFallbackDenylist: [/^\/_matrix/, /^\/_lotse/],
        importScripts: ["/push-sw.js"],  // Web Push: the neutral notification (public/push-sw.js)
      },
    }),
  ],
});
