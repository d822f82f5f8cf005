// Notifications in the seekers' app (issue #14): the offer after login (never on the first screen),
// the subscription with the server's VAPID key and a pusher at the built-in gateway, the neutral
// notification the service worker shows for a push, the consultation it opens, and logout removing
// pusher and subscription.
//
// Headless Chromium cannot register with a real push service (no FCM here: subscribe() fails with
// "permission denied"), so PushManager.subscribe is replaced by one that returns a subscription at a
// fake push service on loopback whose keys the test holds. Everything from there is real: the app's
// pusher registration, the server's Web Push request (decrypted here with npm http_ece), and that
// payload delivered to the real service worker over CDP (ServiceWorker.deliverPushMessage).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, register, startCryptoClient, waitFor, api } from "../../../tests/integration/harness.mjs";
import { startPushService, decryptPush } from "../../../tests/integration/web_push_receiver.mjs";
import { CATALOG } from "../../src/all_languages.js";
import { launchChromium, startConsultation } from "./helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.LOTSE_WEB_DIST ?? join(here, "../../dist");
const T = CATALOG.de;
const enc = encodeURIComponent;
let server, push, browser, counselor, counselorReg;

before(async () => {
  push = await startPushService();
  server = await startServer({ extraConfig: `[web_client]\ndir = "${dist}"\n${push.config}` });
  browser = await launchChromium();
  counselorReg = await register(server, undefined, undefined, { display_name: "Frau Ratgeberin" });
  counselor = await startCryptoClient(server, counselorReg);
});
after(async () => { counselor?.stopClient(); await browser?.close(); await server?.stop(); server?.cleanup(); push?.close(); });

async function seekerWithFakeSubscription(sub) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, permissions: ["notifications"] });
  await context.addInitScript(({ endpoint, p256dh, auth }) => {
    // The subscription outlives reloads, as a real one does (sessionStorage: the app's logout clears
    // localStorage and IndexedDB, which would otherwise hide whether it unsubscribed).
    const state = () => JSON.parse(sessionStorage.getItem("__push") ?? '{"active":false,"subscribed":0,"unsubscribed":0}');
    const save = (s) => sessionStorage.setItem("__push", JSON.stringify(s));
    const make = (options) => ({
      endpoint, options,
      toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh, auth } }),
      unsubscribe: async () => { const s = state(); save({ ...s, active: false, unsubscribed: s.unsubscribed + 1 }); return true; },
    });
    PushManager.prototype.subscribe = async function (options) {
      const s = state();
      const serverKey = btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey)));
      save({ ...s, active: true, subscribed: s.subscribed + 1, serverKey });
      return make({ applicationServerKey: options.applicationServerKey });
    };
    PushManager.prototype.getSubscription = async function () {
      const s = state();
      if (!s.active) return null;
      const key = Uint8Array.from(atob(s.serverKey), (c) => c.charCodeAt(0));
      return make({ applicationServerKey: key.buffer });
    };
  }, { endpoint: sub.endpoint, p256dh: sub.pushkey, auth: sub.auth });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  return { context, page };
}

