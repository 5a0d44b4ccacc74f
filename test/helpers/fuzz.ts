// The fuzz tests' seeded generator (hostile-*.fuzz.test.ts): the same cases on every run for a
// seed, so a failure names its seed (FUZZ_SEED) and can be replayed.

/** The seed and case count a fuzz test runs with: FUZZ_SEED and FUZZ_CASES, else its defaults. */
export function fuzzSettings(defaultCases: number): { seed: number; cases: number } {
  return { seed: Number(process.env.FUZZ_SEED ?? 20261129), cases: Number(process.env.FUZZ_CASES ?? defaultCases) };
}

/** mulberry32: a small deterministic generator of numbers in [0, 1), with helpers on top. */
export function generator(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
  const chance = (p: number): boolean => next() < p;
  return { next, int, pick, chance };
}
