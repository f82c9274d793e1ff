export { quantizeModel, QuantizeError, QUANTIZER_REVISION } from './quantize-model.js';
export type { QuantizeModelOptions, QuantizeReport, QuantizedTableReport, QuantizedWeightReport, SkippedGatherReport, SkippedMatMulReport } from './quantize-model.js';
export { formatPackageReport, formatQuantizeReport } from './report.js';
