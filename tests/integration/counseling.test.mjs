// The counseling domain through real clients: what a seeker can and cannot do on the plain Matrix
// API, the consultation flow end to end encrypted, transfer, the internal exchange, export, erase,
// retention, and lotse-admin run as a binary.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, register, registerSeeker, api, startCryptoClient, decryptedBody, waitFor, AGENCY } from "./harness.mjs";

const enc = encodeURIComponent;
const ADMIN_BIN = process.env.LOTSE_ADMIN_BIN ?? join(dirname(fileURLToPath(import.meta.url)), "../../build/server/lotse-admin");
let server;
before(async () => { server = await startServer({ extraConfig: "[counseling]\nmax_open_consultations = 2" }); });
after(async () => { await server.stop(); server.cleanup(); });

async function admin(...args) {
  try {
    const { stdout } = await promisify(execFile)(ADMIN_BIN, ["--server", server.baseUrl, "--token", server.admin.accessToken, "--json", ...args]);
    return JSON.parse(stdout);
  } catch (e) {
    if (typeof e.stdout === "string") return { failed: true, ...JSON.parse(e.stdout || "{}"), stderr: e.stderr };
    throw e;
  }
}
const expectForbidden = (res, what) => {
  assert.equal(res.status, 403, `${what}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.errcode, "M_FORBIDDEN", what);
  assert.ok(res.body.error.length > 10, "a message a person can act on");
};
const openConsultation = (seeker, counselor, topic = "aufenthalt") =>
  api(server, "POST", "/_lotse/client/v1/consultations", { token: seeker.accessToken, body: { counselor, topic } });

test("the directory lists counselors by language, topic and postal code", async () => {
  const ar = await register(server, "beraterin-ar", undefined, { display_name: "Frau Haddad", languages: ["ar", "de"], topics: ["aufenthalt"], postal_codes: ["10", "12"] });
  await register(server, "berater-fa", undefined, { display_name: "Herr Karimi", languages: ["fa"], topics: ["wohnen"], postal_codes: ["80"] });
  const seeker = await registerSeeker(server);
  const list = async (q) => (await api(server, "GET", `/_lotse/client/v1/counselors?${q}`, { token: seeker.accessToken })).body.counselors.map((c) => c.user_id);
  assert.deepEqual(await list("language=ar"), [ar.userId]);
  assert.ok((await list("language=fa&topic=wohnen&postal_code=80331")).includes("@berater-fa:localhost"));
  assert.deepEqual(await list("language=ar&postal_code=80331"), []);
  assert.ok((await list("postal_code=10115")).includes(ar.userId));
  const entry = (await api(server, "GET", "/_lotse/client/v1/counselors?language=ar", { token: seeker.accessToken })).body.counselors[0];
  assert.deepEqual(Object.keys(entry).sort(), ["absent_now", "agency", "agency_name", "city", "display_name", "languages", "postal_codes", "topics", "user_id"].sort(), "profile fields only");
  assert.deepEqual([entry.agency_name, entry.city], ["Beratungsstelle Mitte", "Berlin"]);
  const topics = (await api(server, "GET", "/_lotse/client/v1/topics", { token: seeker.accessToken })).body.topics.map((t) => t.topic_id);
  assert.deepEqual(topics, ["arbeit", "aufenthalt", "wohnen"]);
  assert.equal((await api(server, "GET", "/_lotse/client/v1/agencies", { token: seeker.accessToken })).body.agencies[0].agency_id, AGENCY);
});

test("a seeker cannot do what a seeker must not, whatever client is used", async () => {
  const counselor = await register(server);
  const seeker = await registerSeeker(server), other = await registerSeeker(server);
  expectForbidden(await api(server, "POST", "/_matrix/client/v3/createRoom", { token: seeker.accessToken, body: {} }), "create rooms");
  const c = await openConsultation(seeker, counselor.userId);
  assert.equal(c.status, 200, JSON.stringify(c.body));
  const roomId = c.body.room_id;
  expectForbidden(await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { token: seeker.accessToken, body: { user_id: other.userId } }), "invite");
  expectForbidden(await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.member/${enc(other.userId)}`, { token: seeker.accessToken, body: { membership: "invite" } }), "invite via state");
  expectForbidden(await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.name/`, { token: seeker.accessToken, body: { name: "x" } }), "change state");
  expectForbidden(await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/kick`, { token: seeker.accessToken, body: { user_id: counselor.userId } }), "kick");
  // Another seeker cannot join this consultation, nor be invited by the counselor.
  expectForbidden(await api(server, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: other.accessToken, body: {} }), "join a foreign consultation");
  expectForbidden(await api(server, "POST", `/_matrix/client/v3/rooms/${enc(roomId)}/invite`, { token: counselor.accessToken, body: { user_id: other.userId } }), "a second seeker");
  // A public room of counselors: seekers cannot join it.
  const { body: { room_id: publicRoom } } = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: counselor.accessToken, body: { preset: "public_chat" } });
  expectForbidden(await api(server, "POST", `/_matrix/client/v3/join/${enc(publicRoom)}`, { token: seeker.accessToken, body: {} }), "join other rooms");
  // Other seekers are invisible: profiles and the user directory.
  expectForbidden(await api(server, "GET", `/_matrix/client/v3/profile/${enc(other.userId)}`, { token: seeker.accessToken }), "another seeker's profile");
  assert.equal((await api(server, "GET", `/_matrix/client/v3/profile/${enc(counselor.userId)}`, { token: seeker.accessToken })).status, 200);
  const dir = await api(server, "POST", "/_matrix/client/v3/user_directory/search", { token: seeker.accessToken, body: { search_term: "" } });
  assert.deepEqual(dir.body.results.map((r) => r.user_id), [counselor.userId], "only the counselor, never seekers or the service user");
  // Opening a consultation only with counselors, at most max_open_consultations.
  const notCounselor = await api(server, "POST", "/_lotse/client/v1/consultations", { token: other.accessToken, body: { counselor: seeker.userId, topic: "aufenthalt" } });
  assert.equal(notCounselor.body.errcode, "M_NOT_FOUND", "consultations only with counselors");
  assert.equal((await openConsultation(seeker, counselor.userId)).status, 200);
  const tooMany = await openConsultation(seeker, counselor.userId);
  expectForbidden(tooMany, "more than max_open_consultations");
  assert.equal(tooMany.body["de.lotse.reason"], "too_many_open_consultations", "the app can say it in the seeker's language");
  assert.equal(tooMany.body["de.lotse.limit"], 2);
  // The internal exchange is closed to seekers.
  const ex = await admin("exchange", "create-room", "--name", "Fallbesprechung Wohnen");
  expectForbidden(await api(server, "POST", `/_matrix/client/v3/join/${enc(ex.room_id)}`, { token: seeker.accessToken, body: {} }), "join the internal exchange");
  expectForbidden(await api(server, "POST", `/_matrix/client/v3/rooms/${enc(ex.room_id)}/invite`, { token: counselor.accessToken, body: { user_id: seeker.userId } }), "be invited into the exchange");
  assert.equal((await api(server, "GET", `/_matrix/client/v3/rooms/${enc(ex.room_id)}/messages`, { token: seeker.accessToken })).status, 403);
});

