// Calls between a seeker (the PWA, phone layout) and a counselor (matrix-js-sdk's MatrixCall in a
// second Chromium page, tests/e2e/call-peer/, standing in for Element Web: the same m.call.* events),
// through a real coturn on loopback started from deploy/turnserver.conf.in with a fresh secret. Both
// sides are relay-only, so the media must cross the relay; fake camera and microphone. Checked: the
// call code is fetched only when a call starts or rings; a video call from the seeker, answered,
// with audio and video arriving on both sides over relay candidates, video that stops getting
// through while the audio goes on (said on screen), hung up on both sides; a call from the
// counselor ringing full-screen while the seeker is on her list, answered with sound only, hung up
// by the counselor; a declined and a missed call, each leaving its line in the chat; the signalling
// travels as encrypted room events. Screenshots go to build/screenshots/call-*.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, extname } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { startServer, register, waitFor, api, freePort } from "../../../tests/integration/harness.mjs";
import { CATALOG } from "../../src/all_languages.js";
import { launchChromium, checkLayout, startConsultation } from "./helpers.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "../../..");
const dist = process.env.LOTSE_WEB_DIST ?? join(here, "../../dist");
const shots = join(repo, "build/screenshots");
mkdirSync(shots, { recursive: true });
const T = CATALOG.de;
const PASSWORD = "geheim-genug-123";
let work, coturn, server, browser, peerSite, counselor, peerPage, peerContext, seeker, roomId;

// coturn as shipped, except that the test's peers are both on loopback: relaying to 127.0.0.1 is
// allowed here (and only here), on a port range of its own.
async function startCoturn() {
  const secret = randomBytes(24).toString("hex");
  const port = await freePort();
  const conf = readFileSync(join(repo, "deploy", "turnserver.conf.in"), "utf8")
    .replace("@LISTEN_IP@", "127.0.0.1").replace("@PORT@", String(port)).replace("@TLS_PORT@", String(await freePort()))
    .replace("@DOMAIN@", "turn.test").replace("@SECRET@", secret)
    .replace(/^cert=.*$/m, "no-tls").replace(/^pkey=.*$/m, "no-dtls")
    .replace(/^min-port=.*$/m, "min-port=49300").replace(/^max-port=.*$/m, "max-port=49399")
    .replace(/^denied-peer-ip=127\.0\.0\.0-127\.255\.255\.255$/m, "")
    .replace("@EXTRA@", "relay-ip=127.0.0.1\nallow-loopback-peers\nallowed-peer-ip=127.0.0.1");
  writeFileSync(join(work, "turnserver.conf"), conf);
  writeFileSync(join(work, "turn-secret"), secret + "\n", { mode: 0o600 });
  coturn = spawn("turnserver", ["-c", join(work, "turnserver.conf")], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 500));
  return port;
}

// The counselor's page: built from call-peer/ with the full matrix-js-sdk, served on its own origin.
async function servePeer() {
  const out = join(work, "peer");
  await build({ root: join(here, "call-peer"), configFile: false, logLevel: "error",
    build: { outDir: out, emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 100000 } });
  const types = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };
  const site = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const file = join(out, path === "/" ? "index.html" : path);
    if (!file.startsWith(out) || !existsSync(file)) { res.writeHead(404).end(); return; }
    res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  const port = await freePort();
  await new Promise((r) => site.listen(port, "127.0.0.1", r));
  return { site, url: `http://127.0.0.1:${port}/` };
}

const MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"];
// Every RTCPeerConnection a page makes, so the test can read its statistics (test-only
// instrumentation, in the seeker's page and the counselor's).
const recordPeerConnections = () => {
  const Original = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Original { constructor(...a) { super(...a); window.__pcs.push(this); } };
};
// What arrived on the newest connection: audio and video bytes, decoded frames, and whether the
// selected candidate pair goes through the relay.
const pageStats = (page) => page.evaluate(async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  const out = { audioBytes: 0, videoBytes: 0, framesDecoded: 0, relay: false };
  if (!pc) return out;
  const report = await pc.getStats();
  let pair = null;
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") out.audioBytes += s.bytesReceived ?? 0;
    if (s.type === "inbound-rtp" && s.kind === "video") { out.videoBytes += s.bytesReceived ?? 0; out.framesDecoded += s.framesDecoded ?? 0; }
    if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
  });
  out.relay = !!pair && report.get(pair.localCandidateId)?.candidateType === "relay";
  return out;
});
const peer = (fn, ...args) => peerPage.evaluate(([f, a]) => window.peer[f](...a), [fn, args]);

