// The row-reduction kernels pick their workgroup width from the adapter (src/kernels/reduce.ts). Tests run
// both widths here: the real (software) context, and a view of it that claims to be hardware.
import type { GpuContext } from '../src/gpu/index.js';
import { reduceGroup } from '../src/kernels/reduce.js';

export function reduceContexts(ctx: GpuContext): [string, GpuContext][] {
  const hw = Object.create(ctx, { adapter: { value: { ...ctx.adapter, isSoftware: !ctx.adapter.isSoftware } } }) as GpuContext;
  return [ctx, hw].map((c) => [`${reduceGroup(c.adapter) ** 2}-wide`, c]);
}
