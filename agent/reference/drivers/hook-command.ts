/**
 * Which command line runs a hook: the pure part of the hooks driver, so that what Windows would
 * run can be checked on Linux. Lookup order for an action:
 *
 *   1. `hooks.json` in the hooks directory gives its `command` (an argv array);
 *   2. otherwise the one file named after the action: `apply` or `apply.exe` (run directly),
 *      `apply.ps1` (PowerShell), `apply.cmd`/`apply.bat` (cmd.exe, Windows only), `apply.sh`
 *      (/bin/sh, POSIX only). Two such files for one action are an error naming both.
 *
 * `hooks.json` may also give a `timeout` per hook ("90s", "30m", "2h"). All path handling uses
 * `path.win32` or `path.posix` after the platform passed in, never the host's.
 */
import { posix, win32 } from 'node:path';

export const HOOK_NAMES = [
  'inventory', 'stage', 'apply', 'restart', 'backup', 'sync', 'migrate', 'end-update-mode',
] as const;
export type HookName = (typeof HOOK_NAMES)[number];

export const HOOKS_JSON = 'hooks.json';

/** One entry of hooks.json, its program resolved. */
export interface HookEntry {
  /** argv: `[0]` absolute, or a bare name looked up in PATH; the rest as written. */
  readonly command?: readonly string[];
  readonly timeoutMs?: number;
}

export interface HooksConfig {
  /** The hooks.json file, for messages. */
  readonly file: string;
  readonly hooks: Readonly<Partial<Record<HookName, HookEntry>>>;
}

/** What the driver spawns for one action. */
export interface HookCommand {
  readonly action: HookName;
  /** For messages: the hook file's path, or `<action> (<dir>/hooks.json)`. */
  readonly label: string;
  /** The program: an absolute path, or a bare name the OS looks up in PATH. */
  readonly file: string;
  readonly args: readonly string[];
  /** Windows: pass `args` to the command line unquoted (cmd.exe has quoting rules of its own). */
  readonly verbatimArgs: boolean;
  /**
   * A file the driver checks before spawning, so that a missing or non-executable program is
   * named plainly rather than as ENOENT/EACCES: one of `paths` must exist and, when `exec`
   * (POSIX), have its execute bit. Absent for programs looked up in PATH.
   */
  readonly check?: HookCheck;
  /** From hooks.json; otherwise the driver's default applies. */
  readonly timeoutMs?: number;
}

export interface HookCheck {
  readonly paths: readonly string[];
  readonly exec: boolean;
  /** The messages when none of `paths` exists, or none is executable. */
  readonly missing: string;
  readonly notExecutable: string;
}

export type HookResolution =
  | { readonly kind: 'command'; readonly command: HookCommand }
  /** `expected`: the path of the file that was looked for (without extension). */
  | { readonly kind: 'missing'; readonly expected: string }
  | { readonly kind: 'invalid'; readonly message: string };

export interface ResolveInput {
  /** The hooks directory, absolute, in the platform's syntax (`C:\versiond\hooks`, `\\fs01\hooks`). */
  readonly dir: string;
  readonly action: HookName;
  /** Names of the files in `dir` (directories left out). */
  readonly files: readonly string[];
  readonly config?: HooksConfig;
  readonly platform?: NodeJS.Platform;
}

const EXTENSIONS = ['', '.exe', '.ps1', '.cmd', '.bat', '.sh'] as const;
type Extension = (typeof EXTENSIONS)[number];

