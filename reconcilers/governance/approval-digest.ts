/**
 * The plan digest of a gated wave (issue 8, item 2): what a reviewer approves by committing
 * `{ wave, digest, by }` to `spec.rollout.approvals`.
 *
 * It covers exactly what the wave will do — which target, which wave, which members in which
 * order, each with the version it is to run, of which product — and nothing observed: no
 * action list, no member state, no time. So it is the same in `versiond plan` (run on a pull
 * request, without the controller's status) and in the controller, it does not change as the
 * wave progresses, and it changes when — and only when — the wave's members or their version
 * change: then the old approval no longer counts.
 *
 *   digest = "sha256:" + the 64 hex digits of SHA-256 over the canonical JSON
 *     {"members":[{"name":…,"version":…},…],"product":…,"target":…,"wave":…}
 *   (keys sorted, no white space, strings as JSON.stringify writes them).
 *
 * Anyone can recompute it from the status file (`members[].name`, `members[].desired`).
 */
import { createHash } from 'node:crypto';

export interface WavePlanForApproval {
  /** `account/acme`, `domain/print-branches`. */
  readonly target: string;
  /** From 1. */
  readonly wave: number;
  /** The product the wave installs (`w360-core`, `watchdoc`). */
  readonly product: string;
  /** In wave order: the member's name and the version it is to run (`desired` in member status). */
  readonly members: readonly { readonly name: string; readonly desired: string }[];
}

/**
 * The whole SHA-256 (issue 13): 16 hex digits (64 bits) could be matched by a plan crafted to
 * collide with an approved one. A short form is only ever shown, never accepted.
 */
export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function approvalDigest(plan: WavePlanForApproval): string {
  // Streamed in chunks: a wave of half a million devices never builds its JSON as one string,
  // nor pays one hash update per member.
  const h = createHash('sha256');
  let chunk = '{"members":[';
  const { members } = plan;
  // A wave's members nearly always share one version: quote it once.
  let version = '';
  let quoted = '""';
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    if (m.desired !== version) {
      version = m.desired;
      quoted = JSON.stringify(version);
    }
    chunk += `${i === 0 ? '' : ','}{"name":${JSON.stringify(m.name)},"version":${quoted}}`;
    if (chunk.length >= 65_536) {
      h.update(chunk);
      chunk = '';
    }
  }
  h.update(`${chunk}],"product":${JSON.stringify(plan.product)},"target":${JSON.stringify(plan.target)},"wave":${JSON.stringify(plan.wave)}}`);
  return `sha256:${h.digest('hex')}`;
}
