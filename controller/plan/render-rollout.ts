/**
 * The reviewers' controls of a target as `plan` shows them (issue 8, item 7): pause, change
 * freezes, maintenance windows, version policy, waves with their approval gates and digests,
 * and promotion through the test ring — read from what the governance steps and the Account
 * reconciler put in `status.details` (plain JSON, so this module only formats).
 *
 * One list of facts, each rendered as a text line or a Markdown line, so both formats say
 * exactly the same thing. Members, versions and messages come from the repository and from
 * agents: the text lines are escaped by the plan's renderer, the Markdown ones here.
 */

import { markdownText } from '../observability/printable.ts';

export interface RolloutFacts {
  /** One line each: `paused`, `window: closed, opens Mon 2026-11-23 22:00 Europe/Paris`, … */
  readonly lines: readonly string[];
  /** The waves, when the target has a strategy. */
  readonly waves?: readonly WaveRow[];
}

export interface WaveRow {
  readonly number: number;
  readonly size: number;
  readonly members: string;
  readonly versions: string;
  readonly state: string;
  readonly progress: string;
  readonly gate: string;
}

type Json = Record<string, unknown>;
const isObj = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string | undefined => (typeof x === 'string' ? x : undefined);
const num = (x: unknown): number | undefined => (typeof x === 'number' ? x : undefined);

/** What to say about a target's rollout controls; empty when it has none. */
export function rolloutFacts(details: Readonly<Record<string, unknown>> | undefined): RolloutFacts {
  const lines: string[] = [];
  const rollout = isObj(details?.['rollout']) ? (details['rollout'] as Json) : {};

  const pause = rollout['pause'];
  if (isObj(pause) && pause['paused'] === true) {
    const finishing = Array.isArray(pause['finishing']) ? (pause['finishing'] as string[]) : [];
    lines.push(`paused (spec.rollout.paused): nothing new starts${finishing.length > 0 ? `; finishing ${finishing.join(', ')}` : ''}`);
  }
  const freeze = rollout['freeze'];
  if (isObj(freeze)) {
    if (freeze['frozen'] === true) lines.push(`change freeze ${str(freeze['freeze']) ?? ''}: nothing starts until ${str(freeze['untilLocal']) ?? str(freeze['until']) ?? '?'}`);
    else if (str(freeze['nextAt'])) lines.push(`next change freeze ${str(freeze['next']) ?? ''}: from ${str(freeze['nextAtLocal']) ?? str(freeze['nextAt'])}`);
    if (str(freeze['invalid'])) lines.push(`freezes: ${str(freeze['invalid'])}`);
  }
  const window = rollout['window'];
  if (isObj(window)) {
    if (str(window['invalid'])) lines.push(`maintenance windows: ${str(window['invalid'])}`);
    else if (window['open'] === true) lines.push(`maintenance window ${str(window['window']) ?? ''} open until ${str(window['closesAtLocal']) ?? str(window['closesAt'])}`);
    else if (window['open'] === false) {
      const held = num(window['held']) ?? 0;
      lines.push(
        `outside maintenance windows: installs and restarts wait for ${str(window['next']) ?? 'the next window'} at ${str(window['opensAtLocal']) ?? str(window['opensAt']) ?? '?'}` +
          `${held > 0 ? ` (${held} held; downloads go on)` : ''}`,
      );
    }
  }
  const policy = rollout['version-policy'];
  if (isObj(policy)) {
    const fence = policy['fence'];
    if (isObj(fence)) lines.push(`schema fence: the database schema was migrated to ${str(fence['schemaAt'])}; ${str(fence['desired'])} ${fence['refused'] === true ? 'is refused' : 'is allowed by the declared restore'}`);
    else if (str(policy['schemaAt'])) lines.push(`schema fence at ${str(policy['schemaAt'])}: no version below it without a declared database restore`);
    const mandatory = policy['mandatory'];
    if (isObj(mandatory)) {
      for (const m of (Array.isArray(mandatory['members']) ? mandatory['members'] : []) as Json[]) {
        lines.push(`${str(m['member'])}: ${str(m['observed'])} → ${str(m['desired'])} would skip mandatory ${str(m['version'])} (${str(m['release'])})`);
      }
    }
  }
  const promotion = details?.['promotion'];
  if (isObj(promotion)) {
    const ring = promotion['testRing'];
    if (isObj(ring)) lines.push(`test ring: ${num(ring['converged']) ?? 0}/${num(ring['of']) ?? 0} at ${str(ring['version'])}`);
    const held = promotion['held'];
    if (isObj(held)) {
      // The gate holds only members that need the version: none may need it (production runs it already).
      lines.push(
        num(held['steps']) === 0
          ? `promotion: ${str(held['version'])} not admitted, and no production member needs it — ${str(held['message'])}`
          : `promotion: production waits — ${str(held['message'])}`,
      );
    }
    const prod = promotion['production'];
    if (isObj(prod)) {
      const via = str(prod['via']);
      lines.push(`promotion: production admitted ${str(prod['version'])} via ${via === 'test-ring' ? 'the test ring' : via}${str(prod['reason']) ? ` (reason: ${str(prod['reason'])})` : ''}`);
    }
  }

  const wavesDetails = rollout['waves'];
  let waves: WaveRow[] | undefined;
  if (isObj(wavesDetails) && Array.isArray(wavesDetails['waves'])) {
    const stragglers = Array.isArray(wavesDetails['stragglers']) ? (wavesDetails['stragglers'] as string[]) : [];
    const mu = wavesDetails['maxUnavailable'];
    lines.push(
      `waves over ${num(wavesDetails['members'])} ${str(wavesDetails['role'])}s: ${str(wavesDetails['state'])}` +
        `${wavesDetails['current'] !== null && wavesDetails['current'] !== undefined ? `, wave ${String(wavesDetails['current'])} current` : ''}` +
        `${isObj(mu) ? `, at most ${num(mu['limit'])} at once` : ''}` +
        `, failure threshold ${String(wavesDetails['failureThreshold'])}` +
        `${stragglers.length > 0 ? `, stragglers: ${stragglers.join(', ')}` : ''}`,
    );
    waves = (wavesDetails['waves'] as Json[]).map((w) => {
      const members = Array.isArray(w['members']) ? (w['members'] as string[]) : [];
      const omitted = num(w['omitted']) ?? 0;
      const half = Math.ceil(members.length / 2);
      const names = omitted > 0 ? `${members.slice(0, half).join(', ')}, … ${omitted} more …, ${members.slice(half).join(', ')}` : members.join(', ');
      const failed = Array.isArray(w['failed']) ? (w['failed'] as Json[]) : [];
      const approval = w['approval'];
      let gate = '';
      if (isObj(approval) && str(w['state']) !== 'done') {
        gate = approval['approved'] === true ? `approved ${str(approval['digest'])} by ${str(approval['by'])}` : `needs approval of ${str(approval['digest'])}`;
        if (approval['outdated'] === true) gate += ` (the approval of ${str(approval['approvedDigest'])} is outdated: the plan changed)`;
      }
      return {
        number: num(w['number']) ?? 0,
        size: num(w['size']) ?? 0,
        members: names,
        versions: Array.isArray(w['versions']) ? (w['versions'] as string[]).join(', ') : '',
        state: str(w['state']) ?? '',
        progress:
          `${num(w['updated']) ?? 0} updated, ${num(w['updating']) ?? 0} updating` +
          `${(num(w['failedCount']) ?? 0) > 0 ? `, ${num(w['failedCount'])} failed (${failed.map((f) => `${str(f['member'])}: ${str(f['message'])}`).join('; ')})` : ''}`,
        gate,
      };
    });
  }
  return { lines, ...(waves !== undefined ? { waves } : {}) };
}

