// y = cond ? x : z with numpy broadcasting over all three. x and z share one storage type, so words are copied as is.
//!include op_bcast

@group(0) @binding(1) var<storage, read> cond: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<u32>;
@group(0) @binding(3) var<storage, read> z: array<u32>;
@group(0) @binding(4) var<storage, read_write> y: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let first = bcast_first(gid, groups);
  var cur = bcast_start(first);
  for (var i = first; i < min(first + BCAST_RUN, bc.n); i++) {
    y[i] = select(z[cur.off.z], x[cur.off.y], cond[cur.off.x] != 0u);
    bcast_advance(&cur, i);
  }
}
