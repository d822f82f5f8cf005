// Encrypted attachments (client-server API "Sending encrypted attachments"): AES-CTR with a fresh
// key per file; the key travels inside the end-to-end encrypted event, the server stores ciphertext.
const b64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/=+$/, "");
const unb64 = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));

export async function encryptFile(data) {
  const key = await crypto.subtle.generateKey({ name: "AES-CTR", length: 256 }, true, ["encrypt", "decrypt"]);
  const iv = new Uint8Array(16);
  crypto.getRandomValues(iv.subarray(0, 8));
  const cipher = await crypto.subtle.encrypt({ name: "AES-CTR", counter: iv, length: 64 }, key, data);
  const hash = await crypto.subtle.digest("SHA-256", cipher);
  return { cipher, info: { key: await crypto.subtle.exportKey("jwk", key), iv: b64(iv), hashes: { sha256: b64(hash) }, v: "v2" } };
}

export async function decryptFile(cipher, info) {
  const hash = b64(await crypto.subtle.digest("SHA-256", cipher));
  if (hash !== info.hashes.sha256.replace(/=+$/, "")) throw new Error("attachment hash mismatch");
  const key = await crypto.subtle.importKey("jwk", info.key, { name: "AES-CTR" }, false, ["decrypt"]);
  return crypto.subtle.decrypt({ name: "AES-CTR", counter: unb64(info.iv), length: 64 }, key, cipher);
}

// Encrypts, uploads and sends a file as m.image / m.audio / m.file. Throws {errcode:"M_TOO_LARGE"}.
// The app sends through its outbox (src/outbox.js); the browser tests' counselors send with this.
export async function sendAttachment(client, roomId, blob, { name, msgtype, extra = {} }) {
  const limit = (await client.getMediaConfig().catch(() => ({})))["m.upload.size"];
  if (limit && blob.size > limit) throw Object.assign(new Error("too large"), { errcode: "M_TOO_LARGE" });
  const { cipher, info } = await encryptFile(await blob.arrayBuffer());
  const { content_uri } = await client.uploadContent(new Blob([cipher]), { type: "application/octet-stream", includeFilename: false });
  const mimetype = blob.type || "application/octet-stream";
  return client.sendMessage(roomId, {
    msgtype, body: name, info: { mimetype, size: blob.size, ...(extra.info ?? {}) },
    file: { ...info, url: content_uri, mimetype }, ...(extra.content ?? {}),
  });
}

// Downloads (authenticated media) and decrypts an attachment into an object URL.
export async function attachmentUrl(client, file) {
  const url = client.mxcUrlToHttp(file.url, undefined, undefined, undefined, false, true, true);
  const res = await fetch(url, { headers: { Authorization: `Bearer ${client.getAccessToken()}` } });
  if (!res.ok) throw new Error(`download failed: ${res.status}`);
  const plain = await decryptFile(await res.arrayBuffer(), file);
  return URL.createObjectURL(new Blob([plain], { type: file.mimetype ?? "application/octet-stream" }));
}
