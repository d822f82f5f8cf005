// The seeker's home screens on a phone (390x844), in German and Arabic: the directory (topic names in
// her language, agency and city, a profile before starting, the topic chosen by her), shown before
// the 2 MB crypto module has loaded; the pseudonym rules before any error; the consultation list
// ordered by last activity with its time and a live unread badge; the language changed at any time;
// an app opened offline showing the consultations and messages it had; a refusal in her language.
// Screenshots go to build/screenshots/home-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, register, startCryptoClient, waitFor, api } from "../../../tests/integration/harness.mjs";
import { CATALOG } from "../../src/all_languages.js";
import { launchChromium, checkLayout, decryptedEvent, startConsultation } from "./helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dist = process.env.LOTSE_WEB_DIST ?? join(here, "../../dist");
const shots = join(here, "../../../build/screenshots");
mkdirSync(shots, { recursive: true });
const PHONE = { width: 390, height: 844 };
const LANG_BUTTON = { de: "Deutsch", ar: "العربية" };
const PASSWORD = "geheim-genug-123";
const NAMES = { aufenthalt: { de: "Aufenthalt und Asyl", ar: "الإقامة واللجوء" }, wohnen: { de: "Wohnen", ar: "السكن" } };
let server, browser, yilmaz, wagner;

before(async () => {
  server = await startServer({ extraConfig: `[web_client]\ndir = "${dist}"` });
  for (const [id, names] of Object.entries(NAMES)) {
    const res = await api(server, "PUT", `/_lotse/admin/v1/topics/${id}`, { token: server.admin.accessToken, body: { names } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }
  const y = await register(server, "yilmaz", undefined, { display_name: "Frau Yılmaz", languages: ["de", "ar"], topics: ["aufenthalt"] });
  const w = await register(server, "wagner", undefined, { display_name: "Herr Wagner", languages: ["de", "ar"], topics: ["aufenthalt", "wohnen"] });
  yilmaz = { reg: y, client: await startCryptoClient(server, y) };
  wagner = { reg: w, client: await startCryptoClient(server, w) };
  browser = await launchChromium();
});
after(async () => {
  for (const c of [yilmaz, wagner]) c?.client.stopClient();
  await browser?.close();
  await server.stop();
  server.cleanup();
});

async function phone(options = {}) {
  const context = await browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true, ...options });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  return { context, page };
}

async function registerIn(page, code, name) {
  const T = CATALOG[code];
  await page.goto(server.baseUrl + "/");
  await page.getByRole("button", { name: LANG_BUTTON[code] }).click();
  await page.getByLabel(T["register.pseudonym"]).fill(name);
  await page.getByLabel(T["register.password"], { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: T["register.submit"] }).click();
}

const sessionOf = (page) => page.evaluate(() => JSON.parse(localStorage.getItem("lotse.session")));

// The counselor joins the seeker's new consultation and answers in it.
async function accept(counselor, seekerName) {
  const roomId = await waitFor(() => counselor.client.getRooms().find((r) => r.getMyMembership() === "invite" && r.name.includes(seekerName))?.roomId,
    "invite", 20000);
  await counselor.client.joinRoom(roomId);
  await waitFor(async () => counselor.client.getCrypto().isEncryptionEnabledInRoom(roomId), "encrypted room");
  return roomId;
}

