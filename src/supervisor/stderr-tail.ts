/**
 * Keeps the last lines a tool process wrote to its stderr, so a crash report can show why it died
 * without anyone digging through logs. Bounded in lines and characters.
 */
export class StderrTail {
  private readonly lines: string[] = [];
  private partial = "";

  constructor(
    private readonly maxLines = 20,
    private readonly maxLineChars = 1000,
  ) {}

  /** Adds a chunk; returns the lines it completed (for logging). */
  push(chunk: string): string[] {
    const text = this.partial + chunk;
    const parts = text.split("\n");
    this.partial = parts.pop() ?? "";
    if (this.partial.length > this.maxLineChars * 4) {
      parts.push(this.partial);
      this.partial = "";
    }
    for (const line of parts) this.keep(line);
    return parts;
  }

  /** The kept lines, the unterminated last one included. */
  text(): string {
    const all = this.partial.length > 0 ? [...this.lines, this.clip(this.partial)] : this.lines;
    return all.join("\n");
  }

  private keep(line: string): void {
    this.lines.push(this.clip(line.replace(/\r$/, "")));
    if (this.lines.length > this.maxLines) this.lines.shift();
  }

  private clip(line: string): string {
    return line.length > this.maxLineChars ? `${line.slice(0, this.maxLineChars)}…` : line;
  }
}
