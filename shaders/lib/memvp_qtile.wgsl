// Register tiles of A x W for a block-quantized W in onnxruntime's MatMulNBits layout (needs lib/quant): 4 rows x
// 4 columns for prefill (qtile), 1 row x up to 16 columns for decoding (qtile1). Shared by the two MemVP FFN passes.
// Per block and column, sum_k a_k (q_k - zp) * scale is computed as scale * (sum_k a_k q_k - zp * sum_k a_k), so
// the zero point costs nothing per value. The including kernel declares `override WFMT: u32` (4 or 8 bits here),
// `override HAS_ZP: bool`, `override QTAIL: bool` (K is not a multiple of the block: A's vec4s from k4End on read as zeros, cancelling the last block's padding) and accessors:
//   qa(i) -> vec4<f32>          A's vec4 number i (rows are passed as vec4 offsets);
//   qw(i) -> vec4<u32>          16 bytes number i of the packed blocks;
//   qscale(i) -> f32            scale number i (column * nBlocks + block);
//   qzp(i) -> u32               word number i of the packed zero points.
// Loads go 16 bytes at a time: 32 4-bit or 16 8-bit values, so a block must hold a multiple of 16 bytes.

// WFMT also means f32 (0) in the including kernels; QBITS keeps the constant expressions below defined then.
override QBITS: u32 = max(WFMT, 4u);

struct QTile { r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32> }

// A's vec4 k4 of the row starting at vec4 `row`.
fn qload(row: u32, k4: u32, k4End: u32) -> vec4<f32> {
  return select(qa(row + k4), vec4<f32>(), QTAIL && k4 >= k4End);
}

// Decoding: one row times `groups` (1, 2 or 4) groups of 4 columns (cols.a, .b, .c, .d), the way
// gemv_nbits does it: the row's A values of each word are loaded and scaled once for all the groups' columns;
// per word each column's values are unpacked in place and multiplied into 4 lanes (q_word_dot); the lanes are
// summed, and scale and zero point applied, once per block. Returns group g's 4 column sums in r<g>. Sharing the
// row over 16 columns (4 groups) is what makes 4 bits beat f32 on a compute-bound adapter.
struct QCols { a: vec4<u32>, b: vec4<u32>, c: vec4<u32>, d: vec4<u32> }
struct QLanes { a: QTile, b: QTile, c: QTile, d: QTile }

fn qtile1(row: u32, cols: QCols, groups: u32, nBlocks: u32, blockSize: u32, k4End: u32) -> QTile {
  var acc = QTile();
  let chunks = blockSize * QBITS / 128u;
  let wordK4 = 8u / QBITS;  // A vec4s per u32 word: 2 for 4 bits, 1 for 8 bits
  for (var b = 0u; b < nBlocks; b++) {
    var s = QLanes();
    var asum = vec4<f32>(0.0);
    var k4 = (b * blockSize) / 4u;
    for (var c = 0u; c < chunks; c++) {
      let x0 = qword_a(row, k4, k4End, &asum);
      let x1 = qword_a(row, k4 + wordK4, k4End, &asum);
      let x2 = qword_a(row, k4 + 2u * wordK4, k4End, &asum);
      let x3 = qword_a(row, k4 + 3u * wordK4, k4End, &asum);
      s.a = qgroup(s.a, cols.a, b, c, nBlocks, chunks, x0, x1, x2, x3);
      if (groups > 1u) { s.b = qgroup(s.b, cols.b, b, c, nBlocks, chunks, x0, x1, x2, x3); }
      if (groups > 2u) {
        s.c = qgroup(s.c, cols.c, b, c, nBlocks, chunks, x0, x1, x2, x3);
        s.d = qgroup(s.d, cols.d, b, c, nBlocks, chunks, x0, x1, x2, x3);
      }
      k4 += 4u * wordK4;
    }
    let sum = q_hsum(asum);
    acc.r0 += qfold(s.a, cols.a, b, nBlocks, sum);
    if (groups > 1u) { acc.r1 += qfold(s.b, cols.b, b, nBlocks, sum); }
    if (groups > 2u) {
      acc.r2 += qfold(s.c, cols.c, b, nBlocks, sum);
      acc.r3 += qfold(s.d, cols.d, b, nBlocks, sum);
    }
  }
  return acc;
}

