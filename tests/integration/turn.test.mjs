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
let work, coturn, turnPort, tlsPort, srv, secret;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "lotse-turn-"));
  secret = randomBytes(24).toString("hex");
  turnPort = await freePort();
  tlsPort = await freePort();
  // TLS as the template has it (TLS 1.2+ on its own port), with a throwaway certificate.
  await promisify(execFile)("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=turn.test",
    "-keyout", join(work, "turn-key.pem"), "-out", join(work, "turn-cert.pem")]);
  const conf = readFileSync(join(repo, "deploy", "turnserver.conf.in"), "utf8")
    .replace("@LISTEN_IP@", "127.0.0.1").replace("@PORT@", String(turnPort)).replace("@TLS_PORT@", String(tlsPort))
    .replace("@DOMAIN@", "turn.test").replace("@SECRET@", secret)
    .replace("@CERT@", join(work, "turn-cert.pem")).replace("@CERT_KEY@", join(work, "turn-key.pem")).replace("@EXTRA@", "relay-ip=127.0.0.1");
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

// A TURN Allocate over TLS (RFC 8656 with long-term credentials, RFC 8489): first without
// credentials (401 with realm and nonce), then with them. Returns the final response's class and
// method as "success" / "error <code>". (turnutils_uclient's TLS mode hangs in its handshake here.)
async function allocateOverTls(username, password) {
  const { connect } = await import("node:tls");
  const { createHash } = await import("node:crypto");
  const socket = connect({ host: "127.0.0.1", port: tlsPort, rejectUnauthorized: false, minVersion: "TLSv1.2" });
  await new Promise((resolve, reject) => { socket.once("secureConnect", resolve); socket.once("error", reject); });
  const protocol = socket.getProtocol();
  let buffered = Buffer.alloc(0);
  const waiting = [];
  socket.on("data", (d) => {
    buffered = Buffer.concat([buffered, d]);
    while (buffered.length >= 20 && buffered.length >= 20 + buffered.readUInt16BE(2)) {
      const n = 20 + buffered.readUInt16BE(2);
      waiting.shift()?.(buffered.subarray(0, n));
      buffered = buffered.subarray(n);
    }
  });
  const attr = (type, value) => {
    const head = Buffer.alloc(4); head.writeUInt16BE(type); head.writeUInt16BE(value.length, 2);
    return Buffer.concat([head, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
  };
  const message = (attrs, key) => {
    const header = Buffer.alloc(20);
    header.writeUInt16BE(0x0003);  // Allocate request
    header.writeUInt32BE(0x2112a442, 4);
    randomBytes(12).copy(header, 8);
    let body = Buffer.concat(attrs);
    if (key) {  // MESSAGE-INTEGRITY over the message with its length counting the attribute itself
      header.writeUInt16BE(body.length + 24, 2);
      const mac = createHmac("sha1", key).update(Buffer.concat([header, body])).digest();
      body = Buffer.concat([body, attr(0x0008, mac)]);
    }
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  };
  const send = (m) => new Promise((resolve) => { waiting.push(resolve); socket.write(m); });
  const attrsOf = (res) => {
    const out = {};
    for (let i = 20; i + 4 <= res.length;) {
      const type = res.readUInt16BE(i), len = res.readUInt16BE(i + 2);
      out[type] = res.subarray(i + 4, i + 4 + len);
      i += 4 + len + ((4 - (len % 4)) % 4);
    }
    return out;
  };
  const outcome = (res) => {
    if (res.readUInt16BE(0) === 0x0103) return "success";
    const e = attrsOf(res)[0x0009];
    return `error ${e ? e[2] * 100 + e[3] : "?"}`;
  };
  try {
    const transport = attr(0x0019, Buffer.from([17, 0, 0, 0]));  // REQUESTED-TRANSPORT: UDP
    const first = await send(message([transport]));
    const a = attrsOf(first);
    if (outcome(first) !== "error 401") return { protocol, first: outcome(first) };
    const realm = a[0x0014].toString(), nonce = a[0x0015];
    const key = createHash("md5").update(`${username}:${realm}:${password}`).digest();
    const second = await send(message([transport, attr(0x0006, Buffer.from(username)), attr(0x0014, Buffer.from(realm)), attr(0x0015, nonce)], key));
    return { protocol, first: "error 401", result: outcome(second) };
  } finally {
    socket.destroy();
  }
}

test("TLS (turns:): coturn from the template speaks TLS 1.2 or newer and allocates with lotse's credentials, not with wrong ones", async () => {
  const counselor = await register(srv);
  const res = await api(srv, "GET", "/_matrix/client/v3/voip/turnServer", { token: counselor.accessToken });
  const ok = await allocateOverTls(res.body.username, res.body.password);
  assert.match(ok.protocol, /^TLSv1\.[23]$/);
  assert.equal(ok.first, "error 401", "credentials are asked for");
  assert.equal(ok.result, "success", "an allocation over TLS");
  assert.equal((await allocateOverTls(res.body.username, "wrong")).result, "error 401");
  const { connect } = await import("node:tls");
  const old = connect({ host: "127.0.0.1", port: tlsPort, rejectUnauthorized: false, minVersion: "TLSv1", maxVersion: "TLSv1.1",
    ciphers: "DEFAULT@SECLEVEL=0" });
  const refused = await new Promise((resolve) => { old.once("secureConnect", () => resolve(false)); old.once("error", () => resolve(true)); });
  old.destroy();
  assert.ok(refused, "TLS 1.0/1.1 refused");
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
