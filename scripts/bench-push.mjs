// Push benchmark (issue #14), against a lotse it starts (rate limits off) and a fake push service on
// loopback (HTTPS; tests/integration/web_push_receiver.mjs) in a process of its own
// (scripts/bench-push-service.mjs):
//  - latency from a counselor's send (request start) to the gateway's request at the push service,
//    p50/p99 over sequential sends;
//  - send throughput (20 senders, each into its own 1:1 rooms) without any pusher, then with 1,000
//    registered pushers (every message pushes to its room's other member), and the ratio.
// Usage: node scripts/bench-push.mjs [--messages N] [--rounds N] [--json]
import http from "node:http";
import { fork } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { startServer, register, api } from "../tests/integration/harness.mjs";
import { subscriptionAt } from "../tests/integration/web_push_receiver.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
const MESSAGES = opt("--messages", 6000);
const SENDERS = 20, RECEIVERS = 1000, LATENCY_SAMPLES = 300, ROUNDS = opt("--rounds", 3);
const enc = encodeURIComponent;
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
// CPU seconds (user + system) a process has used so far.
const cpuSeconds = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / 100; };
// The same per thread of a process, summed by thread name (lotse's push thread is "lotse-push").
const threadCpuSeconds = (pid) => {
  const out = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1].split(" ");
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
    } catch { /* the thread ended */ }
  }
  return out;
};
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

