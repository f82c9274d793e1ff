// The activation functions by name, their codes in shaders/lib/activations.wgsl, and plain-TS references.
export type Activation = 'none' | 'silu' | 'gelu_erf' | 'gelu_tanh' | 'quick_gelu';

export const ACT_CODE: Record<Activation, number> = { none: 0, silu: 1, gelu_erf: 2, gelu_tanh: 3, quick_gelu: 4 };

/** erf to near double precision: Maclaurin series near 0, continued fraction for erfc in the tails. */
export function erf(x: number): number {
  const a = Math.abs(x);
  let r: number;
  if (a < 2.5) {
    // Maclaurin series: converges fast for |x| < 2.5.
    let term = a;
    let sum = a;
    for (let n = 1; n < 60; n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // Continued fraction for erfc.
    let f = 0;
    for (let n = 60; n >= 1; n--) f = (n / 2) / (a + f);
    r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  }
  return x < 0 ? -r : r;
}

export function activationRef(x: number, act: Activation): number {
  switch (act) {
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'gelu_erf':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'gelu_tanh':
      return 0.5 * x * (1 + Math.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    case 'quick_gelu':
      return x / (1 + Math.exp(-1.702 * x));
    case 'none':
      return x;
  }
}
