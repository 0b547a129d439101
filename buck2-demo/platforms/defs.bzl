# Execution platforms for the four demo modes (Buck2's examples/persistent_worker, with the
# current flag name use_bazel_protocol_remote_persistent_workers).

def _configuration(ctx: AnalysisContext) -> ConfigurationInfo:
    constraints = dict()
    constraints.update(ctx.attrs.cpu_configuration[ConfigurationInfo].constraints)
    constraints.update(ctx.attrs.os_configuration[ConfigurationInfo].constraints)
    return ConfigurationInfo(constraints = constraints, values = {})

def _local_impl(ctx: AnalysisContext) -> list[Provider]:
    platform = ExecutionPlatformInfo(
        label = ctx.label.raw_target(),
        configuration = _configuration(ctx),
        executor_config = CommandExecutorConfig(
            local_enabled = True,
            remote_enabled = False,
            # False: the fallback (worker-bridge one-shot with the @argfile) runs per action.
            # True: one worker-bridge per build command, fed through $WORKER_SOCKET.
            use_persistent_workers = ctx.attrs.use_persistent_workers,
            use_bazel_protocol_remote_persistent_workers = False,
        ),
    )
    return [DefaultInfo(), ExecutionPlatformRegistrationInfo(platforms = [platform])]

local_platform = rule(
    impl = _local_impl,
    attrs = {
        "cpu_configuration": attrs.dep(providers = [ConfigurationInfo]),
        "os_configuration": attrs.dep(providers = [ConfigurationInfo]),
        "use_persistent_workers": attrs.bool(default = False),
    },
)

def _remote_impl(ctx: AnalysisContext) -> list[Provider]:
    platform = ExecutionPlatformInfo(
        label = ctx.label.raw_target(),
        configuration = _configuration(ctx),
        executor_config = CommandExecutorConfig(
            local_enabled = True,
            remote_enabled = True,
            remote_cache_enabled = True,
            allow_cache_uploads = True,
            use_limited_hybrid = True,
            use_persistent_workers = ctx.attrs.use_persistent_workers,
            # The executor starts `<WorkerInfo.exe> --persistent_worker` and sends WorkRequests.
            use_bazel_protocol_remote_persistent_workers = ctx.attrs.use_persistent_workers,
            remote_execution_properties = {
                "OSFamily": "Linux",
                "nonroot-workspace": True,
                # BuildBuddy keeps runners (and so persistent workers) only when recycled.
                "recycle-runner": True,
            },
            remote_execution_use_case = "buck2-default",
            remote_output_paths = "output_paths",
        ),
    )
    return [DefaultInfo(), ExecutionPlatformRegistrationInfo(platforms = [platform])]

remote_platform = rule(
    impl = _remote_impl,
    attrs = {
        "cpu_configuration": attrs.dep(providers = [ConfigurationInfo]),
        "os_configuration": attrs.dep(providers = [ConfigurationInfo]),
        "use_persistent_workers": attrs.bool(default = False),
    },
)
