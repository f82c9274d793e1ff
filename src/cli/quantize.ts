// `memvp quantize IN OUT --bits 4|8`: one ONNX file, or a whole model package when IN is a directory
// (--vision-bits: other bits for its vision encoder).
import { stat } from 'node:fs/promises';
import type { QuantBits } from '../kernels/quant.js';
import { formatPackageReport, formatQuantizeReport } from '../quant/index.js';
import { quantizeFile, quantizePackage } from '../quant/package.js';
import { choiceFlag, numberFlag, parseFlags, UsageError } from './options.js';

const BITS = ['4', '8'] as const;

export async function quantizeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { bits: { type: 'string' }, 'vision-bits': { type: 'string' }, block: { type: 'string' }, symmetric: { type: 'boolean' }, 'skip-embeddings': { type: 'boolean' } },
    true,
  );
  const [input, output, extra] = positionals;
  if (!input || !output || extra !== undefined) throw new UsageError('quantize needs IN and OUT (two .onnx files, or two package directories)');
  if (values.bits === undefined) throw new UsageError('quantize needs --bits 4 or --bits 8');
  const options = {
    bits: Number(choiceFlag(values.bits, 'bits', BITS, '4')) as QuantBits,
    blockSize: numberFlag(values.block, 'block', 32, { min: 1, max: 1 << 16, integer: true }),
    symmetric: values.symmetric === true,
    skipEmbeddings: values['skip-embeddings'] === true,
  };
  const isDir = await stat(input).then((s) => s.isDirectory(), () => false);
  if (values['vision-bits'] !== undefined && !isDir) throw new UsageError('--vision-bits is for model packages (IN a directory)');
  if (isDir) {
    const visionBits = values['vision-bits'] === undefined ? undefined : (Number(choiceFlag(values['vision-bits'], 'vision-bits', BITS, '4')) as QuantBits);
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
