// The receiving end of Web Push for tests: a fake push service on loopback (HTTPS with a throwaway
// self-signed certificate the server is told to trust) that records every request, and a browser's
// side of a subscription (P-256 key pair and auth secret) that decrypts what arrives with an
// implementation independent of the server's (npm http_ece).
import { createServer } from "node:https";
import { execFileSync } from "node:child_process";
import { createECDH, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ece from "http_ece";

// `respond(request)` decides each answer: a status, or null to hold the request open until release().
export async function startPushService() {
  const dir = mkdtempSync(join(tmpdir(), "lotse-push-ca-"));
  const certFile = join(dir, "cert.pem"), keyFile = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
    "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
  const received = [], held = [];
  let respond = () => 201;
  const srv = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const entry = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) };
      received.push(entry);
      const status = respond(entry);
      if (status === null) { held.push(res); return; }
      if (status === 429) res.setHeader("Retry-After", "1");
      res.writeHead(status);
      res.end();
    });
  });
  // TLS connections accepted (a push gateway should keep them), and handshakes that failed.
  const counts = { connections: 0, tlsErrors: 0 };
  srv.on("secureConnection", () => ++counts.connections);
  srv.on("tlsClientError", () => ++counts.tlsErrors);
  await new Promise((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = srv.address().port;
  return {
    port, received, held, certFile, counts,
    // The server's [push] settings that let it deliver here.
    config: ["[push]", `endpoint_hosts = ["127.0.0.1"]`, "allow_private_endpoints = true", `ca_file = "${certFile}"`].join("\n"),
    set respond(fn) { respond = fn; },
    release() { for (const r of held.splice(0)) { r.writeHead(201); r.end(); } },
    close() { for (const r of held.splice(0)) r.destroy(); srv.close(); rmSync(dir, { recursive: true, force: true }); },
    // A browser's subscription at this push service.
    subscription(path) { return subscriptionAt(port, path); },
  };
}

// A browser's side of a subscription at a push service on 127.0.0.1:port: its P-256 key pair, auth
// secret and endpoint.
export function subscriptionAt(port, path = `/wpush/${randomBytes(8).toString("hex")}`) {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  return { ecdh, pushkey: ecdh.getPublicKey().toString("base64url"), auth: randomBytes(16).toString("base64url"),
           endpoint: `https://127.0.0.1:${port}${path}`, path };
}

// The push message's plaintext, decrypted with the subscription's keys (RFC 8291); throws otherwise.
export function decryptPush(sub, body) {
  return ece.decrypt(body, { version: "aes128gcm", privateKey: sub.ecdh, authSecret: sub.auth }).toString("utf8");
}