let txn = 0;
function send(server, token, roomId, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.baseUrl}/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/b${++txn}`,
      { method: "PUT", agent, headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" } }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`send: ${res.statusCode}`))));
      });
    req.on("error", reject);
    req.end(JSON.stringify({ msgtype: "m.text", body }));
  });
}

async function room(server, owner, other) {
  const created = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: owner.accessToken, body: { invite: [other.userId] } });
  await api(server, "POST", `/_matrix/client/v3/join/${enc(created.body.room_id)}`, { token: other.accessToken, body: {} });
  return created.body.room_id;
}

async function setPusher(server, who, sub, remove = false) {
  const res = await api(server, "POST", "/_matrix/client/v3/pushers/set", { token: who.accessToken, body: {
    kind: remove ? null : "http", app_id: "de.lotse.pwa", pushkey: sub.pushkey, app_display_name: "Lotse", device_display_name: "Bench", lang: "de",
    data: { url: `${server.baseUrl}/_matrix/push/v1/notify`, format: "event_id_only", endpoint: sub.endpoint, auth: sub.auth } } });
  if (res.status !== 200) throw new Error(`pushers/set: ${JSON.stringify(res.body)}`);
}

// Messages/s, and the server's CPU time per message (its own cost, apart from the load generator and
// the fake push service that share the machine), counted until the pushes of the run have gone out.
async function throughput(server, senders, push, expectPushes) {
  const per = Math.ceil(MESSAGES / SENDERS);
  const threads0 = threadCpuSeconds(server.proc.pid);
  const cpu0 = cpuSeconds(server.proc.pid), pushCpu0 = cpuSeconds(push.pid), received0 = push.received, conn0 = push.connections ?? 0;
  const t0 = performance.now();
  await Promise.all(senders.map(async (s) => {
    for (let i = 0; i < per; i++) await send(server, s.user.accessToken, s.rooms[i % s.rooms.length], `m${i}`);
  }));
  const rate = (per * SENDERS) / ((performance.now() - t0) / 1000);
  const deadline = Date.now() + 60000;
  while (expectPushes && push.received - received0 < per * SENDERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const pushes = push.received - received0;
  const threads = threadCpuSeconds(server.proc.pid);
  const pushThreadUs = (((threads["lotse-push"] ?? 0) - (threads0["lotse-push"] ?? 0)) * 1e6) / (per * SENDERS);
  return { rate, cpuUs: ((cpuSeconds(server.proc.pid) - cpu0) * 1e6) / (per * SENDERS), pushes, pushThreadUs,
           connections: (push.connections ?? 0) - conn0,
           pushServiceCpuUs: pushes ? ((cpuSeconds(push.pid) - pushCpu0) * 1e6) / pushes : 0 };
}

// From a send's start to the push request of that event at the push service, one send at a time.
async function latency(server, sender, push) {
  const out = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const before = push.received;
    const t0 = performance.now();
    await send(server, sender.user.accessToken, sender.rooms[i % sender.rooms.length], `latency ${i}`);
    while (push.received === before) await new Promise((r) => setImmediate(r));
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

// The push service's process; `received` follows its count of requests.
async function startPushProcess() {
  const child = fork(new URL("./bench-push-service.mjs", import.meta.url));
  const push = { received: 0, pid: child.pid };
  const ready = new Promise((resolve, reject) => {
    child.on("message", (m) => {
      if (m.port) Object.assign(push, { port: m.port, config: m.config }), resolve();
      else Object.assign(push, { received: m.received, connections: m.connections });
    });
    child.on("exit", (code) => reject(new Error(`push service exited with ${code}`)));
  });
  await ready;
  push.subscription = () => subscriptionAt(push.port);
  push.close = () => new Promise((resolve) => { child.on("exit", resolve); child.send("close"); });
  return push;
}

async function main() {
  const push = await startPushProcess();
  const server = await startServer({ extraConfig: push.config });
  try {
    const receivers = [];
    for (let i = 0; i < RECEIVERS; i++) receivers.push(await register(server));
    const senders = [];
    for (let s = 0; s < SENDERS; s++) {
      const user = await register(server);
      const rooms = [];
      for (let r = s; r < RECEIVERS; r += SENDERS) rooms.push(await room(server, user, receivers[r]));
      senders.push({ user, rooms });
    }
    // Alternating rounds after a warm-up, so a WAL checkpoint or a noisy neighbour does not land on
    // one side only; the figures are the means over the rounds.
    await throughput(server, senders, push, false);
    const subs = receivers.map(() => push.subscription());
    const without = [], withPush = [];
    let latencies = [];
    for (let round = 0; round < ROUNDS; round++) {
      without.push(await throughput(server, senders, push, false));
      for (let i = 0; i < receivers.length; i++) await setPusher(server, receivers[i], subs[i]);
      if (round === 0) latencies = await latency(server, senders[0], push);
      withPush.push(await throughput(server, senders, push, true));
      for (let i = 0; i < receivers.length; i++) await setPusher(server, receivers[i], subs[i], true);
    }
    const mean = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / xs.length;
    const result = {
      push_latency_p50_ms: Number(pct(latencies, 0.5).toFixed(1)),
      push_latency_p99_ms: Number(pct(latencies, 0.99).toFixed(1)),
      sends_per_s_without_pushers: Math.round(mean(without, "rate")),
      sends_per_s_with_1000_pushers: Math.round(mean(withPush, "rate")),
      with_vs_without: Number((mean(withPush, "rate") / mean(without, "rate")).toFixed(3)),
      server_cpu_us_per_send_without: Math.round(mean(without, "cpuUs")),
      server_cpu_us_per_send_with_push: Math.round(mean(withPush, "cpuUs")),
      server_push_thread_cpu_us_per_send: Math.round(mean(withPush, "pushThreadUs")),
      push_service_cpu_us_per_push: Math.round(mean(withPush, "pushServiceCpuUs")),
      push_tls_connections_per_round: Math.round(mean(withPush, "connections")),
      pushes_delivered: withPush.reduce((a, x) => a + x.pushes, 0),
      rounds: ROUNDS,
    };
    if (args.includes("--json")) console.log(JSON.stringify(result));
    else for (const [k, v] of Object.entries(result)) console.log(k.padEnd(32), v);
  } finally {
    await push.close();
    await server.stop();
    server.cleanup();
  }
}

await main();
