// The `memvp` command. Each subcommand prints its result and exits non-zero on failure, with a one-line reason.
import { parseArgs, numberOption, UsageError } from './args.js';
import { runOnnxCase } from './run-onnx.js';

const USAGE = `usage:
  memvp run-onnx <dir> [--tolerance 1e-3] [--stats] [--no-fusions]
      run a case in ONNX's backend-test layout (model.onnx, test_data_set_*/input_*.pb, output_*.pb) and
      compare every output with the expected one`;

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

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { 'run-onnx': runOnnx };

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
