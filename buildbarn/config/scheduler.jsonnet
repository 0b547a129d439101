// bb_scheduler: Bazel sends Execute to the client port; bb_worker pulls work from the worker port.
local common = import 'common.libsonnet';

{
  clientGrpcServers: [{
    listenAddresses: ['127.0.0.1:' + common.schedulerClientPort],
    authenticationPolicy: common.allowAll,
  }],
  workerGrpcServers: [{
    listenAddresses: ['127.0.0.1:' + common.schedulerWorkerPort],
    authenticationPolicy: common.allowAll,
  }],
  browserUrl: 'http://127.0.0.1/',
  // Prometheus metrics on loopback: the start helper waits for the worker's registration there.
  global: {
    diagnosticsHttpServer: {
      httpServers: [{
        listenAddresses: ['127.0.0.1:' + std.extVar('BB_SCHEDULER_METRICS_PORT')],
        authenticationPolicy: common.allowAll,
      }],
      enablePrometheus: true,
    },
  },
  contentAddressableStorage: common.blobstore.contentAddressableStorage,
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
  executeAuthorizer: common.allowAll,
  modifyDrainsAuthorizer: common.allowAll,
  killOperationsAuthorizer: common.allowAll,
  synchronizeAuthorizer: common.allowAll,
  actionRouter: {
    simple: {
      // BB_PLATFORM_KEY_EXTRACTOR is `static` (test/buildbarn/cluster.ts's default): `static: {}`
      // files every action under the empty platform the worker registers with, whatever platform
      // properties the client sends (persistentWorkerKey included). `action` and
      // `actionAndCommand` are set only by the test that records what they do
      // (docs/remote-execution.md, "Buildbarn").
      platformKeyExtractor: { [std.extVar('BB_PLATFORM_KEY_EXTRACTOR')]: {} },
      invocationKeyExtractors: [{ correlatedInvocationsId: {} }, { toolInvocationId: {} }],
      initialSizeClassAnalyzer: {
        defaultExecutionTimeout: '300s',
        maximumExecutionTimeout: '600s',
      },
    },
  },
  // For a platform no worker has, the window after the scheduler's start during which Execute
  // answers UNAVAILABLE (clients retry) instead of FAILED_PRECONDITION; also how long an emptied
  // platform queue is kept. 900 s in Buildbarn's examples; 15 s here unless a test sets it.
  platformQueueWithNoWorkersTimeout: std.extVar('BB_NO_WORKERS_TIMEOUT'),
}
