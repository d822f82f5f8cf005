// Every bad input gets a Matrix error with the right status, as JSON, with CORS headers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, register, api, waitFor } from "./harness.mjs";

let server, alice;
before(async () => {
  server = await startServer({ extraConfig: "[limits]\nmax_request_body = 65536" });
  alice = await register(server);
});
after(async () => { await server.stop(); server.cleanup(); });

function expectError(res, status, errcode) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.errcode, errcode, JSON.stringify(res.body));
  assert.equal(typeof res.body.error, "string");
  assert.match(res.headers.get("content-type"), /^application\/json/);
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
}

test("authentication errors", async () => {
  expectError(await api(server, "GET", "/_matrix/client/v3/account/whoami"), 401, "M_MISSING_TOKEN");
  expectError(await api(server, "GET", "/_matrix/client/v3/account/whoami", { token: "nope" }), 401, "M_UNKNOWN_TOKEN");
  const ok = await api(server, "GET", "/_matrix/client/v3/account/whoami", { token: alice.accessToken });
  assert.equal(ok.body.user_id, alice.userId);
  // The legacy query-parameter token works too.
  const q = await api(server, "GET", `/_matrix/client/r0/account/whoami?access_token=${alice.accessToken}`);
  assert.equal(q.body.user_id, alice.userId);
});

test("unknown endpoints and methods", async () => {
  expectError(await api(server, "GET", "/_matrix/client/v3/no/such/thing"), 404, "M_UNRECOGNIZED");
  expectError(await api(server, "DELETE", "/_matrix/client/v3/sync", { token: alice.accessToken }), 405, "M_UNRECOGNIZED");
  expectError(await api(server, "GET", "/_matrix/client/unstable/org.matrix.msc3814.v1/dehydrated_device", { token: alice.accessToken }), 404, "M_UNRECOGNIZED");
});

test("CORS preflight answers on every path without running the endpoint", async () => {
  const res = await fetch(server.baseUrl + "/_matrix/client/v3/createRoom", { method: "OPTIONS" });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("access-control-allow-origin"), "*");
  assert.match(res.headers.get("access-control-allow-methods"), /PUT/);
  assert.match(res.headers.get("access-control-allow-headers"), /Authorization/);
});

test("malformed bodies", async () => {
  expectError(await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, raw: "{not json" }), 400, "M_NOT_JSON");
  expectError(await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, raw: "[1,2]" }), 400, "M_BAD_JSON");
  expectError(await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { name: 5 } }), 400, "M_BAD_JSON");
  expectError(await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { room_version: "12" } }), 400, "M_UNSUPPORTED_ROOM_VERSION");
  const { body: { room_id: roomId } } = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: {} });
  const r = encodeURIComponent(roomId);
  expectError(await api(server, "PUT", `/_matrix/client/v3/rooms/${r}/send/m.room.message/f1`, { token: alice.accessToken, raw: '{"n": 1.5}' }), 400, "M_BAD_JSON");
  expectError(await api(server, "PUT", `/_matrix/client/v3/rooms/${r}/send/m.room.message/big`, { token: alice.accessToken, body: { body: "x".repeat(70000) } }), 413, "M_TOO_LARGE");
  // Under the request limit but over the 64 KiB event limit once signed.
  expectError(await api(server, "PUT", `/_matrix/client/v3/rooms/${r}/send/m.room.message/big2`, { token: alice.accessToken, body: { body: "x".repeat(65500) } }), 413, "M_TOO_LARGE");
  assert.equal((await api(server, "PUT", `/_matrix/client/v3/rooms/${r}/send/m.room.message/fits`, { token: alice.accessToken, body: { body: "x".repeat(60000) } })).status, 200);
  expectError(await api(server, "GET", `/_matrix/client/v3/sync?since=garbage`, { token: alice.accessToken }), 400, "M_INVALID_PARAM");
  // The server is still healthy after all of this.
  assert.equal((await api(server, "GET", "/health")).status, 200);
});

