import { hash } from 'node:crypto';
import type { Action } from './contract.ts';
import type { TargetId } from './model/identity.ts';

/**
 * A command's id is derived from what it does — (target, member, action, version) — so the
 * same step always has the same id: re-sending it after a controller restart is harmless,
 * and an agent recognises a command it already ran. 16 hex digits of SHA-256.
 *
 * One-shot `crypto.hash` (Node >= 20.12) rather than createHash: an account of a million
 * devices computes a million ids per pass, and this is a third faster.
 */
export function commandId(target: TargetId, member: string, action: Action, version: string | undefined): string {
  return hash('sha256', `${target}\0${member}\0${action}\0${version ?? ''}`, 'hex').slice(0, 16);
}
