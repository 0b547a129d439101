// Interprets a request's arguments the way `tsc` does (executeCommandLineWorker): which config
// file, which root files, which options — or decides that the request is something only the real
// tsc process should do (help, watch, --build, listing and tracing flags).
import { dirname, resolve } from "node:path";
import type * as TS from "typescript";
import type { CompileConfig } from "./compile.js";
import { formatDiagnostics } from "./diagnostics.js";
import type { FileView } from "./file-view.js";
import { compilerDiagnostic, normalizePath, optionsWithAbsolutePaths, type TypeScriptApi } from "./typescript-api.js";

export type CommandPlan =
  | { readonly kind: "compile"; readonly config: CompileConfig; readonly configFileName: string | undefined }
  /** tsc would stop before compiling, with this output and exit code. */
  | { readonly kind: "result"; readonly exitCode: number; readonly output: string }
  /** Run the real tsc process for this request; `reason` is for verbose output. */
  | { readonly kind: "cold"; readonly reason: string };

/**
 * Options whose effect is printed output (file lists, traces, statistics, help) or a different
 * mode of operation. They are rare in builds; the real tsc handles them exactly.
 */
const COLD_OPTIONS = [
  "init",
  "version",
  "help",
  "all",
  "watch",
  "build",
  "showConfig",
  "listFiles",
  "listFilesOnly",
  "listEmittedFiles",
  "explainFiles",
  "diagnostics",
  "extendedDiagnostics",
  "generateTrace",
  "generateCpuProfile",
  "traceResolution",
  "locale",
  // Pretty output adds colours and an error summary only a TTY normally gets.
  "pretty",
] as const;

function coldOption(options: TS.CompilerOptions): string | undefined {
  return COLD_OPTIONS.find((name) => options[name] !== undefined && options[name] !== false);
}

/** The directory whose node_modules should supply the compiler, from the raw arguments. */
export function projectDirFromArgs(args: readonly string[], cwd: string, isDirectory: (p: string) => boolean): string {
  for (let i = 0; i < args.length - 1; i++) {
    const a = args[i]!.toLowerCase();
    if (a === "-p" || a === "--project" || a === "-project") {
      const p = resolve(cwd, args[i + 1]!);
      return isDirectory(p) ? p : dirname(p);
    }
  }
  return cwd;
}

export function planCommand(
  ts: TypeScriptApi,
  major: number,
  args: readonly string[],
  cwd: string,
  view: FileView,
): CommandPlan {
  const first = args[0];
  if (first !== undefined && /^--?(b|build)$/i.test(first)) return { kind: "cold", reason: "--build" };
  const commandLine = ts.parseCommandLine(args);
  const cold = coldOption(commandLine.options);
  if (cold) return { kind: "cold", reason: `--${cold}` };
  const fail = (diagnostics: readonly TS.Diagnostic[]): CommandPlan => ({
    kind: "result",
    exitCode: 1,
    output: formatDiagnostics(ts, diagnostics, cwd),
  });
  if (commandLine.errors.length > 0) return fail(commandLine.errors);

  // tsc's own early failures, with its own messages; if a message is unknown, tsc itself runs.
  const failWith = (messageName: string, ...a: string[]): CommandPlan => {
    const d = compilerDiagnostic(ts, messageName, ...a);
    return d ? fail([d]) : { kind: "cold", reason: messageName };
  };

  let configFileName: string | undefined;
  const fileNames = commandLine.fileNames;
  if (commandLine.options.project !== undefined) {
    if (fileNames.length !== 0) {
      return failWith("Option_project_cannot_be_mixed_with_source_files_on_a_command_line");
    }
    const project = commandLine.options.project;
    const fileOrDirectory = normalizePath(ts, project);
    if (!fileOrDirectory || view.directoryExists(fileOrDirectory)) {
      configFileName = fileOrDirectory ? `${fileOrDirectory.replace(/\/+$/, "")}/tsconfig.json` : "tsconfig.json";
      if (!view.fileExists(configFileName)) {
        return failWith("Cannot_find_a_tsconfig_json_file_at_the_specified_directory_Colon_0", project);
      }
    } else {
      configFileName = fileOrDirectory;
      if (!view.fileExists(configFileName)) {
        return failWith("The_specified_path_does_not_exist_Colon_0", project);
      }
    }
  } else if (fileNames.length === 0 || (major >= 6 && !commandLine.options.ignoreConfig)) {
    configFileName = ts.findConfigFile(normalizePath(ts, cwd), (f) => view.fileExists(f));
    // TypeScript 6 refuses files on the command line next to a tsconfig.json (TS5112).
    if (fileNames.length !== 0 && configFileName !== undefined) return { kind: "cold", reason: "files with a tsconfig.json present" };
    if (fileNames.length !== 0) configFileName = undefined;
  }
  if (fileNames.length === 0 && configFileName === undefined) return { kind: "cold", reason: "no tsconfig and no files (tsc prints help)" };

  const commandLineOptions = optionsWithAbsolutePaths(ts, commandLine.options, cwd);
  if (configFileName === undefined) {
    return {
      kind: "compile",
      configFileName,
      config: {
        rootNames: fileNames,
        options: commandLineOptions,
        projectReferences: commandLine.projectReferences,
        configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(commandLine),
      },
    };
  }
  let unrecoverable: TS.Diagnostic | undefined;
  const parseHost: TS.ParseConfigFileHost = {
    useCaseSensitiveFileNames: ts.sys.useCaseSensitiveFileNames,
    readDirectory: (p, ext, exc, inc, depth) => view.readDirectory(p, ext, exc, inc ?? [], depth),
    fileExists: (p) => view.fileExists(p),
    readFile: (p) => view.readFile(p),
    getCurrentDirectory: () => cwd,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      unrecoverable ??= d;
    },
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(configFileName, commandLineOptions, parseHost, new Map(), commandLine.watchOptions);
  if (!parsed || unrecoverable) return fail(unrecoverable ? [unrecoverable] : []);
  const coldInConfig = coldOption(parsed.options);
  if (coldInConfig) return { kind: "cold", reason: `${coldInConfig} in ${configFileName}` };
  return {
    kind: "compile",
    configFileName,
    config: {
      rootNames: parsed.fileNames,
      options: parsed.options,
      projectReferences: parsed.projectReferences,
      configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(parsed),
    },
  };
}
