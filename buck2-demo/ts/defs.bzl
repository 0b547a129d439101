# `ts_library` for Buck2: TypeScript compiled by `worker-bridge --tool tsc` as a Buck2 persistent
# worker (WorkerInfo/WorkerRunInfo), with the same command line as the one-shot fallback.
#
# Each library gets a generated tsconfig.json whose `paths` map every dependency's module name to
# its `index.d.ts` and whose `files` are the library's sources, all written relative to the
# tsconfig's own directory (cmd_args relative_to). Output locations go on the command line, where
# tsc resolves them against the action's working directory (the project root).

load("@prelude//utils:argfile.bzl", "at_argfile")

TsInfo = provider(fields = {
    # .d.ts files of this library and everything it depends on.
    "declarations": provider_field(list[Artifact]),
    # Module name -> index.d.ts, for this library and everything it depends on.
    "modules": provider_field(dict[str, Artifact]),
})

def _tsc_worker_impl(ctx: AnalysisContext) -> list[Provider]:
    exe = cmd_args(ctx.attrs.bridge[RunInfo].args, "--tool", "tsc", ctx.attrs.bridge_args)
    return [
        DefaultInfo(),
        WorkerInfo(exe = exe, concurrency = None, supports_bazel_remote_persistent_worker_protocol = True),
        RunInfo(args = exe),
    ]

tsc_worker = rule(
    impl = _tsc_worker_impl,
    attrs = {
        "bridge": attrs.exec_dep(providers = [RunInfo]),
        # Worker flags such as "--verify-rate=0.05" or "--max-heap-mb=1024".
        "bridge_args": attrs.list(attrs.string(), default = []),
    },
)

def _quoted(value) -> cmd_args:
    return cmd_args(value, format = "\"{}\"")

def _ts_library_impl(ctx: AnalysisContext) -> list[Provider]:
    name = ctx.label.name
    declarations = []
    modules = {}
    for dep in ctx.attrs.deps:
        declarations.extend(dep[TsInfo].declarations)
        modules.update(dep[TsInfo].modules)

    out_dir = name + "_out"
    tsconfig = ctx.actions.declare_output(out_dir + "/tsconfig.json")

    def rel(artifact):
        return cmd_args(artifact, relative_to = (tsconfig, 1))

    paths = [
        cmd_args(_quoted(module), ": [", _quoted(rel(dts)), "]", delimiter = "")
        for module, dts in sorted(modules.items())
    ]
    content = cmd_args(
        "{\"compilerOptions\": {\"module\": \"nodenext\", \"target\": \"es2022\", \"lib\": [\"es2022\"], \"types\": [],",
        " \"strict\": true, \"declaration\": true, \"sourceMap\": true, \"paths\": {",
        cmd_args(paths, delimiter = ", "),
        "}}, \"files\": [",
        cmd_args([_quoted(rel(src)) for src in ctx.attrs.srcs], delimiter = ", "),
        "]}\n",
        delimiter = "",
    )
    tsconfig, _ = ctx.actions.write(tsconfig, content, allow_args = True)

    outputs = []
    own_declarations = []
    own_index = None
    for src in ctx.attrs.srcs:
        stem = src.basename[:-len(".ts")]
        outputs.append(ctx.actions.declare_output(out_dir + "/" + stem + ".js"))
        outputs.append(ctx.actions.declare_output(out_dir + "/" + stem + ".js.map"))
        dts = ctx.actions.declare_output(out_dir + "/" + stem + ".d.ts")
        outputs.append(dts)
        own_declarations.append(dts)
        if stem == "index":
            own_index = dts

    # The only argument is an @argfile (what remote persistent workers require); the worker
    # expands it. --outDir/--rootDir resolve against the action's cwd, the project root.
    argfile = at_argfile(
        actions = ctx.actions,
        name = name + ".tsc.args",
        args = cmd_args(
            "-p",
            tsconfig,
            "--outDir",
            cmd_args(outputs[0].as_output(), parent = 1),
            "--rootDir",
            cmd_args(ctx.attrs.srcs[0], parent = 1),
            hidden = [o.as_output() for o in outputs[1:]] + ctx.attrs.srcs + declarations,
        ),
    )
    worker = ctx.attrs._worker
    ctx.actions.run(
        cmd_args(argfile, hidden = worker[RunInfo].args),
        category = "tsc",
        identifier = name,
        exe = WorkerRunInfo(worker = worker[WorkerInfo], exe = worker[RunInfo].args),
    )

    all_modules = dict(modules)
    if own_index != None:
        all_modules[name] = own_index
    return [
        DefaultInfo(default_outputs = outputs),
        TsInfo(declarations = declarations + own_declarations, modules = all_modules),
    ]

ts_library = rule(
    impl = _ts_library_impl,
    attrs = {
        "srcs": attrs.list(attrs.source()),
        "deps": attrs.list(attrs.dep(providers = [TsInfo]), default = []),
        "_worker": attrs.exec_dep(default = "//ts:tsc_worker", providers = [WorkerInfo, RunInfo]),
    },
)
