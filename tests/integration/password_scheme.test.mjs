// How the client formed a password ("de.lotse.password_scheme", issue #12): the seekers' web app
// sends only a login secret derived from the typed password, and tries the typed password only when
// the server says the account still keeps it as typed. A wrong password for such an account says so
// (login 403 and the UIA 401); an account whose password the web app set says nothing, so a typo or
// an old password is never sent as typed. Registration and password change record the scheme.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, api, registerSeeker, uniqueName } from "./harness.mjs";

const HINT = "de.lotse.password_scheme";
const DERIVED = { [HINT]: "derived-v1" };
let server;

before(async () => { server = await startServer(); });
after(async () => { await server.stop(); server.cleanup(); });

const login = (user, password) => api(server, "POST", "/_matrix/client/v3/login",
  { body: { type: "m.login.password", identifier: { type: "m.id.user", user }, password } });
const auth = (user, password) => ({ type: "m.login.password", identifier: { type: "m.id.user", user }, password });

async function registerDerived(username, password, extra = DERIVED) {
  const body = { username, password, ...extra };
  const first = await api(server, "POST", "/_matrix/client/v3/register", { body });
  if (first.status !== 401) return first;
  return api(server, "POST", "/_matrix/client/v3/register", { body: { ...body, auth: { type: "m.login.dummy", session: first.body.session } } });
}

test("a wrong password names the as-typed scheme only for an account that keeps its password as typed", async () => {
  const typed = await registerSeeker(server, uniqueName("getippt"), "wie-getippt-123");
  const wrongTyped = await login(typed.username, "falsch-falsch-1");
  assert.equal(wrongTyped.status, 403);
  assert.equal(wrongTyped.body.errcode, "M_FORBIDDEN");
  assert.equal(wrongTyped.body[HINT], "as_typed");

  const name = uniqueName("abgeleitet");
  const derived = await registerDerived(name, "abgeleitetes-geheimnis-43-zeichen-lang-xyz");
  assert.equal(derived.status, 200, JSON.stringify(derived.body));
  const wrongDerived = await login(name, "falsch-falsch-1");
  assert.equal(wrongDerived.status, 403);
  assert.equal(wrongDerived.body.errcode, "M_FORBIDDEN");
  assert.equal(wrongDerived.body[HINT], undefined, "no hint: the web app must not send the typed password");
  assert.equal((await login(name, "abgeleitetes-geheimnis-43-zeichen-lang-xyz")).status, 200);

  const nobody = await login(uniqueName("niemand"), "falsch-falsch-1");
  assert.equal(nobody.status, 403);
  assert.equal(nobody.body[HINT], undefined, "an unknown account looks like a derived one");
});

test("a password change records the scheme it was given, and UIA failures say the same", async () => {
  const typed = await registerSeeker(server, uniqueName("wechsel"), "wie-getippt-456");
  const change = (password, newPassword, extra = {}) => api(server, "POST", "/_matrix/client/v3/account/password",
    { token: typed.accessToken, body: { new_password: newPassword, logout_devices: false, auth: auth(typed.userId, password), ...extra } });

  // A wrong password in UIA: the 401 challenge names the as-typed scheme while the account has it.
  const wrongUia = await change("falsch-falsch-2", "egal-egal-egal-1", DERIVED);
  assert.equal(wrongUia.status, 401);
  assert.equal(wrongUia.body.errcode, "M_FORBIDDEN");
  assert.equal(wrongUia.body[HINT], "as_typed");
  assert.ok(Array.isArray(wrongUia.body.flows), "still a UIA challenge");

  assert.equal((await change(typed.password, "neues-abgeleitetes-geheimnis-1", DERIVED)).status, 200);
  const afterDerived = await change("falsch-falsch-3", "egal-egal-egal-2");
  assert.equal(afterDerived.status, 401);
  assert.equal(afterDerived.body[HINT], undefined, "derived now: no hint in UIA");
  assert.equal((await login(typed.username, "falsch-falsch-4")).body[HINT], undefined, "nor at login");

  // Changed by a client that sends the password as typed (no scheme): as typed again.
  assert.equal((await change("neues-abgeleitetes-geheimnis-1", "wieder-wie-getippt-2")).status, 200);
  assert.equal((await login(typed.username, "falsch-falsch-5")).body[HINT], "as_typed");
  assert.equal((await login(typed.username, "wieder-wie-getippt-2")).status, 200);
});

test("an unknown scheme is refused with M_INVALID_PARAM and creates or changes nothing", async () => {
  const name = uniqueName("unbekannt");
  for (const value of ["derived-v2", 1, true, { v: 1 }, ""]) {
    const res = await registerDerived(name, "irgendein-passwort-1", { [HINT]: value });
    assert.equal(res.status, 400, `${JSON.stringify(value)}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.errcode, "M_INVALID_PARAM");
  }
  assert.equal((await login(name, "irgendein-passwort-1")).status, 403, "no account was created");

  const typed = await registerSeeker(server, uniqueName("bleibt"), "wie-getippt-789");
  const res = await api(server, "POST", "/_matrix/client/v3/account/password", { token: typed.accessToken,
    body: { new_password: "anders-anders-1", logout_devices: false, auth: auth(typed.userId, typed.password), [HINT]: "plain" } });
  assert.equal(res.status, 400);
  assert.equal(res.body.errcode, "M_INVALID_PARAM");
  assert.equal((await login(typed.username, typed.password)).status, 200, "the password is unchanged");
});

test("a login whose derived secret matches records the scheme of an account registered before it was kept", async () => {
  // As the web app registered before schema 0012: its derived secret, no scheme given.
  const early = await registerSeeker(server, uniqueName("frueh"), "abgeleitet-aber-ohne-schema-1234567890abc");
  const loginWith = (password, extra = {}) => api(server, "POST", "/_matrix/client/v3/login",
    { body: { type: "m.login.password", identifier: { type: "m.id.user", user: early.username }, password, ...extra } });
  assert.equal((await loginWith("falsch-falsch-6")).body[HINT], "as_typed", "unknown until the app logs in");
  // A wrong password marked as derived changes nothing.
  const wrong = await loginWith("falsch-falsch-7", DERIVED);
  assert.equal(wrong.status, 403);
  assert.equal(wrong.body[HINT], "as_typed");
  assert.equal((await loginWith(early.password, DERIVED)).status, 200);
  assert.equal((await loginWith("falsch-falsch-8")).body[HINT], undefined, "recorded as derived by the matching login");
  assert.equal((await loginWith(early.password, { [HINT]: "derived-v2" })).body.errcode, "M_INVALID_PARAM");
});
