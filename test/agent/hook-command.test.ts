/**
 * Which command line runs a hook, on Linux and on Windows (the resolver is pure, so Windows is
 * checked here on Linux), hooks.json and its errors, and hooks run for real through the driver.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  parseDuration, parseHooksConfig, resolveHook, type HookName, type HookResolution, type HooksConfig,
} from '../../agent/reference/drivers/hook-command.ts';
import { HooksDriver } from '../../agent/reference/drivers/hooks-driver.ts';
import { command, tempDir, writeHook } from './helpers/agent-kit.ts';

const LINUX_DIR = '/etc/versiond/hooks';
const WIN_DIR = 'C:\\versiond\\hooks';
const FIX = '(keep one, or give its command in hooks.json)';

function linux(files: string[], config?: HooksConfig, action: HookName = 'apply'): HookResolution {
  return resolveHook({ dir: LINUX_DIR, action, files, ...(config ? { config } : {}), platform: 'linux' });
}
function windows(files: string[], config?: HooksConfig, action: HookName = 'apply', dir = WIN_DIR): HookResolution {
  return resolveHook({ dir, action, files, ...(config ? { config } : {}), platform: 'win32' });
}
/** The command line, as one array: what would be spawned. */
function argv(r: HookResolution): string[] {
  if (r.kind !== 'command') throw new Error(`expected a command, got ${JSON.stringify(r)}`);
  return [r.command.file, ...r.command.args];
}
function linuxConfig(json: unknown): HooksConfig {
  return parseHooksConfig(JSON.stringify(json), { file: `${LINUX_DIR}/hooks.json`, dir: LINUX_DIR, platform: 'linux' });
}
function winConfig(json: unknown, dir = WIN_DIR): HooksConfig {
  return parseHooksConfig(JSON.stringify(json), { file: `${dir}\\hooks.json`, dir, platform: 'win32' });
}

