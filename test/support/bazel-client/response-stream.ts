import { parseWorkResponse, type JsonReading } from "./json-messages.js";
import { JsonObjectSplitter, JsonStreamError } from "./json-values.js";
import { decodeWorkResponse, type WorkResponse } from "./messages.js";
import { FrameReader } from "./varint.js";

export type Wire = "proto" | "json";

/**
 * Reads a worker's stdout into WorkResponses, whatever the chunking. Throws (WireError or
 * JsonStreamError) at the first byte that is not part of a well-formed response.
 */
export class ResponseStream {
  private readonly frames = new FrameReader();
  private readonly objects = new JsonObjectSplitter();
  private readonly utf8 = new TextDecoder("utf-8", { fatal: true });

  constructor(
    readonly wire: Wire,
    readonly reading: JsonReading = "strict",
  ) {}

  push(chunk: Uint8Array): WorkResponse[] {
    if (this.wire === "proto") return this.frames.push(chunk).map(decodeWorkResponse);
    let text: string;
    try {
      text = this.utf8.decode(chunk, { stream: true });
    } catch {
      throw new JsonStreamError("worker stdout is not valid UTF-8");
    }
    return this.objects.push(text).map((t) => parseWorkResponse(t, this.reading));
  }

  /** Bytes (proto) or characters (JSON) of an unfinished response. */
  get pending(): number {
    return this.wire === "proto" ? this.frames.pendingBytes : this.objects.pending.length;
  }

  /** At end of stream: throws if it ended inside a response. */
  end(): void {
    if (this.wire === "proto") return this.frames.end();
    if (this.objects.pending.trim() !== "") throw new JsonStreamError(`stream ended inside a JSON value: ${JSON.stringify(this.objects.pending.slice(0, 80))}`);
  }
}
