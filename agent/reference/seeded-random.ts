/**
 * Deterministic randomness for the agent: the jitter of its back-off and the failures the
 * simulated driver injects. Seeded, so a test or a fleet simulation replays exactly; seeded
 * per agent id by default, so a fleet that lost its controller does not retry in lockstep.
 */

/** mulberry32: a small, fast PRNG with a 32-bit state; values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from a text (FNV-1a), e.g. an agent id. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
