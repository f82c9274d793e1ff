// A 4-row x 4-column register tile of A x W for a block-quantized W in onnxruntime's MatMulNBits layout
// (needs lib/quant). Shared by the two MemVP FFN passes. Per block and column, sum_k a_k (q_k - zp) * scale
// is computed as scale * (sum_k a_k q_k - zp * sum_k a_k), so the zero point costs nothing per value.
// The including kernel declares `override WFMT: u32` (4 or 8 bits here), `override HAS_ZP: bool`,
// `override TM: u32` (rows per tile: 4, or 1 when only r0 is wanted), `override QTAIL: bool` (K is not a
// multiple of the block: A's vec4s from k4End on read as zeros, cancelling the last block's padding) and accessors:
//   qa(i) -> vec4<f32>          A's vec4 number i (rows are passed as vec4 offsets);
//   qw(i) -> vec4<u32>          16 bytes number i of the packed blocks;
//   qscale(i) -> f32            scale number i (column * nBlocks + block);
//   qzp(i) -> u32               word number i of the packed zero points.
// Loads go 16 bytes at a time: 32 4-bit or 16 8-bit values, so a block must hold a multiple of 16 bytes.

// WFMT also means f32 (0) in the including kernels; QBITS keeps the constant expressions below defined then.
override QBITS: u32 = max(WFMT, 4u);

struct QTile { r0: vec4<f32>, r1: vec4<f32>, r2: vec4<f32>, r3: vec4<f32> }

fn qdot4(a: vec4<f32>, q0: vec4<f32>, q1: vec4<f32>, q2: vec4<f32>, q3: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(dot(a, q0), dot(a, q1), dot(a, q2), dot(a, q3));
}

// A's vec4 k4 of the row starting at vec4 `row`.
fn qload(row: u32, k4: u32, k4End: u32) -> vec4<f32> {
  return select(qa(row + k4), vec4<f32>(), QTAIL && k4 >= k4End);
}

// One u32 word per column: 8 (4-bit) or 4 (8-bit) consecutive k starting at A's vec4 `k4` of each row.
fn qstep(t: ptr<function, QTile>, asum: ptr<function, vec4<f32>>, rows: vec4<u32>, k4: u32, k4End: u32, w: vec4<u32>) {
  let one = vec4<f32>(1.0);
  if (WFMT == 4u) {
    let c0 = unpack_q4(w.x);
    let c1 = unpack_q4(w.y);
    let c2 = unpack_q4(w.z);
    let c3 = unpack_q4(w.w);
    let a0 = qload(rows.x, k4, k4End);
    let b0 = qload(rows.x, k4 + 1u, k4End);
    (*t).r0 += qdot4(a0, c0[0], c1[0], c2[0], c3[0]) + qdot4(b0, c0[1], c1[1], c2[1], c3[1]);
    (*asum).x += dot(a0 + b0, one);
    if (TM == 4u) {
      let a1 = qload(rows.y, k4, k4End);
      let b1 = qload(rows.y, k4 + 1u, k4End);
      let a2 = qload(rows.z, k4, k4End);
      let b2 = qload(rows.z, k4 + 1u, k4End);
      let a3 = qload(rows.w, k4, k4End);
      let b3 = qload(rows.w, k4 + 1u, k4End);
      (*t).r1 += qdot4(a1, c0[0], c1[0], c2[0], c3[0]) + qdot4(b1, c0[1], c1[1], c2[1], c3[1]);
      (*t).r2 += qdot4(a2, c0[0], c1[0], c2[0], c3[0]) + qdot4(b2, c0[1], c1[1], c2[1], c3[1]);
      (*t).r3 += qdot4(a3, c0[0], c1[0], c2[0], c3[0]) + qdot4(b3, c0[1], c1[1], c2[1], c3[1]);
      (*asum) += vec4<f32>(0.0, dot(a1 + b1, one), dot(a2 + b2, one), dot(a3 + b3, one));
    }
  } else {
    let c0 = unpack_q8(w.x);
    let c1 = unpack_q8(w.y);
    let c2 = unpack_q8(w.z);
    let c3 = unpack_q8(w.w);
    let a0 = qload(rows.x, k4, k4End);
    (*t).r0 += qdot4(a0, c0, c1, c2, c3);
    (*asum).x += dot(a0, one);
    if (TM == 4u) {
      let a1 = qload(rows.y, k4, k4End);
      let a2 = qload(rows.z, k4, k4End);
      let a3 = qload(rows.w, k4, k4End);
      (*t).r1 += qdot4(a1, c0, c1, c2, c3);
      (*t).r2 += qdot4(a2, c0, c1, c2, c3);
      (*t).r3 += qdot4(a3, c0, c1, c2, c3);
      (*asum) += vec4<f32>(0.0, dot(a1, one), dot(a2, one), dot(a3, one));
    }
  }
}

