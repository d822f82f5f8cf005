// GET /metrics: Prometheus text on its own listener, never on the public port, with no identifiers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, api, register, registerSeeker } from "./harness.mjs";

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
