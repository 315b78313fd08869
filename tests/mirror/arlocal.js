// arlocal.js - runs arlocal 1.1.66 (installed by setup.sh) as the upstream
// Arweave gateway of the Arweave mirror tests, on loopback only.
// Usage: node arlocal.js PORT DIR [persist]
//   PORT     TCP port on 127.0.0.1; 0 picks a free one.
//   DIR      folder for everything arlocal writes: its database, data
//            files and request log go to DIR/db and DIR/logs (created if
//            missing). Without "persist" DIR/db is emptied at start and
//            removed at stop; with it, the weave is kept across restarts.
// Prints "arlocal listening on http://127.0.0.1:PORT" on stdout once it
// answers, and exits 0 after a clean stop on SIGTERM or SIGINT. Exits 1,
// with a message on stderr, if it cannot start (e.g. the port is taken).
// arlocal's own request logs are hidden; its error messages (e.g. why a
// transaction was refused) still go to stderr.
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");

const [portArg, dirArg, mode] = process.argv.slice(2);
const port = Number(portArg);
if (portArg === undefined || !Number.isInteger(port) || port < 0 || port > 65535 || !dirArg ||
    (mode !== undefined && mode !== "persist")) {
  console.error("usage: node arlocal.js PORT DIR [persist]");
  process.exit(2);
}
const persist = mode === "persist";
const dir = path.resolve(dirArg);
const dbPath = path.join(dir, "db");
fs.mkdirSync(dir, { recursive: true });
// arlocal appends every request to "./logs" in the working directory.
process.chdir(dir);

let ArLocal;
try {
  ArLocal = require("arlocal").default;
} catch (e) {
  console.error("arlocal.js: arlocal is not installed (run tests/mirror/setup.sh): " + e.message);
  process.exit(1);
}

// The constructor takes (port, showLogs, dbPath, persist, fails); it falls
// back to port 1984 when given 0, so the port handed to it only matters for
// its log message: the listening socket is opened below instead of by Koa's
// listen(), which would bind every interface.
const node = new ArLocal(port || 1984, false, dbPath, persist);
let server = null;
let stopping = false;

node.app.listen = function () {
  const srv = http.createServer(this.callback());
  srv.listen(port, "127.0.0.1");
  return srv;
};

async function stop(code) {
  if (stopping) return;
  stopping = true;
  // Do not hang on a stuck close (e.g. a keep-alive client).
  setTimeout(() => process.exit(code), 5000).unref();
  if (server) {
    await new Promise((resolve) => {
      server.close(() => resolve());
      if (server.closeAllConnections) server.closeAllConnections();
    });
  }
  // Apollo Server (arlocal's GraphQL) stops itself on SIGTERM/SIGINT
  // through handlers of its own; awaiting its stop() here as well hangs.
  try { await node.connection.destroy(); } catch (e) { /* already closed */ }
  if (!persist) fs.rmSync(dbPath, { recursive: true, force: true });
  process.exit(code);
}

process.on("SIGTERM", () => stop(0));
process.on("SIGINT", () => stop(0));

(async () => {
  await node.start();
  server = node.server;
  await new Promise((resolve, reject) => {
    if (server.listening) return resolve();
    server.once("listening", resolve);
    server.once("error", reject);
  });
  if (stopping) return;
  console.log(`arlocal listening on http://127.0.0.1:${server.address().port}`);
})().catch((e) => {
  console.error("arlocal.js: cannot start arlocal: " + (e && e.message ? e.message : e));
  stop(1);
});
