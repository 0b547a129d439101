// The CompilerHost a warm build uses: file access goes through the request's FileView, parsed
// source files are reused only while their change token (digest or text) is unchanged, and every
// file-system probe the compiler makes is recorded so a later request can tell whether module
// resolution could come out differently.
import { sep } from "node:path";
import type * as TS from "typescript";
import type { FileView } from "./file-view.js";
import { newLineFor, sourceFileVersion, type TypeScriptApi } from "./typescript-api.js";
import type { PathMap } from "./virtual-root.js";

interface CachedSourceFile {
  /** Digest when the build system gave one; otherwise undefined and the text is compared. */
  token: string | undefined;
  readonly parseKey: string;
  readonly file: TS.SourceFile;
}

/** Parsed files of one warm program, by absolute file name. */
export class SourceFileCache {
  readonly files = new Map<string, CachedSourceFile>();
}

type ProbeKind = "exists" | "dir" | "subdirs" | "read" | "realpath";

/**
 * File-system questions asked while building a program, with their answers. If every answer is
 * still the same, module and type-reference resolution would come out the same.
 */
export class ProbeLog {
  private readonly answers = new Map<string, string>();

  record(kind: ProbeKind, path: string, answer: string): void {
    this.answers.set(`${kind}\0${path}`, answer);
  }

  get size(): number {
    return this.answers.size;
  }

  /** The first probe whose answer changed, or undefined when the file system looks the same. */
  firstChange(view: FileView, hash: (text: string) => string): string | undefined {
    for (const [key, answer] of this.answers) {
      const sepIndex = key.indexOf("\0");
      const kind = key.slice(0, sepIndex);
      const path = key.slice(sepIndex + 1);
      if (answerNow(kind, path, view, hash) !== answer) return `${kind} ${path}`;
    }
    return undefined;
  }
}

function answerNow(kind: string, path: string, view: FileView, hash: (text: string) => string): string {
  switch (kind) {
    case "exists":
      return view.fileExists(path) ? "1" : "0";
    case "dir":
      return view.directoryExists(path) ? "1" : "0";
    case "subdirs":
      return view.directoryExists(path) ? view.getDirectories(path).sort().join("\n") : "\0missing";
    case "realpath":
      return view.realpath ? view.realpath(path) : path;
    default: {
      if (!view.fileExists(path)) return "\0missing";
      return readAnswer(view, path, hash);
    }
  }
}

function readAnswer(view: FileView, path: string, hash: (text: string) => string): string {
  const token = view.token(path);
  if (token !== undefined) return `digest:${token}`;
  const text = view.readFile(path);
  return text === undefined ? "\0missing" : `text:${hash(text)}`;
}

/** Lib files are part of the compiler install and never change, so one parse serves every target. */
const sharedLibFiles = new WeakMap<TypeScriptApi, Map<string, TS.SourceFile>>();

export interface WarmHostOptions {
  readonly ts: TypeScriptApi;
  /**
   * The request's default lib directory (real path). Not `ts.getDefaultLibFilePath`: one loaded
   * compiler serves every directory holding the same TypeScript, and would name its own.
   */
  readonly libDir: string;
  /** Paths as the compiler sees them (virtual under a PathMap); `map.cwd` is the current directory. */
  readonly view: FileView;
  readonly map: PathMap;
  readonly options: TS.CompilerOptions;
  readonly sources: SourceFileCache;
  readonly probes: ProbeLog;
  /** Share parsed lib files across targets (off for the independent cold check of verify mode). */
  readonly shareLibFiles: boolean;
}

export function createHash(ts: TypeScriptApi): (data: string) => string {
  // tsc's own host hashes with sys.createHash (sha256 in Node); .tsbuildinfo stores these values.
  const sysHash = ts.sys.createHash;
  if (typeof sysHash !== "function") throw new Error("ts.sys.createHash is unavailable; cannot version source files");
  return (data) => sysHash.call(ts.sys, data);
}

function parseKey(languageVersionOrOptions: TS.ScriptTarget | TS.CreateSourceFileOptions, options: TS.CompilerOptions): string {
  if (typeof languageVersionOrOptions === "number") return `${languageVersionOrOptions}`;
  const o = languageVersionOrOptions;
  // setExternalModuleIndicator is a function derived from these options; the options key it.
  return `${o.languageVersion}|${o.impliedNodeFormat ?? ""}|${o.jsDocParsingMode ?? ""}|${options.moduleDetection ?? ""}|${options.jsx ?? ""}`;
}

