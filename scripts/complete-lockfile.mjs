// npm writes no lock entry for an optional platform package that its registry cannot serve (the
// registry mirror here lacks e.g. @bufbuild/buf-darwin-arm64), and `npm ci` then refuses the lock
// as out of sync. This adds the missing entries, marked optional and for their own os/cpu/libc, so
// `npm ci` validates the lock and skips them on this platform, as it does for every other
// foreign-platform package. Run after `npm install` changes package-lock.json.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
const packages = lock.packages;

/** Platform of a prebuilt-binary package, from the naming conventions of buf, rollup and esbuild. */
function platformOf(name) {
  const leaf = name.split("/").pop();
  const os = ["android", "darwin", "freebsd", "linux", "openbsd", "openharmony", "win32", "netbsd", "sunos", "aix"].find((o) => leaf.includes(`${o}-`) || leaf.endsWith(o));
  const cpuMap = [["arm64", "arm64"], ["aarch64", "arm64"], ["armv7", "arm"], ["arm-", "arm"], ["x64", "x64"], ["ia32", "ia32"], ["loong64", "loong64"], ["ppc64", "ppc64"], ["riscv64", "riscv64"], ["s390x", "s390x"]];
  const cpu = cpuMap.find(([k]) => leaf.includes(k))?.[1];
  const libc = /musl/.test(leaf) ? "musl" : /-gnu/.test(leaf) ? "glibc" : undefined;
  return { os, cpu, libc };
}

let added = 0;
for (const [key, entry] of Object.entries(packages)) {
  const optional = entry.optionalDependencies ?? {};
  for (const [dep, version] of Object.entries(optional)) {
    const depKey = `node_modules/${dep}`;
    if (packages[depKey] || packages[`${key}/${depKey}`]) continue;
    const { os, cpu, libc } = platformOf(dep);
    if (!os || !cpu) continue; // not a platform package: leave it to npm
    packages[depKey] = {
      version,
      cpu: [cpu],
      ...(entry.dev ? { dev: true } : {}),
      ...(libc ? { libc: [libc] } : {}),
      optional: true,
      os: [os],
    };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))));
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} foreign-platform optional entries`);
