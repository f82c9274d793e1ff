// The storage type codes of shaders/lib/op_types.wgsl, which the ONNX-typed kernels (op_unary, op_binary,
// op_reduce, op_cumsum) take as specialisation constants.
import type { DType } from '../gpu/index.js';

export const STORAGE: Record<DType, number> = { f32: 0, i32: 1, u32: 2 };
