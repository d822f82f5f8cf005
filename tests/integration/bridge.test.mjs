// lotse-bridge against the old system's export (tests/fixtures/old-system, a verbatim copy of
// ../shared/data/old-system; LOTSE_OLD_EXPORT points elsewhere) and a real Lotse: the plan
// reports what answers.json says is there; the import brings every account (old passwords work),
// consultation and room; members who sign in on a new device (matrix-js-sdk with Rust crypto) read
// every imported message in order, decrypted, with byte-identical attachments, once `serve` has
// delivered the keys; a second import changes nothing; an import killed half-way and run again ends
// identical to a clean one; the server's database holds no imported plaintext.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";  // spawnSync only for sqlite3, which needs no server
import { createHash } from "node:crypto";
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startServer, api, sdk, waitFor, startCryptoClient } from "./harness.mjs";
import { deriveKeys, localpart } from "../../web-client/src/key_recovery.js";

const BRIDGE = process.env.LOTSE_BRIDGE_BIN ?? resolve("../../build/bridge/lotse-bridge");
const EXPORT = process.env.LOTSE_OLD_EXPORT ?? resolve("../fixtures/old-system");
const SECRETS = join(EXPORT, "secrets.example.toml");
const answers = JSON.parse(readFileSync(join(EXPORT, "answers.json"), "utf8"));
const work = mkdtempSync(join(tmpdir(), "lotse-bridge-test-"));
const servers = [];
after(async () => {
  for (const s of servers) { await s.stop(); s.cleanup(); }
  rmSync(work, { recursive: true, force: true });
});

// Asynchronous: the server started by this process writes its log into a pipe this process must
// keep reading while the bridge talks to it.
function bridge(args, { allowFail = false, token } = {}) {
  return new Promise((resolvePromise, reject) => {
    // The admin token for serve and status goes by environment, never on the command line.
    const env = token ? { ...process.env, LOTSE_ADMIN_TOKEN: token } : process.env;
    const child = spawn(BRIDGE, args, { stdio: ["ignore", "pipe", "pipe"], env });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => { stdout += d; });
    child.stderr.on("data", (d) => { stderr += d; });
    child.on("close", (status, signal) => {
      if (status !== 0 && !allowFail) reject(new Error(`lotse-bridge ${args[0]} failed (${status ?? signal}): ${stderr}`));
      else resolvePromise({ status, signal, stdout, stderr, child });
    });
  });
}
async function importInto(server, state, extra = [], exportDir = EXPORT) {
  const r = await bridge(["import", "--export", exportDir, "--secrets", SECRETS, "--server", server.baseUrl, "--token", server.admin.accessToken,
    "--state", state, "--json", ...extra]);
  return JSON.parse(r.stdout);
}
const userId = (name) => `@${localpart(name)}:localhost`;
const people = answers.users.filter((u) => u.kind !== "technical");
const byRc = new Map(people.map((u) => [u.rc_user_id, u]));
const editedWithCopy = new Set(readFileSync(join(EXPORT, "mongo", "rocketchat_message.json"), "utf8").split("\n")
  .filter((l) => l.includes('"_hidden"')).map((l) => JSON.parse(l).parent));
const sqlite = (db, sql) => spawnSync("sqlite3", [db, sql], { encoding: "utf8" }).stdout;

// Every room answers.json expects in Lotse, with the messages its members read there.
function expectedRooms() {
  const rooms = [];
  for (const s of answers.sessions) {
    if (s.room?.exists && s.messages) rooms.push({ old: s.room.rc_group_id, members: s.room.members, messages: s.messages, session: s });
    if (s.feedback_room) rooms.push({ old: s.feedback_room.rc_group_id, members: s.feedback_room.members, messages: s.feedback_room.messages });
  }
  for (const r of answers.rooms) if (r.kind !== "orphan") rooms.push({ old: r.rc_group_id, members: r.members, messages: r.messages ?? [] });
  return rooms;
}
// What reaches Lotse of a room's messages: membership system messages and the technical hand-over
// follow-up are not imported (README "What becomes what"); the rest is, in order.
function imported(messages) {
  return messages.filter((m) => !(m.type === "system" && ["uj", "au", "ru", "ul"].includes(m.system_type)) &&
    m.message_type !== "REASSIGN_CONSULTANT_RESET_LAST_MESSAGE");
}

let server, state;

test("plan reads the whole export and reports what answers.json holds, with every edge case by its old id", async () => {
  const r = await bridge(["plan", "--export", EXPORT, "--secrets", SECRETS, "--json"]);
  const report = JSON.parse(r.stdout);
  const c = report.counts, want = answers.counts;
  assert.equal(c["accounts.counselor"], want.consultants);
  assert.equal(c["accounts.seeker"] + c["accounts.anonymous"], want.askers);
  assert.equal(c["accounts.anonymous"], want.anonymous_askers);
  assert.equal(c.agencies, want.agencies);
  for (const [status, n] of Object.entries(want.sessions_by_status)) assert.equal(c[`sessions.${status}`], n, status);
  assert.equal(c["messages.e2e"], want.messages_by_type.e2e);
  assert.equal(c["messages.e2e_file"], want.messages_by_type.e2e_file);
  assert.equal(c["messages.deleted"], want.messages_by_type.deleted);
  assert.equal(c["messages.forward"], want.messages_by_type.forward);
  assert.equal(c["messages.history_copy"], answers.edge_cases.history_copies.length);
  const problem = (kind, id) => report.problems.some((p) => p.kind === kind && p.old_id === String(id));
  for (const id of answers.edge_cases.orphan_rooms) assert.ok(problem("orphan-room", id), `orphan room ${id}`);
  for (const id of answers.edge_cases.room_missing_sessions) assert.ok(problem("room-missing", id), `missing room of ${id}`);
  for (const id of answers.edge_cases.uploads_with_missing_file) assert.ok(problem("upload-file-missing", id), `missing file ${id}`);
  assert.ok(problem("enquiry-not-accepted", answers.edge_cases.never_accepted_session));
  // The text form says the same for a person.
  const text = (await bridge(["plan", "--export", EXPORT, "--secrets", SECRETS])).stdout;
  assert.match(text, /orphan-room/);
  assert.match(text, /accounts\.counselor: 12/);
});

