// Attention for one query row (a decode step) against the KV cache, flash-decoding style: one workgroup
// per head, its invocations take interleaved blocks of 4 keys each with their own online softmax, then
// the partial (max, sum, acc) are merged through workgroup memory. With one row, causal and non-causal
// agree: the row at position pastLen sees every key 0..pastLen.
//!include attention_online

// Invocations per head, chosen per adapter by src/kernels/attention.ts. The merge buffer takes
// WG * 512 bytes of workgroup storage.
override WG: u32 = 16u;

var<workgroup> partMax: array<f32, WG>;
var<workgroup> partSum: array<f32, WG>;
var<workgroup> partAcc: array<vec4f, WG * MAX_HEAD_VEC4>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) t: u32) {
  let head = wid.x;
  let end = params.pastLen + 1u;
  start_row(0u, head);
  let kvh = kv_head(head);
  for (var j0 = t * 4u; j0 < end; j0 += WG * 4u) {
    absorb4(kvh, j0, end);
  }
  partMax[t] = runMax;
  workgroupBarrier();
  // Every invocation reads all WG maxima: cheaper than a barrier per tree level on software adapters.
  var m = NEG_BIG;
  for (var r = 0u; r < WG; r++) {
    m = max(m, partMax[r]);
  }
  // An invocation that saw no key has runMax = NEG_BIG, so f = 0 and it contributes nothing.
  let f = exp(runMax - m);
  let hv = params.headVec4;
  partSum[t] = runSum * f;
  for (var d = 0u; d < hv; d++) {
    partAcc[t * MAX_HEAD_VEC4 + d] = acc[d] * f;
  }
  workgroupBarrier();
  var sum = 0.0;
  for (var r = 0u; r < WG; r++) {
    sum += partSum[r];
  }
  let inv = 1.0 / sum;
  let base = row_base(0u, head);
  for (var d = t; d < hv; d += WG) {
    var a = vec4f(0.0);
    for (var r = 0u; r < WG; r++) {
      a += partAcc[r * MAX_HEAD_VEC4 + d];
    }
    out[base + d] = a * inv;
  }
}