describe('resolving a hook on Linux', () => {
  const table: Array<[string, string[], string[]]> = [
    ['an executable without extension runs directly', ['apply'], ['/etc/versiond/hooks/apply']],
    ['an .exe runs directly', ['apply.exe'], ['/etc/versiond/hooks/apply.exe']],
    ['a .sh runs with /bin/sh', ['apply.sh'], ['/bin/sh', '/etc/versiond/hooks/apply.sh']],
    ['a .ps1 runs with pwsh', ['apply.ps1'], ['pwsh', '-NoProfile', '-File', '/etc/versiond/hooks/apply.ps1']],
    [
      'other files are not hooks',
      ['apply.sh', 'apply.txt', 'apply.ps1.bak', 'applying', 'inventory'],
      ['/bin/sh', '/etc/versiond/hooks/apply.sh'],
    ],
  ];
  it.each(table)('%s', (_, files, expected) => {
    expect(argv(linux(files))).toEqual(expected);
  });

  it('checks the execute bit of a hook run directly, not of a script run by its interpreter', () => {
    const direct = linux(['apply']);
    expect(direct.kind === 'command' && direct.command.check).toEqual({
      paths: ['/etc/versiond/hooks/apply'],
      exec: true,
      missing: 'hook /etc/versiond/hooks/apply is missing',
      notExecutable: 'hook /etc/versiond/hooks/apply is not executable',
    });
    const script = linux(['apply.sh']);
    expect(script.kind === 'command' && script.command.check).toBeUndefined();
  });

  it('says which file was looked for when there is none; names are case-sensitive', () => {
    expect(linux([])).toEqual({ kind: 'missing', expected: '/etc/versiond/hooks/apply' });
    expect(linux(['Apply', 'APPLY.sh'])).toEqual({ kind: 'missing', expected: '/etc/versiond/hooks/apply' });
  });

  it('refuses .cmd and .bat hooks, which only Windows runs', () => {
    for (const ext of ['.cmd', '.bat']) {
      expect(linux([`apply${ext}`])).toEqual({
        kind: 'invalid',
        message: `hook /etc/versiond/hooks/apply${ext} cannot run on linux: ${ext} files run only on Windows `
          + '(give its command in hooks.json)',
      });
    }
  });

  it('refuses two hooks for one action, naming both (and all three)', () => {
    expect(linux(['apply.sh', 'apply'])).toEqual({
      kind: 'invalid',
      message: `two hooks for apply: /etc/versiond/hooks/apply and /etc/versiond/hooks/apply.sh ${FIX}`,
    });
    const three = linux(['apply.ps1', 'apply.sh', 'apply']);
    expect(three.kind === 'invalid' && three.message).toBe(
      `two hooks for apply: ${LINUX_DIR}/apply, ${LINUX_DIR}/apply.ps1 and ${LINUX_DIR}/apply.sh ${FIX}`,
    );
  });

  it('takes the command of hooks.json first, whatever files are there', () => {
    const config = linuxConfig({ inventory: { command: ['/usr/bin/python3', 'inventory.py'] } });
    const r = linux(['inventory', 'inventory.sh', 'inventory.py'], config, 'inventory');
    expect(argv(r)).toEqual(['/usr/bin/python3', 'inventory.py']);
    expect(r.kind === 'command' && r.command.label).toBe('inventory (/etc/versiond/hooks/hooks.json)');
    expect(r.kind === 'command' && r.command.check).toMatchObject({ paths: ['/usr/bin/python3'], exec: true });
  });

  it('leaves a bare program name to PATH and resolves a relative one against the hooks directory', () => {
    expect(argv(linux([], linuxConfig({ apply: { command: ['python3', 'apply.py'] } }))))
      .toEqual(['python3', 'apply.py']);
    const bare = linux([], linuxConfig({ apply: { command: ['python3'] } }));
    expect(bare.kind === 'command' && bare.command.check).toBeUndefined();
    expect(argv(linux([], linuxConfig({ apply: { command: ['venv/bin/python', 'apply.py'] } }))))
      .toEqual(['/etc/versiond/hooks/venv/bin/python', 'apply.py']);
    expect(argv(linux([], linuxConfig({ apply: { command: ['./bin/../tools/run', '-v'] } }))))
      .toEqual(['/etc/versiond/hooks/tools/run', '-v']);
    expect(argv(linux([], linuxConfig({ apply: { command: ['../shared/apply'] } }))))
      .toEqual(['/etc/versiond/shared/apply']);
  });

  it('applies a hooks.json timeout to the file found when hooks.json gives no command', () => {
    const r = linux(['apply.sh'], linuxConfig({ apply: { timeout: '2h' } }));
    expect(argv(r)).toEqual(['/bin/sh', '/etc/versiond/hooks/apply.sh']);
    expect(r.kind === 'command' && r.command.timeoutMs).toBe(7_200_000);
    const plain = linux(['apply.sh']);
    expect(plain.kind === 'command' && plain.command.timeoutMs).toBeUndefined();
  });
});

