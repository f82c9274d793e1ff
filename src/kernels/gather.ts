// Embedding gather: out[i, :] = table[ids[i], :]. Out-of-range ids give zero rows on the GPU (it cannot
// throw); ids from the CPU go through checkIds first so a bad id fails loudly there.
import code from '../../shaders/gather.wgsl?raw';
import { KernelShapeError, shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { Uniforms, check, checkTensor, grid1d } from './common.js';
import { kernelSource } from './shader.js';

const kernel = kernelSource('gather', code);

export function gatherPipeline(): PipelineSpec {
  return { kernel };
}

/** Throws KernelShapeError naming the first id outside [0, vocab) and its position. */
export function checkIds(ids: Int32Array, vocab: number): void {
  const i = ids.findIndex((id) => id < 0 || id >= vocab);
  if (i >= 0) throw new KernelShapeError('gather', `id ${ids[i]} at position ${i} is outside the vocabulary [0, ${vocab})`);
}

/** ids i32 [L], table [V, d] -> out [L, d]. */
export function recordGather(ctx: GpuContext, step: Step, ids: GpuTensor, table: GpuTensor, out: GpuTensor): void {
  const label = `gather ids${shapeStr(ids.shape)} table${shapeStr(table.shape)}`;
  check(ids.shape.length === 1 && table.shape.length === 2, label, () => 'ids must be [L] and table [V, d]');
  const [n] = ids.shape as [number];
  const [vocab, d] = table.shape as [number, number];
  checkTensor(label, 'ids', ids, [n], 'i32');
  checkTensor(label, 'table', table, [vocab, d]);
  checkTensor(label, 'out', out, [n, d]);
  step.dispatch({
    pipeline: gatherPipeline(),
    label,
    uniforms: new Uniforms().u32(n, d, vocab).data,
    buffers: [ids.buffer, table.buffer, out.buffer],
    workgroups: grid1d(ctx, Math.ceil((n * d) / 256)),
  });
}

export function gatherReference(ids: Int32Array, table: Float32Array, d: number): Float32Array {
  const vocab = table.length / d;
  const out = new Float32Array(ids.length * d);
  ids.forEach((id, i) => {
    if (id >= 0 && id < vocab) out.set(table.subarray(id * d, (id + 1) * d), i * d);
  });
  return out;
}
