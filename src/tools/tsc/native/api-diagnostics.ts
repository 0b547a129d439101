// tsgo's command line sorts and deduplicates every diagnostic it reports (by file, start, end,
// code, message, message chain, related information); the API back end collects the same
// diagnostics from several calls and cached per-file answers, so it applies the same order.
import type { ApiDiagnostic } from "./api-client.js";

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function chainSize(a: readonly ApiDiagnostic[] = [], b: readonly ApiDiagnostic[] = []): number {
  if (a.length !== b.length) return b.length - a.length;
  for (let i = 0; i < a.length; i++) {
    const c = chainSize(a[i]!.messageChain, b[i]!.messageChain);
    if (c !== 0) return c;
  }
  return 0;
}

function chainContent(a: readonly ApiDiagnostic[] = [], b: readonly ApiDiagnostic[] = []): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareStrings(a[i]!.text, b[i]!.text) || chainContent(a[i]!.messageChain, b[i]!.messageChain);
    if (c !== 0) return c;
  }
  return 0;
}

export function compareDiagnostics(a: ApiDiagnostic, b: ApiDiagnostic): number {
  return (
    compareStrings(a.fileName ?? "", b.fileName ?? "") ||
    a.pos - b.pos ||
    a.end - b.end ||
    a.code - b.code ||
    compareStrings(a.text, b.text) ||
    chainSize(a.messageChain, b.messageChain) ||
    chainContent(a.messageChain, b.messageChain) ||
    related(a.relatedInformation, b.relatedInformation)
  );
}

function related(a: readonly ApiDiagnostic[] = [], b: readonly ApiDiagnostic[] = []): number {
  if (a.length !== b.length) return b.length - a.length;
  for (let i = 0; i < a.length; i++) {
    const c = compareDiagnostics(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return 0;
}

/** Equality as the deduplication sees it (category and positions of the chain do not count). */
function identity(d: ApiDiagnostic): string {
  const chain = (c: readonly ApiDiagnostic[] = []): unknown => c.map((m) => [m.code, m.text, chain(m.messageChain)]);
  return JSON.stringify([d.fileName ?? "", d.pos, d.end, d.code, d.text, chain(d.messageChain), (d.relatedInformation ?? []).map(identity)]);
}

export function sortAndDeduplicate(diagnostics: readonly ApiDiagnostic[]): ApiDiagnostic[] {
  const sorted = [...diagnostics].sort(compareDiagnostics);
  const out: ApiDiagnostic[] = [];
  let last = "";
  for (const d of sorted) {
    const id = identity(d);
    if (out.length > 0 && id === last) continue;
    out.push(d);
    last = id;
  }
  return out;
}