describe('resolving a hook on Windows', () => {
  const POWERSHELL = ['powershell.exe', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File'];

  it('runs a .ps1 with Windows PowerShell', () => {
    expect(argv(windows(['apply.ps1']))).toEqual([...POWERSHELL, 'C:\\versiond\\hooks\\apply.ps1']);
  });

  it('runs .cmd and .bat through cmd.exe /d /s /c, the path quoted inside quotes, arguments verbatim', () => {
    for (const name of ['apply.cmd', 'apply.bat']) {
      const r = windows([name]);
      expect(argv(r)).toEqual(['cmd.exe', '/d', '/s', '/c', `""C:\\versiond\\hooks\\${name}""`]);
      expect(r.kind === 'command' && r.command.verbatimArgs).toBe(true);
    }
    expect(argv(windows(['apply.ps1']))).not.toContain('/c');
  });

  it('runs an .exe directly, checking that it exists (Windows has no execute bit)', () => {
    const r = windows(['apply.exe']);
    expect(argv(r)).toEqual(['C:\\versiond\\hooks\\apply.exe']);
    expect(r.kind === 'command' && r.command.check)
      .toMatchObject({ paths: ['C:\\versiond\\hooks\\apply.exe'], exec: false });
    expect(r.kind === 'command' && r.command.verbatimArgs).toBe(false);
  });

  it('refuses a file without extension and a .sh, which Windows cannot run by themselves', () => {
    expect(windows(['apply'])).toEqual({
      kind: 'invalid',
      message: 'hook C:\\versiond\\hooks\\apply is not executable: Windows runs only .exe and .com files directly '
        + '(name it apply.exe, apply.ps1, apply.cmd, or give its command in hooks.json)',
    });
    const sh = windows(['apply.sh']);
    expect(sh.kind === 'invalid' && sh.message).toBe(
      'hook C:\\versiond\\hooks\\apply.sh cannot run on Windows: .sh files have no default interpreter there '
        + '(give its command in hooks.json, e.g. "command": ["C:/Program Files/Git/bin/bash.exe", "apply.sh"])',
    );
  });

  it('matches names without regard to case, as Windows does', () => {
    expect(argv(windows(['Apply.PS1']))).toEqual([...POWERSHELL, 'C:\\versiond\\hooks\\Apply.PS1']);
    expect(argv(windows(['INVENTORY.CMD'], undefined, 'inventory')))
      .toEqual(['cmd.exe', '/d', '/s', '/c', '""C:\\versiond\\hooks\\INVENTORY.CMD""']);
  });

  it('refuses two hooks for one action, naming both', () => {
    expect(windows(['apply.ps1', 'apply.cmd'])).toEqual({
      kind: 'invalid',
      message: `two hooks for apply: C:\\versiond\\hooks\\apply.ps1 and C:\\versiond\\hooks\\apply.cmd ${FIX}`,
    });
    expect(windows(['apply', 'apply.exe']).kind).toBe('invalid');
  });

  it('handles UNC hooks directories and paths with spaces', () => {
    expect(argv(windows(['sync.ps1'], undefined, 'sync', '\\\\fs01\\versiond\\hooks')))
      .toEqual([...POWERSHELL, '\\\\fs01\\versiond\\hooks\\sync.ps1']);
    const spaced = 'C:\\Program Files\\versiond\\hooks';
    expect(argv(windows(['apply.cmd'], undefined, 'apply', spaced)))
      .toEqual(['cmd.exe', '/d', '/s', '/c', '""C:\\Program Files\\versiond\\hooks\\apply.cmd""']);
    // Node quotes an argument with spaces itself when it builds the command line (not verbatim).
    expect(argv(windows(['apply.ps1'], undefined, 'apply', spaced))).toEqual([...POWERSHELL, `${spaced}\\apply.ps1`]);
    expect(windows([], undefined, 'apply', spaced)).toEqual({ kind: 'missing', expected: `${spaced}\\apply` });
  });

  it('takes the brief example of hooks.json: PowerShell 7 by full path, with a timeout', () => {
    const pwsh = 'C:\\Program Files\\PowerShell\\7\\pwsh.exe';
    const line = [pwsh, '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', 'apply.ps1'];
    const config = winConfig({ apply: { command: line, timeout: '45m' } });
    const r = windows(['apply.ps1', 'apply.cmd'], config);
    expect(argv(r)).toEqual(line);
    expect(r.kind === 'command' && r.command).toMatchObject({
      timeoutMs: 45 * 60_000,
      verbatimArgs: false,
      label: 'apply (C:\\versiond\\hooks\\hooks.json)',
      check: {
        paths: [pwsh],
        exec: false,
        missing: `C:\\versiond\\hooks\\hooks.json: apply: command[0]: ${pwsh} does not exist`,
      },
    });
  });

  it('accepts forward slashes, relative and UNC program paths in hooks.json; arguments stay as written', () => {
    const program = (p: string, dir = WIN_DIR): string =>
      argv(windows([], winConfig({ apply: { command: [p, 'a/b.ps1', '/d'] } }, dir)))[0]!;
    expect(program('C:/Program Files/PowerShell/7/pwsh.exe')).toBe('C:\\Program Files\\PowerShell\\7\\pwsh.exe');
    expect(program('d:\\tools\\x.exe')).toBe('d:\\tools\\x.exe');
    expect(program('tools/python/python.exe')).toBe('C:\\versiond\\hooks\\tools\\python\\python.exe');
    expect(program('.\\tools\\python.exe')).toBe('C:\\versiond\\hooks\\tools\\python.exe');
    expect(program('..\\python\\python.exe')).toBe('C:\\versiond\\python\\python.exe');
    expect(program('\\\\fs01\\tools\\pwsh.exe')).toBe('\\\\fs01\\tools\\pwsh.exe');
    expect(program('//fs01/tools/pwsh.exe')).toBe('\\\\fs01\\tools\\pwsh.exe');
    expect(program('tools\\x.exe', '\\\\fs01\\versiond\\hooks')).toBe('\\\\fs01\\versiond\\hooks\\tools\\x.exe');
    expect(program('pwsh')).toBe('pwsh');
    expect(argv(windows([], winConfig({ apply: { command: ['pwsh', 'a/b.ps1', '/d'] } }))).slice(1))
      .toEqual(['a/b.ps1', '/d']);
  });

  it('checks a program path without extension as Windows finds it: with .com or .exe', () => {
    const r = windows([], winConfig({ apply: { command: ['C:\\Python312\\python', 'apply.py'] } }));
    expect(r.kind === 'command' && r.command.check?.paths)
      .toEqual(['C:\\Python312\\python.com', 'C:\\Python312\\python.exe']);
  });

  const refused: Array<[string, string, string]> = [
    ['a drive-relative path', 'C:tools\\pwsh.exe', ' is relative to the current directory of drive C:'],
    ['a path relative to the current drive', '\\tools\\pwsh.exe', ' is relative to the current drive'],
    ['the same with a forward slash', '/tools/pwsh.exe', ' is relative to the current drive'],
    ['a .cmd run directly', 'C:\\scripts\\apply.cmd', ': Windows runs .cmd and .bat files only through cmd.exe'],
    ['a script as the program', 'C:\\scripts\\inventory.py', ': Windows runs only .exe and .com programs'],
  ];
  it.each(refused)('refuses %s in hooks.json, naming the file, the hook and the field', (_, program, why) => {
    const parse = (): HooksConfig => winConfig({ inventory: { command: [program] } });
    expect(parse).toThrow(`C:\\versiond\\hooks\\hooks.json: inventory: command[0]: ${JSON.stringify(program)}${why}`);
  });
});

describe('hooks.json', () => {
  const file = '/etc/versiond/hooks/hooks.json';
  const parse = (text: string): HooksConfig => parseHooksConfig(text, { file, dir: LINUX_DIR, platform: 'linux' });
  const errors: Array<[string, unknown, string]> = [
    [
      'an unknown hook',
      { aply: { command: ['x'] } },
      'aply: is not a hook (inventory, stage, apply, restart, backup, sync, migrate, end-update-mode)',
    ],
    ['an entry not an object', { apply: ['x'] }, 'apply: must be an object {"command": [...], "timeout": "30m"}'],
    ['an unknown field', { apply: { timout: '3m' } }, 'apply: timout: is not a field of a hook (command, timeout)'],
    ['an entry with nothing', { apply: {} }, 'apply: gives neither command nor timeout'],
    [
      'a command that is a string',
      { apply: { command: 'pwsh -File apply.ps1' } },
      'apply: command: must be an array of strings: the program, then its arguments',
    ],
    ['an empty command', { apply: { command: [] } }, 'apply: command: is empty: it needs at least the program'],
    ['an item not a string', { sync: { command: ['sh', 'x', 3] } }, 'sync: command[2]: must be a string, not 3'],
    ['an empty program', { apply: { command: [''] } }, 'apply: command[0]: is empty: it must name the program'],
    ['a timeout in words', { apply: { timeout: '4 min' } }, 'apply: timeout: "4 min" is not a duration (90s, 30m, 2h)'],
    ['a timeout as a number', { apply: { timeout: 45 } }, 'apply: timeout: 45 is not a duration (90s, 30m, 2h)'],
    ['a zero timeout', { backup: { timeout: '0s' } }, 'backup: timeout: must be more than 0'],
    ['a timeout over a day', { backup: { timeout: '25h' } }, 'backup: timeout: "25h" is more than 24h'],
    ['an array', [{ apply: {} }], 'must be an object {"<hook>": {"command": [...], "timeout": "30m"}}'],
  ];
  it.each(errors)('refuses %s, naming the file, the hook and the field', (_, json, message) => {
    expect(() => parse(JSON.stringify(json))).toThrow(`${file}: ${message}`);
  });

  it('refuses text that is not JSON, naming the file', () => {
    expect(() => parse('{ "apply": { "command": ["x"], } }')).toThrow(new RegExp(`^${file}: not valid JSON: `));
  });

  it('reads a file written with a BOM (Notepad, PowerShell 5.1 Out-File)', () => {
    expect(parse('\uFEFF{"apply": {"timeout": "90s"}}')).toEqual({ file, hooks: { apply: { timeoutMs: 90_000 } } });
  });

  it('reads durations in ms, s, m and h', () => {
    expect(['500ms', '90s', '30m', '2h'].map(parseDuration)).toEqual([500, 90_000, 1_800_000, 7_200_000]);
    expect(['1.5h', '30', '-1s', '1h30m', ''].map(parseDuration)).toEqual(Array(5).fill(undefined));
  });
});

describe('hooks run through the driver (Linux)', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('hook-command');
  });
  afterEach(async () => {
    await dir.remove();
  });
  const apply = command('domain/print-paris', 'wd-paris-s1', 'apply', { product: 'watchdoc', version: '6.1.4' });
  const hooksJson = (json: unknown): Promise<void> => writeFile(join(dir.path, 'hooks.json'), JSON.stringify(json));

  it('runs a .sh hook with /bin/sh, though it is not executable', async () => {
    const script = 'echo "by $0: $VERSIOND_PRODUCT $VERSIOND_VERSION in $(pwd)"\n';
    await writeFile(join(dir.path, 'apply.sh'), script, { mode: 0o644 });
    expect(await new HooksDriver(dir.path).run(apply, {}))
      .toEqual({ ok: true, message: `by ${join(dir.path, 'apply.sh')}: watchdoc 6.1.4 in ${dir.path}` });
  });

  it('runs an executable hook directly, its #! line choosing the interpreter', async () => {
    await writeHook(dir.path, 'apply', 'echo "direct: $0"');
    expect(await new HooksDriver(dir.path).run(apply, {}))
      .toEqual({ ok: true, message: `direct: ${join(dir.path, 'apply')}` });
  });

  it('runs the /bin/sh -c command of hooks.json, with the variables and the command on stdin', async () => {
    const script = 'cat > stdin.json; echo "$VERSIOND_ACTION of $VERSIOND_VERSION by sh -c"';
    await hooksJson({ apply: { command: ['/bin/sh', '-c', script] } });
    expect(await new HooksDriver(dir.path).run(apply, {})).toEqual({ ok: true, message: 'apply of 6.1.4 by sh -c' });
    expect(JSON.parse(await readFile(join(dir.path, 'stdin.json'), 'utf8'))).toEqual(apply);
  });

  it('runs an interpreter given by a path relative to the hooks directory, not to the agent\'s', async () => {
    await mkdir(join(dir.path, 'bin'));
    await writeHook(join(dir.path, 'bin'), 'interp', 'echo "$*" > interp.log\nexec /bin/sh "$@"');
    const components = [{ product: 'watchdoc', version: '6.1.3', state: 'running' }];
    await writeFile(join(dir.path, 'inventory.script'), `echo '${JSON.stringify({ components })}'\n`);
    await hooksJson({ inventory: { command: ['bin/interp', 'inventory.script'] } });
    expect(process.cwd()).not.toBe(dir.path);
    expect(await new HooksDriver(dir.path).inventory()).toEqual({ components });
    expect((await readFile(join(dir.path, 'interp.log'), 'utf8')).trim()).toBe('inventory.script');
  });

  it('names hooks.json, the hook and the field when its program is missing or not executable', async () => {
    await hooksJson({ apply: { command: ['./bin/nope', 'apply.py'] } });
    expect(await new HooksDriver(dir.path).run(apply, {})).toEqual({
      ok: false,
      message: `${join(dir.path, 'hooks.json')}: apply: command[0]: ${join(dir.path, 'bin/nope')} does not exist`,
    });
    await mkdir(join(dir.path, 'bin'));
    await writeFile(join(dir.path, 'bin/nope'), '#!/bin/sh\n');
    await chmod(join(dir.path, 'bin/nope'), 0o644);
    expect(await new HooksDriver(dir.path).run(apply, {})).toEqual({
      ok: false,
      message: `${join(dir.path, 'hooks.json')}: apply: command[0]: ${join(dir.path, 'bin/nope')} is not executable`,
    });
  });

  it('uses the timeout of hooks.json rather than the driver\'s', async () => {
    await writeHook(dir.path, 'backup', 'sleep 30');
    await hooksJson({ backup: { timeout: '300ms' } });
    const outcome = await new HooksDriver(dir.path, { timeoutMs: 60_000, killGraceMs: 200 })
      .run(command('hacluster/ums-prod', 'ums-2', 'backup', { version: '12.08.110' }), {});
    expect(outcome).toEqual({ ok: false, message: 'hook backup timed out after 300 ms and was killed' });
  });

  it('fails the command when two files could be its hook, naming both', async () => {
    await writeHook(dir.path, 'apply', 'echo one');
    await writeFile(join(dir.path, 'apply.sh'), 'echo two\n');
    expect(await new HooksDriver(dir.path).run(apply, {})).toEqual({
      ok: false,
      message: `two hooks for apply: ${join(dir.path, 'apply')} and ${join(dir.path, 'apply.sh')} ${FIX}`,
    });
  });

  it('with an invalid hooks.json: fails every command, inventory throws, and the agent does not start', async () => {
    await writeHook(dir.path, 'inventory', `echo '{"components":[]}'`);
    await writeHook(dir.path, 'apply', 'echo ok');
    await hooksJson({ apply: { timeout: 'soon' } });
    const message = `${join(dir.path, 'hooks.json')}: apply: timeout: "soon" is not a duration (90s, 30m, 2h)`;
    const driver = new HooksDriver(dir.path);
    expect(await driver.run(apply, {})).toEqual({ ok: false, message });
    await expect(driver.inventory()).rejects.toThrow(message);
    await expect(driver.presentHooks()).rejects.toThrow(message);
  });

  it('lists the hooks it can run at start-up: files and hooks.json commands, not ambiguous ones', async () => {
    await writeHook(dir.path, 'inventory', 'true');
    await writeFile(join(dir.path, 'apply.sh'), 'true\n');
    await writeFile(join(dir.path, 'restart.cmd'), '@echo off\n');
    await writeHook(dir.path, 'backup', 'true');
    await writeFile(join(dir.path, 'backup.sh'), 'true\n');
    await mkdir(join(dir.path, 'migrate'));
    await hooksJson({ sync: { command: ['/bin/sh', '-c', 'true'] } });
    expect(await new HooksDriver(dir.path).presentHooks()).toEqual(['inventory', 'apply', 'sync']);
  });
});
