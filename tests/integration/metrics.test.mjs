// GET /metrics: Prometheus text on its own listener, never on the public port, with no identifiers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, api, register, registerSeeker, waitFor } from "./harness.mjs";

test("metrics count requests by route, commits, users and consultations, and name no one", async () => {
  const srv = await startServer({ extraConfig: "[metrics]\nenabled = true\nlisten_port = 0" });
  try {
    const started = JSON.parse(srv.lines.find((l) => l.includes('"lotse started"')));
    assert.match(started.metrics, /^127\.0\.0\.1:\d+$/);
    const metricsUrl = `http://${started.metrics}/metrics`;
    const counselor = await register(srv);
    const seeker = await registerSeeker(srv);
    const opened = await api(srv, "POST", "/_lotse/client/v1/consultations", { token: seeker.accessToken, body: { counselor: counselor.userId, topic: "aufenthalt" } });
    assert.equal(opened.status, 200);
    await api(srv, "GET", "/_matrix/client/v3/sync", { token: seeker.accessToken });
    await api(srv, "GET", "/_matrix/client/v3/sync", { token: "wrong" });
    const res = await fetch(metricsUrl);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
    assert.equal(res.headers.get("access-control-allow-origin"), null, "no web page may read /metrics");
    const text = await res.text();
    assert.match(text, /lotse_http_requests_total\{method="GET",route="\/_matrix\/client\/v3\/sync",status="200"\} 1/);
    assert.match(text, /lotse_http_requests_total\{method="GET",route="\/_matrix\/client\/v3\/sync",status="401"\} 1/);
    assert.match(text, /lotse_http_request_duration_seconds_bucket\{route="\/_matrix\/client\/v3\/sync",le="\+Inf"\} 2/);
    assert.match(text, /lotse_db_commits_total [1-9]/);
    assert.match(text, /lotse_users\{role="seeker"\} 1/);
    assert.match(text, /lotse_users\{role="counselor"\} 1/);
    assert.match(text, /lotse_consultations_open 1/);
    assert.match(text, /lotse_sync_waiting 0/);
    assert.match(text, /lotse_http_open_connections \d+/);
    assert.match(text, /lotse_push_deliveries_total\{outcome="delivered"\} \d+/);
    assert.match(text, /lotse_push_in_flight \d+/);
    for (const id of [seeker.userId, counselor.userId, opened.body.room_id, seeker.accessToken])
      assert.ok(!text.includes(id), `metrics must not name ${id}`);
    assert.ok(!text.includes("@"), "no user ids at all");
    // Every series the Grafana dashboard (deploy/) plots exists.
    const dashboard = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../deploy/grafana-dashboard.json"), "utf8");
    for (const name of new Set(dashboard.match(/lotse_[a-z_]+/g)))
      assert.ok(new RegExp(`^(# TYPE )?${name}[{ ]`, "m").test(text), `the dashboard plots ${name}, which /metrics lacks`);
    // Never on the public port.
    const pub = await api(srv, "GET", "/metrics");
    assert.notEqual(pub.status, 200);
    assert.ok(!JSON.stringify(pub.body).includes("lotse_http_requests_total"));
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});

test("metric values follow what happened: a waiting /sync, a refused login, stored media and the database, commit histograms", async () => {
  const srv = await startServer({ rateLimits: true, extraConfig: "[metrics]\nenabled = true\nlisten_port = 0" });
  try {
    const started = JSON.parse(srv.lines.find((l) => l.includes('"lotse started"')));
    const metrics = async () => (await fetch(`http://${started.metrics}/metrics`)).text();
    const value = (text, series) => {
      const m = new RegExp(`^${series.replace(/[{}+.*?()[\]\\^$|]/g, (c) => `\\${c}`)} (\\S+)$`, "m").exec(text);
      return m ? Number(m[1]) : NaN;
    };
    const seeker = await registerSeeker(srv);
    const up = await api(srv, "POST", "/_matrix/media/v3/upload?filename=a.bin",
      { token: seeker.accessToken, raw: Buffer.alloc(5000, 1), headers: { "Content-Type": "application/octet-stream" } });
    assert.equal(up.status, 200);
    // One long-poll waiting.
    const first = await api(srv, "GET", "/_matrix/client/v3/sync", { token: seeker.accessToken });
    const polling = api(srv, "GET", `/_matrix/client/v3/sync?since=${encodeURIComponent(first.body.next_batch)}&timeout=20000`, { token: seeker.accessToken });
    await waitFor(async () => value(await metrics(), "lotse_sync_waiting") === 1, "lotse_sync_waiting 1", 5000);
    // Wrong passwords until the account's back-off refuses the next one.
    let refused = 0;
    for (let i = 0; i < 30 && !refused; i++) {
      const res = await api(srv, "POST", "/_matrix/client/v3/login",
        { body: { type: "m.login.password", identifier: { type: "m.id.user", user: seeker.username }, password: `wrong-${i}` } });
      if (res.status === 429) refused++;
    }
    assert.equal(refused, 1, "the back-off refused a login");
    const text = await metrics();
    assert.equal(value(text, 'lotse_rate_limited_total{limit="login_account"}'), 1);
    assert.ok(value(text, "lotse_media_bytes") >= 5000, "the upload is counted in the media bytes");
    assert.ok(value(text, "lotse_database_bytes") > 4096, "the database's size");
    const commits = value(text, "lotse_db_commits_total");
    assert.ok(commits >= 3);
    assert.equal(value(text, "lotse_db_commit_duration_seconds_count"), commits, "one latency sample per commit");
    assert.equal(value(text, 'lotse_db_commit_duration_seconds_bucket{le="+Inf"}'), commits);
    assert.ok(value(text, "lotse_db_commit_duration_seconds_sum") > 0);
    assert.equal(value(text, "lotse_db_commit_batch_size_count"), commits, "one batch-size sample per commit");
    assert.ok(value(text, "lotse_db_commit_batch_size_sum") >= commits, "at least one write per commit");
    // A message to herself ends the long-poll; the gauge follows.
    await api(srv, "PUT", `/_matrix/client/v3/user/${encodeURIComponent(seeker.userId)}/account_data/de.lotse.test`,
      { token: seeker.accessToken, body: { n: 1 } });
    await polling;
    await waitFor(async () => value(await metrics(), "lotse_sync_waiting") === 0, "lotse_sync_waiting 0", 5000);
  } finally {
    await srv.stop();
    srv.cleanup();
  }
});
