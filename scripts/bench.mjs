// Lotse benchmark: throughput, delivery latency, initial sync and memory, against a lotse process it
// starts itself (fresh data directory, rate limits off) so it can read the process's RSS.
// Usage: node scripts/bench.mjs [--messages N] [--json]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import http from "node:http";
import { generateKeyPairSync, sign } from "node:crypto";
import { writeBootstrapRequest } from "../tests/integration/harness.mjs";

// Keep-alive connections, as clients use them; no limit so 1,000 long-polls really are concurrent.
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function request(url, { method = "GET", headers = {}, body, signal } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent, signal }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
const MESSAGES = opt("--messages", 10000);
const SENDERS = 20;
const enc = encodeURIComponent;

async function freePort() {
  return new Promise((resolve) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); }); });
}

async function start() {
  const dir = mkdtempSync(join(tmpdir(), "lotse-bench-"));
  const port = await freePort(), metricsPort = await freePort();
  writeFileSync(join(dir, "lotse.toml"), `server_name = "localhost"\nlisten_port = ${port}\ndata_dir = "${dir}/data"\n[rate_limits]\nenabled = false\n[security]\npassword_hash = "minimal"\n[media]\nmax_upload_size = 209715200\n[metrics]\nenabled = true\nlisten_port = ${metricsPort}\n`);
  const proc = spawn(join(root, "build/server/lotse"), ["--config", join(dir, "lotse.toml")], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve) => proc.stdout.on("data", function onData(d) { if (d.toString().includes("lotse started")) { proc.stdout.off("data", onData); proc.stdout.resume(); resolve(); } }));
  return { proc, dir, base: `http://127.0.0.1:${port}`, metrics: `http://127.0.0.1:${metricsPort}/metrics` };
}

// A counter of lotse's own /metrics listener (by default its group commits so far).
async function counter(srv, name = "lotse_db_commits_total") {
  const res = await request(srv.metrics);
  return Number(new RegExp(`^${name} (\\d+)`, "m").exec(res.text)[1]);
}

// CPU seconds (user + system) the server process has used so far.
const cpuTimes = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return { user: Number(f[11]) / 100, sys: Number(f[12]) / 100 }; };
const cpuSeconds = (pid) => { const t = cpuTimes(pid); return t.user + t.sys; };
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

async function call(srv, method, path, token, body) {
  const res = await request(srv.base + path, { method, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = JSON.parse(res.text);
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

let userN = 0;
// Counselor accounts (only staff may create rooms), made through the admin API.
async function user(srv) {
  const username = `bench${++userN}`;
  await call(srv, "POST", "/_lotse/admin/v1/counselors", srv.admin,
    { username, password: "benchmark-pw", display_name: username, agency: "bench", languages: ["de"], topics: ["bench"] });
  const res = await request(srv.base + "/_matrix/client/v3/login", { method: "POST",
    body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: username }, password: "benchmark-pw" }) });
  return JSON.parse(res.text).access_token;
}

async function provision(srv) {
  const token = writeBootstrapRequest(join(srv.dir, "data"));
  const res = await request(srv.base + "/_lotse/admin/v1/bootstrap", { method: "POST", body: JSON.stringify({ bootstrap_token: token }) });
  srv.admin = JSON.parse(res.text).access_token;
  await call(srv, "POST", "/_lotse/admin/v1/agencies", srv.admin, { agency_id: "bench", name: "Bench" });
  await call(srv, "POST", "/_lotse/admin/v1/topics", srv.admin, { topic_id: "bench", name: "Bench" });
}