// Media flows both ways: what each side received grows over a second (audio always, video when asked).
async function mediaFlows(video, what) {
  const before = [await pageStats(seeker.page), await pageStats(peerPage)];
  await new Promise((r) => setTimeout(r, 1500));
  const after = [await pageStats(seeker.page), await pageStats(peerPage)];
  for (const [i, side] of ["seeker", "counselor"].entries()) {
    assert.ok(after[i].relay, `${what}: the ${side}'s media goes through the relay`);
    assert.ok(after[i].audioBytes > before[i].audioBytes, `${what}: the ${side} receives audio (${before[i].audioBytes} -> ${after[i].audioBytes})`);
    if (video) assert.ok(after[i].framesDecoded > before[i].framesDecoded, `${what}: the ${side} decodes video frames`);
  }
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), "lotse-calls-"));
  const turnPort = await startCoturn();
  server = await startServer({ extraConfig: [`[web_client]\ndir = "${dist}"`,
    `[turn]\nuris = ["turn:127.0.0.1:${turnPort}?transport=udp"]\nshared_secret_file = "${join(work, "turn-secret")}"\nttl = 600`].join("\n") });
  peerSite = await servePeer();
  browser = await launchChromium(MEDIA);
  counselor = await register(server, "berger", undefined, { display_name: "Frau Berger" });
  // The counselor's browser session (a device of its own, as an Element login would be).
  const login = await api(server, "POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user: "berger" }, password: counselor.password } });
  assert.equal(login.status, 200);
  peerContext = await browser.newContext({ permissions: ["camera", "microphone"] });
  await peerContext.addInitScript(recordPeerConnections);
  peerPage = await peerContext.newPage();
  peerPage.on("pageerror", (e) => console.error("peer page error:", e.message));
  await peerPage.goto(peerSite.url);
  await peerPage.waitForFunction(() => window.peer);
  const started = await peer("start", { baseUrl: server.baseUrl, userId: login.body.user_id, accessToken: login.body.access_token, deviceId: login.body.device_id });
  assert.deepEqual(started.turn, [`turn:127.0.0.1:${turnPort}?transport=udp`], "the counselor has the relay's credentials");
});
after(async () => {
  try { await peerPage?.evaluate(() => window.peer?.stop()); } catch { /* closed */ }
  await browser?.close();
  peerSite?.site.close();
  await server?.stop();
  server?.cleanup();
  if (coturn) coturn.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
});

test("the seeker registers and starts a consultation; the call code is not loaded yet", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true, permissions: ["camera", "microphone"],
    serviceWorkers: "block" });
  await context.addInitScript(recordPeerConnections);
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  const fetched = [];
  page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  seeker = { context, page, fetched };
  await page.goto(server.baseUrl + "/");
  await page.getByRole("button", { name: "Deutsch" }).click();
  await page.getByLabel(T["register.pseudonym"]).fill("anruferin");
  await page.getByLabel(T["register.password"], { exact: true }).fill(PASSWORD);
  await page.getByRole("button", { name: T["register.submit"] }).click();
  await startConsultation(page, counselor.userId);
  await page.locator("#message").waitFor({ timeout: 60000 });
  roomId = (await waitFor(async () => (await peer("invites")).find((r) => r.name.includes("anruferin")), "the counselor's invite", 20000)).roomId;
  await peer("join", roomId);
  // Element's 1:1 condition holds although the service user is a member.
  assert.deepEqual((await peer("nonFunctionalJoined", roomId)).sort(), [counselor.userId, `@anruferin:localhost`].sort());
  await page.locator("button.call-video").waitFor({ timeout: 20000 });
  await checkLayout(page, "chat with call buttons");
  assert.ok(!fetched.some((p) => /\/assets\/calls-/.test(p)), "no call code before a call");
});

// CPU seconds a process has used so far (utime + stime from /proc; clock ticks of 1/100 s on Linux).
const cpuSeconds = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / 100; };

