// Accounts and per-user endpoints: devices, password change, deactivation, profiles, user directory,
// push rules, discovery and capabilities, the legacy r0 prefix.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, register, api } from "./harness.mjs";

const enc = encodeURIComponent;
let server;
before(async () => { server = await startServer({ topConfig: `public_baseurl = "https://beratung.example"` }); });
after(async () => { await server.stop(); server.cleanup(); });

const login = (user, password, extra = {}) => api(server, "POST", "/_matrix/client/v3/login", {
  body: { type: "m.login.password", identifier: { type: "m.id.user", user }, password, ...extra },
});

test("discovery: versions, well-known, login flows, capabilities", async () => {
  const v = await api(server, "GET", "/_matrix/client/versions");
  assert.ok(v.body.versions.includes("v1.1"));
  assert.ok(v.body.versions.includes("v1.11"), "authenticated media");
  assert.ok(!v.body.versions.includes("v1.13") && !v.body.versions.includes("v1.15"));
  assert.ok(!("org.matrix.simplified_msc3575" in v.body.unstable_features));
  const wk = await api(server, "GET", "/.well-known/matrix/client");
  assert.deepEqual(wk.body, { "m.homeserver": { base_url: "https://beratung.example" } });
  const flows = await api(server, "GET", "/_matrix/client/v3/login");
  assert.deepEqual(flows.body.flows, [{ type: "m.login.password" }]);
  const alice = await register(server);
  const caps = await api(server, "GET", "/_matrix/client/v3/capabilities", { token: alice.accessToken });
  assert.equal(caps.body.capabilities["m.room_versions"].default, "11");
  assert.equal(caps.body.capabilities["m.room_versions"].available["10"], "stable");
  assert.deepEqual((await api(server, "GET", "/_matrix/client/v3/voip/turnServer", { token: alice.accessToken })).body, {});
  assert.deepEqual((await api(server, "GET", "/_matrix/client/v3/thirdparty/protocols", { token: alice.accessToken })).body, {});
});

test("devices: list, rename, delete with user-interactive auth", async () => {
  const alice = await register(server);
  const second = await login(alice.username, alice.password, { initial_device_display_name: "Dienst-PC" });
  assert.equal(second.status, 200);
  const list = await api(server, "GET", "/_matrix/client/v3/devices", { token: alice.accessToken });
  assert.equal(list.body.devices.length, 2);
  assert.equal(list.body.devices.find((d) => d.device_id === second.body.device_id).display_name, "Dienst-PC");
  await api(server, "PUT", `/_matrix/client/v3/devices/${second.body.device_id}`, { token: alice.accessToken, body: { display_name: "Büro" } });
  assert.equal((await api(server, "GET", `/_matrix/client/v3/devices/${second.body.device_id}`, { token: alice.accessToken })).body.display_name, "Büro");

  // Without any body (no JSON at all) the first step is the same challenge.
  const bare = await api(server, "DELETE", `/_matrix/client/v3/devices/${second.body.device_id}`, { token: alice.accessToken });
  assert.equal(bare.status, 401, JSON.stringify(bare.body));
  assert.deepEqual(bare.body.flows, [{ stages: ["m.login.password"] }]);
  const challenge = await api(server, "DELETE", `/_matrix/client/v3/devices/${second.body.device_id}`, { token: alice.accessToken, body: {} });
  assert.equal(challenge.status, 401);
  assert.deepEqual(challenge.body.flows, [{ stages: ["m.login.password"] }]);
  assert.ok(challenge.body.session);
  const wrong = await api(server, "DELETE", `/_matrix/client/v3/devices/${second.body.device_id}`, { token: alice.accessToken,
    body: { auth: { type: "m.login.password", identifier: { type: "m.id.user", user: alice.userId }, password: "nope", session: challenge.body.session } } });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.errcode, "M_FORBIDDEN");
  const done = await api(server, "DELETE", `/_matrix/client/v3/devices/${second.body.device_id}`, { token: alice.accessToken,
    body: { auth: { type: "m.login.password", identifier: { type: "m.id.user", user: alice.userId }, password: alice.password, session: challenge.body.session } } });
  assert.equal(done.status, 200);
  assert.equal((await api(server, "GET", "/_matrix/client/v3/account/whoami", { token: second.body.access_token })).body.errcode, "M_UNKNOWN_TOKEN");
  assert.equal((await api(server, "GET", "/_matrix/client/v3/devices", { token: alice.accessToken })).body.devices.length, 1);
});

