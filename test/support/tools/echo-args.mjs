// A third-party-style tool loaded by path (--tool test/support/tools/echo-args.mjs): it reports
// exactly the arguments it received, so argfile expansion can be checked end to end.
import { defineTool } from "../../../dist/index.js";

export default defineTool({
  name: "echo-args",
  maxConcurrentJobs: 16,
  init(startupArgs) {
    return { startupArgs: [...startupArgs] };
  },
  run(job, ctx) {
    return { exitCode: 0, output: JSON.stringify({ args: job.args, startup: ctx.state.startupArgs }) };
  },
});