test("a video call from the seeker: the counselor answers, audio and video cross the relay both ways, the seeker hangs up", async () => {
  const { page, fetched } = seeker;
  // The counselor answers the moment it rings: the time from the tap to media in both directions
  // is the call's set-up (call code, camera, offer, encrypted signalling, TURN allocation, ICE, DTLS).
  await peer("autoAnswer", true);
  const tapped = Date.now();
  await page.locator("button.call-video").click();
  await page.locator(".call-view").waitFor();
  assert.ok(fetched.some((p) => /\/assets\/calls-/.test(p)), "the call code is loaded when the call starts");
  await waitFor(async () => (await pageStats(page)).framesDecoded > 0 && (await pageStats(peerPage)).framesDecoded > 0, "video both ways", 20000);
  const mediaAt = Date.now();
  const setupMs = mediaAt - tapped;
  await peer("autoAnswer", false);
  assert.equal((await peer("state")).type, "video");
  await page.locator('.call-view[data-state="connected"]').waitFor({ timeout: 20000 });
  await mediaFlows(true, "seeker's video call");
  // scripts/bench holds the call (LOTSE_CALL_BENCH_SECONDS) and measures lotse's and coturn's CPU.
  const hold = Number(process.env.LOTSE_CALL_BENCH_SECONDS ?? 0);
  // From the invite reaching lotse (its origin_server_ts; same host clock) to video both ways: the
  // issue's "invite sent -> media flowing", without the call code and the camera before it.
  const invite = (await peer("callEvents", roomId)).filter((e) => e.type === "m.call.invite").at(-1);
  const timing = { setupMs, inviteToMediaMs: mediaAt - invite.ts };
  if (hold > 0) {
    const start = [cpuSeconds(server.proc.pid), cpuSeconds(coturn.pid)];
    await new Promise((r) => setTimeout(r, hold * 1000));
    const end = [cpuSeconds(server.proc.pid), cpuSeconds(coturn.pid)];
    Object.assign(timing, { heldSeconds: hold, lotseCpuPercent: +((end[0] - start[0]) / hold * 100).toFixed(1),
      coturnCpuPercent: +((end[1] - start[1]) / hold * 100).toFixed(1) });
    await mediaFlows(true, `after ${hold} s`);
  }
  console.log(`# call timing ${JSON.stringify(timing)}`);
  await checkLayout(page, "video call");
  await page.screenshot({ path: join(shots, "call-video-de.png") });
  // No video gets through any more, the audio does: the call goes on and says so; then it recovers.
  await peer("videoThrough", false);
  await page.getByText(T["call.weak"]).waitFor({ timeout: 15000 });
  const a = await pageStats(page);
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok((await pageStats(page)).audioBytes > a.audioBytes, "the audio goes on without video");
  await peer("videoThrough", true);
  await page.getByText(T["call.connected"]).waitFor({ timeout: 15000 });
  await page.getByRole("button", { name: T["call.hangup"] }).click();
  await waitFor(async () => (await peer("state")).state === "ended", "the counselor's side ends too", 10000);
  await page.locator(".call-view").waitFor({ state: "detached", timeout: 10000 });
  await page.locator(".call-log.done").first().waitFor({ timeout: 10000 });
  // The signalling went as encrypted room events.
  const events = await peer("callEvents", roomId);
  assert.ok(events.some((e) => e.type === "m.call.invite") && events.some((e) => e.type === "m.call.answer") && events.some((e) => e.type === "m.call.hangup"));
  assert.ok(events.every((e) => e.encrypted), JSON.stringify(events));
});

test("a call from the counselor rings full-screen while the seeker is on her list; she answers with sound only; the counselor hangs up", async () => {
  const { page } = seeker;
  await page.getByRole("button", { name: T["chat.back"] }).click();
  await page.locator(".consultation").first().waitFor();
  await peer("place", roomId, "@anruferin:localhost", true);
  await page.getByRole("heading", { name: T["call.incomingVideo"].replace("{name}", "Frau Berger") }).waitFor({ timeout: 20000 });
  await checkLayout(page, "incoming call");
  await page.screenshot({ path: join(shots, "call-incoming-de.png") });
  await page.getByRole("button", { name: T["call.acceptVoice"] }).click();
  await page.locator('.call-view[data-state="connected"]').waitFor({ timeout: 20000 });
  await mediaFlows(false, "counselor's call answered with sound");
  await page.getByRole("button", { name: T["call.mute"] }).click();
  await page.getByRole("button", { name: T["call.unmute"] }).waitFor();
  await peer("hangup");
  await page.getByText(T["call.ended"]).waitFor({ timeout: 10000 });
  await page.locator(".call-view").waitFor({ state: "detached", timeout: 10000 });
});

