// lotse-admin backup while the server is under load, backup verify, restore into a fresh data
// directory: every message acknowledged before the backup started is in the restored instance.
// Encrypted backups (--encrypt-to): nothing readable on the backup host, tampering found on restore.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, cpSync, rmSync, statSync, readdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startServer, api, register } from "./harness.mjs";

const ADMIN_BIN = process.env.LOTSE_ADMIN_BIN ?? join(dirname(fileURLToPath(import.meta.url)), "../../build/server/lotse-admin");
const run = (...args) => promisify(execFile)(ADMIN_BIN, args);

async function cleanUp(srv, restored, work) {
  await srv.stop();
  await restored?.stop();
  restored?.cleanup();
  srv.cleanup();
  rmSync(work, { recursive: true, force: true });
}

test("a backup taken under load restores everything acknowledged before it began; verify finds a flipped byte", async () => {
  const srv = await startServer();
  const work = mkdtempSync(join(tmpdir(), "lotse-backup-"));
  let restored;
  try {
    const alice = await register(srv);
    const room = (await api(srv, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: {} })).body.room_id;
    const file = Buffer.from("backed-up file " + "x".repeat(5000));
    const up = await api(srv, "POST", "/_matrix/media/v3/upload?filename=a.bin", { token: alice.accessToken, raw: file, headers: { "Content-Type": "application/octet-stream" } });
    assert.equal(up.status, 200);
    // The load: four senders, each waiting for its acknowledgement before the next message.
    const acked = [];
    let stop = false, n = 0;
    const sender = async (k) => {
      while (!stop) {
        const i = n++;
        const res = await api(srv, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/s${k}-${i}`,
          { token: alice.accessToken, body: { msgtype: "m.text", body: `message ${i}` } });
        if (res.status === 200) acked.push({ id: res.body.event_id, at: Date.now() });
      }
    };
    const senders = [0, 1, 2, 3].map(sender);
    await new Promise((r) => setTimeout(r, 700));
    const vapidBefore = (await api(srv, "GET", "/_lotse/client/v1/push", { token: alice.accessToken })).body.vapid_public_key;
    assert.ok(vapidBefore);
    const backupStarted = Date.now();
    const before = acked.filter((a) => a.at < backupStarted).map((a) => a.id);
    const backupDir = join(work, "backup");
    const { stdout } = await run("backup", "--data-dir", join(srv.dir, "data"), "--to", backupDir, "--config", join(srv.dir, "lotse.toml"));
    assert.match(stdout, /Backup of .* files\./);
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(senders);
    assert.ok(before.length > 20, `load ran before the backup (${before.length} messages)`);

    assert.match((await run("backup", "verify", backupDir)).stdout, /is intact/);
    // Only its owner may read a backup (it holds everything: hashes, sessions, keys, ciphertext).
    assert.equal(statSync(backupDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(backupDir, "lotse.db")).mode & 0o777, 0o600);
    // A flipped byte anywhere is found.
    const damaged = join(work, "damaged");
    cpSync(backupDir, damaged, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(damaged, "MANIFEST.json"), "utf8"));
    const media = manifest.files.find((f) => f.path.startsWith("media/"));
    assert.ok(media, "the uploaded file is in the backup");
    assert.ok(manifest.files.some((f) => f.path === "push-vapid.pem"), "the VAPID key every push subscription is bound to");
    const bytes = readFileSync(join(damaged, media.path));
    bytes[100] ^= 0x01;
    writeFileSync(join(damaged, media.path), bytes);
    await assert.rejects(run("backup", "verify", damaged), (e) => e.code === 1 && /does not match its checksum/.test(e.stderr));
    // Refusing to write over existing data.
    await assert.rejects(run("restore", "--from", backupDir, "--data-dir", join(srv.dir, "data")), (e) => e.code === 2);

    await srv.stop();
    const fresh = mkdtempSync(join(tmpdir(), "lotse-restored-"));
    await run("restore", "--from", backupDir, "--data-dir", join(fresh, "data"));
    writeFileSync(join(fresh, "admin.json"), JSON.stringify(srv.admin));
    restored = await startServer({ dataDir: fresh });
    for (const id of before) {
      const ev = await api(restored, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/event/${encodeURIComponent(id)}`, { token: alice.accessToken });
      assert.equal(ev.status, 200, `acknowledged before the backup, missing after restore: ${id}`);
    }
    const mediaId = up.body.content_uri.split("/").pop();
    const dl = await fetch(`${restored.baseUrl}/_matrix/client/v1/media/download/localhost/${mediaId}`, { headers: { Authorization: `Bearer ${alice.accessToken}` } });
    assert.equal(dl.status, 200);
    assert.ok(Buffer.from(await dl.arrayBuffer()).equals(file), "the file is restored byte-exact");
    // Push subscriptions stay valid: the restored server signs with the same VAPID key.
    const vapid = async (s) => (await api(s, "GET", "/_lotse/client/v1/push", { token: alice.accessToken })).body.vapid_public_key;
    assert.equal(await vapid(restored), vapidBefore);
  } finally {
    await cleanUp(srv, restored, work);
  }
});