for (const code of ["de", "ar"]) {
  const T = CATALOG[code];

  test(`${code}: the pseudonym rules come first; the directory shows before the crypto module, with topic names, agency, city and a profile where she picks the topic`, async () => {
    // A first visit: no service worker yet (its precache would fetch the module past the route).
    const { context, page } = await phone({ serviceWorkers: "block" });
    // The crypto WebAssembly module is held back until the directory has been checked.
    let release;
    const held = new Promise((r) => { release = r; });
    await page.route("**/*.wasm", async (route) => { await held; await route.continue(); });
    const registrations = [];
    page.on("request", (r) => { if (r.url().includes("/register")) registrations.push(r.url()); });
    try {
      await page.goto(server.baseUrl + "/");
      await page.getByRole("button", { name: LANG_BUTTON[code] }).click();
      assert.equal(await page.locator("#pseudonym-rules").innerText(), T["register.pseudonymHint"]);
      assert.equal(await page.getByLabel(T["register.pseudonym"]).getAttribute("aria-describedby"), "pseudonym-rules");
      await page.getByLabel(T["register.pseudonym"]).fill("Ж".repeat(40));  // 240 bytes once mapped: over the limit
      await page.getByLabel(T["register.password"], { exact: true }).fill(PASSWORD);
      await page.getByRole("button", { name: T["register.submit"] }).click();
      assert.equal(await page.locator("p.error").innerText(), T["error.nameTooLong"]);
      assert.deepEqual(registrations, [], "refused before any request");

      const name = `Verzeichnis${code}`;  // any case: folded to the account "verzeichnis.."
      await page.getByLabel(T["register.pseudonym"]).fill(name);
      await page.getByRole("button", { name: T["register.submit"] }).click();
      const card = page.locator(`.counselor[data-user="${wagner.reg.userId}"]`);
      await card.waitFor({ timeout: 30000 });
      assert.equal((await sessionOf(page)).userId.split(":")[0], `@${name.toLowerCase()}`);
      const text = await card.innerText();
      assert.match(text, /Herr Wagner/);
      assert.match(text, /Beratungsstelle Mitte · Berlin/);
      assert.match(text, new RegExp(`${NAMES.aufenthalt[code]}, ${NAMES.wohnen[code]}`), "topic names in her language, not ids");
      assert.doesNotMatch(text, /aufenthalt|wohnen/);
      // The whole card is the button.
      const [cardBox, buttonBox] = [await card.boundingBox(), await card.locator("button").boundingBox()];
      assert.ok(Math.abs(cardBox.width - buttonBox.width) <= 2 && Math.abs(cardBox.height - buttonBox.height) <= 2,
        `button ${JSON.stringify(buttonBox)} fills card ${JSON.stringify(cardBox)}`);
      assert.equal(await page.evaluate(() => [...performance.getEntriesByType("resource")].some((e) => e.name.endsWith(".wasm") && e.responseEnd > 0)), false,
        "the crypto module has not arrived");
      await checkLayout(page, "directory");
      await page.screenshot({ path: join(shots, `home-directory-${code}.png`) });

      // The profile: nothing chosen for her when there is a choice.
      await card.locator("button").click();
      const profile = page.locator(`.profile[data-user="${wagner.reg.userId}"]`);
      await profile.waitFor();
      assert.match(await profile.innerText(), /Beratungsstelle Mitte · Berlin/);
      assert.equal(await profile.locator("legend").innerText(), T["profile.chooseTopic"]);
      assert.equal(await profile.locator("input[name=topic]:checked").count(), 0);
      assert.ok(await profile.locator("button.start").isDisabled());
      await profile.getByLabel(NAMES.wohnen[code]).check();
      assert.ok(await profile.locator("button.start").isEnabled());
      await checkLayout(page, "profile");
      await page.screenshot({ path: join(shots, `home-profile-${code}.png`) });
      await profile.locator("button.start").click();
      // The chat waits for the crypto module, and says so.
      await page.locator(".connecting").waitFor({ timeout: 20000 });
      assert.equal(await page.locator(".connecting").innerText(), T["chat.connecting"]);
      release();
      await page.locator("#message").waitFor({ timeout: 60000 });
      const list = await api(server, "GET", "/_lotse/client/v1/consultations", { token: (await sessionOf(page)).accessToken });
      assert.deepEqual(list.body.consultations.map((c) => [c.counselor, c.topic]), [[wagner.reg.userId, "wohnen"]]);
      // The counselor sees the pseudonym as she typed it, not the folded account name.
      const his = await api(server, "GET", "/_lotse/client/v1/consultations", { token: wagner.reg.accessToken });
      assert.equal(his.body.consultations.find((c) => c.room_id === list.body.consultations[0].room_id).seeker_pseudonym, name);
    } finally {
      release();
      await context.close();
    }
  });
}

test("de: the list is ordered by last activity with its time and a live unread badge; the language changes at any time", async () => {
  const T = CATALOG.de;
  const { context, page } = await phone();
  try {
    const name = "liste";
    await registerIn(page, "de", name);
    for (const counselor of [yilmaz, wagner]) {
      await startConsultation(page, counselor.reg.userId, { topic: "aufenthalt" });
      await page.locator("#message").waitFor({ timeout: 60000 });
      counselor.roomId = await accept(counselor, name);
      await page.getByRole("button", { name: T["chat.back"] }).click();
      await page.locator(`.consultation[data-room="${counselor.roomId}"]`).waitFor();
      if (counselor === yilmaz) await page.getByRole("button", { name: T["consultations.new"] }).click();
    }
    const order = () => page.locator(".consultation").evaluateAll((els) => els.map((e) => e.dataset.room));
    const badge = (c) => page.locator(`.consultation[data-room="${c.roomId}"] .badge`);
    // Frau Yılmaz writes: her consultation comes first, with one unread, without a reload.
    await yilmaz.client.sendTextMessage(yilmaz.roomId, "Guten Tag! Wie kann ich helfen?");
    await waitFor(async () => (await badge(yilmaz).count()) === 1 && (await badge(yilmaz).innerText()) === "1", "Yılmaz's badge shows 1", 20000);
    assert.deepEqual(await order(), [yilmaz.roomId, wagner.roomId]);
    assert.equal(await badge(yilmaz).getAttribute("aria-label"), T["consultations.unread"].replace("{n}", "1"));
    assert.match(await page.locator(`.consultation[data-room="${yilmaz.roomId}"] time`).innerText(), /^\d\d:\d\d$/);
    // Then Herr Wagner, twice: his comes first.
    await wagner.client.sendTextMessage(wagner.roomId, "Hallo, hier Herr Wagner.");
    await wagner.client.sendTextMessage(wagner.roomId, "Haben Sie den Mietvertrag?");
    await waitFor(async () => (await badge(wagner).count()) === 1 && (await badge(wagner).innerText()) === "2", "Wagner's badge shows 2", 20000);
    assert.deepEqual(await order(), [wagner.roomId, yilmaz.roomId]);
    await checkLayout(page, "consultations with badges");
    await page.screenshot({ path: join(shots, "home-list-de.png") });
    // Reading clears the badge.
    await page.locator(`.consultation[data-room="${wagner.roomId}"] button`).click();
    await page.getByText("Haben Sie den Mietvertrag?").waitFor({ timeout: 20000 });
    await page.getByRole("button", { name: T["chat.back"] }).click();
    await waitFor(async () => (await badge(wagner).count()) === 0, "Wagner's badge gone", 20000);
    assert.equal(await badge(yilmaz).innerText(), "1");

    // The language, changed on the home screen: everything follows, right to left included.
    await page.getByLabel(T["settings.language"]).selectOption("ar");
    await page.getByRole("heading", { name: CATALOG.ar["consultations.title"] }).waitFor();
    assert.equal(await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir].join()), "ar,rtl");
    assert.equal(await page.locator(".quick-exit").innerText(), CATALOG.ar["exit.quick"]);
    await checkLayout(page, "consultations in Arabic after the switch");
    await page.screenshot({ path: join(shots, "home-list-ar.png") });
    await page.reload();
    await page.getByRole("heading", { name: CATALOG.ar["consultations.title"] }).waitFor({ timeout: 30000 });
    await page.getByLabel(CATALOG.ar["settings.language"]).selectOption("de");
    await page.getByRole("heading", { name: T["consultations.title"] }).waitFor();
  } finally {
    await context.close();
  }
});

