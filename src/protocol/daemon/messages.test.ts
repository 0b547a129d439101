import { describe, expect, it } from "vitest";
import {
  DAEMON_PROTOCOL_VERSION,
  DaemonMessageError,
  decodeClientMessage,
  decodeDaemonMessage,
  encodeDaemonWire,
  type ClientMessage,
  type DaemonMessage,
} from "./messages.js";
import { LengthPrefixedDecoder } from "./length-prefix.js";

function unframe(bytes: Uint8Array): Uint8Array {
  const frames = new LengthPrefixedDecoder(1 << 20).push(bytes);
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

function raw(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

describe("daemon messages (docs/daemon.md, wire)", () => {
  it("every client message round-trips, carrying cwd, argv, the whole env and the timeout", () => {
    const messages: ClientMessage[] = [
      { type: "run", key: "k".repeat(64), bridge: "/b/worker-bridge.mjs", cwd: "/w", argv: ["@a", "--x=é"], env: { PATH: "/bin", EMPTY: "" }, timeoutMs: 5000 },
      { type: "run", key: "k", bridge: "/b", cwd: "/", argv: [], env: {} },
      { type: "status" },
      { type: "stop" },
    ];
    for (const m of messages) expect(decodeClientMessage(unframe(encodeDaemonWire(m)))).toEqual(m);
  });

  it("every daemon message round-trips", () => {
    const messages: DaemonMessage[] = [
      { type: "accepted", pid: 42 },
      { type: "refused", reason: "other key" },
      { type: "output", text: "line\n\u{1F600}" },
      { type: "exit", code: 3 },
      { type: "stopping", pid: 1 },
      { type: "status", pid: 1, key: "k", tool: "probe", startupArgs: ["-x"], startedAt: "t", requests: 2, inFlight: 0, idleTimeoutMs: 10 },
    ];
    for (const m of messages) expect(decodeDaemonMessage(unframe(encodeDaemonWire(m)))).toEqual(m);
  });

  it("every message carries the protocol version; another version is refused by name, not misread", () => {
    const frame = unframe(encodeDaemonWire({ type: "stop" }));
    expect(JSON.parse(new TextDecoder().decode(frame))).toEqual({ v: DAEMON_PROTOCOL_VERSION, type: "stop" });
    expect(() => decodeClientMessage(raw({ v: 2, type: "stop" }))).toThrow(/daemon protocol version 2 is not 1/);
    expect(() => decodeDaemonMessage(raw({ type: "exit", code: 0 }))).toThrow(/version undefined is not 1/);
  });

  it("malformed input is a DaemonMessageError, never another exception", () => {
    const bad: Uint8Array[] = [
      new Uint8Array([0xff, 0xfe]),
      raw([1, 2]),
      raw(null),
      raw({ v: 1, type: "run", key: "k", cwd: "/", argv: "not-array", env: {} }),
      raw({ v: 1, type: "run", key: "k", cwd: "/", argv: [], env: { A: 1 } }),
      raw({ v: 1, type: "run", key: "k", cwd: "/", argv: [], env: {}, timeoutMs: -1 }),
      raw({ v: 1, type: "run", cwd: "/", argv: [], env: {} }),
      raw({ v: 1, type: "run", key: "k", cwd: "/", argv: [], env: {} }),
      raw({ v: 1, type: "launch" }),
      new TextEncoder().encode("{"),
    ];
    for (const b of bad) expect(() => decodeClientMessage(b)).toThrow(DaemonMessageError);
    expect(() => decodeDaemonMessage(raw({ v: 1, type: "exit", code: 1.5 }))).toThrow(DaemonMessageError);
    expect(() => decodeDaemonMessage(raw({ v: 1, type: "output" }))).toThrow(/"text" must be a string/);
  });

  it('an env entry named "__proto__" stays an ordinary entry', () => {
    const frame = new TextEncoder().encode('{"v":1,"type":"run","key":"k","bridge":"/b","cwd":"/","argv":[],"env":{"__proto__":"x","A":"b"}}');
    const m = decodeClientMessage(frame);
    if (m.type !== "run") throw new Error("expected run");
    expect(Object.keys(m.env).sort()).toEqual(["A", "__proto__"]);
    expect(m.env["__proto__"]).toBe("x");
  });
});
