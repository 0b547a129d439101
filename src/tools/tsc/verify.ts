// The staleness guard: a warm result is compared with a cold compilation of the same request, and
// any difference fails the request with a readable diff instead of shipping a wrong answer.
import type { EmittedFile } from "./compile.js";

export interface ComparableResult {
  readonly outputs: ReadonlyMap<string, EmittedFile>;
  readonly diagnostics: string;
  readonly exitCode: number;
}

function content(file: EmittedFile): string {
  return file.writeByteOrderMark ? "\uFEFF" + file.text : file.text;
}

function firstDifferentLine(a: string, b: string): string {
  const la = a.split("\n");
  const lb = b.split("\n");
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) {
      return `line ${i + 1}:\n    - warm: ${JSON.stringify(la[i] ?? "<end of file>")}\n    + cold: ${JSON.stringify(lb[i] ?? "<end of file>")}`;
    }
  }
  return "(same lines, different bytes)";
}

function lineDiff(warm: string, cold: string): string[] {
  const w = new Set(warm.split("\n").filter(Boolean));
  const c = new Set(cold.split("\n").filter(Boolean));
  return [
    ...[...w].filter((l) => !c.has(l)).map((l) => `    - warm only: ${l}`),
    ...[...c].filter((l) => !w.has(l)).map((l) => `    + cold only: ${l}`),
  ];
}

/** Empty when equal; otherwise human-readable lines describing every difference. */
export function diffResults(warm: ComparableResult, cold: ComparableResult): string[] {
  const out: string[] = [];
  if (warm.exitCode !== cold.exitCode) out.push(`exit code: warm ${warm.exitCode}, cold ${cold.exitCode}`);
  if (warm.diagnostics !== cold.diagnostics) {
    out.push("diagnostics differ:", ...lineDiff(warm.diagnostics, cold.diagnostics));
  }
  const names = new Set([...warm.outputs.keys(), ...cold.outputs.keys()]);
  for (const name of [...names].sort()) {
    const w = warm.outputs.get(name);
    const c = cold.outputs.get(name);
    if (!w) out.push(`output ${name}: missing from the warm result`);
    else if (!c) out.push(`output ${name}: written warm but a cold build does not produce it`);
    else if (content(w) !== content(c)) out.push(`output ${name} differs at ${firstDifferentLine(content(w), content(c))}`);
  }
  return out;
}

/** Deterministic sampling: rate 0.25 verifies every 4th request, 1 every request. */
export class VerifySampler {
  private credit = 0;
  next(rate: number): boolean {
    if (rate <= 0) return false;
    this.credit += rate;
    if (this.credit >= 1 - 1e-9) {
      this.credit -= 1;
      return true;
    }
    return false;
  }
}
