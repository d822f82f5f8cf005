// Push benchmark (issue #14), against a lotse it starts (rate limits off) and a fake push service on
// loopback (HTTPS; tests/integration/web_push_receiver.mjs) in a process of its own
// (scripts/bench-push-service.mjs):
//  - latency from a counselor's send (request start) to the gateway's request at the push service,
//    p50/p99 over sequential sends;
//  - send throughput (20 senders, each into its own 1:1 rooms) without any pusher, then with 1,000
//    registered pushers (every message pushes to its room's other member), and the ratio: once with
//    everything sharing the cores, once with the send path and the push work pinned to a core each.
// Usage: node scripts/bench-push.mjs [--messages N] [--rounds N] [--json]
import http from "node:http";
import { execFileSync, fork } from "node:child_process";
import { availableParallelism } from "node:os";
import { readFileSync, readdirSync } from "node:fs";
import { startServer, register, api, freePort } from "../tests/integration/harness.mjs";
import { subscriptionAt } from "../tests/integration/web_push_receiver.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
const MESSAGES = opt("--messages", 6000);
const SENDERS = 20, RECEIVERS = 1000, LATENCY_SAMPLES = 300, ROUNDS = opt("--rounds", 4);
const enc = encodeURIComponent;
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
// CPU seconds (user + system) from a /proc stat file: a process's or one thread's.
const statCpuSeconds = (path) => { const f = readFileSync(path, "utf8").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / 100; };
const cpuSeconds = (pid) => statCpuSeconds(`/proc/${pid}/stat`);
// Thread ids of a process with their names.
const threadsOf = (pid) => readdirSync(`/proc/${pid}/task`).map((tid) => {
  try { return { tid, name: readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim() }; } catch { return null; }
}).filter(Boolean);
// CPU seconds per thread of a process, summed by thread name (lotse's push thread is "lotse-push").
const threadCpuSeconds = (pid) => {
  const out = {};
  for (const { tid, name } of threadsOf(pid)) {
    try { out[name] = (out[name] ?? 0) + statCpuSeconds(`/proc/${pid}/task/${tid}/stat`); } catch { /* the thread ended */ }
  }
  return out;
};
// lotse's group commits so far (GET /metrics on its own listener): how many, and their time in all.
async function commitFigures(server) {
  const text = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
  const value = (name) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  return { count: value("lotse_db_commits_total"), seconds: value("lotse_db_commit_duration_seconds_sum") };
}

