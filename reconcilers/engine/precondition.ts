/**
 * Preconditions answer one of three things: satisfied, not satisfied, or unknown. Unknown
 * is never yes: a missing observation holds the step like a failed check, and says what is
 * missing and from whom ("no clock reported by ums-3"). Each precondition names the
 * observations it reads (`reads`), so its doc comment, the README and status agree.
 */

/** An observation a rule needed and did not get. */
export interface Missing {
  /** The member (or agent) that should have reported it. */
  readonly member: string;
  /** What is missing, as people say it: `clock`, `version`, `database backup time`. */
  readonly observation: string;
}

export type Answer =
  | { readonly status: 'satisfied' }
  | { readonly status: 'unsatisfied'; readonly reason: string; readonly message: string }
  | {
      readonly status: 'unknown';
      readonly reason: string;
      readonly message: string;
      readonly missing: readonly Missing[];
    };

export interface Precondition<C> {
  /** Stable name, as reported in status (`clock-skew`, `wrs-restarted`). */
  readonly name: string;
  /** The observations it reads, for people: `facts.clock of every server`. */
  readonly reads: readonly string[];
  check(ctx: C): Answer;
}

export const SATISFIED: Answer = Object.freeze({ status: 'satisfied' });

export function unsatisfied(reason: string, message: string): Answer {
  return { status: 'unsatisfied', reason, message };
}

/**
 * Unknown because these observations are missing. The message lists them, grouped by
 * observation: `no clock reported by ums-2, ums-3`.
 */
export function unknown(reason: string, missing: readonly Missing[], context?: string): Answer {
  const text = describeMissing(missing);
  return { status: 'unknown', reason, message: context ? `${context}: ${text}` : text, missing };
}

export function describeMissing(missing: readonly Missing[]): string {
  const byObservation = new Map<string, string[]>();
  for (const m of missing) {
    const list = byObservation.get(m.observation);
    if (list) list.push(m.member);
    else byObservation.set(m.observation, [m.member]);
  }
  return [...byObservation].map(([what, who]) => `no ${what} reported by ${who.join(', ')}`).join('; ');
}

/**
 * All must hold. Fail closed: a check that is not satisfied outranks one that is unknown
 * (it is the more definite answer), and either outranks satisfied; the first of the most
 * severe kind is returned.
 */
export function allOf(answers: Iterable<Answer>): Answer {
  let firstUnknown: Answer | undefined;
  for (const a of answers) {
    if (a.status === 'unsatisfied') return a;
    if (a.status === 'unknown') firstUnknown ??= a;
  }
  return firstUnknown ?? SATISFIED;
}

export function isSatisfied(a: Answer): a is { readonly status: 'satisfied' } {
  return a.status === 'satisfied';
}

/** Evaluates named preconditions in order and keeps every answer, for status details. */
export function evaluate<C>(preconditions: readonly Precondition<C>[], ctx: C): { name: string; answer: Answer }[] {
  return preconditions.map((p) => ({ name: p.name, answer: p.check(ctx) }));
}
