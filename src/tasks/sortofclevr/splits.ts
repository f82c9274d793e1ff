/** Dataset splits: disjoint integer seed ranges. Scene seed of image i of split s = SPLITS[s].seedBase + i. */
export const SPLITS = {
  train: { seedBase: 1_000_000, images: 20_000 },
  val: { seedBase: 2_000_000, images: 1_000 },
  test: { seedBase: 3_000_000, images: 200 },
} as const;
export type SplitName = keyof typeof SPLITS;

/** Smoke-mode sizes (same seed bases, fewer images). */
export const SMOKE_SPLITS = {
  train: { seedBase: 1_000_000, images: 256 },
  val: { seedBase: 2_000_000, images: 32 },
  test: { seedBase: 3_000_000, images: 32 },
} as const;

export function seedFor(split: SplitName, index: number): number {
  return SPLITS[split].seedBase + index;
}