export function rolloutText(facts: RolloutFacts): string[] {
  const out = facts.lines.map((l) => `  rollout: ${l}`);
  for (const w of facts.waves ?? []) {
    out.push(`    wave ${w.number}: ${w.size} → ${w.versions}, ${w.state}; ${w.progress}${w.gate ? `; ${w.gate}` : ''}`);
    out.push(`      ${w.members}`);
  }
  return out;
}

export function rolloutMarkdown(facts: RolloutFacts): string[] {
  if (facts.lines.length === 0 && facts.waves === undefined) return [];
  const out = ['', ...facts.lines.map((l) => `- ${cell(l)}`)];
  if (facts.waves !== undefined) {
    out.push('', '| wave | members | version | state | progress | approval gate |', '|---:|---|---|---|---|---|');
    for (const w of facts.waves) {
      const rest = `${cell(w.versions)} | ${cell(w.state)} | ${cell(w.progress)} | ${cell(w.gate)}`;
      out.push(`| ${w.number} | ${w.size}: ${cell(w.members)} | ${rest} |`);
    }
    if (facts.waves.some((w) => w.gate.startsWith('needs approval'))) {
      out.push('', '> To approve a gated wave, add to `spec.rollout.approvals` in this target\'s file: `{wave: N, digest: <digest above>, by: <you>}`. The approval holds for this exact plan only: if its members or version change, the digest changes and a new approval is needed.');
    }
  }
  return out;
}

/** Markdown text in a table cell or a list item: one line, nothing Markdown or HTML acts on. */
function cell(s: string): string {
  return markdownText(s);
}
