// E-mail digests (issue #14): a loopback SMTP sink (a few lines of Node speaking SMTP) receives
// "N unread messages in M consultations" after the delay, not before, not at all when the message
// was read in time, never with content; the one-click unsubscribe link ends them. Over STARTTLS
// the certificate is checked and the password goes only over TLS.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { TLSSocket } from "node:tls";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startServer, register, api, waitFor } from "./harness.mjs";

const enc = encodeURIComponent;
const DELAY = 3;  // seconds a message must stay unread
let server, smtp;

// Records each message: envelope and data (dot-unstuffed). With `tls` ({ key, cert }) the sink
// offers STARTTLS and AUTH PLAIN, and notes whether each mail and each AUTH came over TLS.
function startSmtpSink({ tls } = {}) {
  const mails = [], auths = [];
  const srv = createServer((raw) => {
    let sock = raw, secure = false;
    let buf = "", inData = false, data = [], from = "", to = [];
    const onLine = (line) => {
      if (inData) {
        if (line === ".") { inData = false; mails.push({ from, to, data: data.join("\r\n"), tls: secure }); data = []; to = []; sock.write("250 queued\r\n"); }
        else data.push(line.startsWith("..") ? line.slice(1) : line);
        return;
      }
      const cmd = line.slice(0, 4).toUpperCase();
      if (cmd === "EHLO") sock.write(tls ? (secure ? "250-sink\r\n250 AUTH PLAIN\r\n" : "250-sink\r\n250 STARTTLS\r\n") : "250-sink\r\n250 8BITMIME\r\n");
      else if (tls && line.toUpperCase() === "STARTTLS" && !secure) {
        sock.write("220 go ahead\r\n");
        sock.removeAllListeners("data");
        sock = new TLSSocket(raw, { isServer: true, key: tls.key, cert: tls.cert });
        sock.on("secure", () => { secure = true; });
        sock.on("data", onData);
        sock.on("error", () => {});
      } else if (cmd === "AUTH") { auths.push({ line, tls: secure }); sock.write("235 ok\r\n"); }
      else if (cmd === "MAIL") { from = line; sock.write("250 ok\r\n"); }
      else if (cmd === "RCPT") { to.push(line); sock.write("250 ok\r\n"); }
      else if (cmd === "DATA") { inData = true; sock.write("354 go\r\n"); }
      else if (cmd === "QUIT") { sock.write("221 bye\r\n"); sock.end(); }
      else sock.write("502 no\r\n");
    };
    const onData = (chunk) => {
      buf += chunk.toString("utf8");
      let nl;
      while ((nl = buf.indexOf("\r\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        onLine(line);
      }
    };
    sock.write("220 sink ESMTP\r\n");
    sock.on("data", onData);
    sock.on("error", () => {});
  });
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () => resolve({ port: srv.address().port, mails, auths, close: () => srv.close() })));
}

// A throwaway certificate for 127.0.0.1 (or another name), as the push test makes one.
function certificate(san) {
  const dir = mkdtempSync(join(tmpdir(), "lotse-smtp-ca-"));
  const certFile = join(dir, "cert.pem"), keyFile = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-days", "1", "-subj", "/CN=lotse-test", "-addext", `subjectAltName=${san}`, "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
  return { dir, certFile, key: readFileSync(keyFile), cert: readFileSync(certFile) };
}

before(async () => {
  smtp = await startSmtpSink();
  server = await startServer({ extraConfig: ["[email]", `host = "127.0.0.1"`, `port = ${smtp.port}`, "starttls = false",
    `from = "noreply@beratung.example"`, "interval_seconds = 2", `delay_seconds = ${DELAY}`, "check_seconds = 1"].join("\n") });
});
after(async () => { smtp.close(); await server.stop(); server.cleanup(); });

