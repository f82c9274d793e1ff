// Pass 1 of the fused MemVP FFN: one GEMM over u [L,d] for the concatenated columns [W1 | W3 | K^T] with
// the epilogue hidden[:, j<D] = act(u W1_j + b1_j) (* u W3_j when GATED) and hidden[:, Dh+i] =
// s * mask_i * act(u . K_i) (optionally also the unmasked, unscaled act(u . K_i) to `scores`).
// hidden is [L, Dh + n4]: Dh is D, or D rounded up to W2's quantization block when that is partial (the
// columns D..Dh are zeros, so pass 2 reads whole blocks), n4 = n rounded up to 4; padding columns are zeros.
// Each invocation owns TM (4, or 1 for decoding) rows x 4 columns in registers (no shared memory:
// barriers are slow on software adapters), or, decoding a quantized wUp (TN = 2), 1 row x 2 gate tiles.
// Column tiles [0, Dh/4) are the gate, the rest the memory entries.
// W1 and W3 come as one weight wUp [d, 2D] = [W1 | W3] (GATED; [d, D] = W1 otherwise): f32 row-major (WFMT 0,
// read as vec4<u32> and bitcast) or MatMulNBits blocks (WFMT 4/8) of its 2D (or D) columns. b1 and the mask
// share one buffer `epi` = [b1 (D values, with HAS_B1) | mask (n values, with HAS_MASK)]: 8 storage buffers.
//!include activations
//!include quant
//!include memvp_qtile

override WFMT: u32 = 0u;
override HAS_ZP: bool = false;
override QTAIL: bool = false;
override GATED: bool = true;
override ACT: u32 = 1u;
override HAS_B1: bool = false;
override HAS_MASK: bool = false;
override HAS_SCORES: bool = false;
override TM: u32 = 4u;
override TN: u32 = 1u;
override WG_X: u32 = 16u;
override WG_Y: u32 = 4u;

