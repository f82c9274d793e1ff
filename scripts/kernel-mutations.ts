// The mutations scripts/mutate-kernels.ts applies to the WGSL kernels, one at a time. Each names the kernel (the
// shader's base name; shader files are found by content, so a renamed or moved file is still found), the kind of
// bug it plants, an exact snippet of the shader and its replacement (valid WGSL that computes something else), and
// the test files meant to catch it. `expect: 'equivalent'` marks a mutation that cannot change any output (its why
// says so): it is run to confirm that, and a survivor there is no gap in the tests.

export type MutationKind = 'index' | 'bound' | 'operand' | 'bias' | 'epsilon' | 'constant' | 'sign' | 'dropped term';

export interface KernelMutation {
  kernel: string;
  kind: MutationKind;
  what: string;
  find: string;
  replace: string;
  tests: string[];
  expect?: 'equivalent';
  why?: string;
}

const MATMUL = ['test/matmul.test.ts'];
const GEMV = ['test/gemv.test.ts'];
const NBITS = ['test/matmul-nbits.test.ts'];
const FFN = ['test/memvp-ffn.test.ts'];
const ATTENTION = ['test/attention.test.ts'];
const NORMS = ['test/norms.test.ts'];

export const KERNEL_MUTATIONS: KernelMutation[] = [
  // ---------------------------------------------------------------------------------------------------- matmul
  { kernel: 'matmul', kind: 'index', what: 'row 0 of a half-tile takes row 1 of A for columns 4..7', find: '(*acc).r01 = fma(vec4<f32>(ak.x), b1, (*acc).r01);', replace: '(*acc).r01 = fma(vec4<f32>(ak.y), b1, (*acc).r01);', tests: MATMUL },
  { kernel: 'matmul', kind: 'bound', what: 'the k tail loop stops one short', find: 'for (var k = K & ~3u; k < K; k++) {\n    tile_step(', replace: 'for (var k = K & ~3u; k + 1u < K; k++) {\n    tile_step(', tests: MATMUL },
  { kernel: 'matmul', kind: 'index', what: 'the k tail reads rows r.x and r.y swapped', find: 'return vec4<f32>(a[r.x + k], a[r.y + k], a[r.z + k], a[r.w + k]);', replace: 'return vec4<f32>(a[r.y + k], a[r.x + k], a[r.z + k], a[r.w + k]);', tests: MATMUL },
  { kernel: 'matmul', kind: 'operand', what: 'k step with and without TRANS_B swapped', find: 'let kStep = select(N, 1u, TRANS_B);', replace: 'let kStep = select(1u, N, TRANS_B);', tests: MATMUL },
  { kernel: 'matmul', kind: 'bound', what: 'the store writes one column past N', find: 'if (col >= params.N) { return; }\n    let o = cBase', replace: 'if (col > params.N) { return; }\n    let o = cBase', tests: MATMUL },
  { kernel: 'matmul', kind: 'index', what: 'batch offset of C dropped', find: 'let cBase = gid.z * M * N;', replace: 'let cBase = 0u * M * N;', tests: MATMUL },
  { kernel: 'matmul_epilogue', kind: 'bias', what: 'the fused bias dropped', find: 'if (HAS_BIAS) { v += bias; }', replace: 'if (HAS_BIAS) { v += 0.0 * bias; }', tests: MATMUL },
  { kernel: 'matmul_epilogue', kind: 'operand', what: 'alpha dropped', find: 'var v = alpha * acc;', replace: 'var v = acc;', tests: MATMUL },
  { kernel: 'matmul_epilogue', kind: 'operand', what: 'residual added before the activation', find: 'v = activate(v, ACT);\n  if (HAS_RESIDUAL) { v += residual; }', replace: 'if (HAS_RESIDUAL) { v += residual; }\n  v = activate(v, ACT);', tests: MATMUL },

  // ------------------------------------------------------------------------------------------------------ gemv
  { kernel: 'gemv', kind: 'index', what: 'the 4th k of a step reads B row k + 2', find: 'acc = fma(vec4<f32>(x.w), load_b(kb + 3u * N, cols), acc);', replace: 'acc = fma(vec4<f32>(x.w), load_b(kb + 2u * N, cols), acc);', tests: GEMV },
  { kernel: 'gemv', kind: 'bound', what: 'the TRANS_B k tail stops one short', find: 'for (; k < K; k++) {', replace: 'for (; k + 1u < K; k++) {', tests: GEMV },
  { kernel: 'gemv', kind: 'index', what: 'TRANS_B: the 4th row of B^T reads its last two k swapped', find: 's3 = fma(x, vec4<f32>(b[q.w], b[q.w + 1u], b[q.w + 2u], b[q.w + 3u]), s3);', replace: 's3 = fma(x, vec4<f32>(b[q.w], b[q.w + 1u], b[q.w + 3u], b[q.w + 2u]), s3);', tests: GEMV },
  { kernel: 'gemv', kind: 'index', what: 'output row offset ignores the batch', find: 'let o = (gid.z * params.M + row) * N;', replace: 'let o = row * N;', tests: GEMV },
  { kernel: 'gemv', kind: 'bound', what: 'columns clamped to N - 2', find: 'let cols = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(N - 1u));\n  let ar', replace: 'let cols = min(vec4<u32>(col0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(max(N, 2u) - 2u));\n  let ar', tests: GEMV },

  // ------------------------------------------------------------------------------------------------ matmul_nbits
  { kernel: 'matmul_nbits', kind: 'operand', what: 'column 2 dequantised with column 1\'s scale', find: 'acc2 += row_dots(x, dequant(packed[w.z], sc.z, zp.z));', replace: 'acc2 += row_dots(x, dequant(packed[w.z], sc.y, zp.z));', tests: NBITS },
  { kernel: 'matmul_nbits', kind: 'bound', what: 'the K tail mask starts 4 values early', find: 'let ends = rows + vec4<u32>(params.K);', replace: 'let ends = rows + vec4<u32>(params.K - 4u);', tests: NBITS },
  { kernel: 'matmul_nbits', kind: 'index', what: 'the two nibble halves of a word swapped', find: 'return Deq((q[0] - zp) * scale, (q[1] - zp) * scale);', replace: 'return Deq((q[1] - zp) * scale, (q[0] - zp) * scale);', tests: NBITS },
  { kernel: 'matmul_nbits', kind: 'index', what: 'row 3 stores row 2\'s sums of column 3', find: 'store_nbits(row, col0 + 3u, acc3[i]);', replace: 'store_nbits(row, col0 + 3u, acc3[min(i, 2u)]);', tests: NBITS },
  { kernel: 'matmul_nbits', kind: 'index', what: '4-bit zero points: block and half-block byte offsets swapped (lib)', find: 'let byte = colByte + select(blk, blk >> 1u, BITS == 4u);', replace: 'let byte = colByte + select(blk >> 1u, blk, BITS == 4u);', tests: NBITS },
  { kernel: 'matmul_nbits', kind: 'index', what: 'zero-point bytes per column rounded down (lib)', find: 'return n * ((params.nBlocks * BITS + 7u) / 8u);', replace: 'return n * ((params.nBlocks * BITS) / 8u);', tests: NBITS },
  { kernel: 'quant', kind: 'index', what: 'unpack_q4: the high half taken from bit 12', find: 'let hi = (vec4<u32>(word >> 16u) >> shifts) & vec4<u32>(15u);', replace: 'let hi = (vec4<u32>(word >> 12u) >> shifts) & vec4<u32>(15u);', tests: NBITS },
  { kernel: 'quant', kind: 'constant', what: 'Q4_PLACE lane 3 off by a factor 2', find: 'const Q4_PLACE = vec4<f32>(1.0, 1.0 / 16.0, 1.0 / 256.0, 1.0 / 4096.0);', replace: 'const Q4_PLACE = vec4<f32>(1.0, 1.0 / 16.0, 1.0 / 256.0, 1.0 / 2048.0);', tests: NBITS },

  // -------------------------------------------------------------------------------------------------- gemv_nbits
  { kernel: 'gemv_nbits', kind: 'sign', what: 'zero point added instead of subtracted', find: 'return fma(sc, sq - zp * q_hsum(sa), total);', replace: 'return fma(sc, sq + zp * q_hsum(sa), total);', tests: NBITS },
  { kernel: 'gemv_nbits', kind: 'index', what: 'columns 8..11 read the same word twice per trip', find: 'add_word(&s, ak + vpw, end, wA + one, wB + one, wC + one, wD + one);', replace: 'add_word(&s, ak + vpw, end, wA + one, wB + one, wC, wD + one);', tests: NBITS },
  { kernel: 'gemv_nbits', kind: 'bound', what: 'the K tail masks the second 4 values of a word at the first 4\'s offset', find: 'x1 = tail_mask(x1, ak + 4u, end);', replace: 'x1 = tail_mask(x1, ak, end);', tests: NBITS },
  { kernel: 'gemv_nbits', kind: 'operand', what: 'Q4_PLACE applied for 8 bits instead of 4', find: 'let p0 = select(x0, x0 * Q4_PLACE, BITS == 4u);', replace: 'let p0 = select(x0 * Q4_PLACE, x0, BITS == 4u);', tests: NBITS },
  { kernel: 'gemv_nbits', kind: 'operand', what: 'columns 12..15 stored from columns 8..11', find: 'store4(row, col0 + 12u, totalD);', replace: 'store4(row, col0 + 12u, totalC);', tests: NBITS },

  // ------------------------------------------------------------------------------------------------ memvp_ffn_up
  { kernel: 'memvp_ffn_up', kind: 'bias', what: 'b1 dropped', find: 'if (HAS_B1) { v += bias; }', replace: 'if (HAS_B1) { v += 0.0 * bias; }', tests: FFN },
  { kernel: 'memvp_ffn_up', kind: 'operand', what: 'act(W3 u) * W1 u instead of act(W1 u) * W3 u', find: 'if (GATED) { return act4(v) * g; }', replace: 'if (GATED) { return act4(g) * v; }', tests: FFN },
  { kernel: 'memvp_ffn_up', kind: 'dropped term', what: 'the memory scale s dropped', find: '= params.s * keep * p;', replace: '= keep * p;', tests: FFN },
  { kernel: 'memvp_ffn_up', kind: 'bound', what: 'memory entry n (padding) kept', find: 'var keep = select(vec4<f32>(0.0), vec4<f32>(1.0), ids < vec4<u32>(n));', replace: 'var keep = select(vec4<f32>(0.0), vec4<f32>(1.0), ids <= vec4<u32>(n));', tests: FFN, expect: 'equivalent', why: 'the padding key is zero (memvp_keys_t zeroes it) and every activation has act(0) = 0, so the kept column is 0 anyway' },
  { kernel: 'memvp_ffn_up', kind: 'index', what: 'gate row 3 takes row 2\'s W1 sums', find: 'if (row0 + 3u < L) { gate_row(row0 + 3u, jt, a.r3, g.r3); }', replace: 'if (row0 + 3u < L) { gate_row(row0 + 3u, jt, a.r2, g.r3); }', tests: FFN },
  { kernel: 'memvp_ffn_up', kind: 'bound', what: 'decode: the second gate tile starts at floor(gateTiles / 2)', find: 'let jt2 = jt + (params.gateTiles + 1u) / 2u;', replace: 'let jt2 = jt + params.gateTiles / 2u;', tests: FFN, expect: 'equivalent', why: 'with an odd number of gate tiles the middle tile is computed twice (same value) and every tile is still written' },
  { kernel: 'memvp_ffn_up', kind: 'index', what: 'f32 wUp: 4th k of a step reads row k + 2', find: 'let r3 = bitcast<vec4<f32>>(w[wb + 3u * N4]);', replace: 'let r3 = bitcast<vec4<f32>>(w[wb + 2u * N4]);', tests: FFN },
  { kernel: 'memvp_ffn_up', kind: 'index', what: 'the mask read one entry late', find: 'let m0 = params.maskAt;', replace: 'let m0 = params.maskAt + 1u;', tests: FFN },
  { kernel: 'memvp_ffn_up', kind: 'bound', what: 'scores: the 4th entry of a tile written at n too', find: 'if (e0 + 3u < n) { scores[o + 3u] = p.w; }', replace: 'if (e0 + 3u <= n) { scores[o + 3u] = p.w; }', tests: FFN, why: 'the stray write puts act(0) = 0 on the next row\'s entry 0, which that row\'s own invocation also writes (a race the right value won here), or past the end in the pool buffer\'s slack, which the test does not read; the kernel\'s exact [L, n] shape check leaves no room for a guard region' },

  // ---------------------------------------------------------------------------------------------- memvp_ffn_down
  { kernel: 'memvp_ffn_down', kind: 'bias', what: 'b2 dropped', find: 'if (HAS_B2) { y += b2[jt]; }', replace: 'if (HAS_B2) { y += 0.0 * b2[jt]; }', tests: FFN },
  { kernel: 'memvp_ffn_down', kind: 'index', what: 'V rows 4m + 2 and 4m + 3 swapped', find: 'let vr = min(vec4<u32>(4u * m) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(last)) * d4 + vec4<u32>(jt);', replace: 'let vr = min(vec4<u32>(4u * m) + vec4<u32>(0u, 1u, 3u, 2u), vec4<u32>(last)) * d4 + vec4<u32>(jt);', tests: FFN },
  { kernel: 'memvp_ffn_down', kind: 'bound', what: 'decode: the second column tile one early', find: 'let jt2 = min(jt + half, d4 - 1u);', replace: 'let jt2 = min(jt + half - 1u, d4 - 1u);', tests: FFN, why: 'when d / 4 is odd the last workgroup\'s invocations jt in [half, d / 4) pass the jt >= d / 4 guard and store their own tile again as `a`: the wrong `b` races a right value for the same tile (the right one won here); that guard lets redundant invocations run' },
  { kernel: 'memvp_ffn_down', kind: 'index', what: 'the residual read at the column tile, not the element', find: 'if (HAS_RESIDUAL) { y += residual[o]; }', replace: 'if (HAS_RESIDUAL) { y += residual[jt]; }', tests: FFN },
  { kernel: 'memvp_ffn_down', kind: 'index', what: 'row 2\'s memory part reads row 1 of hidden', find: 't.r2 = axpy4(t.r2, hidden[rows.z + D4 + m], r0, r1, r2, r3);', replace: 't.r2 = axpy4(t.r2, hidden[rows.y + D4 + m], r0, r1, r2, r3);', tests: FFN },
  { kernel: 'memvp_ffn_down', kind: 'index', what: 'decode: hidden\'s memory part read one vec4 late', find: 'let x = hidden[row + params.Dh4 + m];', replace: 'let x = hidden[row + params.Dh4 + m + 1u];', tests: FFN },

  // ----------------------------------------------------------------------------------------------- memvp_keys_t
  { kernel: 'memvp_keys_t', kind: 'index', what: 'entries 4m + 2 and 4m + 3 swapped in kT row 4k + 2', find: 'kt[o + 2u * params.m4] = vec4<f32>(r0.z, r1.z, r2.z, r3.z);', replace: 'kt[o + 2u * params.m4] = vec4<f32>(r0.z, r1.z, r3.z, r2.z);', tests: FFN },
  { kernel: 'memvp_keys_t', kind: 'bound', what: 'padding entry n not zeroed', find: 'vec4<u32>(e) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.n));', replace: 'vec4<u32>(e) + vec4<u32>(0u, 1u, 2u, 3u) <= vec4<u32>(params.n));', tests: FFN, expect: 'equivalent', why: 'pass 1 zeroes every padding column again (keep = 0 for entries >= n), so kT\'s padding never reaches an output' },
  { kernel: 'memvp_keys_t', kind: 'index', what: 'feature column k + 1 read for k', find: 'let r0 = memk[min(e, last) * d4 + k] * keep.x;', replace: 'let r0 = memk[min(e, last) * d4 + min(k + 1u, d4 - 1u)] * keep.x;', tests: FFN },

  // ------------------------------------------------------------------------------------------------ memvp_qtile
  { kernel: 'memvp_qtile', kind: 'sign', what: 'zero point added instead of subtracted', find: '- zp * asum);', replace: '+ zp * asum);', tests: FFN },
  { kernel: 'memvp_qtile', kind: 'index', what: '4-bit zero-point bytes per column rounded down', find: 'if (WFMT == 4u) { byte = col * ((nBlocks + 1u) / 2u) + block / 2u; }', replace: 'if (WFMT == 4u) { byte = col * (nBlocks / 2u) + block / 2u; }', tests: FFN },
  { kernel: 'memvp_qtile', kind: 'index', what: 'prefill: row 3 folded with row 2\'s A sum', find: 'acc.r3 += qfold(s.d, cols, b, nBlocks, q_hsum(sums.r3));', replace: 'acc.r3 += qfold(s.d, cols, b, nBlocks, q_hsum(sums.r2));', tests: FFN },
  { kernel: 'memvp_qtile', kind: 'index', what: 'decode: the 4th word of a chunk reads the 3rd word\'s A values', find: 'let x3 = qword_a(row, k4 + 3u * wordK4, k4End, &asum);', replace: 'let x3 = qword_a(row, k4 + 2u * wordK4, k4End, &asum);', tests: FFN },
  { kernel: 'memvp_qtile', kind: 'bound', what: 'QTAIL lets one vec4 past K through', find: 'QTAIL && k4 >= k4End', replace: 'QTAIL && k4 > k4End', tests: FFN },

  // ------------------------------------------------------------------------------------------------- attention
  { kernel: 'attention_decode', kind: 'operand', what: 'partial rescale exp(m - runMax) instead of exp(runMax - m)', find: 'let f = exp(runMax - m);', replace: 'let f = exp(min(m - runMax, 0.0));', tests: ATTENTION },
  { kernel: 'attention_decode', kind: 'bound', what: 'a block whose first key is the last one is skipped', find: 'for (var j0 = t * 4u; j0 < end; j0 += WG * 4u) {', replace: 'for (var j0 = t * 4u; j0 + 1u < end; j0 += WG * 4u) {', tests: ATTENTION },
  { kernel: 'attention_decode', kind: 'dropped term', what: 'the softmax denominator dropped', find: 'out[base + d] = a * inv;', replace: 'out[base + d] = a;', tests: ATTENTION },
  { kernel: 'attention_prefill', kind: 'bound', what: 'causal: a row does not see its own key', find: 'params.pastLen + row + 1u, params.causal != 0u);', replace: 'params.pastLen + max(row, 1u), params.causal != 0u);', tests: ATTENTION },
  { kernel: 'attention_prefill', kind: 'operand', what: 'causal and non-causal ends swapped', find: 'let end = select(params.pastLen + params.rows, params.pastLen + row + 1u, params.causal != 0u);', replace: 'let end = select(params.pastLen + row + 1u, params.pastLen + params.rows, params.causal != 0u);', tests: ATTENTION },
  { kernel: 'attention_online', kind: 'epsilon', what: 'the score scale dropped', find: 'qrow[d] = q[base + d] * params.scale;', replace: 'qrow[d] = q[base + d];', tests: ATTENTION },
  { kernel: 'attention_online', kind: 'index', what: 'the 4th key of a block reads the 3rd key\'s row', find: 'let r3 = (base + min(j0 + 3u, last)) * hv;', replace: 'let r3 = (base + min(j0 + 2u, last)) * hv;', tests: ATTENTION },
  { kernel: 'attention_online', kind: 'index', what: 'GQA: query heads interleaved over kv heads instead of grouped', find: 'return head / (params.numHeads / params.numKvHeads);', replace: 'return head % params.numKvHeads;', tests: ATTENTION },
  { kernel: 'attention_online', kind: 'bound', what: 'the key at `end` not masked', find: 'vec4u(j0) + vec4u(0u, 1u, 2u, 3u) >= vec4u(end));', replace: 'vec4u(j0) + vec4u(0u, 1u, 2u, 3u) > vec4u(end));', tests: ATTENTION },
  { kernel: 'kv_append', kind: 'index', what: 'past length ignored: rows written from position 0', find: 'let dst = (head * params.maxSeq + params.pastLen + row) * params.headVec4 + d;', replace: 'let dst = (head * params.maxSeq + row) * params.headVec4 + d;', tests: ATTENTION },
  { kernel: 'kv_append', kind: 'operand', what: 'values cache written from the keys', find: 'vCache[dst] = v[i];', replace: 'vCache[dst] = k[i];', tests: ATTENTION },
  { kernel: 'kv_append', kind: 'index', what: 'head and row decoded in the wrong order', find: 'let head = rest % params.numKvHeads;\n  let row = rest / params.numKvHeads;', replace: 'let head = rest / params.numKvHeads % params.numKvHeads;\n  let row = rest % params.numKvHeads;', tests: ATTENTION },

  // ----------------------------------------------------------------------------------------------------- norms
  { kernel: 'rmsnorm', kind: 'epsilon', what: 'eps 10x larger', find: '/ f32(d) + params.eps);', replace: '/ f32(d) + 10.0 * params.eps);', tests: NORMS },
  { kernel: 'rmsnorm', kind: 'bound', what: 'mean over d - 1', find: 'inverseSqrt(norm_row_sums(base, d, 0.0, lid).y / f32(d)', replace: 'inverseSqrt(norm_row_sums(base, d, 0.0, lid).y / f32(max(d, 2u) - 1u)', tests: NORMS },
  { kernel: 'rmsnorm', kind: 'index', what: 'weight read one element late', find: 'y[base + j] = x[base + j] * inv * weight[j];', replace: 'y[base + j] = x[base + j] * inv * weight[(j + 1u) % d];', tests: NORMS },
  { kernel: 'norm_row', kind: 'bound', what: 'the row sums skip the last element', find: 'for (var j = lid; j < d; j += RED_WG) {\n    let v = x[base + j] - shift;', replace: 'for (var j = lid; j + 1u < d; j += RED_WG) {\n    let v = x[base + j] - shift;', tests: NORMS },
  { kernel: 'layernorm', kind: 'dropped term', what: 'variance without the mean term', find: 'let variance = max(total.y / n - dmean * dmean, 0.0);', replace: 'let variance = max(total.y / n, 0.0);', tests: NORMS },
  { kernel: 'layernorm', kind: 'bias', what: 'bias dropped', find: 'if (HAS_BIAS) { v += bias[j]; }', replace: 'if (HAS_BIAS) { v += 0.0 * bias[j]; }', tests: NORMS },
  { kernel: 'layernorm', kind: 'epsilon', what: 'eps 10x larger', find: 'let inv = inverseSqrt(variance + params.eps);', replace: 'let inv = inverseSqrt(variance + 10.0 * params.eps);', tests: NORMS },
  { kernel: 'layernorm', kind: 'index', what: 'the shift taken from the row\'s second element', find: 'let shift = x[base];', replace: 'let shift = x[base + min(1u, d - 1u)];', tests: NORMS, expect: 'equivalent', why: 'shifted sums give the same mean and variance for any shift inside the row (the shift only guards precision)' },
  { kernel: 'layernorm', kind: 'operand', what: 'InvStdDev output written as the variance', find: 'inv_std_out[row] = inv;', replace: 'inv_std_out[row] = variance;', tests: NORMS },

  // --------------------------------------------------------------------------------------------------- softmax
  { kernel: 'softmax', kind: 'operand', what: 'outputs scaled by the share max, not the row max', find: 'y[base + j] = exp(x[base + j] - stats.x) * inv;', replace: 'y[base + j] = exp(x[base + j] - m) * inv;', tests: ['test/softmax.test.ts'] },
  { kernel: 'softmax', kind: 'bound', what: 'the max skips the last element', find: 'for (var j = lid; j < c; j += RED_WG) { m = max(m, x[base + j]); }', replace: 'for (var j = lid; j + 1u < c; j += RED_WG) { m = max(m, x[base + j]); }', tests: ['test/softmax.test.ts'] },
  { kernel: 'softmax', kind: 'index', what: 'rows past the first grid row of workgroups misplaced', find: 'let row = wid.x + wid.y * groups.x;', replace: 'let row = wid.x + wid.y * max(groups.x, 2u) - wid.y;', tests: ['test/softmax.test.ts'], expect: 'equivalent', why: 'the second grid row starts one row early but still reaches every row (one twice, same value): a shift, not a loss' },
  { kernel: 'reduce', kind: 'operand', what: 'softmax merge: the second share not rescaled', find: 'fa.y * exp(fa.x - m) + fb.y * exp(fb.x - m)', replace: 'fa.y * exp(fa.x - m) + fb.y', tests: ['test/softmax.test.ts'] },
  { kernel: 'reduce', kind: 'operand', what: 'argmax merge: ties go to the larger index', find: 'b.x > a.x || (b.x == a.x && b.y < a.y)', replace: 'b.x > a.x || (b.x == a.x && b.y > a.y)', tests: ['test/argmax.test.ts'] },

  // ------------------------------------------------------------------------------------------------------ rope
  { kernel: 'rope', kind: 'sign', what: 'x2\' = x2 cos - x1 sin', find: 'x[lo + half] = x2 * c.y + x1 * s.y;', replace: 'x[lo + half] = x2 * c.y - x1 * s.y;', tests: ['test/rope.test.ts'] },
  { kernel: 'rope', kind: 'index', what: 'TABLE: cos/sin row stride hd/2 instead of hd', find: 'let t = row * 2u * half + pair;', replace: 'let t = row * half + pair;', tests: ['test/rope.test.ts'] },
  { kernel: 'rope', kind: 'dropped term', what: 'position offset dropped', find: 'sin_cos(f32(params.offset + row) * freq_or_cos[pair]);', replace: 'sin_cos(f32(row) * freq_or_cos[pair]);', tests: ['test/rope.test.ts'] },
  { kernel: 'rope', kind: 'sign', what: 'quadrant 1 of sin_cos with both signs flipped', find: 'case 1: { return vec2f(c, -s); }', replace: 'case 1: { return vec2f(-c, s); }', tests: ['test/rope.test.ts'] },
  { kernel: 'rope', kind: 'epsilon', what: 'the third part of pi/2 dropped from the range reduction', find: ' - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;', replace: ' - k * 4.837512969970703125e-4);', tests: ['test/rope.test.ts'] },

  // ---------------------------------------------------------------------------------------------------- argmax
  { kernel: 'argmax', kind: 'bound', what: 'ties within a share go to the later index', find: 'if (k > best.x) { best = vec2u(k, j); }', replace: 'if (k >= best.x) { best = vec2u(k, j); }', tests: ['test/argmax.test.ts'] },
  { kernel: 'argmax', kind: 'constant', what: '-0 no longer ties with +0', find: 'let b = select(bits, 0u, bits == 0x80000000u);', replace: 'let b = bits;', tests: ['test/argmax.test.ts'] },
  { kernel: 'argmax', kind: 'bound', what: '+-inf ranked as NaN', find: 'if ((bits & 0x7fffffffu) > 0x7f800000u) { return 0xffffffffu; }', replace: 'if ((bits & 0x7fffffffu) >= 0x7f800000u) { return 0xffffffffu; }', tests: ['test/argmax.test.ts'] },
  { kernel: 'argmax', kind: 'operand', what: 'order key of negative and positive values swapped', find: 'return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);', replace: 'return select(~b, b | 0x80000000u, (b & 0x80000000u) != 0u);', tests: ['test/argmax.test.ts'] },

  // ----------------------------------------------------------------------------------------------- gather_nbits
  { kernel: 'gather_nbits', kind: 'bound', what: 'negative indices one row off', find: 'let r = select(raw, raw + dim, raw < 0);', replace: 'let r = select(raw, raw + dim - 1, raw < 0);', tests: ['test/gather-nbits.test.ts'] },
  { kernel: 'gather_nbits', kind: 'index', what: 'unaligned rows shifted by nibbles instead of bytes', find: 'let shift = (b & 3u) * 8u;', replace: 'let shift = (b & 3u) * 4u;', tests: ['test/gather-nbits.test.ts'] },
  { kernel: 'gather_nbits', kind: 'index', what: 'every value scaled by its row\'s first block', find: 'let scale = scales[row * params.n_blocks + blk];', replace: 'let scale = scales[row * params.n_blocks];', tests: ['test/gather-nbits.test.ts'] },
  { kernel: 'gather_nbits', kind: 'operand', what: '4 bits: values 4..7 of a word from values 0..3', find: 'hi = (q[1] - zp) * scale;', replace: 'hi = (q[0] - zp) * scale;', tests: ['test/gather-nbits.test.ts'] },
  { kernel: 'gather_nbits', kind: 'index', what: 'zero-point bytes per row rounded down', find: 'let byte = row * ((params.n_blocks * BITS + 7u) / 8u)', replace: 'let byte = row * ((params.n_blocks * BITS) / 8u)', tests: ['test/gather-nbits.test.ts'] },

  // ------------------------------------------------------------------------------------------------ activation
  { kernel: 'activations', kind: 'constant', what: 'QuickGELU 1.702 -> 1.72', find: 'case 4u: { return x * sigmoid(1.702 * x); }', replace: 'case 4u: { return x * sigmoid(1.72 * x); }', tests: ['test/activation.test.ts'] },
  { kernel: 'activations', kind: 'epsilon', what: 'erf GELU: 1/sqrt(2) to 4 digits', find: 'erf_approx(x * 0.7071067811865476)', replace: 'erf_approx(x * 0.7071)', tests: ['test/activation.test.ts'], why: 'moves GELU by at most ~2.5e-6, inside the test\'s 2e-6 + 1e-5 relative tolerance (the 1.5e-7 erf approximation and the adapter\'s exp need room); a precision-level bug, not a formula one' },
  { kernel: 'activations', kind: 'constant', what: 'tanh GELU: cubic coefficient 0.044715 -> 0.04', find: '(x + 0.044715 * x * x * x)', replace: '(x + 0.04 * x * x * x)', tests: ['test/activation.test.ts'] },

  // -------------------------------------------------------------------------------------------------- op_* ops
  { kernel: 'op_binary', kind: 'operand', what: 'same-shape path swaps its operands', find: 'for (var i = first; i < end; i++) { y[i] = apply(a[i], b[i]); }', replace: 'for (var i = first; i < end; i++) { y[i] = apply(b[i], a[i]); }', tests: ['test/ops-elementwise.test.ts'] },
  { kernel: 'op_binary', kind: 'operand', what: 'float Mod (fmod = 0) with floor instead of trunc', find: 'case 8u: { return x - z * trunc(x / z); }', replace: 'case 8u: { return x - z * floor(x / z); }', tests: ['test/ops-elementwise.test.ts'] },
  { kernel: 'op_binary', kind: 'sign', what: 'integer Mod takes the dividend\'s sign', find: 'r != 0 && ((r < 0) != (z < 0))', replace: 'r != 0 && ((r < 0) == (z < 0))', tests: ['test/ops-elementwise.test.ts'] },
  { kernel: 'op_binary', kind: 'bound', what: 'float GreaterOrEqual as Greater', find: 'case 22u: { return x >= z; }\n    case 23u: { return x < z; }\n    default: { return x <= z; }\n  }\n}\n\nfn compare_i', replace: 'case 22u: { return x > z; }\n    case 23u: { return x < z; }\n    default: { return x <= z; }\n  }\n}\n\nfn compare_i', tests: ['test/ops-elementwise.test.ts'] },
  { kernel: 'op_bcast', kind: 'index', what: 'broadcast cursor does not step the third input', find: '(*cur).off += d.yzw;', replace: '(*cur).off += vec3u(d.y, d.z, 0u);', tests: ['test/ops-elementwise.test.ts'] },
  { kernel: 'op_unary', kind: 'operand', what: 'Softplus with exp(-v) for v < 0', find: 'log(1.0 + exp(-abs(v)))', replace: 'log(1.0 + exp(-v))', tests: ['test/ops-elementwise.test.ts'] },
  { kernel: 'op_unary', kind: 'sign', what: 'HardSigmoid subtracts beta', find: 'clamp(params.alpha * v + params.beta, 0.0, 1.0)', replace: 'clamp(params.alpha * v - params.beta, 0.0, 1.0)', tests: ['test/ops-elementwise.test.ts'] },
  { kernel: 'op_unary', kind: 'bound', what: 'LeakyRelu: 0 takes the negative branch', find: 'case 32u: { return select(params.alpha * v, v, v >= 0.0); }', replace: 'case 32u: { return select(params.alpha * v, v, v > 0.0); }', tests: ['test/ops-elementwise.test.ts'], expect: 'equivalent', why: 'at v = 0 both branches give 0 (alpha * 0; -0 and +0 compare equal)' },
  { kernel: 'op_where', kind: 'operand', what: 'X and Y swapped', find: 'y[i] = select(z[cur.off.z], x[cur.off.y], cond[cur.off.x] != 0u);', replace: 'y[i] = select(x[cur.off.y], z[cur.off.z], cond[cur.off.x] != 0u);', tests: ['test/ops-elementwise.test.ts'] },
  { kernel: 'op_copy_nd', kind: 'dropped term', what: 'source index not wrapped (Tile/Expand)', find: 's += i32(idx % params.src_mod[q][r]) * params.src_strides[q][r];', replace: 's += i32(idx) * params.src_strides[q][r];', tests: ['test/ops-movement.test.ts', 'test/ops-shape.test.ts'] },
  { kernel: 'op_copy_nd', kind: 'bound', what: 'the outermost dim skipped', find: 'for (var k = params.rank; k > 0u; k--) {', replace: 'for (var k = params.rank; k > 1u; k--) {', tests: ['test/ops-movement.test.ts', 'test/ops-shape.test.ts'] },
  { kernel: 'op_gather', kind: 'bound', what: 'negative indices one row off', find: 'select(raw, raw + dim, raw < 0)', replace: 'select(raw, raw + dim - 1, raw < 0)', tests: ['test/ops-movement.test.ts'] },
  { kernel: 'op_gather', kind: 'index', what: 'outer index ignored', find: 'out[i] = data[(o * params.axis_dim + k) * params.inner + t];', replace: 'out[i] = data[k * params.inner + t];', tests: ['test/ops-movement.test.ts'] },
  { kernel: 'op_trilu', kind: 'bound', what: 'Tril drops the k-th diagonal', find: 'let keep = select(diff <= params.k, diff >= params.k, params.upper != 0u);', replace: 'let keep = select(diff < params.k, diff >= params.k, params.upper != 0u);', tests: ['test/ops-movement.test.ts'] },
  { kernel: 'op_cumsum', kind: 'bound', what: 'reverse scan off by one (the last element twice, the first never)', find: 'let j = select(k, params.len - 1u - k, REVERSE);', replace: 'let j = select(k, min(params.len - k, params.len - 1u), REVERSE);', tests: ['test/ops-reduce.test.ts'] },
  { kernel: 'op_cumsum', kind: 'index', what: 'line base ignores the inner stride', find: 'let base = (l / params.inner) * params.len * params.inner + l % params.inner;', replace: 'let base = (l / params.inner) * params.len + l % params.inner;', tests: ['test/ops-reduce.test.ts'] },
  { kernel: 'op_reduce', kind: 'bound', what: 'ReduceMean divides by n - 1', find: 'case 1u: { return acc / f32(params.n_red); }', replace: 'case 1u: { return acc / f32(max(params.n_red, 2u) - 1u); }', tests: ['test/ops-reduce.test.ts'] },
  { kernel: 'op_reduce', kind: 'dropped term', what: 'LogSumExp without the max', find: 'case 7u: { return m + log(acc); }', replace: 'case 7u: { return log(acc); }', tests: ['test/ops-reduce.test.ts'] },
  { kernel: 'op_reduce', kind: 'bound', what: 'the reduction odometer wraps one late', find: 'if (odo[d] < params.red_shape[q][r]) { return; }', replace: 'if (odo[d] <= params.red_shape[q][r]) { return; }', tests: ['test/ops-reduce.test.ts'] },
  { kernel: 'op_reduce', kind: 'operand', what: 'ArgMax select_last_index inverted', find: 'if (OP == OP_ARGMAX) { return select(v > best, v >= best, SELECT_LAST); }', replace: 'if (OP == OP_ARGMAX) { return select(v >= best, v > best, SELECT_LAST); }', tests: ['test/ops-reduce.test.ts'] },
  { kernel: 'op_conv2d', kind: 'bias', what: 'bias dropped', find: 'if (HAS_BIAS) { v += vec4f(bias[mj]); }', replace: 'if (HAS_BIAS) { v += vec4f(0.0 * bias[mj]); }', tests: ['test/ops-conv.test.ts'] },
  { kernel: 'op_conv2d', kind: 'dropped term', what: 'horizontal dilation dropped', find: 'let ix = ix0 + vec4i(i32(kw * params.dilation_w));', replace: 'let ix = ix0 + vec4i(i32(kw));', tests: ['test/ops-conv.test.ts'] },
  { kernel: 'op_conv2d', kind: 'bound', what: 'column `width` (right padding) read as data', find: '(ix >= vec4i(0)) & (ix < vec4i(width))', replace: '(ix >= vec4i(0)) & (ix <= vec4i(width))', tests: ['test/ops-conv.test.ts'] },
  { kernel: 'op_conv2d', kind: 'index', what: 'output channel 4m + 3 uses channel 4m + 2\'s weights', find: 'acc[3] += xv * w[wi.w];', replace: 'acc[3] += xv * w[wi.z];', tests: ['test/ops-conv.test.ts'] },
  { kernel: 'op_conv2d', kind: 'operand', what: 'vertical position padded by pad_left', find: ') - params.pad_top;', replace: ') - params.pad_left;', tests: ['test/ops-conv.test.ts'] },
];
