// bb_runner: runs each command in <build directory>/<action>/root with exactly the environment the
// client sent. Defaults are kept on purpose (no chroot, no process-table cleanup, TMPDIR not set)
// so that the tests see what a plain Buildbarn runner gives an action.
local common = import 'common.libsonnet';

{
  buildDirectoryPath: common.buildDirectory,
  grpcServers: [{
    listenPaths: [common.runnerSocket],
    authenticationPolicy: common.allowAll,
  }],
}
