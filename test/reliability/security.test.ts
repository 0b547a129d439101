// Security checks on the surface the bridge exposes (issue 8 §4): who can reach the Buck2 socket,
// whether anything goes through a shell, where request paths may point, and what reaches the logs.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, REPO_ROOT, killAllWorkers, startWorker } from "./helpers/bazel-client.js";
import { executeCommand, killAllBuck2Workers, startBuck2Worker } from "./helpers/buck2-worker.js";

const UMASK0_CLI = fileURLToPath(new URL("./fixtures/umask0-cli.mjs", import.meta.url));
const SECRET = "wb-secret-7f3a9c1e-DO-NOT-LOG";

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp("/tmp/wbr-sec-");
});
afterAll(async () => {
  await killAllBuck2Workers(true);
  await rm(scratch, { recursive: true, force: true });
});
afterEach(async () => {
  killAllWorkers();
  await killAllBuck2Workers();
});

/** Starts the CLI on WORKER_SOCKET; resolves once it listens, or with its exit. Killed by PID after 20 s. */
function serveOn(socketPath: string, argv: string[] = [process.execPath, CLI, "--tool", "probe"]): Promise<{ code: number | null; stderr: string; listening: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, WORKER_SOCKET: socketPath }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const watchdog = setTimeout(() => child.pid !== undefined && process.kill(child.pid, "SIGKILL"), 20_000);
    let mode: number | undefined;
    const poll = setInterval(() => {
      if (existsSync(socketPath) && lstatSync(socketPath).isSocket()) {
        clearInterval(poll);
        mode = lstatSync(socketPath).mode & 0o7777;
        child.kill("SIGTERM");
      }
    }, 25);
    child.on("close", (code) => {
      clearInterval(poll);
      clearTimeout(watchdog);
      // Listening: `code` carries the socket's mode instead of the exit code.
      resolve(mode !== undefined ? { code: mode, stderr, listening: true } : { code, stderr, listening: false });
    });
  });
}

describe("Buck2 socket access (docs/protocol/buck2-worker.md §4.4)", () => {
  it("launcher umask 000: the socket is still owner-only (0600)", async () => {
    const dir = join(scratch, "umask");
    await mkdir(dir);
    const r = await serveOn(join(dir, "socket"), [process.execPath, UMASK0_CLI, "--tool", "probe"]);
    expect(r.listening, r.stderr).toBe(true);
    expect((r.code ?? 0).toString(8)).toBe("600");
  });

  it("Buck2-shaped worker directory: socket 0600, directory not writable by group or others", async () => {
    const b = await startBuck2Worker({});
    expect(b.failure).toBeUndefined();
    expect((lstatSync(b.worker.dir.socketPath).mode & 0o777).toString(8)).toBe("600");
    expect(statSync(b.worker.dir.dir).mode & 0o022).toBe(0);
  });

  it("a socket directory world-writable without the sticky bit: refused (exit 2), the message says why", async () => {
    const dir = join(scratch, "world-writable");
    await mkdir(dir);
    await chmod(dir, 0o777);
    const r = await serveOn(join(dir, "socket"));
    expect(r.listening).toBe(false);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/world-writable without the sticky bit/);
  });

  it("a world-writable directory with the sticky bit (like /tmp): accepted, socket 0600", async () => {
    const dir = join(scratch, "sticky");
    await mkdir(dir);
    await chmod(dir, 0o1777);
    const r = await serveOn(join(dir, "socket"));
    expect(r.listening, r.stderr).toBe(true);
    expect((r.code ?? 0).toString(8)).toBe("600");
  });
});

/** Every .ts file under src/, with its text. */
function sourceFiles(dir = join(REPO_ROOT, "src")): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name)) out.push({ path: relative(REPO_ROOT, p), text: readFileSync(p, "utf8") });
  }
  return out;
}

