"""`probe_run`: one action running `worker-bridge --tool probe` one-shot, as a remote executor
without worker support runs it: `bridge.sh --tool probe [raw args] @<params file>`."""

def _probe_run_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    outputs = [out]
    command = ctx.actions.args()
    executable = ctx.executable._bridge
    if ctx.attr.report:
        seen = ctx.actions.declare_file(ctx.label.name + ".seen")
        outputs.append(seen)
        executable = ctx.executable._report
        command.add(seen.path)
    command.add("--tool", "probe")
    command.add_all(ctx.attr.raw_args)

    request = ctx.actions.args()
    request.use_param_file("@%s", use_always = True)
    request.set_param_file_format("multiline")
    request.add_all(ctx.attr.probe_args)
    request.add("--write=%s=%s" % (out.path, ctx.attr.text))

    ctx.actions.run(
        executable = executable,
        tools = ctx.files._bridge_files,
        arguments = [command, request],
        inputs = ctx.files.data,
        outputs = outputs,
        mnemonic = "ProbeRun",
        progress_message = "ProbeRun %s" % out.short_path,
        # PATH (for node) comes from --action_env.
        use_default_shell_env = True,
    )
    return [DefaultInfo(files = depset(outputs))]

probe_run = rule(
    implementation = _probe_run_impl,
    attrs = {
        "text": attr.string(mandatory = True, doc = "What the probe writes to <name>.txt."),
        "probe_args": attr.string_list(doc = "Probe arguments in the request argfile, before --write."),
        "raw_args": attr.string_list(doc = "Arguments on the command line itself, before the argfile."),
        "data": attr.label_list(allow_files = True),
        "report": attr.bool(doc = "Run through tools/report.sh, which writes <name>.seen."),
        "_bridge": attr.label(default = "//tools:bridge.sh", executable = True, allow_single_file = True, cfg = "exec"),
        "_report": attr.label(default = "//tools:report.sh", executable = True, allow_single_file = True, cfg = "exec"),
        "_bridge_files": attr.label(default = "//tools:bridge"),
    },
)
