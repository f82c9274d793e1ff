// Activation functions shared by the elementwise, matmul-epilogue and MemVP FFN kernels.
// ACT_* codes match src/kernels/activation.ts.
const ACT_NONE: u32 = 0u;
const ACT_SILU: u32 = 1u;
const ACT_GELU_ERF: u32 = 2u;
const ACT_GELU_TANH: u32 = 3u;
const ACT_QUICK_GELU: u32 = 4u;

fn sigmoid(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): WGSL has no erf builtin.
fn erf_approx(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return select(y, -y, x < 0.0);
}

fn activate(x: f32, act: u32) -> f32 {
  switch act {
    case 1u: { return x * sigmoid(x); }
    case 2u: { return 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
    case 3u: {
      // tanh(z) written through exp so large |z| cannot overflow to NaN.
      let z = 0.7978845608028654 * (x + 0.044715 * x * x * x);
      let e = exp(-2.0 * abs(z));
      let th = sign(z) * (1.0 - e) / (1.0 + e);
      return 0.5 * x * (1.0 + th);
    }
    case 4u: { return x * sigmoid(1.702 * x); }
    default: { return x; }
  }
}