test("plan without the secrets file names every text it could not decrypt instead of guessing", async () => {
  const report = JSON.parse((await bridge(["plan", "--export", EXPORT, "--json"])).stdout);
  assert.ok(report.problems.filter((p) => p.kind === "secrets-missing").length > 100);
});

test("import brings every account, agency, topic, consultation and room; old passwords work and are upgraded at once", async () => {
  server = await startServer();
  servers.push(server);
  state = join(work, "state.db");
  const result = await importInto(server, state);
  assert.equal(result.done["accounts.created"], people.length);
  assert.equal(result.done.rooms, expectedRooms().length);

  // Consultations with their seeker, counselor and status.
  const list = await api(server, "GET", "/_lotse/admin/v1/consultations", { token: server.admin.accessToken });
  const consultations = list.body.consultations;
  const accepted = answers.sessions.filter((s) => s.room?.exists && s.counselor);
  assert.equal(consultations.length, accepted.length);
  for (const s of accepted) {
    const seeker = userId(people.find((u) => u.id === s.seeker.id).username);
    const counselor = userId(people.find((u) => u.id === s.counselor.id).username);
    const c = consultations.find((x) => x.seeker === seeker && x.counselor === counselor && x.created_ts !== undefined &&
      (["IN_ARCHIVE", "DONE"].includes(s.status) ? x.status === "closed" : x.status === "open"));
    assert.ok(c, `consultation ${s.session_id} of ${seeker} with ${counselor} (${s.status})`);
    // Its members: the old room's people (team counselors included), and Lotse's service user.
    const members = (await api(server, "GET", `/_lotse/admin/v1/import/rooms/${encodeURIComponent(c.room_id)}/members`, { token: server.admin.accessToken })).body.members;
    const want = s.room.members.map((rc) => byRc.get(rc)).filter(Boolean).map((u) => userId(u.username));
    assert.deepEqual([...members].sort(), [...want, "@lotse:localhost"].sort(), `members of ${s.session_id}`);
  }

  // The exchange's pinned work materials stay pinned; counselors serve their agencies' postal codes.
  const db0 = join(server.dir, "data", "lotse.db");
  const pinnedWant = answers.rooms.flatMap((r) => (r.messages ?? []).filter((m) => m.pinned).map((m) => m.id));
  const pinnedGot = sqlite(db0, "SELECT e.json FROM events e JOIN current_state c ON c.event_id = e.event_id WHERE e.type = 'm.room.pinned_events'")
    .trim().split("\n").filter(Boolean).flatMap((j) => JSON.parse(j).content.pinned);
  assert.equal(pinnedGot.length, pinnedWant.length);
  const kowalski = people.find((u) => u.username === "a.kowalski");
  const profile = await api(server, "GET", `/_lotse/admin/v1/counselors/${encodeURIComponent(userId(kowalski.username))}`, { token: server.admin.accessToken });
  assert.equal(profile.status, 200);
  assert.ok(profile.body.postal_codes.includes("10115") && profile.body.postal_codes.includes("1017"), JSON.stringify(profile.body));
  for (const u of people.filter((p) => p.kind === "consultant")) {
    const p = await api(server, "GET", `/_lotse/admin/v1/counselors/${encodeURIComponent(userId(u.username))}`, { token: server.admin.accessToken });
    assert.deepEqual([...p.body.languages].sort(), [...u.languages].sort(), `${u.username}'s languages`);
    assert.equal(p.body.display_name, u.display_name);
    assert.equal(p.body.absence?.message ?? null, u.absence_message ?? null, `${u.username}'s absence notice`);
  }

  // Counselors sign in with their old password through matrix-js-sdk (m.login.password, as Element).
  const matrix = await sdk();
  for (const u of people.filter((p) => p.kind === "consultant")) {
    const res = await matrix.createClient({ baseUrl: server.baseUrl }).loginRequest({
      type: "m.login.password", identifier: { type: "m.id.user", user: localpart(u.username) }, password: u.password });
    assert.equal(res.user_id, userId(u.username), u.username);
  }
  // Seekers through the PWA's login path: the derived secret first (403 for an imported account),
  // then the typed password, then the password is moved to the derived secret.
  const db = join(server.dir, "data", "lotse.db");
  for (const u of people.filter((p) => p.kind === "asker")) {
    const name = localpart(u.username);
    const keys = await deriveKeys(name, u.password, 1000);
    const login = (password) => api(server, "POST", "/_matrix/client/v3/login", {
      body: { type: "m.login.password", identifier: { type: "m.id.user", user: name }, password } });
    const first = await login(keys.loginSecret);
    if (!u.enabled) {
      assert.equal(first.status, 403, `${u.username} is deactivated`);
      assert.equal(first.body.errcode, "M_USER_DEACTIVATED");
      continue;
    }
    assert.equal(first.status, 403, `${u.username}: the derived secret is not the old password`);
    const raw = await login(u.password);
    assert.equal(raw.status, 200, `${u.username} (${u.password_algorithm}): ${JSON.stringify(raw.body)}`);
    const hash = sqlite(db, `SELECT password_hash FROM users WHERE user_id = '${raw.body.user_id.replaceAll("'", "''")}'`).trim();
    assert.match(hash, /^\$argon2id\$/, `${u.username}'s ${u.password_algorithm} hash is replaced at the first login`);
    const change = await api(server, "POST", "/_matrix/client/v3/account/password", { token: raw.body.access_token,
      body: { new_password: keys.loginSecret, logout_devices: false,
        auth: { type: "m.login.password", identifier: { type: "m.id.user", user: raw.body.user_id }, password: u.password } } });
    assert.equal(change.status, 200, JSON.stringify(change.body));
    assert.equal((await login(keys.loginSecret)).status, 200, `${u.username} uses the new scheme afterwards`);
    assert.equal((await login(u.password)).status, 403, `${u.username}'s old password is gone`);
  }
  // A wrong password for an imported account fails like any other.
  const anna = people.find((p) => p.kind === "consultant");
  const wrong = await api(server, "POST", "/_matrix/client/v3/login", {
    body: { type: "m.login.password", identifier: { type: "m.id.user", user: localpart(anna.username) }, password: anna.password + "x" } });
  assert.equal(wrong.status, 403);
});

