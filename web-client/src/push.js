// Notifications for the seeker: a Web Push subscription with the server's VAPID key and a pusher
// pointing at the server's built-in gateway (README "Notifications"). What a notification shows is
// stored here for the service worker (public/push-sw.js): "New message" and the instance's name in
// the seeker's language, nothing else.
import { lotseApi } from "./session.js";

export const APP_ID = "de.lotse.pwa";
const PUSH_TEXT = "/__lotse/push-text";
const ENABLED = "lotse.push.enabled";
const DISMISSED = "lotse.push.dismissed";

const isIos = () => /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
const standalone = () => navigator.standalone === true || matchMedia?.("(display-mode: standalone)").matches;

// "offer", "enabled", "dismissed", "denied", "ios-install" (iOS allows Web Push only for an app on
// the home screen, iOS 16.4+) or "unsupported".
export function pushState() {
  if (isIos() && !standalone()) return "ios-install";
  if (!("serviceWorker" in navigator) || !("PushManager" in globalThis) || !("Notification" in globalThis)) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  if (localStorage.getItem(ENABLED) && Notification.permission === "granted") return "enabled";
  if (localStorage.getItem(DISMISSED)) return "dismissed";
  return "offer";
}

export const dismissPush = () => localStorage.setItem(DISMISSED, "1");

// The two sentences a notification shows, for the service worker.
export async function storePushText(title, body) {
  try {
    const cache = await caches.open("lotse-push");
    await cache.put(PUSH_TEXT, new Response(JSON.stringify({ title, body }), { headers: { "Content-Type": "application/json" } }));
  } catch { /* no Cache Storage: the worker's defaults */ }
}

function keyBytes(b64url) {
  const s = atob(b64url.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (b64url.length % 4)) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

const sameKey = (a, b) => a && b && a.byteLength === b.byteLength && new Uint8Array(a).every((x, i) => x === b[i]);

export async function enablePush(client, session, lang, title, body) {
  if ((await Notification.requestPermission()) !== "granted") throw Object.assign(new Error("denied"), { code: "denied" });
  const info = await lotseApi(session, "GET", "/push");
  if (!info.enabled) throw new Error("push disabled on this server");
  const serverKey = keyBytes(info.vapid_public_key);
  const registration = await navigator.serviceWorker.ready;
  let sub = await registration.pushManager.getSubscription();
  if (sub && !sameKey(sub.options?.applicationServerKey, serverKey)) { await sub.unsubscribe(); sub = null; }
  if (!sub) sub = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: serverKey });
  const { endpoint, keys } = sub.toJSON();
  await storePushText(title, body);
  await client.setPusher({
    kind: "http", app_id: APP_ID, pushkey: keys.p256dh, app_display_name: "Lotse", device_display_name: "Browser", lang,
    data: { url: `${location.origin}/_matrix/push/v1/notify`, format: "event_id_only", endpoint, auth: keys.auth },
  });
  localStorage.setItem(ENABLED, "1");
}

// Logout and account deletion: the pusher goes (the server also drops it with the device) and the
// browser's subscription is cancelled, so nothing arrives for an account that left this phone.
export async function disablePush(client) {
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    const sub = await registration?.pushManager?.getSubscription();
    if (sub) {
      const pushkey = sub.toJSON().keys?.p256dh;
      if (pushkey) await client?.setPusher({ kind: null, app_id: APP_ID, pushkey }).catch(() => {});
      await sub.unsubscribe();
    }
    await caches.delete("lotse-push");
  } catch { /* nothing to cancel */ }
  localStorage.removeItem(ENABLED);
}
