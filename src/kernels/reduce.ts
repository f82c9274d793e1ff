// Shape checks shared by the row-reduction kernels (shaders/lib/reduce.wgsl): rows of a tensor's last dim.
import { numel, type AdapterDescription, type GpuTensor } from '../gpu/index.js';
import { check, checkTensor } from './common.js';

/** Checks `x` (f32, non-empty last dim, buffer large enough) and returns its row count and row length. */
export function rowsOf(label: string, x: GpuTensor): { rows: number; cols: number } {
  const cols = x.shape.at(-1) ?? 0;
  check(cols > 0, label, () => `x has shape [${x.shape}] but needs a non-empty last dim`);
  checkTensor(label, 'x', x, x.shape);
  return { rows: numel(x.shape) / cols, cols };
}

/**
 * RED_G of shaders/lib/reduce.wgsl (workgroups of RED_G^2 per row): 2 on software adapters, whose 4-wide
 * groups are one subgroup with free barriers (SwiftShader: 64-wide groups cost ~40 us each), 8 elsewhere.
 */
export function reduceGroup(adapter: AdapterDescription): number {
  return adapter.isSoftware ? 2 : 8;
}
