// `memvp quantize IN OUT --bits 4|8`: one ONNX file, or a whole model package when IN is a directory
// (--vision-bits: other bits for its vision encoder).
import { stat } from 'node:fs/promises';
import type { QuantBits } from '../kernels/quant.js';
import { formatPackageReport, formatQuantizeReport } from '../quant/index.js';
import { quantizeFile, quantizePackage } from '../quant/package.js';
import { numberOption, UsageError, type Args } from './args.js';

export async function quantizeCommand(args: Args): Promise<number> {
  const [input, output, extra] = args.positional;
  if (!input || !output || extra !== undefined) throw new UsageError('quantize needs IN and OUT (two .onnx files, or two package directories)');
  if (!args.options.has('bits')) throw new UsageError('quantize needs --bits 4 or --bits 8');
  const options = {
    bits: numberOption(args, 'bits', 0) as QuantBits,
    blockSize: numberOption(args, 'block', 32),
    symmetric: args.options.has('symmetric'),
    skipEmbeddings: args.options.has('skip-embeddings'),
  };
  const isDir = await stat(input).then((s) => s.isDirectory(), () => false);
  if (args.options.has('vision-bits') && !isDir) throw new UsageError('--vision-bits is for model packages (IN a directory)');
  if (isDir) {
    const visionBits = args.options.has('vision-bits') ? (numberOption(args, 'vision-bits', 0) as QuantBits) : undefined;
    const pkg = await quantizePackage(input, output, { ...options, visionBits });
    console.log(formatPackageReport(pkg));
    console.log(`wrote ${pkg.dir} (${pkg.manifest.name}, dtype ${pkg.manifest.dtype})`);
    return 0;
  }
  const q = await quantizeFile(input, output, options);
  console.log(formatQuantizeReport(q.report, { before: q.bytesBefore, after: q.bytes }));
  console.log(`wrote ${output}`);
  return 0;
}
