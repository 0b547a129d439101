"""Rules that run worker-bridge's diagnostic `probe` tool as a Bazel persistent worker.

One rule, four worker modes. Each mode has its own mnemonic, so each gets its own worker
process(es) (the mnemonic and the protocol are part of Bazel's WorkerKey):

  mode          mnemonic              execution requirements
  proto         ProbeProto            supports-workers
  json          ProbeJson             supports-workers + requires-worker-protocol=json
  multiplex     ProbeMultiplex        supports-multiplex-workers
  multiplex_json ProbeMultiplexJson   supports-multiplex-workers + requires-worker-protocol=json

Every action writes its declared output with `--write=<out>=<text>` and reports the worker's
pid in its WorkResponse output (`--pid`), which Bazel prints as `INFO: From ...`, so worker reuse
can be seen from the build log.
"""

_MODES = {
    "proto": struct(
        mnemonic = "ProbeProto",
        protocol = "proto",
        requirements = {"supports-workers": "1"},
    ),
    "json": struct(
        mnemonic = "ProbeJson",
        protocol = "json",
        requirements = {"supports-workers": "1", "requires-worker-protocol": "json"},
    ),
    "multiplex": struct(
        mnemonic = "ProbeMultiplex",
        protocol = "proto",
        requirements = {"supports-multiplex-workers": "1"},
    ),
    "multiplex_json": struct(
        mnemonic = "ProbeMultiplexJson",
        protocol = "json",
        requirements = {"supports-multiplex-workers": "1", "requires-worker-protocol": "json"},
    ),
}

def _probe_files_impl(ctx):
    mode = _MODES[ctx.attr.mode]
    outputs = []
    for name, text in sorted(ctx.attr.files.items()):
        out = ctx.actions.declare_file(ctx.label.name + "/" + name)
        outputs.append(out)

        # Startup args: the same for every action of this mnemonic, so they share one worker.
        # They must not contain a flagfile: Bazel moves every @/--flagfile= argument into the
        # request (docs/protocol/bazel-worker.md §3.2).
        startup = ctx.actions.args()
        startup.add(ctx.file._bridge)
        startup.add("--tool", "probe")
        startup.add("--protocol=" + mode.protocol)
        startup.add("--log-level=info")

        # Request args: exactly one @params file, last, one argument per line as written
        # ("multiline"; the default "shell" format would deliver shell-quoted arguments).
        request = ctx.actions.args()
        request.use_param_file("@%s", use_always = True)
        request.set_param_file_format("multiline")
        request.add("--echo=action=%s:%s" % (mode.mnemonic, out.short_path))
        request.add("--pid")
        salt = ctx.var.get("probe_salt", "")
        if salt:
            # `--define=probe_salt=X` changes every action key without changing the outputs:
            # it makes Bazel run the actions again on a warm server, to observe worker reuse.
            request.add("--echo=salt=" + salt)
        if ctx.attr.hang:
            request.add("--hang")
        if ctx.attr.sleep_ms:
            request.add("--sleep=%d" % ctx.attr.sleep_ms)
        inputs = []
        if ctx.file.extra_args:
            # A nested argfile: Bazel 4.2.3 expands it before the worker sees the request,
            # worker-bridge expands it itself when the action runs one-shot (local strategy).
            request.add("@" + ctx.file.extra_args.path)
            inputs.append(ctx.file.extra_args)
        request.add("--write=%s=%s" % (out.path, text))
        if ctx.attr.exit_code:
            request.add("--exit=%d" % ctx.attr.exit_code)

        # The launcher finds node on the default shell environment's PATH (or
        # --action_env=WORKER_BRIDGE_NODE); without it, workers and remote actions get no PATH.

        ctx.actions.run(
            executable = ctx.executable._worker,
            tools = [ctx.file._bridge],
            arguments = [startup, request],
            use_default_shell_env = True,
            inputs = inputs,
            outputs = [out],
            mnemonic = mode.mnemonic,
            progress_message = "%s %s" % (mode.mnemonic, out.short_path),
            execution_requirements = dict(mode.requirements, **{"supports-worker-cancellation": "1"}),
        )
    return [DefaultInfo(files = depset(outputs))]

probe_files = rule(
    implementation = _probe_files_impl,
    doc = "Writes each entry of `files` (file name -> text) through worker-bridge --tool probe.",
    attrs = {
        "mode": attr.string(mandatory = True, values = sorted(_MODES.keys())),
        "files": attr.string_dict(mandatory = True),
        "sleep_ms": attr.int(default = 0, doc = "Per-action --sleep, so multiplex requests overlap."),
        "hang": attr.bool(default = False, doc = "Never answer (until cancelled): for watchdog tests."),
        "exit_code": attr.int(default = 0, doc = "Make every action fail with this exit code."),
        "extra_args": attr.label(allow_single_file = True, doc = "A nested @argfile of probe args."),
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
    },
)