const canonical = (v) => Array.isArray(v) ? `[${v.map(canonical).join(",")}]`
  : v && typeof v === "object" ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`
  : JSON.stringify(v);
const b64 = (buf) => buf.toString("base64").replace(/=+$/, "");
function signed(obj, userId, keyId, privateKey) {
  return { ...obj, signatures: { [userId]: { [keyId]: b64(sign(null, Buffer.from(canonical(obj)), privateKey)) } } };
}

async function keysBench(srv) {
  // A colleague with 10 devices, in a room with the one who asks (keys are told only to those who
  // share a room).
  const username = `keys${++userN}`;
  await call(srv, "POST", "/_lotse/admin/v1/counselors", srv.admin,
    { username, password: "benchmark-pw", display_name: username, agency: "bench", languages: ["de"], topics: ["bench"] });
  const userId = `@${username}:localhost`;
  const OTKS = 200;
  let firstToken;
  for (let d = 0; d < 10; d++) {
    const login = JSON.parse((await request(srv.base + "/_matrix/client/v3/login", { method: "POST",
      body: JSON.stringify({ type: "m.login.password", identifier: { type: "m.id.user", user: username }, password: "benchmark-pw" }) })).text);
    firstToken ??= login.access_token;
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const pub = b64(publicKey.export({ format: "der", type: "spki" }).subarray(12));
    const dev = login.device_id, keyId = `ed25519:${dev}`;
    const device_keys = signed({ user_id: userId, device_id: dev, algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
      keys: { [keyId]: pub, [`curve25519:${dev}`]: b64(Buffer.alloc(32, d)) } }, userId, keyId, privateKey);
    const one_time_keys = {};
    for (let i = 0; i < OTKS; i++) one_time_keys[`signed_curve25519:K${i}`] = signed({ key: b64(Buffer.alloc(32, i % 250)) }, userId, keyId, privateKey);
    await call(srv, "POST", "/_matrix/client/v3/keys/upload", login.access_token, { device_keys, one_time_keys });
  }
  const asker = await user(srv);
  const { room_id } = await call(srv, "POST", "/_matrix/client/v3/createRoom", asker, { invite: [userId] });
  await call(srv, "POST", `/_matrix/client/v3/join/${enc(room_id)}`, firstToken, {});
  const lat = [];
  for (let i = 0; i < 300; i++) {
    const s = performance.now();
    const res = await call(srv, "POST", "/_matrix/client/v3/keys/query", asker, { device_keys: { [userId]: [] } });
    lat.push(performance.now() - s);
    if (Object.keys(res.device_keys[userId]).length !== 10) throw new Error("expected 10 devices");
  }
  lat.sort((a, b) => a - b);
  const devices = Object.keys((await call(srv, "POST", "/_matrix/client/v3/keys/query", asker, { device_keys: { [userId]: [] } })).device_keys[userId]);
  // 20 concurrent claimers, one key of one device per request, until every key is gone.
  let next = 0, claimed = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: 20 }, async () => {
    while (next < devices.length * OTKS) {
      const dev = devices[next++ % devices.length];
      const res = await call(srv, "POST", "/_matrix/client/v3/keys/claim", asker, { one_time_keys: { [userId]: { [dev]: "signed_curve25519" } } });
      if (res.one_time_keys[userId]?.[dev]) claimed++;
    }
  }));
  const secs = (performance.now() - start) / 1000;
  return { keys_query_10_devices_p50_ms: +pct(lat, 0.5).toFixed(2), keys_query_10_devices_p99_ms: +pct(lat, 0.99).toFixed(2),
           key_claims_per_s: Math.round(claimed / secs) };
}

async function mediaBench(srv) {
  const token = await user(srv);
  const size = 100 * 1024 * 1024;
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) bytes.writeUInt32LE((i * 2654435761) >>> 0, i);
  const rssBefore = rssMb(srv.proc.pid);
  let peak = rssBefore;
  const sampler = setInterval(() => { peak = Math.max(peak, rssMb(srv.proc.pid)); }, 20);
  let start = performance.now();
  const up = await request(srv.base + "/_matrix/media/v3/upload", { method: "POST", body: bytes,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/octet-stream", "Content-Length": size } });
  const upSecs = (performance.now() - start) / 1000;
  clearInterval(sampler);
  const uri = JSON.parse(up.text).content_uri;
  start = performance.now();
  const down = await new Promise((resolve, reject) => {
    http.get(`${srv.base}/_matrix/client/v1/media/download/localhost/${uri.split("/").pop()}`, { agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let n = 0;
      res.on("data", (c) => { n += c.length; });
      res.on("end", () => resolve(n));
    }).on("error", reject);
  });
  const downSecs = (performance.now() - start) / 1000;
  if (down !== size) throw new Error(`downloaded ${down} of ${size} bytes`);
  return { upload_100mb_mb_per_s: Math.round(100 / upSecs), download_100mb_mb_per_s: Math.round(100 / downSecs),
           rss_growth_during_100mb_upload_mb: +(peak - rssBefore).toFixed(1) };
}

// wrk: PUT /send round-robin over the 20 senders' rooms, every request with a transaction id of
// its own; wrk's Lua prints the latency percentiles, the server's counter the commits.
async function wrkSends(srv, senders) {
  const dir = mkdtempSync(join(tmpdir(), "lotse-wrk-"));
  const script = join(dir, "send.lua");
  writeFileSync(script, `local senders = {${senders.map((s) => `{"${s.token}","${enc(s.room_id)}"}`).join(",")}}
