// What an operator implementation provides to the executor. One OpImpl per ONNX op type (and per fused op).
// Shapes are inferred per run from concrete input shapes; small integer tensors that only feed shape arithmetic
// (Shape -> Gather -> Concat -> Reshape ...) are evaluated on the CPU, so no readback is ever needed mid-step.
import type { GpuContext, GpuTensor, Step } from '../../gpu/index.js';
import { UnsupportedOpError } from '../errors.js';
import type { Node } from '../ir.js';
import type { ElemType, HostTensor } from '../tensor.js';

export interface TensorMeta {
  readonly type: ElemType;
  readonly dims: readonly number[];
}

/** A tensor on the GPU with its ONNX element type (its storage type is deviceType(type)). */
export interface DeviceTensor extends GpuTensor {
  readonly type: ElemType;
  /**
   * Set on KV-cache tensors [1, heads, length, headDim]: dim 2 is stored with room for this many positions, so a
   * decode step appends in place. Only ops with `acceptsKvCache` read such a tensor; others get a compact copy.
   */
  readonly kvCapacity?: number;
}

export interface RunOptions {
  /** Outputs to leave on the GPU instead of reading back; the caller releases them with `release()`. */
  keepOnGpu?: Iterable<string>;
  /**
   * MemVP interpretability (paper Figs. 5 and 6): `scores` adds each fused FFN's retrieval scores act(u K^T)
   * [L, n] to the results as "memvp.scores.<layer>"; `mask` [n] multiplies memory entry i by mask[i] (0 blocks it).
   */
  memvp?: { scores?: boolean; mask?: Float32Array };
}

export interface RunEnv {
  readonly ctx: GpuContext;
  readonly step: Step;
  readonly options: RunOptions;
  /** options.memvp.mask on the GPU, uploaded once per run. */
  readonly memvpMask?: DeviceTensor;
  /** Adds a tensor the op wrote to the run's results (read back after the step). */
  extraOutput(name: string, t: DeviceTensor): void;
}

export interface OpImpl {
  /** Output types and shapes. `host[i]` holds input i's data when it is known on the CPU. */
  infer(node: Node, inputs: readonly (TensorMeta | undefined)[], host: readonly (HostTensor | undefined)[]): TensorMeta[];
  /**
   * CPU evaluation, used when every input is on the host: constant folding and shape arithmetic.
   * `metas` gives every input's type and dims (for ops that read only shapes).
   */
  host?(node: Node, inputs: readonly (HostTensor | undefined)[], metas: readonly (TensorMeta | undefined)[]): HostTensor[];
  /** host() reads only its inputs' shapes (Shape, Size): it runs on the CPU even when the input lives on the GPU. */
  readonly metaOnly?: boolean;
  /** Inputs that must be known on the host (Reshape's shape, Slice's starts, ...). */
  readonly hostInputs?: readonly number[];
  /** Output i is a view of input aliases[i] with another shape (Reshape, Squeeze, ...): no kernel runs. */
  readonly aliases?: readonly number[];
  /** Inputs uploaded as their raw bytes packed into u32 words instead of one element per word (quantized weights). */
  readonly packedInputs?: readonly number[];
  /** Reads inputs stored with kvCapacity as they are (the fused attention op). */
  readonly acceptsKvCache?: boolean;
  /** Outputs whose buffers record() returns itself instead of getting fresh ones (a KV cache grown in place). */
  readonly providesOutputs?: readonly number[];
  /**
   * Records the node's kernels; absent for alias ops. Returns the outputs listed in providesOutputs, by index. The
   * step compiles the pipelines of the dispatches recorded here before it submits them, so an op names its kernels
   * only where it records them.
   */
  record?(
    env: RunEnv,
    node: Node,
    inputs: readonly (DeviceTensor | undefined)[],
    /** Undefined at the indices of providesOutputs. */
    outputs: readonly (DeviceTensor | undefined)[],
    host: readonly (HostTensor | undefined)[],
  ): void | ReadonlyMap<number, DeviceTensor>;
}

/** The op registry: key is `domain:op` with '' for ONNX's default domain. */
export const OPS = new Map<string, OpImpl>();

export function registerOp(op: string, impl: OpImpl, domain = ''): void {
  OPS.set(`${domain}:${op}`, impl);
}

export function implFor(node: Node): OpImpl {
  const impl = OPS.get(`${node.domain === 'ai.onnx' ? '' : node.domain}:${node.op}`);
  if (!impl) throw new UnsupportedOpError(node);
  return impl;
}
