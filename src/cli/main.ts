// The `memvp` command. Each subcommand prints its result; a failure prints a one-line reason and exits non-zero
// (EXIT in options.ts: 1 when the work failed, 2 for usage and bad input).
import { ImageDecodeError, ImageTooLargeError, OptionError, QuestionError } from '../memvp/errors.js';
import { answerCommand } from './answer.js';
import { evalCommand } from './eval.js';
import { EXIT, numberFlag, parseFlags, UsageError } from './options.js';
import { quantizeCommand } from './quantize.js';
import { runOnnxCase } from './run-onnx.js';

const USAGE = `usage:
  memvp answer --image FILE --question TEXT [--model DIR] [--mode memvp|input-space|text-only] [--max-tokens 4]
               [--backend auto|webgpu|wasm]
      answer a question about a PNG or JPEG image; the answer goes to stdout, timings to stderr
      (default model: public/models/sortofclevr-llama-q4 of this package, the 4-bit copy of sortofclevr-llama).
      The image and the question are checked before the model loads
  memvp eval [--split test] [--limit IMAGES] [--mode M] [--json FILE] [--model DIR] [--backend B]
      accuracy on all 36 questions of each image of a split (the training pipeline's evaluation set), scored on the
      greedy first answer token; prints { overall, nonRelational, relational, perType, n, mode, backend }
  memvp run-onnx <dir> [--tolerance 1e-3] [--stats] [--no-fusions]
      run a case in ONNX's backend-test layout (model.onnx, test_data_set_*/input_*.pb, output_*.pb) and
      compare every output with the expected one
  memvp quantize IN.onnx OUT.onnx --bits 4|8 [--block 32] [--symmetric] [--skip-embeddings]
      rewrite every MatMul with a constant f32 [K, N] weight (K a multiple of 4) into onnxruntime's com.microsoft
      MatMulNBits and every Gather (axis 0) of a constant f32 [vocab, d] table into GatherBlockQuantized (blocks
      along d); --skip-embeddings keeps the embedding tables and the vocabulary projection in f32. Prints sizes
      and the error of every quantized weight and table; OUT.onnx holds all its data (external data is read in)
  memvp quantize IN_DIR OUT_DIR --bits 4|8 [--vision-bits 4|8] [--block 32] [--symmetric] [--skip-embeddings]
      the same for a whole model package (IN_DIR holds manifest.json): every .onnx file quantized (the vision
      encoder's with --vision-bits when given), the other files copied, manifest.json rewritten (sha256, sizes,
      dtype q4|q8 from --bits, "quantized"); answer/eval --model OUT_DIR take it.
      OUT_DIR must be new, empty or a package, and not inside IN_DIR
  memvp --help (or COMMAND --help): this text

exit codes:
  ${EXIT.ok}  done (run-onnx: every output within the tolerance)
  ${EXIT.failure}  the work failed: the model package could not be loaded, no backend, inference failed, run-onnx
     outputs differ from the expected ones, a file could not be written
  ${EXIT.usage}  usage or bad input, found before any model loads: an unknown command or flag, a flag without its value,
     a number out of range, an image that is missing, not a file or not a PNG/JPEG, an empty or too long question`;

async function runOnnx(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { tolerance: { type: 'string' }, stats: { type: 'boolean' }, 'no-fusions': { type: 'boolean' } }, true);
  const [dir, extra] = positionals;
  if (!dir || extra !== undefined) throw new UsageError('run-onnx needs one case directory');
  const tolerance = numberFlag(values.tolerance, 'tolerance', 1e-3, { min: 0, max: Number.MAX_VALUE });
  const r = await runOnnxCase(dir, { tolerance, fusions: values['no-fusions'] !== true });
  for (const o of r.outputs) {
    console.log(`${o.ok ? 'ok  ' : 'FAIL'} ${o.dataSet}/${o.name}: max abs diff ${o.maxAbsDiff.toExponential(3)}${o.detail ? ` (${o.detail})` : ''}`);
  }
  if (values.stats) {
    console.log(`nodes ${r.stats.nodes} (folded ${r.stats.folded}, removed ${r.stats.removed}), pipelines ${r.pipelines}`);
    console.log(`fusions: ${JSON.stringify(r.stats.fusions)}`);
    console.log(`ops: ${JSON.stringify(r.stats.ops)}`);
  }
  console.log(r.passed ? `passed (tolerance ${tolerance})` : `FAILED (tolerance ${tolerance})`);
  return r.passed ? EXIT.ok : EXIT.failure;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  answer: answerCommand,
  eval: evalCommand,
  quantize: quantizeCommand,
  'run-onnx': runOnnx,
};

/** Errors that say the user's input is wrong rather than that the work failed. */
const BAD_INPUT = [UsageError, ImageDecodeError, ImageTooLargeError, QuestionError, OptionError];

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return EXIT.ok;
  }
  const run = cmd ? COMMANDS[cmd] : undefined;
  if (!run) {
    console.error(cmd ? `memvp: unknown command "${cmd}"\n${USAGE}` : USAGE);
    return EXIT.usage;
  }
  try {
    return await run(rest);
  } catch (e) {
    const err = e as Error;
    console.error(`memvp ${cmd}: ${err.name}: ${err.message}`);
    return BAD_INPUT.some((E) => err instanceof E) ? EXIT.usage : EXIT.failure;
  }
}