test("a second import changes nothing", async () => {
  const db = join(server.dir, "data", "lotse.db");
  const before = sqlite(db, "SELECT count(*) FROM events") + sqlite(db, "SELECT count(*) FROM users") + sqlite(db, "SELECT count(*) FROM media");
  const again = await importInto(server, state);
  assert.deepEqual(again.done, {});
  const afterCount = sqlite(db, "SELECT count(*) FROM events") + sqlite(db, "SELECT count(*) FROM users") + sqlite(db, "SELECT count(*) FROM media");
  assert.equal(afterCount, before);
});

// Per imported room, its events as (type, state_key, sender, time) in order: what two imports of the
// same export must agree on (the ciphertexts differ: every run encrypts with fresh Megolm sessions).
function shape(server) {
  const db = join(server.dir, "data", "lotse.db");
  return sqlite(db, "SELECT i.import_id, e.type, coalesce(e.state_key, '-'), e.sender, e.origin_server_ts, " +
    "(e.redacted_by IS NOT NULL) FROM events e JOIN imported_rooms i ON i.room_id = e.room_id " +
    "ORDER BY i.import_id, e.stream_ordering").split("\n").map((l) => l.replace(/!.*?:localhost/g, "!room"))
    // what the import itself does now (making a stopped chat read-only) carries the time of the run
    .map((l) => l.replace(/\|(\d{13})\|/, (m, ts) => (Number(ts) > Date.now() - 86400000 ? "|during the import|" : m)));
}
const eventCount = (server) => Number(sqlite(join(server.dir, "data", "lotse.db"), "SELECT count(*) FROM events") || 0);

test("an import killed twice on the way and run again ends identical to a clean one", async () => {
  const killed = await startServer();
  servers.push(killed);
  const st = join(work, "killed.db");
  for (const at of [300, 1500]) {
    const child = spawn(BRIDGE, ["import", "--export", EXPORT, "--secrets", SECRETS, "--server", killed.baseUrl,
      "--token", killed.admin.accessToken, "--state", st, "--json"], { stdio: "ignore" });
    const closed = new Promise((r) => child.on("close", (code, signal) => r(signal ?? code)));
    await waitFor(() => eventCount(killed) > at, `${at} events`, 60000);
    child.kill("SIGKILL");
    assert.equal(await closed, "SIGKILL", "killed before it finished");
  }
  const rest = await importInto(killed, st);
  assert.ok(rest.done.messages > 0, "the third run completes what the killed ones left");
  assert.deepEqual(shape(killed), shape(server));
  const accounts = (s) => sqlite(join(s.dir, "data", "lotse.db"), "SELECT user_id, role, imported, deactivated FROM users WHERE imported = 1 ORDER BY user_id");
  assert.equal(accounts(killed), accounts(server));
  const list = async (s) => (await api(s, "GET", "/_lotse/admin/v1/consultations", { token: s.admin.accessToken })).body.consultations
    .map(({ room_id, ...c }) => JSON.stringify(c)).sort();
  assert.deepEqual(await list(killed), await list(server));
});

test("the server's database holds no imported plaintext", () => {
  const db = readFileSync(join(server.dir, "data", "lotse.db"));
  const wal = existsSync(join(server.dir, "data", "lotse.db-wal")) ? readFileSync(join(server.dir, "data", "lotse.db-wal")) : Buffer.alloc(0);
  const haystack = Buffer.concat([db, wal]);
  let checked = 0;
  for (const room of expectedRooms())
    for (const m of room.messages) {
      const text = m.type === "e2e" ? m.e2e?.plaintext : m.body;
      if (!text || text.length < 12 || m.type === "system") continue;
      assert.equal(haystack.indexOf(Buffer.from(text, "utf8")), -1, `plaintext of ${m.id} found in the database`);
      checked++;
    }
  assert.ok(checked > 900, `checked ${checked} texts`);
  // Nor the bytes of an attachment.
  const someFile = readFileSync(join(EXPORT, "uploads", "5txzbC39rEMyvCiuM.jpg"));
  assert.equal(haystack.indexOf(someFile.subarray(100, 164)), -1);
});