test("a consultation end to end encrypted: opened, answered, handed over, closed", async () => {
  const c1Reg = await register(server, "c1", undefined, { display_name: "Frau Yilmaz", absence: { message: "Ich bin bis Montag im Urlaub.", from: "2020-01-01", until: "2099-12-31" } });
  const c2Reg = await register(server, "c2", undefined, { display_name: "Herr Novak" });
  const seekerReg = await registerSeeker(server, "sonnenblume");
  const seeker = await startCryptoClient(server, seekerReg);
  const c1 = await startCryptoClient(server, c1Reg);
  const c2 = await startCryptoClient(server, c2Reg);
  try {
    const opened = await openConsultation(seekerReg, c1Reg.userId, "wohnen");
    assert.equal(opened.status, 200, JSON.stringify(opened.body));
    const roomId = opened.body.room_id;
    const state = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/de.lotse.consultation/`, { token: seekerReg.accessToken });
    assert.deepEqual([state.body.seeker, state.body.counselor, state.body.topic, state.body.status, state.body.agency], [seekerReg.userId, c1Reg.userId, "wohnen", "open", AGENCY]);
    assert.equal((await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.encryption/`, { token: seekerReg.accessToken })).body.algorithm, "m.megolm.v1.aes-sha2");
    assert.equal((await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/m.room.history_visibility/`, { token: seekerReg.accessToken })).body.history_visibility, "invited");
    // The service user is named as a functional member, so Element treats the room as 1:1 (calls).
    const hints = ["io.element.functional_members", "m.member_hints"];
    for (const type of hints)
      assert.deepEqual((await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/${type}/`, { token: seekerReg.accessToken })).body,
        { service_members: ["@lotse:localhost"] });
    // The absence notice was posted by the service user.
    const msgs = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=20`, { token: seekerReg.accessToken });
    assert.ok(msgs.body.chunk.some((e) => e.content.msgtype === "m.notice" && /Urlaub/.test(e.content.body) && e.sender === "@lotse:localhost"));

    await waitFor(() => c1.getRoom(roomId)?.getMyMembership() === "invite", "c1 invited");
    await c1.joinRoom(roomId);
    await waitFor(() => seeker.getRoom(roomId)?.getMember(c1Reg.userId)?.membership === "join", "seeker sees c1");
    // Joined, the counselor (power 50) still cannot change that list.
    for (const type of hints)
      expectForbidden(await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/state/${type}/`, { token: c1Reg.accessToken, body: { service_members: [] } }), `change ${type}`);
    const q = "Ich habe einen Brief von der Ausländerbehörde bekommen.";
    const { event_id: qId } = await seeker.sendTextMessage(roomId, q);
    assert.equal(await decryptedBody(c1, roomId, qId, "c1 reads"), q);
    const a = "Schicken Sie mir bitte ein Foto des Briefes.";
    const { event_id: aId } = await c1.sendTextMessage(roomId, a);
    assert.equal(await decryptedBody(seeker, roomId, aId, "seeker reads"), a);

    // Listing: the counselor sees the seeker's pseudonym, topic, last activity and unread state.
    const mine = (await api(server, "GET", "/_lotse/client/v1/consultations", { token: c1Reg.accessToken })).body.consultations.find((x) => x.room_id === roomId);
    assert.equal(mine.seeker_pseudonym, "sonnenblume");
    assert.equal(mine.topic, "wohnen");
    assert.ok(mine.last_activity_ts > 0 && typeof mine.unread_count === "number");
    const theirs = (await api(server, "GET", "/_lotse/client/v1/consultations", { token: seekerReg.accessToken })).body.consultations[0];
    assert.equal(theirs.counselor_display_name, "Frau Yilmaz");
    assert.equal(theirs.seeker, undefined, "seekers are not shown their own id back");

    // Transfer to c2: c2 is invited and can read new messages; c1 leaves; the seeker is told.
    const moved = await admin("consultation", "transfer", roomId, "--to", c2Reg.userId);
    assert.equal(moved.counselor, c2Reg.userId);
    await waitFor(() => c2.getRoom(roomId)?.getMyMembership() === "invite", "c2 invited");
    await c2.joinRoom(roomId);
    await waitFor(() => c1.getRoom(roomId)?.getMyMembership() === "leave", "c1 left");
    await waitFor(() => seeker.getRoom(roomId)?.getMember(c2Reg.userId)?.membership === "join", "seeker sees c2");
    const after = "Danke, hier ist das Foto.";
    const { event_id: afterId } = await seeker.sendTextMessage(roomId, after);
    assert.equal(await decryptedBody(c2, roomId, afterId, "c2 reads new messages"), after);
    const handed = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state/de.lotse.consultation/`, { token: seekerReg.accessToken });
    assert.equal(handed.body.counselor, c2Reg.userId);
    assert.equal(handed.body.history[0].from, c1Reg.userId);
    const notice = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=5`, { token: seekerReg.accessToken });
    assert.ok(notice.body.chunk.some((e) => e.content.msgtype === "m.notice" && /Herr Novak/.test(e.content.body)));

    assert.equal((await admin("consultation", "close", roomId)).status, "closed");
    assert.ok((await admin("consultation", "close", roomId)).failed, "closing twice is an error");
    assert.equal((await admin("consultation", "reopen", roomId)).status, "open");
    assert.equal((await admin("consultation", "show", roomId)).counselor, c2Reg.userId);
  } finally {
    for (const c of [seeker, c1, c2]) c.stopClient();
  }
});

