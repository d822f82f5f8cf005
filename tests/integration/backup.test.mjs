// lotse-admin backup while the server is under load, backup verify, restore into a fresh data
// directory: every message acknowledged before the backup started is in the restored instance.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, cpSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startServer, api, register } from "./harness.mjs";

const ADMIN_BIN = process.env.LOTSE_ADMIN_BIN ?? join(dirname(fileURLToPath(import.meta.url)), "../../build/server/lotse-admin");
const run = (...args) => promisify(execFile)(ADMIN_BIN, args);

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
    await srv.stop();
    await restored?.stop();
    restored?.cleanup();
    srv.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
});

