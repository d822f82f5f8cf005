// Density (issue #17): N lotse instances on this machine, each with its own data directory and a
// few users and rooms, as tenants on one small VM. Reports total and per-instance RSS when idle,
// idle CPU over 10 s, the start-up time of one instance, and the aggregate throughput of
// acknowledged messages when all of them are sent to at once. Run: scripts/bench-density [N]
// (default 100). Starts only loopback servers and stops each by its pid.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import http from "node:http";
import { writeBootstrapRequest } from "../tests/integration/harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const LOTSE = process.env.LOTSE_BIN ?? join(here, "../build/server/lotse");
const N = Number(process.argv[2] ?? 100);
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

const freePort = () => new Promise((resolve) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); }); });
const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
// What a process really costs the machine: PSS (its private pages plus its share of the pages it
// shares, e.g. the libraries every instance maps) and its anonymous (private) pages, from smaps_rollup.
const smapsMb = (pid, field) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))[1]) / 1024;
const cpuSeconds = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / 100; };

function request(base, method, path, token, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method, agent, headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) } }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, body: text ? JSON.parse(text) : {} }));
    });
    req.on("error", reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

async function start(i) {
  const dir = mkdtempSync(join(tmpdir(), `lotse-tenant${i}-`));
  mkdirSync(join(dir, "data"));
  const port = await freePort();
  writeFileSync(join(dir, "lotse.toml"), [`server_name = "tenant${i}.test"`, `listen_address = "127.0.0.1"`, `listen_port = ${port}`,
    `data_dir = "${join(dir, "data")}"`, "[rate_limits]", "enabled = false", "[security]", `password_hash = "minimal"`, "[web_client]", `dir = ""`].join("\n"));
  const t0 = performance.now();
  const proc = spawn(LOTSE, ["--config", join(dir, "lotse.toml")], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((resolve, reject) => {
    proc.on("exit", (code) => reject(new Error(`tenant ${i} exited with ${code}`)));
    proc.stdout.on("data", function onData(d) { if (d.toString().includes("lotse started")) { proc.stdout.off("data", onData); proc.stdout.resume(); resolve(); } });
  });
  return { i, dir, proc, base: `http://127.0.0.1:${port}`, startMs: performance.now() - t0 };
}

// An administrator, two counselors who share a room, a handful of messages, and a seeker with an
// open consultation that the first counselor has accepted.
async function populate(t) {
  const token = writeBootstrapRequest(join(t.dir, "data"));
  const admin = (await request(t.base, "POST", "/_lotse/admin/v1/bootstrap", null, { bootstrap_token: token })).body.access_token;
  await request(t.base, "POST", "/_lotse/admin/v1/agencies", admin, { agency_id: "a", name: "A" });
  await request(t.base, "POST", "/_lotse/admin/v1/topics", admin, { topic_id: "t", name: "T" });
  const tokens = [];
  for (const u of ["c1", "c2"]) {
    await request(t.base, "POST", "/_lotse/admin/v1/counselors", admin, { username: u, password: "density-pw", display_name: u, agency: "a", languages: ["de"], topics: ["t"] });
    tokens.push((await request(t.base, "POST", "/_matrix/client/v3/login", null, { type: "m.login.password", identifier: { type: "m.id.user", user: u }, password: "density-pw" })).body.access_token);
  }
  t.room = (await request(t.base, "POST", "/_matrix/client/v3/createRoom", tokens[0], {})).body.room_id;
  t.token = tokens[0];
  for (let k = 0; k < 5; k++) await request(t.base, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(t.room)}/send/m.room.message/p${k}`, t.token, { msgtype: "m.text", body: `hello ${k}` });
  const reg = { username: "s1", password: "density-seeker-pw" };
  const first = await request(t.base, "POST", "/_matrix/client/v3/register", null, reg);
  const seeker = (await request(t.base, "POST", "/_matrix/client/v3/register", null, { ...reg, auth: { type: "m.login.dummy", session: first.body.session } })).body;
  const c1 = (await request(t.base, "GET", "/_lotse/client/v1/counselors?topic=t", seeker.access_token)).body.counselors?.find((c) => c.user_id.startsWith("@c1:"));
  const consultation = await request(t.base, "POST", "/_lotse/client/v1/consultations", seeker.access_token, { counselor: c1?.user_id, topic: "t" });
  if (consultation.status !== 200) throw new Error(`tenant ${t.i}: no consultation: ${JSON.stringify(consultation.body)}`);
  const joined = await request(t.base, "POST", `/_matrix/client/v3/join/${encodeURIComponent(consultation.body.room_id)}`, t.token, {});
  if (joined.status !== 200) throw new Error(`tenant ${t.i}: the counselor could not accept: ${JSON.stringify(joined.body)}`);
}

const tenants = [];
try {
  for (let i = 0; i < N; i++) tenants.push(await start(i));
  for (const t of tenants) await populate(t);
  await new Promise((r) => setTimeout(r, 2000));
  const rss = tenants.map((t) => rssMb(t.proc.pid));
  const pss = tenants.map((t) => smapsMb(t.proc.pid, "Pss"));
  const anon = tenants.map((t) => smapsMb(t.proc.pid, "Anonymous"));
  const cpu0 = tenants.map((t) => cpuSeconds(t.proc.pid));
  await new Promise((r) => setTimeout(r, 10000));
  const idleCpu = tenants.reduce((s, t, k) => s + cpuSeconds(t.proc.pid) - cpu0[k], 0) / 10;
  // All tenants at once: 2 senders each for 10 s, each waiting for its acknowledgement.
  let sent = 0, stop = false;
  const t0 = performance.now();
  await Promise.all(tenants.flatMap((t) => [0, 1].map(async (s) => {
    let n = 0;
    while (!stop) {
      const res = await request(t.base, "PUT", `/_matrix/client/v3/rooms/${encodeURIComponent(t.room)}/send/m.room.message/l${s}-${n++}`, t.token, { msgtype: "m.text", body: "load" });
      if (res.status === 200) sent++;
    }
  })).concat([new Promise((r) => setTimeout(() => { stop = true; r(); }, 10000))]));
  const seconds = (performance.now() - t0) / 1000;
  const starts = tenants.map((t) => t.startMs).sort((a, b) => a - b);
  const out = {
    instances: N,
    "RSS total idle (MB)": Math.round(rss.reduce((a, b) => a + b, 0)),
    "RSS per instance idle (MB)": +(rss.reduce((a, b) => a + b, 0) / N).toFixed(1),
    "PSS total idle (MB)": Math.round(pss.reduce((a, b) => a + b, 0)),
    "anonymous memory per instance idle (MB)": +(anon.reduce((a, b) => a + b, 0) / N).toFixed(1),
    "idle CPU, all instances (% of one core)": +(idleCpu * 100).toFixed(2),
    "start-up of one instance, median (ms)": Math.round(starts[Math.floor(N / 2)]),
    "acknowledged msgs/s, all at once": Math.round(sent / seconds),
  };
  for (const [k, v] of Object.entries(out)) console.log(k.padEnd(42), v);
} finally {
  for (const t of tenants) { t.proc.removeAllListeners("exit"); t.proc.kill("SIGTERM"); }
  await new Promise((r) => setTimeout(r, 1500));
  for (const t of tenants) { if (t.proc.exitCode === null && t.proc.signalCode === null) t.proc.kill("SIGKILL"); rmSync(t.dir, { recursive: true, force: true }); }
}