/** Ways to reach a shell from Node; RegExp#exec (`.exec(`) is not one of them. */
const SHELL_PATTERNS: { name: string; re: RegExp }[] = [
  { name: "shell: true", re: /shell\s*:\s*(true|["'`])/ },
  { name: "exec(", re: /(?<![.\w])exec\s*\(/ },
  { name: "execSync(", re: /\bexecSync\s*\(/ },
  { name: "child_process exec import", re: /import\s*\{[^}]*\bexec(Sync)?\b[^}]*\}\s*from\s*["'](node:)?child_process["']/ },
  { name: "child_process.exec", re: /\b(child_process|childProcess|cp)\s*\.\s*exec(Sync)?\s*\(/ },
  { name: "spawn of a shell", re: /\b(spawn|spawnSync|execFile|execFileSync)\s*\(\s*["'`](\/bin\/)?(sh|bash|zsh|dash)["'`]/ },
];

function shellUses(files: { path: string; text: string }[]): string[] {
  const hits: string[] = [];
  for (const f of files) {
    f.text.split("\n").forEach((line, i) => {
      if (/^\s*(\/\/|\*)/.test(line)) return; // comments may mention what we avoid
      for (const p of SHELL_PATTERNS) if (p.re.test(line)) hits.push(`${f.path}:${i + 1}: ${p.name}: ${line.trim()}`);
    });
  }
  return hits;
}

describe("nothing is ever run through a shell", () => {
  it("grep src/ for shell: true, exec(, execSync(, child_process exec, spawn of sh/bash: none found", () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(20);
    expect(shellUses(files)).toEqual([]);
  });

  it("the scan itself on a sample of each form: each caught (RegExp#exec ignored)", () => {
    const bad = [
      'spawn(cmd, args, { shell: true })',
      'exec("ls")',
      'execSync("ls")',
      'import { execSync } from "node:child_process";',
      'cp.exec("ls")',
      'spawn("/bin/sh", ["-c", cmd])',
    ];
    for (const line of bad) expect(shellUses([{ path: "x.ts", text: line }]), line).toHaveLength(1);
    expect(shellUses([{ path: "x.ts", text: "const m = /a(b)/.exec(arg);" }])).toEqual([]);
  });
});

describe("sandbox_dir cannot escape the worker directory (docs/protocol/bazel-worker.md §1.2 sandbox_dir)", () => {
  it("sandbox_dir .., ../escape, __sandbox/../../escape, a/b/../../../etc, NUL: refused with a clear error; inside and absolute ones are used", async () => {
    const cwd = await mkdtemp(join(scratch, "execroot-"));
    await mkdir(join(cwd, "__sandbox", "1", "ws"), { recursive: true });
    const w = startWorker({ protocol: "proto", cwd });
    const cases: { sandboxDir: string; ok: boolean; cwd?: string }[] = [
      { sandboxDir: "__sandbox/1/ws", ok: true, cwd: join(cwd, "__sandbox/1/ws") },
      { sandboxDir: "..", ok: false },
      { sandboxDir: "../escape", ok: false },
      { sandboxDir: "__sandbox/../../escape", ok: false },
      { sandboxDir: "a/b/../../../etc", ok: false },
      { sandboxDir: "bad\0dir", ok: false },
      // Absolute: remote executors (NativeLink) name the action directory this way; the build
      // system chooses it, as it chooses every path in `arguments`.
      { sandboxDir: scratch, ok: true, cwd: scratch },
    ];
    cases.forEach((c, i) => w.send({ requestId: i + 1, sandboxDir: c.sandboxDir, arguments: ["--cwd"] }));
    const responses = await w.waitForResponses(cases.length);
    for (const [i, c] of cases.entries()) {
      const r = responses.find((x) => x.requestId === i + 1)!;
      if (c.ok) expect(r, c.sandboxDir).toMatchObject({ exitCode: 0, output: `cwd=${c.cwd}` });
      else {
        expect(r.exitCode, c.sandboxDir).toBe(2);
        expect(r.output).toMatch(/sandbox_dir .*(escapes the worker directory|NUL)/);
      }
    }
    expect(w.garbage).toBeUndefined();
  });
});

describe("argfile path policy (docs/protocol/bazel-worker.md §3.3, docs/protocol/buck2-worker.md §6.2)", () => {
  // Policy: an argfile path resolves against the job's cwd (sandbox_dir applied); absolute paths
  // and '..' are allowed, because build systems pass them (Buck2 project-relative, remote
  // executors absolute) and the request's arguments already name any file the tool will read —
  // refusing them would protect nothing. What *is* refused: anything that is not a regular file
  // (a FIFO would block forever, a device never ends) and files over 256 MiB.
  let cwd: string;
  beforeAll(async () => {
    cwd = await mkdtemp(join(scratch, "argfiles-"));
    await mkdir(join(cwd, "sb"), { recursive: true });
    await writeFile(join(cwd, "x.args"), "--echo=from-execroot\n");
    await writeFile(join(cwd, "sb", "x.args"), "--echo=from-sandbox\n");
    await writeFile(join(scratch, "outside.args"), "--echo=absolute\n");
    execFileSync("mkfifo", [join(cwd, "fifo.args")]);
  });

  it("@x.args with and without sandbox_dir, @/abs, @../x, @/dev/zero, @fifo, @dir: relative ones resolve in the sandbox, absolute ones as given, devices/FIFOs/directories refused without hanging", async () => {
    const w = startWorker({ protocol: "json", cwd });
    const cases: { req: { arguments: string[]; sandboxDir?: string }; exit: number; output: RegExp }[] = [
      { req: { arguments: ["@x.args"] }, exit: 0, output: /^from-execroot$/ },
      { req: { arguments: ["@x.args"], sandboxDir: "sb" }, exit: 0, output: /^from-sandbox$/ },
      { req: { arguments: [`@${join(scratch, "outside.args")}`] }, exit: 0, output: /^absolute$/ },
      { req: { arguments: ["@../x.args"], sandboxDir: "sb" }, exit: 0, output: /^from-execroot$/ },
      { req: { arguments: ["@/dev/zero"] }, exit: 2, output: /\/dev\/zero.*a device, not a regular file/ },
      { req: { arguments: ["@fifo.args"] }, exit: 2, output: new RegExp(`${join(cwd, "fifo.args")}.*a FIFO, not a regular file`) },
      { req: { arguments: ["@sb"] }, exit: 2, output: /it is a directory/ },
    ];
    cases.forEach((c, i) => w.send({ requestId: i + 1, ...c.req }));
    const responses = await w.waitForResponses(cases.length, 20_000);
    for (const [i, c] of cases.entries()) {
      const r = responses.find((x) => x.requestId === i + 1)!;
      expect(r.exitCode, JSON.stringify(c.req)).toBe(c.exit);
      expect(r.output).toMatch(c.output);
    }
  });
});

describe("env values never reach the logs below --log-level=trace", () => {
  it("Buck2: a secret in a request's env, --log-level=debug (text and json): not in the worker's stderr", async () => {
    for (const format of ["text", "json"]) {
      const b = await startBuck2Worker({ args: ["--log-level=debug", `--log-format=${format}`] });
      expect(b.failure).toBeUndefined();
      const env: [string, string][] = [["API_TOKEN", SECRET], ["TMPDIR", "/tmp"]];
      const ok = await b.worker.execute(executeCommand({ argv: ["--echo=x"], env }));
      expect(ok.kind).toBe("response");
      const failing = await b.worker.execute(executeCommand({ argv: ["--throw=boom", "@missing.args"], env, timeoutS: 1 }));
      expect(failing.kind).toBe("response");
      const end = await b.worker.terminate(10_000);
      expect(end.neededSigkill).toBe(false);
      const stderr = await readFile(b.worker.dir.stderrPath, "utf8");
      expect(stderr.length, "debug logging produced nothing: the check would be vacuous").toBeGreaterThan(0);
      expect(stderr).not.toContain(SECRET);
    }
  });

  it("Bazel: a secret in the worker's env, --log-level=debug, verbosity 10, --record: not in stderr; records owner-only", async () => {
    // --record writes the env the tool saw to disk on purpose (to replay it): owner-only files,
    // and still nothing on stderr.
    const recordDir = join(scratch, "record");
    const w = startWorker({ protocol: "proto", args: ["--log-level=debug", `--record=${recordDir}`], env: { ...process.env, API_TOKEN: SECRET } });
    w.send({ requestId: 1, verbosity: 10, arguments: ["--echo=x"] });
    w.send({ requestId: 2, verbosity: 10, arguments: ["@missing.args"] });
    await w.waitForResponses(2);
    w.send({ requestId: 3, cancel: true });
    // The cancel is read and logged at debug before stdin closes: the debug path is covered too.
    await w.waitForStderr(/ignoring cancel for a request that is not running/);
    w.closeStdin();
    await w.waitForExit();
    expect(w.stderr.length).toBeGreaterThan(0);
    expect(w.stderr).not.toContain(SECRET);
    const recorded = readdirSync(recordDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(recorded.length).toBeGreaterThan(0);
    for (const f of recorded) expect((statSync(join(f.parentPath, f.name)).mode & 0o077).toString(8), f.name).toBe("0");
  });
});
