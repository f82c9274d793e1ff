export { quantizeModel, QuantizeError } from './quantize-model.js';
export type { QuantizeModelOptions, QuantizeReport, QuantizedWeightReport, SkippedMatMulReport } from './quantize-model.js';
export { formatQuantizeReport } from './report.js';
