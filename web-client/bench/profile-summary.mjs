// Summarises a V8 .cpuprofile (Chromium's Profiler.stop): self time by function and by script,
// and the time spent under chosen callers. Usage: node bench/profile-summary.mjs FILE [TOP]
import { readFileSync } from "node:fs";

const [file, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 25);
const { nodes, samples, timeDeltas } = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(nodes.map((n) => [n.id, n]));
const self = new Map();
samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const name = (n) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber + 1}`;
const sum = (key) => {
  const m = new Map();
  for (const [id, us] of self) { const k = key(byId.get(id)); m.set(k, (m.get(k) ?? 0) + us); }
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
};
const ms = (us) => (us / 1000).toFixed(0).padStart(7) + " ms";
console.log(`total sampled ${ms(total)}`);
console.log("\nself time by function:");
for (const [k, us] of sum(name)) console.log(ms(us), k);
console.log("\nself time by script:");
for (const [k, us] of sum((n) => n.callFrame.url.split("/").pop() || n.callFrame.functionName)) console.log(ms(us), k);
// Inclusive time: each sample counts once for every distinct function on its stack.
const parent = new Map();
for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
samples.forEach((id, i) => {
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) seen.add(name(byId.get(at)));
  for (const k of seen) incl.set(k, (incl.get(k) ?? 0) + (timeDeltas[i] ?? 0));
});
console.log("\ninclusive time by function:");
for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top * 2)) console.log(ms(us), k);