for (const code of ["de", "ar"]) test(`${code}: opened offline, the app shows the consultations and the messages it had`, async () => {
  const T = CATALOG[code];
  const { context, page } = await phone();
  try {
    const name = `funkstille${code}`;
    await registerIn(page, code, name);
    await startConsultation(page, yilmaz.reg.userId);
    await page.locator("#message").waitFor({ timeout: 60000 });
    const roomId = await accept(yilmaz, name);
    await page.locator("#message").fill("Ich habe eine Frage zum Aufenthalt.");
    await page.getByRole("button", { name: T["chat.send"], exact: true }).click();
    await decryptedEvent(yilmaz.client, roomId, (c) => c.body === "Ich habe eine Frage zum Aufenthalt.", "the seeker's question");
    await yilmaz.client.sendTextMessage(roomId, "Gern, was genau möchten Sie wissen?");
    await page.getByText("Gern, was genau möchten Sie wissen?").waitFor({ timeout: 20000 });
    await page.evaluate(async () => navigator.serviceWorker.ready);
    await page.waitForTimeout(3000);  // the sync store is written a few seconds after anything new

    await context.setOffline(true);
    await page.reload();  // the service worker serves the app
    const card = page.locator(`.consultation[data-room="${roomId}"]`);
    await card.waitFor({ timeout: 20000 });
    assert.match(await card.innerText(), /Frau Yılmaz/);
    await page.locator(".offline").waitFor();
    assert.equal(await page.locator(".offline").innerText(), T["consultations.offline"]);
    await checkLayout(page, "consultations offline");
    await page.screenshot({ path: join(shots, `home-offline-${code}.png`) });
    await card.locator("button").click();
    await page.getByText("Gern, was genau möchten Sie wissen?").waitFor({ timeout: 30000 });
    await page.getByText("Ich habe eine Frage zum Aufenthalt.").waitFor();
    assert.equal(await page.locator(".undecryptable").count(), 0, "decrypted again from the local keys");
    await checkLayout(page, "chat offline");
    await page.screenshot({ path: join(shots, `home-offline-chat-${code}.png`) });

    await context.setOffline(false);
    await page.getByRole("button", { name: T["chat.back"] }).click();
    await page.locator(".offline").waitFor({ state: "detached", timeout: 30000 });
  } finally {
    await context.close();
  }
});

test("ar: a counselor gone meanwhile: the refusal in the seeker's language", async () => {
  const T = CATALOG.ar;
  const gone = await register(server, "ausgeschieden", undefined, { display_name: "Frau Weg", languages: ["ar"], topics: ["aufenthalt"] });
  const { context, page } = await phone();
  try {
    await registerIn(page, "ar", "spaet");
    await page.locator(`.counselor[data-user="${gone.userId}"] button`).click({ timeout: 30000 });
    const res = await api(server, "POST", `/_lotse/admin/v1/counselors/${encodeURIComponent(gone.userId)}/deactivate`,
      { token: server.admin.accessToken, body: {} });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await page.locator(".profile button.start").click();
    assert.equal(await page.locator(".profile .error").innerText(), T["error.notFound"]);
    await checkLayout(page, "profile with an error");
  } finally {
    await context.close();
  }
});
