// Idle long-polls (issue #18): USERS receivers, each with DEVICES logged-in devices, each device with
// one waiting /sync on a keep-alive connection of its own (10,000 by default), each receiver in a room
// of its own with one of 20 senders. Reports lotse's memory (VmRSS and its anonymous part) before and
// with all polls waiting, per waiting request; then sends one message into each room, one after the
// other, and checks that each wakes exactly the polls of that room's receiver (every poll answers with
// its room's event and nothing else, and none answers before its room's send), with the delay from
// the send to each poll's answer (the commit's fsync included), p50/p99, how many answers came even
// before the send's own acknowledgement, the commits (fsyncs) and lotse's CPU per send. Run: scripts/bench-longpoll [--users N] [--devices N] [--json]. Starts one loopback lotse and
// stops it by its pid.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import http from "node:http";
import { freePort, writeBootstrapRequest } from "../tests/integration/harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const LOTSE = process.env.LOTSE_BIN ?? join(here, "../build/server/lotse");
const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
const USERS = opt("--users", 1000);
const DEVICES = opt("--devices", 10);
const SENDERS = 20;
const enc = encodeURIComponent;

// Setup requests share a few connections; every poll gets a connection of its own.
const setupAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const pollAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function request(base, method, path, { token, body, agent = setupAgent } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method, agent, headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) } }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        const json = text ? JSON.parse(text) : {};
        if (res.statusCode !== 200) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
        else resolve(json);
      });
    });
    req.on("error", reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

const status = (pid, field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
const cpuSeconds = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / 100; };
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs fn over items with at most `width` at a time.
async function pool(items, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => { while (next < items.length) { const i = next++; await fn(items[i], i); } }));
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "lotse-longpoll-"));
  const port = await freePort(), metricsPort = await freePort();
  writeFileSync(join(dir, "lotse.toml"), [`server_name = "localhost"`, `listen_address = "127.0.0.1"`, `listen_port = ${port}`,
    `data_dir = "${dir}/data"`, "[rate_limits]", "enabled = false", "[security]", `password_hash = "minimal"`,
    "[http]", "max_connections = 20000", "max_connections_per_ip = 20000",
    "[metrics]", "enabled = true", `listen_port = ${metricsPort}`].join("\n"));
  const proc = spawn(LOTSE, ["--config", join(dir, "lotse.toml")], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    proc.on("exit", (code) => reject(new Error(`lotse exited with ${code}`)));
    proc.stdout.on("data", function onData(d) { if (d.toString().includes("lotse started")) { proc.stdout.off("data", onData); proc.stdout.resume(); resolve(); } });
  });
  const base = `http://127.0.0.1:${port}`;
  const out = { users: USERS, devices_per_user: DEVICES, polls: USERS * DEVICES };
  const metric = async (name) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(await new Promise((resolve, reject) =>
    http.get(`http://127.0.0.1:${metricsPort}/metrics`, (res) => { let t = ""; res.on("data", (c) => (t += c)); res.on("end", () => resolve(t)); }).on("error", reject)))[1]);
  const waiting = () => metric("lotse_sync_waiting");
  try {
    const admin = (await request(base, "POST", "/_lotse/admin/v1/bootstrap", { body: { bootstrap_token: writeBootstrapRequest(join(dir, "data")) } })).access_token;
    await request(base, "POST", "/_lotse/admin/v1/agencies", { token: admin, body: { agency_id: "bench", name: "Bench" } });
    await request(base, "POST", "/_lotse/admin/v1/topics", { token: admin, body: { topic_id: "bench", name: "Bench" } });
    const login = (username) => request(base, "POST", "/_matrix/client/v3/login", { body: { type: "m.login.password", identifier: { type: "m.id.user", user: username }, password: "benchmark-pw" } });
    const account = async (username) => {
      await request(base, "POST", "/_lotse/admin/v1/counselors", { token: admin, body: { username, password: "benchmark-pw", display_name: username, agency: "bench", languages: ["de"], topics: ["bench"] } });
      return login(username);
    };
    const t0 = performance.now();
    const senders = [];
    for (let s = 0; s < SENDERS; s++) senders.push(await account(`sender${s}`));
    const receivers = Array.from({ length: USERS }, (_, i) => ({ i }));
    await pool(receivers, 16, async (r) => {
      const first = await account(`receiver${r.i}`);
      r.user_id = first.user_id;
      r.devices = [first.access_token];
      for (let d = 1; d < DEVICES; d++) r.devices.push((await login(`receiver${r.i}`)).access_token);
      const sender = senders[r.i % SENDERS];
      r.sender = sender.access_token;
      r.room = (await request(base, "POST", "/_matrix/client/v3/createRoom", { token: r.sender, body: { invite: [r.user_id] } })).room_id;
      await request(base, "POST", `/_matrix/client/v3/join/${enc(r.room)}`, { token: first.access_token, body: {} });
      r.since = [];
      for (const token of r.devices) r.since.push((await request(base, "GET", "/_matrix/client/v3/sync?timeout=0", { token })).next_batch);
    });
    out.setup_s = +((performance.now() - t0) / 1000).toFixed(1);

    await sleep(1000);
    out.rss_before_mb = +status(proc.pid, "VmRSS").toFixed(1);
    out.anon_before_mb = +status(proc.pid, "RssAnon").toFixed(1);
    // Every device's poll, each on a connection of its own, waiting up to 5 minutes.
    const polls = [];
    for (const r of receivers) {
      r.done = 0;
      r.devices.forEach((token, d) => {
        const poll = { r, d };
        poll.promise = request(base, "GET", `/_matrix/client/v3/sync?since=${r.since[d]}&timeout=300000`, { token, agent: pollAgent })
          .then((res) => { poll.at = performance.now(); poll.res = res; r.done++; });
        polls.push(poll);
      });
    }
    const deadline = performance.now() + 120000;
    while ((await waiting()) < polls.length) {
      if (performance.now() > deadline) throw new Error(`only ${await waiting()} of ${polls.length} polls waiting`);
      await sleep(200);
    }
    await sleep(2000);
    out.waiting = await waiting();
    out.rss_waiting_mb = +status(proc.pid, "VmRSS").toFixed(1);
    out.anon_waiting_mb = +status(proc.pid, "RssAnon").toFixed(1);
    out.rss_per_poll_kb = +(((out.rss_waiting_mb - out.rss_before_mb) * 1024) / polls.length).toFixed(2);

    // One message into each room, one after the other: only that room's receiver's polls answer.
    const fromStart = [];
    let beforeAck = 0;
    let early = 0;
    if (process.env.LOTSE_BENCH_PHASE_FILE) writeFileSync(process.env.LOTSE_BENCH_PHASE_FILE, `sending ${proc.pid}\n`);
    const cpu0 = cpuSeconds(proc.pid), commits0 = await metric("lotse_db_commits_total");
    for (const r of receivers) {
      if (r.done !== 0) early++;
      const sentAt = performance.now();
      const { event_id } = await request(base, "PUT", `/_matrix/client/v3/rooms/${enc(r.room)}/send/m.room.message/b${r.i}`, { token: r.sender, body: { msgtype: "m.text", body: `wake ${r.i}` } });
      const ackAt = performance.now();
      r.event_id = event_id;
      const mine = polls.filter((p) => p.r === r);
      await Promise.all(mine.map((p) => p.promise));
      for (const p of mine) { if (p.at <= ackAt) beforeAck++; fromStart.push(p.at - sentAt); }
    }
    out.send_cpu_us = Math.round(((cpuSeconds(proc.pid) - cpu0) * 1e6) / receivers.length);
    out.send_commits = (await metric("lotse_db_commits_total")) - commits0;
    let wrong = 0;
    for (const p of polls) {
      const rooms = Object.keys(p.res.rooms?.join ?? {});
      const events = rooms.flatMap((id) => p.res.rooms.join[id].timeline.events.map((e) => e.event_id));
      if (rooms.length !== 1 || rooms[0] !== p.r.room || !events.includes(p.r.event_id)) wrong++;
    }
    out.polls_answered_before_their_send = early;
    out.polls_with_other_rooms_or_missing_event = wrong;
    fromStart.sort((a, b) => a - b);
    // lotse wakes the waiters when the commit is done, before it answers the send itself.
    out.polls_answered_before_the_send_was_acknowledged = beforeAck;
    out.send_to_answer_p50_ms = +pct(fromStart, 0.5).toFixed(2);
    out.send_to_answer_p99_ms = +pct(fromStart, 0.99).toFixed(2);
    await sleep(1000);
    out.rss_after_mb = +status(proc.pid, "VmRSS").toFixed(1);
  } finally {
    proc.kill("SIGTERM");
    await new Promise((r) => proc.on("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
  if (args.includes("--json")) console.log(JSON.stringify(out));
  else for (const [k, v] of Object.entries(out)) console.log(`${k.padEnd(40)} ${v}`);
  if (out.polls_answered_before_their_send || out.polls_with_other_rooms_or_missing_event) process.exitCode = 1;
}

main().catch((e) => { console.error(e); process.exit(1); });
