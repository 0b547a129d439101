// The physical limit for a Node worker on pipes: read length-prefixed frames (or JSON lines) from
// stdin and write each one straight back, one write per message. No decoding, no dispatch.
const json = process.argv.includes("--format=json");
// --busy-us=N: spin N µs per message before answering, a worker that does some work (bench/placement.ts).
const busyNs = BigInt(Math.round(Number(process.argv.find((a) => a.startsWith("--busy-us="))?.slice(10) ?? 0) * 1000));
function busy() {
  if (busyNs === 0n) return;
  const until = process.hrtime.bigint() + busyNs;
  while (process.hrtime.bigint() < until);
}

let rest = Buffer.alloc(0);
process.stdin.on("data", (chunk) => {
  let buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
  let pos = 0;
  if (json) {
    for (let nl = buf.indexOf(10, pos); nl >= 0; nl = buf.indexOf(10, pos)) {
      busy();
      process.stdout.write(buf.subarray(pos, nl + 1));
      pos = nl + 1;
    }
  } else {
    for (;;) {
      let len = 0;
      let mult = 1;
      let p = pos;
      let complete = false;
      while (p < buf.length) {
        const b = buf[p++];
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || p + len > buf.length) break;
      busy();
      process.stdout.write(buf.subarray(pos, p + len));
      pos = p + len;
    }
  }
  rest = pos === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
});
process.stdin.on("end", () => process.exit(0));
