import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { defineTool } from "../tool-api/define-tool.js";

/**
 * The diagnostic tool used by every conformance test and demo. Arguments run in order and
 * accumulate output lines; see `usage` below.
 */
const USAGE = `usage: probe [--echo=TEXT] [--pid] [--cwd] [--env=NAME] [--write=PATH=TEXT] [--sleep=MS] [--hang]
             [--exit=N] [--throw=MSG] [--crash] [--stdout=TEXT] [--stderr=TEXT] [--alloc=MB]`;

/** Memory held on purpose by --alloc, per tool process, so recycling can be tested. */
const retained: Buffer[] = [];

class ProbeArgumentError extends Error {}

function waitOrAbort(ms: number | undefined, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    if (ms !== undefined) {
      timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      }, ms);
    }
  });
}

function intValue(arg: string, value: string): number {
  if (!/^-?\d+$/.test(value)) throw new ProbeArgumentError(`${arg}: expected an integer`);
  return Number(value);
}

export default defineTool({
  name: "probe",
  maxConcurrentJobs: Number.MAX_SAFE_INTEGER,
  async run(job, ctx) {
    const lines: string[] = [];
    let exitCode = 0;
    try {
      for (const arg of job.args) {
        const eq = arg.indexOf("=");
        const name = eq >= 0 ? arg.slice(0, eq) : arg;
        const value = eq >= 0 ? arg.slice(eq + 1) : "";
        switch (name) {
          case "--echo":
            lines.push(value);
            break;
          case "--pid":
            lines.push(`pid=${process.pid}`);
            break;
          case "--cwd":
            lines.push(`cwd=${job.cwd}`);
            break;
          case "--env":
            lines.push(`${value}=${job.env[value] ?? ""}`);
            break;
          case "--write": {
            const sep = value.indexOf("=");
            if (sep <= 0) throw new ProbeArgumentError("--write: expected --write=PATH=TEXT");
            const path = resolve(job.cwd, value.slice(0, sep));
            await mkdir(dirname(path), { recursive: true });
            await writeFile(path, value.slice(sep + 1));
            break;
          }
          case "--sleep":
            if (!(await waitOrAbort(intValue(arg, value), ctx.signal))) {
              return { exitCode: 1, output: [...lines, `aborted during --sleep: ${String(ctx.signal.reason)}`].join("\n") };
            }
            break;
          case "--hang":
            await waitOrAbort(undefined, ctx.signal);
            return { exitCode: 1, output: [...lines, `aborted during --hang: ${String(ctx.signal.reason)}`].join("\n") };
          case "--exit":
            exitCode = intValue(arg, value);
            break;
          case "--throw":
            throw new Error(value);
          case "--crash":
            // Abrupt on purpose: no cleanup, no flush, like a native crash.
            process.exit(70);
            break;
          case "--stdout":
            console.log(value);
            break;
          case "--stderr":
            console.error(value);
            break;
          case "--alloc": {
            const mb = intValue(arg, value);
            const buf = Buffer.alloc(mb * 1024 * 1024, 1);
            retained.push(buf);
            break;
          }
          default:
            throw new ProbeArgumentError(`unknown argument ${JSON.stringify(arg)}`);
        }
      }
    } catch (err) {
      if (err instanceof ProbeArgumentError) return { exitCode: 2, output: [...lines, `probe: ${err.message}`, USAGE].join("\n") };
      throw err;
    }
    return { exitCode, output: lines.join("\n") };
  },
});
