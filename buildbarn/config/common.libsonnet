// Settings shared by the test cluster's processes. Ports and paths come from the environment
// (Buildbarn's Jsonnet loader exposes every environment variable as std.extVar); the start helper
// test/buildbarn/cluster.ts picks free ports on 127.0.0.1 and a fresh temp directory per cluster.
{
  casAddress: '127.0.0.1:' + std.extVar('BB_CAS_PORT'),
  schedulerClientPort: std.extVar('BB_SCHEDULER_CLIENT_PORT'),
  schedulerWorkerPort: std.extVar('BB_SCHEDULER_WORKER_PORT'),
  dataDir: std.extVar('BB_DATA_DIR'),
  runnerSocket: self.dataDir + '/runner.sock',
  buildDirectory: self.dataDir + '/worker/build',
  maximumMessageSizeBytes: 16 * 1024 * 1024,

  // One bazel-remote serves CAS and AC over gRPC (bb_storage is not needed).
  blobstore: {
    contentAddressableStorage: { grpc: { client: { address: $.casAddress } } },
    actionCache: { grpc: { client: { address: $.casAddress } } },
  },
  allowAll: { allow: {} },
}
