#!/usr/bin/env node
// Writes an export of the old system N times the size of the given one, for scripts/bench-bridge: copy
// k (0 < k < N) of every account, consultation, room, message and upload gets fresh ids (UUIDs,
// Rocket.Chat ids, session/agency/chat numbers, usernames with a "-k" suffix), and everything that
// depends on an id is redone, so the copy is as consistent as the original: server-side encrypted
// texts are re-encrypted under the new room's key, tmp. room keys re-wrapped for the new user id,
// event aliases and hand-over arguments rewritten. Usage: old-export-multiply.mjs SRC DEST N
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [src, dest, times] = [process.argv[2], process.argv[3], Number(process.argv[4] ?? 10)];
if (!src || !dest || !(times >= 1)) { console.error("usage: old-export-multiply.mjs SRC DEST N"); process.exit(2); }
const secrets = Object.fromEntries([...readFileSync(join(src, "secrets.example.toml"), "utf8").matchAll(/^(\w+)\s*=\s*"([^"]*)"/gm)].map((m) => [m[1], m[2]]));
const lines = (f) => readFileSync(join(src, f), "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
const mongo = Object.fromEntries(["users", "rocketchat_room", "rocketchat_subscription", "rocketchat_message", "rocketchat_uploads"]
  .map((n) => [n, lines(`mongo/${n}.json`)]));
const keycloak = JSON.parse(readFileSync(join(src, "keycloak/users.json"), "utf8"));
const props = readFileSync(join(src, "config/services.properties"), "utf8");
const systemUser = props.match(/^rocket\.systemuser\.id=(.*)$/m)[1];

// Ids that stay: the technical accounts every copy shares.
const technical = new Set(mongo.users.filter((u) => !u.username?.startsWith("enc.") && !keycloak.users.some((k) => k.username === u.username)).map((u) => u._id));
technical.add(systemUser);

// ---- Base32 usernames ----
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
function b32decode(s) {
  let bits = 0, acc = 0; const out = [];
  for (const c of s.replace(/[.=]+$/, "").toUpperCase()) { acc = (acc << 5) | B32.indexOf(c); bits += 5; if (bits >= 8) { bits -= 8; out.push((acc >> bits) & 255); } }
  return Buffer.from(out).toString("utf8");
}
function b32encode(text) {
  const bytes = Buffer.from(text, "utf8"); let bits = 0, acc = 0, out = "";
  for (const b of bytes) { acc = (acc << 8) | b; bits += 8; while (bits >= 5) { bits -= 5; out += B32[(acc >> bits) & 31]; } }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  while (out.length % 8) out += ".";
  return out;
}

// ---- the old system's ciphers ----
const roomKey = (rid) => createHash("sha1").update(secrets.master_key + rid + secrets.app_key).digest().subarray(0, 16);
const decryptText = (msg, rid) => { const d = createDecipheriv("aes-128-ecb", roomKey(rid), null); return Buffer.concat([d.update(Buffer.from(msg.slice(4), "base64")), d.final()]).toString("utf8"); };
const encryptText = (text, rid) => { const c = createCipheriv("aes-128-ecb", roomKey(rid), null); return "enc:" + Buffer.concat([c.update(text, "utf8"), c.final()]).toString("base64"); };
function bytesToKey(pass, salt) {
  let d = Buffer.alloc(0), prev = Buffer.alloc(0);
  while (d.length < 48) { prev = createHash("md5").update(Buffer.concat([prev, pass, salt])).digest(); d = Buffer.concat([d, prev]); }
  return { key: d.subarray(0, 32), iv: d.subarray(32, 48) };
}
function rewrapTmp(e2eKey, oldUser, newUser) {
  const kid = e2eKey.slice(4, 16), blob = Buffer.from(e2eKey.slice(16), "base64");
  const open = bytesToKey(Buffer.from(createHash("sha256").update(oldUser).digest("hex")), blob.subarray(8, 16));
  const d = createDecipheriv("aes-256-cbc", open.key, open.iv);
  const jwk = Buffer.concat([d.update(blob.subarray(16)), d.final()]);
  const salt = randomBytes(8), seal = bytesToKey(Buffer.from(createHash("sha256").update(newUser).digest("hex")), salt);
  const c = createCipheriv("aes-256-cbc", seal.key, seal.iv);
  return "tmp." + kid + Buffer.concat([Buffer.from("Salted__"), salt, c.update(jwk), c.final()]).toString("base64");
}

const out = { users: [], rocketchat_room: [], rocketchat_subscription: [], rocketchat_message: [], rocketchat_uploads: [] };
const kcOut = [];
const sqlRows = {};  // table -> { head, rows: [] }
mkdirSync(join(dest, "mongo"), { recursive: true });
for (const d of ["uploads", "mariadb", "keycloak", "config"]) mkdirSync(join(dest, d), { recursive: true });

// ---- SQL INSERT tuples ----
function parseSql(file) {
  const text = readFileSync(join(src, "mariadb", file), "utf8");
  const blocks = [];
  const re = /INSERT INTO `(\w+)` \(([^)]*)\) VALUES\n/g;
  let m;
  while ((m = re.exec(text))) {
    const cols = m[2].split(",").map((c) => c.trim().replace(/`/g, ""));
    let i = re.lastIndex; const rows = [];
    for (;;) {
      while (text[i] !== "(") i++;
      i++; const row = [];
      for (;;) {
        while (text[i] === " ") i++;
        if (text[i] === "'") {
          let s = ""; i++;
          for (;;) { if (text[i] === "'" && text[i + 1] === "'") { s += "'"; i += 2; } else if (text[i] === "'") { i++; break; } else s += text[i++]; }
          row.push(s);
        } else {
          let j = i; while (text[j] !== "," && text[j] !== ")") j++;
          const raw = text.slice(i, j).trim(); row.push(raw === "NULL" ? null : Number(raw)); i = j;
        }
        if (text[i] === ",") { i++; continue; }
        if (text[i] === ")") { i++; break; }
      }
      rows.push(Object.fromEntries(cols.map((c, n) => [c, row[n]])));
      if (text[i] === ",") { i++; continue; }
      break;  // ';'
    }
    blocks.push({ table: m[1], cols, rows });
    re.lastIndex = i;
  }
  return { text, blocks };
}
const sqlFiles = Object.fromEntries(["userservice.sql", "agencyservice.sql"].map((f) => [f, parseSql(f)]));
const sqlValue = (v) => (v === null || v === undefined ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`);

for (let k = 0; k < times; k++) {
  const rc = new Map(), uuid = new Map(), names = new Map();
  // Rocket.Chat's id alphabet has no "0": a copy's id can never be an original's
  const rcId = (id) => (k === 0 || technical.has(id) || typeof id !== "string" ? id : (rc.get(id) ?? (rc.set(id, id.slice(0, 15) + "0" + "0123456789abcdefghijklmnopqrstuvwxyz"[k % 36]), rc.get(id))));
  // a UUID's first byte shifted by 17k (mod 256): never the original, and copies differ from each other
  const uid = (u) => (k === 0 ? u : (uuid.get(u) ?? (uuid.set(u, ((parseInt(u.slice(0, 2), 16) + 17 * k) % 256).toString(16).padStart(2, "0") + u.slice(2)), uuid.get(u))));
  const num = (n, step) => (n === null || n === undefined || k === 0 ? n : n + k * step);
  // every encoded or plain username gets "-k"
  const nameOf = (stored) => {
    if (k === 0 || !stored) return stored;
    if (names.has(stored)) return names.get(stored);
    let v;
    if (/^enc\./i.test(stored)) { const enc = "enc." + b32encode(b32decode(stored.slice(4)) + "-" + k); v = stored === stored.toLowerCase() ? enc.toLowerCase() : enc; }
    else v = stored + "-" + k;
    names.set(stored, v); return v;
  };
  const known = () => [...rc.keys(), ...uuid.keys()];
  // Replaces every known id inside a longer string (paths, URLs, JSON texts).
  const inText = (s) => {
    if (k === 0 || typeof s !== "string") return s;
    for (const [a, b] of rc) if (s.includes(a)) s = s.split(a).join(b);
    for (const [a, b] of uuid) if (s.includes(a)) s = s.split(a).join(b);
    for (const [a, b] of names) if (s.includes(a)) s = s.split(a).join(b);
    return s;
  };
  // Pre-register all ids and names of this copy so inText sees them.
  for (const c of Object.values(mongo)) for (const d of c) rcId(d._id);
  for (const u of keycloak.users) if (!u.realmRoles?.includes("technical")) { uid(u.id); nameOf(u.username); for (const c of u.credentials ?? []) uid(c.id); }
  for (const u of mongo.users) if (!technical.has(u._id)) nameOf(u.username);
  for (const { blocks } of Object.values(sqlFiles)) for (const b of blocks) for (const r of b.rows) { if (r.username) nameOf(r.username); for (const c of ["user_id", "consultant_id", "consultant_id_owner"]) if (r[c] && /^[0-9a-f-]{36}$/.test(r[c])) uid(r[c]); }
  void known;

  // Session/agency/chat numbers in room names: "<session>_<ms>", "<session>_feedback_<ms>", "<chat>_group_chat_<ms>".
  const roomName = (n) => (k === 0 || typeof n !== "string" ? n : n.replace(/^(\d+)_group_chat_/, (m, id) => `${num(Number(id), 1000)}_group_chat_`)
    .replace(/^(\d+)_(feedback_)?(\d{13})$/, (m, id, fb, ts) => `${num(Number(id), 100000)}_${fb ?? ""}${ts}`));

  for (const u of mongo.users) {
    if (technical.has(u._id) && k > 0) continue;
    const c = JSON.parse(inText(JSON.stringify(u)));
    c._id = rcId(u._id); c.username = nameOf(u.username);
    if (u.name?.startsWith("enc.")) c.name = nameOf(u.name);
    out.users.push(c);
  }
  for (const r of mongo.rocketchat_room) {
    const c = JSON.parse(inText(JSON.stringify(r)));
    c._id = rcId(r._id); c.name = roomName(r.name); c.fname = roomName(r.fname);
    if (r.lastMessage) delete c.lastMessage;  // a copy, not authoritative
    out.rocketchat_room.push(c);
  }
  for (const s of mongo.rocketchat_subscription) {
    const c = JSON.parse(inText(JSON.stringify(s)));
    c._id = rcId(s._id); c.rid = rcId(s.rid); c.name = roomName(s.name); c.fname = roomName(s.fname);
    if (k > 0 && s.E2EKey?.startsWith("tmp.")) c.E2EKey = rewrapTmp(s.E2EKey, s.u._id, rcId(s.u._id));
    out.rocketchat_subscription.push(c);
  }
  for (const m of mongo.rocketchat_message) {
    const msg = m.msg, alias = m.alias;
    const c = JSON.parse(inText(JSON.stringify({ ...m, msg: "", alias: undefined })));
    c._id = rcId(m._id); c.rid = rcId(m.rid);
    if (m.t && ["uj", "au", "ru", "ul", "user-muted", "user-unmuted"].includes(m.t)) c.msg = k === 0 ? msg : nameOf(msg);
    else if (typeof msg === "string" && msg.startsWith("enc:") && k > 0) c.msg = encryptText(inText(decryptText(msg, m.rid)), c.rid);
    else c.msg = msg;
    if (alias !== undefined) c.alias = k === 0 ? alias : encodeURIComponent(inText(decodeURIComponent(alias.replace(/\+/g, " ")))).replace(/%20/g, "+");
    out.rocketchat_message.push(c);
  }
  for (const u of mongo.rocketchat_uploads) {
    const c = JSON.parse(inText(JSON.stringify(u)));
    c._id = rcId(u._id); c.rid = rcId(u.rid);
    if (typeof u.description === "string" && u.description.startsWith("enc:") && k > 0) c.description = encryptText(decryptText(u.description, u.rid), c.rid);
    out.rocketchat_uploads.push(c);
    if (u.extension) try { copyFileSync(join(src, "uploads", `${u._id}.${u.extension}`), join(dest, "uploads", `${c._id}.${u.extension}`)); } catch { /* the export's missing file stays missing */ }
  }
  for (const u of keycloak.users) {
    if (u.realmRoles?.includes("technical") && k > 0) continue;
    const c = JSON.parse(inText(JSON.stringify(u)));
    c.id = uid(u.id); c.username = nameOf(u.username);
    kcOut.push(c);
  }
  for (const [file, { blocks }] of Object.entries(sqlFiles))
    for (const b of blocks) {
      const key = `${file}:${b.table}`;
      sqlRows[key] ??= { file, table: b.table, cols: b.cols, rows: [] };
      for (const r of b.rows) {
        const c = {};
        for (const col of b.cols) c[col] = typeof r[col] === "string" ? inText(r[col]) : r[col];
        if (r.username) c.username = nameOf(r.username);
        const t = b.table;
        if (t === "session") { c.id = num(r.id, 100000); c.agency_id = num(r.agency_id, 1000); }
        if (t === "session_data") { c.id = num(r.id, 100000); c.session_id = num(r.session_id, 100000); }
        if (t === "agency") c.id = num(r.id, 1000);
        if (["consultant_agency", "agency_postcode_range", "user_agency"].includes(t)) { c.id = num(r.id, 100000); c.agency_id = num(r.agency_id, 1000); }
        if (t === "chat") c.id = num(r.id, 1000);
        if (t === "chat_agency") { c.id = num(r.id, 100000); c.chat_id = num(r.chat_id, 1000); c.agency_id = num(r.agency_id, 1000); }
        if (t === "user_chat") { c.id = num(r.id, 100000); c.chat_id = num(r.chat_id, 1000); }
        if (r.id_old !== undefined && r.id_old !== null) c.id_old = num(r.id_old, 100000);
        sqlRows[key].rows.push(c);
      }
    }
}

for (const [n, docs] of Object.entries(out)) writeFileSync(join(dest, "mongo", `${n}.json`), docs.map((d) => JSON.stringify(d)).join("\n") + "\n");
copyFileSync(join(src, "mongo/consulting_types.json"), join(dest, "mongo/consulting_types.json"));
writeFileSync(join(dest, "keycloak/users.json"), JSON.stringify({ ...keycloak, users: kcOut }));
copyFileSync(join(src, "config/services.properties"), join(dest, "config/services.properties"));
copyFileSync(join(src, "secrets.example.toml"), join(dest, "secrets.example.toml"));
for (const [file, { text }] of Object.entries(sqlFiles)) {
  // The schema as it was, then every table's rows of all copies.
  let sql = text.replace(/INSERT INTO `\w+` \([^)]*\) VALUES\n[\s\S]*?\);\n/g, "");
  for (const r of Object.values(sqlRows).filter((x) => x.file === file))
    for (let i = 0; i < r.rows.length; i += 500)
      sql += `INSERT INTO \`${r.table}\` (${r.cols.map((c) => `\`${c}\``).join(", ")}) VALUES\n` +
        r.rows.slice(i, i + 500).map((row) => `(${r.cols.map((c) => sqlValue(row[c])).join(",")})`).join(",\n") + ";\n";
  writeFileSync(join(dest, "mariadb", file), sql);
}
console.log(JSON.stringify({ copies: times, messages: out.rocketchat_message.length, accounts: kcOut.length, uploads: readdirSync(join(dest, "uploads")).length }));
