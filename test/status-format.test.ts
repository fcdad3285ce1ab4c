import { describe, expect, it } from 'vitest';
import { formatTrailers, parseTrailers, statusPath } from '../controller/status/format.ts';

describe('status commit format', () => {
  it('trailers round-trip, one Target and Phase per target', () => {
    const t = { targets: ['hacluster/ums-prod', 'account/acme'], phases: new Map([['hacluster/ums-prod', 'Progressing'], ['account/acme', 'Converged']]), revision: 'a'.repeat(40) };
    const text = formatTrailers(t);
    expect(text).toBe(
      'Versiond-Target: hacluster/ums-prod\nVersiond-Target: account/acme\nVersiond-Phase: hacluster/ums-prod=Progressing\nVersiond-Phase: account/acme=Converged\n' +
        `Versiond-Revision: ${'a'.repeat(40)}`,
    );
    expect(parseTrailers(`status: 2 targets\n\n${text}\n`)).toEqual(t);
  });

  it('a person\'s commit is not a status commit', () => {
    expect(parseTrailers('Move acme to 4.3.0\n\nReviewed-by: Bob')).toBeNull();
  });

  it('status files live at status/<kind>/<name>.yaml', () => {
    expect(statusPath('distributionserver/ds-paris')).toBe('status/distributionserver/ds-paris.yaml');
  });
});
