// Test harness: starts a real lotse process on a free loopback port with its own data directory,
// and gives tests plain HTTP helpers and matrix-js-sdk clients.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { createHash, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

// matrix-js-sdk 43 uses Promise.withResolvers (Node 22); Debian's Node is 20.
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}

const here = dirname(fileURLToPath(import.meta.url));
export const LOTSE = process.env.LOTSE_BIN ?? join(here, "../../build/server/lotse");

// ASan/LSan errors and UBSan's "runtime error:" lines, as the sanitizer build prints them on stderr.
const SANITIZER_REPORT = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/;

// A port nothing listens on now. The kernel may hand the same one out again right after it was
// closed, so a process never gets a port twice (two calls in a row once gave lotse and its metrics
// listener the same port).
const handedOut = new Set();
export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const srv = createServer();
      srv.listen(0, "127.0.0.1", () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
      srv.on("error", reject);
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

// LOTSE_TEST_VIA_NGINX=1: every lotse a test starts sits behind Debian's nginx, configured from
// deploy/nginx-site.conf.in as `lotse-admin tenant create` renders it (TLS with a self-signed
// certificate, HTTP/2, the long-poll location), and the test talks to nginx only. Certificate checks
// are off in such a test process (Chromium gets --ignore-certificate-errors, helpers.mjs).
export const VIA_NGINX = process.env.LOTSE_TEST_VIA_NGINX === "1";
if (VIA_NGINX) process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
let certificate = null;
function selfSignedCertificate() {
  if (!certificate) {
    const d = mkdtempSync(join(tmpdir(), "lotse-cert-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
      "-keyout", join(d, "key.pem"), "-out", join(d, "cert.pem")], { stdio: "ignore" });
    certificate = { cert: join(d, "cert.pem"), key: join(d, "key.pem") };
    process.on("exit", () => rmSync(d, { recursive: true, force: true }));
  }
  return certificate;
}
async function frontWithNginx(port, dir) {
  const listen = await freePort();
  const prefix = join(dir, "nginx");
  const tmp = join(prefix, "tmp");
  mkdirSync(tmp, { recursive: true });
  chmodSync(tmp, 0o777);
  const { cert, key } = selfSignedCertificate();
  const site = readFileSync(join(here, "../../deploy/nginx-site.conf.in"), "utf8").replaceAll("@NAME@", `t${port}`)
    .replaceAll("@PORT@", String(port)).replaceAll("@LISTEN@", `127.0.0.1:${listen}`).replaceAll("@DOMAIN@", "localhost")
    .replaceAll("@CERT_KEY@", key).replaceAll("@CERT@", cert).replaceAll("@MAX_BODY@", "110m");
  writeFileSync(join(prefix, "site.conf"), site);
  writeFileSync(join(prefix, "nginx.conf"), [
    ...(process.getuid?.() === 0 ? ["user root;"] : []), "worker_processes 1;", "daemon off;", `pid ${join(prefix, "nginx.pid")};`,
    `error_log ${join(prefix, "error.log")} warn;`, "events { worker_connections 1024; }",
    "http {", "  access_log off;", `  client_body_temp_path ${tmp}/body;`, `  proxy_temp_path ${tmp}/proxy;`,
    `  fastcgi_temp_path ${tmp}/fcgi;`, `  uwsgi_temp_path ${tmp}/uwsgi;`, `  scgi_temp_path ${tmp}/scgi;`,
    `  include ${join(prefix, "site.conf")};`, "}", ""].join("\n"));
  const nginx = spawn("nginx", ["-p", prefix, "-c", join(prefix, "nginx.conf")], { stdio: "ignore" });
  const exited = new Promise((resolve) => nginx.on("exit", resolve));
  const baseUrl = `https://127.0.0.1:${listen}`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${baseUrl}/health`)).ok) break; } catch { /* not yet */ }
    if (i > 100 || nginx.exitCode !== null) throw new Error(`nginx in front of lotse did not start: ${readFileSync(join(prefix, "error.log"), "utf8")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { baseUrl, async stop() { if (nginx.exitCode === null) nginx.kill("SIGTERM"); await exited; } };
}

// Starts lotse. `topConfig` adds top-level keys, `extraConfig` is appended (tables). Reuse `dataDir`
// to restart on old data.
// `bin`: another lotse binary (the packaged one in package.test.mjs).
export async function startServer({ topConfig = "", extraConfig = "", dataDir, rateLimits = false, bootstrap = true, bin = LOTSE } = {}) {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), "lotse-test-"));
  const port = await freePort();
  const config = join(dir, "lotse.toml");
  writeFileSync(config, [
    `server_name = "localhost"`,
    `listen_address = "127.0.0.1"`,
    `listen_port = ${port}`,
    `data_dir = "${join(dir, "data")}"`,
    topConfig,
    `[rate_limits]`,
    `enabled = ${rateLimits}`,
    `[security]`,
    `password_hash = "minimal"`,
    // Behind nginx: X-Forwarded-For from it counts, and the per-address connection cap sees the seekers.
    ...(VIA_NGINX ? [`[http]`, `trusted_proxies = ["127.0.0.1"]`] : []),
    extraConfig,
  ].join("\n"));
  const proc = spawn(bin, ["--config", config], { stdio: ["ignore", "pipe", "pipe"] });
  const lines = [];
  let buffer = "", stderr = "";
  const closed = new Promise((resolve) => proc.on("close", (code, sig) => resolve({ code, sig })));
  const started = new Promise((resolve, reject) => {
    proc.stdout.on("data", (chunk) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (line.includes('"lotse started"')) resolve();
      }
    });
    proc.stderr.on("data", (chunk) => { stderr += chunk; lines.push(chunk.toString()); });
    proc.on("exit", (code) => reject(new Error(`lotse exited with ${code}: ${lines.join("\n")}`)));
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15000);
  await started;
  clearTimeout(timer);
  const admin = dataDir && existsSync(join(dir, "admin.json")) ? JSON.parse(readFileSync(join(dir, "admin.json"), "utf8")) : undefined;
  const proxy = VIA_NGINX ? await frontWithNginx(port, dir) : null;
  const baseUrl = proxy?.baseUrl ?? `http://127.0.0.1:${port}`;
  const server = {
    baseUrl, port, dir, proc, lines,
    // Resolves once lotse has exited and its output has ended; throws if it (or its thumbnailer)
    // printed a sanitizer report (LOTSE_SANITIZE builds), also when it had died on its own before.
    async stop(signal = "SIGTERM") {
      await proxy?.stop();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const result = await closed;
      const at = stderr.search(SANITIZER_REPORT);
      if (at >= 0) throw new Error(`lotse printed a sanitizer report:\n${stderr.slice(stderr.lastIndexOf("\n", at) + 1)}`);
      return result;
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
  if (admin) server.admin = admin;
  if (bootstrap) await provision(server);
  return server;
}

export const AGENCY = "beratung-mitte";
export const TOPICS = ["aufenthalt", "wohnen", "arbeit"];

// Writes the one-time bootstrap request as `lotse-admin bootstrap --data-dir` does (only the token's
// SHA-256 and an expiry go to disk; server/bootstrap_request.hpp) and returns the token.
export function writeBootstrapRequest(dataDir, { lifetimeMs = 10 * 60 * 1000 } = {}) {
  const token = randomBytes(32).toString("base64url");
  const hash = createHash("sha256").update(token).digest("hex");
  writeFileSync(join(dataDir, "admin-bootstrap.request"), `lotse-bootstrap-v1 ${hash} ${Date.now() + lifetimeMs}\n`, { mode: 0o600 });
  return token;
}

// The first administrator and a basic directory: one agency and three topics. A restarted server
// keeps its administrator (admin.json).
async function provision(server) {
  if (server.admin) return;
  const token = writeBootstrapRequest(join(server.dir, "data"));
  const res = await api(server, "POST", "/_lotse/admin/v1/bootstrap", { body: { bootstrap_token: token } });
  if (res.status !== 200) throw new Error(`bootstrap failed: ${JSON.stringify(res.body)}`);
  server.admin = { userId: res.body.user_id, accessToken: res.body.access_token, password: res.body.password };
  writeFileSync(join(server.dir, "admin.json"), JSON.stringify(server.admin));
  await api(server, "POST", "/_lotse/admin/v1/agencies", { token: server.admin.accessToken, body: { agency_id: AGENCY, name: "Beratungsstelle Mitte", city: "Berlin" } });
  for (const t of TOPICS) await api(server, "POST", "/_lotse/admin/v1/topics", { token: server.admin.accessToken, body: { topic_id: t, name: t[0].toUpperCase() + t.slice(1) } });
}

// Plain HTTP: returns { status, headers, body (parsed JSON or text) }.
export async function api(server, method, path, { body, token, raw, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) { payload = JSON.stringify(body); h["Content-Type"] = "application/json"; }
  const res = await fetch(server.baseUrl + path, { method, headers: h, body: payload });
  const text = await res.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: parsed };
}

