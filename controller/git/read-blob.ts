import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import git from 'isomorphic-git';
import { gitFs } from './git-fs.ts';

/**
 * The bytes of a blob, found through isomorphic-git. Loose objects are asked for as raw
 * deflated bytes and inflated and checked here with Node's native zlib and SHA-1:
 * isomorphic-git always inflates with pako, in JavaScript, which made reading the blobs
 * of a 10,000-file repository cost as much as parsing them. Packed objects come back
 * already resolved from isomorphic-git's pack reader.
 */
export async function readBlobBytes(gitdir: string, oid: string, cache: object): Promise<Uint8Array> {
  const result = await git.readObject({ fs: gitFs, gitdir, oid, format: 'deflated', cache });
  if (result.format === 'content') {
    if (result.type !== 'blob') throw new Error(`object ${oid} is a ${result.type}, not a blob`);
    return result.object as Uint8Array;
  }
  if (result.format !== 'deflated') throw new Error(`unexpected object format ${result.format} for ${oid}`);
  const wrapped = inflateSync(result.object as Uint8Array);
  // A corrupt or substituted object must never be read as desired state: check its id.
  const actual = createHash('sha1').update(wrapped).digest('hex');
  if (actual !== oid) throw new Error(`object ${oid} is corrupt: its content hashes to ${actual}`);
  const nul = wrapped.indexOf(0);
  const header = wrapped.toString('latin1', 0, nul);
  if (!header.startsWith('blob ')) throw new Error(`object ${oid} is a ${header.split(' ')[0]}, not a blob`);
  return wrapped.subarray(nul + 1);
}
