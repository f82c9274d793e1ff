// C = epilogue(A x B): f32 matmul with optional batch, transposed B and a fused bias/activation/residual
// epilogue: C = act(alpha * A.B + bias) + residual. M <= 4 goes to the GEMV kernel (src/kernels/gemv.ts).
// Options and shape checks are shared with gemv and matmul_nbits (src/kernels/matmul_common.ts).
import code from '../../shaders/matmul.wgsl?raw';
import { shapeStr, type GpuContext, type GpuTensor, type PipelineSpec, type Step } from '../gpu/index.js';
import { activationRef, type Activation } from './activation.js';
import { ceilDiv, checkTensor } from './common.js';
import { gemvPipeline, recordGemv } from './gemv.js';
import { GEMV_MAX_ROWS, MATMUL_UNIFORMS, epilogueBuffers, epilogueConstants, matmulConfig, matmulShape, type MatmulConfig, type MatmulOptions } from './matmul_common.js';
import { defineKernel } from './shader.js';
import { matmulTiles } from './tiles.js';

export const matmulKernel = defineKernel('matmul', code, MATMUL_UNIFORMS);

/** The pipeline recordMatmul uses for `M` rows: the tiled kernel, or the GEMV kernel when M <= 4. */
export function matmulPipeline(ctx: GpuContext, config: MatmulConfig, M: number): PipelineSpec {
  if (M <= GEMV_MAX_ROWS) return gemvPipeline(ctx, config);
  const t = matmulTiles(ctx.adapter);
  return { kernel: matmulKernel, constants: { WG_X: t.wgX, WG_Y: t.wgY, TRANS_B: config.transB ? 1 : 0, ...epilogueConstants(config) } };
}

export function recordMatmul(ctx: GpuContext, step: Step, a: GpuTensor, b: GpuTensor, c: GpuTensor, opts: MatmulOptions = {}): void {
  const rows = a.shape.length === 3 ? a.shape[1]! : a.shape[0]!;
  if (rows <= GEMV_MAX_ROWS) {
    recordGemv(ctx, step, a, b, c, opts);
    return;
  }
  const label = `matmul ${shapeStr(a.shape)} x ${shapeStr(b.shape)}${opts.transB ? 'T' : ''}`;
  const s = matmulShape(label, a, b.shape, c, opts);
  checkTensor(label, 'B', b, b.shape);
  const t = matmulTiles(ctx.adapter);
  step.dispatch({
    pipeline: matmulPipeline(ctx, matmulConfig(opts), s.M),
    label,
    uniforms: matmulKernel.pack({ M: s.M, N: s.N, K: s.K, strideA: s.strideA, strideB: s.strideB, alpha: opts.alpha ?? 1 }),
    buffers: [a.buffer, b.buffer, ...epilogueBuffers(a, opts), c.buffer],
    // Each invocation computes 16 rows x 16 columns.
    workgroups: [ceilDiv(s.N, 16 * t.wgX), ceilDiv(s.M, 16 * t.wgY), s.batch],
  });
}

/** Plain-TS reference with the same shapes and options (tensors as flat row-major arrays). */
export function matmulReference(
  a: Float32Array,
  b: Float32Array,
  s: { batch?: number; M: number; N: number; K: number; batchA?: number; batchB?: number },
  opts: { transB?: boolean; bias?: Float32Array; activation?: Activation; residual?: Float32Array; alpha?: number } = {},
): Float32Array {
  const { M, N, K } = s;
  const batch = s.batch ?? 1;
  const out = new Float32Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const ao = (s.batchA ?? batch) === 1 ? 0 : z * M * K;
    const bo = (s.batchB ?? batch) === 1 ? 0 : z * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += a[ao + m * K + k]! * b[bo + (opts.transB ? n * K + k : k * N + n)]!;
        const o = z * M * N + m * N + n;
        let v = (opts.alpha ?? 1) * acc + (opts.bias?.[n] ?? 0);
        v = activationRef(v, opts.activation ?? 'none');
        out[o] = v + (opts.residual?.[o] ?? 0);
      }
    }
  }
  return out;
}
