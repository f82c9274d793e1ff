// Bindings and helpers shared by the MatMulNBits kernels (matmul_nbits, gemv_nbits): A f32 [rows,K] times
// W [K,N] held in onnxruntime's MatMulNBits layout (see lib/quant.wgsl and src/kernels/quant.ts).
// Needs lib/quant. BITS and BLOCK are the quantization; HAS_ZP says whether zero points are bound.
// K_TAIL: K is not a multiple of BLOCK, so the last block is partial (its packed values past K are padding):
// A reads past K then give zeros, which cancels the padding whatever it holds.
override BITS: u32 = 4u;
override BLOCK: u32 = 32u;
override HAS_ZP: bool = false;
override K_TAIL: bool = false;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  nBlocks: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
// K is a multiple of 4, so rows of A start on vec4 boundaries.
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> packed: array<u32>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read> zero_points: array<u32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read> residual: array<f32>;
@group(0) @binding(7) var<storage, read_write> c: array<f32>;

// u32 words of one block of one column.
fn words_per_block() -> u32 {
  return BLOCK * BITS / 32u;
}

// Byte offset of column `n`'s zero points in the zero-point buffer.
fn zp_col_byte(n: u32) -> u32 {
  return n * ((params.nBlocks * BITS + 7u) / 8u);
}

// Zero point of block `blk` of the column whose zero points start at byte `colByte` (2^(BITS-1) without
// zero points). Shifts, not divisions: this runs once per block and column.
fn zero_point_at(colByte: u32, blk: u32) -> f32 {
  if (!HAS_ZP) { return f32(1u << (BITS - 1u)); }
  let byte = colByte + select(blk, blk >> 1u, BITS == 4u);
  return zero_point_q(zero_points[byte >> 2u], byte & 3u, blk & 1u, BITS);
}

// Zero point of block `blk` of column `n`.
fn zero_point(n: u32, blk: u32) -> f32 {
  return zero_point_at(zp_col_byte(n), blk);
}

// A[p .. p+3] for p a multiple of 4.
fn load4(p: u32) -> vec4<f32> {
  return a[p / 4u];
}

// x, or zeros when it was loaded from p >= end (past its row's K values: the partial last block, with K_TAIL).
fn tail_mask(x: vec4<f32>, p: u32, end: u32) -> vec4<f32> {
  return select(x, vec4<f32>(), p >= end);
}

// C[row, col] = epilogue(acc), skipping columns past N.
fn store_nbits(row: u32, col: u32, acc: f32) {
  if (col >= params.N) { return; }
  let o = row * params.N + col;
  var bv = 0.0;
  var rv = 0.0;
  if (HAS_BIAS) { bv = bias[col]; }
  if (HAS_RESIDUAL) { rv = residual[o]; }
  c[o] = epilogue(acc, params.alpha, bv, rv);
}
