// The deploy/ templates, as a Debian host uses them: the systemd unit passes systemd-analyze
// verify; `lotse-admin tenant create` writes a config that starts and answers /health; nginx
// (Debian's, on loopback with a self-signed certificate) configured from the site template serves
// the app and the Matrix API over TLS and HTTP/2, with /sync long-polls passing through.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { LOTSE, freePort, registerSeeker } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "../..");
const ADMIN_BIN = process.env.LOTSE_ADMIN_BIN ?? join(repo, "build/server/lotse-admin");
const run = promisify(execFile);
let work, lotse, nginx, port, ngPort;

function startAndWait(cmd, args, ready) {
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start: ${out}`)), 15000);
    const check = (c) => { out += c; if (ready(out)) { clearTimeout(timer); resolve(proc); } };
    proc.stdout.on("data", check);
    proc.stderr.on("data", check);
    proc.on("exit", (code) => { clearTimeout(timer); reject(new Error(`${cmd} exited with ${code}: ${out}`)); });
  });
}
const stop = (proc) => new Promise((resolve) => {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
  proc.removeAllListeners("exit");
  proc.on("exit", resolve);
  proc.kill("SIGTERM");
});
const curl = async (...args) => (await run("curl", ["-sk", "--max-time", "20", ...args])).stdout;

before(async () => {
  work = mkdtempSync(join(tmpdir(), "lotse-deploy-"));
  port = await freePort();
  ngPort = await freePort();
  const metricsPort = await freePort();
  await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=beratung.test",
    "-keyout", join(work, "key.pem"), "-out", join(work, "cert.pem")]);
  const { stdout } = await run(ADMIN_BIN, ["tenant", "create", "acme", "--domain", "beratung.test", "--port", String(port),
    "--metrics-port", String(metricsPort), "--branding-name", "Beratung \"Acme\"", "--cert", join(work, "cert.pem"),
    "--cert-key", join(work, "key.pem"), "--listen", `127.0.0.1:${ngPort}`, "--max-upload", "3", "--etc-dir", join(work, "etc"),
    "--data-root", join(work, "lib"), "--nginx-dir", join(work, "sites"), "--templates", join(repo, "deploy"),
    "--web-dir", join(repo, "web-client/dist")]);
  assert.match(stdout, /Tenant acme \(beratung\.test\)/);
  assert.match(stdout, /systemctl enable --now lotse@acme/);
  lotse = await startAndWait(LOTSE, ["--config", join(work, "etc", "acme.toml")], (o) => o.includes('"lotse started"'));
  mkdirSync(join(work, "nginx", "tmp"), { recursive: true });
  chmodSync(join(work, "nginx", "tmp"), 0o777);
  const t = join(work, "nginx", "tmp");
  writeFileSync(join(work, "nginx", "nginx.conf"), [
    "user root;", "worker_processes 1;", "daemon off;", `pid ${join(work, "nginx", "nginx.pid")};`,
    `error_log ${join(work, "nginx", "error.log")} warn;`, "events { worker_connections 256; }",
    "http {", "  access_log off;", `  client_body_temp_path ${t}/body;`, `  proxy_temp_path ${t}/proxy;`,
    `  fastcgi_temp_path ${t}/fcgi;`, `  uwsgi_temp_path ${t}/uwsgi;`, `  scgi_temp_path ${t}/scgi;`,
    `  include ${join(work, "sites", "lotse-acme.conf")};`, "}", ""].join("\n"));
  await run("nginx", ["-t", "-p", join(work, "nginx"), "-c", join(work, "nginx", "nginx.conf")]);
  nginx = spawn("nginx", ["-p", join(work, "nginx"), "-c", join(work, "nginx", "nginx.conf")], { stdio: "ignore" });
  for (let i = 0; i < 50; i++) {
    try { await curl(`https://127.0.0.1:${ngPort}/health`); break; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
});
after(async () => {
  await stop(nginx);
  await stop(lotse);
  rmSync(work, { recursive: true, force: true });
});

test("the systemd unit template passes systemd-analyze verify", async () => {
  const dir = join(work, "unit");
  mkdirSync(dir);
  const unit = readFileSync(join(repo, "deploy", "lotse@.service"), "utf8").replace("/usr/bin/lotse", LOTSE);
  writeFileSync(join(dir, "lotse@acme.service"), unit);
  const { stderr } = await run("systemd-analyze", ["verify", join(dir, "lotse@acme.service")]);
  assert.equal(stderr.trim(), "", "no warnings");
  for (const hardening of ["DynamicUser=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/lotse/%i", "NoNewPrivileges=yes",
    "PrivateTmp=yes", "Restart=on-failure", "KillSignal=SIGTERM"])
    assert.ok(unit.includes(hardening), hardening);
});