test("the enquiry written before the counselor accepts reaches her, decrypted (she already has a device)", async () => {
  const cReg = await register(server, "c-later", undefined, { display_name: "Frau Berger" });
  const c2Reg = await register(server, "c-next", undefined, { display_name: "Herr Weiss" });
  const seekerReg = await registerSeeker(server, "mohnblume");
  const c = await startCryptoClient(server, cReg);
  const c2 = await startCryptoClient(server, c2Reg);
  const seeker = await startCryptoClient(server, seekerReg);
  try {
    const roomId = (await openConsultation(seekerReg, cReg.userId, "wohnen")).body.room_id;
    await waitFor(() => seeker.getRoom(roomId)?.getMember(cReg.userId)?.membership === "invite", "seeker sees the invite");
    // The seeker writes first, the counselor accepts later (the usual order in counseling).
    const enquiry = "Ich brauche Hilfe mit meinem Mietvertrag.";
    const { event_id: qId } = await seeker.sendTextMessage(roomId, enquiry);
    await waitFor(() => c.getRoom(roomId)?.getMyMembership() === "invite", "counselor invited");
    await c.joinRoom(roomId);
    assert.equal(await decryptedBody(c, roomId, qId, "counselor reads the enquiry"), enquiry);
    const answer = "Gern, was steht im Vertrag?";
    const { event_id: aId } = await c.sendTextMessage(roomId, answer);
    assert.equal(await decryptedBody(seeker, roomId, aId, "seeker reads the answer"), answer);
    // Handed over: the next counselor reads from the hand-over on, not before (server-side too).
    await admin("consultation", "transfer", roomId, "--to", c2Reg.userId);
    await waitFor(() => c2.getRoom(roomId)?.getMyMembership() === "invite", "c2 invited");
    const later = "Ich habe den Vertrag jetzt gefunden.";
    const { event_id: lId } = await seeker.sendTextMessage(roomId, later);
    await c2.joinRoom(roomId);
    assert.equal(await decryptedBody(c2, roomId, lId, "c2 reads what came after the hand-over"), later);
    const seen = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/messages?dir=b&limit=50`, { token: c2Reg.accessToken });
    assert.ok(!seen.body.chunk.some((e) => e.event_id === qId), "the enquiry from before the hand-over stays hidden");
  } finally {
    for (const x of [seeker, c, c2]) x.stopClient();
  }
});

test("a counselor cannot block the service user by accident, and counselor add asks for a display name", async () => {
  const cReg = await register(server, "c-block");
  const u = encodeURIComponent(cReg.userId);
  const block = await api(server, "PUT", `/_matrix/client/v3/user/${u}/account_data/m.ignored_user_list`,
    { token: cReg.accessToken, body: { ignored_users: { "@lotse:localhost": {} } } });
  expectForbidden(block, "ignoring the service user");
  const other = await api(server, "PUT", `/_matrix/client/v3/user/${u}/account_data/m.ignored_user_list`,
    { token: cReg.accessToken, body: { ignored_users: { "@someone:localhost": {} } } });
  assert.equal(other.status, 200, "ignoring anyone else still works");
  // The invite into a consultation is no direct chat (Element would offer "Decline and block").
  const seekerReg = await registerSeeker(server, "kornblume");
  const roomId = (await openConsultation(seekerReg, cReg.userId, "wohnen")).body.room_id;
  const sync = await api(server, "GET", "/_matrix/client/v3/sync", { token: cReg.accessToken });
  const own = sync.body.rooms.invite[roomId].invite_state.events.find((e) => e.type === "m.room.member" && e.state_key === cReg.userId);
  assert.equal(own.content.is_direct, undefined);
  const name = sync.body.rooms.invite[roomId].invite_state.events.find((e) => e.type === "m.room.name");
  assert.match(name.content.name, /kornblume/);
  await assert.rejects(promisify(execFile)(ADMIN_BIN, ["--server", server.baseUrl, "--token", server.admin.accessToken,
    "counselor", "add", "--username", "no-name"]), (e) => /--display-name is required/.test(e.stderr));
});

test("topic names per language: set by an administrator only, checked, shown to seekers", async () => {
  const seeker = await registerSeeker(server);
  const put = (body, token = server.admin.accessToken, id = "arbeit") => api(server, "PUT", `/_lotse/admin/v1/topics/${id}`, { token, body });
  const ok = await put({ names: { ar: "العمل", fa: "کار" } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual(ok.body, { topic_id: "arbeit", name: "Arbeit", names: { ar: "العمل", fa: "کار" } });
  const seen = (await api(server, "GET", "/_lotse/client/v1/topics", { token: seeker.accessToken })).body.topics.find((t) => t.topic_id === "arbeit");
  assert.deepEqual(seen.names, { ar: "العمل", fa: "کار" });
  assert.deepEqual((await api(server, "GET", "/_lotse/client/v1/topics", { token: seeker.accessToken })).body.topics.find((t) => t.topic_id === "wohnen").names, {});
  // A rename keeps the translations; names replaces them as a set.
  assert.deepEqual((await put({ name: "Arbeit und Ausbildung" })).body.names, { ar: "العمل", fa: "کار" });
  assert.deepEqual((await put({ names: { tr: "İş" } })).body, { topic_id: "arbeit", name: "Arbeit und Ausbildung", names: { tr: "İş" } });
  const refused = [
    [{ names: { arabic: "x" } }, 400, "M_INVALID_PARAM"],
    [{ names: { AR: "x" } }, 400, "M_INVALID_PARAM"],
    [{ names: { ar: "" } }, 400, "M_INVALID_PARAM"],
    [{ names: { ar: "x".repeat(201) } }, 400, "M_INVALID_PARAM"],
    [{ names: { ar: 5 } }, 400, "M_BAD_JSON"],
    [{ names: ["ar"] }, 400, "M_BAD_JSON"],
    [{ names: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [String.fromCharCode(97 + (i % 26)) + String.fromCharCode(97 + Math.floor(i / 26)), "x"])) }, 400, "M_INVALID_PARAM"],
    [{ name: "" }, 400, "M_INVALID_PARAM"],
  ];
  for (const [body, status, errcode] of refused) {
    const r = await put(body);
    assert.deepEqual([r.status, r.body.errcode], [status, errcode], JSON.stringify(body).slice(0, 80));
    assert.ok(r.body.error);
  }
  assert.equal((await put({ names: { ar: "x" } }, server.admin.accessToken, "nirgends")).status, 404);
  const bySeeker = await put({ names: { ar: "x" } }, seeker.accessToken);
  assert.deepEqual([bySeeker.status, bySeeker.body.errcode], [403, "M_FORBIDDEN"]);
  const byCounselor = await put({ names: { ar: "x" } }, (await register(server)).accessToken);
  assert.equal(byCounselor.status, 403);
  assert.deepEqual((await put({})).body.names, { tr: "İş" }, "nothing changed by the refusals");
  // Through lotse-admin, and audited.
  const added = await admin("topic", "add", "--id", "familie", "--name", "Familie", "--name-in", "ar=الأسرة", "--name-in", "uk=Сім'я");
  assert.deepEqual(added.names, { ar: "الأسرة", uk: "Сім'я" });
  assert.deepEqual((await admin("topic", "update", "--id", "familie", "--name-in", "ru=Семья")).names, { ru: "Семья" });
  assert.ok((await admin("topic", "update", "--id", "familie", "--name-in", "ohne-gleich")).failed, "LANG=NAME required");
  assert.ok((await admin("audit", "--limit", "50")).entries.some((e) => e.action === "topic.update" && e.target === "familie"));
});

test("lotse-admin manages counselors, agencies, topics and the exchange, and everything is audited", async () => {
  assert.equal((await admin("agency", "add", "--id", "nord", "--name", "Beratung Nord", "--city", "Hamburg")).agency_id, "nord");
  assert.ok((await admin("agency", "list")).agencies.some((a) => a.agency_id === "nord"));
  assert.equal((await admin("topic", "add", "--id", "gesundheit", "--name", "Gesundheit")).topic_id, "gesundheit");
  const added = await admin("counselor", "add", "--username", "petrova", "--display-name", "Frau Petrova", "--agency", "nord",
    "--language", "ru", "--language", "uk", "--topic", "gesundheit", "--postal-code", "20");
  assert.equal(added.user_id, "@petrova:localhost");
  assert.ok(added.password.length >= 16, "a generated password is shown once");
  assert.ok((await admin("counselor", "add", "--username", "x", "--display-name", "X", "--agency", "nowhere")).failed, "unknown agency refused");
  // The digest address: set, refused when it could inject mail headers, removed; the audit says "set", never the address.
  assert.ok(!(await admin("counselor", "update", "petrova", "--email", "petrova@beratung.example")).failed);
  assert.ok((await admin("counselor", "update", "petrova", "--email", "x@example.org\r\nBcc: all@example.org")).failed, "header injection refused");
  const emailAudit = (await admin("audit", "--limit", "5")).entries.find((e) => e.action === "counselor.update" && e.target === "@petrova:localhost");
  assert.equal(emailAudit.details.email, "set");
  assert.ok(!JSON.stringify(emailAudit).includes("petrova@beratung.example"), "the address is not in the audit log");
  assert.ok(!(await admin("counselor", "update", "petrova", "--clear-email")).failed);
  const updated = await admin("counselor", "update", "@petrova:localhost", "--absence-message", "Elternzeit", "--absence-until", "2099-01-01");
  assert.equal(updated.absence.message, "Elternzeit");
  assert.deepEqual((await admin("counselor", "show", "petrova")).languages, ["ru", "uk"]);
  assert.ok((await admin("counselor", "list")).counselors.some((c) => c.user_id === "@petrova:localhost"));
  // The counselor logs in with the generated password and joins the exchange room it is added to.
  const login = await api(server, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", identifier: { type: "m.id.user", user: "petrova" }, password: added.password } });
  assert.equal(login.status, 200);
  const ex = await admin("exchange", "create-room", "--name", "Materialien", "--topic", "Arbeitshilfen");
  assert.ok(ex.space_id);
  await admin("exchange", "add-member", ex.room_id, "@petrova:localhost");
  assert.equal((await api(server, "POST", `/_matrix/client/v3/join/${enc(ex.room_id)}`, { token: login.body.access_token, body: {} })).status, 200);
  assert.equal((await api(server, "POST", `/_matrix/client/v3/join/${enc(ex.space_id)}`, { token: login.body.access_token, body: {} })).status, 200);
  const spaceState = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(ex.space_id)}/state/m.room.create/`, { token: login.body.access_token });
  assert.equal(spaceState.body.type, "m.space");
  // Element shows the exchange as a space: the hierarchy lists the space and its rooms.
  const tree = await api(server, "GET", `/_matrix/client/v1/rooms/${enc(ex.space_id)}/hierarchy`, { token: login.body.access_token });
  assert.equal(tree.status, 200, JSON.stringify(tree.body));
  assert.equal(tree.body.rooms[0].room_type, "m.space");
  const child = tree.body.rooms.find((r) => r.room_id === ex.room_id);
  assert.equal(child.name, "Materialien");
  assert.equal(child.topic, "Arbeitshilfen");
  assert.ok(tree.body.rooms[0].children_state.some((c) => c.state_key === ex.room_id));
  const seekerView = await api(server, "GET", `/_matrix/client/v1/rooms/${enc(ex.space_id)}/hierarchy`, { token: (await registerSeeker(server)).accessToken });
  assert.equal(seekerView.status, 403);
  await admin("exchange", "remove-member", ex.room_id, "@petrova:localhost");
  assert.equal((await api(server, "GET", `/_matrix/client/v3/joined_rooms`, { token: login.body.access_token })).body.joined_rooms.includes(ex.room_id), false);
  const deactivated = await admin("counselor", "deactivate", "petrova");
  assert.equal(deactivated.deactivated, true);
  assert.equal((await api(server, "GET", "/_matrix/client/v3/account/whoami", { token: login.body.access_token })).status, 401);
  const actions = (await admin("audit", "--limit", "50")).entries.map((e) => e.action);
  for (const a of ["agency.add", "topic.add", "counselor.add", "counselor.update", "exchange.create-room", "exchange.add-member", "exchange.remove-member", "counselor.deactivate"])
    assert.ok(actions.includes(a), `audit has ${a}`);
  const entry = (await admin("audit")).entries.find((e) => e.action === "counselor.deactivate");
  assert.equal(entry.actor, server.admin.userId);
  assert.equal(entry.target, "@petrova:localhost");
  // Without an admin token nothing works.
  const counselorToken = (await register(server)).accessToken;
  assert.equal((await api(server, "GET", "/_lotse/admin/v1/counselors", { token: counselorToken })).status, 403);
});

