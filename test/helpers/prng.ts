import { seededRandom } from '../../agent/reference/seeded-random.ts';

/**
 * mulberry32 (the agent's seeded PRNG) for property tests and generated benchmark data, so a
 * failing case is replayed from its seed. (Product code never uses randomness.)
 */
export const prng: (seed: number) => () => number = seededRandom;
