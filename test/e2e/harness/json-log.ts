import type { Readable } from 'node:stream';

/** One pino JSON log line; `time` is epoch ms (pino's default), `msg` the message. */
export type LogLine = Readonly<Record<string, unknown>> & { readonly time?: number; readonly msg?: string };

/**
 * The JSON log lines a process writes on one stream, parsed as they arrive. A line that is not
 * JSON (a stack trace, "listening on …") is kept apart in `text`, never dropped: it is what a
 * failing test prints to explain itself.
 */
export class JsonLog {
  readonly lines: LogLine[] = [];
  readonly text: string[] = [];
  private partial = '';
  private readonly listeners = new Set<(line: LogLine) => void>();

  constructor(stream: Readable) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.partial += chunk;
      const parts = this.partial.split('\n');
      this.partial = parts.pop()!;
      for (const p of parts) this.take(p);
    });
    stream.on('end', () => {
      if (this.partial !== '') this.take(this.partial);
      this.partial = '';
    });
  }

  private take(line: string): void {
    if (line.trim() === '') return;
    try {
      const parsed = JSON.parse(line) as unknown;
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        this.lines.push(parsed as LogLine);
        for (const listener of this.listeners) listener(parsed as LogLine);
        return;
      }
    } catch {
      // not JSON: kept as text below
    }
    this.text.push(line);
  }

  /**
   * Calls `listener` with every line from now on, as it arrives — not on the next poll — so a
   * test can SIGKILL a process right at the moment a line says something happened.
   * Returns the function that removes it.
   */
  onLine(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** The last `n` messages, for a timeout's explanation. */
  tail(n = 15): string {
    return this.lines
      .slice(-n)
      .map((l) => `${String(l.msg)}${l['err'] !== undefined ? ` (${String(l['err'])})` : ''}`)
      .concat(this.text.slice(-5))
      .join('\n    ');
  }
}
