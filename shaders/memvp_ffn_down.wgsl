// Pass 2 of the fused MemVP FFN: one GEMM over hidden [L, Dh + n4] for the concatenated rows [W2 ; V]:
// out = hidden[:, :Dh] W2 + hidden[:, Dh:] V (+ b2) (+ residual). hidden's padding columns are zero, so the
// last group of V rows is read clamped and contributes nothing, and a quantized W2 whose last block is
// partial (D < Dh) is read in whole blocks. Each invocation owns TM (4, or 1 for decoding) rows x 4 columns;
// decoding a quantized W2 (TN = 2), 1 row x 2 column tiles, jt and jt + ceil(d / 8), which share the row's loads
// and per-word work (qtile1 with 2 groups), as gemv_nbits shares them over 16 columns.
// W2 is f32 [D, d] row-major (WFMT 0, read as vec4<u32> and bitcast; Dh = D) or MatMulNBits blocks (WFMT 4/8).
//!include quant
//!include memvp_qtile

override WFMT: u32 = 0u;
override HAS_ZP: bool = false;
// hidden is zero-padded to whole blocks of W2: nothing past K to mask.
const QTAIL = false;
override HAS_B2: bool = false;
override HAS_RESIDUAL: bool = false;
override TM: u32 = 4u;
override TN: u32 = 1u;
override WG_X: u32 = 16u;
override WG_Y: u32 = 4u;

struct Params {
  L: u32,
  d: u32,
  n: u32,
  hs4: u32,      // hidden row stride in vec4s
  Dh4: u32,      // Dh / 4: hidden's gate columns in vec4s
  memTiles: u32, // n4 / 4
  nBlocks: u32,  // quantized: blocks per column (Dh / blockSize)
  blockSize: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> hidden: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w2: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> w2s: array<f32>;
@group(0) @binding(4) var<storage, read> w2z: array<u32>;
@group(0) @binding(5) var<storage, read> memv: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> b2: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> residual: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> out: array<vec4<f32>>;

fn qa(i: u32) -> vec4<f32> { return hidden[i]; }
fn qw(i: u32) -> vec4<u32> { return w2[i]; }
fn qscale(i: u32) -> f32 { return w2s[i]; }
fn qzp(i: u32) -> u32 { return w2z[i]; }

fn axpy4(acc: vec4<f32>, x: vec4<f32>, r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32>) -> vec4<f32> {
  return acc + x.x * r0 + x.y * r1 + x.z * r2 + x.w * r3;
}

fn cols(jt: u32) -> vec4<u32> { return vec4<u32>(4u * jt) + vec4<u32>(0u, 1u, 2u, 3u); }

// One row of hidden (`row`: its vec4 offset), its memory part times V, for the column tiles jt (into a) and jt2 (into
// b): V's rows clamped to the last entry (hidden is zero past n).
fn memory_rows(row: u32, jt: u32, jt2: u32, a: ptr<function, vec4<f32>>, b: ptr<function, vec4<f32>>) {
  let d4 = params.d / 4u;
  let last = params.n - 1u;
  for (var m = 0u; m < params.memTiles; m++) {
    let vr = min(vec4<u32>(4u * m) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last)) * d4;
    let x = hidden[row + params.Dh4 + m];
    *a = axpy4(*a, x, memv[vr.x + jt], memv[vr.y + jt], memv[vr.z + jt], memv[vr.w + jt]);
    if (TN == 2u) { *b = axpy4(*b, x, memv[vr.x + jt2], memv[vr.y + jt2], memv[vr.z + jt2], memv[vr.w + jt2]); }
  }
}

fn store(row: u32, jt: u32, v: vec4<f32>) {
  let o = row * (params.d / 4u) + jt;
  var y = v;
  if (HAS_B2) { y += b2[jt]; }
  if (HAS_RESIDUAL) { y += residual[o]; }
  out[o] = y;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let jt = gid.x;
  let row0 = TM * gid.y;
  let d4 = params.d / 4u;
  let L = params.L;
  if (row0 >= L || jt >= d4) { return; }
  let rows = min(vec4<u32>(row0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(L - 1u)) * params.hs4;
  let D4 = params.Dh4;
  if (TN == 2u) {
    let half = (d4 + 1u) / 2u;
    let jt2 = min(jt + half, d4 - 1u);
    let t2 = qtile1(rows.x, QCols(cols(jt), cols(jt2), vec4<u32>(), vec4<u32>()), 2u, params.nBlocks, params.blockSize, D4);
    var a = t2.r0;
    var b = t2.r1;
    memory_rows(rows.x, jt, jt2, &a, &b);
    store(row0, jt, a);
    if (jt + half < d4) { store(row0, jt + half, b); }
    return;
  }
  var t = QTile(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  if (WFMT == 0u) {
    for (var k = 0u; k < D4; k++) {
      let wb = 4u * k * d4 + jt;
      let r0 = bitcast<vec4<f32>>(w2[wb]);
      let r1 = bitcast<vec4<f32>>(w2[wb + d4]);
      let r2 = bitcast<vec4<f32>>(w2[wb + 2u * d4]);
      let r3 = bitcast<vec4<f32>>(w2[wb + 3u * d4]);
      t.r0 = axpy4(t.r0, hidden[rows.x + k], r0, r1, r2, r3);
      if (TM == 4u) {
        t.r1 = axpy4(t.r1, hidden[rows.y + k], r0, r1, r2, r3);
        t.r2 = axpy4(t.r2, hidden[rows.z + k], r0, r1, r2, r3);
        t.r3 = axpy4(t.r3, hidden[rows.w + k], r0, r1, r2, r3);
      }
    }
  } else {
    t = qtile(rows, cols(jt), params.nBlocks, params.blockSize, D4);
  }
  let last = params.n - 1u;
  for (var m = 0u; m < params.memTiles; m++) {
    let vr = min(vec4<u32>(4u * m) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last)) * d4 + vec4<u32>(jt);
    let r0 = memv[vr.x];
    let r1 = memv[vr.y];
    let r2 = memv[vr.z];
    let r3 = memv[vr.w];
    t.r0 = axpy4(t.r0, hidden[rows.x + D4 + m], r0, r1, r2, r3);
    if (TM == 4u) {
      t.r1 = axpy4(t.r1, hidden[rows.y + D4 + m], r0, r1, r2, r3);
      t.r2 = axpy4(t.r2, hidden[rows.z + D4 + m], r0, r1, r2, r3);
      t.r3 = axpy4(t.r3, hidden[rows.w + D4 + m], r0, r1, r2, r3);
    }
  }
  store(row0, jt, t.r0);
  if (TM == 1u) { return; }
  if (row0 + 1u < L) { store(row0 + 1u, jt, t.r1); }
  if (row0 + 2u < L) { store(row0 + 2u, jt, t.r2); }
  if (row0 + 3u < L) { store(row0 + 3u, jt, t.r3); }
}
