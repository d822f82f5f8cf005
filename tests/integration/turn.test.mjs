// GET /voip/turnServer against a real coturn (Debian's) configured from deploy/turnserver.conf.in:
// lotse's credentials open an allocation, wrong or expired ones do not, the relay refuses loopback
// peers, and only people who may call get credentials.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startServer, api, register, registerSeeker, freePort } from "./harness.mjs";

const repo = join(dirname(fileURLToPath(import.meta.url)), "../..");
let work, coturn, turnPort, srv, secret;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "lotse-turn-"));
  secret = randomBytes(24).toString("hex");
  turnPort = await freePort();
  const conf = readFileSync(join(repo, "deploy", "turnserver.conf.in"), "utf8")
    .replace("@LISTEN_IP@", "127.0.0.1").replace("@PORT@", String(turnPort)).replace("@TLS_PORT@", String(await freePort()))
    .replace("@DOMAIN@", "turn.test").replace("@SECRET@", secret)
    .replace(/^cert=.*$/m, "no-tls").replace(/^pkey=.*$/m, "no-dtls").replace("@EXTRA@", "relay-ip=127.0.0.1");
  writeFileSync(join(work, "turnserver.conf"), conf);
  writeFileSync(join(work, "secret"), secret + "\n", { mode: 0o600 });
  coturn = spawn("turnserver", ["-c", join(work, "turnserver.conf")], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 500));
  srv = await startServer({ extraConfig: `[turn]\nuris = ["turn:127.0.0.1:${turnPort}?transport=udp", "turns:turn.test:5349"]\nshared_secret_file = "${join(work, "secret")}"\nttl = 600` });
});
after(async () => {
  coturn?.kill("SIGTERM");
  await srv?.stop();
  srv?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

// One allocation attempt with turnutils_uclient; returns its output.
async function allocate(username, password) {
  try {
    const { stdout, stderr } = await promisify(execFile)("turnutils_uclient", ["-n", "1", "-m", "1", "-l", "100", "-u", username,
      "-w", password, "-p", String(turnPort), "-e", "127.0.0.1", "-r", String(turnPort + 1), "127.0.0.1"], { timeout: 20000 });
    return stdout + stderr;
  } catch (e) {
    return (e.stdout ?? "") + (e.stderr ?? "");
  }
}

test("a counselor's credentials open an allocation; wrong or expired ones do not; loopback peers are refused", async () => {
  const counselor = await register(srv);
  const res = await api(srv, "GET", "/_matrix/client/v3/voip/turnServer", { token: counselor.accessToken });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.uris, [`turn:127.0.0.1:${turnPort}?transport=udp`, "turns:turn.test:5349"]);
  assert.equal(res.body.ttl, 600);
  const [expiry, user] = [Number(res.body.username.split(":")[0]), res.body.username.slice(res.body.username.indexOf(":") + 1)];
  assert.equal(user, counselor.userId);
  assert.ok(Math.abs(expiry - (Date.now() / 1000 + 600)) < 30, "expires after the ttl");
  const ok = await allocate(res.body.username, res.body.password);
  assert.ok(!/Cannot complete Allocation/.test(ok), `allocation with lotse's credentials: ${ok}`);
  assert.match(ok, /403 \(Forbidden IP\)/, "the relay refuses a loopback peer");
  assert.match(await allocate(res.body.username, "wrong"), /Cannot complete Allocation/);
  const past = `${Math.floor(Date.now() / 1000) - 60}:${counselor.userId}`;
  const pastPassword = createHmac("sha1", secret).update(past).digest("base64");
  assert.match(await allocate(past, pastPassword), /Cannot complete Allocation/, "expired credentials are refused");
});

test("credentials only for people who may call: not for a seeker without an open consultation", async () => {
  const seeker = await registerSeeker(srv);
  const refused = await api(srv, "GET", "/_matrix/client/v3/voip/turnServer", { token: seeker.accessToken });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.errcode, "M_FORBIDDEN");
  assert.equal((await api(srv, "GET", "/_matrix/client/v3/voip/turnServer")).status, 401);
  const counselor = await register(srv);
  const opened = await api(srv, "POST", "/_lotse/client/v1/consultations", { token: seeker.accessToken, body: { counselor: counselor.userId, topic: "aufenthalt" } });
  assert.equal(opened.status, 200);
  const allowed = await api(srv, "GET", "/_matrix/client/v3/voip/turnServer", { token: seeker.accessToken });
  assert.equal(allowed.status, 200);
  assert.ok(allowed.body.password.length > 20);
  // Closed, the consultation gives no relay any more; reopened, again.
  const action = (what) => api(srv, "POST", `/_lotse/admin/v1/consultations/${encodeURIComponent(opened.body.room_id)}/${what}`,
    { token: srv.admin.accessToken, body: {} });
  assert.equal((await action("close")).status, 200);
  assert.equal((await api(srv, "GET", "/_matrix/client/v3/voip/turnServer", { token: seeker.accessToken })).status, 403);
  assert.equal((await api(srv, "GET", "/_matrix/client/v3/voip/turnServer", { token: counselor.accessToken })).status, 200, "counselors keep it");
  assert.equal((await action("reopen")).status, 200);
  assert.equal((await api(srv, "GET", "/_matrix/client/v3/voip/turnServer", { token: seeker.accessToken })).status, 200);
});

test("without a relay configured the answer is empty", async () => {
  const plain = await startServer();
  try {
    const counselor = await register(plain);
    const res = await api(plain, "GET", "/_matrix/client/v3/voip/turnServer", { token: counselor.accessToken });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {});
  } finally {
    await plain.stop();
    plain.cleanup();
  }
});
