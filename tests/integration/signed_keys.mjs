// Hand-made E2EE keys for tests that talk to the key endpoints directly: Node's ed25519, Matrix
// canonical JSON and signatures, device keys and signed one-time keys.
import { generateKeyPairSync, sign } from "node:crypto";

export const canonical = (v) => Array.isArray(v) ? `[${v.map(canonical).join(",")}]`
  : v && typeof v === "object" ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(",")}}`
  : JSON.stringify(v);
export const unpadded = (buf) => buf.toString("base64").replace(/=+$/, "");

export function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return { pub: unpadded(publicKey.export({ format: "der", type: "spki" }).subarray(12)), privateKey };
}

export function signObject(obj, userId, keyId, privateKey) {
  const { signatures = {}, unsigned, ...rest } = obj;
  const sig = unpadded(sign(null, Buffer.from(canonical(rest)), privateKey));
  return { ...obj, signatures: { ...signatures, [userId]: { ...(signatures[userId] ?? {}), [keyId]: sig } } };
}

export function deviceKeys(session, kp) {
  return signObject({
    user_id: session.userId, device_id: session.deviceId,
    algorithms: ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
    keys: { [`ed25519:${session.deviceId}`]: kp.pub, [`curve25519:${session.deviceId}`]: unpadded(Buffer.alloc(32, 7)) },
  }, session.userId, `ed25519:${session.deviceId}`, kp.privateKey);
}

export function otks(session, kp, n, prefix = "A") {
  const out = {};
  for (let i = 0; i < n; i++)
    out[`signed_curve25519:${prefix}${i}`] = signObject({ key: unpadded(Buffer.alloc(32, i + 1)) }, session.userId, `ed25519:${session.deviceId}`, kp.privateKey);
  return out;
}