test("registration errors", async () => {
  expectError(await api(server, "POST", "/_matrix/client/v3/register", { body: { username: alice.username, password: "x" } }), 400, "M_USER_IN_USE");
  expectError(await api(server, "GET", `/_matrix/client/v3/register/available?username=${alice.username}`), 400, "M_USER_IN_USE");
  expectError(await api(server, "POST", "/_matrix/client/v3/register", { body: { username: "Bad Name!", password: "x" } }), 400, "M_INVALID_USERNAME");
  // The first step of the interactive authentication names the flows, password or not (spec "User-Interactive
  // Authentication API"); the step that completes it needs the password.
  const first = await api(server, "POST", "/_matrix/client/v3/register", { body: {} });
  assert.equal(first.status, 401, JSON.stringify(first.body));
  assert.deepEqual(first.body.flows, [{ stages: ["m.login.dummy"] }]);
  expectError(await api(server, "POST", "/_matrix/client/v3/register", { body: { username: "ohnepasswort", auth: { type: "m.login.dummy", session: first.body.session } } }), 400, "M_MISSING_PARAM");
  // The session remembers what the first request named; the completing one may leave it out. Names
  // are lowered ("Grossmann" becomes "grossmann") and sign in either way.
  const named = await api(server, "POST", "/_matrix/client/v3/register", { body: { username: "Grossmann", password: "lang-genug-123", inhibit_login: true } });
  assert.equal(named.status, 401);
  const done = await api(server, "POST", "/_matrix/client/v3/register", { body: { auth: { type: "m.login.dummy", session: named.body.session } } });
  assert.deepEqual(done.body, { user_id: "@grossmann:localhost", home_server: "localhost" }, "inhibit_login remembered too");
  for (const user of ["Grossmann", "grossmann", "@GROSSMANN:localhost"])
    assert.equal((await api(server, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", identifier: { type: "m.id.user", user }, password: "lang-genug-123" } })).status, 200, user);
  expectError(await api(server, "POST", "/_matrix/client/v3/register", { body: { auth: { type: "m.login.dummy", session: named.body.session } } }), 400, "M_MISSING_PARAM", "a completed session is forgotten");
  expectError(await api(server, "POST", "/_matrix/client/v3/register", { body: { username: "grossmann", password: "x", auth: { type: "m.login.dummy" } } }), 400, "M_USER_IN_USE");
  // A flood of first steps (at most 1000 are kept) makes the oldest forget its parameters, nothing more.
  const oldest = (await api(server, "POST", "/_matrix/client/v3/register", { body: { username: "flutopfer", password: "lang-genug-123" } })).body.session;
  for (let i = 0; i < 1000; i += 50)
    await Promise.all(Array.from({ length: 50 }, () => api(server, "POST", "/_matrix/client/v3/register", { body: { password: "flut" } })));
  expectError(await api(server, "POST", "/_matrix/client/v3/register", { body: { auth: { type: "m.login.dummy", session: oldest } } }), 400, "M_MISSING_PARAM", "forgotten");
  const again = await api(server, "POST", "/_matrix/client/v3/register", { body: { username: "flutopfer", password: "lang-genug-123", auth: { type: "m.login.dummy", session: oldest } } });
  assert.equal(again.status, 200, "registers when it names everything again");
  const avail = await api(server, "GET", "/_matrix/client/v3/register/available?username=freename");
  assert.deepEqual(avail.body, { available: true });
  const wrongPw = await api(server, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", identifier: { type: "m.id.user", user: alice.username }, password: "wrong" } });
  expectError(wrongPw, 403, "M_FORBIDDEN");
  const unknown = await api(server, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", identifier: { type: "m.id.user", user: "nobody" }, password: "x" } });
  expectError(unknown, 403, "M_FORBIDDEN");
});

test("rooms: forbidden and not found", async () => {
  const bob = await register(server);
  const { body: { room_id: roomId } } = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, body: { preset: "private_chat" } });
  const r = encodeURIComponent(roomId);
  expectError(await api(server, "POST", `/_matrix/client/v3/rooms/${r}/join`, { token: bob.accessToken, body: {} }), 403, "M_FORBIDDEN");
  expectError(await api(server, "PUT", `/_matrix/client/v3/rooms/${r}/send/m.room.message/t`, { token: bob.accessToken, body: { body: "hi" } }), 403, "M_FORBIDDEN");
  expectError(await api(server, "GET", `/_matrix/client/v3/rooms/${r}/messages`, { token: bob.accessToken }), 403, "M_FORBIDDEN");
  expectError(await api(server, "GET", `/_matrix/client/v3/rooms/${encodeURIComponent("!nope:localhost")}/state`, { token: bob.accessToken }), 404, "M_NOT_FOUND");
  expectError(await api(server, "POST", `/_matrix/client/v3/rooms/${r}/invite`, { token: alice.accessToken, body: { user_id: "@ghost:localhost" } }), 404, "M_NOT_FOUND");
  expectError(await api(server, "GET", `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/account_data/m.nothing`, { token: alice.accessToken }), 404, "M_NOT_FOUND");
  // A member of power 0 cannot change the name (state_default 50) or kick.
  await api(server, "POST", `/_matrix/client/v3/rooms/${r}/invite`, { token: alice.accessToken, body: { user_id: bob.userId } });
  assert.equal((await api(server, "POST", `/_matrix/client/v3/rooms/${r}/join`, { token: bob.accessToken, body: {} })).status, 200);
  expectError(await api(server, "PUT", `/_matrix/client/v3/rooms/${r}/state/m.room.name/`, { token: bob.accessToken, body: { name: "mine" } }), 403, "M_FORBIDDEN");
  expectError(await api(server, "POST", `/_matrix/client/v3/rooms/${r}/kick`, { token: bob.accessToken, body: { user_id: alice.userId } }), 403, "M_FORBIDDEN");
});

test("rate limits answer M_LIMIT_EXCEEDED with retry_after_ms", async () => {
  const limited = await startServer({ rateLimits: true, extraConfig: "[rate_limits.login]\nper_second = 0.1\nburst = 3" });
  try {
    let last;
    for (let i = 0; i < 5; i++)
      last = await api(limited, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", identifier: { type: "m.id.user", user: "x" }, password: "y" } });
    expectError(last, 429, "M_LIMIT_EXCEEDED");
    assert.ok(last.body.retry_after_ms > 0);
  } finally {
    await limited.stop();
    limited.cleanup();
  }
});

test("an oversized request body is refused with M_TOO_LARGE", async () => {
  const res = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: alice.accessToken, raw: JSON.stringify({ topic: "y".repeat(200000) }) });
  expectError(res, 413, "M_TOO_LARGE");
});

test("a 5xx is logged with its request id and route: an upload whose temporary directory has gone", async () => {
  const tmp = join(server.dir, "data", "media", "tmp");
  rmSync(tmp, { recursive: true, force: true });
  try {
    const res = await api(server, "POST", "/_matrix/media/v3/upload?filename=a.bin",
      { token: alice.accessToken, raw: Buffer.from("x"), headers: { "Content-Type": "application/octet-stream" } });
    assert.equal(res.status, 500);
    assert.equal(res.body.errcode, "M_UNKNOWN");
    const line = await waitFor(() => server.lines.find((l) => l.includes('"cannot create upload file"')), "the log line", 5000);
    const entry = JSON.parse(line);
    assert.equal(entry.level, "error");
    assert.match(entry.request_id, /^\d+$/);
    assert.match(entry.route, /upload/);
    assert.match(entry.error, /No such file/);
  } finally {
    mkdirSync(tmp, { recursive: true });
  }
});
