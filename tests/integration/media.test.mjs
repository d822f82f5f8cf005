// The content repository: byte-exact round trips, limits and quota, authentication, Range,
// thumbnails, safe headers, asynchronous uploads, and end-to-end encrypted attachments and voice
// messages between matrix-js-sdk clients.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes, webcrypto } from "node:crypto";
import { readdirSync, readFileSync, statSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { deflateSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, register, api, startCryptoClient, decryptedBody, waitFor, LOTSE } from "./harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const sha = (buf) => createHash("sha256").update(buf).digest("hex");
let server;
before(async () => { server = await startServer({ extraConfig: "[media]\nmax_upload_size = 60000000\nuser_quota = 200000000" }); });
after(async () => { await server.stop(); server.cleanup(); });

async function upload(token, bytes, { type = "application/octet-stream", name, base = server } = {}) {
  const q = name ? `?filename=${encodeURIComponent(name)}` : "";
  const res = await fetch(`${base.baseUrl}/_matrix/media/v3/upload${q}`, { method: "POST", body: bytes,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": type } });
  return { status: res.status, body: await res.json() };
}
async function download(token, mxc, { range, path = "/_matrix/client/v1/media/download" } = {}) {
  const [, serverName, id] = /^mxc:\/\/([^/]+)\/(.+)$/.exec(mxc);
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (range) headers.Range = range;
  const res = await fetch(`${server.baseUrl}${path}/${serverName}/${id}`, { headers });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}
function mediaFiles(dir) {
  const out = [];
  const walk = (d) => { for (const e of readdirSync(d, { withFileTypes: true })) { if (e.isDirectory()) walk(join(d, e.name)); else out.push(join(d, e.name)); } };
  walk(dir);
  return out;
}

// A minimal PNG encoder (RGB, no filter) for a test image of known size.
function png(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
  const crc = (buf) => { let c = 0xffffffff; for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
  const chunk = (type, data) => { const len = Buffer.alloc(4); len.writeUInt32BE(data.length); const td = Buffer.concat([Buffer.from(type), data]); const c = Buffer.alloc(4); c.writeUInt32BE(crc(td)); return Buffer.concat([len, td, c]); };
  const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4); ihdr[8] = 8; ihdr[9] = 2;
  const rows = [];
  for (let y = 0; y < height; y++) { const row = Buffer.alloc(1 + width * 3); for (let x = 0; x < width; x++) { row[1 + x * 3] = x % 256; row[2 + x * 3] = y % 256; row[3 + x * 3] = 128; } rows.push(row); }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(Buffer.concat(rows))), chunk("IEND", Buffer.alloc(0))]);
}
function imageSize(buf) {
  if (buf[0] === 0x89) return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
  for (let i = 2; i < buf.length;) {  // JPEG: walk markers to SOFn
    const marker = buf[i + 1], len = buf.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc3) return [buf.readUInt16BE(i + 7), buf.readUInt16BE(i + 5)];
    i += 2 + len;
  }
  throw new Error("unknown image format");
}

test("byte-exact round trips of 0 B, 1 KB and 50 MB", async () => {
  const alice = await register(server);
  for (const size of [0, 1024, 50 * 1024 * 1024]) {
    const bytes = randomBytes(size);
    const up = await upload(alice.accessToken, bytes, { name: `file-${size}.bin` });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.match(up.body.content_uri, /^mxc:\/\/localhost\/[A-Za-z0-9_-]{32}$/);
    const down = await download(alice.accessToken, up.body.content_uri);
    assert.equal(down.status, 200);
    assert.equal(down.bytes.length, size);
    assert.equal(sha(down.bytes), sha(bytes));
    assert.equal(down.headers.get("content-length"), String(size));
  }
});

test("downloads need an access token; legacy paths too", async () => {
  const alice = await register(server);
  const { body } = await upload(alice.accessToken, Buffer.from("vertraulich"));
  const anon = await download(null, body.content_uri);
  assert.equal(anon.status, 401);
  assert.equal(JSON.parse(anon.bytes).errcode, "M_MISSING_TOKEN");
  assert.equal((await download(null, body.content_uri, { path: "/_matrix/media/v3/download" })).status, 401);
  assert.equal((await download(alice.accessToken, body.content_uri, { path: "/_matrix/media/v3/download" })).bytes.toString(), "vertraulich");
  assert.equal((await download(alice.accessToken, "mxc://localhost/doesnotexist")).status, 404);
  assert.equal((await download(alice.accessToken, "mxc://elsewhere.example/abc")).status, 404);
  const cfg = await api(server, "GET", "/_matrix/client/v1/media/config", { token: alice.accessToken });
  assert.equal(cfg.body["m.upload.size"], 60000000);
});