test("the app opened afresh: a video call from the counselor brings the call code with its ring; answered with video; camera and microphone off reach the other side; her voice call is answered", async () => {
  const { page } = seeker;
  await page.reload();
  await page.locator(".consultation").first().waitFor({ timeout: 30000 });
  // What this page has loaded, from the HTTP cache or not (the earlier call fetched the code once).
  const callCodeLoaded = () => page.evaluate(() => performance.getEntriesByType("resource").some((e) => /\/assets\/calls-/.test(e.name)));
  await page.waitForTimeout(2000);
  assert.equal(await callCodeLoaded(), false, "no call code in a freshly opened app");
  await peer("place", roomId, "@anruferin:localhost", true);
  await page.getByRole("heading", { name: T["call.incomingVideo"].replace("{name}", "Frau Berger") }).waitFor({ timeout: 30000 });
  assert.equal(await callCodeLoaded(), true, "the call code is loaded when a call rings");
  await page.getByRole("button", { name: T["call.acceptVideo"] }).click();
  await page.locator('.call-view[data-state="connected"]').waitFor({ timeout: 20000 });
  await mediaFlows(true, "counselor's video call answered with video");
  // Her camera off, then on: the counselor's client learns it from her stream metadata.
  await page.getByRole("button", { name: T["call.cameraOff"] }).click();
  await waitFor(() => peer("remoteVideoMuted"), "the counselor sees her camera off", 10000);
  await page.getByRole("button", { name: T["call.cameraOn"] }).click();
  await waitFor(async () => (await peer("remoteVideoMuted")) === false, "and on again", 10000);
  // The counselor's camera off: she reads so.
  await peer("setVideoMuted", true);
  await page.getByText(T["call.remoteCameraOff"]).waitFor({ timeout: 10000 });
  await peer("setVideoMuted", false);
  await page.getByText(T["call.connected"]).waitFor({ timeout: 10000 });
  // Muted: the counselor's client sees her microphone off.
  await page.getByRole("button", { name: T["call.mute"] }).click();
  await waitFor(() => peer("remoteAudioMuted"), "the counselor sees her muted", 10000);
  await peer("hangup");
  await page.locator(".call-view").waitFor({ state: "detached", timeout: 10000 });

  // Her voice call, answered by the counselor: sound both ways, no video.
  await page.locator(`.consultation[data-room="${roomId}"] button`).click();
  await page.locator("button.call-voice").waitFor({ timeout: 20000 });
  await peer("autoAnswer", true);
  await page.locator("button.call-voice").click();
  await page.locator('.call-view[data-state="connected"]').waitFor({ timeout: 20000 });
  await peer("autoAnswer", false);
  assert.equal((await peer("state")).type, "voice");
  await mediaFlows(false, "seeker's voice call");
  await page.getByRole("button", { name: T["call.hangup"] }).click();
  await waitFor(async () => (await peer("state")).state === "ended", "the counselor's side ends too", 10000);
  await page.locator(".call-view").waitFor({ state: "detached", timeout: 10000 });
  await page.getByRole("button", { name: T["chat.back"] }).click();
  await page.locator(".consultation").first().waitFor();
});

test("declined and missed calls end on both sides and leave their lines in the chat", async () => {
  const { page } = seeker;
  await page.locator(`.consultation[data-room="${roomId}"] button`).click();
  await page.locator("#message").waitFor();
  await peer("place", roomId, "@anruferin:localhost", false);
  await page.getByRole("heading", { name: T["call.incomingVoice"].replace("{name}", "Frau Berger") }).waitFor({ timeout: 20000 });
  await page.getByRole("button", { name: T["call.decline"] }).click();
  await waitFor(async () => { const s = await peer("state"); return s.state === "ended" && s.hangupParty === "remote"; }, "the counselor sees the refusal", 10000);
  await page.locator(".call-view").waitFor({ state: "detached", timeout: 10000 });
  await page.locator(".call-log.declined").getByText(T["call.declined"]).waitFor({ timeout: 10000 });

  await peer("place", roomId, "@anruferin:localhost", true);
  await page.getByRole("heading", { name: T["call.incomingVideo"].replace("{name}", "Frau Berger") }).waitFor({ timeout: 20000 });
  await peer("hangup");  // she did not answer in time
  await page.locator(".call-view").waitFor({ state: "detached", timeout: 10000 });
  await page.locator(".call-log.missed").getByText(T["call.missed"]).waitFor({ timeout: 10000 });

  // Her call, declined by the counselor: she reads so.
  await page.locator("button.call-voice").click();
  await page.getByText(T["call.calling"].replace("{name}", "Frau Berger")).waitFor({ timeout: 20000 });
  await waitFor(async () => (await peer("state")).state === "ringing", "the counselor's client rings", 20000);
  await peer("reject");
  await page.getByText(T["call.wasDeclined"]).waitFor({ timeout: 10000 });
  await page.locator(".call-view").waitFor({ state: "detached", timeout: 10000 });
  await checkLayout(page, "chat with call lines");
  await page.screenshot({ path: join(shots, "call-log-de.png") });
  await seeker.context.close();
});