test("logout and logout/all revoke tokens", async () => {
  const alice = await register(server);
  const other = await login(alice.username, alice.password);
  assert.equal((await api(server, "POST", "/_matrix/client/v3/logout", { token: alice.accessToken, body: {} })).status, 200);
  assert.equal((await api(server, "GET", "/_matrix/client/v3/account/whoami", { token: alice.accessToken })).status, 401);
  assert.equal((await api(server, "GET", "/_matrix/client/v3/account/whoami", { token: other.body.access_token })).status, 200);
  const third = await login(alice.username, alice.password);
  await api(server, "POST", "/_matrix/client/v3/logout/all", { token: third.body.access_token, body: {} });
  assert.equal((await api(server, "GET", "/_matrix/client/v3/account/whoami", { token: other.body.access_token })).status, 401);
});

test("password change logs out other devices; the new password works, the old does not", async () => {
  const alice = await register(server);
  const other = await login(alice.username, alice.password);
  const auth = { type: "m.login.password", identifier: { type: "m.id.user", user: alice.username }, password: alice.password };
  const res = await api(server, "POST", "/_matrix/client/v3/account/password", { token: alice.accessToken, body: { new_password: "neues Passwort", auth } });
  assert.equal(res.status, 200);
  assert.equal((await api(server, "GET", "/_matrix/client/v3/account/whoami", { token: other.body.access_token })).status, 401);
  assert.equal((await api(server, "GET", "/_matrix/client/v3/account/whoami", { token: alice.accessToken })).status, 200);
  assert.equal((await login(alice.username, alice.password)).status, 403);
  assert.equal((await login(alice.username, "neues Passwort")).status, 200);
});

test("deactivation leaves rooms and blocks login", async () => {
  const [alice, bob] = [await register(server), await register(server)];
  const { body: { room_id: roomId } } = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { preset: "public_chat" } });
  await api(server, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} });
  const auth = { type: "m.login.password", identifier: { type: "m.id.user", user: bob.userId }, password: bob.password };
  const res = await api(server, "POST", "/_matrix/client/v3/account/deactivate", { token: bob.accessToken, body: { auth } });
  assert.equal(res.status, 200);
  const members = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`, { token: alice.accessToken });
  assert.deepEqual(Object.keys(members.body.joined), [alice.userId]);
  const again = await login(bob.username, bob.password);
  assert.equal(again.status, 403);
  assert.equal(again.body.errcode, "M_USER_DEACTIVATED");
  assert.equal((await api(server, "GET", `/_matrix/client/v3/profile/${enc(bob.userId)}`, { token: alice.accessToken })).status, 404);
});

test("profiles update room memberships; the directory finds people who share a room", async () => {
  const [alice, bob, stranger] = [await register(server), await register(server), await register(server)];
  const { body: { room_id: roomId } } = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { invite: [bob.userId] } });
  await api(server, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: bob.accessToken, body: {} });
  await api(server, "PUT", `/_matrix/client/v3/profile/${enc(bob.userId)}/displayname`, { token: bob.accessToken, body: { displayname: "Beraterin Aylin" } });
  assert.deepEqual((await api(server, "GET", `/_matrix/client/v3/profile/${enc(bob.userId)}/displayname`, { token: alice.accessToken })).body, { displayname: "Beraterin Aylin" });
  const member = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(bob.userId)}`, { token: alice.accessToken });
  assert.equal(member.body.displayname, "Beraterin Aylin");
  assert.equal((await api(server, "PUT", `/_matrix/client/v3/profile/${enc(alice.userId)}/displayname`, { token: bob.accessToken, body: { displayname: "x" } })).status, 403);

  const found = await api(server, "POST", "/_matrix/client/v3/user_directory/search", { token: alice.accessToken, body: { search_term: "aylin" } });
  assert.deepEqual(found.body.results.map((r) => r.user_id), [bob.userId]);
  assert.equal(found.body.results[0].display_name, "Beraterin Aylin");
  const none = await api(server, "POST", "/_matrix/client/v3/user_directory/search", { token: stranger.accessToken, body: { search_term: "aylin" } });
  assert.deepEqual(none.body.results, []);
});

