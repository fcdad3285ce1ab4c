/**
 * The controller's key: it signs the commands pushed to agents (`X-Versiond-Signature`) and
 * status commits. Only the signing half is here; agents check pushes with
 * `protocol/push-signature.ts`, which defines the header both sides write and read.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { syncDirectory } from '../fs/sync-directory.ts';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pushSignatureHeader } from '../../protocol/push-signature.ts';

/** The controller's private key, in its state dir (never in the Git repository). */
export const CONTROLLER_KEY_FILE = 'controller-key.pem';

export interface ControllerKey {
  readonly file: string;
  /** Raw 32-byte Ed25519 public key, base64: what `versiond agents add` prints and `GET /v1/controller-key` serves. */
  readonly publicKeyBase64: string;
  /** The `X-Versiond-Signature` value for `body`: `ed25519=<base64 signature of the raw bytes>`. */
  sign(body: Uint8Array): string;
  /** The raw 64-byte Ed25519 signature of `data` (for SSH signatures of status commits). */
  signRaw(data: Uint8Array): Buffer;
}

/**
 * The controller's Ed25519 key pair, which signs the commands it pushes to agents of
 * bidirectional members, so an agent's endpoint obeys the controller and nobody else.
 * Created on first use as `<stateDir>/controller-key.pem` (PKCS#8, mode 0600). Two processes
 * starting at once (`versiond run` and a first `versiond agents add`) must end up with the
 * same key, or agents would be told a key that never signs anything: each writes its own
 * candidate to a private temporary file and hard-links it to the final name, which only one
 * can do (like O_EXCL, but the winner's file is complete before anyone can see it); the
 * losers read the winner's.
 */
export async function loadOrCreateControllerKey(stateDir: string): Promise<ControllerKey> {
  const file = join(stateDir, CONTROLLER_KEY_FILE);
  let pem = await readIfPresent(file);
  if (pem === undefined) {
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await createKeyFile(file);
    pem = await readFile(file, 'utf8');
  }
  return controllerKeyFromPem(file, pem);
}

function controllerKeyFromPem(file: string, pem: string): ControllerKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${file}: not a PEM private key (${(err as Error).message}); remove it to have a new key created, then give agents the new public key`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${file}: holds a ${privateKey.asymmetricKeyType ?? 'unknown'} key; the controller key must be Ed25519`);
  }
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKeyBase64 = Buffer.from(jwk.x ?? '', 'base64url').toString('base64');
  return {
    file,
    publicKeyBase64,
    sign: (body) => pushSignatureHeader(sign(null, body, privateKey)),
    signRaw: (data) => sign(null, data, privateKey),
  };
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new Error(`cannot read the controller key ${file}: ${code ?? (err as Error).message}`);
  }
}

async function createKeyFile(file: string): Promise<void> {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(pem);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(tmp, file);
    } catch (err) {
      // Another process created the key first: theirs is the key.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    await syncDirectory(dirname(file));
  } finally {
    await rm(tmp, { force: true });
  }
}

