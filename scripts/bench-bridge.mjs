// See scripts/bench-bridge. Starts only loopback servers (the test harness) and stops them by pid.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "../tests/integration/harness.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const BRIDGE = process.env.LOTSE_BRIDGE_BIN ?? join(here, "../build/bridge/lotse-bridge");
process.env.LOTSE_BIN ??= join(here, "../build/server/lotse");
process.env.LOTSE_ADMIN_BIN ??= join(here, "../build/server/lotse-admin");
const EXPORT = process.env.LOTSE_OLD_EXPORT ?? join(here, "../tests/fixtures/old-system");
const FACTOR = Number(process.argv[2] ?? 10);
const work = mkdtempSync(join(tmpdir(), "lotse-bench-bridge-"));

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    child.stdout.on("data", (d) => { out += d; });
    child.stderr.on("data", (d) => { err += d; });
    child.on("close", (code) => (code === 0 ? resolve({ out, err }) : reject(new Error(`${cmd} ${args[0]}: ${err}`))));
  });
}
const hwmMb = (pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;

async function importOnce(dir, label, rateLimits) {
  const server = await startServer({ rateLimits });
  try {
    const state = join(work, `${label.replace(/\W+/g, "-")}-${rateLimits ? "limited" : "open"}.db`);
    const t0 = process.hrtime.bigint();
    const { out, err } = await run("/usr/bin/time", ["-f", "%e %M", BRIDGE, "import", "--export", dir, "--secrets", join(dir, "secrets.example.toml"),
      "--server", server.baseUrl, "--token", server.admin.accessToken, "--state", state, "--json"]);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const [, bridgeKb] = err.trim().split("\n").pop().split(" ").map(Number);
    const done = JSON.parse(out).done;
    const again0 = process.hrtime.bigint();
    await run(BRIDGE, ["import", "--export", dir, "--secrets", join(dir, "secrets.example.toml"), "--server", server.baseUrl,
      "--token", server.admin.accessToken, "--state", state, "--json"]);
    const again = Number(process.hrtime.bigint() - again0) / 1e9;
    return {
      export: label, rate_limits: rateLimits, messages: done.messages, files: done.files, accounts: done["accounts.created"], rooms: done.rooms,
      seconds: +seconds.toFixed(1), messages_per_s: Math.round(done.messages / seconds),
      bridge_peak_rss_mb: +(bridgeKb / 1024).toFixed(1), server_peak_rss_mb: +hwmMb(server.proc.pid).toFixed(1),
      second_run_s: +again.toFixed(1),
    };
  } finally {
    await server.stop();
    server.cleanup();
  }
}

const rows = [];
rows.push(await importOnce(EXPORT, "shared export", false));
rows.push(await importOnce(EXPORT, "shared export", true));
const big = join(work, `x${FACTOR}`);
await run("node", [join(here, "old-export-multiply.mjs"), EXPORT, big, String(FACTOR)]);
rows.push(await importOnce(big, `${FACTOR}x export`, false));
for (const r of rows) console.log(JSON.stringify(r));
const big10 = rows[2];
// An 8-hour night at the 10x run's rate (rate limits off for the import, as docs/operations.md says).
console.log(JSON.stringify({ messages_per_night_8h: Math.round(big10.messages_per_s * 8 * 3600) }));
rmSync(work, { recursive: true, force: true });
