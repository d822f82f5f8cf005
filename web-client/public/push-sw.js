// Web Push in the seekers' app, imported into the service worker that vite-plugin-pwa builds
// (workbox.importScripts in vite.config.js). A push carries only {room_id, event_id, unread}, and
// the notification says nothing but "New message" and the instance's name, in the seeker's
// language (src/push.js stores both texts in the cache "lotse-push"): no sender, no text, nothing
// that tells someone glancing at a shared phone what it is about.
const PUSH_TEXT = "/__lotse/push-text";

self.addEventListener("push", (event) => {
  event.waitUntil((async () => {
    let data = {};
    try { data = event.data?.json() ?? {}; } catch { /* not JSON: still a neutral notice */ }
    let text = { title: "New message", body: "Lotse" };
    try {
      const stored = await (await caches.open("lotse-push")).match(PUSH_TEXT);
      if (stored) text = await stored.json();
    } catch { /* the defaults */ }
    if (typeof data.unread === "number" && self.navigator.setAppBadge) {
      try { await (data.unread > 0 ? self.navigator.setAppBadge(data.unread) : self.navigator.clearAppBadge()); } catch { /* unsupported */ }
    }
    const roomId = typeof data.room_id === "string" && data.room_id.startsWith("!") ? data.room_id : null;
    // One notification at a time (same tag): a stack of them would say more than "something arrived".
    await self.registration.showNotification(text.title, {
      body: text.body, tag: "lotse-message", renotify: true, icon: "/icon-any-192.png", data: { room_id: roomId },
    });
  })());
});

// Focuses the app and opens the consultation, or starts the app on it (also called by the e2e test).
self.lotseOpenFromNotification = async (roomId) => {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const w of windows) {
    if (!("focus" in w)) continue;
    await w.focus().catch(() => {});
    w.postMessage({ type: "lotse-open-room", room_id: roomId });
    return "focused";
  }
  await self.clients.openWindow(roomId ? `/?room=${encodeURIComponent(roomId)}` : "/");
  return "opened";
};

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.lotseOpenFromNotification(event.notification.data?.room_id ?? null));
});