struct Params {
  L: u32,
  d: u32,
  D: u32,
  n: u32,
  hs4: u32,       // hidden row stride in vec4s: (Dh + n4) / 4
  gateTiles: u32, // Dh / 4
  memTiles: u32,  // n4 / 4
  nBlocks: u32,   // quantized: blocks per column (ceil(d / blockSize))
  blockSize: u32,
  maskAt: u32,    // where the mask starts in epi
  s: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> u: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> ws: array<f32>;
@group(0) @binding(4) var<storage, read> wz: array<u32>;
@group(0) @binding(5) var<storage, read> kt: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> epi: array<f32>;
@group(0) @binding(7) var<storage, read_write> scores: array<f32>;
@group(0) @binding(8) var<storage, read_write> hidden: array<vec4<f32>>;

fn qa(i: u32) -> vec4<f32> { return u[i]; }
fn qw(i: u32) -> vec4<u32> { return w[i]; }
fn qscale(i: u32) -> f32 { return ws[i]; }
fn qzp(i: u32) -> u32 { return wz[i]; }

fn act4(v: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(activate(v.x, ACT), activate(v.y, ACT), activate(v.z, ACT), activate(v.w, ACT));
}

// acc + x.x * r0 + x.y * r1 + x.z * r2 + x.w * r3: one row of u against 4 rows of a row-major f32 weight.
fn axpy4(acc: vec4<f32>, x: vec4<f32>, r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32>) -> vec4<f32> {
  return acc + x.x * r0 + x.y * r1 + x.z * r2 + x.w * r3;
}

// u rows (vec4 offsets) x f32 wUp columns [4 jt, 4 jt + 4).
fn tile_f32(rows: vec4<u32>, jt: u32) -> QTile {
  var t = QTile(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  let N4 = select(1u, 2u, GATED) * params.D / 4u;
  let d4 = params.d / 4u;
  for (var k = 0u; k < d4; k++) {
    let wb = 4u * k * N4 + jt;
    let r0 = bitcast<vec4<f32>>(w[wb]);
    let r1 = bitcast<vec4<f32>>(w[wb + N4]);
    let r2 = bitcast<vec4<f32>>(w[wb + 2u * N4]);
    let r3 = bitcast<vec4<f32>>(w[wb + 3u * N4]);
    t.r0 = axpy4(t.r0, u[rows.x + k], r0, r1, r2, r3);
    if (TM == 4u) {
      t.r1 = axpy4(t.r1, u[rows.y + k], r0, r1, r2, r3);
      t.r2 = axpy4(t.r2, u[rows.z + k], r0, r1, r2, r3);
      t.r3 = axpy4(t.r3, u[rows.w + k], r0, r1, r2, r3);
    }
  }
  return t;
}

// Column tile jt of wUp (W1's tiles, then W3's from D / 4).
fn tile(rows: vec4<u32>, jt: u32) -> QTile {
  if (WFMT == 0u) { return tile_f32(rows, jt); }
  return qtile(rows, vec4<u32>(4u * jt) + vec4<u32>(0u, 1u, 2u, 3u), params.nBlocks, params.blockSize, params.d / 4u);
}

fn gate_value(a: vec4<f32>, g: vec4<f32>, bias: vec4<f32>) -> vec4<f32> {
  var v = a;
  if (HAS_B1) { v += bias; }
  if (GATED) { return act4(v) * g; }
  return act4(v);
}

// hidden[row, gate tile jt] from the tile's W1 (a) and W3 (g) sums; tiles past D / 4 are the zero padding up to
// W2's block.
fn gate_row(row: u32, jt: u32, a: vec4<f32>, g: vec4<f32>) {
  let real = jt < params.D / 4u;
  var bias = vec4<f32>(0.0);
  if (HAS_B1 && real) { bias = vec4<f32>(epi[4u * jt], epi[4u * jt + 1u], epi[4u * jt + 2u], epi[4u * jt + 3u]); }
  hidden[row * params.hs4 + jt] = select(0.0, 1.0, real) * gate_value(a, g, bias);
}

fn gate(rows: vec4<u32>, row0: u32, jt: u32) {
  var a = QTile();
  var g = a;
  if (jt < params.D / 4u) {
    a = tile(rows, jt);
    if (GATED) { g = tile(rows, jt + params.D / 4u); }
  }
  let L = params.L;
  gate_row(row0, jt, a.r0, g.r0);
  if (TM == 1u) { return; }
  if (row0 + 1u < L) { gate_row(row0 + 1u, jt, a.r1, g.r1); }
  if (row0 + 2u < L) { gate_row(row0 + 2u, jt, a.r2, g.r2); }
  if (row0 + 3u < L) { gate_row(row0 + 3u, jt, a.r3, g.r3); }
}

// Decoding a quantized wUp (TN = 2, L = 1): gate tiles jt and jt + ceil(gateTiles / 2), W1's and W3's columns of
// both (16 columns, or 8 without W3), in one pass over u's row (`row`: its vec4 offset).
fn gate_pair(row: u32, jt: u32) {
  let jt2 = jt + (params.gateTiles + 1u) / 2u;
  let last = params.D / 4u - 1u;
  let c1 = vec4<u32>(4u * min(jt, last)) + vec4<u32>(0u, 1u, 2u, 3u);
  let c2 = vec4<u32>(4u * min(jt2, last)) + vec4<u32>(0u, 1u, 2u, 3u);
  let w3 = vec4<u32>(params.D);
  var t = QTile();
  if (GATED) {
    t = qtile1(row, QCols(c1, c1 + w3, c2, c2 + w3), 4u, params.nBlocks, params.blockSize, params.d / 4u);
  } else {
    let t2 = qtile1(row, QCols(c1, c2, c1, c2), 2u, params.nBlocks, params.blockSize, params.d / 4u);
    t = QTile(t2.r0, vec4<f32>(0.0), t2.r1, vec4<f32>(0.0));
  }
  gate_row(0u, jt, t.r0, t.r1);
  if (jt2 < params.gateTiles) { gate_row(0u, jt2, t.r2, t.r3); }
}

fn mem_row(row: u32, e0: u32, m: vec4<f32>, keep: vec4<f32>) {
  let p = act4(m);
  if (HAS_SCORES) {
    let n = params.n;
    let o = row * n + e0;
    scores[o] = p.x;
    if (e0 + 1u < n) { scores[o + 1u] = p.y; }
    if (e0 + 2u < n) { scores[o + 2u] = p.z; }
    if (e0 + 3u < n) { scores[o + 3u] = p.w; }
  }
  hidden[row * params.hs4 + params.gateTiles + e0 / 4u] = params.s * keep * p;
}

// u rows x memory entries [4 mt, 4 mt + 4): kT [d, n4] is row-major like wUp, so this is W1's tile loop.
fn memory(rows: vec4<u32>, row0: u32, mt: u32) {
  let n = params.n;
  let M4 = params.memTiles;
  let e0 = 4u * mt;
  let ids = vec4<u32>(e0) + vec4<u32>(0u, 1u, 2u, 3u);
  var t = QTile(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  for (var k = 0u; k < params.d / 4u; k++) {
    let kb = 4u * k * M4 + mt;
    let r0 = kt[kb];
    let r1 = kt[kb + M4];
    let r2 = kt[kb + 2u * M4];
    let r3 = kt[kb + 3u * M4];
    t.r0 = axpy4(t.r0, u[rows.x + k], r0, r1, r2, r3);
    if (TM == 4u) {
      t.r1 = axpy4(t.r1, u[rows.y + k], r0, r1, r2, r3);
      t.r2 = axpy4(t.r2, u[rows.z + k], r0, r1, r2, r3);
      t.r3 = axpy4(t.r3, u[rows.w + k], r0, r1, r2, r3);
    }
  }
  // Entries past n are padding: keep = 0 makes their hidden columns exactly zero.
  var keep = select(vec4<f32>(0.0), vec4<f32>(1.0), ids < vec4<u32>(n));
  if (HAS_MASK) {
    let mi = min(ids, vec4<u32>(n - 1u));
    let m0 = params.maskAt;
    keep *= vec4<f32>(epi[m0 + mi.x], epi[m0 + mi.y], epi[m0 + mi.z], epi[m0 + mi.w]);
  }
  let L = params.L;
  mem_row(row0, e0, t.r0, keep);
  if (TM == 1u) { return; }
  if (row0 + 1u < L) { mem_row(row0 + 1u, e0, t.r1, keep); }
  if (row0 + 2u < L) { mem_row(row0 + 2u, e0, t.r2, keep); }
  if (row0 + 3u < L) { mem_row(row0 + 3u, e0, t.r3, keep); }
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let tileId = gid.x;
  let row0 = TM * gid.y;
  // Invocations [0, gateInv) own TN gate tiles each, the next memTiles one memory tile each.
  let gateInv = (params.gateTiles + TN - 1u) / TN;
  if (row0 >= params.L || tileId >= gateInv + params.memTiles) { return; }
  let rows = min(vec4<u32>(row0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.L - 1u)) * (params.d / 4u);
  if (tileId >= gateInv) {
    memory(rows, row0, tileId - gateInv);
  } else if (TN == 2u) {
    gate_pair(rows.x, tileId);
  } else {
    gate(rows, row0, tileId);
  }
}
