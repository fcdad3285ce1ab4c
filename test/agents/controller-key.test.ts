import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTROLLER_KEY_FILE, loadOrCreateControllerKey } from '../../controller/agents/controller-key.ts';
import { verifyPushSignature } from '../../protocol/push-signature.ts';
import { ROOT } from '../helpers/git-repo.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function stateDir(): string {
  const parent = mkdtempSync(join(tmpdir(), 'versiond-key-'));
  dirs.push(parent);
  return join(parent, 'state');
}

const push = Buffer.from(JSON.stringify({ agent: 'wd-rennes', sentAt: '2026-11-20T09:00:00Z', commands: [] }));

describe('the controller key is created once and kept private', () => {
  it('is created on first use in a 0700 state dir, as a 0600 PEM file, and the same key is loaded afterwards', async () => {
    const dir = stateDir();
    const first = await loadOrCreateControllerKey(dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, CONTROLLER_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, CONTROLLER_KEY_FILE), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(readdirSync(dir)).toEqual([CONTROLLER_KEY_FILE]);
    expect(Buffer.from(first.publicKeyBase64, 'base64')).toHaveLength(32);

    const again = await loadOrCreateControllerKey(dir);
    expect(again.publicKeyBase64).toBe(first.publicKeyBase64);
    expect(verifyPushSignature(first.publicKeyBase64, push, again.sign(push))).toBe(true);
  });

  it('ends with one key when several creators race in one process', async () => {
    const dir = stateDir();
    // Staggered, so some finish before others have written their candidate: an existing key must never be replaced.
    const keys = await Promise.all(Array.from({ length: 12 }, (_, i) => new Promise((r) => setTimeout(r, i % 4)).then(() => loadOrCreateControllerKey(dir))));
    expect(new Set(keys.map((k) => k.publicKeyBase64))).toEqual(new Set([(await loadOrCreateControllerKey(dir)).publicKeyBase64]));
    expect(readdirSync(dir)).toEqual([CONTROLLER_KEY_FILE]);
  });

  it('ends with one key when several processes start at once', async () => {
    const dir = stateDir();
    const module = pathToFileURL(join(ROOT, 'controller/agents/controller-key.ts')).href;
    const script = `const { loadOrCreateControllerKey } = await import(${JSON.stringify(module)});
      console.log((await loadOrCreateControllerKey(${JSON.stringify(dir)})).publicKeyBase64);`;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`exit ${code}: ${err}`))));
      });
    const keys = await Promise.all([run(), run(), run()]);
    const onDisk = await loadOrCreateControllerKey(dir);
    expect(keys).toEqual([onDisk.publicKeyBase64, onDisk.publicKeyBase64, onDisk.publicKeyBase64]);
    expect(readdirSync(dir)).toEqual([CONTROLLER_KEY_FILE]);
  });

  it('refuses a key file that is not a PEM private key, naming it', async () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, CONTROLLER_KEY_FILE), 'not a key\n');
    await expect(loadOrCreateControllerKey(dir)).rejects.toThrow(`${join(dir, CONTROLLER_KEY_FILE)}: not a PEM private key`);
  });

  it('refuses a key that is not Ed25519', async () => {
    const dir = stateDir();
    mkdirSync(dir, { recursive: true });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(join(dir, CONTROLLER_KEY_FILE), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await expect(loadOrCreateControllerKey(dir)).rejects.toThrow(`${join(dir, CONTROLLER_KEY_FILE)}: holds a ec key; the controller key must be Ed25519`);
  });
});

describe('an agent obeys a pushed body only if the controller signed exactly it', () => {
  it('accepts the controller\'s signature of the body', async () => {
    const key = await loadOrCreateControllerKey(stateDir());
    const header = key.sign(push);
    expect(header).toMatch(/^ed25519=[A-Za-z0-9+/]{86}==$/); // the pattern of the OpenAPI document
    expect(verifyPushSignature(key.publicKeyBase64, push, header)).toBe(true);
  });

  it('refuses the body with one byte changed', async () => {
    const key = await loadOrCreateControllerKey(stateDir());
    const header = key.sign(push);
    for (const at of [0, 10, push.length - 1]) {
      const altered = Buffer.from(push);
      altered[at] = altered[at]! ^ 0x01;
      expect(verifyPushSignature(key.publicKeyBase64, altered, header)).toBe(false);
    }
  });

  it('refuses a signature by another key (another controller, or an attacker)', async () => {
    const ours = await loadOrCreateControllerKey(stateDir());
    const theirs = await loadOrCreateControllerKey(stateDir());
    expect(verifyPushSignature(ours.publicKeyBase64, push, theirs.sign(push))).toBe(false);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['no signature', 'ed25519='],
    ['another algorithm', `rsa=${'A'.repeat(86)}==`],
    ['a truncated signature', 'ed25519=AAAA'],
    ['not base64', `ed25519=${'!'.repeat(88)}`],
    ['64 zero bytes', `ed25519=${Buffer.alloc(64).toString('base64')}`],
  ])('refuses %s', async (_case, header) => {
    const key = await loadOrCreateControllerKey(stateDir());
    expect(verifyPushSignature(key.publicKeyBase64, push, header)).toBe(false);
  });

  it('throws on a malformed public key: the agent is misconfigured, which a silent "no" would hide', async () => {
    const key = await loadOrCreateControllerKey(stateDir());
    expect(() => verifyPushSignature('AAAA', push, key.sign(push))).toThrow(/32 bytes/);
  });
});
