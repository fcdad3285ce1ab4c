/**
 * Issue 14, item 7: what a repository or an agent names (file paths, field names, values,
 * commit subjects and authors, agent records) cannot forge an output line or send a terminal
 * escape, in `validate`, `plan` (text and Markdown), `audit` and `agents list`; JSON keeps the
 * raw strings. One real Git repository with hostile file names, shared by every case.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../controller/cli/main.ts';
import { ROOT, TempRepo } from './helpers/git-repo.ts';

const BIN = join(ROOT, 'controller/cli/bin.js');
const run = promisify(execFile);

/** Raw controls, line/paragraph separators and bidi controls; `\n` is the only one allowed, between lines. */
const RAW = /[\p{Cc}\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;
function expectPrintable(out: string): void {
  for (const line of out.split('\n')) expect(line, JSON.stringify(line)).not.toMatch(RAW);
  expect(out.split('\n').filter((l) => l.startsWith('ok: forged'))).toEqual([]);
}

const EVIL = 'accounts/evil\nok: forged.yaml';
const CLEAR = 'accounts/clear\x1b[2J.yaml';
const RELEASE = 'releases/watchdoc\x1b]0;pwned\x07\u202e.yaml';
const STATUS = 'status/account/mangled\r\nok: forged.yaml';
// YAML double-quoted escapes: the file is plain ASCII, the strings are not.
const KEY = 'note|`x`\\e[1m\\u2028';
const VALUE = 'a|b `c` <img src=x> &#x202E; \\e[31m\\nok: forged\\N \\u202eevil';

let g: TempRepo;
let valid: string;
let invalid: string;
let validateProcess: ReturnType<typeof versiond>;
let planProcess: ReturnType<typeof versiond>;
async function versiond(args: string[]) {
  try {
    const r = await run(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
async function inProcess(args: string[]) {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

beforeAll(() => {
  g = TempRepo.create({ commit: false });
  const name = '  name: watchdoc-6.1.4\n';
  g.edit('releases/watchdoc-6.1.4.yaml', name, `${name}  annotations:\n    plain: x\n`);
  g.write(STATUS, 'phase: [mangled\n').commitAll('initial desired state');
  const plain = '    plain: x\n';
  const release = g.read('releases/watchdoc-6.1.4.yaml').replace(plain, `${plain}    "${KEY}": "${VALUE}"\n`);
  g.remove('releases/watchdoc-6.1.4.yaml').write(RELEASE, release);
  g.git('add', '-A');
  g.git('commit', '-q', '--author', 'Eve\x1b[31m Evil <eve@example.com>', '-m', 'rename\x1b[2J release\u202e');
  valid = g.head();
  g.write(EVIL, 'kind: [\n').write(CLEAR, 'kind: [\n');
  invalid = g.commitAll('two broken files');
  // The two real processes run at once: the suite is near its time budget.
  validateProcess = versiond(['validate', '--repo', g.dir, '--rev', invalid]);
  planProcess = versiond(['plan', '--repo', g.dir, '--rev', valid, '--base', `${valid}~1`, '--no-status']);
});
afterAll(() => g.dispose());

describe('validate', () => {
  it('quotes a file name holding a newline or an escape: one line per problem, nothing forged', async () => {
    const r = await validateProcess;
    expect(r.code).toBe(1);
    expectPrintable(r.stdout);
    const lines = r.stdout.split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^"accounts\/clear\\x1b\[2J\.yaml":2:1: -: -: YAML syntax: /);
    expect(lines[1]).toMatch(/^"accounts\/evil\\nok: forged\.yaml":2:1: -: -: YAML syntax: /);
    expect(lines[2]).toBe('');
    expect(lines[3]).toMatch(/^invalid: /);
    expect(lines[4]).toBe('unreadable files: "accounts/clear\\x1b[2J.yaml", "accounts/evil\\nok: forged.yaml"');
    expect(lines[5]).toBe('');
  });

  it('--format json keeps the raw names (JSON escapes them itself)', async () => {
    const r = await inProcess(['validate', '--repo', g.dir, '--rev', invalid, '--format', 'json']);
    expectPrintable(r.stdout);
    const out = JSON.parse(r.stdout) as { diagnostics: { path: string }[]; brokenFiles: string[] };
    expect(out.diagnostics.map((d) => d.path)).toEqual([CLEAR, EVIL]);
    expect(out.brokenFiles).toEqual([CLEAR, EVIL]);
  });

  it('plan of the invalid revision says the same on stderr, as safely', async () => {
    const r = await inProcess(['plan', '--repo', g.dir, '--rev', invalid]);
    expect(r.code).toBe(1);
    expectPrintable(r.stderr);
    expect(r.stderr.split('\n').filter((l) => l.includes('YAML syntax'))).toHaveLength(2);
  });

  it('names with plain accents print unchanged', async () => {
    const { quotePath, printable } = await import('../controller/observability/printable.ts');
    expect(quotePath('accounts/société-générale/über.yaml')).toBe('accounts/société-générale/über.yaml');
    expect(printable('Prüfung terminée — 日本')).toBe('Prüfung terminée — 日本');
  });
});

describe('plan', () => {
  it('text: the renamed file, the field and the values stay on their lines', async () => {
    const r = await planProcess;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expectPrintable(r.stdout);
    const lines = r.stdout.split('\n');
    expect(lines).toContain('  ~ release/watchdoc-6.1.4 ("releases/watchdoc\\x1b]0;pwned\\x07\\u202e.yaml")');
    const field = lines.filter((l) => l.includes('metadata.annotations'));
    expect(field).toHaveLength(1);
    expect(field[0]).toContain('\\x1b[31m\\nok: forged\\x85 \\u202eevil');
  });

  it('text: a mangled status file with a hostile name is named quoted', async () => {
    const r = await inProcess(['plan', '--repo', g.dir, '--rev', valid]);
    expectPrintable(r.stdout);
    const skipped = 'unreadable, planned as new: "status/account/mangled\\r\\nok: forged.yaml"';
    expect(r.stdout.split('\n')[2]).toContain(skipped);
  });

  it('markdown: a table row stays one row of five cells; no HTML, entity or broken code span', async () => {
    const r = await inProcess(['plan', '--repo', g.dir, '--rev', valid, '--base', `${valid}~1`, '--format=markdown']);
    expect(r.code).toBe(0);
    expectPrintable(r.stdout);
    expect(r.stdout).not.toMatch(/(?<!\\)<img/);
    const rows = r.stdout.split('\n').filter((l) => l.includes('metadata.annotations'));
    expect(rows).toHaveLength(1);
    const cells = rows[0]!.split(/(?<!\\)\|/);
    expect(cells).toHaveLength(7);
    expect(cells[5]).not.toMatch(/(?<!\\)&#x202E;/);
    for (const code of [cells[1]!, cells[3]!]) expect(wellFormedCodeSpan(code.trim()), code).toBe(true);
    const status = r.stdout.split('\n').find((l) => l.startsWith('> Previous status'));
    expect(status).toBeDefined();
  });

  it('--format json keeps the raw path and values, every character a terminal acts on escaped', async () => {
    const r = await inProcess(['plan', '--repo', g.dir, '--rev', valid, '--base', `${valid}~1`, '--format', 'json']);
    expectPrintable(r.stdout); // U+202E and U+0085, which JSON.stringify leaves raw, are escaped too
    const out = JSON.parse(r.stdout) as { changes: { path: string; fields: { field: string; to: unknown }[] }[] };
    const change = out.changes.find((c) => c.path === RELEASE);
    const raw = 'a|b `c` <img src=x> &#x202E; \x1b[31m\nok: forged\x85 \u202eevil';
    expect(change?.fields.map((f) => f.to)).toContain(raw);
  });
});

describe('audit', () => {
  it('escapes the commit subject, the author and the file names', async () => {
    const r = await inProcess(['audit', '--repo', g.dir, '--branch', valid]);
    expect(r.code).toBe(0);
    expectPrintable(r.stdout);
    expect(r.stdout).toContain('Eve\\x1b[31m Evil <eve@example.com>');
    expect(r.stdout).toContain('rename\\x1b[2J release\\u202e');
    expect(r.stdout).toContain('"releases/watchdoc\\x1b]0;pwned\\x07\\u202e.yaml"');
  });
});

describe('agents list', () => {
  it('a hand-edited record cannot forge a line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'versiond-state-'));
    try {
      const createdAt = '2026-01-01 (x\nok: forged\x1b[2J)';
      const agents = { 'ws-001': { tokenSha256: 'a'.repeat(64), createdAt } };
      writeFileSync(join(dir, 'agents.json'), JSON.stringify({ version: 1, agents }));
      const r = await inProcess(['agents', 'list', '--state-dir', dir]);
      expect(r.code).toBe(0);
      expectPrintable(r.stdout);
      expect(r.stdout.split('\n')).toHaveLength(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A Markdown code span: N backticks, content without a run of exactly N, N backticks. */
function wellFormedCodeSpan(s: string): boolean {
  const m = /^(`+)([\s\S]*?)(`+)$/.exec(s);
  if (!m || m[1] !== m[3]) return false;
  return !(m[2]!.match(/`+/g) ?? []).some((run) => run.length === m[1]!.length);
}
