// Hostile tests: what an attacker on the network tries against a real lotse on loopback. Each test
// failed against the version before its fix (see the security issue in the README's security section).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync, symlinkSync, existsSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startServer, api, register, registerSeeker, writeBootstrapRequest, waitFor } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const ADMIN_BIN = process.env.LOTSE_ADMIN_BIN ?? join(here, "../../build/server/lotse-admin");

// One raw HTTP/1.1 request exactly as written (no URL normalisation by a client library).
function rawRequest(port, text, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    const chunks = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error("raw request timed out")); }, timeoutMs);
    sock.on("connect", () => sock.write(text));
    sock.on("data", (c) => chunks.push(c));
    sock.on("error", (e) => { clearTimeout(timer); reject(e); });
    sock.on("close", () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks).toString("latin1");
      const status = Number(all.split(" ")[1]);
      resolve({ status, text: all, body: all.slice(all.indexOf("\r\n\r\n") + 4) });
    });
  });
}
const get = (port, path, extra = "") => rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${extra}\r\n`);

// ---------------------------------------------------------------------------------------------------
// The web app's files: only what the build produced, nothing else on the disk.

let web, webDir, secretDir;
const SECRET = "TOP-SECRET-" + Math.random().toString(36).slice(2);

before(async () => {
  webDir = mkdtempSync(join(tmpdir(), "lotse-web-"));
  secretDir = mkdtempSync(join(tmpdir(), "lotse-secret-"));
  writeFileSync(join(secretDir, "secret.txt"), SECRET);
  mkdirSync(join(webDir, "assets"));
  writeFileSync(join(webDir, "index.html"), "<!doctype html><title>app</title>");
  writeFileSync(join(webDir, "assets", "app-1234.js"), "console.log('app');");
  writeFileSync(join(webDir, ".hidden"), SECRET);
  symlinkSync(join(secretDir, "secret.txt"), join(webDir, "link.txt"));
  symlinkSync(secretDir, join(webDir, "linkdir"));
  web = await startServer({ extraConfig: `[web_client]\ndir = "${webDir}"` });
});
after(async () => {
  await web?.stop();
  web?.cleanup();
  rmSync(webDir, { recursive: true, force: true });
  rmSync(secretDir, { recursive: true, force: true });
});

test("the web app serves its own files", async () => {
  const index = await get(web.port, "/");
  assert.equal(index.status, 200);
  assert.match(index.body, /<title>app<\/title>/);
  const js = await get(web.port, "/assets/app-1234.js");
  assert.equal(js.status, 200);
  assert.match(js.text, /content-type: text\/javascript/i);
  // A client-side route gets the app.
  assert.match((await get(web.port, "/chat/room")).body, /<title>app<\/title>/);
});

test("HEAD answers like GET, with the length and without a body", async () => {
  for (const path of ["/_matrix/client/versions", "/", "/assets/app-1234.js"]) {
    const g = await get(web.port, path);
    const h = await rawRequest(web.port, `HEAD ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.equal(h.status, g.status, path);
    assert.equal(h.body, "", `${path}: no body`);
    assert.match(h.text, new RegExp(`content-length: ${Buffer.byteLength(g.body, "latin1")}`, "i"), path);
  }
  // Not on /sync, whose GET acknowledges to-device messages and long-polls.
  const sync = await rawRequest(web.port, `HEAD /_matrix/client/v3/sync HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.equal(sync.status, 405);
});

test("no request path reaches a file outside the build (traversal forms)", async () => {
  const data = join(web.dir, "data");
  const targets = ["/etc/passwd", "/etc/hostname", `${data}/signing.key`, `${data}/lotse.db`, `${data}/lotse.db-wal`,
    `${secretDir}/secret.txt`];
  const forms = [];
  for (const t of targets) {
    const rel = "../../../../../../../../.." + t;
    forms.push("/" + t, t, "/" + encodeURIComponent(t), "/%2F" + t.slice(1), "/" + rel, "/assets/" + rel,
      "/" + rel.replaceAll("/", "%2f"), "/" + rel.replaceAll(".", "%2e"), "/" + rel.replaceAll("/", "\\"),
      "/" + rel.replaceAll("/", "%5c"), "/" + rel.replaceAll("..", "%c0%ae%c0%ae"), "/" + rel.replaceAll("/", "%c0%af"),
      "/" + rel.replaceAll("..", "%252e%252e"), "/index.html%00/" + rel, "/./" + rel, "/assets/./../" + rel,
      "/%00" + t, "//" + t, "///" + t.slice(1));
  }
  forms.push("/.hidden", "/%2ehidden", "/link.txt", "/linkdir/secret.txt", "/linkdir%2fsecret.txt", "/assets/../.hidden");
  for (const path of forms) {
    const res = await get(web.port, path);
    assert.ok(res.status === 404 || res.status === 400 || (res.status === 200 && /<title>app<\/title>/.test(res.body)),
      `${path}: status ${res.status}`);
    assert.ok(!res.body.includes(SECRET), `${path} leaked the secret`);
    assert.ok(!res.body.includes("root:x:0"), `${path} leaked /etc/passwd`);
    assert.ok(!res.body.includes("SQLite format"), `${path} leaked the database`);
  }
});

// ---------------------------------------------------------------------------------------------------
// The first administrator: a one-time request made on the host, never a secret readable over HTTP.

test("bootstrap needs a fresh request from the host; the token never rests on disk", async () => {
  const srv = await startServer({ bootstrap: false });
  try {
    const data = join(srv.dir, "data");
    assert.ok(!existsSync(join(data, "admin-bootstrap.token")), "no token file is written");
    const post = (token) => api(srv, "POST", "/_lotse/admin/v1/bootstrap", { body: { bootstrap_token: token } });
    // Nothing pending: refused.
    assert.equal((await post("guess")).status, 403);
    // An expired request is refused and spent.
    const expired = writeBootstrapRequest(data, { lifetimeMs: -1000 });
    assert.equal((await post(expired)).status, 403);
    assert.ok(!existsSync(join(data, "admin-bootstrap.request")));
    // One that claims to live for a day is not believed.
    const longLived = writeBootstrapRequest(data, { lifetimeMs: 24 * 3600 * 1000 });
    assert.equal((await post(longLived)).status, 403);
    // The file holds only a hash: its content is not the token.
    const token = writeBootstrapRequest(data);
    const onDisk = readFileSync(join(data, "admin-bootstrap.request"), "utf8");
    assert.ok(!onDisk.includes(token));
    assert.equal((await post(onDisk.split(" ")[1])).status, 403, "the hash itself is not a token");
    // The real CLI does the whole thing.
    const { stdout } = await promisify(execFile)(ADMIN_BIN, ["--server", srv.baseUrl, "bootstrap", "--data-dir", data]);
    assert.match(stdout, /Administrator @admin:localhost created/);
    assert.ok(!existsSync(join(data, "admin-bootstrap.request")), "the request is spent");
    // Once an administrator exists, bootstrap is closed even with a valid request.
    assert.equal((await post(token)).status, 403);
    const again = writeBootstrapRequest(data);
    assert.equal((await post(again)).status, 403);
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

test("two bootstrap requests racing with the same valid token make exactly one administrator", async () => {
  const srv = await startServer({ bootstrap: false });
  try {
    const token = writeBootstrapRequest(join(srv.dir, "data"));
    const post = () => api(srv, "POST", "/_lotse/admin/v1/bootstrap", { body: { bootstrap_token: token } });
    const raced = await Promise.all([post(), post(), post()]);
    assert.deepEqual(raced.map((r) => r.status).sort(), [200, 403, 403], JSON.stringify(raced.map((r) => r.body)));
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

test("a token file left by an older version is removed at start-up", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lotse-test-"));
  mkdirSync(join(dir, "data"));
  writeFileSync(join(dir, "data", "admin-bootstrap.token"), "old-secret\n");
  const srv = await startServer({ dataDir: dir, bootstrap: false });
  try {
    assert.ok(!existsSync(join(dir, "data", "admin-bootstrap.token")));
    const res = await api(srv, "POST", "/_lotse/admin/v1/bootstrap", { body: { bootstrap_token: "old-secret" } });
    assert.equal(res.status, 403);
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------------
// JSON: whatever the server accepts it can read back; a row it cannot read costs one item.

const nest = (depth, leaf = 1) => { let v = leaf; for (let i = 0; i < depth; i++) v = { a: v }; return v; };

test("JSON nested past the limit is refused up front, and what is accepted reads back everywhere", async () => {
  const srv = await startServer();
  try {
    const alice = await register(srv), bob = await register(srv);
    const room = (await api(srv, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { invite: [bob.userId] } })).body.room_id;
    assert.equal((await api(srv, "POST", `/_matrix/client/v3/join/${encodeURIComponent(room)}`, { token: bob.accessToken, body: {} })).status, 200);
    // The body itself counts as depth 1: to-device content sits 3 levels down, a message's content is the body.
    const deepToDevice = (d) => api(srv, "PUT", `/_matrix/client/v3/sendToDevice/m.test/d${d}`, { token: alice.accessToken,
      body: { messages: { [bob.userId]: { [bob.deviceId]: nest(d) } } } });
    const deepMessage = (d) => api(srv, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/m${d}`,
      { token: alice.accessToken, body: { msgtype: "m.text", body: "deep", x: nest(d) } });
    for (const d of [33, 40, 63, 200]) {
      const td = await deepToDevice(d), m = await deepMessage(d);
      assert.equal(td.status, 400, `to-device depth ${d}`);
      assert.equal(td.body.errcode, "M_BAD_JSON");
      assert.equal(m.status, 400, `message depth ${d}`);
      assert.equal(m.body.errcode, "M_BAD_JSON");
    }
    // At the limit: accepted, and every reader still answers.
    assert.equal((await deepToDevice(28)).status, 200);
    assert.equal((await deepMessage(30)).status, 200);
    const sync = await api(srv, "GET", "/_matrix/client/v3/sync", { token: bob.accessToken });
    assert.equal(sync.status, 200);
    assert.ok(sync.body.to_device.events.some((e) => e.type === "m.test"));
    assert.ok(sync.body.rooms.join[room].timeline.events.some((e) => e.content?.body === "deep"));
    assert.equal((await api(srv, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/messages?dir=b`, { token: bob.accessToken })).status, 200);
    const exp = await api(srv, "GET", `/_lotse/admin/v1/users/${encodeURIComponent(alice.userId)}/export`, { token: srv.admin.accessToken });
    assert.equal(exp.status, 200);
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

test("numbers that would overflow, fractions and unsafe integers are refused wherever JSON is stored", async () => {
  const srv = await startServer();
  try {
    const alice = await register(srv);
    const u = encodeURIComponent(alice.userId);
    const room = (await api(srv, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: {} })).body.room_id;
    const r = encodeURIComponent(room);
    const attempts = [
      ["PUT", `/_matrix/client/v3/sendToDevice/m.test/n1`, `{"messages":{"${alice.userId}":{"*":{"a":1e400}}}}`],
      ["PUT", `/_matrix/client/v3/user/${u}/rooms/${r}/tags/u.t`, `{"order":1e400}`],
      ["PUT", `/_matrix/client/v3/user/${u}/account_data/x.test`, `{"a":-1e400}`],
      ["PUT", `/_matrix/client/v3/user/${u}/account_data/x.test`, `{"a":9007199254740992}`],
      ["PUT", `/_matrix/client/v3/user/${u}/account_data/x.test`, `{"a":0.5}`],
      ["PUT", `/_matrix/client/v3/pushrules/global/override/x.rule`, `{"actions":["notify"],"conditions":[{"kind":"event_match","key":"type","pattern":"m","x":1e400}]}`],
      ["PUT", `/_matrix/client/v3/rooms/${r}/send/m.room.message/n2`, `{"msgtype":"m.text","body":"x","n":1e400}`],
      ["PUT", `/_matrix/client/v3/rooms/${r}/state/x.state/`, `{"n":123456789012345678901234567890}`],
    ];
    const version = await api(srv, "POST", "/_matrix/client/v3/room_keys/version", { token: alice.accessToken,
      body: { algorithm: "m.megolm_backup.v1.curve25519-aes-sha2", auth_data: { public_key: "abc" } } });
    if (version.status === 200)
      attempts.push(["PUT", `/_matrix/client/v3/room_keys/keys/${r}/sess?version=${version.body.version}`,
        `{"first_message_index":1e400,"forwarded_count":0,"is_verified":false,"session_data":{"a":1}}`]);
    for (const [method, path, raw] of attempts) {
      const res = await api(srv, method, path, { token: alice.accessToken, raw, headers: { "Content-Type": "application/json" } });
      assert.equal(res.status, 400, `${method} ${path} ${raw}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.errcode, "M_BAD_JSON", path);
    }
    // The one fraction the spec has: a tag's order. Accepted, and read back.
    assert.equal((await api(srv, "PUT", `/_matrix/client/v3/user/${u}/rooms/${r}/tags/u.t`, { token: alice.accessToken, body: { order: 0.25 } })).status, 200);
    const tags = await api(srv, "GET", `/_matrix/client/v3/user/${u}/rooms/${r}/tags`, { token: alice.accessToken });
    assert.equal(tags.body.tags["u.t"].order, 0.25);
    const sync = await api(srv, "GET", "/_matrix/client/v3/sync", { token: alice.accessToken });
    assert.equal(sync.status, 200);
    assert.equal((await api(srv, "GET", `/_matrix/client/v3/pushrules/`, { token: alice.accessToken })).status, 200);
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

test("a stored row that cannot be read costs that item, not the whole /sync, /messages or export", async () => {
  const srv = await startServer();
  const dir = srv.dir;
  let again;
  try {
    const alice = await register(srv), bob = await register(srv);
    const room = (await api(srv, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { invite: [bob.userId] } })).body.room_id;
    await api(srv, "POST", `/_matrix/client/v3/join/${encodeURIComponent(room)}`, { token: bob.accessToken, body: {} });
    const sent = await api(srv, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/t1`,
      { token: alice.accessToken, body: { msgtype: "m.text", body: "will be damaged" } });
    await api(srv, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/t2`,
      { token: alice.accessToken, body: { msgtype: "m.text", body: "stays readable" } });
    await api(srv, "PUT", `/_matrix/client/v3/sendToDevice/m.test/t3`, { token: alice.accessToken, body: { messages: { [bob.userId]: { [bob.deviceId]: { ok: 1 } } } } });
    await srv.stop();
    // What an older version could store: content nested 50 deep, an overflowed number.
    const deep = JSON.stringify(nest(50));
    const db = join(dir, "data", "lotse.db");
    const sql = [
      `UPDATE events SET json = '{"content":${deep},"type":"m.room.message"}' WHERE event_id = '${sent.body.event_id}';`,
      `INSERT INTO to_device_messages (stream_id, target_user, target_device, json) SELECT MAX(stream_id) - 1000000, '${bob.userId}', '${bob.deviceId}', '{"sender":"x","type":"m.bad","content":${deep}}' FROM to_device_messages;`,
      `INSERT INTO account_data (user_id, room_id, type, content, stream_id) VALUES ('${bob.userId}', '', 'x.bad', '{"a":1e999}', 1);`,
    ].join("\n");
    await promisify(execFile)("sqlite3", [db, sql]);
    again = await startServer({ dataDir: dir });
    const sync = await api(again, "GET", "/_matrix/client/v3/sync", { token: bob.accessToken });
    assert.equal(sync.status, 200, JSON.stringify(sync.body));
    const bodies = sync.body.rooms.join[room].timeline.events.map((e) => e.content?.body);
    assert.ok(bodies.includes("stays readable"));
    assert.ok(sync.body.to_device.events.some((e) => e.type === "m.test"));
    assert.ok(!sync.body.to_device.events.some((e) => e.type === "m.bad"));
    const msgs = await api(again, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/messages?dir=b`, { token: bob.accessToken });
    assert.equal(msgs.status, 200);
    assert.ok(msgs.body.chunk.some((e) => e.content?.body === "stays readable"));
    const exp = await api(again, "GET", `/_lotse/admin/v1/users/${encodeURIComponent(alice.userId)}/export`, { token: again.admin.accessToken });
    assert.equal(exp.status, 200);
    await waitFor(() => again.lines.some((l) => l.includes("unreadable stored JSON skipped")), "the operator told");
    // Its author can still delete it: the redaction takes what it keeps from the row's columns.
    const redact = await api(again, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/redact/${encodeURIComponent(sent.body.event_id)}/r1`,
      { token: alice.accessToken, body: { reason: "gone" } });
    assert.equal(redact.status, 200, JSON.stringify(redact.body));
    const ev = await api(again, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/event/${encodeURIComponent(sent.body.event_id)}`, { token: bob.accessToken });
    assert.equal(ev.status, 200, JSON.stringify(ev.body));
    assert.deepEqual(ev.body.content, {});
    assert.equal(ev.body.unsigned?.redacted_because?.event_id, redact.body.event_id);
  } finally {
    await again?.stop();
    srv.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------------
// Connections: capped per address and in all, idle keep-alives shed first, no spinning on EMFILE.

const openIdle = (port) => new Promise((resolve, reject) => {
  const s = connect(port, "127.0.0.1");
  s.on("connect", () => resolve(s));
  s.on("error", reject);
});
const closedByServer = (sock, ms = 3000) => new Promise((resolve) => {
  if (sock.destroyed || sock.readableEnded) return resolve(true);
  const t = setTimeout(() => resolve(false), ms);
  sock.on("close", () => { clearTimeout(t); resolve(true); });
  sock.on("end", () => { clearTimeout(t); resolve(true); });
});
const health = async (srv) => (await get(srv.port, "/health").catch(() => ({ status: 0 }))).status;

test("connections per address are capped; the address gets in again once it closes some", async () => {
  const srv = await startServer({ extraConfig: "[http]\nmax_connections_per_ip = 20" });
  const socks = [];
  try {
    for (let i = 0; i < 20; i++) socks.push(await openIdle(srv.port));
    const extra = await openIdle(srv.port);
    assert.ok(await closedByServer(extra), "the 21st connection from one address is closed");
    for (const s of socks.splice(0, 5)) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await health(srv), 200);
    await waitFor(() => srv.lines.some((l) => l.includes("too many connections from one address")), "the cap's log line");
  } finally {
    for (const s of socks) s.destroy();
    await srv.stop();
    srv.cleanup();
  }
});

test("at the total cap the longest-idle keep-alive makes room for a new client", async () => {
  const srv = await startServer({ extraConfig: "[http]\nmax_connections = 30" });
  const socks = [];
  try {
    for (let i = 0; i < 30; i++) socks.push(await openIdle(srv.port));
    assert.equal(await health(srv), 200, "a new client is served although 30 connections idle");
    assert.ok(await closedByServer(socks[0]), "the oldest idle connection was shed");
  } finally {
    for (const s of socks) s.destroy();
    await srv.stop();
    srv.cleanup();
  }
});

test("out of descriptors, the accept loop backs off and logs rate-limited, then recovers", async () => {
  const srv = await startServer();
  const socks = [];
  try {
    // Lower the running server's descriptor limit so that accepting fails with EMFILE.
    await promisify(execFile)("prlimit", ["--pid", String(srv.proc.pid), "--nofile=96:96"]);
    for (let i = 0; i < 150; i++) socks.push(await openIdle(srv.port).catch(() => null));
    await new Promise((r) => setTimeout(r, 3000));
    const failures = srv.lines.filter((l) => l.includes('"accept failed"'));
    assert.ok(failures.length >= 1, "the operator is told");
    assert.ok(failures.length <= 3, `rate-limited log: ${failures.length} lines in 3 s`);
    const held = failures.map((l) => JSON.parse(l).suppressed_since_last ?? 0).reduce((a, b) => a + b, 0);
    assert.ok(held < 200, `the loop backs off instead of spinning: ${held} retries held back`);
    for (const s of socks) s?.destroy();
    socks.length = 0;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await health(srv), 200, "serves again once descriptors are free");
  } finally {
    for (const s of socks) s?.destroy();
    await srv.stop();
    srv.cleanup();
  }
});

// ---------------------------------------------------------------------------------------------------
// Password guessing: per account, from any number of addresses; X-Forwarded-For only from a trusted proxy.

const login = (srv, user, password, ip) => api(srv, "POST", "/_matrix/client/v3/login", {
  body: { type: "m.login.password", identifier: { type: "m.id.user", user }, password },
  headers: ip ? { "X-Forwarded-For": ip } : {} });

test("guessing one account's password from 300 addresses gets slow; the owner gets in after the wait", async () => {
  const srv = await startServer({ rateLimits: true, extraConfig: `[http]\ntrusted_proxies = ["127.0.0.1"]\n[rate_limits.registration]\nper_second = 100\nburst = 100` });
  try {
    const owner = await registerSeeker(srv);
    const results = [];
    for (let i = 0; i < 300; i++) results.push((await login(srv, owner.username, `guess-${i}`, `198.51.100.${i % 250}`)).status);
    const checked = results.filter((s) => s === 403).length;
    assert.ok(checked <= 6, `${checked} of 300 guesses had their password checked`);
    assert.ok(results.filter((s) => s === 429).length >= 290);
    // The same for a name that does not exist: no difference that would reveal accounts.
    const ghost = [];
    for (let i = 0; i < 20; i++) ghost.push((await login(srv, "nobody-here", "x", `203.0.113.${i}`)).status);
    assert.ok(ghost.filter((s) => s === 429).length >= 10);
    // Not a lock-out: once the wait is over, the right password works.
    const refused = await login(srv, owner.username, owner.password, "192.0.2.1");
    assert.equal(refused.status, 429);
    assert.ok(refused.body.retry_after_ms > 0 && refused.body.retry_after_ms <= 15 * 60 * 1000);
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

test("the back-off ends: after a few failures and the wait, the owner logs in and the count starts over", async () => {
  const srv = await startServer({ rateLimits: true });
  try {
    const owner = await registerSeeker(srv);
    for (let i = 0; i < 5; i++) assert.equal((await login(srv, owner.username, "wrong")).status, 403);
    const wait = await login(srv, owner.username, owner.password);
    assert.equal(wait.status, 429);
    await new Promise((r) => setTimeout(r, wait.body.retry_after_ms + 50));
    assert.equal((await login(srv, owner.username, owner.password)).status, 200);
    assert.equal((await login(srv, owner.username, "wrong")).status, 403, "the count started over");
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

test("X-Forwarded-For counts only from a trusted proxy", async () => {
  const limits = `[rate_limits.login]\nper_second = 0.01\nburst = 3`;
  const direct = await startServer({ rateLimits: true, extraConfig: limits });
  const proxied = await startServer({ rateLimits: true, extraConfig: `[http]\ntrusted_proxies = ["127.0.0.1"]\n${limits}` });
  try {
    // Without a trusted proxy a client cannot dodge the per-address limit by inventing addresses.
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await login(direct, `u${i}`, "x", `10.9.0.${i}`)).status);
    assert.ok(statuses.includes(429), `direct: ${statuses}`);
    // Behind the trusted proxy each client address has its own bucket, and the rightmost
    // untrusted entry is the one that counts (a client cannot prepend a fake one).
    for (let i = 0; i < 3; i++) assert.equal((await login(proxied, `v${i}`, "x", `1.2.3.4, 10.0.0.1`)).status, 403);
    assert.equal((await login(proxied, "v9", "x", `5.6.7.8, 10.0.0.1`)).status, 429, "same client behind a fake entry");
    assert.equal((await login(proxied, "w1", "x", `10.0.0.2`)).status, 403, "another client has its own bucket");
  } finally {
    await direct.stop(); direct.cleanup();
    await proxied.stop(); proxied.cleanup();
  }
});