const send = async (who, roomId, body) => {
  const res = await api(server, "PUT", `/_matrix/client/v3/rooms/${enc(roomId)}/send/m.room.message/${randomBytes(6).toString("hex")}`,
    { token: who.accessToken, body: { msgtype: "m.text", body } });
  assert.equal(res.status, 200);
  return res.body.event_id;
};
async function room(a, b) {
  const created = await api(server, "POST", "/_matrix/client/v3/createRoom", { token: a.accessToken, body: { invite: [b.userId] } });
  await api(server, "POST", `/_matrix/client/v3/join/${enc(created.body.room_id)}`, { token: b.accessToken, body: {} });
  return created.body.room_id;
}
const mailsTo = (address) => smtp.mails.filter((m) => m.to.some((t) => t.includes(address)));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("a digest after the delay, without content; none when read in time; unsubscribing ends them", async () => {
  const address = `beraterin${process.pid}@beratung.example`;
  const counselor = await register(server, undefined, undefined, { email: address });
  const other = await register(server, undefined, undefined, { display_name: "Herr Absender" });
  const r1 = await room(other, counselor), r2 = await room(other, counselor);
  const secret = "Vertraulich: Termin bei der Ausländerbehörde";
  const sentAt = Date.now();
  await send(other, r1, secret);
  await send(other, r2, "zweite Nachricht");
  await send(other, r2, "dritte Nachricht");
  // Not before the delay.
  await sleep((DELAY - 1.5) * 1000);
  assert.equal(mailsTo(address).length, 0, "no digest before the delay");
  await waitFor(() => mailsTo(address).length === 1, "the digest", 15000);
  assert.ok(Date.now() - sentAt >= DELAY * 1000);
  const mail = mailsTo(address)[0];
  assert.match(mail.data, /You have 3 unread messages in 2 consultations\./);
  assert.match(mail.data, /Sie haben 3 ungelesene Nachrichten in 2 Beratungen\./);
  for (const leak of ["Vertraulich", "Ausländerbehörde", "zweite", "Absender", other.userId, r1, r2])
    assert.ok(!mail.data.includes(leak), `the digest holds ${leak}`);
  assert.match(mail.data, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
  // The same messages are not mailed again.
  await sleep(4000);
  assert.equal(mailsTo(address).length, 1);

  // A message read within the delay is not mailed.
  const read = await send(other, r1, "gleich gelesen");
  assert.equal((await api(server, "POST", `/_matrix/client/v3/rooms/${enc(r1)}/receipt/m.read/${enc(read)}`, { token: counselor.accessToken, body: {} })).status, 200);
  // Also read r2 so nothing older is unread.
  const last2 = await send(counselor, r2, "danke");
  await api(server, "POST", `/_matrix/client/v3/rooms/${enc(r2)}/receipt/m.read/${enc(last2)}`, { token: counselor.accessToken, body: {} });
  await sleep((DELAY + 3) * 1000);
  assert.equal(mailsTo(address).length, 1, "nothing read in time is mailed");

  // The one-click link: a wrong token is refused, the right one ends the digests.
  const link = /^(http:\/\/\S+\/_lotse\/client\/v1\/email\/unsubscribe\?\S+)$/m.exec(mail.data)[1];
  const url = new URL(link);
  const path = url.pathname + url.search;
  assert.equal((await api(server, "POST", path.replace(/token=[^&]+/, "token=AAAA"))).status, 403);
  assert.equal((await api(server, "POST", path.replace(/user=[^&]+/, `user=${enc(other.userId)}`))).status, 403, "a token opens only its own user");
  const res = await api(server, "POST", path);
  assert.equal(res.status, 200);
  await send(other, r1, "nach der Abmeldung");
  await sleep((DELAY + 3) * 1000);
  assert.equal(mailsTo(address).length, 1, "no digest after unsubscribing");
});

test("addresses are checked where they enter: no header injection through the admin API", async () => {
  for (const email of ["a@b.example\r\nBcc: x@y.example", "no-at-sign", "a@b@c", "<a@b.example>"]) {
    const res = await api(server, "POST", "/_lotse/admin/v1/counselors", { token: server.admin.accessToken,
      body: { username: `bad${randomBytes(3).toString("hex")}`, password: "correct horse battery", display_name: "X", agency: "beratung-mitte", languages: ["de"], topics: ["aufenthalt"], email } });
    assert.equal(res.status, 400, JSON.stringify(email));
    assert.equal(res.body.errcode, "M_INVALID_PARAM");
  }
});

// STARTTLS: a sink with a certificate for 127.0.0.1 from a CA given in [email] ca_file gets the
// digest over TLS, and AUTH only after the handshake; a certificate for another name is refused.
async function tlsScenario(san) {
  const cert = certificate(san);
  const sink = await startSmtpSink({ tls: cert });
  const srv = await startServer({ extraConfig: ["[email]", `host = "127.0.0.1"`, `port = ${sink.port}`, "starttls = true",
    `ca_file = "${cert.certFile}"`, `user = "lotse"`, `password = "smtp-geheim"`, `from = "noreply@beratung.example"`,
    "interval_seconds = 2", "delay_seconds = 1", "check_seconds = 1"].join("\n") });
  const address = `tls${process.pid}@beratung.example`;
  const counselor = await register(srv, undefined, undefined, { email: address });
  const other = await register(srv);
  const created = await api(srv, "POST", "/_matrix/client/v3/createRoom", { token: other.accessToken, body: { invite: [counselor.userId] } });
  await api(srv, "POST", `/_matrix/client/v3/join/${enc(created.body.room_id)}`, { token: counselor.accessToken, body: {} });
  const res = await api(srv, "PUT", `/_matrix/client/v3/rooms/${enc(created.body.room_id)}/send/m.room.message/${randomBytes(6).toString("hex")}`,
    { token: other.accessToken, body: { msgtype: "m.text", body: "über TLS" } });
  assert.equal(res.status, 200);
  return { sink, srv, cert, cleanup: async () => { sink.close(); await srv.stop(); srv.cleanup(); rmSync(cert.dir, { recursive: true, force: true }); } };
}

test("STARTTLS: the digest goes over TLS to a host whose certificate checks out, the password only after the handshake", async () => {
  const s = await tlsScenario("IP:127.0.0.1");
  try {
    await waitFor(() => s.sink.mails.length === 1, "the digest over TLS", 15000);
    assert.equal(s.sink.mails[0].tls, true);
    assert.deepEqual(s.sink.auths.map((a) => [a.tls, Buffer.from(a.line.split(" ")[2], "base64").toString()]), [[true, "\0lotse\0smtp-geheim"]]);
  } finally {
    await s.cleanup();
  }
});

test("STARTTLS: a certificate for another host name is refused: no password, no mail, a warning in the log", async () => {
  const s = await tlsScenario("DNS:smtp.example.org");
  try {
    await waitFor(() => s.srv.lines.some((l) => l.includes("e-mail digest not sent")), "the warning", 15000);
    assert.deepEqual([s.sink.mails.length, s.sink.auths.length], [0, 0]);
    assert.match(s.srv.lines.find((l) => l.includes("e-mail digest not sent")), /TLS with the SMTP host failed/);
  } finally {
    await s.cleanup();
  }
});
