// The C++ test client on e2ee/ (libolm) and matrix-js-sdk's Rust crypto talk Olm/Megolm through
// lotse: each decrypts the other's message.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, register, startCryptoClient, decryptedBody, waitFor } from "./harness.mjs";

const CLIENT = process.env.E2EE_CLIENT_BIN ?? join(dirname(fileURLToPath(import.meta.url)), "../../build/tests/lotse-e2ee-test-client");
let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); server.cleanup(); });

function spawnCppClient(user, extra = []) {
  const proc = spawn(CLIENT, ["--server", server.baseUrl, "--user", user, "--timeout", "60", ...extra], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = [];
  let buf = "";
  proc.stdout.on("data", (d) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) { lines.push(JSON.parse(buf.slice(0, nl))); buf = buf.slice(nl + 1); }
  });
  const exited = new Promise((resolve) => proc.on("exit", (code) => resolve(code)));
  return { proc, lines, exited, find: (key) => lines.find((l) => key in l) };
}

test("a libolm C++ seeker and a matrix-js-sdk counselor exchange encrypted messages in a consultation", async () => {
  const counselor = await startCryptoClient(server, await register(server, "counselor-js"));
  const cpp = spawnCppClient("cppseeker", ["--consult-with", counselor.getUserId(), "--topic", "aufenthalt"]);
  try {
    const ready = await waitFor(() => cpp.find("ready") ?? cpp.find("error"), "C++ client ready");
    assert.ok(ready.ready, JSON.stringify(ready));
    assert.equal(ready.one_time_key_counts.signed_curve25519, 20);
    const opened = await waitFor(() => cpp.find("consultation") ?? cpp.find("error"), "consultation opened");
    const roomId = opened.consultation;
    assert.ok(roomId, JSON.stringify(opened));
    await waitFor(() => counselor.getRoom(roomId)?.getMyMembership() === "invite", "counselor invited");
    await counselor.joinRoom(roomId);
    await waitFor(async () => counselor.getCrypto().isEncryptionEnabledInRoom(roomId), "the consultation is encrypted");
    const text = "Hallo aus matrix-js-sdk 👋";
    const { event_id: sentId } = await counselor.sendTextMessage(roomId, text);

    const received = await waitFor(() => cpp.find("received") ?? cpp.find("error"), "C++ client decrypts", 30000);
    assert.equal(received.received, text, JSON.stringify(cpp.lines));
    assert.equal(received.event_id, sentId);
    const sent = await waitFor(() => cpp.find("sent") ?? cpp.find("error"), "C++ client answers", 30000);
    assert.ok(sent.sent, JSON.stringify(sent));
    assert.ok(sent.shared_with_devices >= 1);
    assert.equal(await decryptedBody(counselor, roomId, sent.sent, "js decrypts the C++ answer"), `C++ client read: ${text}`);
    assert.equal(await cpp.exited, 0);
  } catch (e) {
    e.message += `\nC++ client said: ${JSON.stringify(cpp.lines)}`;
    throw e;
  } finally {
    counselor.stopClient();
    cpp.proc.kill();
  }
});