// Bytes a process has had written to storage (its database's WAL and checkpoints).
const bytesWritten = (pid) => Number(/^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))[1]);
const taskset = (cpus, tid) => execFileSync("taskset", ["-p", "-c", cpus, String(tid)], { stdio: "ignore" });
// The load generator (this process) and lotse but its push thread on CPU 0; the push thread and the
// push service on CPU 1. False when taskset is missing or refused.
function pin(serverPid, pushPid) {
  try {
    const pushThread = threadsOf(serverPid).find((t) => t.name === "lotse-push");
    if (!pushThread) return false;
    for (const t of threadsOf(process.pid)) taskset("0", t.tid);
    for (const t of threadsOf(serverPid)) taskset(t === pushThread ? "1" : "0", t.tid);
    for (const t of threadsOf(pushPid)) taskset("1", t.tid);
    return true;
  } catch {
    return false;
  }
}
function unpin(serverPid, pushPid) {
  const all = `0-${availableParallelism() - 1}`;
  for (const pid of [process.pid, serverPid, pushPid]) for (const t of threadsOf(pid)) try { taskset(all, t.tid); } catch { /* ended */ }
}
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
  const written0 = bytesWritten(server.proc.pid);
  const genCpu0 = cpuSeconds(process.pid), commits0 = await commitFigures(server);
  const cpu0 = cpuSeconds(server.proc.pid), pushCpu0 = cpuSeconds(push.pid), received0 = push.received, conn0 = push.connections ?? 0;
  const t0 = performance.now();
  await Promise.all(senders.map(async (s) => {
    for (let i = 0; i < per; i++) await send(server, s.user.accessToken, s.rooms[i % s.rooms.length], `m${i}`);
  }));
  const rate = (per * SENDERS) / ((performance.now() - t0) / 1000);
  const genUs = ((cpuSeconds(process.pid) - genCpu0) * 1e6) / (per * SENDERS);
  const commits1 = await commitFigures(server);
  const commits = commits1.count - commits0.count;
  const commitMs = commits ? ((commits1.seconds - commits0.seconds) * 1000) / commits : 0;
  const writtenPerSend = (bytesWritten(server.proc.pid) - written0) / (per * SENDERS);
  const sendsPerCommit = commits ? (per * SENDERS) / commits : 0;
  const deadline = Date.now() + 60000;
  while (expectPushes && push.received - received0 < per * SENDERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const pushes = push.received - received0;
  const threads = threadCpuSeconds(server.proc.pid);
  const pushThreadUs = (((threads["lotse-push"] ?? 0) - (threads0["lotse-push"] ?? 0)) * 1e6) / (per * SENDERS);
  return { rate, cpuUs: ((cpuSeconds(server.proc.pid) - cpu0) * 1e6) / (per * SENDERS), pushes, pushThreadUs,
           connections: (push.connections ?? 0) - conn0, genUs, commitMs, sendsPerCommit, writtenPerSend,
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
  const metricsPort = await freePort();
  const server = await startServer({ extraConfig: `${push.config}\n[metrics]\nenabled = true\nlisten_port = ${metricsPort}` });
  server.metricsPort = metricsPort;
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
    const without = [], withPush = [], pinnedWithout = [], pinnedWith = [];
    let latencies = [];
    // The database grows with every run and each commit writes a little more, so the order of the two
    // sides alternates (without, with, with, without, ...): neither is always the later one.
    const rounds = async (into, intoWith, first) => {
      const withPushers = async () => {
        for (let i = 0; i < receivers.length; i++) await setPusher(server, receivers[i], subs[i]);
        if (first && !latencies.length) latencies = await latency(server, senders[0], push);
        intoWith.push(await throughput(server, senders, push, true));
        for (let i = 0; i < receivers.length; i++) await setPusher(server, receivers[i], subs[i], true);
      };
      for (let round = 0; round < ROUNDS; round++) {
        if (round % 2 === 0) {
          into.push(await throughput(server, senders, push, false));
          await withPushers();
        } else {
          await withPushers();
          into.push(await throughput(server, senders, push, false));
        }
      }
    };
    // 1. Everything shares the machine's cores: the load generator, lotse's threads and the fake push
    //    service. Each push costs CPU (RFC 8291's per-message ECDH, TLS at both ends), so on a saturated
    //    machine it is taken from the senders.
    await rounds(without, withPush, true);
    // 2. The send path on a core of its own (the load generator and lotse's network thread on CPU 0),
    //    the push work beside it (lotse's push thread and the push service on CPU 1), in both runs
    //    alike: what pushing costs the senders themselves, as on a server whose push service is
    //    elsewhere and whose push thread has a core to run on.
    const pinned = availableParallelism() >= 2 && pin(server.proc.pid, push.pid);
    if (pinned) {
      await rounds(pinnedWithout, pinnedWith, false);
      unpin(server.proc.pid, push.pid);
    }
    const mean = (xs, k) => xs.reduce((a, x) => a + x[k], 0) / xs.length;
    const pinnedResult = pinned ? {
      pinned_sends_per_s_without_pushers: Math.round(mean(pinnedWithout, "rate")),
      pinned_sends_per_s_with_1000_pushers: Math.round(mean(pinnedWith, "rate")),
      pinned_with_vs_without: Number((mean(pinnedWith, "rate") / mean(pinnedWithout, "rate")).toFixed(3)),
      pinned_load_generator_cpu_us_per_send_without: Math.round(mean(pinnedWithout, "genUs")),
      pinned_load_generator_cpu_us_per_send_with_push: Math.round(mean(pinnedWith, "genUs")),
      pinned_commit_ms_without: Number(mean(pinnedWithout, "commitMs").toFixed(2)),
      pinned_commit_ms_with_push: Number(mean(pinnedWith, "commitMs").toFixed(2)),
      pinned_sends_per_commit_without: Number(mean(pinnedWithout, "sendsPerCommit").toFixed(1)),
      pinned_sends_per_commit_with_push: Number(mean(pinnedWith, "sendsPerCommit").toFixed(1)),
      pinned_network_thread_cpu_us_per_send_without: Math.round(mean(pinnedWithout, "cpuUs") - mean(pinnedWithout, "pushThreadUs")),
      pinned_network_thread_cpu_us_per_send_with_push: Math.round(mean(pinnedWith, "cpuUs") - mean(pinnedWith, "pushThreadUs")),
    } : { pinned: "needs 2 cores" };
    const result = {
      push_latency_p50_ms: Number(pct(latencies, 0.5).toFixed(1)),
      push_latency_p99_ms: Number(pct(latencies, 0.99).toFixed(1)),
      sends_per_s_without_pushers: Math.round(mean(without, "rate")),
      sends_per_s_with_1000_pushers: Math.round(mean(withPush, "rate")),
      with_vs_without: Number((mean(withPush, "rate") / mean(without, "rate")).toFixed(3)),
      server_cpu_us_per_send_without: Math.round(mean(without, "cpuUs")),
      server_cpu_us_per_send_with_push: Math.round(mean(withPush, "cpuUs")),
      db_bytes_written_per_send_without: Math.round(mean(without, "writtenPerSend")),
      db_bytes_written_per_send_with_push: Math.round(mean(withPush, "writtenPerSend")),
      commit_ms_without: Number(mean(without, "commitMs").toFixed(2)),
      commit_ms_with_push: Number(mean(withPush, "commitMs").toFixed(2)),
      server_push_thread_cpu_us_per_send: Math.round(mean(withPush, "pushThreadUs")),
      push_service_cpu_us_per_push: Math.round(mean(withPush, "pushServiceCpuUs")),
      push_tls_connections_per_round: Math.round(mean(withPush, "connections")),
      pushes_delivered: withPush.reduce((a, x) => a + x.pushes, 0),
      ...pinnedResult,
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
