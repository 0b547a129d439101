#!/usr/bin/env node
import { main } from "./cli/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    // Exit explicitly: tool processes, sockets or timers must not keep a finished worker alive.
    process.exitCode = code;
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`worker-bridge: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
