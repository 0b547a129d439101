// The physical limit for a grpc-js worker on a Unix socket: the Buck2 service paths, no decoding,
// a constant answer (an empty ExecuteResponse is exit_code 0). ExecuteStream reads only the id.
import * as grpc from "@grpc/grpc-js";

const identity = (b) => b;
const method = (path, requestStream, responseStream) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const EMPTY = Buffer.alloc(0);

/** Field 2 (id, varint) of an ExecuteCommandStream; 0 when absent. */
function streamId(msg) {
  let pos = 0;
  let id = 0;
  const varint = () => {
    let r = 0;
    let m = 1;
    for (;;) {
      const b = msg[pos++];
      r += (b & 0x7f) * m;
      if ((b & 0x80) === 0) return r;
      m *= 128;
    }
  };
  while (pos < msg.length) {
    const key = varint();
    if ((key & 7) === 0) {
      const v = varint();
      if (key >>> 3 === 2) id = v;
    } else if ((key & 7) === 2) {
      const len = varint();
      pos += len;
    }
    else throw new Error(`unexpected wire type ${key & 7}`);
  }
  return id;
}

function varintBytes(v) {
  const out = [];
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const server = new grpc.Server({ "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 });
server.addService(
  { Execute: method("/worker.Worker/Execute", false, false) },
  { Execute: (_call, callback) => callback(null, EMPTY) },
);
server.addService(
  { ExecuteStream: method("/worker.WorkerStreaming/ExecuteStream", true, true) },
  {
    ExecuteStream: (call) => {
      call.sendMetadata(new grpc.Metadata());
      call.on("data", (msg) => call.write(Buffer.from([0x0a, 0x00, 0x10, ...varintBytes(streamId(msg))])));
      call.on("end", () => call.end());
    },
  },
);
server.bindAsync(`unix:${process.env.WORKER_SOCKET}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    console.error(`floor-grpc: cannot bind: ${err.message}`);
    process.exit(1);
  }
});
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