// Decoding (TM = 1): one row times 4 columns `ca` (and 4 more, `cb`, when `both`: the LLaMA form's W1 and W3 tiles
// share the row's A loads) the way gemv_nbits does it. Per word each column's values are unpacked in place and
// multiplied into 4 lanes (q_word_dot); the lanes are summed, and scale and zero point applied, once per block.
// On SwiftShader this took the 4-bit decode FFN (d 1024, D 2816) from 1.65x to about 1.25x the f32 one; qstep's
// dot products pay off only when 4 rows share each unpacked word. Returns the columns' sums: [0] for ca, [1] for cb.
fn qtile1(row: u32, ca: vec4<u32>, cb: vec4<u32>, both: bool, nBlocks: u32, blockSize: u32, k4End: u32) -> mat2x4<f32> {
  var acc = mat2x4<f32>(vec4<f32>(0.0), vec4<f32>(0.0));
  let chunks = blockSize * QBITS / 128u;
  let wordK4 = 8u / QBITS;  // A vec4s per u32 word: 2 for 4 bits, 1 for 8 bits
  for (var b = 0u; b < nBlocks; b++) {
    var sa = QTile(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    var sb = sa;
    var asum = vec4<f32>(0.0);
    let baseA = (ca * nBlocks + vec4<u32>(b)) * chunks;
    let baseB = (cb * nBlocks + vec4<u32>(b)) * chunks;
    var k4 = (b * blockSize) / 4u;
    for (var c = 0u; c < chunks; c++) {
      let a0 = qw(baseA.x + c);
      let a1 = qw(baseA.y + c);
      let a2 = qw(baseA.z + c);
      let a3 = qw(baseA.w + c);
      var b0 = vec4<u32>(0u);
      var b1 = b0;
      var b2 = b0;
      var b3 = b0;
      if (both) {
        b0 = qw(baseB.x + c);
        b1 = qw(baseB.y + c);
        b2 = qw(baseB.z + c);
        b3 = qw(baseB.w + c);
      }
      qword1(&sa, &sb, &asum, both, row, k4, k4End, vec4<u32>(a0.x, a1.x, a2.x, a3.x), vec4<u32>(b0.x, b1.x, b2.x, b3.x));
      qword1(&sa, &sb, &asum, both, row, k4 + wordK4, k4End, vec4<u32>(a0.y, a1.y, a2.y, a3.y), vec4<u32>(b0.y, b1.y, b2.y, b3.y));
      qword1(&sa, &sb, &asum, both, row, k4 + 2u * wordK4, k4End, vec4<u32>(a0.z, a1.z, a2.z, a3.z), vec4<u32>(b0.z, b1.z, b2.z, b3.z));
      qword1(&sa, &sb, &asum, both, row, k4 + 3u * wordK4, k4End, vec4<u32>(a0.w, a1.w, a2.w, a3.w), vec4<u32>(b0.w, b1.w, b2.w, b3.w));
      k4 += 4u * wordK4;
    }
    let sum = q_hsum(asum);
    acc[0] += qfold(sa, ca, b, nBlocks, sum);
    if (both) { acc[1] += qfold(sb, cb, b, nBlocks, sum); }
  }
  return acc;
}

// One word per column (wa for ca, wb for cb) against the row's A values from vec4 k4 on: s.rj holds column j's lanes.
fn qword1(sa: ptr<function, QTile>, sb: ptr<function, QTile>, asum: ptr<function, vec4<f32>>, both: bool, row: u32, k4: u32, k4End: u32, wa: vec4<u32>, wb: vec4<u32>) {
  let x0 = qload(row, k4, k4End);
  var x1 = vec4<f32>(0.0);
  if (QBITS == 4u) { x1 = qload(row, k4 + 1u, k4End); }
  *asum += x0 + x1;
  let p0 = select(x0, x0 * Q4_PLACE, QBITS == 4u);
  let p1 = x1 * Q4_PLACE;
  (*sa).r0 = q_word_dot((*sa).r0, wa.x, p0, p1, QBITS);
  (*sa).r1 = q_word_dot((*sa).r1, wa.y, p0, p1, QBITS);
  (*sa).r2 = q_word_dot((*sa).r2, wa.z, p0, p1, QBITS);
  (*sa).r3 = q_word_dot((*sa).r3, wa.w, p0, p1, QBITS);
  if (both) {
    (*sb).r0 = q_word_dot((*sb).r0, wb.x, p0, p1, QBITS);
    (*sb).r1 = q_word_dot((*sb).r1, wb.y, p0, p1, QBITS);
    (*sb).r2 = q_word_dot((*sb).r2, wb.z, p0, p1, QBITS);
    (*sb).r3 = q_word_dot((*sb).r3, wb.w, p0, p1, QBITS);
  }
}

// scale * (sum(q a) - zp * sum(a)) of block b for the 4 columns `cols`, from their lanes s and sum(a).
fn qfold(s: QTile, cols: vec4<u32>, b: u32, nBlocks: u32, asum: f32) -> vec4<f32> {
  let si = cols * nBlocks + vec4<u32>(b);
  let scale = vec4<f32>(qscale(si.x), qscale(si.y), qscale(si.z), qscale(si.w));
  let zp = vec4<f32>(qzero(cols.x, b, nBlocks), qzero(cols.y, b, nBlocks), qzero(cols.z, b, nBlocks), qzero(cols.w, b, nBlocks));
  return scale * (vec4<f32>(q_hsum(s.r0), q_hsum(s.r1), q_hsum(s.r2), q_hsum(s.r3)) - zp * asum);
}

// Rows `rows` (vec4 offsets of row starts in A) times columns `cols`; nBlocks blocks of blockSize along K, A's
// rows holding k4End vec4s (read only with QTAIL). Returns one vec4 (over the 4 columns) per row.
fn qtile(rows: vec4<u32>, cols: vec4<u32>, nBlocks: u32, blockSize: u32, k4End: u32) -> QTile {
  var acc = QTile(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
  if (TM == 1u) {
    acc.r0 = qtile1(rows.x, cols, cols, false, nBlocks, blockSize, k4End)[0];
    return acc;
  }
  let chunks = blockSize * QBITS / 128u;       // 16-byte loads per block
  let chunkK4 = 32u / QBITS;                   // A vec4s per 16-byte load (8 for 4 bits, 4 for 8 bits)
  let wordK4 = chunkK4 / 4u;                  // A vec4s per u32 word
  for (var b = 0u; b < nBlocks; b++) {
    var part = QTile(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0));
    var asum = vec4<f32>(0.0);
    let base = (cols * nBlocks + vec4<u32>(b)) * chunks;
    for (var c = 0u; c < chunks; c++) {
      let w0 = qw(base.x + c);
      let w1 = qw(base.y + c);
      let w2 = qw(base.z + c);
      let w3 = qw(base.w + c);
      let k4 = (b * blockSize) / 4u + c * chunkK4;
      qstep(&part, &asum, rows, k4, k4End, vec4<u32>(w0.x, w1.x, w2.x, w3.x));
      qstep(&part, &asum, rows, k4 + wordK4, k4End, vec4<u32>(w0.y, w1.y, w2.y, w3.y));
      qstep(&part, &asum, rows, k4 + 2u * wordK4, k4End, vec4<u32>(w0.z, w1.z, w2.z, w3.z));
      qstep(&part, &asum, rows, k4 + 3u * wordK4, k4End, vec4<u32>(w0.w, w1.w, w2.w, w3.w));
    }
    let si = cols * nBlocks + vec4<u32>(b);
    let scale = vec4<f32>(qscale(si.x), qscale(si.y), qscale(si.z), qscale(si.w));
    let zp = vec4<f32>(qzero(cols.x, b, nBlocks), qzero(cols.y, b, nBlocks), qzero(cols.z, b, nBlocks), qzero(cols.w, b, nBlocks));
    acc.r0 += scale * (part.r0 - zp * asum.x);
    acc.r1 += scale * (part.r1 - zp * asum.y);
    acc.r2 += scale * (part.r2 - zp * asum.z);
    acc.r3 += scale * (part.r3 - zp * asum.w);
  }
  return acc;
}

// Zero point of (col, block): MatMulNBits packs them per column, two blocks a byte for 4 bits; 2^(bits-1) without them.
fn qzero(col: u32, block: u32, nBlocks: u32) -> f32 {
  if (!HAS_ZP) { return f32(1u << (QBITS - 1u)); }
  var byte = col * nBlocks + block;
  if (WFMT == 4u) { byte = col * ((nBlocks + 1u) / 2u) + block / 2u; }
  return zero_point_q(qzp(byte / 4u), byte & 3u, block & 1u, QBITS);
}
