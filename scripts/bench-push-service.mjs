// The fake push service of scripts/bench-push.mjs in a process of its own, so that its TLS and HTTP
// work does not run on the load generator's event loop (which would slow the senders and charge the
// push's cost to the send path). Tells its parent, over the IPC channel, where it listens and then
// how many requests have arrived (coalesced: at most one message per turn of its event loop).
import { startPushService } from "../tests/integration/web_push_receiver.mjs";

const push = await startPushService();
let reported = 0, pending = false;
// Keep only a count: the bench does not look at the bodies, and 20,000 of them would only cost memory.
push.received.push = () => {
  ++reported;
  if (!pending) {
    pending = true;
    setImmediate(() => { pending = false; process.send({ received: reported, connections: push.counts.connections }); });
  }
  return reported;
};
process.send({ port: push.port, config: push.config });
process.on("message", (m) => { if (m === "close") { push.close(); process.disconnect(); } });
