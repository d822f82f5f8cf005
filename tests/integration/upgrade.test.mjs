// Upgrades: every data directory kept in tests/fixtures/schema-<N> (written by the lotse of that
// schema, see make-schema-fixture.mjs) starts with today's lotse, migrates forward and keeps its
// accounts, consultations and messages; a database newer than the binary is refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startServer, api } from "./harness.mjs";

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "../fixtures");
const newest = Math.max(...readdirSync(join(fixtures, "../../schemas")).map((f) => parseInt(f, 10)).filter((n) => n > 0));

function copyFixture(name) {
  const dir = mkdtempSync(join(tmpdir(), "lotse-upgrade-"));
  mkdirSync(join(dir, "data"));
  for (const f of ["lotse.db", "signing.key"]) cpSync(join(fixtures, name, f), join(dir, "data", f));
  return dir;
}
const login = async (srv, user, password) => (await api(srv, "POST", "/_matrix/client/v3/login", {
  body: { type: "m.login.password", identifier: { type: "m.id.user", user }, password } }));

for (const name of readdirSync(fixtures).filter((f) => /^schema-\d+$/.test(f))) {
  test(`a data directory of ${name} upgrades to schema ${newest} and keeps its data`, async () => {
    const what = JSON.parse(readFileSync(join(fixtures, name, "what.json"), "utf8"));
    const dir = copyFixture(name);
    const srv = await startServer({ dataDir: dir, bootstrap: false });
    try {
      const { stdout } = await promisify(execFile)("sqlite3", [join(dir, "data", "lotse.db"), "SELECT max(version) FROM schema_version"]);
      assert.equal(Number(stdout.trim()), newest);
      const counselor = await login(srv, what.counselor.user, what.counselor.password);
      assert.equal(counselor.status, 200, "old password hashes still verify");
      const msgs = await api(srv, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(what.room)}/messages?dir=f&limit=50`, { token: counselor.body.access_token });
      assert.deepEqual(msgs.body.chunk.filter((e) => e.type === "m.room.message").map((e) => e.content.body), what.messages);
      const seeker = await login(srv, what.seeker.user, what.seeker.password);
      assert.equal(seeker.status, 200);
      const list = await api(srv, "GET", "/_lotse/client/v1/consultations", { token: seeker.body.access_token });
      assert.ok(list.body.consultations.some((c) => c.room_id === what.consultation_room));
      // A consultation opened before names the service user as a functional member now (1:1 calls in Element).
      for (const type of ["io.element.functional_members", "m.member_hints"]) {
        const hint = await api(srv, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(what.consultation_room)}/state/${type}/`, { token: seeker.body.access_token });
        assert.deepEqual(hint.body, { service_members: ["@lotse:localhost"] }, type);
      }
      const pl = await api(srv, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(what.consultation_room)}/state/m.room.power_levels/`, { token: seeker.body.access_token });
      assert.deepEqual([pl.body.events["io.element.functional_members"], pl.body.events["m.member_hints"]], [100, 100], "only the service user may change them");
      const admin = await login(srv, what.admin.user, what.admin.password);
      assert.equal((await api(srv, "GET", "/_lotse/admin/v1/stats", { token: admin.body.access_token })).status, 200);
      // New writes work on the upgraded database.
      const sent = await api(srv, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(what.room)}/send/m.room.message/after-upgrade`,
        { token: counselor.body.access_token, body: { msgtype: "m.text", body: "after the upgrade" } });
      assert.equal(sent.status, 200);
    } finally {
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("a database written by a newer lotse is refused with a message saying so", async () => {
  const name = readdirSync(fixtures).find((f) => /^schema-\d+$/.test(f));
  const dir = copyFixture(name);
  try {
    await promisify(execFile)("sqlite3", [join(dir, "data", "lotse.db"), `INSERT INTO schema_version (version) VALUES (${newest + 1})`]);
    await assert.rejects(startServer({ dataDir: dir, bootstrap: false }), /newer than this lotse/);
    // Refused before anything was written: the version is still the newer one.
    const { stdout } = await promisify(execFile)("sqlite3", [join(dir, "data", "lotse.db"), "SELECT max(version) FROM schema_version"]);
    assert.equal(Number(stdout.trim()), newest + 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
