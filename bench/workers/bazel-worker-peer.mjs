// The peer: @bazel/worker 5.8.1 running a no-op handler, exactly as its README shows. Everything
// it does per request (hex digests, stderr capture, the forced global.gc()) is part of the measurement.
import worker from "@bazel/worker";

if (!worker.runAsWorker(process.argv)) {
  console.error("bazel-worker-peer: expected --persistent_worker");
  process.exit(2);
}
void worker.runWorkerLoop(() => true);
