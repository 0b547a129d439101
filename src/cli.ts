#!/usr/bin/env node
import { main } from "./cli/main.js";
import { bridgeMessage, errorText, EXIT_CODES } from "./errors.js";

let finished = false;
// A tool whose promise never settles (and holds no timer or socket) empties the event loop in
// one-shot mode; Node would then exit 0 — success for a run that never finished. Fail instead.
process.once("beforeExit", () => {
  if (finished) return;
  process.stderr.write(`${bridgeMessage("the tool never finished: its run() is still pending but nothing is left that could settle it")}\n`);
  process.exit(EXIT_CODES.failure);
});

main(process.argv.slice(2)).then(
  (code) => {
    finished = true;
    // Exit explicitly: tool processes, sockets or timers must not keep a finished worker alive.
    process.exitCode = code;
    setImmediate(() => process.exit(code));
  },
  (err: unknown) => {
    finished = true;
    process.stderr.write(`${bridgeMessage(`fatal: ${errorText(err)}`)}\n`);
    process.exit(EXIT_CODES.failure);
  },
);