let counter = 0;
export function uniqueName(prefix = "user") {
  counter += 1;
  return `${prefix}${process.pid}x${counter}`;
}

// A counselor account made by the administrator, logged in (most Matrix-level tests use these: only
// staff may create rooms).
export async function register(server, username = uniqueName(), password = "correct horse battery", profile = {}) {
  const created = await api(server, "POST", "/_lotse/admin/v1/counselors", { token: server.admin.accessToken,
    body: { username, password, display_name: username, agency: AGENCY, languages: ["de"], topics: [TOPICS[0]], ...profile } });
  if (created.status !== 200) throw new Error(`counselor add failed: ${created.status} ${JSON.stringify(created.body)}`);
  const res = await api(server, "POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user: username }, password } });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { userId: res.body.user_id, accessToken: res.body.access_token, deviceId: res.body.device_id, password, username };
}

// Self-registration of a seeker through the user-interactive auth flow (401 first, then m.login.dummy).
export async function registerSeeker(server, username = uniqueName("seeker"), password = "correct horse battery") {
  const first = await api(server, "POST", "/_matrix/client/v3/register", { body: { username, password } });
  if (first.status !== 401) throw new Error(`expected 401 from register, got ${first.status} ${JSON.stringify(first.body)}`);
  const res = await api(server, "POST", "/_matrix/client/v3/register", {
    body: { username, password, auth: { type: "m.login.dummy", session: first.body.session } },
  });
  if (res.status !== 200) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { userId: res.body.user_id, accessToken: res.body.access_token, deviceId: res.body.device_id, password, username };
}

export async function sdk() {
  const matrix = await import("matrix-js-sdk");
  const { logger } = await import("matrix-js-sdk/lib/logger.js");
  logger.setLevel(process.env.SDK_LOG ?? "silent");
  return matrix;
}

// A started matrix-js-sdk client for a registered user; resolves once the first sync is done.
// `createOpts` go to createClient (e.g. cryptoCallbacks).
export async function startClient(server, session, opts = {}, withCrypto = false, createOpts = {}) {
  const matrix = await sdk();
  const client = matrix.createClient({
    baseUrl: server.baseUrl,
    userId: session.userId,
    accessToken: session.accessToken,
    deviceId: session.deviceId,
    logger: quietLogger(),
    ...createOpts,
  });
  if (withCrypto) await client.initRustCrypto({ useIndexedDB: false });
  const ready = new Promise((resolve, reject) => {
    client.on(matrix.ClientEvent.Sync, (state, _prev, data) => {
      if (state === "PREPARED") resolve();
      if (state === "ERROR") reject(data?.error ?? new Error("sync error"));
    });
  });
  await client.startClient({ initialSyncLimit: 20, lazyLoadMembers: true, ...opts });
  await ready;
  return client;
}

function quietLogger() {
  const noop = () => {};
  const logger = { trace: noop, debug: noop, info: noop, log: noop, warn: noop, error: noop };
  logger.getChild = () => logger;
  return logger;
}

// Resolves with the first value `fn` returns that is truthy, polling every 20 ms.
export async function waitFor(fn, what = "condition", timeoutMs = 10000) {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// A started client with matrix-js-sdk's Rust crypto (keys in memory, as a fresh device).
export async function startCryptoClient(server, session, opts = {}, createOpts = {}) {
  return startClient(server, session, { lazyLoadMembers: false, ...opts }, true, createOpts);
}

// Logs in a new device of an existing user with the password flow.
export async function loginDevice(server, user, password, deviceName = "test device") {
  const res = await api(server, "POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user }, password, initial_device_display_name: deviceName },
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { userId: res.body.user_id, accessToken: res.body.access_token, deviceId: res.body.device_id, password };
}

// The decrypted body of an event in a room once the client has it, waiting for decryption.
export async function decryptedBody(client, roomId, eventId, what = "decrypted event") {
  return waitFor(async () => {
    const ev = client.getRoom(roomId)?.findEventById(eventId);
    if (!ev) return null;
    await client.decryptEventIfNeeded(ev);
    return ev.isDecryptionFailure() ? null : ev.getClearContent()?.body ?? null;
  }, what, 20000);
}
