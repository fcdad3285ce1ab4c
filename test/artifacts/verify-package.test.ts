import { describe, expect, it } from 'vitest';
import { demoArtifact, demoArtifactBytes } from '../../agent/demo-artifacts.ts';
import { mirroredUrl } from '../../protocol/mirror-url.ts';
import { verifyPackage } from '../../protocol/verify-package.ts';

describe('a package is installed only if it is the one the release declares (seed 000)', () => {
  const artifact = demoArtifact('watchdoc', '6.1.4');
  const bytes = demoArtifactBytes('watchdoc', '6.1.4');

  it('accepts the signed package', () => {
    expect(verifyPackage(bytes, artifact)).toEqual({ ok: true });
  });

  it.each([
    ['one byte changed', () => { const b = Buffer.from(bytes); b[100] = (b[100]! + 1) % 256; return b; }, /sha256/],
    ['truncated', () => bytes.subarray(1), /bytes, the release declares/],
    ['another version', () => demoArtifactBytes('watchdoc', '6.1.3'), /not secure/],
  ])('refuses a package with %s', (_name, make, reason) => {
    const verdict = verifyPackage(make(), artifact);
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(reason);
  });

  it('refuses a package whose digest matches but whose signature is not the key holder\'s', () => {
    const other = demoArtifact('watchdoc', '6.1.3');
    const verdict = verifyPackage(bytes, { ...artifact, signature: other.signature });
    expect(verdict).toEqual({ ok: false, reason: 'package not secure: the Ed25519 signature does not verify' });
  });

  it('refuses a malformed public key with a reason, without throwing', () => {
    const verdict = verifyPackage(bytes, { ...artifact, signature: { ...artifact.signature, publicKey: 'AAAA' } });
    expect(!verdict.ok && verdict.reason).toMatch(/bad public key/);
  });
});

describe('a mirror changes where a package is fetched from, never what it must be', () => {
  it.each([
    ['https://download.igel.example/igel-ums/12.08.110/x.pkg', 'http://127.0.0.1:9000/mirror', 'http://127.0.0.1:9000/mirror/download.igel.example/igel-ums/12.08.110/x.pkg'],
    ['https://download.igel.example/a.pkg?v=1', 'file:///srv/mirror/', 'file:///srv/mirror/download.igel.example/a.pkg?v=1'],
    ['https://download.igel.example/a.pkg', undefined, 'https://download.igel.example/a.pkg'],
    ['file:///tmp/a.pkg', 'http://m', 'file:///tmp/a.pkg'],
  ])('%s via %s', (url, mirror, expected) => {
    expect(mirroredUrl(url, mirror)).toBe(expected);
  });
});
