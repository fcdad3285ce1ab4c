/**
 * The demo's terminal view: one line per target — phase, progress bar, members done, summary
 * and what it waits for — and, above it, what happens (an agent back online, an operator at
 * work, status commits landing) as it happens.
 *
 * On a terminal the target lines stay at the bottom and are redrawn in place; messages scroll
 * above them. Anywhere else (a pipe, a CI log) nothing is redrawn: a target's line is printed
 * again only when it changed, each line stamped with the time since the start. Lines are cut
 * to the terminal's width, since a wrapped line would break the redraw.
 */
import type { Phase } from '../../reconcilers/contract.ts';

export interface TargetRow {
  readonly target: string;
  /** Undefined until the target's first reconcile. */
  readonly phase?: Phase;
  readonly summary: string;
  /** What it waits for, or why it is blocked, when that is more than the summary. */
  readonly reason?: string;
  /** Members at their desired version, of `total`. */
  readonly done: number;
  readonly total: number;
}

export interface LiveViewOptions {
  /** Redraw in place (a terminal). */
  readonly tty: boolean;
  readonly color: boolean;
  /** Width of the terminal (lines are cut to it on a terminal). */
  readonly columns?: () => number | undefined;
  /** Milliseconds since the demo started, for the time stamps. */
  readonly elapsed: () => number;
}

const BAR_WIDTH = 10;
const PHASE_COLOR: Readonly<Record<Phase, string>> = {
  Converged: '\x1b[32m',
  Progressing: '\x1b[36m',
  Waiting: '\x1b[33m',
  Paused: '\x1b[33m',
  Blocked: '\x1b[31m',
  Failed: '\x1b[31m',
};
const DIM = '\x1b[2m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';

export class LiveView {
  /** Lines of the block currently on screen (terminal). */
  private drawn = 0;
  private block: string[] = [];
  /** Per target, the last line printed (not a terminal). */
  private readonly printed = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly options: LiveViewOptions,
  ) {}

  /** The target lines and a footer line; on a terminal, redrawn if they changed. */
  update(rows: readonly TargetRow[], footer: string): void {
    if (this.closed) return;
    const width = Math.max(...rows.map((r) => r.target.length), 10);
    if (!this.options.tty) {
      for (const row of rows) {
        const key = this.rowText(row, width, false);
        if (this.printed.get(row.target) === key) continue;
        this.printed.set(row.target, key);
        this.out.write(`${this.stamp()}  ${key}\n`);
      }
      return;
    }
    const block = [...rows.map((r) => this.rowText(r, width, true)), `${this.paint(DIM, footer)}`];
    if (block.length === this.block.length && block.every((l, i) => l === this.block[i])) return;
    this.block = block;
    this.redraw();
  }

  /** A line above the target lines (a terminal) or in sequence (elsewhere), stamped with the time. */
  message(text: string, style: 'event' | 'commit' | 'plain' = 'plain'): void {
    if (this.closed) {
      this.out.write(`${text}\n`);
      return;
    }
    const mark = style === 'event' ? this.paint(BOLD, '▸ ') : style === 'commit' ? this.paint(PHASE_COLOR.Converged, '● ') : '';
    const lines = text.split('\n').map((l, i) => (i === 0 ? `${this.stamp()}  ${mark}${l}` : `${' '.repeat(8)}  ${l}`));
    this.write(lines.map((l) => this.fit(l)));
  }

  /** Text printed as is (a block of instructions): not stamped, not cut. */
  text(block: string): void {
    this.write(block.split('\n'), false);
  }

  /** Leaves the target lines where they are; later output goes below them. */
  close(): void {
    this.closed = true;
    this.drawn = 0;
  }

  private write(lines: readonly string[], fit = true): void {
    if (!this.options.tty) {
      this.out.write(`${lines.join('\n')}\n`);
      return;
    }
    this.erase();
    this.out.write(`${(fit ? lines.map((l) => this.fit(l)) : lines).join('\n')}\n`);
    this.redraw(false);
  }

  private redraw(erase = true): void {
    if (erase) this.erase();
    if (this.block.length === 0) return;
    this.out.write(`${this.block.map((l) => this.fit(l)).join('\n')}\n`);
    this.drawn = this.block.length;
  }

  private erase(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  private rowText(row: TargetRow, width: number, tty: boolean): string {
    const phase = (row.phase ?? 'Pending').padEnd(11);
    const filled = row.total === 0 ? 0 : Math.round((row.done / row.total) * BAR_WIDTH);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
    const count = `${row.done}/${row.total}`.padStart(5);
    const text = row.reason !== undefined && row.reason !== row.summary ? `${row.summary} — ${row.reason}` : row.summary;
    const coloured = tty && row.phase !== undefined ? this.paint(PHASE_COLOR[row.phase], phase) : phase;
    return `  ${row.target.padEnd(width)}  ${coloured}  ${bar}  ${count}  ${text}`;
  }

  private stamp(): string {
    return `${(this.options.elapsed() / 1000).toFixed(1)}s`.padStart(8);
  }

  private paint(code: string, text: string): string {
    return this.options.color ? `${code}${text}${RESET}` : text;
  }

  /** Cuts a line to the terminal's width, counting printed characters only (not colour codes). */
  private fit(line: string): string {
    const columns = this.options.tty ? this.options.columns?.() : undefined;
    if (columns === undefined || columns <= 1) return line;
    let visible = 0;
    let out = '';
    for (let i = 0; i < line.length; i++) {
      if (line[i] === '\x1b') {
        const end = line.indexOf('m', i);
        if (end > 0) {
          out += line.slice(i, end + 1);
          i = end;
          continue;
        }
      }
      if (visible >= columns - 1) {
        out += '…';
        break;
      }
      out += line[i];
      visible++;
    }
    return this.options.color && out !== line ? `${out}${RESET}` : out;
  }
}