test("export, erase and retention", async () => {
  const counselorReg = await register(server);
  const seekerReg = await registerSeeker(server, "mondschein");
  const { body: { room_id: roomId } } = await openConsultation(seekerReg, counselorReg.userId);
  await api(server, "POST", `/_matrix/client/v3/join/${enc(roomId)}`, { token: counselorReg.accessToken, body: {} });
  const sent = await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/e1`, { token: seekerReg.accessToken, body: { msgtype: "m.text", body: "meine Adresse ist geheim" } });
  const upload = await fetch(`${server.baseUrl}/_matrix/media/v3/upload?filename=pass.jpg`, { method: "POST", body: Buffer.from("foto"), headers: { Authorization: `Bearer ${seekerReg.accessToken}`, "Content-Type": "image/jpeg" } });
  const mxc = (await upload.json()).content_uri;

  const exported = await admin("user", "export", seekerReg.userId);
  assert.equal(exported.account.user_id, seekerReg.userId);
  assert.equal(exported.account.role, "seeker");
  assert.equal(exported.consultations[0].room_id, roomId);
  assert.ok(exported.events_sent.some((e) => e.event_id === sent.body.event_id));
  assert.equal(exported.media[0].upload_name, "pass.jpg");
  assert.ok(exported.devices.length >= 1);

  // Statistics while the message still exists (unencrypted here), so a leak of content would show.
  const stats = await admin("stats");
  assert.ok(stats.stats.some((s) => s.consultations_opened >= 1 && s.agency === AGENCY));
  assert.ok(!JSON.stringify(stats).includes("geheim"), "stats never carry content");

  // The seeker deletes the account with erase: true through the Matrix API.
  const del = await api(server, "POST", "/_matrix/client/v3/account/deactivate", { token: seekerReg.accessToken,
    body: { erase: true, auth: { type: "m.login.password", identifier: { type: "m.id.user", user: seekerReg.userId }, password: seekerReg.password } } });
  assert.equal(del.status, 200, JSON.stringify(del.body));
  const ev = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(sent.body.event_id)}`, { token: counselorReg.accessToken });
  assert.deepEqual(ev.body.content, {}, "the message is redacted for the counselor");
  const members = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/joined_members`, { token: counselorReg.accessToken });
  assert.ok(!(seekerReg.userId in members.body.joined), "the seeker left");
  const file = await fetch(`${server.baseUrl}/_matrix/client/v1/media/download/localhost/${mxc.split("/").pop()}`, { headers: { Authorization: `Bearer ${counselorReg.accessToken}` } });
  assert.equal(file.status, 404, "the seeker's files are gone");
  const after = await admin("user", "export", seekerReg.userId);
  assert.equal(after.account.deactivated, true);
  assert.equal(after.account.displayname, null);
  assert.ok(after.events_sent.every((e) => Object.keys(e.content).length === 0 || ["m.room.member", "m.room.redaction"].includes(e.type)),
    "nothing but redacted events (and the redactions and membership changes themselves)");
  assert.deepEqual(after.media, []);

  // Retention: a dry run lists, a real run purges old consultations and keeps recent ones.
  const dry = await admin("retention", "purge", "--inactive-days", "1", "--dry-run");
  assert.equal(dry.dry_run, true);
  assert.equal(dry.consultations.length, 0, "everything here is recent");
});

test("retention purge deletes consultations inactive for N days and keeps the others", async () => {
  // Inactivity is simulated by moving the room's event timestamps 400 days back in the database.
  const srv = await startServer();
  try {
    const counselor = await register(srv), seeker = await registerSeeker(srv);
    const r = await api(srv, "POST", "/_lotse/client/v1/consultations", { token: seeker.accessToken, body: { counselor: counselor.userId, topic: "arbeit" } });
    const roomId = r.body.room_id;
    const keep = await api(srv, "POST", "/_lotse/admin/v1/retention/purge", { token: srv.admin.accessToken, body: { inactive_days: 1 } });
    assert.deepEqual(keep.body.consultations, []);
    assert.equal((await api(srv, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state`, { token: seeker.accessToken })).status, 200);
    // Age the room: rewrite its events' timestamps the way 400 days of silence would leave them.
    await srv.stop();
    const { execFileSync } = await import("node:child_process");
    execFileSync("sqlite3", [join(srv.dir, "data", "lotse.db"), `UPDATE events SET origin_server_ts = origin_server_ts - 400*86400000 WHERE room_id = '${roomId}'`]);
    const again = await startServer({ dataDir: srv.dir });
    try {
      const purge = await api(again, "POST", "/_lotse/admin/v1/retention/purge", { token: again.admin.accessToken, body: { inactive_days: 365 } });
      assert.deepEqual(purge.body.consultations.map((c) => c.room_id), [roomId]);
      assert.equal((await api(again, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/state`, { token: seeker.accessToken })).status, 404);
      assert.deepEqual((await api(again, "GET", "/_lotse/client/v1/consultations", { token: seeker.accessToken })).body.consultations, []);
    } finally {
      await again.stop();
    }
  } finally {
    srv.cleanup();
  }
});

test("registration can require a token, or be closed", async () => {
  const tokenServer = await startServer({ extraConfig: "[registration]\nenabled = true\ntoken = \"einladung-2026\"" });
  const closed = await startServer({ extraConfig: "[registration]\nenabled = false" });
  try {
    const first = await api(tokenServer, "POST", "/_matrix/client/v3/register", { body: { username: "neu", password: "pw" } });
    assert.deepEqual(first.body.flows, [{ stages: ["m.login.registration_token"] }]);
    const wrong = await api(tokenServer, "POST", "/_matrix/client/v3/register", { body: { username: "neu", password: "pw", auth: { type: "m.login.registration_token", token: "falsch", session: first.body.session } } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.errcode, "M_FORBIDDEN");
    const dummy = await api(tokenServer, "POST", "/_matrix/client/v3/register", { body: { username: "neu", password: "pw", auth: { type: "m.login.dummy" } } });
    assert.equal(dummy.status, 401, "the dummy stage does not bypass the token");
    assert.deepEqual((await api(tokenServer, "GET", "/_matrix/client/v1/register/m.login.registration_token/validity?token=einladung-2026")).body, { valid: true });
    const ok = await api(tokenServer, "POST", "/_matrix/client/v3/register", { body: { username: "neu", password: "pw", auth: { type: "m.login.registration_token", token: "einladung-2026", session: first.body.session } } });
    assert.equal(ok.status, 200);
    const refused = await api(closed, "POST", "/_matrix/client/v3/register", { body: { username: "neu", password: "pw" } });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.errcode, "M_FORBIDDEN");
  } finally {
    await tokenServer.stop();
    await closed.stop();
    tokenServer.cleanup();
    closed.cleanup();
  }
});
