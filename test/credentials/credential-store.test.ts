/**
 * The controller's credential store (seed 002): real files in a temp state folder, the
 * store re-read as an operator edits it.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CredentialStore } from '../../controller/credentials/credential-store.ts';

const BEFORE_EXPIRY = Date.parse('2026-11-22T10:00:00Z');
const EXPIRY = Date.parse('2027-01-31T00:00:00Z');
const SECRET = 'ds-paris-password-do-not-log';

let stateDir: string;
let storePath: string;

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'versiond-credentials-'));
  storePath = join(stateDir, 'credentials.yaml');
  mkdirSync(join(stateDir, 'secrets'));
});

afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

function secret(name: string, content = SECRET): string {
  const path = join(stateDir, 'secrets', name);
  writeFileSync(path, content);
  return path;
}

function writeStore(text: string): void {
  writeFileSync(storePath, text);
}

describe('a credential is usable while its secret file is there and it has not expired', () => {
  it('every stored ref is usable, none of them shows its secret', async () => {
    writeStore(`credentials:
  - ref: ivanti-ds-paris
    secretFile: ${secret('ds-paris')}
    expires: 2027-01-31T00:00:00Z
  - ref: ivanti-ds-lyon
    secretFile: ${secret('ds-lyon')}
`);
    const store = await CredentialStore.open(storePath);
    const checks = store.checks(BEFORE_EXPIRY);
    expect([...checks.values()]).toEqual([
      { ref: 'ivanti-ds-paris', usable: true },
      { ref: 'ivanti-ds-lyon', usable: true },
    ]);
    expect(store.lastError).toBeNull();
    expect(store.secretFileOf('ivanti-ds-paris', BEFORE_EXPIRY)).toBe(join(stateDir, 'secrets', 'ds-paris'));
    expect(JSON.stringify([...checks.values()])).not.toContain(SECRET);
  });

  it('an expired credential is unusable and says since when', async () => {
    writeStore(`credentials:
  - ref: ivanti-ds-paris
    secretFile: ${secret('ds-paris')}
    expires: 2027-01-31T00:00:00Z
`);
    const store = await CredentialStore.open(storePath);
    expect(store.nextExpiryAfter(BEFORE_EXPIRY)).toBe(EXPIRY);
    expect(store.checks(EXPIRY - 1).get('ivanti-ds-paris')?.usable).toBe(true);
    expect(store.checks(EXPIRY).get('ivanti-ds-paris')).toEqual({ ref: 'ivanti-ds-paris', usable: false, reason: 'expired since 2027-01-31T00:00:00Z' });
    expect(store.secretFileOf('ivanti-ds-paris', EXPIRY)).toBeUndefined();
    expect(store.nextExpiryAfter(EXPIRY)).toBeUndefined();
  });

  it('a missing secret file makes the credential unusable until the file appears', async () => {
    const path = join(stateDir, 'secrets', 'ds-paris');
    writeStore(`credentials:
  - ref: ivanti-ds-paris
    secretFile: ${path}
`);
    const store = await CredentialStore.open(storePath);
    expect(store.checks(BEFORE_EXPIRY).get('ivanti-ds-paris')).toEqual({ ref: 'ivanti-ds-paris', usable: false, reason: `secret file ${path} is missing` });

    secret('ds-paris');
    expect(await store.refreshIfChanged()).toBe(true);
    expect(store.checks(BEFORE_EXPIRY).get('ivanti-ds-paris')).toEqual({ ref: 'ivanti-ds-paris', usable: true });
    expect(await store.refreshIfChanged()).toBe(false);

    rmSync(path);
    expect(await store.refreshIfChanged()).toBe(true);
    expect(store.checks(BEFORE_EXPIRY).get('ivanti-ds-paris')?.usable).toBe(false);
  });

  it('a secret "file" that is a folder or empty is unusable, and both reasons of an expired missing one are given', async () => {
    writeStore(`credentials:
  - ref: folder
    secretFile: secrets
  - ref: empty
    secretFile: ${secret('empty', '')}
  - ref: gone-and-expired
    secretFile: secrets/gone
    expires: 2026-01-01T00:00:00+01:00
`);
    const store = await CredentialStore.open(storePath);
    const checks = store.checks(BEFORE_EXPIRY);
    expect(checks.get('folder')?.reason).toBe(`secret file ${join(stateDir, 'secrets')} is not a file`);
    expect(checks.get('empty')?.reason).toBe(`secret file ${join(stateDir, 'secrets', 'empty')} is empty`);
    // A relative secretFile is read from the credential store's folder.
    expect(checks.get('gone-and-expired')?.reason).toBe(`secret file ${join(stateDir, 'secrets', 'gone')} is missing; expired since 2026-01-01T00:00:00+01:00`);
  });

  it.skipIf(process.getuid?.() === 0)('a secret file the controller may not read is unusable', async () => {
    const path = secret('ds-paris');
    chmodSync(path, 0o000);
    writeStore(`credentials:\n  - ref: ivanti-ds-paris\n    secretFile: ${path}\n`);
    const store = await CredentialStore.open(storePath);
    expect(store.checks(BEFORE_EXPIRY).get('ivanti-ds-paris')?.reason).toBe(`secret file ${path} cannot be read (EACCES)`);
  });

  it('a ref defined twice is unusable (which secret is meant?), the others stay usable', async () => {
    writeStore(`credentials:
  - ref: ivanti-ds-paris
    secretFile: ${secret('a')}
  - ref: ivanti-ds-lyon
    secretFile: ${secret('b')}
  - ref: ivanti-ds-paris
    secretFile: ${secret('c')}
`);
    const store = await CredentialStore.open(storePath);
    const checks = store.checks(BEFORE_EXPIRY);
    expect(checks.get('ivanti-ds-paris')).toEqual({
      ref: 'ivanti-ds-paris',
      usable: false,
      reason: `defined 2 times in ${storePath} (lines 2, 6): which secret to use is ambiguous`,
    });
    expect(checks.get('ivanti-ds-lyon')?.usable).toBe(true);
    expect(store.secretFileOf('ivanti-ds-paris', BEFORE_EXPIRY)).toBeUndefined();
    expect(store.lastError).toBeNull();
  });

  it('no file is an empty store: no ref resolves, and that is not an error', async () => {
    const store = await CredentialStore.open(storePath);
    expect(store.checks(BEFORE_EXPIRY).size).toBe(0);
    expect(store.lastError).toBeNull();

    writeStore(`credentials:\n  - ref: ivanti-ds-paris\n    secretFile: ${secret('ds-paris')}\n`);
    expect(await store.refreshIfChanged()).toBe(true);
    expect(store.checks(BEFORE_EXPIRY).get('ivanti-ds-paris')?.usable).toBe(true);

    rmSync(storePath);
    expect(await store.refreshIfChanged()).toBe(true);
    expect(store.checks(BEFORE_EXPIRY).size).toBe(0);
  });
});

describe('a malformed credential store is reported precisely and never replaces the last good one', () => {
  it('a YAML syntax error names file:line:column, and the last good content stays in force until it is fixed', async () => {
    writeStore(`credentials:\n  - ref: ivanti-ds-paris\n    secretFile: ${secret('ds-paris')}\n`);
    const store = await CredentialStore.open(storePath);

    writeStore(`credentials:\n  - ref: ivanti-ds-paris\n    secretFile: [unclosed\n`);
    expect(await store.refreshIfChanged()).toBe(true);
    expect(store.lastError).toMatch(new RegExp(`^${storePath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:1: `));
    expect(store.checks(BEFORE_EXPIRY).get('ivanti-ds-paris')?.usable).toBe(true);
    expect(await store.refreshIfChanged()).toBe(false); // same bad text: same error, nothing new

    writeStore(`credentials:\n  - ref: ivanti-ds-rome\n    secretFile: ${secret('ds-rome')}\n`);
    expect(await store.refreshIfChanged()).toBe(true);
    expect(store.lastError).toBeNull();
    expect([...store.checks(BEFORE_EXPIRY).keys()]).toEqual(['ivanti-ds-rome']);
  });

  it('every invalid field is reported at its line and column, and the file is not used', async () => {
    writeStore(`credentials:
  - ref: ivanti-ds-paris
    secretFile: ${secret('ds-paris')}
    expires: 2027-02-31T00:00:00Z
  - ref: "ds paris "
    secret: /etc/versiond/secrets/x
  - ref: ivanti-ds-lyon
    secretFile: ${secret('ds-lyon')}
    expires: 2027-01-31
  - just-a-string
  - ref: 42
    secretFile: /etc/versiond/secrets/y
overrides: {}
`);
    const store = await CredentialStore.open(storePath);
    expect(store.lastError?.split('\n')).toEqual([
      `${storePath}:4:14: credentials[0].expires: "2027-02-31T00:00:00Z" is not a date-time with a time zone, like 2027-01-31T00:00:00Z`,
      `${storePath}:5:5: credentials[1].secretFile: is required`,
      `${storePath}:5:10: credentials[1].ref: "ds paris " must be letters, digits, '.', '_' or '-', starting and ending with a letter or digit (as a credentialRef)`,
      `${storePath}:6:5: credentials[1].secret: unknown field (expected ref, secretFile, expires)`,
      `${storePath}:9:14: credentials[2].expires: "2027-01-31" is not a date-time with a time zone, like 2027-01-31T00:00:00Z`,
      `${storePath}:10:5: credentials[3]: must be a mapping with \`ref\` and \`secretFile\``,
      `${storePath}:11:10: credentials[4].ref: must be a non-empty string`,
      `${storePath}:13:1: overrides: unknown field (the file has only \`credentials\`)`,
    ]);
    expect(store.errors[0]).toMatchObject({ line: 4, column: 14, field: 'credentials[0].expires' });
    expect(store.checks(BEFORE_EXPIRY).size).toBe(0);
  });

  it('a file that is not a mapping of credentials says what is expected', async () => {
    writeStore(`- ref: ivanti-ds-paris\n`);
    const store = await CredentialStore.open(storePath);
    expect(store.lastError).toBe(`${storePath}:1:1: expected a mapping with a \`credentials\` list`);

    writeStore(`credentials: ivanti-ds-paris\n`);
    await store.refreshIfChanged();
    expect(store.lastError).toBe(`${storePath}:1:14: credentials: must be a list of { ref, secretFile, expires }`);
  });

  it('a duplicate key is a YAML error, an empty file or list is an empty store', async () => {
    writeStore(`credentials:\n  - ref: a\n    ref: b\n    secretFile: /x\n`);
    const store = await CredentialStore.open(storePath);
    expect(store.lastError).toMatch(/:3:5: Map keys must be unique/);

    for (const text of ['', 'credentials:\n', 'credentials: []\n']) {
      writeStore(text);
      await store.refreshIfChanged();
      expect(store.lastError).toBeNull();
      expect(store.checks(BEFORE_EXPIRY).size).toBe(0);
    }
  });

  it('a store that cannot be read is an error that keeps the last good content', async () => {
    writeStore(`credentials:\n  - ref: ivanti-ds-paris\n    secretFile: ${secret('ds-paris')}\n`);
    const store = await CredentialStore.open(storePath);
    rmSync(storePath);
    mkdirSync(storePath); // an operator's slip: a folder where the file should be
    expect(await store.refreshIfChanged()).toBe(true);
    expect(store.lastError).toBe(`${storePath}: the credential store is not a file`);
    expect(store.checks(BEFORE_EXPIRY).get('ivanti-ds-paris')?.usable).toBe(true);
  });
});
