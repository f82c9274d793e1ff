// Typed-array helpers shared by every layer (no imports, so any module may use them).

export type Joinable<A> = { length: number; set(array: A, offset: number): void };

/** The arrays one after another in a new array from `make(total length)`; a single array is returned as is. */
export function concatArrays<A extends Joinable<A>>(arrays: readonly A[], make: (n: number) => A): A {
  if (arrays.length === 1) return arrays[0]!;
  const out = make(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}
