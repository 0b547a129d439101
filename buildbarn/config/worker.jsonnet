// bb_worker: fetches inputs from bazel-remote into a native build directory (hard links from a
// cache directory on the same file system) and asks bb_runner to run the command.
local common = import 'common.libsonnet';

{
  blobstore: common.blobstore,
  browserUrl: 'http://127.0.0.1/',
  maximumMessageSizeBytes: common.maximumMessageSizeBytes,
  scheduler: { address: '127.0.0.1:' + common.schedulerWorkerPort },
  buildDirectories: [{
    native: {
      buildDirectoryPath: common.buildDirectory,
      cacheDirectoryPath: common.dataDir + '/worker/cache',
      maximumCacheFileCount: 10000,
      maximumCacheSizeBytes: 1024 * 1024 * 1024,
      cacheReplacementPolicy: 'LEAST_RECENTLY_USED',
    },
    runners: [{
      endpoint: { address: 'unix://' + common.runnerSocket },
      concurrency: 2,
      // Registered with the empty platform: only the `static: {}` extractor matches every action.
      platform: {},
      workerId: { node: 'loopback', datacenter: 'test' },
    }],
  }],
  inputDownloadConcurrency: 10,
  outputUploadConcurrency: 10,
  directoryCache: {
    maximumCount: 1000,
    maximumSizeBytes: 1000 * 1024,
    cacheReplacementPolicy: 'LEAST_RECENTLY_USED',
  },
  // Bazel 4.2.3 asks for outputs through REv2.0's output_files/output_directories.
  supportLegacyOutputFilesAndDirectories: true,
}