test("imported history was read in the old system: it neither counts as unread nor pushes", () => {
  const imported = Number(sqlite(join(server.dir, "data", "lotse.db"), "SELECT count(*) FROM events WHERE type = 'm.room.encrypted'").trim());
  assert.ok(imported > 1000, `${imported} imported messages`);
  assert.equal(sqlite(join(server.dir, "data", "lotse.db"), "SELECT count(*) FROM event_push_actions").trim(), "0");
});

test("members who sign in on a new device read every imported message, decrypted, in order, with identical attachments", async () => {
  const matrix = await sdk();
  const serve = spawn(BRIDGE, ["serve", "--server", server.baseUrl, "--state", state, "--interval", "1"],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LOTSE_ADMIN_TOKEN: server.admin.accessToken } });
  let serveLog = "";
  serve.stderr.on("data", (d) => { serveLog += d; });
  try {
    const rooms = expectedRooms();
    // Readers: every counselor (between them members of every room) and the seekers of the
    // end-to-end encrypted consultations.
    const readers = new Map();
    for (const room of rooms) {
      const member = room.members.map((rc) => byRc.get(rc)).find((u) => u && u.kind === "consultant" && u.enabled) ??
        room.members.map((rc) => byRc.get(rc)).find((u) => u && u.enabled);
      assert.ok(member, `a member who can sign in for ${room.old}`);
      if (!readers.has(member.id)) readers.set(member.id, { user: member, rooms: [] });
      readers.get(member.id).rooms.push(room);
    }
    for (const sid of answers.edge_cases.e2e_sessions_with_tmp_key) {
      const s = answers.sessions.find((x) => x.session_id === sid);
      const seeker = people.find((u) => u.id === s.seeker.id);
      readers.set(seeker.id, { user: seeker, rooms: rooms.filter((r) => r.old === s.room.rc_group_id) });
    }
    const roomIds = new Map();
    const list = sqlite(join(server.dir, "data", "lotse.db"), "SELECT import_id, room_id FROM imported_rooms");
    for (const line of list.trim().split("\n")) { const [imp, rid] = line.split("|"); roomIds.set(imp.slice(3), rid); }

    let compared = 0, files = 0;
    for (const { user, rooms: theirRooms } of readers.values()) {
      const name = localpart(user.username);
      const password = user.kind === "asker" ? (await deriveKeys(name, user.password, 1000)).loginSecret : user.password;
      const res = await api(server, "POST", "/_matrix/client/v3/login", {
        body: { type: "m.login.password", identifier: { type: "m.id.user", user: name }, password, initial_device_display_name: "new phone" } });
      assert.equal(res.status, 200, `${user.username}: ${JSON.stringify(res.body)}`);
      const client = await startCryptoClient(server, { userId: res.body.user_id, accessToken: res.body.access_token, deviceId: res.body.device_id });
      try {
        for (const room of theirRooms) {
          const roomId = roomIds.get(room.old);
          assert.ok(roomId, `room ${room.old} was imported`);
          const events = await readRoom(matrix, server, client, res.body.access_token, roomId);
          compared += compareRoom(room, events, `${room.old} as ${user.username}`);
          files += await compareFiles(server, res.body.access_token, room, events);
        }
      } finally {
        client.stopClient();
      }
    }
    assert.ok(compared > 1200, `compared ${compared} messages`);
    assert.ok(files > 140, `compared ${files} attachments`);
    const status = JSON.parse((await bridge(["status", "--server", server.baseUrl, "--state", state, "--json"], { token: server.admin.accessToken })).stdout);
    assert.ok(status.keys_delivered > 0);
  } finally {
    serve.kill("SIGTERM");
    await new Promise((r) => serve.on("close", r));
  }
  assert.doesNotMatch(serveLog, /lotse-bridge: /, serveLog);
});

