// `node --import tsx bench/ipc-channel.ts [--requests=N] [--rounds=N]`: what a parent <-> child
// channel costs per round trip, before any bridge code runs. Candidates for the process host's
// channel (issue 14), each an echo child answering a job-sized message with a done-sized one:
//   - Node's IPC channel (`fork`), JSON and "advanced" (structured clone) serialization;
//   - a dedicated socket on stdio fd 3 with u32-length-prefixed frames, the frame body JSON,
//     v8.serialize, or a hand-rolled binary encoding; frames queued in one event-loop turn leave as
//     one write (flushed from setImmediate; src/supervisor/frame-channel.ts uses process.nextTick).
// Measured one at a time (latency) and 8 in flight (throughput), variants taking turns every BATCH
// round trips so machine load hits all alike. Read the ratios, not the absolute times.
import { type ChildProcess, fork, spawn } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Socket } from "node:net";
import * as v8 from "node:v8";

type Codec = "json" | "v8" | "binary";
interface RunMsg {
  t: "run";
  seq: number;
  id: number;
  origin: string;
  args: string[];
  cwd: string;
  verbosity: number;
}
interface DoneMsg {
  t: "done";
  seq: number;
  exitCode: number;
  output: string;
  rss: number;
}

// ---- codecs (frame bodies) ----
function encodeBody(codec: Codec, m: RunMsg | DoneMsg): Buffer {
  if (codec === "json") return Buffer.from(JSON.stringify(m));
  if (codec === "v8") return v8.serialize(m);
  return m.t === "run" ? encodeRunBinary(m) : encodeDoneBinary(m);
}
function decodeBody(codec: Codec, b: Buffer): RunMsg | DoneMsg {
  if (codec === "json") return JSON.parse(b.toString("utf8")) as RunMsg | DoneMsg;
  if (codec === "v8") return v8.deserialize(b) as RunMsg | DoneMsg;
  return b[0] === 1 ? decodeRunBinary(b) : decodeDoneBinary(b);
}
function encodeRunBinary(m: RunMsg): Buffer {
  const strings = [m.origin, m.cwd, ...m.args];
  let size = 1 + 4 * 4;
  for (const s of strings) size += 4 + Buffer.byteLength(s);
  const b = Buffer.allocUnsafe(size);
  b[0] = 1;
  b.writeUInt32LE(m.seq, 1);
  b.writeUInt32LE(m.id, 5);
  b.writeUInt32LE(m.verbosity, 9);
  b.writeUInt32LE(m.args.length, 13);
  let o = 17;
  for (const s of strings) {
    const n = b.write(s, o + 4);
    b.writeUInt32LE(n, o);
    o += 4 + n;
  }
  return b;
}
function decodeRunBinary(b: Buffer): RunMsg {
  let o = 17;
  const str = (): string => {
    const n = b.readUInt32LE(o);
    const s = b.toString("utf8", o + 4, o + 4 + n);
    o += 4 + n;
    return s;
  };
  const origin = str();
  const cwd = str();
  const args: string[] = [];
  for (let i = b.readUInt32LE(13); i > 0; i--) args.push(str());
  return { t: "run", seq: b.readUInt32LE(1), id: b.readUInt32LE(5), verbosity: b.readUInt32LE(9), origin, cwd, args };
}
function encodeDoneBinary(m: DoneMsg): Buffer {
  const n = Buffer.byteLength(m.output);
  const b = Buffer.allocUnsafe(1 + 4 + 4 + 8 + n);
  b[0] = 2;
  b.writeUInt32LE(m.seq, 1);
  b.writeInt32LE(m.exitCode, 5);
  b.writeDoubleLE(m.rss, 9);
  b.write(m.output, 17);
  return b;
}
function decodeDoneBinary(b: Buffer): DoneMsg {
  return { t: "done", seq: b.readUInt32LE(1), exitCode: b.readInt32LE(5), rss: b.readDoubleLE(9), output: b.toString("utf8", 17) };
}

/** Length-prefixed frames over a socket; frames written in one tick leave as one write. */
class FramedSocket {
  private pending: Buffer[] = [];
  private buffered: Buffer = Buffer.alloc(0);
  constructor(
    private readonly socket: Socket,
    private readonly codec: Codec,
    onMessage: (m: RunMsg | DoneMsg) => void,
  ) {
    socket.on("data", (chunk: Buffer) => {
      let buf = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      let o = 0;
      while (buf.length - o >= 4) {
        const n = buf.readUInt32LE(o);
        if (buf.length - o - 4 < n) break;
        onMessage(decodeBody(codec, buf.subarray(o + 4, o + 4 + n)));
        o += 4 + n;
      }
      buf = buf.subarray(o);
      this.buffered = buf;
    });
  }
  send(m: RunMsg | DoneMsg): void {
    const body = encodeBody(this.codec, m);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32LE(body.length, 0);
    if (this.pending.length === 0) setImmediate(() => this.flush());
    this.pending.push(head, body);
  }
  private flush(): void {
    const parts = this.pending;
    this.pending = [];
    this.socket.write(Buffer.concat(parts));
  }
}