local counter = 0
function request()
  counter = counter + 1
  local s = senders[(counter % #senders) + 1]
  return wrk.format("PUT", "/_matrix/client/v3/rooms/" .. s[2] .. "/send/m.room.message/wrk" .. counter,
    {["Authorization"] = "Bearer " .. s[1], ["Content-Type"] = "application/json"}, '{"msgtype":"m.text","body":"a message from wrk"}')
end
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.3f %.3f\\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
`);
  const cpu0 = cpuSeconds(srv.proc.pid), commits0 = await counter(srv), syncs0 = await counter(srv, "lotse_db_wal_syncs_total");
  const text = await new Promise((resolve, reject) => {
    const p = spawn("wrk", ["-t1", "-c32", "-d10s", "-s", script, srv.base], { stdio: ["ignore", "pipe", "inherit"] });
    let t = "";
    p.stdout.on("data", (d) => (t += d));
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve(t) : reject(new Error(`wrk exited with ${code}`))));
  });
  rmSync(dir, { recursive: true, force: true });
  const [, requests, micros, errors, p50, p99] = /RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+)/.exec(text).map(Number);
  if (errors) throw new Error(`wrk: ${errors} failed requests`);
  return { wrk_msgs_per_s: Math.round(requests / (micros / 1e6)), wrk_put_p50_ms: p50, wrk_put_p99_ms: p99,
           wrk_server_cpu_us_per_msg: Math.round(((cpuSeconds(srv.proc.pid) - cpu0) * 1e6) / requests),
           wrk_msgs_per_commit: +(requests / ((await counter(srv)) - commits0)).toFixed(1),
           wrk_msgs_per_wal_sync: +(requests / ((await counter(srv, "lotse_db_wal_syncs_total")) - syncs0)).toFixed(1),
           // The WAL starts over under this steady load (checkpointed beside the writes): its size stays bounded.
           wrk_wal_mb_after: +(statSync(join(srv.dir, "data", "lotse.db-wal")).size / 1e6).toFixed(1) };
}

async function main() {
  const srv = await start();
  const out = {};
  try {
    await new Promise((r) => setTimeout(r, 300));
    out.rss_idle_mb = rssMb(srv.proc.pid);
    await provision(srv);

    // 1. Acknowledged messages per second, 20 concurrent senders, each in its own room.
    const senders = [];
    for (let i = 0; i < SENDERS; i++) {
      const token = await user(srv);
      const { room_id } = await call(srv, "POST", "/_matrix/client/v3/createRoom", token, {});
      senders.push({ token, room_id });
    }
    const perSender = Math.ceil(MESSAGES / SENDERS);
    const putLatencies = [];
    const cpu0 = cpuSeconds(srv.proc.pid);
    const sys0 = cpuTimes(srv.proc.pid).sys;
    const commits0 = await counter(srv), syncs0 = await counter(srv, "lotse_db_wal_syncs_total");
    let t0 = performance.now();
    await Promise.all(senders.map(async (s, si) => {
      for (let i = 0; i < perSender; i++) {
        const start = performance.now();
        await call(srv, "PUT", `/_matrix/client/v3/rooms/${enc(s.room_id)}/send/m.room.message/t${si}-${i}`, s.token, { msgtype: "m.text", body: `message ${i} from sender ${si}` });
        putLatencies.push(performance.now() - start);
      }
    }));
    const secs = (performance.now() - t0) / 1000;
    putLatencies.sort((a, b) => a - b);
    out.send_msgs_per_s = Math.round((perSender * SENDERS) / secs);
    out.send_server_cpu_us_per_msg = Math.round(((cpuSeconds(srv.proc.pid) - cpu0) * 1e6) / (perSender * SENDERS));
    out.send_server_sys_us_per_msg = Math.round(((cpuTimes(srv.proc.pid).sys - sys0) * 1e6) / (perSender * SENDERS));
    out.send_put_p50_ms = +pct(putLatencies, 0.5).toFixed(2);
    out.send_put_p99_ms = +pct(putLatencies, 0.99).toFixed(2);
    // Durability has its price: group commits, and the fdatasyncs that make them durable.
    out.send_commits = (await counter(srv)) - commits0;
    out.send_wal_syncs = (await counter(srv, "lotse_db_wal_syncs_total")) - syncs0;
    out.send_msgs_per_commit = +((perSender * SENDERS) / out.send_commits).toFixed(1);

    // 1b. The same rooms and senders driven by wrk (a C load generator, one thread, 32 keep-alive
    // connections, 10 s), so that the load generator takes less of the two cores than Node does.
    Object.assign(out, await wrkSends(srv, senders));

    // 2. Send-to-sync delivery latency while the receiver long-polls.
    const alice = await user(srv), bob = await user(srv);
    const { room_id: room } = await call(srv, "POST", "/_matrix/client/v3/createRoom", alice, { preset: "public_chat" });
    await call(srv, "POST", `/_matrix/client/v3/join/${enc(room)}`, bob, {});
    let since = (await call(srv, "GET", "/_matrix/client/v3/sync?timeout=0", bob)).next_batch;
    const delivery = [];
    for (let i = 0; i < 300; i++) {
      const poll = call(srv, "GET", `/_matrix/client/v3/sync?since=${since}&timeout=10000`, bob);
      await new Promise((r) => setTimeout(r, 2));
      const sentAt = performance.now();
      await call(srv, "PUT", `/_matrix/client/v3/rooms/${enc(room)}/send/m.room.message/d${i}`, alice, { msgtype: "m.text", body: `ping ${i}` });
      const res = await poll;
      delivery.push(performance.now() - sentAt);
      since = res.next_batch;
    }
    delivery.sort((a, b) => a - b);
    out.delivery_p50_ms = +pct(delivery, 0.5).toFixed(2);
    out.delivery_p99_ms = +pct(delivery, 0.99).toFixed(2);

    // 3. Initial sync of a user in 100 rooms with 50 events each.
    const heavy = await user(srv);
    for (let r = 0; r < 100; r++) {
      const { room_id } = await call(srv, "POST", "/_matrix/client/v3/createRoom", heavy, { name: `room ${r}` });
      await Promise.all(Array.from({ length: 43 }, (_, i) =>
        call(srv, "PUT", `/_matrix/client/v3/rooms/${enc(room_id)}/send/m.room.message/h${r}-${i}`, heavy, { msgtype: "m.text", body: `history ${i}` })));
    }
    const syncTimes = [];
    let bytes = 0;
    for (let i = 0; i < 5; i++) {
      const s = performance.now();
      const res = await request(srv.base + "/_matrix/client/v3/sync", { headers: { Authorization: `Bearer ${heavy}` } });
      bytes = res.text.length;
      syncTimes.push(performance.now() - s);
    }
    syncTimes.sort((a, b) => a - b);
    out.initial_sync_100x50_ms = +syncTimes[2].toFixed(1);
    out.initial_sync_bytes = bytes;

    // 5. E2EE: keys/query latency for a user with 10 devices, one-time key claims per second.
    const e2ee = await keysBench(srv);
    Object.assign(out, e2ee);

    // 6. Media: a 100 MB upload (sampling the server's RSS meanwhile) and its download.
    Object.assign(out, await mediaBench(srv));

    // 4. RSS with 1,000 concurrent long-polls.
    out.rss_after_load_mb = +rssMb(srv.proc.pid).toFixed(1);
    const pollers = [];
    for (let i = 0; i < 50; i++) pollers.push({ token: await user(srv) });
    for (const p of pollers) p.since = (await call(srv, "GET", "/_matrix/client/v3/sync?timeout=0", p.token)).next_batch;
    const controller = new AbortController();
    (await import("node:events")).setMaxListeners(2000, controller.signal);
    const polls = [];
    for (let i = 0; i < 1000; i++) {
      const p = pollers[i % pollers.length];
      polls.push(request(`${srv.base}/_matrix/client/v3/sync?since=${p.since}&timeout=20000`, { headers: { Authorization: `Bearer ${p.token}` }, signal: controller.signal }).catch(() => {}));
    }
    await new Promise((r) => setTimeout(r, 3000));
    out.rss_1000_longpolls_mb = +rssMb(srv.proc.pid).toFixed(1);
    controller.abort();
    await Promise.all(polls);
    out.rss_idle_mb = +out.rss_idle_mb.toFixed(1);
  } finally {
    srv.proc.kill("SIGTERM");
    await new Promise((r) => srv.proc.on("exit", r));
    rmSync(srv.dir, { recursive: true, force: true });
  }
  if (args.includes("--json")) console.log(JSON.stringify(out));
  else for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(26)} ${v}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
