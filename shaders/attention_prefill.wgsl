// Attention for L >= 1 query rows against the KV cache: one invocation per (head, query row) streams
// over that row's visible keys with an online softmax. Causal: row i (absolute position pastLen + i)
// sees keys 0..pastLen+i; otherwise every key 0..pastLen+L-1.
//!include attention_online

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = gid.x + gid.y * groups.x * 64u;
  if (i >= params.rows * params.numHeads) { return; }
  // Neighbouring invocations take neighbouring rows of one head, so they read the same keys.
  let head = i / params.rows;
  let row = i % params.rows;
  let end = select(params.pastLen + params.rows, params.pastLen + row + 1u, params.causal != 0u);
  start_row(row, head);
  let kvh = kv_head(head);
  for (var j0 = 0u; j0 < end; j0 += 4u) {
    absorb4(kvh, j0, end);
  }
  let base = row_base(row, head);
  let inv = 1.0 / runSum;
  for (var d = 0u; d < params.headVec4; d++) {
    out[base + d] = acc[d] * inv;
  }
}
