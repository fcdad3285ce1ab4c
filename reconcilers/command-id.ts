import { createHash } from 'node:crypto';
import type { Action } from './contract.ts';
import type { TargetId } from './model/identity.ts';

/**
 * A command's id is derived from what it does — (target, member, action, version) — so the
 * same step always has the same id: re-sending it after a controller restart is harmless,
 * and an agent recognises a command it already ran. 16 hex digits of SHA-256.
 */
export function commandId(target: TargetId, member: string, action: Action, version: string | undefined): string {
  return createHash('sha256').update(`${target}\0${member}\0${action}\0${version ?? ''}`).digest('hex').slice(0, 16);
}
