// Ratios of measurements timed in interleaved pairs, their 95% intervals, and verdicts against targets.
// A ratio is the median of the per-pair ratios a_i / b_i (pair i: round i of both, run back to back, so load that
// drifts between rounds cancels). Its interval is the distribution-free one for a median: the order statistics
// r_(k) and r_(n+1-k) of the n per-pair ratios (equivalently of their logs), with k the largest for which
// 1 - 2 P(Binomial(n, 1/2) < k) >= 95% (the sign-test interval). It assumes only that the pairs are independent,
// not that the noise is normal: the shared machine's load spikes give heavy tails, which would stretch a t interval
// and pull a mean. It needs at least 6 pairs (with 5, even [min, max] covers only 93.75%).

export type Interval = [number, number];

export interface PairedRatio {
  ratio: number;
  /** 95% interval of the median per-pair ratio; null with fewer than MIN_PAIRS pairs. */
  ci: Interval | null;
  pairs: number;
}

export const CONFIDENCE = 0.95;
export const MIN_PAIRS = 6;

/** P(Binomial(n, 1/2) <= j) for j = 0..n. */
function binomialHalfCdf(n: number): number[] {
  const out: number[] = [];
  let term = 0.5 ** n;
  let sum = 0;
  for (let j = 0; j <= n; j++) {
    sum += term;
    out.push(sum);
    term = (term * (n - j)) / (j + 1);
  }
  return out;
}

/** The 1-based rank k of the interval's lower end for n pairs (the upper is n + 1 - k), 0 when none reaches 95%. */
export function orderStatisticRank(n: number): number {
  const cdf = binomialHalfCdf(n);
  let k = 0;
  while (k + 1 <= n / 2 && 2 * (cdf[k] ?? 1) <= 1 - CONFIDENCE) k++;
  return k;
}

function median(sorted: readonly number[]): number {
  const n = sorted.length;
  return n % 2 ? sorted[n >> 1]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** Median of a_i / b_i over the pairs both lists have, with its 95% interval; null when there is no pair. */
export function pairedRatio(a: readonly number[] | undefined, b: readonly number[] | undefined): PairedRatio | null {
  const n = Math.min(a?.length ?? 0, b?.length ?? 0);
  if (!n) return null;
  const r = Array.from({ length: n }, (_, i) => a![i]! / b![i]!).sort((x, y) => x - y);
  const k = orderStatisticRank(n);
  return { ratio: median(r), ci: k ? [r[k - 1]!, r[n - k]!] : null, pairs: n };
}

export interface Target {
  op: '>=' | '<=';
  value: number;
}

const meets = (x: number, t: Target) => (t.op === '>=' ? x >= t.value : x <= t.value);

/**
 * 'met' / 'not met' when the whole interval lies on one side of the target; 'undecided' when it crosses it (the
 * run cannot tell); for an exact figure (no interval) the value alone decides.
 */
export function verdict(value: number | null, ci: Interval | null, t: Target): 'met' | 'not met' | 'undecided' | 'not measured' {
  if (value === null) return 'not measured';
  const [lo, hi] = ci ?? [value, value];
  if (meets(lo, t) && meets(hi, t)) return 'met';
  if (!meets(lo, t) && !meets(hi, t)) return 'not met';
  return 'undecided';
}

export const formatCi = (ci: Interval | null | undefined, digits = 3): string =>
  ci ? `[${ci[0].toPrecision(digits)}, ${ci[1].toPrecision(digits)}]` : '-';

/** A verdict as the reports print it: an interval that crosses its target is called out. */
export const verdictText = (v: ReturnType<typeof verdict>): string => (v === 'undecided' ? 'UNDECIDED: the 95% interval crosses the target' : v);

/** One summary line: value, interval, target and what the interval says about it. */
export function verdictLine(name: string, value: number | null, ci: Interval | null, t: Target | undefined, digits = 4): string {
  const v = `${name.padEnd(28)} ${value === null ? 'null' : value.toPrecision(digits)} ${formatCi(ci, digits)}`;
  return t ? `${v}  target ${t.op} ${t.value}: ${verdictText(verdict(value, ci, t))}` : v;
}