test("an encrypted backup: unreadable on the backup host, verified there without the key, restored only with the secret key, tampering found", async () => {
  const srv = await startServer();
  const work = mkdtempSync(join(tmpdir(), "lotse-backup-enc-"));
  let restored;
  try {
    const key = join(work, "backup.key");
    const gen = await run("backup", "keygen", "--out", key);
    assert.match(gen.stdout, /Public key: .*backup\.key\.pub \([0-9a-f]{64}\)/);
    assert.equal(statSync(key).mode & 0o777, 0o600, "the secret key is its owner's only");
    await assert.rejects(run("backup", "keygen", "--out", key), (e) => e.code === 1 && /never overwritten/.test(e.stderr));
    const alice = await register(srv, "vertraulich");
    const room = (await api(srv, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { name: "Geheimer Raumname" } })).body.room_id;
    const sent = await api(srv, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/send/m.room.message/t1`,
      { token: alice.accessToken, body: { msgtype: "m.text", body: "Klartext, der nie auf dem Backup-Host stehen darf" } });
    const file = Buffer.from("Anhang im Klartext " + "y".repeat(70000));  // more than one 64 KiB chunk
    const up = await api(srv, "POST", "/_matrix/media/v3/upload?filename=b.bin", { token: alice.accessToken, raw: file, headers: { "Content-Type": "application/octet-stream" } });
    assert.equal(up.status, 200);

    // Backed up with the public key only, while the server runs.
    const backupDir = join(work, "backup");
    const { stdout } = await run("backup", "--data-dir", join(srv.dir, "data"), "--to", backupDir, "--config", join(srv.dir, "lotse.toml"), "--encrypt-to", key + ".pub");
    assert.match(stdout, /files, encrypted for [0-9a-f]{16}\.\.\./);
    const manifest = JSON.parse(readFileSync(join(backupDir, "MANIFEST.json"), "utf8"));
    assert.match(manifest.encrypted_for, /^[0-9a-f]{64}$/);
    assert.ok(manifest.files.every((f) => f.path.endsWith(".enc")), "every file encrypted");
    assert.ok(manifest.files.some((f) => f.path === "lotse.db.enc") && manifest.files.some((f) => f.path.startsWith("media/")));
    const leaks = ["SQLite format 3", "Klartext", "vertraulich", "Geheimer Raumname", "Anhang im Klartext", "server_name", "ed25519"];
    for (const f of manifest.files) {
      const bytes = readFileSync(join(backupDir, f.path));
      for (const needle of leaks) assert.equal(bytes.indexOf(needle), -1, `"${needle}" readable in ${f.path}`);
    }
    assert.deepEqual(readdirSync(join(srv.dir, "data")).filter((n) => n.startsWith(".backup-snapshot")), [], "no snapshot left beside the database");
    // The backup host checks it without any key.
    assert.match((await run("backup", "verify", backupDir)).stdout, /is intact/);

    // Restoring needs the secret key: not none, not the public half, not another key.
    const target = (name) => join(work, name, "data");
    await assert.rejects(run("restore", "--from", backupDir, "--data-dir", target("a")), (e) => e.code === 2 && /encrypted; restore it with --key/.test(e.stderr));
    await assert.rejects(run("restore", "--from", backupDir, "--data-dir", target("b"), "--key", key + ".pub"), (e) => e.code === 2 && /only the public key/.test(e.stderr));
    const other = join(work, "other.key");
    await run("backup", "keygen", "--out", other);
    await assert.rejects(run("restore", "--from", backupDir, "--data-dir", target("c"), "--key", other), (e) => e.code === 2 && /encrypted for another key/.test(e.stderr));

    // The backup host changes a file and fixes the manifest: verify cannot tell, the restore can.
    const rehash = (dir) => {
      const m = JSON.parse(readFileSync(join(dir, "MANIFEST.json"), "utf8"));
      for (const f of m.files) f.sha256 = createHash("sha256").update(readFileSync(join(dir, f.path))).digest("hex");
      writeFileSync(join(dir, "MANIFEST.json"), JSON.stringify(m));
    };
    const flipped = join(work, "flipped");
    cpSync(backupDir, flipped, { recursive: true });
    const db = readFileSync(join(flipped, "lotse.db.enc"));
    db[db.length - 40] ^= 0x01;
    writeFileSync(join(flipped, "lotse.db.enc"), db);
    rehash(flipped);
    assert.match((await run("backup", "verify", flipped)).stdout, /is intact/);
    await assert.rejects(run("restore", "--from", flipped, "--data-dir", target("d"), "--key", key), (e) => e.code === 1 && /lotse\.db\.enc: damaged/.test(e.stderr));
    // ... or puts one encrypted file in another's place: bound to its path, it does not decrypt there.
    const swapped = join(work, "swapped");
    cpSync(backupDir, swapped, { recursive: true });
    writeFileSync(join(swapped, "signing.key.enc"), readFileSync(join(swapped, "push-vapid.pem.enc")));
    rehash(swapped);
    await assert.rejects(run("restore", "--from", swapped, "--data-dir", target("e"), "--key", key), (e) => e.code === 1 && /not from this place/.test(e.stderr));
    // ... or cuts the last chunk off the file.
    const cut = join(work, "cut");
    cpSync(backupDir, cut, { recursive: true });
    const mediaEnc = manifest.files.find((f) => f.path.startsWith("media/")).path;
    const whole = readFileSync(join(cut, mediaEnc));
    writeFileSync(join(cut, mediaEnc), whole.subarray(0, 12 + 80 + 24 + 65536 + 17));  // exactly the first chunk
    rehash(cut);
    await assert.rejects(run("restore", "--from", cut, "--data-dir", target("f"), "--key", key), (e) => e.code === 1 && /truncated|damaged/.test(e.stderr));

    // ... or adds a file in the clear (a signing key of its own): an encrypted backup restores none.
    const planted = join(work, "planted");
    cpSync(backupDir, planted, { recursive: true });
    writeFileSync(join(planted, "planted.key"), "not from this server");
    const m = JSON.parse(readFileSync(join(planted, "MANIFEST.json"), "utf8"));
    m.files.push({ path: "planted.key", size: 19, sha256: createHash("sha256").update("not from this server").digest("hex") });
    writeFileSync(join(planted, "MANIFEST.json"), JSON.stringify(m));
    await assert.rejects(run("restore", "--from", planted, "--data-dir", target("g"), "--key", key),
      (e) => e.code === 1 && /planted\.key is not encrypted, but the backup is/.test(e.stderr));

    // With the secret key: everything back, byte-exact.
    await srv.stop();
    const fresh = mkdtempSync(join(tmpdir(), "lotse-restored-enc-"));
    const res = await run("restore", "--from", backupDir, "--data-dir", join(fresh, "data"), "--key", key);
    assert.match(res.stdout, /decrypted/);
    assert.equal(statSync(join(fresh, "data", "lotse.db")).mode & 0o777, 0o600);
    writeFileSync(join(fresh, "admin.json"), JSON.stringify(srv.admin));
    restored = await startServer({ dataDir: fresh });
    const ev = await api(restored, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(room)}/event/${encodeURIComponent(sent.body.event_id)}`, { token: alice.accessToken });
    assert.equal(ev.body.content?.body, "Klartext, der nie auf dem Backup-Host stehen darf");
    const mediaId = up.body.content_uri.split("/").pop();
    const dl = await fetch(`${restored.baseUrl}/_matrix/client/v1/media/download/localhost/${mediaId}`, { headers: { Authorization: `Bearer ${alice.accessToken}` } });
    assert.ok(Buffer.from(await dl.arrayBuffer()).equals(file), "the file is restored byte-exact");
    assert.equal(readFileSync(join(srv.dir, "data", "signing.key"), "utf8"), readFileSync(join(fresh, "data", "signing.key"), "utf8"), "the signing key too");
  } finally {
    await cleanUp(srv, restored, work);
  }
});