// The row's A values of one word from vec4 k4 on (8 for 4 bits: [0] and [1]; 4 for 8 bits: [0]), ready for
// q_word_dot (4 bits: times Q4_PLACE); adds them to asum.
fn qword_a(row: u32, k4: u32, k4End: u32, asum: ptr<function, vec4<f32>>) -> mat2x4<f32> {
  let x0 = qload(row, k4, k4End);
  var x1 = vec4<f32>(0.0);
  if (QBITS == 4u) { x1 = qload(row, k4 + 1u, k4End); }
  *asum += x0 + x1;
  return mat2x4<f32>(select(x0, x0 * Q4_PLACE, QBITS == 4u), x1 * Q4_PLACE);
}

// t + chunk c of block b of the 4 columns `cols` (4 words each) against the chunk's A words x0..x3: t.rj holds
// column j's lanes.
fn qgroup(t: QTile, cols: vec4<u32>, b: u32, c: u32, nBlocks: u32, chunks: u32, x0: mat2x4<f32>, x1: mat2x4<f32>, x2: mat2x4<f32>, x3: mat2x4<f32>) -> QTile {
  let base = (cols * nBlocks + vec4<u32>(b)) * chunks + vec4<u32>(c);
  return QTile(qwords(t.r0, qw(base.x), x0, x1, x2, x3), qwords(t.r1, qw(base.y), x0, x1, x2, x3),
               qwords(t.r2, qw(base.z), x0, x1, x2, x3), qwords(t.r3, qw(base.w), x0, x1, x2, x3));
}

// lanes + one column's 4 words against their A values.
fn qwords(lanes: vec4<f32>, w: vec4<u32>, x0: mat2x4<f32>, x1: mat2x4<f32>, x2: mat2x4<f32>, x3: mat2x4<f32>) -> vec4<f32> {
  var r = q_word_dot(lanes, w.x, x0[0], x0[1], QBITS);
  r = q_word_dot(r, w.y, x1[0], x1[1], QBITS);
  r = q_word_dot(r, w.z, x2[0], x2[1], QBITS);
  return q_word_dot(r, w.w, x3[0], x3[1], QBITS);
}

// scale * (sum(q a) - zp * sum(a)) of block b for the 4 columns `cols`, from their lanes s and sum(a).
fn qfold(s: QTile, cols: vec4<u32>, b: u32, nBlocks: u32, asum: f32) -> vec4<f32> {
  let si = cols * nBlocks + vec4<u32>(b);
  let scale = vec4<f32>(qscale(si.x), qscale(si.y), qscale(si.z), qscale(si.w));
  let zp = vec4<f32>(qzero(cols.x, b, nBlocks), qzero(cols.y, b, nBlocks), qzero(cols.z, b, nBlocks), qzero(cols.w, b, nBlocks));
  return scale * (vec4<f32>(q_hsum(s.r0), q_hsum(s.r1), q_hsum(s.r2), q_hsum(s.r3)) - zp * asum);
}

