// Numpy broadcasting for elementwise kernels: output element i -> word offsets into up to three inputs.
// The host (src/kernels/op_bcast.ts) coalesces dims; dims[k] = (size, stride in input 0, 1, 2) of the k-th
// innermost dim, stride 0 where an input broadcasts. Integer division is slow in software rasterizers, so each
// invocation handles BCAST_RUN consecutive outputs and only divides again when the innermost dim wraps.
const BCAST_RUN: u32 = 8u;

struct Bcast {
  n: u32,
  rank: u32,
  // WGSL aligns the array to 16 bytes: it starts at byte 16.
  dims: array<vec4u, 8>,
}

@group(0) @binding(0) var<uniform> bc: Bcast;

struct Cursor {
  off: vec3u,
  // Coordinate along the innermost dim.
  c: u32,
}

fn bcast_offsets(i: u32) -> vec3u {
  var rem = i;
  var off = vec3u(0u);
  for (var k = 0u; k < bc.rank; k++) {
    let d = bc.dims[k];
    off += (rem % d.x) * d.yzw;
    rem = rem / d.x;
  }
  return off;
}

fn bcast_start(i: u32) -> Cursor {
  return Cursor(bcast_offsets(i), i % bc.dims[0].x);
}

// Moves `cur` from output element i to i + 1.
fn bcast_advance(cur: ptr<function, Cursor>, i: u32) {
  let d = bc.dims[0];
  (*cur).c += 1u;
  if ((*cur).c == d.x) {
    (*cur).c = 0u;
    (*cur).off = bcast_offsets(i + 1u);
  } else {
    (*cur).off += d.yzw;
  }
}

// The first output element of an invocation on a 2D grid of 256-wide workgroups.
fn bcast_first(gid: vec3u, groups: vec3u) -> u32 {
  return (gid.x + gid.y * groups.x * 256u) * BCAST_RUN;
}
