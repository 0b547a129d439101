import { JsonStreamError, parseObjectMembers, type Json } from "./json-values.js";
import type { WorkRequest, WorkResponse } from "./messages.js";

/**
 * How a reader interprets one WorkResponse object:
 * - "bazel": Bazel's JsonWorkerProtocol (Gson): reads only exitCode, output and requestId; skips
 *   every other key (wasCancelled included); a repeated key or a null is an error.
 * - "strict": what the bridge promises: camelCase keys from WorkResponse only, exitCode, output
 *   and requestId always present. A snake_case or unknown key is an error.
 * - "protojson": the executors' Go protojson (DiscardUnknown): JSON or proto field names, an int
 *   may come as a numeric string, null or missing means the default.
 */
export type JsonReading = "bazel" | "strict" | "protojson";

const RESPONSE_KEYS = new Set(["exitCode", "output", "requestId", "wasCancelled"]);
const SNAKE: Record<string, string> = { exit_code: "exitCode", request_id: "requestId", was_cancelled: "wasCancelled" };

export function parseWorkResponse(text: string, reading: JsonReading): WorkResponse {
  const members = parseObjectMembers(text);
  const r: WorkResponse = { exitCode: 0, output: "", requestId: 0, wasCancelled: false };
  if (reading === "bazel") {
    for (const [key, v] of members) {
      if (key !== "exitCode" && key !== "output" && key !== "requestId") continue;
      if (v === null) throw new JsonStreamError(`null value for ${key}`);
      if (key === "output") r.output = str(key, v);
      else r[key] = int(key, v, false);
    }
    return r;
  }
  if (reading === "strict") {
    for (const [key, v] of members) {
      if (!RESPONSE_KEYS.has(key)) throw new JsonStreamError(`unknown response key ${key}`);
      if (key === "output") r.output = str(key, v);
      else if (key === "wasCancelled") {
        if (typeof v !== "boolean") throw new JsonStreamError(`wasCancelled is not a boolean: ${JSON.stringify(v)}`);
        r.wasCancelled = v;
      } else r[key as "exitCode" | "requestId"] = int(key, v, false);
    }
    for (const key of ["exitCode", "output", "requestId"]) {
      if (!members.some(([k]) => k === key)) throw new JsonStreamError(`response without ${key}: ${text.slice(0, 200)}`);
    }
    return r;
  }
  const seen = new Set<string>();
  for (const [rawKey, v] of members) {
    const key = SNAKE[rawKey] ?? rawKey;
    if (!RESPONSE_KEYS.has(key)) continue;
    if (seen.has(key)) throw new JsonStreamError(`duplicate field ${key}`);
    seen.add(key);
    if (v === null) continue;
    if (key === "output") r.output = str(key, v);
    else if (key === "wasCancelled") {
      if (typeof v !== "boolean") throw new JsonStreamError(`invalid value for bool wasCancelled: ${JSON.stringify(v)}`);
      r.wasCancelled = v;
    } else r[key as "exitCode" | "requestId"] = int(key, v, true);
  }
  return r;
}

function str(key: string, v: Json): string {
  if (typeof v !== "string") throw new JsonStreamError(`${key} is not a string: ${JSON.stringify(v)}`);
  return v;
}

function int(key: string, v: Json, numericStringOk: boolean): number {
  const n = numericStringOk && typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) {
    throw new JsonStreamError(`${key} is not an int32: ${JSON.stringify(v)}`);
  }
  return n;
}

/**
 * How a writer lays out one WorkRequest:
 * - "bazel-4.2.3": Gson via protobuf JsonFormat, compact, defaults omitted, HTML-safe escapes, no delimiter;
 * - "bazel": the same followed by `\n` (Bazel ≥ 5);
 * - "compact": JSON.stringify with defaults omitted, then `\n`;
 * - "protojson-all": every field present (BuildBuddy's EmitUnpopulated) with protojson's space
 *   after `:` and `,`, then `\n`.
 */
export type JsonLayout = "bazel-4.2.3" | "bazel" | "compact" | "protojson-all";

export function encodeWorkRequestJson(req: WorkRequest, layout: JsonLayout): Buffer {
  const all = layout === "protojson-all";
  const obj: Record<string, unknown> = {};
  if (all || (req.arguments?.length ?? 0) > 0) obj.arguments = req.arguments ?? [];
  if (all || (req.inputs?.length ?? 0) > 0) {
    obj.inputs = (req.inputs ?? []).map((i) => {
      const o: Record<string, string> = { path: i.path };
      if (all || i.digest.length > 0) o.digest = Buffer.from(i.digest).toString("base64");
      return o;
    });
  }
  if (all || (req.requestId ?? 0) !== 0) obj.requestId = req.requestId ?? 0;
  if (req.cancel === true) obj.cancel = true;
  if ((req.verbosity ?? 0) !== 0) obj.verbosity = req.verbosity;
  if ((req.sandboxDir ?? "") !== "") obj.sandboxDir = req.sandboxDir;
  const text = JSON.stringify(obj);
  switch (layout) {
    case "protojson-all":
      return Buffer.from(`${text.replace(/,"/g, ', "').replace(/":/g, '": ')}\n`, "utf8");
    case "compact":
      return Buffer.from(`${text}\n`, "utf8");
    case "bazel":
      return Buffer.from(`${gsonEscape(text)}\n`, "utf8");
    case "bazel-4.2.3":
      return Buffer.from(gsonEscape(text), "utf8");
  }
}

/** Gson's HTML-safe escaping, as protobuf JsonFormat writes strings. */
function gsonEscape(json: string): string {
  return json.replace(/[=<>&']/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
