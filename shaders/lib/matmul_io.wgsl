// Uniforms and bindings of the f32 matmul kernels (matmul.wgsl, gemv.wgsl; wrappers src/kernels/matmul.ts, gemv.ts):
// A [M,K], B [K,N] (or [N,K]), bias [N] and residual [M,N] (dummies unless their flags are set), C [M,N];
// the strides step between batches (0 broadcasts).
struct Params {
  M: u32,
  N: u32,
  K: u32,
  strideA: u32,
  strideB: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<storage, read_write> c: array<f32>;
