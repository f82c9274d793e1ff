// The `memvp` command. Each subcommand prints its result and exits non-zero on failure, with a one-line reason.
import { answerCommand } from './answer.js';
import { parseArgs, numberOption, UsageError } from './args.js';
import { evalCommand } from './eval.js';
import { quantizeCommand } from './quantize.js';
import { runOnnxCase } from './run-onnx.js';

const USAGE = `usage:
  memvp answer --image FILE --question TEXT [--model DIR] [--mode memvp|input-space|text-only] [--max-tokens 4]
               [--backend auto|webgpu|wasm]
      answer a question about a PNG or JPEG image; the answer goes to stdout, timings to stderr
      (default model: public/models/sortofclevr-llama-q4 of this package, the 4-bit copy of sortofclevr-llama)
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
      OUT_DIR must be new, empty or a package, and not inside IN_DIR`;

async function runOnnx(argv: string[]): Promise<number> {
  const args = parseArgs(argv, new Set(['tolerance']));
  const dir = args.positional[0];
  if (!dir) throw new UsageError('run-onnx needs a case directory');
  const tolerance = numberOption(args, 'tolerance', 1e-3);
  const r = await runOnnxCase(dir, { tolerance, fusions: !args.options.has('no-fusions') });
  for (const o of r.outputs) {
    console.log(`${o.ok ? 'ok  ' : 'FAIL'} ${o.dataSet}/${o.name}: max abs diff ${o.maxAbsDiff.toExponential(3)}${o.detail ? ` (${o.detail})` : ''}`);
  }
  if (args.options.has('stats')) {
    console.log(`nodes ${r.stats.nodes} (folded ${r.stats.folded}, removed ${r.stats.removed}), pipelines ${r.pipelines}`);
    console.log(`fusions: ${JSON.stringify(r.stats.fusions)}`);
    console.log(`ops: ${JSON.stringify(r.stats.ops)}`);
  }
  console.log(r.passed ? `passed (tolerance ${tolerance})` : `FAILED (tolerance ${tolerance})`);
  return r.passed ? 0 : 1;
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  answer: (argv) => answerCommand(parseArgs(argv, new Set(['image', 'question', 'model', 'mode', 'max-tokens', 'backend']))),
  eval: (argv) => evalCommand(parseArgs(argv, new Set(['split', 'limit', 'mode', 'json', 'model', 'backend']))),
  quantize: (argv) => quantizeCommand(parseArgs(argv, new Set(['bits', 'vision-bits', 'block']))),
  'run-onnx': runOnnx,
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const run = cmd ? COMMANDS[cmd] : undefined;
  if (!run) {
    console.error(cmd && cmd !== '--help' ? `unknown command "${cmd}"\n${USAGE}` : USAGE);
    return cmd === '--help' ? 0 : 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    const err = e as Error;
    console.error(`memvp ${cmd}: ${err.name}: ${err.message}`);
    return err instanceof UsageError ? 2 : 1;
  }
}