export function createWarmCompilerHost(
  init: WarmHostOptions,
  writeFile: TS.WriteFileCallback,
): TS.CompilerHost {
  const { ts, view, map, options, sources, probes } = init;
  const cwd = map.cwd;
  const hash = createHash(ts);
  const libDir = map.toVirtual(init.libDir);
  const isLib = (p: string) => p.startsWith(libDir + sep);
  const caseSensitive = ts.sys.useCaseSensitiveFileNames;
  let libCache = sharedLibFiles.get(ts);
  if (!libCache) sharedLibFiles.set(ts, (libCache = new Map()));
  const localLibCache = new Map<string, TS.SourceFile>();
  // A shared SourceFile is bound once; the binder reads these options, so targets that differ in
  // them do not share parsed lib files (as TypeScript's own DocumentRegistry keys by settings).
  const bindingKey = JSON.stringify([
    options.strict, options.alwaysStrict, options.allowUnreachableCode, options.allowUnusedLabels,
    options.preserveConstEnums, options.isolatedModules, options.verbatimModuleSyntax,
  ]);

  const newSourceFile = (fileName: string, text: string, langOptions: TS.ScriptTarget | TS.CreateSourceFileOptions) => {
    const file = ts.createSourceFile(fileName, text, langOptions, false);
    // The builder compares versions to find changed files; tsc's incremental host uses this hash.
    (file as { version?: string }).version = sourceFileVersion(ts, text, hash);
    return file;
  };

  const getSourceFile: TS.CompilerHost["getSourceFile"] = (fileName, langOptions, onError, shouldCreateNew) => {
    const key = parseKey(langOptions, options);
    if (isLib(fileName)) {
      const cache = init.shareLibFiles ? libCache : localLibCache;
      const cacheKey = `${fileName}\0${key}\0${bindingKey}`;
      const hit = cache.get(cacheKey);
      if (hit && !shouldCreateNew) return hit;
      const text = ts.sys.readFile(map.toReal(fileName));
      if (text === undefined) return undefined;
      const file = newSourceFile(fileName, text, langOptions);
      cache.set(cacheKey, file);
      return file;
    }
    const cached = sources.files.get(fileName);
    const token = view.token(fileName);
    if (cached && !shouldCreateNew && cached.parseKey === key && token !== undefined && cached.token === token) {
      return cached.file;
    }
    let text: string | undefined;
    try {
      text = view.readFile(fileName);
    } catch (err) {
      if ((err as Error).name === "UndeclaredInputError") throw err;
      onError?.((err as Error).message);
      text = "";
    }
    if (text === undefined) {
      probes.record("exists", fileName, "0");
      sources.files.delete(fileName);
      return undefined;
    }
    if (cached && !shouldCreateNew && cached.parseKey === key && cached.file.text === text) {
      cached.token = token;
      return cached.file;
    }
    const file = newSourceFile(fileName, text, langOptions);
    sources.files.set(fileName, { token, parseKey: key, file });
    return file;
  };

  const recordUnlessLib = (kind: ProbeKind, path: string, answer: string) => {
    if (!isLib(path)) probes.record(kind, path, answer);
  };

  return {
    getSourceFile,
    getDefaultLibFileName: (o) => `${libDir}/${ts.getDefaultLibFileName(o)}`,
    getDefaultLibLocation: () => libDir,
    writeFile,
    getCurrentDirectory: () => cwd,
    getCanonicalFileName: (f) => (caseSensitive ? f : f.toLowerCase()),
    useCaseSensitiveFileNames: () => caseSensitive,
    getNewLine: () => newLineFor(ts, options),
    fileExists(path) {
      const answer = view.fileExists(path);
      recordUnlessLib("exists", path, answer ? "1" : "0");
      return answer;
    },
    readFile(path) {
      const text = view.readFile(path);
      const token = view.token(path);
      recordUnlessLib("read", path, text === undefined ? "\0missing" : token !== undefined ? `digest:${token}` : `text:${hash(text)}`);
      return text;
    },
    directoryExists(path) {
      const answer = view.directoryExists(path);
      recordUnlessLib("dir", path, answer ? "1" : "0");
      return answer;
    },
    getDirectories(path) {
      const answer = view.directoryExists(path) ? view.getDirectories(path) : [];
      recordUnlessLib("subdirs", path, view.directoryExists(path) ? [...answer].sort().join("\n") : "\0missing");
      return answer;
    },
    // As tsc: module resolution follows symlinks found in node_modules unless preserveSymlinks.
    // With declared inputs there is no realpath: a sandbox's symlinked inputs are never resolved
    // to files outside the declared set.
    ...(view.realpath
      ? {
          realpath: (path: string) => {
            const answer = view.realpath!(path);
            recordUnlessLib("realpath", path, answer);
            return answer;
          },
        }
      : {}),
    createHash: hash,
    jsDocParsingMode: ts.JSDocParsingMode.ParseForTypeErrors,
  };
}