test("push rules: spec defaults, edits read back, server defaults protected", async () => {
  const alice = await register(server);
  const rules = (await api(server, "GET", "/_matrix/client/v3/pushrules/", { token: alice.accessToken })).body;
  const ids = rules.global.override.map((r) => r.rule_id);
  assert.equal(ids[0], ".m.rule.master");
  assert.ok(ids.includes(".m.rule.is_user_mention") && ids.includes(".m.rule.is_room_mention"));
  assert.ok(rules.global.underride.some((r) => r.rule_id === ".m.rule.encrypted_room_one_to_one"));
  const invite = rules.global.override.find((r) => r.rule_id === ".m.rule.invite_for_me");
  assert.equal(invite.conditions.find((c) => c.key === "state_key").pattern, alice.userId);

  const base = `/_matrix/client/v3/pushrules/global`;
  await api(server, "PUT", `${base}/override/.m.rule.master/enabled`, { token: alice.accessToken, body: { enabled: true } });
  assert.deepEqual((await api(server, "GET", `${base}/override/.m.rule.master/enabled`, { token: alice.accessToken })).body, { enabled: true });
  await api(server, "PUT", `${base}/underride/.m.rule.message/actions`, { token: alice.accessToken, body: { actions: [] } });
  assert.deepEqual((await api(server, "GET", `${base}/underride/.m.rule.message/actions`, { token: alice.accessToken })).body, { actions: [] });
  const added = await api(server, "PUT", `${base}/room/${enc("!r:localhost")}`, { token: alice.accessToken, body: { actions: ["dont_notify"] } });
  assert.equal(added.status, 200);
  assert.equal((await api(server, "GET", `${base}/room/${enc("!r:localhost")}`, { token: alice.accessToken })).body.actions[0], "dont_notify");
  assert.equal((await api(server, "DELETE", `${base}/override/.m.rule.master`, { token: alice.accessToken })).status, 400);
  assert.equal((await api(server, "DELETE", `${base}/room/${enc("!r:localhost")}`, { token: alice.accessToken })).status, 200);
  assert.equal((await api(server, "GET", `${base}/room/${enc("!r:localhost")}`, { token: alice.accessToken })).status, 404);
});

test("the legacy r0 prefix answers like v3", async () => {
  const alice = await register(server);
  const r0 = await api(server, "GET", "/_matrix/client/r0/account/whoami", { token: alice.accessToken });
  assert.equal(r0.body.user_id, alice.userId);
  const room = await api(server, "POST", "/_matrix/client/r0/createRoom", { token: alice.accessToken, body: {} });
  assert.equal(room.status, 200);
  const s = await api(server, "GET", "/_matrix/client/r0/sync", { token: alice.accessToken });
  assert.ok(s.body.rooms.join[room.body.room_id]);
});

test("a per-room display name is set through PUT state m.room.member", async () => {
  const alice = await register(server);
  const { body: { room_id: roomId } } = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: {} });
  const path = `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(alice.userId)}`;
  assert.equal((await api(server, "PUT", path, { token: alice.accessToken, body: { membership: "join", displayname: "Frau Berger" } })).status, 200);
  assert.equal((await api(server, "GET", path, { token: alice.accessToken })).body.displayname, "Frau Berger");
  const ghost = `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc("@ghost:localhost")}`;
  assert.equal((await api(server, "PUT", ghost, { token: alice.accessToken, body: { membership: "invite" } })).status, 404);
  assert.equal((await api(server, "PUT", ghost, { token: alice.accessToken, body: { membership: "join" } })).status, 403);
});

test("registration without a username: the server picks a valid one, every time", async () => {
  for (let i = 0; i < 8; i++) {
    const first = await api(server, "POST", "/_matrix/client/v3/register", { body: { password: "correct horse battery" } });
    assert.equal(first.status, 401);
    const res = await api(server, "POST", "/_matrix/client/v3/register", {
      body: { password: "correct horse battery", auth: { type: "m.login.dummy", session: first.body.session } } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.match(res.body.user_id, /^@u[0-9a-f]{18}:localhost$/);
  }
});
