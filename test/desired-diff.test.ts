import { describe, expect, it } from 'vitest';
import { diffDesired } from '../controller/plan/desired-diff.ts';
import { desired } from './helpers/observed.ts';

const account = (devices: { name: string; repositoryServer: string }[], tag = 'stable') =>
  desired('Account', 'acme', { product: 'w360-core', defaultTag: tag, restartPolicy: 'Immediate', autoUpdate: false, repositoryServers: [{ name: 'wrs' }], devices });

describe('what a revision changes, for the reviewer', () => {
  it('members are compared by name: adding one device is one added item, not a shifted list', () => {
    const before = account([{ name: 'a', repositoryServer: 'wrs' }, { name: 'b', repositoryServer: 'wrs' }]);
    const after = { ...account([{ name: 'new', repositoryServer: 'cloud' }, { name: 'a', repositoryServer: 'wrs' }, { name: 'b', repositoryServer: 'wrs' }]), source: { path: 'accounts/acme.yaml', blob: '2'.repeat(40) } };
    expect(diffDesired([before], [after])).toEqual([
      { target: 'account/acme', change: 'changed', path: 'accounts/acme.yaml', fields: [{ field: 'spec.devices[new]', to: { name: 'new', repositoryServer: 'cloud' } }] },
    ]);
  });

  it('a moved tag, a removed member and a changed member field are each one line', () => {
    const before = account([{ name: 'a', repositoryServer: 'wrs' }, { name: 'b', repositoryServer: 'wrs' }]);
    const after = { ...account([{ name: 'a', repositoryServer: 'cloud' }], 'previous'), source: { path: 'accounts/acme.yaml', blob: '3'.repeat(40) } };
    expect(diffDesired([before], [after])[0]!.fields).toEqual([
      { field: 'spec.defaultTag', from: 'stable', to: 'previous' },
      { field: 'spec.devices[a].repositoryServer', from: 'wrs', to: 'cloud' },
      { field: 'spec.devices[b]', from: { name: 'b', repositoryServer: 'wrs' } },
    ]);
  });

  it('targets added and removed are listed; an unchanged blob is skipped without comparing', () => {
    const a = account([]);
    const other = { ...desired('Domain', 'd', { release: 'r', master: { name: 'm', update: 'Manual' }, slaves: [{ name: 's', sync: 'mailbox' }] }) };
    expect(diffDesired([a], [a, other]).map((c) => [c.target, c.change])).toEqual([['domain/d', 'added']]);
    expect(diffDesired([a, other], [a]).map((c) => [c.target, c.change])).toEqual([['domain/d', 'removed']]);
  });
});