test("de: the offer after login, a pusher at the gateway, a neutral notification that opens the consultation, logout cleans up", async () => {
  const sub = push.subscription();
  const { context, page } = await seekerWithFakeSubscription(sub);
  try {
    await page.goto(server.baseUrl + "/");
    await page.getByRole("button", { name: "Deutsch" }).click();
    // Not on the first screen.
    await page.getByLabel(T["register.pseudonym"]).waitFor();
    assert.equal(await page.getByText(T["push.offer"]).count(), 0, "no offer before login");
    await page.getByLabel(T["register.pseudonym"]).fill(`push${process.pid}`);
    await page.getByLabel(T["register.password"], { exact: true }).fill("ein-langes-passwort");
    await page.getByRole("button", { name: T["register.submit"] }).click();

    // After login: the offer, in German, saying what a notification will show.
    await page.getByText(T["push.offer"]).waitFor({ timeout: 30000 });
    const session = JSON.parse(await page.evaluate(() => localStorage.getItem("lotse.session")));
    await page.getByRole("button", { name: T["push.enable"] }).click();
    await page.getByText(T["push.offer"]).waitFor({ state: "detached", timeout: 15000 });
    const vapid = (await api(server, "GET", "/_lotse/client/v1/push", { token: session.accessToken })).body.vapid_public_key;
    const used = await page.evaluate(() => JSON.parse(sessionStorage.getItem("__push")));
    assert.equal(used.subscribed, 1);
    assert.equal(Buffer.from(used.serverKey, "base64").toString("base64url"), vapid, "subscribed with the server's VAPID key");
    const pushers = (await api(server, "GET", "/_matrix/client/v3/pushers", { token: session.accessToken })).body.pushers;
    assert.equal(pushers.length, 1);
    assert.equal(pushers[0].pushkey, sub.pushkey);
    assert.equal(pushers[0].data.endpoint, sub.endpoint);
    assert.equal(pushers[0].data.url, `${server.baseUrl}/_matrix/push/v1/notify`);
    assert.equal(pushers[0].lang, "de");

    // A consultation; the counselor accepts and answers while the seeker is on her list.
    await startConsultation(page, counselorReg.userId, { timeout: 30000 });
    await page.locator("#message").waitFor({ timeout: 30000 });
    const roomId = (await api(server, "GET", "/_lotse/client/v1/consultations", { token: session.accessToken })).body.consultations[0].room_id;
    await waitFor(() => counselor.getRoom(roomId)?.getMyMembership() === "invite", "the invite", 30000);
    await counselor.joinRoom(roomId);
    await waitFor(async () => counselor.getCrypto().isEncryptionEnabledInRoom(roomId), "encrypted room");
    await page.goto(server.baseUrl + "/");  // back to the list
    await page.getByRole("heading", { name: T["consultations.title"] }).waitFor({ timeout: 30000 });
    const before = push.received.length;
    const secret = "Ihr Termin ist am Dienstag um 10 Uhr.";
    await counselor.sendTextMessage(roomId, secret);
    await waitFor(() => push.received.slice(before).some((r) => r.url === sub.path), "the push at the push service", 20000);
    const request = push.received.slice(before).find((r) => r.url === sub.path);
    const payload = decryptPush(sub, request.body);
    assert.equal(JSON.parse(payload).room_id, roomId);
    for (const leak of ["Dienstag", "Ratgeberin", counselorReg.userId]) assert.ok(!payload.includes(leak), `payload holds ${leak}`);

    // The payload delivered to the app's service worker: a neutral, translated notification.
    const cdp = await context.newCDPSession(page);
    const registrations = new Map();
    cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations: rs }) => { for (const r of rs) registrations.set(r.scopeURL, r.registrationId); });
    await cdp.send("ServiceWorker.enable");
    const registrationId = await waitFor(() => registrations.get(`${server.baseUrl}/`), "the service worker registration");
    // Delivered once the worker is activated: a push to one still installing its precache (the
    // app's files, the WASM among them) never reaches a push handler, in a browser as here.
    await page.evaluate(async () => {
      const r = await navigator.serviceWorker.ready;
      if (r.active.state !== "activated") await new Promise((ok) => r.active.addEventListener("statechange", () => r.active.state === "activated" && ok()));
    });
    await cdp.send("ServiceWorker.deliverPushMessage", { origin: server.baseUrl, registrationId, data: payload });
    const shown = await waitFor(async () => {
      const list = await page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications())
        .map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })));
      return list.length ? list : null;
    }, "the notification", 15000);
    assert.equal(shown.length, 1);
    assert.equal(shown[0].title, T["push.title"]);
    assert.equal(shown[0].body, "Lotse");  // the instance's name
    assert.equal(shown[0].data.room_id, roomId);
    for (const leak of ["Dienstag", "Ratgeberin", "Beratung"]) assert.ok(!JSON.stringify(shown).includes(leak), `notification shows ${leak}`);

    // Its click opens the consultation in the running app (the worker's click handler, called in the worker).
    const worker = context.serviceWorkers()[0] ?? await context.waitForEvent("serviceworker");
    assert.equal(await worker.evaluate((id) => self.lotseOpenFromNotification(id), roomId), "focused");
    await page.locator("#message").waitFor({ timeout: 15000 });
    await page.getByText(secret).waitFor({ timeout: 30000 });
    // Started from a notification (?room=), the app opens the consultation too.
    await page.goto(`${server.baseUrl}/?room=${enc(roomId)}`);
    await page.locator("#message").waitFor({ timeout: 30000 });

    // Logout removes the pusher on the server and cancels the browser's subscription.
    await page.goto(server.baseUrl + "/");
    await page.getByRole("button", { name: T["logout"] }).click({ timeout: 30000 });
    await page.getByRole("heading", { name: T["login.title"] }).waitFor({ timeout: 30000 });
    assert.equal(await page.evaluate(() => JSON.parse(sessionStorage.getItem("__push")).unsubscribed), 1, "the browser's subscription is cancelled");
    const exported = await api(server, "GET", `/_lotse/admin/v1/users/${enc(session.userId)}/export`, { token: server.admin.accessToken });
    assert.deepEqual(exported.body.pushers, [], "no pusher left after logout");
  } finally {
    await context.close();
  }
});

test("ar: the offer is in Arabic; on an iPhone outside the home screen the app explains how to get notifications", async () => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  });
  const page = await context.newPage();
  try {
    await page.goto(server.baseUrl + "/");
    await page.getByRole("button", { name: "العربية" }).click();
    const A = CATALOG.ar;
    await page.getByLabel(A["register.pseudonym"]).fill(`ios${process.pid}`);
    await page.getByLabel(A["register.password"], { exact: true }).fill("ein-langes-passwort");
    await page.getByRole("button", { name: A["register.submit"] }).click();
    await page.getByText(A["push.ios"]).waitFor({ timeout: 30000 });
    assert.equal(await page.getByRole("button", { name: A["push.enable"] }).count(), 0, "no button that cannot work there");
  } finally {
    await context.close();
  }
});