test("an oversized upload gets 413 and leaves no file behind; the quota is enforced", async () => {
  const small = await startServer({ extraConfig: "[media]\nmax_upload_size = 100000\nuser_quota = 150000" });
  try {
    const alice = await register(small);
    const mediaDir = join(small.dir, "data", "media");
    const before = mediaFiles(mediaDir).length;
    const big = await upload(alice.accessToken, randomBytes(300000), { base: small });
    assert.equal(big.status, 413);
    assert.equal(big.body.errcode, "M_TOO_LARGE");
    assert.equal(mediaFiles(mediaDir).length, before, "no file stored");
    assert.equal((await upload(alice.accessToken, randomBytes(90000), { base: small })).status, 200);
    const over = await upload(alice.accessToken, randomBytes(90000), { base: small });
    assert.equal(over.status, 403);
    assert.equal(over.body.errcode, "M_RESOURCE_LIMIT_EXCEEDED");
    assert.equal(mediaFiles(mediaDir).length, before + 1, "the refused upload left nothing");
    assert.equal(readdirSync(join(mediaDir, "tmp")).length, 0);
  } finally {
    await small.stop();
    small.cleanup();
  }
});

test("Range requests return the right bytes", async () => {
  const alice = await register(server);
  const bytes = randomBytes(10000);
  const { body } = await upload(alice.accessToken, bytes, { type: "audio/ogg" });
  let r = await download(alice.accessToken, body.content_uri, { range: "bytes=100-199" });
  assert.equal(r.status, 206);
  assert.deepEqual(r.bytes, bytes.subarray(100, 200));
  assert.equal(r.headers.get("content-range"), "bytes 100-199/10000");
  r = await download(alice.accessToken, body.content_uri, { range: "bytes=9990-" });
  assert.deepEqual(r.bytes, bytes.subarray(9990));
  r = await download(alice.accessToken, body.content_uri, { range: "bytes=-5" });
  assert.deepEqual(r.bytes, bytes.subarray(9995));
  r = await download(alice.accessToken, body.content_uri, { range: "bytes=20000-" });
  assert.equal(r.status, 416);
  assert.equal(r.headers.get("content-range"), "bytes */10000");
});

test("safe headers: attachment for anything a browser could run, sandboxing CSP, nosniff", async () => {
  const alice = await register(server);
  const html = await upload(alice.accessToken, Buffer.from("<script>alert(1)</script>"), { type: "text/html", name: "böse.html" });
  const d = await download(alice.accessToken, html.body.content_uri);
  assert.match(d.headers.get("content-disposition"), /^attachment; filename\*=UTF-8''b%C3%B6se\.html$/);
  assert.match(d.headers.get("content-security-policy"), /^sandbox; default-src 'none'/);
  assert.equal(d.headers.get("x-content-type-options"), "nosniff");
  const image = await upload(alice.accessToken, png(20, 10), { type: "image/png" });
  assert.match((await download(alice.accessToken, image.body.content_uri)).headers.get("content-disposition"), /^inline/);
});

