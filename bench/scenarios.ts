import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Comparison } from "./lib/compare.js";
import { grpcWorker } from "./lib/grpc-target.js";
import { oneShot } from "./lib/oneshot-target.js";
import { pipeWorker } from "./lib/pipe-target.js";
import type { Variant } from "./lib/target.js";

export const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
export const CLI = join(ROOT, "dist", "cli.js");
const NODE = process.execPath;
const worker = (name: string): string => join(ROOT, "bench", "workers", name);

export type Host = "inline" | "process" | "thread";
export const HOSTS: readonly Host[] = ["inline", "process"];
/** The protocol-overhead rows also measure the thread host (issue 14). */
const PROTOCOL_HOSTS: readonly Host[] = [...HOSTS, "thread"];

/** Labels the target checks look rows up by. */
export const LABEL = {
  floorPipe: "plain-Node pipe echo (floor)",
  floorGrpc: "grpc-js echo (floor)",
  peer: "@bazel/worker 5.8.1 no-op (peer)",
  bridge: (host: Host): string => `bridge --host=${host}`,
  nodeStart: "node -e '' (process start)",
  oneShot: "bridge one-shot @argfile",
} as const;

export const SCENARIO = {
  bazelProto: "Bazel proto singleplex",
  bazelMux: "Bazel proto multiplex",
  bazelJson: "Bazel JSON singleplex",
  buck2Execute1: "Buck2 Execute ×1",
  buck2Execute16: "Buck2 Execute ×16",
  buck2Stream1: "Buck2 ExecuteStream ×1",
  buck2Stream16: "Buck2 ExecuteStream ×16",
  peer: "no-op singleplex vs @bazel/worker",
  oneShot: "fresh process per request",
} as const;

export interface Sizes {
  rounds: number;
  requestsPerRound: number;
  warmupRequests: number;
  oneShotRounds: number;
  oneShotPerRound: number;
  memoryRequests: number;
  memorySettleMs: number;
}

export const FULL: Sizes = {
  rounds: 6,
  requestsPerRound: 2000,
  warmupRequests: 500,
  oneShotRounds: 5,
  oneShotPerRound: 4,
  memoryRequests: 10_000,
  memorySettleMs: 1000,
};

export const QUICK: Sizes = {
  rounds: 2,
  requestsPerRound: 50,
  warmupRequests: 10,
  oneShotRounds: 2,
  oneShotPerRound: 1,
  memoryRequests: 200,
  memorySettleMs: 200,
};

export function bazelBridge(host: Host, opts: { format: "proto" | "json"; multiplex: boolean; maxInFlight: number }, label = LABEL.bridge(host)): Variant {
  const args = [CLI, "--tool", "probe", "--persistent_worker", `--host=${host}`];
  if (opts.format === "json") args.push("--protocol=json");
  return pipeWorker({ label, command: NODE, args, ...opts });
}

export function floorPipe(opts: { format: "proto" | "json"; multiplex: boolean; maxInFlight: number }): Variant {
  const args = [worker("floor-pipe-echo.mjs"), `--format=${opts.format}`];
  return pipeWorker({ label: LABEL.floorPipe, command: NODE, args, ...opts });
}

function buck2(mode: "execute" | "stream"): Variant[] {
  return [
    grpcWorker({ label: LABEL.floorGrpc, command: NODE, args: [worker("floor-grpc.mjs")], mode }),
    ...PROTOCOL_HOSTS.map((host) => grpcWorker({ label: LABEL.bridge(host), command: NODE, args: [CLI, "--tool", "probe", `--host=${host}`], mode })),
  ];
}

export function comparisons(s: Sizes): Comparison[] {
  const base = { rounds: s.rounds, requestsPerRound: s.requestsPerRound, warmupRequests: s.warmupRequests };
  const many = { ...base, requestsPerRound: s.requestsPerRound * 2 };
  const single = { format: "proto", multiplex: false, maxInFlight: 1 } as const;
  const mux = { format: "proto", multiplex: true, maxInFlight: 8 } as const;
  const json = { format: "json", multiplex: false, maxInFlight: 1 } as const;
  const argfileDir = mkdtempSync(join(tmpdir(), "wb-bench-argfile-"));
  const argfile = join(argfileDir, "request.args");
  writeFileSync(argfile, ""); // a no-op request: probe with no arguments
  process.once("exit", () => rmSync(argfileDir, { recursive: true, force: true }));
  const proto = "Protocol overhead";
  return [
    { group: proto, name: SCENARIO.bazelProto, inFlight: 1, ...base, variants: [floorPipe(single), ...PROTOCOL_HOSTS.map((h) => bazelBridge(h, single))] },
    { group: proto, name: SCENARIO.bazelMux, inFlight: 8, ...many, variants: [floorPipe(mux), ...PROTOCOL_HOSTS.map((h) => bazelBridge(h, mux))] },
    { group: proto, name: SCENARIO.bazelJson, inFlight: 1, ...base, variants: [floorPipe(json), ...PROTOCOL_HOSTS.map((h) => bazelBridge(h, json))] },
    { group: proto, name: SCENARIO.buck2Execute1, inFlight: 1, ...base, variants: buck2("execute") },
    { group: proto, name: SCENARIO.buck2Execute16, inFlight: 16, ...many, variants: buck2("execute") },
    { group: proto, name: SCENARIO.buck2Stream1, inFlight: 1, ...base, variants: buck2("stream") },
    { group: proto, name: SCENARIO.buck2Stream16, inFlight: 16, ...many, variants: buck2("stream") },
    {
      group: "Peer",
      name: SCENARIO.peer,
      inFlight: 1,
      ...base,
      variants: [
        pipeWorker({ label: LABEL.peer, command: NODE, args: [worker("bazel-worker-peer.mjs"), "--persistent_worker"], ...single }),
        ...HOSTS.map((h) => bazelBridge(h, single)),
      ],
    },
    {
      group: "One-shot",
      name: SCENARIO.oneShot,
      inFlight: 1,
      rounds: s.oneShotRounds,
      requestsPerRound: s.oneShotPerRound,
      warmupRequests: 1,
      variants: [oneShot(LABEL.nodeStart, NODE, ["-e", ""]), oneShot(LABEL.oneShot, NODE, [CLI, "--tool", "probe", `@${argfile}`])],
    },
  ];
}

export function memoryVariants(): Variant[] {
  const single = { format: "proto", multiplex: false, maxInFlight: 1 } as const;
  return [floorPipe(single), ...HOSTS.map((h) => bazelBridge(h, single))];
}
