import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HooksDriver } from '../../agent/reference/drivers/hooks-driver.ts';
import { command, tempDir, waitUntil, writeHook } from './helpers/agent-kit.ts';

/** Whether process `pid` still runs (a zombie waiting to be reaped does not; Linux /proc). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat !== undefined && !/^\d+ \(.*\) Z/.test(stat);
}

const apply = command('domain/print-paris', 'wd-paris-s1', 'apply', { product: 'watchdoc', version: '6.1.4' });

describe('hooks driver', () => {
  let dir: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('hooks');
  });
  afterEach(async () => {
    await dir.remove();
  });

  it('runs the hook named after the action with the VERSIOND_* variables and the command on stdin; exit 0 is success, its last line the message', async () => {
    await writeHook(dir.path, 'apply', 'env | grep ^VERSIOND_ | sort > env.txt\ncat > stdin.json\necho "unpacking"\necho "installed $VERSIOND_PRODUCT $VERSIOND_VERSION"\n');
    const outcome = await new HooksDriver(dir.path).run(apply, { packagePath: '/var/lib/versiond/packages/abc' });
    expect(outcome).toEqual({ ok: true, message: 'installed watchdoc 6.1.4' });
    expect((await readFile(join(dir.path, 'env.txt'), 'utf8')).trim().split('\n')).toEqual([
      'VERSIOND_ACTION=apply',
      `VERSIOND_COMMAND_ID=${apply.id}`,
      'VERSIOND_MEMBER=wd-paris-s1',
      'VERSIOND_PACKAGE=/var/lib/versiond/packages/abc',
      'VERSIOND_PRODUCT=watchdoc',
      'VERSIOND_TARGET=domain/print-paris',
      'VERSIOND_VERSION=6.1.4',
    ]);
    expect(JSON.parse(await readFile(join(dir.path, 'stdin.json'), 'utf8'))).toEqual(apply);
  });

  it('reports a non-zero exit as a failure with the exit code and the last line the hook wrote', async () => {
    await writeHook(dir.path, 'restart', 'echo "stopping service"\necho "disk full" >&2\nexit 3');
    const outcome = await new HooksDriver(dir.path).run(command('account/acme-w360', 'acme-ws-001', 'restart', { version: '4.3.0' }), {});
    expect(outcome).toEqual({ ok: false, message: 'hook restart failed (exit 3): disk full' });
  });

  it('kills a hook that outlives its timeout, with its children, and fails the command', async () => {
    await writeHook(dir.path, 'backup', 'sleep 30 &\necho $! > child.pid\nwait');
    const started = Date.now();
    const outcome = await new HooksDriver(dir.path, { timeoutMs: 300, killGraceMs: 200 }).run(command('hacluster/ums-prod', 'ums-2', 'backup', { version: '12.08.110' }), {});
    expect(outcome).toEqual({ ok: false, message: 'hook backup timed out after 300 ms and was killed' });
    expect(Date.now() - started).toBeLessThan(3_000);
    const child = Number((await readFile(join(dir.path, 'child.pid'), 'utf8')).trim());
    await waitUntil(async () => !(await running(child)), `the hook's child ${child} to be killed with it`, 2_000);
  });

  it('interrupts a running hook when the agent stops, throwing so that the command stays journaled', async () => {
    await writeHook(dir.path, 'apply', 'sleep 30');
    const stop = new AbortController();
    const running = new HooksDriver(dir.path, { killGraceMs: 200 }).run(apply, { signal: stop.signal });
    setTimeout(() => stop.abort(), 100);
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('fails an action without a hook with "no hook for <action>", except stage: the agent has already staged the package', async () => {
    const driver = new HooksDriver(dir.path);
    expect(await driver.run(command('distributionserver/ds-paris', 'ds-paris', 'sync', { params: { files: [] } }), {})).toEqual({ ok: false, message: `no hook for sync (${join(dir.path, 'sync')})` });
    expect(await driver.run(command('domain/print-paris', 'wd-paris-s1', 'stage', { product: 'watchdoc', version: '6.1.4' }), { packagePath: '/p' })).toEqual({ ok: true, message: '6.1.4 staged and verified (no stage hook)' });
  });

  it('refuses a hook that is not executable', async () => {
    await writeFile(join(dir.path, 'migrate'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    expect(await new HooksDriver(dir.path).run(command('hacluster/ums-prod', 'ums-3', 'migrate', { version: '12.08.110' }), {})).toEqual({ ok: false, message: `hook ${join(dir.path, 'migrate')} is not executable` });
  });

  describe('inventory', () => {
    it('returns the components and facts the hook prints', async () => {
      await writeHook(dir.path, 'inventory', `cat <<'JSON'\n{"components":[{"product":"igel-ums","version":"12.07.100","state":"running","mode":"normal"}],"facts":{"registeredMembers":["ums-1","ums-2"]}}\nJSON`);
      expect(await new HooksDriver(dir.path).inventory()).toEqual({
        components: [{ product: 'igel-ums', version: '12.07.100', state: 'running', mode: 'normal' }],
        facts: { registeredMembers: ['ums-1', 'ums-2'] },
      });
    });

    const bad: Array<[string, string, RegExp]> = [
      ['output that is not JSON', 'echo "watchdoc 6.1.3"', /inventory did not print JSON/],
      ['a component that breaks the protocol', `echo '{"components":[{"product":"watchdoc","version":6.1}]}'`, /inventory printed an invalid inventory: components\[0\]\.version: must be string/],
      ['a field that is not part of an inventory', `echo '{"components":[],"services":[]}'`, /invalid inventory: services: is not a field of an inventory/],
      ['a failing hook', 'echo "wmic not found" >&2; exit 2', /inventory failed \(exit 2\): wmic not found/],
    ];
    it.each(bad)('names the hook when it prints %s', async (_, script, message) => {
      await writeHook(dir.path, 'inventory', script);
      const hook = join(dir.path, 'inventory');
      await expect(new HooksDriver(dir.path).inventory()).rejects.toThrow(message);
      await expect(new HooksDriver(dir.path).inventory()).rejects.toThrow(`hook ${hook}`);
    });

    it('says the inventory hook is missing', async () => {
      await expect(new HooksDriver(dir.path).inventory()).rejects.toThrow(`hook ${join(dir.path, 'inventory')} is missing`);
    });
  });
});
