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

function spawnCppClient(user) {
  const proc = spawn(CLIENT, ["--server", server.baseUrl, "--user", user, "--timeout", "60"], { stdio: ["ignore", "pipe", "inherit"] });
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

test("libolm C++ client and matrix-js-sdk exchange encrypted messages both ways", async () => {
  const cpp = spawnCppClient("cppclient");
  const counselor = await startCryptoClient(server, await register(server, "counselor-js"));
  try {
    const ready = await waitFor(() => cpp.find("ready") ?? cpp.find("error"), "C++ client ready");
    assert.ok(ready.ready, JSON.stringify(ready));
    assert.equal(ready.one_time_key_counts.signed_curve25519, 20);

    const { room_id: roomId } = await counselor.createRoom({
      preset: "trusted_private_chat", invite: [ready.user_id],
      initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
    });
    await waitFor(() => counselor.getRoom(roomId)?.getMember(ready.user_id)?.membership === "join", "C++ client joins");
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
  } finally {
    counselor.stopClient();
    cpp.proc.kill();
  }
});