const done = (m: RunMsg): DoneMsg => ({ t: "done", seq: m.seq, exitCode: 0, output: "", rss: -1 });

// ---- child role ----
if (process.argv[2] === "--child") {
  const kind = process.argv[3]!;
  if (kind === "ipc") {
    process.on("message", (m: RunMsg) => process.send!(done(m)));
  } else {
    const socket = new Socket({ fd: 3, readable: true, writable: true });
    const ch = new FramedSocket(socket, kind as Codec, (m) => ch.send(done(m as RunMsg)));
    socket.on("end", () => process.exit(0));
  }
} else {
  await main();
}

interface Channel {
  name: string;
  send(m: RunMsg): void;
  onDone: (m: DoneMsg) => void;
  close(): void;
}

function ipcChannel(serialization: "json" | "advanced"): Channel {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ["--child", "ipc"], { stdio: ["ignore", "inherit", "inherit", "ipc"], serialization });
  const ch: Channel = {
    name: `Node IPC (fork), ${serialization}`,
    send: (m) => child.send(m),
    onDone: () => undefined,
    close: () => child.kill(),
  };
  child.on("message", (m: DoneMsg) => ch.onDone(m));
  return ch;
}

function pipeChannel(codec: Codec): Channel {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--child", codec], {
    stdio: ["ignore", "inherit", "inherit", "pipe"],
  });
  const socket = child.stdio[3] as Socket;
  const ch: Channel = {
    name: `fd 3 socket, u32 frames, ${codec}, writes batched per turn`,
    send: (m) => framed.send(m),
    onDone: () => undefined,
    close: () => child.kill(),
  };
  const framed = new FramedSocket(socket, codec, (m) => ch.onDone(m as DoneMsg));
  return ch;
}

function numericFlag(name: string, fallback: number): number {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : fallback;
}

async function main(): Promise<void> {
  const REQUESTS = numericFlag("requests", 2000);
  const ROUNDS = numericFlag("rounds", 5);
  const BATCH = 100;
  const channels = [ipcChannel("json"), ipcChannel("advanced"), pipeChannel("json"), pipeChannel("v8"), pipeChannel("binary")];
  let seq = 0;
  const msg = (): RunMsg => ({ t: "run", seq: seq++, id: 1, origin: "bazel", args: ["--echo=hello", "--exit=0"], cwd: process.cwd(), verbosity: 0 });
  /** `inFlight` messages sent at once, resolved when all are answered. */
  const burst = (ch: Channel, inFlight: number): Promise<void> =>
    new Promise((resolve) => {
      let left = inFlight;
      ch.onDone = () => {
        if (--left === 0) resolve();
      };
      for (let i = 0; i < inFlight; i++) ch.send(msg());
    });
  // Wait for every child to answer once (start-up), then warm up.
  for (const ch of channels) for (let i = 0; i < 300; i++) await burst(ch, 1);
  const results: string[] = [];
  for (const inFlight of [1, 8]) {
    const samples = channels.map(() => [] as number[]);
    const wall = channels.map(() => 0);
    for (let done = 0; done < ROUNDS * REQUESTS; done += BATCH) {
      for (let c = 0; c < channels.length; c++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < BATCH; i++) {
          const s = process.hrtime.bigint();
          await burst(channels[c]!, inFlight);
          samples[c]!.push(Number(process.hrtime.bigint() - s) / 1000);
        }
        wall[c]! += Number(process.hrtime.bigint() - t0) / 1e9;
      }
    }
    const base = median(samples[0]!);
    results.push("", `${inFlight} in flight (${ROUNDS * REQUESTS} bursts per channel)`, "", "| channel | median µs per burst | p90 µs | messages/s | median vs Node IPC json |", "|---|--:|--:|--:|--:|");
    channels.forEach((ch, c) => {
      const xs = samples[c]!;
      results.push(`| ${ch.name} | ${median(xs).toFixed(1)} | ${pct(xs, 90).toFixed(1)} | ${Math.round((xs.length * inFlight) / wall[c]!)} | ${(median(xs) / base).toFixed(2)}× |`);
    });
  }
  for (const ch of channels) ch.close();
  process.stdout.write(
    `parent <-> child round trips, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(" ")} on ${availableParallelism()} CPUs\n${results.join("\n")}\n`,
  );
}

function median(xs: number[]): number {
  return pct(xs, 50);
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