// The room's messages (m.room.message after decryption, redactions applied by the server), oldest
// first, once every encrypted one decrypts (serve delivers the keys meanwhile).
async function readRoom(matrix, server, client, token, roomId) {
  const raw = [];
  let from = "";
  for (;;) {
    const res = await api(server, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?dir=f&limit=500${from ? `&from=${from}` : ""}`, { token });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    raw.push(...res.body.chunk);
    if (!res.body.end || res.body.chunk.length === 0) break;
    from = encodeURIComponent(res.body.end);
  }
  const mapper = client.getEventMapper({ decrypt: false });
  return waitFor(async () => {
    const out = [];
    for (const r of raw) {
      if (r.type !== "m.room.encrypted" && r.type !== "m.room.message") continue;
      const ev = mapper(r);
      if (ev.isRedacted()) { out.push({ ev, content: {}, redacted: true }); continue; }
      await client.decryptEventIfNeeded(ev);
      if (ev.isDecryptionFailure()) return null;
      out.push({ ev, content: ev.getClearContent() ?? ev.getContent(), relates: ev.getWireContent()["m.relates_to"] });
    }
    return out;
  }, `keys for ${roomId}`, 30000);
}

function compareRoom(room, events, what) {
  // Edits arrive as m.replace events: fold them into their message, as a client shows it.
  const edits = new Map();
  const shown = [];
  for (const e of events) {
    if (e.relates?.rel_type === "m.replace") edits.set(e.relates.event_id, e.content["m.new_content"]);
    else shown.push(e);
  }
  const want = imported(room.messages);
  assert.equal(shown.length, want.length, `${what}: ${shown.length} messages, expected ${want.length}`);
  want.forEach((m, i) => {
    const { ev, content, redacted } = shown[i];
    const at = `${what}, message ${i} (${m.id}, ${m.type})`;
    assert.equal(ev.getTs(), Date.parse(m.ts), `${at}: original time`);
    const person = byRc.get(m.sender.rc_user_id);
    const fromService = ["system", "technical", "bot"].includes(m.sender.kind) || ["alias"].includes(m.type) || (m.type === "system");
    if (!fromService && person) assert.equal(ev.getSender(), userId(person.username), `${at}: sender`);
    else assert.equal(ev.getSender(), "@lotse:localhost", `${at}: service user`);
    const final = edits.get(ev.getId()) ?? content;
    switch (m.type) {
      case "text":
      case "forward":
      case "bot":
        assert.equal(final.body, m.body, at);
        // The text before an edit survives only where the export kept a history copy of it.
        if (m.original_body && editedWithCopy.has(m.id)) assert.equal(content.body, m.original_body, `${at}: the text before the edit`);
        break;
      case "alias":
        assert.equal(content.msgtype, "m.notice", at);
        assert.equal(content["de.lotse.notice"], m.message_type, at);
        break;
      case "system":
        assert.equal(content.msgtype, "m.notice", at);
        break;
      case "deleted":
        assert.ok(redacted, `${at}: redacted`);
        break;
      case "e2e":
        if (m.e2e.recoverable_via_tmp_key) assert.equal(content.body, m.e2e.plaintext, at);
        else assert.equal(content["de.lotse.legacy_e2e"], true, `${at}: placeholder`);
        break;
      case "file":
      case "e2e_file":
        break;  // compareFiles
      default:
        assert.fail(`${at}: unknown type`);
    }
  });
  return want.length;
}

async function compareFiles(server, token, room, events) {
  const edits = new Set(events.filter((e) => e.relates?.rel_type === "m.replace").map((e) => e.ev.getId()));
  const shown = events.filter((e) => !edits.has(e.ev.getId()) && e.relates?.rel_type !== "m.replace");
  const want = imported(room.messages);
  let n = 0;
  for (let i = 0; i < want.length; i++) {
    const m = want[i];
    if (m.type !== "file" && m.type !== "e2e_file") continue;
    const content = shown[i].content;
    const a = m.attachment;
    const missing = answers.edge_cases.uploads_with_missing_file.includes(a.upload_id);
    if (missing) { assert.equal(content["de.lotse.notice"], "FILE_MISSING"); continue; }
    if (m.type === "e2e_file" && !m.e2e.recoverable_via_tmp_key) { assert.equal(content["de.lotse.legacy_e2e"], true); continue; }
    assert.equal(content.filename ?? content.body, a.name, `${m.id}: file name`);
    assert.equal(content.info.mimetype, a.type);
    if (a.kind === "voice") {
      assert.equal(content.msgtype, "m.audio");
      if (a.duration_ms) assert.ok(Math.abs(content.info.duration - a.duration_ms) <= 60, `${m.id}: duration ${content.info.duration} ~ ${a.duration_ms}`);
    }
    if (a.kind === "image") assert.equal(content.msgtype, "m.image");
    const [serverName, mediaId] = content.file.url.slice("mxc://".length).split("/");
    const res = await fetch(`${server.baseUrl}/_matrix/client/v1/media/download/${serverName}/${mediaId}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const bytes = await decryptAttachment(Buffer.from(await res.arrayBuffer()), content.file);
    const sha = createHash("sha256").update(bytes).digest("hex");
    assert.equal(sha, m.type === "e2e_file" ? a.plaintext_sha256 : a.sha256, `${m.id}: bytes`);
    n++;
  }
  return n;
}

async function decryptAttachment(ciphertext, file) {
  const hash = createHash("sha256").update(ciphertext).digest("base64").replace(/=+$/, "");
  assert.equal(hash, file.hashes.sha256);
  const key = await crypto.subtle.importKey("jwk", file.key, { name: "AES-CTR" }, false, ["decrypt"]);
  const iv = Buffer.from(file.iv, "base64");
  return Buffer.from(await crypto.subtle.decrypt({ name: "AES-CTR", counter: iv, length: 64 }, key, ciphertext));
}

test("keys follow Lotse's membership too: a counselor who handed a consultation over gets none of its keys on a new device", async () => {
  const token = server.admin.accessToken;
  const list = (await api(server, "GET", "/_lotse/admin/v1/consultations?status=open", { token })).body.consultations;
  const c = list.find((x) => list.some((y) => y.counselor === x.counselor && y.room_id !== x.room_id));
  const other = people.find((u) => u.kind === "consultant" && u.enabled && userId(u.username) !== c.counselor);
  const from = people.find((u) => userId(u.username) === c.counselor);
  const moved = await api(server, "POST", `/_lotse/admin/v1/consultations/${encodeURIComponent(c.room_id)}/transfer`, { token, body: { to: userId(other.username) } });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  const serve = spawn(BRIDGE, ["serve", "--server", server.baseUrl, "--state", state, "--interval", "1"],
    { stdio: "ignore", env: { ...process.env, LOTSE_ADMIN_TOKEN: token } });
  try {
    const login = await api(server, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password",
      identifier: { type: "m.id.user", user: localpart(from.username) }, password: from.password } });
    assert.equal(login.status, 200);
    const client = await startCryptoClient(server, { userId: login.body.user_id, accessToken: login.body.access_token, deviceId: login.body.device_id });
    client.stopClient();
    const device = login.body.device_id;
    const q = (sql) => Number(sqlite(state, sql) || 0);
    const esc = (v) => v.replaceAll("'", "''");
    // Her other consultations' keys arrive ...
    await waitFor(() => q(`SELECT count(*) FROM delivered WHERE user_id = '${esc(c.counselor)}' AND device_id = '${esc(device)}'`) > 0, "keys for her other rooms", 30000);
    // ... and a few rounds later still none of the handed-over one.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(q(`SELECT count(*) FROM delivered d JOIN megolm_keys k ON k.session_id = d.session_id WHERE d.user_id = '${esc(c.counselor)}' ` +
      `AND d.device_id = '${esc(device)}' AND k.room_id = '${esc(c.room_id)}'`), 0);
  } finally {
    serve.kill("SIGTERM");
    await new Promise((r) => serve.on("close", r));
  }
});

