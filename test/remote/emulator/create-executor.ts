import type { ProfileName, RemoteExecutor } from "./remote-action.js";
import { BuildBuddyExecutor, type BuildBuddyOptions } from "./profiles/buildbuddy.js";
import { BuildfarmExecutor, type BuildfarmOptions } from "./profiles/buildfarm.js";
import { NativeLinkExecutor, type NativeLinkOptions } from "./profiles/nativelink.js";
import { BuildbarnExecutor, PlainExecutor, type BuildbarnOptions } from "./profiles/one-shot-executors.js";

export const PROFILES: readonly ProfileName[] = ["buildbuddy-proto", "buildbuddy-json", "buildfarm", "nativelink", "buildbarn", "plain"];

export type AnyProfileOptions = BuildBuddyOptions & BuildfarmOptions & NativeLinkOptions & BuildbarnOptions;

/** One emulated executor per profile of docs/protocol/remote-executors.md §10.2. */
export function createExecutor(profile: ProfileName, options: AnyProfileOptions = {}): RemoteExecutor {
  switch (profile) {
    case "buildbuddy-proto":
    case "buildbuddy-json":
      return new BuildBuddyExecutor({ ...options, profile });
    case "buildfarm":
      return new BuildfarmExecutor(options);
    case "nativelink":
      return new NativeLinkExecutor(options);
    case "buildbarn":
      return new BuildbarnExecutor(options);
    case "plain":
      return new PlainExecutor(options);
  }
}
