// A tool written as the README showed it before subpath exports: it imports the package root.
import { defineTool } from "worker-bridge";

export default defineTool({ name: "root", run: () => ({ exitCode: 0 }) });
