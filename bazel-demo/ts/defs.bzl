"""`ts_library`: compiles TypeScript through `worker-bridge --tool tsc` as a Bazel persistent worker.

Each library is compiled by its own action (mnemonic `TsCompile`) from a generated tsconfig.json:
its sources, plus the `.d.ts` files of its dependencies, mapped by module name through `paths`
(so an import like `from "lib03"` resolves to the dependency's declarations, never to its
sources). The action declares every output tsc writes (.js, .js.map, .d.ts) — the worker rewrites
all of them on every request, since Bazel deletes outputs before running an action.

Run it with the worker (default) or one-shot with `--strategy=TsCompile=local`; the outputs are
byte-for-byte the same.
"""

TsInfo = provider(
    doc = "Declarations of a ts_library and of everything it depends on.",
    fields = {
        "declarations": "depset of .d.ts files (this library and its transitive deps)",
        "modules": "depset of 'module=path/to/index.d.ts' strings for `paths` mapping",
    },
)

def _stem(f):
    return f.basename[:-len(".ts")]

def _ts_library_impl(ctx):
    name = ctx.label.name
    srcs = ctx.files.srcs
    dep_declarations = depset(transitive = [d[TsInfo].declarations for d in ctx.attr.deps])
    dep_modules = depset(transitive = [d[TsInfo].modules for d in ctx.attr.deps])

    tsconfig = ctx.actions.declare_file(name + "/tsconfig.json")

    # Paths inside tsconfig.json are relative to its own directory (in bazel-bin); `up` climbs from
    # there back to the execution root, where sources and dependency outputs live.
    up = "/".join([".."] * len(tsconfig.dirname.split("/")))
    paths = {}
    for entry in dep_modules.to_list():
        module, path = entry.split("=", 1)
        paths[module] = [up + "/" + path]
    src_dir = srcs[0].dirname
    config = {
        "compilerOptions": {
            "module": "nodenext",
            "target": "es2022",
            "lib": ["es2022"],
            "types": [],
            "strict": True,
            "declaration": True,
            "sourceMap": True,
            "rootDir": up + "/" + src_dir,
            "outDir": ".",
            "paths": paths,
        },
        "files": [up + "/" + s.path for s in srcs],
    }
    ctx.actions.write(tsconfig, json.encode_indent(config, indent = "  ") + "\n")

    outputs = []
    declarations = []
    for src in srcs:
        stem = _stem(src)
        js = ctx.actions.declare_file(name + "/" + stem + ".js")
        js_map = ctx.actions.declare_file(name + "/" + stem + ".js.map")
        dts = ctx.actions.declare_file(name + "/" + stem + ".d.ts")
        outputs.extend([js, js_map, dts])
        declarations.append(dts)

    # Request arguments go in a params file (one per line), which Bazel turns into the
    # WorkRequest's arguments; `--tool tsc` stays on the worker's command line (its startup args).
    request = ctx.actions.args()
    request.use_param_file("@%s", use_always = True)
    request.set_param_file_format("multiline")
    request.add("-p", tsconfig.path)

    # The bridge and TypeScript are `tools`: inputs that are also part of the persistent worker's
    # key. TypeScript sits at <input root>/node_modules/typescript, where the tsc tool looks.
    ctx.actions.run(
        executable = ctx.executable._worker,
        tools = [ctx.file._bridge] + ctx.files._typescript,
        arguments = [ctx.file._bridge.path, "--tool", "tsc", request],
        use_default_shell_env = True,
        inputs = depset(srcs + [tsconfig], transitive = [dep_declarations]),
        outputs = outputs,
        mnemonic = "TsCompile",
        progress_message = "Compiling TypeScript %s" % ctx.label,
        execution_requirements = {"supports-workers": "1"},
    )

    index = [d for d in declarations if d.basename == "index.d.ts"]
    own_module = [name + "=" + index[0].path] if index else []
    return [
        DefaultInfo(files = depset(outputs)),
        TsInfo(
            declarations = depset(declarations, transitive = [dep_declarations]),
            modules = depset(own_module, transitive = [dep_modules]),
        ),
    ]

ts_library = rule(
    implementation = _ts_library_impl,
    doc = "Compiles `srcs` with worker-bridge's tsc tool; other ts_library targets import it by its name.",
    attrs = {
        "srcs": attr.label_list(allow_files = [".ts"], mandatory = True),
        "deps": attr.label_list(providers = [TsInfo]),
        "_worker": attr.label(
            default = "//tools:worker-bridge",
            executable = True,
            allow_single_file = True,
            cfg = "exec",
        ),
        "_bridge": attr.label(
            default = "//tools:worker-bridge.mjs",
            allow_single_file = True,
            cfg = "exec",
        ),
        "_typescript": attr.label(default = "//:typescript", cfg = "exec"),
    },
)
