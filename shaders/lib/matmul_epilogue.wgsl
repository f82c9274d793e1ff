// The fused epilogue of the matmul kernels: y = act(alpha * acc + bias) + residual.
// Needs lib/activations. Bias and residual values are read by the kernel only when their flag is set.
override ACT: u32 = 0u;
override HAS_BIAS: bool = false;
override HAS_RESIDUAL: bool = false;

fn epilogue(acc: f32, alpha: f32, bias: f32, residual: f32) -> f32 {
  var v = alpha * acc;
  if (HAS_BIAS) { v += bias; }
  v = activate(v, ACT);
  if (HAS_RESIDUAL) { v += residual; }
  return v;
}