test("thumbnails scale and crop to the requested size and are cached", async () => {
  const alice = await register(server);
  const { body } = await upload(alice.accessToken, png(640, 480), { type: "image/png", name: "brief.png" });
  const id = body.content_uri.split("/").pop();
  const thumb = async (q) => {
    const res = await fetch(`${server.baseUrl}/_matrix/client/v1/media/thumbnail/localhost/${id}?${q}`, { headers: { Authorization: `Bearer ${alice.accessToken}` } });
    return { status: res.status, type: res.headers.get("content-type"), bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const scaled = await thumb("width=100&height=100&method=scale");
  assert.equal(scaled.status, 200);
  assert.equal(scaled.type, "image/jpeg");
  assert.deepEqual(imageSize(scaled.bytes), [100, 75]);
  const cropped = await thumb("width=96&height=96&method=crop");
  assert.deepEqual(imageSize(cropped.bytes), [96, 96]);
  assert.deepEqual((await thumb("width=100&height=100&method=scale")).bytes, scaled.bytes, "served from the cache");
  assert.equal((await thumb("width=100")).status, 400);
  const pdf = await upload(alice.accessToken, Buffer.from("%PDF-1.4"), { type: "application/pdf" });
  const res = await fetch(`${server.baseUrl}/_matrix/client/v1/media/thumbnail/localhost/${pdf.body.content_uri.split("/").pop()}?width=32&height=32`, { headers: { Authorization: `Bearer ${alice.accessToken}` } });
  assert.equal(res.status, 400);
});

test("asynchronous uploads: create, upload once, only by their creator", async () => {
  const alice = await register(server), bob = await register(server);
  const created = await api(server, "POST", "/_matrix/media/v1/create", { token: alice.accessToken, body: {} });
  assert.equal(created.status, 200);
  const [, , id] = created.body.content_uri.match(/^mxc:\/\/([^/]+)\/(.+)$/);
  const early = await download(alice.accessToken, created.body.content_uri);
  assert.equal(JSON.parse(early.bytes).errcode, "M_NOT_YET_UPLOADED");
  const put = (token, bytes) => fetch(`${server.baseUrl}/_matrix/media/v3/upload/localhost/${id}`, { method: "PUT", body: bytes, headers: { Authorization: `Bearer ${token}`, "Content-Type": "text/plain" } });
  assert.equal((await put(bob.accessToken, Buffer.from("x"))).status, 403);
  assert.equal((await put(alice.accessToken, Buffer.from("später hochgeladen"))).status, 200);
  assert.equal((await put(alice.accessToken, Buffer.from("nochmal"))).status, 409);
  assert.equal((await download(bob.accessToken, created.body.content_uri)).bytes.toString(), "später hochgeladen");
});

// Attachment encryption as clients do it (client-server API "Sending encrypted attachments").
async function encryptAttachment(plain) {
  const key = await webcrypto.subtle.generateKey({ name: "AES-CTR", length: 256 }, true, ["encrypt", "decrypt"]);
  const iv = new Uint8Array(16);
  webcrypto.getRandomValues(iv.subarray(0, 8));
  const cipher = Buffer.from(await webcrypto.subtle.encrypt({ name: "AES-CTR", counter: iv, length: 64 }, key, plain));
  const jwk = await webcrypto.subtle.exportKey("jwk", key);
  return { cipher, info: { key: jwk, iv: Buffer.from(iv).toString("base64").replace(/=+$/, ""), hashes: { sha256: createHash("sha256").update(cipher).digest("base64").replace(/=+$/, "") }, v: "v2" } };
}
async function decryptAttachment(cipher, info) {
  assert.equal(createHash("sha256").update(cipher).digest("base64").replace(/=+$/, ""), info.hashes.sha256, "ciphertext hash");
  const key = await webcrypto.subtle.importKey("jwk", info.key, { name: "AES-CTR" }, false, ["decrypt"]);
  return Buffer.from(await webcrypto.subtle.decrypt({ name: "AES-CTR", counter: Buffer.from(info.iv, "base64"), length: 64 }, key, cipher));
}

test("an encrypted photo and a voice message travel between matrix-js-sdk clients", async () => {
  const counselorReg = await register(server), seekerReg = await register(server);
  const seeker = await startCryptoClient(server, seekerReg);
  const counselor = await startCryptoClient(server, counselorReg);
  try {
    const { room_id: roomId } = await seeker.createRoom({ preset: "trusted_private_chat", invite: [counselor.getUserId()],
      initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }] });
    await waitFor(() => counselor.getRoom(roomId)?.getMyMembership() === "invite", "invite");
    await counselor.joinRoom(roomId);
    await waitFor(() => seeker.getRoom(roomId)?.getMember(counselor.getUserId())?.membership === "join", "join");

    // Photo of a letter, encrypted before upload.
    const photo = png(320, 200);
    const { cipher, info } = await encryptAttachment(photo);
    const { content_uri } = await seeker.uploadContent(cipher, { type: "application/octet-stream", includeFilename: false });
    const { event_id: photoId } = await seeker.sendEvent(roomId, "m.room.message",
      { msgtype: "m.image", body: "brief.png", info: { mimetype: "image/png", size: photo.length, w: 320, h: 200 }, file: { ...info, url: content_uri, mimetype: "image/png" } });

    // Voice message: Ogg/Opus with its duration.
    const voice = readFileSync(join(here, "../fixtures/voice-message.ogg"));
    const enc = await encryptAttachment(voice);
    const up = await seeker.uploadContent(enc.cipher, { type: "application/octet-stream", includeFilename: false });
    const { event_id: voiceId } = await seeker.sendEvent(roomId, "m.room.message",
      { msgtype: "m.audio", body: "Sprachnachricht.ogg", info: { mimetype: "audio/ogg", size: voice.length, duration: 2400 },
        file: { ...enc.info, url: up.content_uri, mimetype: "audio/ogg" }, "org.matrix.msc3245.voice": {}, "org.matrix.msc1767.audio": { duration: 2400 } });

    for (const [eventId, expected] of [[photoId, photo], [voiceId, voice]]) {
      await decryptedBody(counselor, roomId, eventId, "counselor decrypts the event");
      const content = counselor.getRoom(roomId).findEventById(eventId).getContent();
      assert.ok(!JSON.stringify((await api(server, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`, { token: counselorReg.accessToken })).body).includes(content.file.key.k), "the server never sees the file key");
      const url = counselor.mxcUrlToHttp(content.file.url, undefined, undefined, undefined, false, true, true);
      assert.match(url, /\/_matrix\/client\/v1\/media\/download\//);
      const res = await fetch(url, { headers: { Authorization: `Bearer ${counselorReg.accessToken}` } });
      const plain = await decryptAttachment(Buffer.from(await res.arrayBuffer()), content.file);
      assert.equal(sha(plain), sha(expected));
      if (content.msgtype === "m.audio") assert.equal(content.info.duration, 2400);
    }
  } finally {
    seeker.stopClient();
    counselor.stopClient();
  }
});

// deploy/lotse@.service sets MemoryDenyWriteExecute=yes, which the thumbnailer (libvips, with liborc's
// run-time code generation) inherits. The kernel's own form of it (prctl PR_SET_MDWE, Linux 6.3+,
// inherited across fork and exec) shows that thumbnails still work under it.
test("thumbnails work under memory-deny-write-execute, as the systemd unit runs lotse", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "lotse-mdwe-"));
  writeFileSync(join(dir, "mdwe.py"), [
    "import ctypes, os, sys",
    "libc = ctypes.CDLL(None, use_errno=True)",
    "if libc.prctl(65, 1, 0, 0, 0) != 0: sys.exit(77)  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN",
    "if sys.argv[1] == '--check':  # a writable and executable mapping must now be refused",
    "    libc.mmap.restype = ctypes.c_void_p",
    "    p = libc.mmap(None, 4096, 7, 0x22, -1, 0)  # PROT_READ|WRITE|EXEC, MAP_PRIVATE|ANONYMOUS",
    "    sys.exit(0 if p in (None, ctypes.c_void_p(-1).value) else 1)",
    "os.execv(sys.argv[1], sys.argv[1:])", ""].join("\n"));
  const { execFile } = await import("node:child_process");
  const probe = await new Promise((resolve) => execFile("python3", [join(dir, "mdwe.py"), "--check"], (e) => resolve(e?.code ?? 0)));
  if (probe === 77) { rmSync(dir, { recursive: true, force: true }); t.skip("PR_SET_MDWE is not available on this kernel"); return; }
  assert.equal(probe, 0, "under PR_SET_MDWE a writable and executable mapping is refused");
  writeFileSync(join(dir, "lotse-mdwe"), `#!/bin/sh\nexec python3 ${join(dir, "mdwe.py")} ${LOTSE} "$@"\n`, { mode: 0o755 });
  const guarded = await startServer({ bin: join(dir, "lotse-mdwe") });
  try {
    const alice = await register(guarded);
    const { body } = await upload(alice.accessToken, png(640, 480), { type: "image/png", base: guarded });
    const id = body.content_uri.split("/").pop();
    const res = await fetch(`${guarded.baseUrl}/_matrix/client/v1/media/thumbnail/localhost/${id}?width=96&height=96&method=crop`,
      { headers: { Authorization: `Bearer ${alice.accessToken}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "image/jpeg");
    assert.deepEqual(imageSize(Buffer.from(await res.arrayBuffer())), [96, 96]);
  } finally {
    await guarded.stop();
    guarded.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