test("the cut-over night: a second import of a newer export brings only what is new, into the rooms made before", async () => {
  const night = await startServer();
  servers.push(night);
  const copy = join(work, "export-cutover");
  cpSync(EXPORT, copy, { recursive: true });
  const st = join(work, "cutover.db");
  await importInto(night, st, [], copy);
  // A week later: one more message in a consultation, one more counselor in a feedback room.
  const room = "WmGgkxbgHncH2zXK7", feedback = "KAkognCrwCkFahA7r", weber = "7dam5iqP4hrbvbLWz";
  const ts = "2025-07-01T10:00:00.000Z";
  appendFileSync(join(copy, "mongo", "rocketchat_message.json"), JSON.stringify({ _id: "DeltaNewMessage01", rid: room, ts: { $date: ts },
    u: { _id: weber, username: "x", name: "Jonas Weber" }, msg: "Neu seit der Probe" }) + "\n");
  appendFileSync(join(copy, "mongo", "rocketchat_subscription.json"), JSON.stringify({ _id: "DeltaSubscript001", rid: feedback,
    u: { _id: weber, username: "x" }, ts: { $date: ts }, ls: { $date: ts } }) + "\n");
  const db = join(night.dir, "data", "lotse.db");
  const before = Number(sqlite(db, "SELECT count(*) FROM events"));
  const delta = (await importInto(night, st, [], copy)).done;
  assert.deepEqual(delta, { messages: 1, room_members_added: 1, read_markers: delta.read_markers ?? 0 }, JSON.stringify(delta));
  const roomId = sqlite(db, `SELECT room_id FROM imported_rooms WHERE import_id = 'rc:${room}'`).trim();
  assert.equal(sqlite(db, `SELECT count(*) FROM events WHERE room_id = '${roomId}' AND origin_server_ts = ${Date.parse(ts)} AND type = 'm.room.encrypted'`).trim(), "1");
  const fbId = sqlite(db, `SELECT room_id FROM imported_rooms WHERE import_id = 'rc:${feedback}'`).trim();
  assert.equal(sqlite(db, `SELECT membership FROM memberships WHERE room_id = '${fbId}' AND user_id = '@j.weber:localhost'`).trim(), "join");
  // Invite and join of the new member, the message, and read markers are all the night added.
  assert.ok(Number(sqlite(db, "SELECT count(*) FROM events")) - before <= 3 + 1);
  assert.deepEqual((await importInto(night, st, [], copy)).done, {}, "and a third run nothing");
});

