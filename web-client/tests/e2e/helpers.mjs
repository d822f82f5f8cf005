// Helpers shared by the browser tests: Debian's Chromium, and what a counselor's matrix-js-sdk in
// Node does with the seeker's messages (find them decrypted, download and decrypt attachments).
import { createHash, webcrypto } from "node:crypto";
import { chromium } from "playwright-core";
import { waitFor } from "../../../tests/integration/harness.mjs";

export const launchChromium = (extraArgs = []) => chromium.launch({
  executablePath: "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", ...extraArgs],
});

export const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

// The first decrypted event of a msgtype in a room, as the counselor's client sees it.
export async function findContent(client, roomId, msgtype, what) {
  return waitFor(async () => {
    for (const e of client.getRoom(roomId).getLiveTimeline().getEvents()) {
      await client.decryptEventIfNeeded(e);
      if (e.getClearContent()?.msgtype === msgtype) return e.getClearContent();
    }
    return null;
  }, what, 30000);
}

// Downloads an encrypted attachment over authenticated media and decrypts it (AES-CTR, JWK key).
export async function downloadAndDecrypt(client, token, file) {
  const url = client.mxcUrlToHttp(file.url, undefined, undefined, undefined, false, true, true);
  const cipher = Buffer.from(await (await fetch(url, { headers: { Authorization: `Bearer ${token}` } })).arrayBuffer());
  const key = await webcrypto.subtle.importKey("jwk", file.key, { name: "AES-CTR" }, false, ["decrypt"]);
  return Buffer.from(await webcrypto.subtle.decrypt({ name: "AES-CTR", counter: Buffer.from(file.iv, "base64"), length: 64 }, key, cipher));
}

// What a client holds of a room's encrypted events from `sender`: one line each, for failure messages.
export function encryptedEventsOf(client, roomId, sender) {
  return (client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [])
    .filter((e) => e.isEncrypted() && (!sender || e.getSender() === sender))
    .map((e) => `${e.getId()} session ${e.getWireContent().session_id}: ` +
      (e.isDecryptionFailure() ? `undecryptable (${e.decryptionFailureReason})` : `${e.getClearContent()?.msgtype} "${e.getClearContent()?.body}"`));
}

// The event in a room whose decrypted content `match`es, waiting for it to arrive and decrypt. On a
// timeout the error lists the encrypted events the client has and why they did not decrypt.
export async function decryptedEvent(client, roomId, match, what, timeoutMs = 30000) {
  try {
    return await waitFor(async () => {
      for (const e of client.getRoom(roomId)?.getLiveTimeline().getEvents() ?? []) {
        if (!e.isEncrypted()) continue;
        await client.decryptEventIfNeeded(e);
        if (!e.isDecryptionFailure() && match(e.getClearContent() ?? {})) return e;
      }
      return null;
    }, what, timeoutMs);
  } catch (e) {
    const room = client.getRoom(roomId);
    const seen = encryptedEventsOf(client, roomId);
    throw new Error(`${e.message}; ${client.getUserId()} (${client.getDeviceId()}) is ${room?.getMyMembership() ?? "not in the room"} ` +
      `and has ${seen.length} encrypted event(s)${seen.length ? ":\n  " + seen.join("\n  ") : ""}`);
  }
}
