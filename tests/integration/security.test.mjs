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
import { startServer, api, writeBootstrapRequest } from "./harness.mjs";

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