// Last but one: it adds events to the imported rooms the tests above compare.
test("the import API refuses what would break its rules (plaintext, others' events, wrong rooms, reserved names)", async () => {
  const token = server.admin.accessToken;
  const db = join(server.dir, "data", "lotse.db");
  const rows = sqlite(db, "SELECT import_id, room_id, kind FROM imported_rooms").trim().split("\n").map((l) => l.split("|"));
  const [, consultation] = rows.find((r) => r[2] === "consultation");
  const members = (await api(server, "GET", `/_lotse/admin/v1/import/rooms/${encodeURIComponent(consultation)}/members`, { token })).body.members;
  const seeker = members.find((m) => sqlite(db, `SELECT role FROM users WHERE user_id = '${m.replaceAll("'", "''")}'`).trim() === "seeker");
  const counselor = members.find((m) => sqlite(db, `SELECT role FROM users WHERE user_id = '${m.replaceAll("'", "''")}'`).trim() === "counselor");
  const send = (room, txn, body) => api(server, "PUT", `/_lotse/admin/v1/import/rooms/${encodeURIComponent(room)}/events/${txn}`, { token, body });
  const megolm = { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgAEnACabc", sender_key: "k", session_id: "s", device_id: "d" };
  const ts = Date.parse("2024-01-01T00:00:00Z");

  // Plaintext riding along in an "encrypted" event, or no ciphertext at all.
  let r = await send(consultation, "t1", { sender: seeker, ts, type: "m.room.encrypted", content: { ...megolm, body: "Klartext" } });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  r = await send(consultation, "t2", { sender: seeker, ts, type: "m.room.message", content: { msgtype: "m.text", body: "Klartext" } });
  assert.equal(r.status, 400);
  r = await send(consultation, "t3", { sender: seeker, ts, type: "m.room.encrypted", content: { ...megolm, ciphertext: { no: "string" } } });
  assert.equal(r.status, 400);
  // A redaction of state (m.room.encryption: the room would turn unencrypted) or of another's message.
  const encryption = sqlite(db, `SELECT event_id FROM events WHERE room_id = '${consultation}' AND type = 'm.room.encryption'`).trim();
  r = await send(consultation, "t4", { sender: "@lotse:localhost", ts, type: "m.room.redaction", content: { redacts: encryption } });
  assert.equal(r.status, 403, JSON.stringify(r.body));
  const seekersMessage = sqlite(db, `SELECT event_id FROM events WHERE room_id = '${consultation}' AND type = 'm.room.encrypted' AND sender = '${seeker.replaceAll("'", "''")}' LIMIT 1`).trim();
  r = await send(consultation, "t5", { sender: counselor, ts, type: "m.room.redaction", content: { redacts: seekersMessage, reason: "x" } });
  assert.equal(r.status, 403);
  // A transaction id of one room reused in another.
  r = await send(consultation, "t6", { sender: counselor, ts, type: "m.room.encrypted", content: megolm });
  assert.equal(r.status, 200);
  const [, otherConsultation] = rows.find((x) => x[2] === "consultation" && x[1] !== consultation &&
    sqlite(db, `SELECT membership FROM memberships WHERE room_id = '${x[1]}' AND user_id = '${counselor.replaceAll("'", "''")}'`).trim() === "join") ?? [];
  assert.ok(otherConsultation, "the counselor has a second consultation");
  r = await send(otherConsultation, "t6", { sender: counselor, ts, type: "m.room.encrypted", content: megolm });
  assert.equal(r.status, 409, JSON.stringify(r.body));
  // A seeker in a counselors-only room, a non-imported account anywhere, a live room.
  r = await api(server, "PUT", "/_lotse/admin/v1/import/rooms/rc:attack1", { token,
    body: { kind: "counselors", name: "x", created_ts: ts, members: [seeker, counselor] } });
  assert.equal(r.status, 403, JSON.stringify(r.body));
  r = await api(server, "PUT", "/_lotse/admin/v1/import/rooms/rc:attack2", { token,
    body: { kind: "group", name: "x", created_ts: ts, members: [server.admin.userId] } });
  assert.equal(r.status, 400);
  const live = (await api(server, "POST", "/_matrix/client/v3/createRoom", { token, body: { name: "live" } })).body.room_id;
  r = await send(live, "t7", { sender: "@lotse:localhost", ts, type: "m.room.encrypted", content: megolm });
  assert.equal(r.status, 403);
  // Work factors that would stall logins.
  r = await api(server, "PUT", "/_lotse/admin/v1/import/users/slowhash", { token,
    body: { role: "seeker", created_ts: ts, password: { algorithm: "bcrypt", hash: "$2b$31$qrdzH3r7CrYm7e1U1gl0ZOdDLfdI2gYcH7sSJtcHAVUCSmqhkhmPq" } } });
  assert.equal(r.status, 400);
  // The bridge's name and the import's device id are reserved; the bridge's account creates nothing.
  r = await api(server, "POST", "/_matrix/client/v3/register", { body: { username: "lotse-bridge", password: "x".repeat(12), auth: { type: "m.login.dummy" } } });
  assert.equal(r.body.errcode, "M_EXCLUSIVE");
  const someone = people.find((u) => u.kind === "consultant" && u.enabled);
  r = await api(server, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password",
    identifier: { type: "m.id.user", user: localpart(someone.username) }, password: someone.password, device_id: "lotse-bridge-import" } });
  assert.equal(r.status, 400);
  const bridgeToken = (await api(server, "POST", "/_lotse/admin/v1/import/bridge-device", { token, body: {} })).body.access_token;
  r = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: bridgeToken, body: { name: "x" } });
  assert.equal(r.status, 403);
  // Without an admin token the import API is closed.
  assert.equal((await api(server, "PUT", `/_lotse/admin/v1/import/rooms/${encodeURIComponent(consultation)}/events/t9`, { token: bridgeToken,
    body: { sender: seeker, ts, type: "m.room.encrypted", content: megolm } })).status, 403);
});

