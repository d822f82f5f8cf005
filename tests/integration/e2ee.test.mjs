// End-to-end encryption with matrix-js-sdk's Rust crypto on both sides: the server only stores and
// forwards keys and ciphertext.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, register, api, startCryptoClient, loginDevice, decryptedBody, waitFor } from "./harness.mjs";

const enc = encodeURIComponent;
let server;
before(async () => { server = await startServer(); });
after(async () => { await server.stop(); server.cleanup(); });

async function encryptedRoom(owner, invitee) {
  const { room_id: roomId } = await owner.createRoom({
    preset: "trusted_private_chat", is_direct: true, invite: [invitee.getUserId()],
    initial_state: [{ type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }],
  });
  await waitFor(() => invitee.getRoom(roomId)?.getMyMembership() === "invite", "invite arrives");
  await invitee.joinRoom(roomId);
  await waitFor(() => owner.getRoom(roomId)?.getMember(invitee.getUserId())?.membership === "join", "join seen");
  await waitFor(async () => owner.getCrypto().isEncryptionEnabledInRoom(roomId), "encryption enabled");
  return roomId;
}

test("counselor and seeker exchange encrypted messages; a later second device reads new ones; backup restores old ones", async () => {
  const counselorReg = await register(server, "beraterin");
  const seekerReg = await register(server, "ratsuchend");
  const counselor = await startCryptoClient(server, counselorReg);
  const seeker = await startCryptoClient(server, seekerReg);
  const clients = [counselor, seeker];
  try {
    const roomId = await encryptedRoom(counselor, seeker);
    const hello = "Guten Tag! Wie kann ich Ihnen helfen?";
    const { event_id: helloId } = await counselor.sendTextMessage(roomId, hello);
    assert.equal(await decryptedBody(seeker, roomId, helloId, "seeker decrypts"), hello);
    const reply = "Ich brauche Hilfe mit meinem Aufenthaltstitel. 🙏";
    const { event_id: replyId } = await seeker.sendTextMessage(roomId, reply);
    assert.equal(await decryptedBody(counselor, roomId, replyId, "counselor decrypts"), reply);

    // The server holds ciphertext only.
    const raw = await api(server, "GET", `/_matrix/client/v3/rooms/${enc(roomId)}/event/${enc(replyId)}`, { token: counselorReg.accessToken });
    assert.equal(raw.body.type, "m.room.encrypted");
    assert.equal(raw.body.content.algorithm, "m.megolm.v1.aes-sha2");
    assert.ok(!JSON.stringify(raw.body).includes("Aufenthaltstitel"));

    // Key backup on the first device, before anyone else appears.
    await counselor.getCrypto().resetKeyBackup();
    const backupKey = await counselor.getCrypto().getSessionBackupPrivateKey();
    const version = await counselor.getCrypto().getActiveSessionBackupVersion();
    assert.ok(backupKey && version);
    await waitFor(async () => (await api(server, "GET", "/_matrix/client/v3/room_keys/version", { token: counselorReg.accessToken })).body.count >= 2,
      "both sessions backed up", 30000);

    // A second device of the counselor logs in later and reads what is sent after it appeared.
    const second = await startCryptoClient(server, await loginDevice(server, "beraterin", counselorReg.password, "Büro-PC"));
    clients.push(second);
    await waitFor(async () => {
      const devices = await seeker.getCrypto().getUserDeviceInfo([counselor.getUserId()], true);
      return devices.get(counselor.getUserId())?.size === 2;
    }, "seeker learns the second device");
    const later = "Meine Nachbarin kann übersetzen.";
    const { event_id: laterId } = await seeker.sendTextMessage(roomId, later);
    assert.equal(await decryptedBody(second, roomId, laterId, "second device decrypts"), later);

    // A fresh device restores the backup and can then read the older messages.
    const third = await startCryptoClient(server, await loginDevice(server, "beraterin", counselorReg.password, "Laptop"));
    clients.push(third);
    await waitFor(() => third.getRoom(roomId)?.findEventById(helloId), "old event synced");
    await third.getCrypto().storeSessionBackupPrivateKey(backupKey, version);
    const restored = await third.getCrypto().restoreKeyBackup();
    assert.ok(restored.imported >= 2, `imported ${restored.imported}`);
    assert.equal(await decryptedBody(third, roomId, helloId, "restored hello"), hello);
    assert.equal(await decryptedBody(third, roomId, replyId, "restored reply"), reply);
  } finally {
    for (const c of clients) c.stopClient();
  }
});

test("cross-signing bootstrap: first upload without a password, replacing the keys needs it", async () => {
  const reg = await register(server);
  const client = await startCryptoClient(server, reg);
  try {
    await client.getCrypto().bootstrapCrossSigning({ authUploadDeviceSigningKeys: async (makeRequest) => { await makeRequest(null); } });
    assert.equal(await client.getCrypto().isCrossSigningReady(), true);
    const q = await api(server, "POST", "/_matrix/client/v3/keys/query", { token: reg.accessToken, body: { device_keys: { [reg.userId]: [] } } });
    const master = q.body.master_keys[reg.userId];
    assert.deepEqual(master.usage, ["master"]);
    assert.ok(q.body.self_signing_keys[reg.userId] && q.body.user_signing_keys[reg.userId]);
    // The device is signed by the self-signing key (keys/signatures/upload).
    const sskId = Object.keys(q.body.self_signing_keys[reg.userId].keys)[0];
    await waitFor(async () => {
      const again = await api(server, "POST", "/_matrix/client/v3/keys/query", { token: reg.accessToken, body: { device_keys: { [reg.userId]: [] } } });
      return again.body.device_keys[reg.userId][reg.deviceId].signatures[reg.userId][sskId];
    }, "device signed by the self-signing key");

    // Replacing the keys: the first attempt is refused with a UIA challenge, the password completes it.
    let challenged = false;
    await client.getCrypto().bootstrapCrossSigning({
      setupNewCrossSigning: true,
      authUploadDeviceSigningKeys: async (makeRequest) => {
        try { await makeRequest(null); } catch (e) {
          challenged = e.httpStatus === 401;
          await makeRequest({ type: "m.login.password", identifier: { type: "m.id.user", user: reg.userId }, password: reg.password, session: e.data?.session });
        }
      },
    });
    assert.ok(challenged, "replacing cross-signing keys asked for the password");
    const after = await api(server, "POST", "/_matrix/client/v3/keys/query", { token: reg.accessToken, body: { device_keys: { [reg.userId]: [] } } });
    assert.notDeepEqual(after.body.master_keys[reg.userId].keys, master.keys);
  } finally {
    client.stopClient();
  }
});