// Prefill: 4 rows `rows` (vec4 offsets of row starts in A) times columns `cols`; nBlocks blocks of blockSize along
// K, A's rows holding k4End vec4s (read only with QTAIL). Returns one vec4 (over the 4 columns) per row. qtile1's
// per-word scheme with lanes per (row, column): each unpacked word serves the 4 rows, so the unpacking is paid once
// per 4 rows (4-bit FFN prefill at L = 64 in Chromium: 1.80x the f32 time, against 2.04x with 4 rows' dot products
// per word). Decoding goes through qtile1 (the kernels' TN = 2 path).
fn qtile(rows: vec4<u32>, cols: vec4<u32>, nBlocks: u32, blockSize: u32, k4End: u32) -> QTile {
  var acc = QTile();
  let chunks = blockSize * QBITS / 128u;       // 16-byte loads per block
  let wordK4 = 8u / QBITS;                     // A vec4s per u32 word
  for (var b = 0u; b < nBlocks; b++) {
    var s = QLanes();
    var sums = QTile();
    var k4 = (b * blockSize) / 4u;
    let base = (cols * nBlocks + vec4<u32>(b)) * chunks;
    for (var c = 0u; c < chunks; c++) {
      let w0 = qw(base.x + c);
      let w1 = qw(base.y + c);
      let w2 = qw(base.z + c);
      let w3 = qw(base.w + c);
      qrows(&s, &sums, rows, k4, k4End, vec4<u32>(w0.x, w1.x, w2.x, w3.x));
      qrows(&s, &sums, rows, k4 + wordK4, k4End, vec4<u32>(w0.y, w1.y, w2.y, w3.y));
      qrows(&s, &sums, rows, k4 + 2u * wordK4, k4End, vec4<u32>(w0.z, w1.z, w2.z, w3.z));
      qrows(&s, &sums, rows, k4 + 3u * wordK4, k4End, vec4<u32>(w0.w, w1.w, w2.w, w3.w));
      k4 += 4u * wordK4;
    }
    acc.r0 += qfold(s.a, cols, b, nBlocks, q_hsum(sums.r0));
    acc.r1 += qfold(s.b, cols, b, nBlocks, q_hsum(sums.r1));
    acc.r2 += qfold(s.c, cols, b, nBlocks, q_hsum(sums.r2));
    acc.r3 += qfold(s.d, cols, b, nBlocks, q_hsum(sums.r3));
  }
  return acc;
}

// One word per column (w.j for column j) against the 4 rows' A values from vec4 k4 on: s.<row>.r<j> holds the
// (row, column) lanes, sums.r<row> the row's A values.
fn qrows(s: ptr<function, QLanes>, sums: ptr<function, QTile>, rows: vec4<u32>, k4: u32, k4End: u32, w: vec4<u32>) {
  var sa = (*sums).r0;
  var sb = (*sums).r1;
  var sc = (*sums).r2;
  var sd = (*sums).r3;
  let xa = qword_a(rows.x, k4, k4End, &sa);
  let xb = qword_a(rows.y, k4, k4End, &sb);
  let xc = qword_a(rows.z, k4, k4End, &sc);
  let xd = qword_a(rows.w, k4, k4End, &sd);
  *sums = QTile(sa, sb, sc, sd);
  (*s).a = qcols((*s).a, w, xa);
  (*s).b = qcols((*s).b, w, xb);
  (*s).c = qcols((*s).c, w, xc);
  (*s).d = qcols((*s).d, w, xd);
}

// t + one word per column (w.j for column j) against one row's A values x.
fn qcols(t: QTile, w: vec4<u32>, x: mat2x4<f32>) -> QTile {
  return QTile(q_word_dot(t.r0, w.x, x[0], x[1], QBITS), q_word_dot(t.r1, w.y, x[0], x[1], QBITS),
               q_word_dot(t.r2, w.z, x[0], x[1], QBITS), q_word_dot(t.r3, w.w, x[0], x[1], QBITS));
}

// Zero point of (col, block): MatMulNBits packs them per column, two blocks a byte for 4 bits; 2^(bits-1) without them.
fn qzero(col: u32, block: u32, nBlocks: u32) -> f32 {
  if (!HAS_ZP) { return f32(1u << (QBITS - 1u)); }
  var byte = col * nBlocks + block;
  if (WFMT == 4u) { byte = col * ((nBlocks + 1u) / 2u) + block / 2u; }
  return zero_point_q(qzp(byte / 4u), byte & 3u, block & 1u, QBITS);
}