test("e-mail is kept only where it was real; export shows it and the second factor's kind, erasure removes both", async () => {
  const db = join(server.dir, "data", "lotse.db");
  assert.equal(sqlite(db, "SELECT count(*) FROM users WHERE email LIKE '%dummy%'").trim(), "0");
  const withMail = people.filter((u) => u.email).length;
  assert.equal(Number(sqlite(db, "SELECT count(*) FROM users WHERE email IS NOT NULL")), withMail);
  const melnyk = people.find((u) => u.two_factor);
  const id = userId(melnyk.username);
  const token = server.admin.accessToken;
  const exported = await api(server, "GET", `/_lotse/admin/v1/users/${encodeURIComponent(id)}/export`, { token });
  assert.equal(exported.status, 200);
  assert.equal(exported.body.account.email, melnyk.email);
  assert.equal(exported.body.account.second_factor, "totp");
  assert.equal(exported.body.account.imported_from_old_system, true);
  const secret = sqlite(db, `SELECT details FROM imported_second_factors WHERE user_id = '${id}'`);
  assert.match(secret, /"secret"/);
  assert.ok(!JSON.stringify(exported.body).includes(JSON.parse(secret).secret), "the TOTP secret is not exported");
  const erased = await api(server, "POST", `/_lotse/admin/v1/users/${encodeURIComponent(id)}/erase`, { token, body: {} });
  assert.equal(erased.status, 200, JSON.stringify(erased.body));
  assert.equal(sqlite(db, `SELECT coalesce(email, 'none') FROM users WHERE user_id = '${id}'`).trim(), "none");
  assert.equal(sqlite(db, `SELECT count(*) FROM imported_second_factors WHERE user_id = '${id}'`).trim(), "0");
});

test("a state file from one instance is refused by another instead of silently importing nothing", async () => {
  const other = await startServer();
  servers.push(other);
  const r = await bridge(["import", "--export", EXPORT, "--secrets", SECRETS, "--server", other.baseUrl, "--token", other.admin.accessToken,
    "--state", state, "--json"], { allowFail: true });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /belongs to another Lotse instance/);
  assert.equal(Number(sqlite(join(other.dir, "data", "lotse.db"), "SELECT count(*) FROM users WHERE imported = 1")), 0);
});

test("the import's files are neither rate-limited nor held to the per-user media quota", async () => {
  const strict = await startServer({ rateLimits: true, extraConfig: "[media]\nuser_quota = 10000" });
  servers.push(strict);
  const done = (await importInto(strict, join(work, "strict.db"))).done;
  assert.equal(done.files, 152);
  // A counselor is still held to the quota.
  const c = await api(strict, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password",
    identifier: { type: "m.id.user", user: "h.almasri" }, password: people.find((u) => u.username === "h.almasri").password } });
  const big = await api(strict, "POST", "/_matrix/media/v3/upload", { token: c.body.access_token, raw: Buffer.alloc(20000, 1),
    headers: { "Content-Type": "application/octet-stream" } });
  assert.equal(big.status, 403);
  assert.equal(big.body.errcode, "M_RESOURCE_LIMIT_EXCEEDED");
});

test("a hostile export cannot run SQL beyond tables and rows, nor smuggle files in through links", async () => {
  const evil = join(work, "evil-export");
  cpSync(EXPORT, evil, { recursive: true });
  const target = join(work, "written-by-the-dump.db");
  const sql = join(evil, "mariadb", "userservice.sql");
  const clean = readFileSync(sql, "utf8");
  for (const stmt of [`ATTACH DATABASE '${target}' AS x; CREATE TABLE x.t (a);`, "CREATE TRIGGER t AFTER INSERT ON user BEGIN SELECT 1; END;",
    "CREATE VIEW v AS SELECT 1;", "PRAGMA writable_schema = 1;", "SELECT load_extension('/tmp/x.so');"]) {
    writeFileSync(sql, clean);
    appendFileSync(sql, "\n" + stmt + "\n");
    const r = await bridge(["plan", "--export", evil, "--json"], { allowFail: true });
    assert.equal(r.status, 1, `refused: ${stmt}`);
    assert.match(r.stderr, /userservice\.sql/);
  }
  assert.equal(existsSync(target), false, "ATTACH wrote nothing");
  // An upload that is a link to a secret is not followed.
  writeFileSync(sql, clean);
  const secret = join(work, "secret.txt");
  writeFileSync(secret, "the bridge's key file");
  const upload = join(evil, "uploads", "5txzbC39rEMyvCiuM.jpg");
  unlinkSync(upload);
  symlinkSync(secret, upload);
  const report = JSON.parse((await bridge(["plan", "--export", evil, "--secrets", SECRETS, "--json"])).stdout);
  assert.ok(report.problems.some((p) => p.kind === "upload-not-a-file" && p.old_id === "5txzbC39rEMyvCiuM"));
});

test("closing the import ends the migration period: the import API refuses everything and the bridge's device is gone", async () => {
  const token = server.admin.accessToken;
  const bridgeToken = (await api(server, "POST", "/_lotse/admin/v1/import/bridge-device", { token, body: {} })).body.access_token;
  assert.equal((await api(server, "GET", "/_matrix/client/v3/account/whoami", { token: bridgeToken })).status, 200);
  const r = await bridge(["close", "--server", server.baseUrl], { token });
  assert.match(r.stdout, /closed/);
  assert.equal((await api(server, "GET", "/_matrix/client/v3/account/whoami", { token: bridgeToken })).status, 401);
  const again = await importInto(server, join(work, "after-close.db")).catch((e) => e);
  assert.match(String(again.message), /closed/);
  for (const [method, path] of [["PUT", "/_lotse/admin/v1/import/users/someone"], ["POST", "/_lotse/admin/v1/import/bridge-device"],
    ["POST", "/_lotse/admin/v1/import/close"]]) {
    const res = await api(server, method, path, { token, body: {} });
    assert.equal(res.status, 403, `${method} ${path}`);
  }
  // The rest of the admin API goes on.
  assert.equal((await api(server, "GET", "/_lotse/admin/v1/consultations", { token })).status, 200);
});
