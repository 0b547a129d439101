# Rules for driving worker-bridge from Buck2.
#
# `worker` builds the WorkerInfo: Buck2 starts `exe` once per build command with $WORKER_SOCKET
# set (local persistent workers), and, with `supports_bazel_remote_persistent_worker_protocol`, a
# remote executor starts the same command with `--persistent_worker` (remote persistent workers).
# The same command line doubles as the one-shot fallback: without WORKER_SOCKET or
# --persistent_worker, worker-bridge expands the `@argfile`, runs the tool once and exits.

load("@prelude//utils:argfile.bzl", "at_argfile")

def _bridge_tool_impl(ctx: AnalysisContext) -> list[Provider]:
    return [
        DefaultInfo(default_output = ctx.attrs.src, other_outputs = [ctx.attrs.bundle]),
        RunInfo(args = cmd_args(ctx.attrs.src, ctx.attrs.bundle)),
    ]

# The checked-in launcher script and the single-file bridge it runs, as one runnable tool:
# `<launcher> <bundle>`. Both are artifacts, so both become inputs of every action that uses it.
bridge_tool = rule(
    impl = _bridge_tool_impl,
    attrs = {
        "bundle": attrs.source(),
        "src": attrs.source(),
    },
)

def _worker_impl(ctx: AnalysisContext) -> list[Provider]:
    exe = cmd_args(
        ctx.attrs.bridge[RunInfo].args,
        "--tool",
        ctx.attrs.tool,
        ctx.attrs.bridge_args,
    )
    return [
        DefaultInfo(),
        WorkerInfo(
            exe = exe,
            concurrency = ctx.attrs.concurrency,
            streaming = ctx.attrs.streaming,
            supports_bazel_remote_persistent_worker_protocol = True,
        ),
        # The same command is the one-shot fallback (WorkerRunInfo.exe).
        RunInfo(args = exe),
    ]

worker = rule(
    impl = _worker_impl,
    attrs = {
        "bridge": attrs.exec_dep(providers = [RunInfo]),
        "bridge_args": attrs.list(attrs.string(), default = []),
        # None = no per-worker limit: Buck2 sends as many concurrent requests as it has slots;
        # worker-bridge's own --concurrency (default: CPU count) queues the rest.
        "concurrency": attrs.option(attrs.int(), default = None),
        "streaming": attrs.bool(default = False),
        "tool": attrs.string(),
    },
)

def _demo_impl(ctx: AnalysisContext) -> list[Provider]:
    output = ctx.actions.declare_output(ctx.label.name + ".txt")
    args = cmd_args(
        cmd_args(output.as_output(), format = "--write={}=" + ctx.attrs.text),
        # Which mode ran: WORKER_SOCKET is set only in a local persistent worker, and a
        # persistent worker answers every demo from the same process(es).
        "--env=WORKER_SOCKET",
        "--pid",
        ctx.attrs.args,
    )

    # One argument per line, no quoting; the action's only argument is `@<argfile>`, which remote
    # persistent workers require (every argument must start with `@`).
    argfile = at_argfile(
        actions = ctx.actions,
        name = "demo." + ctx.label.name + ".args",
        args = args,
    )
    worker = ctx.attrs._worker
    ctx.actions.run(
        # Buck2 no longer puts WorkerInfo.exe's files into a remote action's input root, so the
        # launcher and the bundle are attached here as hidden inputs too.
        cmd_args(argfile, hidden = worker[RunInfo].args),
        category = "demo",
        identifier = ctx.label.name,
        exe = WorkerRunInfo(
            worker = worker[WorkerInfo],
            exe = worker[RunInfo].args,
        ),
    )
    return [DefaultInfo(default_output = output)]

demo = rule(
    impl = _demo_impl,
    attrs = {
        "args": attrs.list(attrs.string(), default = []),
        "text": attrs.string(),
        "_worker": attrs.exec_dep(
            default = "//:worker",
            providers = [WorkerInfo, RunInfo],
        ),
    },
)