test("tenant create writes a config that starts and answers /health; tenant list shows it; twice is refused", async () => {
  assert.equal((await curl("-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${port}/health`)), "200");
  const config = readFileSync(join(work, "etc", "acme.toml"), "utf8");
  assert.match(config, /name = "Beratung \\"Acme\\""/);
  assert.match(config, /trusted_proxies = \["127\.0\.0\.1", "::1"\]/);
  const list = await run(ADMIN_BIN, ["tenant", "list", "--etc-dir", join(work, "etc")]);
  assert.match(list.stdout, new RegExp(`acme  beratung\\.test  127\\.0\\.0\\.1:${port}`));
  await assert.rejects(run(ADMIN_BIN, ["tenant", "create", "acme", "--domain", "beratung.test", "--etc-dir", join(work, "etc"),
    "--data-root", join(work, "lib"), "--nginx-dir", join(work, "sites"), "--templates", join(repo, "deploy")]), (e) => e.code === 1);
  await assert.rejects(run(ADMIN_BIN, ["tenant", "create", "../evil", "--domain", "x.test", "--etc-dir", join(work, "etc")]), (e) => e.code === 2);
  await assert.rejects(run(ADMIN_BIN, ["tenant", "create", "huge", "--domain", "huge.test", "--max-upload", "0", "--etc-dir", join(work, "etc")]), (e) => e.code !== 0);
  // Nothing can be smuggled into the nginx site.
  await assert.rejects(run(ADMIN_BIN, ["tenant", "create", "evil", "--domain", "evil.test", "--cert", "/x; include /etc/passwd",
    "--etc-dir", join(work, "etc"), "--data-root", join(work, "lib"), "--nginx-dir", join(work, "sites"), "--templates", join(repo, "deploy")]), (e) => e.code === 2);
});

test("the upload limit given to tenant create is lotse's, and nginx lets a body just above it through for lotse to refuse", async () => {
  assert.match(readFileSync(join(work, "etc", "acme.toml"), "utf8"), /^\[media\]\nmax_upload_size = 3145728$/m);
  assert.match(readFileSync(join(work, "sites", "lotse-acme.conf"), "utf8"), /client_max_body_size 4m;/);
  const seeker = await registerSeeker({ baseUrl: `http://127.0.0.1:${port}` });
  const body = join(work, "upload.bin");
  const upload = async (bytes) => {
    writeFileSync(body, Buffer.alloc(bytes, 7));
    const out = await curl("-w", "\n%{http_code}", "-X", "POST", "-H", `Authorization: Bearer ${seeker.accessToken}`, "-H", "Content-Type: application/octet-stream",
      "--data-binary", `@${body}`, `https://127.0.0.1:${ngPort}/_matrix/media/v3/upload?filename=x.bin`);
    const lines = out.trim().split("\n");
    return { status: Number(lines.at(-1)), text: lines.slice(0, -1).join("\n") };
  };
  const ok = await upload(3 << 20);
  assert.equal(ok.status, 200, ok.text);
  assert.match(JSON.parse(ok.text).content_uri, /^mxc:\/\//);
  const over = await upload((3 << 20) + 1);
  assert.equal(over.status, 413);
  assert.equal(JSON.parse(over.text).errcode, "M_TOO_LARGE", "lotse answers, not nginx's HTML page");
});

test("through nginx: TLS with HTTP/2 and HSTS, the web app, registration, and a message reaching a waiting /sync", async () => {
  const base = `https://127.0.0.1:${ngPort}`;
  const head = await curl("--http2", "-I", `${base}/_matrix/client/versions`);
  assert.match(head, /^HTTP\/2 200/);
  assert.match(head, /strict-transport-security: max-age=63072000/i);
  assert.match(await curl(`${base}/`), /<!doctype html>/i, "the web app");
  const post = (path, body, token) => curl("-X", "POST", "-H", "Content-Type: application/json",
    ...(token ? ["-H", `Authorization: Bearer ${token}`] : []), "-d", JSON.stringify(body), `${base}${path}`);
  const first = JSON.parse(await post("/_matrix/client/v3/register", { username: "proxied", password: "correct horse battery" }));
  const reg = JSON.parse(await post("/_matrix/client/v3/register", { username: "proxied", password: "correct horse battery",
    auth: { type: "m.login.dummy", session: first.session } }));
  assert.ok(reg.access_token, JSON.stringify(reg));
  const token = reg.access_token;
  const initial = JSON.parse(await curl("-H", `Authorization: Bearer ${token}`, `${base}/_matrix/client/v3/sync`));
  // A long-poll through the proxy returns when something happens (here: an account data change).
  const waiting = curl("-H", `Authorization: Bearer ${token}`, `${base}/_matrix/client/v3/sync?timeout=15000&since=${initial.next_batch}`);
  await new Promise((r) => setTimeout(r, 500));
  await curl("-X", "PUT", "-H", "Content-Type: application/json", "-H", `Authorization: Bearer ${token}`, "-d", '{"x":1}',
    `${base}/_matrix/client/v3/user/${encodeURIComponent(reg.user_id)}/account_data/x.proxied`);
  const woken = JSON.parse(await waiting);
  assert.ok(woken.account_data.events.some((e) => e.type === "x.proxied"), "the waiting /sync saw the change");
});
