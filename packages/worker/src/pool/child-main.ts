// The entry point of a `threads` or `processes` pool's child (not exported: the pool starts it by path).
import { parentPort, Worker as Thread } from "node:worker_threads";
import type { ParentMessage } from "./child-messages.js";
import { serveChild } from "./child-server.js";

if (parentPort) {
  const port = parentPort;
  serveChild({
    send: (message) => port.postMessage(message),
    onMessage: (handler) => port.on("message", (message: ParentMessage) => handler(message)),
    exit: (code) => process.exit(code),
  });
} else if (process.send) {
  const send = process.send.bind(process);
  // Ctrl-C reaches every process of the terminal's group: as Celery's pool children, the child leaves
  // shutting down to the worker, which ends it once its task is done or given back.
  process.on("SIGINT", () => {});
  // The worker is gone (killed): nothing will ever ask this child for anything again.
  process.on("disconnect", () => process.exit(0));
  watchParent();
  serveChild({
    send: (message) => {
      send(message);
    },
    onMessage: (handler) => process.on("message", (message: ParentMessage) => handler(message)),
    exit: (code) => process.exit(code),
  });
} else {
  throw new Error("@tq/worker's pool child entry runs only in a pool's thread or child process");
}

// A child busy in a loop that never yields never sees `disconnect`: a small thread of its own ends it
// once the worker is gone (the child was handed to another parent), so that no orphan spins forever.
function watchParent(): void {
  const watcher = new Thread(
    `const parent = ${process.ppid};
    setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, "SIGKILL"); }, 1000);`,
    { eval: true },
  );
  watcher.unref();
}
