import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MemberStatus } from '../../reconcilers/contract.ts';
import { approvalDigest, DIGEST_PATTERN, type WavePlanForApproval } from '../../reconcilers/governance/approval-digest.ts';

/**
 * The plan digest of a gated wave (issue 8, item 2): what a reviewer approves. It names the
 * wave's exact plan — target, wave, members in order with their version, product — and
 * nothing observed, so it changes when and only when that plan changes.
 */

const BASE: WavePlanForApproval = {
  target: 'account/acme',
  wave: 2,
  product: 'w360-core',
  members: [
    { name: 'ws-02', desired: '4.3.0' },
    { name: 'ws-03', desired: '4.3.0' },
  ],
};

describe('approval digest', () => {
  it('is sha256: and 16 hex digits of SHA-256 over the canonical JSON of the plan (keys sorted, no spaces)', () => {
    const canonical = JSON.stringify({
      members: BASE.members.map((m) => ({ name: m.name, version: m.desired })),
      product: BASE.product,
      target: BASE.target,
      wave: BASE.wave,
    });
    expect(canonical).toBe('{"members":[{"name":"ws-02","version":"4.3.0"},{"name":"ws-03","version":"4.3.0"}],"product":"w360-core","target":"account/acme","wave":2}');
    const digest = approvalDigest(BASE);
    expect(digest).toMatch(DIGEST_PATTERN);
    expect(digest).toBe(`sha256:${createHash('sha256').update(canonical).digest('hex')}`);
  });

  it.each([
    { name: 'a member added', change: { members: [...BASE.members, { name: 'ws-04', desired: '4.3.0' }] } },
    { name: 'a member removed', change: { members: BASE.members.slice(0, 1) } },
    { name: 'the members in another order', change: { members: [...BASE.members].reverse() } },
    { name: 'a member renamed', change: { members: [BASE.members[0]!, { name: 'ws-03b', desired: '4.3.0' }] } },
    { name: 'another version for one member', change: { members: [BASE.members[0]!, { name: 'ws-03', desired: '4.3.1' }] } },
    { name: 'another wave', change: { wave: 3 } },
    { name: 'another target', change: { target: 'account/globex' } },
    { name: 'another product', change: { product: 'cebox-os' } },
  ])('changes with the plan: $name', ({ change }) => {
    expect(approvalDigest({ ...BASE, ...change })).not.toBe(approvalDigest(BASE));
  });

  it('does not change with anything observed: member state, observed version, messages', () => {
    const observed: MemberStatus[] = [
      { name: 'ws-02', agent: 'ws-02', role: 'device', desired: '4.3.0', observed: '4.3.0', state: 'Updated' },
      { name: 'ws-03', agent: 'agent-7', role: 'device', desired: '4.3.0', observed: '4.2.1', state: 'Updating', message: 'apply 4.3.0 in progress' },
    ];
    expect(approvalDigest({ ...BASE, members: observed })).toBe(approvalDigest(BASE));
  });

  it('cannot be forged by a name that looks like JSON: names are escaped', () => {
    const one = { ...BASE, members: [{ name: 'a","version":"1"},{"name":"b', desired: '2' }] };
    const two = { ...BASE, members: [{ name: 'a', desired: '1' }, { name: 'b', desired: '2' }] };
    expect(approvalDigest(one)).not.toBe(approvalDigest(two));
  });

  it('is the same for the same plan, every time', () => {
    const big = { ...BASE, members: Array.from({ length: 50_000 }, (_, i) => ({ name: `d-${i}`, desired: '4.3.0' })) };
    expect(approvalDigest(big)).toBe(approvalDigest({ ...big, members: [...big.members] }));
  });
});