const PS_WINDOWS = ['powershell.exe', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File'];
const PS_ELSEWHERE = ['pwsh', '-NoProfile', '-File'];

function pathFor(platform: NodeJS.Platform): typeof posix {
  return platform === 'win32' ? win32 : posix;
}

export function resolveHook(input: ResolveInput): HookResolution {
  const platform = input.platform ?? process.platform;
  const windows = platform === 'win32';
  const p = pathFor(platform);
  const entry = input.config?.hooks[input.action];
  if (entry?.command !== undefined) {
    const [program, ...args] = entry.command as [string, ...string[]];
    // A bare name is the OS's to find in PATH; a path is checked. Windows finds `C:\tools\python`
    // as python.com or python.exe, as it does for PATH names.
    const jsonFile = input.config?.file ?? p.join(input.dir, HOOKS_JSON);
    const where = `${jsonFile}: ${input.action}: command[0]: ${program}`;
    const check: HookCheck = {
      paths: windows && p.extname(program) === '' ? [`${program}.com`, `${program}.exe`] : [program],
      exec: !windows,
      missing: `${where} does not exist`,
      notExecutable: `${where} is not executable`,
    };
    return {
      kind: 'command',
      command: {
        action: input.action,
        label: `${input.action} (${jsonFile})`,
        file: program,
        args,
        verbatimArgs: false,
        ...(program === baseName(program, platform) ? {} : { check }),
        ...(entry.timeoutMs !== undefined ? { timeoutMs: entry.timeoutMs } : {}),
      },
    };
  }

  // Windows file names are case-insensitive: `Apply.PS1` is the apply hook there, not on Linux.
  const fold = (s: string): string => (windows ? s.toLowerCase() : s);
  const candidates: Array<{ name: string; ext: Extension }> = [];
  for (const name of input.files) {
    const ext = EXTENSIONS.find((e) => fold(name) === `${input.action}${e}`);
    if (ext !== undefined) candidates.push({ name, ext });
  }
  candidates.sort((a, b) => EXTENSIONS.indexOf(a.ext) - EXTENSIONS.indexOf(b.ext)); // readdir's order is the disk's
  const expected = p.join(input.dir, input.action);
  const found = candidates[0];
  if (found === undefined) return { kind: 'missing', expected };
  if (candidates.length > 1) {
    const names = candidates.map((c) => p.join(input.dir, c.name));
    const both = `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
    const fix = `keep one, or give its command in ${HOOKS_JSON}`;
    return { kind: 'invalid', message: `two hooks for ${input.action}: ${both} (${fix})` };
  }

  const path = p.join(input.dir, found.name);
  const timeout = entry?.timeoutMs !== undefined ? { timeoutMs: entry.timeoutMs } : {};
  const run = (file: string, args: string[], extra: Partial<HookCommand> = {}): HookResolution => ({
    kind: 'command',
    command: { action: input.action, label: path, file, args, verbatimArgs: false, ...timeout, ...extra },
  });
  switch (found.ext) {
    case '':
    case '.exe': {
      // No execute bit on Windows: it runs only .exe (and .com) files directly.
      if (windows && found.ext === '') {
        const names = ['.exe', '.ps1', '.cmd'].map((e) => `${input.action}${e}`).join(', ');
        const message = `hook ${path} is not executable: Windows runs only .exe and .com files directly`;
        return { kind: 'invalid', message: `${message} (name it ${names}, or give its command in ${HOOKS_JSON})` };
      }
      const check = {
        paths: [path],
        exec: !windows,
        missing: `hook ${path} is missing`,
        notExecutable: `hook ${path} is not executable`,
      };
      return run(path, [], { check });
    }
    case '.ps1': {
      const [shell, ...options] = windows ? PS_WINDOWS : PS_ELSEWHERE;
      return run(shell!, [...options, path]);
    }
    case '.cmd':
    case '.bat':
      if (!windows) {
        const why = `${found.ext} files run only on Windows (give its command in ${HOOKS_JSON})`;
        return { kind: 'invalid', message: `hook ${path} cannot run on ${platform}: ${why}` };
      }
      // What Node does for `shell: true`: /s strips the outer quotes, leaving the quoted path,
      // so that a path with spaces survives.
      return run('cmd.exe', ['/d', '/s', '/c', `""${path}""`], { verbatimArgs: true });
    case '.sh':
      if (windows) {
        const example = `"command": ["C:/Program Files/Git/bin/bash.exe", "${found.name}"]`;
        const why = `.sh files have no default interpreter there (give its command in ${HOOKS_JSON}, e.g. ${example})`;
        return { kind: 'invalid', message: `hook ${path} cannot run on Windows: ${why}` };
      }
      return run('/bin/sh', [path]);
  }
}

/** The last component of `name` after the platform's separators (both / and \ on Windows). */
function baseName(name: string, platform: NodeJS.Platform): string {
  const parts = name.split(platform === 'win32' ? /[\\/]/ : /\//);
  return parts[parts.length - 1] ?? name;
}

/** `90s`, `30m`, `2h`, `500ms` → milliseconds; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})(ms|s|m|h)$/.exec(text.trim());
  if (m === null) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

/** A cap well under what setTimeout can wait (~24.8 days, beyond it fires at once); no hook needs more. */
const MAX_TIMEOUT_MS = 24 * 3_600_000;

/**
 * Reads hooks.json. Every problem is an Error naming the file, the hook and the field, e.g.
 * `C:\versiond\hooks\hooks.json: apply: timeout: "45 min" is not a duration (90s, 30m, 2h)`.
 * Program paths are resolved here (against `dir`), so that a bad one is refused at start-up.
 */
export function parseHooksConfig(
  text: string,
  options: { readonly file: string; readonly dir: string; readonly platform?: NodeJS.Platform },
): HooksConfig {
  const { file, dir } = options;
  const platform = options.platform ?? process.platform;
  const fail = (where: string, what: string): never => {
    throw new Error(`${file}: ${where}${where === '' ? '' : ': '}${what}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, '')); // Notepad and PowerShell 5.1 write a BOM
  } catch (err) {
    return fail('', `not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) return fail('', 'must be an object {"<hook>": {"command": [...], "timeout": "30m"}}');
  const hooks: Partial<Record<HookName, HookEntry>> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!(HOOK_NAMES as readonly string[]).includes(name)) fail(name, `is not a hook (${HOOK_NAMES.join(', ')})`);
    const hook = name as HookName;
    if (!isObject(raw)) return fail(hook, 'must be an object {"command": [...], "timeout": "30m"}');
    const extra = Object.keys(raw).filter((k) => k !== 'command' && k !== 'timeout');
    if (extra.length > 0) fail(`${hook}: ${extra[0]}`, 'is not a field of a hook (command, timeout)');
    if (raw['command'] === undefined && raw['timeout'] === undefined) fail(hook, 'gives neither command nor timeout');
    let command: string[] | undefined;
    if (raw['command'] !== undefined) {
      const argv = raw['command'];
      if (!Array.isArray(argv)) {
        return fail(`${hook}: command`, 'must be an array of strings: the program, then its arguments');
      }
      if (argv.length === 0) fail(`${hook}: command`, 'is empty: it needs at least the program');
      argv.forEach((item, i) => {
        if (typeof item !== 'string') fail(`${hook}: command[${i}]`, `must be a string, not ${JSON.stringify(item)}`);
      });
      const program = programPath(argv[0] as string, dir, platform, (what) => fail(`${hook}: command[0]`, what));
      command = [program, ...(argv.slice(1) as string[])];
    }
    let timeoutMs: number | undefined;
    if (raw['timeout'] !== undefined) {
      const t = raw['timeout'];
      const ms = typeof t === 'string' ? parseDuration(t) : undefined;
      if (ms === undefined) fail(`${hook}: timeout`, `${JSON.stringify(t)} is not a duration (90s, 30m, 2h)`);
      if (ms === 0) fail(`${hook}: timeout`, 'must be more than 0');
      if (ms! > MAX_TIMEOUT_MS) fail(`${hook}: timeout`, `${JSON.stringify(t)} is more than 24h`);
      timeoutMs = ms;
    }
    hooks[hook] = { ...(command !== undefined ? { command } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
  }
  return { file, hooks };
}

/**
 * hooks.json's program: an absolute path stays (normalised: `C:/Program Files/x.exe` → `C:\Program Files\x.exe`),
 * a relative one is taken from the hooks directory, a bare name is left to PATH.
 */
function programPath(program: string, dir: string, platform: NodeJS.Platform, fail: (what: string) => never): string {
  const quoted = JSON.stringify(program);
  if (program.trim() === '') fail('is empty: it must name the program');
  if (program.includes('\0')) fail('contains a NUL character');
  const bare = program === baseName(program, platform);
  if (platform === 'win32') {
    // `C:tools\x.exe` and `\tools\x.exe` depend on the agent's current drive and directory: refused.
    const drive = program.slice(0, 2);
    if (/^[a-zA-Z]:(?![\\/])/.test(program)) {
      fail(`${quoted} is relative to the current directory of drive ${drive}: write ${drive}\\… in full, `
        + 'or a path relative to the hooks directory');
    }
    if (/^[\\/](?![\\/])/.test(program)) {
      fail(`${quoted} is relative to the current drive: write the drive (C:\\…), `
        + 'or a path relative to the hooks directory');
    }
    // Node refuses to spawn batch files directly (CVE-2024-27980); cmd.exe's quoting is the default's job.
    if (/\.(cmd|bat)$/i.test(program)) {
      fail(`${quoted}: Windows runs .cmd and .bat files only through cmd.exe: name the script <hook>.cmd in the `
        + 'hooks directory and leave out "command" (it then runs as cmd.exe /d /s /c)');
    }
    const ext = win32.extname(program).toLowerCase();
    if (!bare && ext !== '' && ext !== '.exe' && ext !== '.com') {
      fail(`${quoted}: Windows runs only .exe and .com programs; run a script through its interpreter, `
        + 'e.g. ["C:/Python312/python.exe", "inventory.py"]');
    }
  }
  if (bare) return program;
  const p = pathFor(platform);
  return p.isAbsolute(program) ? p.normalize(program) : p.resolve(dir, program);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
