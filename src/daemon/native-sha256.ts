import { createHash } from "node:crypto";
import type { Hasher } from "./build-id.js";

/** SHA-256 by `node:crypto`: for large content, in processes that may pay for loading it. */
export const nativeSha256: Hasher = (bytes) => createHash("sha256").update(bytes).digest("hex");
