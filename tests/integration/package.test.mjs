// The Debian package (cpack, CMakeLists.txt): what it holds, what it depends on, that apt on this
// Debian 12 can install it, and that the installed programs, templates and web app work together:
// unpacked into a scratch root, `lotse-admin tenant create` renders an instance from the packaged
// templates and the packaged lotse serves it and the packaged PWA.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { promisify } from "node:util";
import { startServer } from "./harness.mjs";

const exec = promisify(execFile);
const build = process.env.LOTSE_BUILD_DIR;
const skip = !build ? "LOTSE_BUILD_DIR not set (run through CTest)"
  : process.env.LOTSE_SANITIZE === "ON" ? "the package is made from the release build, not the sanitizer one" : false;

test("the Debian package installs on Debian 12 and its programs, templates and web app work together", { skip, timeout: 240000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), "lotse-package-"));
  let srv;
  try {
    await exec("cpack", ["--config", join(build, "CPackConfig.cmake"), "-B", join(work, "out")], { cwd: build, maxBuffer: 1 << 24 });
    const deb = readdirSync(join(work, "out")).find((f) => /^lotse_.*_amd64\.deb$/.test(f));
    assert.ok(deb, "a .deb was made");
    const file = join(work, "out", deb);
    const field = async (name) => (await exec("dpkg-deb", ["-f", file, name])).stdout.trim();
    assert.equal(await field("Package"), "lotse");
    const depends = await field("Depends");
    for (const lib of ["libsodium23", "libsqlite3-0", "libolm3", "libvips42", "libssl3", "libboost-json1.81.0"])
      assert.match(depends, new RegExp(`\\b${lib.replace(/\./g, "\\.")}\\b`), `depends on ${lib}: ${depends}`);
    const contents = (await exec("dpkg-deb", ["-c", file], { maxBuffer: 1 << 24 })).stdout;
    for (const p of ["./usr/bin/lotse", "./usr/bin/lotse-admin", "./usr/bin/lotse-bridge", "./usr/bin/lotse-thumbnailer",
      "./usr/share/lotse/web/index.html", "./usr/share/lotse/web/sw.js", "./usr/share/lotse/deploy/lotse.toml.in",
      "./usr/share/lotse/deploy/nginx-site.conf.in", "./usr/lib/systemd/system/lotse@.service", "./usr/share/doc/lotse/operations.md"])
      assert.ok(contents.split("\n").some((l) => l.endsWith(" " + p)), `the package holds ${p}`);
    // apt resolves it on this Debian 12 (simulated: nothing is installed on the test machine), and on
    // a clean one: against an empty dpkg status apt must find every dependency, and theirs, in the
    // Debian archive (the package lists apt has; scripts/package --clean-install installs it for
    // real into a fresh debootstrap root).
    if (process.getuid?.() === 0) {
      const sim = await exec("apt-get", ["install", "--simulate", "--no-install-recommends", file], { maxBuffer: 1 << 24 });
      assert.match(sim.stdout, /Inst lotse /);
      const lists = existsSync("/var/lib/apt/lists") && readdirSync("/var/lib/apt/lists").some((f) => f.endsWith("_Packages"));
      if (lists) {
        const empty = join(work, "empty-status");
        writeFileSync(empty, "");
        const clean = await exec("apt-get", ["install", "--simulate", "--no-install-recommends", "-o", `Dir::State::status=${empty}`, file],
          { maxBuffer: 1 << 24 });
        const installs = new Set([...clean.stdout.matchAll(/^Inst (\S+) /gm)].map((m) => m[1]));
        assert.ok(installs.has("lotse") && installs.has("libc6"), "a clean system: lotse and everything below it");
        for (const dep of depends.split(",").map((d) => d.trim().split(/[\s|(]/)[0]))
          assert.ok(installs.has(dep), `a clean Debian 12 gets ${dep} from the archive`);
      } else {
        console.error("package test: no apt package lists here; the clean-system resolution is not checked");
      }
    }

    // Unpacked into a scratch root: the packaged lotse-admin renders a tenant from the packaged
    // templates, and the packaged lotse serves it with the packaged web app.
    const root = join(work, "root");
    await exec("dpkg-deb", ["-x", file, root]);
    const etc = join(work, "etc"), data = join(work, "data"), nginx = join(work, "nginx");
    await exec(join(root, "usr/bin/lotse-admin"), ["tenant", "create", "paket", "--domain", "paket.example.org", "--port", "8199",
      "--etc-dir", etc, "--data-root", data, "--nginx-dir", nginx,
      "--templates", join(root, "usr/share/lotse/deploy"), "--web-dir", join(root, "usr/share/lotse/web")]);
    const config = readFileSync(join(etc, "paket.toml"), "utf8");
    assert.match(config, new RegExp(`dir = "${join(root, "usr/share/lotse/web")}"`));
    assert.ok(existsSync(join(nginx, "lotse-paket.conf")));
    // Started on loopback through the test harness, with the packaged binary and the rendered web dir.
    srv = await startServer({ bin: join(root, "usr/bin/lotse"), extraConfig: `[web_client]\ndir = "${join(root, "usr/share/lotse/web")}"` });
    const health = await fetch(`${srv.baseUrl}/health`);
    assert.equal(health.status, 200);
    const page = await fetch(`${srv.baseUrl}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="app">/);
    const unit = readFileSync(join(root, "usr/lib/systemd/system/lotse@.service"), "utf8");
    assert.match(unit, /^ExecStart=\/usr\/bin\/lotse --config \/etc\/lotse\/%i\.toml$/m);
  } finally {
    await srv?.stop();
    srv?.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
});
