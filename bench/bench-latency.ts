// npm run bench [-- --out FILE] [--quick] [--runs N] [--chromium PATH] [--model DIR] [--llama-dir DIR] [--eval-images N]
//                  [--fusions auto|on|off] [--no-quant]
//
// End-to-end latency of the runtime in headless Chromium on its WebGPU adapter (SwiftShader on machines without a
// GPU), the paper's Figure 2 for this runtime: time to first token of MemVP vs input-space vs text-only over text
// lengths, our runtime vs onnxruntime-web (WebGPU EP, WASM EP) on the same ONNX files, f32 vs 8-bit vs 4-bit.
// Models: (a) the demo model (public/models/sortofclevr-llama, or the dev package in /tmp/memvp-dev-model while
// that is missing), (b) a LLaMA-shaped model with random weights made by training/make_bench_model.py into a
// gitignored cache (.cache/bench-llama, reused). --quick: the demo model only, fewer runs.
// Everything in the browser runs in one page (bench/latency.html -> bench/latency-suite.ts) served by a Vite dev
// server on localhost (bench/browser.ts openBenchPage); model files come from a middleware of that server.
// Node then runs the accuracy part (memvp eval on the f32 and 4-bit demo packages) and writes
// docs/bench/latency.json (or --out), latency.md and latency.svg next to it.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Plugin } from 'vite';
import { CHROMIUM_PATH, chromiumProblem, openBenchPage } from './browser.js';
import {
  ADAPTER_CAVEATS,
  LATENCY_RATIOS,
  LATENCY_TARGETS,
  latencyMarkdown,
  latencySvg,
  prefillFlops,
  summaryFor,
  type AccuracyPart,
  type LatencyBenchFile,
  type LatencyRatio,
  type LatencySummary,
  type QuantPart,
} from './latency-report.js';
import type { LatencyPageResult, LatencyPlan, ModelKey, ModelPlan, Precision } from './latency-types.js';
import { LATENCY_MODES } from './latency-types.js';
import { MIN_PAIRS, verdictLine, type PairedRatio } from './stats.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TIME_LIMIT_MS = 30 * 60_000;

const argv = process.argv.slice(2).filter((a) => a !== '--');
const { values: args } = parseArgs({
  args: argv,
  options: {
    out: { type: 'string', default: join(root, 'docs/bench/latency.json') },
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    chromium: { type: 'string', default: CHROMIUM_PATH },
    model: { type: 'string' },
    'llama-dir': { type: 'string', default: join(root, '.cache/bench-llama') },
    'quant-dir': { type: 'string', default: join(root, '.cache/bench-quant') },
    'eval-images': { type: 'string' },
    'no-quant': { type: 'boolean', default: false },
    fusions: { type: 'string', default: 'auto' },
  },
});
const quick = args.quick;
// Pairs at the main length (the summary's ratios); the sweep's other lengths and slow trials get MIN_PAIRS.
const runs = Number(args.runs ?? (quick ? MIN_PAIRS : 12));
// The q4 accuracy figures come from test images 0..N-1 (36 questions each): 20 images = 720 questions in about
// 5 minutes here; --quick scores 3.
const evalImages = Number(args['eval-images'] ?? (quick ? 3 : 20));

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(1);
}

if (!Number.isInteger(runs) || runs < MIN_PAIRS) fail(`--runs must be an integer >= ${MIN_PAIRS} (pairs for a 95% interval)`);
if (!Number.isInteger(evalImages) || evalImages < 0) fail('--eval-images must be a non-negative integer');
if (!['on', 'off', 'auto'].includes(args.fusions)) fail('--fusions must be on, off or auto');
const chromiumMissing = chromiumProblem(args.chromium);
if (chromiumMissing) fail(chromiumMissing);

/** The demo package: --model, else the shipped one, else the dev package other engineers use while it is missing. */
function demoDir(): string {
  const candidates = args.model ? [resolve(args.model)] : [join(root, 'public/models/sortofclevr-llama'), '/tmp/memvp-dev-model'];
  const dir = candidates.find((d) => existsSync(join(d, 'manifest.json')));
  if (!dir) fail(`no demo model package (manifest.json) in ${candidates.join(' or ')}`);
  return dir;
}

/** training/make_bench_model.py: makes the LLaMA-shaped model, or says it reuses the cached one. */
function ensureLlamaModel(dir: string): number | null {
  const t0 = performance.now();
  console.log(`bench: LLaMA-shaped model in ${dir} (training/make_bench_model.py) ...`);
  const r = spawnSync('/usr/bin/python3', [join(root, 'training/make_bench_model.py'), '--out', dir], { cwd: root, encoding: 'utf8' });
  const lines = `${r.stdout ?? ''}`.trim().split('\n').filter(Boolean);
  for (const line of lines) console.log(`  ${line}`);
  if (r.status !== 0) fail(`make_bench_model.py failed (exit ${r.status}):\n${(r.stderr ?? '').split('\n').slice(-15).join('\n')}`);
  return lines.some((l) => l.includes('reusing')) ? null : Math.round((performance.now() - t0) / 1000);
}

// ------------------------------------------------------------------------------------------------ quantized files
// The clearly separated precision path: 8-bit and 4-bit decoders from the project's quantizer (src/quant), cached.
interface QuantMade {
  part: QuantPart;
  /** model key -> extra directories served under that model's URL, and the plan entries */
  extraDirs: Partial<Record<ModelKey, string>>;
  planned: Partial<Record<ModelKey, ModelPlan['quantized']>>;
}

async function makeQuantized(models: { key: ModelKey; dir: string }[]): Promise<QuantMade> {
  const made: QuantMade = { part: { pending: null, files: {} }, extraDirs: {}, planned: {} };
  if (args['no-quant']) {
    made.part.pending = 'skipped (--no-quant)';
    return made;
  }
  let lib: typeof import('../src/quant/package.js');
  try {
    lib = await import('../src/quant/package.js');
  } catch (e) {
    made.part.pending = `the project quantizer (src/quant) could not be loaded: ${(e as Error).message}`;
    return made;
  }
  for (const { key, dir } of models) {
    const out = join(args['quant-dir'], key);
    mkdirSync(out, { recursive: true });
    made.extraDirs[key] = out;
    const files: Partial<Record<Precision, { file: string; bytes: number }>> = { f32: { file: 'decoder.onnx', bytes: statSync(join(dir, 'decoder.onnx')).size } };
    const planned: ModelPlan['quantized'] = [];
    for (const bits of [8, 4] as const) {
      const name = `decoder.q${bits}.onnx`;
      try {
        const q = await lib.quantizeFile(join(dir, 'decoder.onnx'), join(out, name), { bits, reuse: true });
        console.log(`bench: ${key} ${name}: ${(q.bytes / 1e6).toFixed(1)} MB, ${q.report.quantized.length} weights quantized${q.reused ? ' (reused)' : ` in ${q.seconds.toFixed(0)} s`}`);
        files[`q${bits}`] = { file: name, bytes: q.bytes };
        planned.push({ precision: `q${bits}`, file: name });
      } catch (e) {
        made.part.pending = `${key} ${name}: ${(e as Error).message}`;
        console.error(`bench: quantizing ${key} decoder.onnx to ${bits} bits failed: ${(e as Error).message}`);
      }
    }
    made.part.files[key] = files;
    made.planned[key] = planned;
  }
  return made;
}

// ------------------------------------------------------------------------------------------------ model server
/** Serves /bench-models/<key>/<file> from the model's directories (first hit wins); nothing else, no listings. */
function modelFiles(mounts: Partial<Record<ModelKey, string[]>>): Plugin {
  return {
    name: 'memvp-bench-models',
    configureServer(server) {
      server.middlewares.use('/bench-models', (req, res, next) => {
        const [key, ...rest] = decodeURIComponent((req.url ?? '').split('?')[0]!).replace(/^\/+/, '').split('/');
        const name = rest.join('/');
        const dirs = mounts[key as ModelKey];
        if (!dirs || !name || name.split('/').includes('..')) return next();
        for (const d of dirs) {
          const file = resolve(d, name);
          if (!file.startsWith(resolve(d) + sep) || !existsSync(file) || !statSync(file).isFile()) continue;
          res.writeHead(200, { 'Content-Type': name.endsWith('.json') ? 'application/json' : 'application/octet-stream', 'Content-Length': statSync(file).size, 'Cache-Control': 'no-store' });
          createReadStream(file).pipe(res);
          return;
        }
        next();
      });
    },
  };
}

async function runPage(plan: LatencyPlan, mounts: Partial<Record<ModelKey, string[]>>): Promise<{ result: LatencyPageResult; browserLabel: string }> {
  const bench = await openBenchPage('bench/latency.html', {
    chromium: args.chromium,
    cacheName: 'memvp-bench-latency-vite',
    plugins: [modelFiles(mounts)],
    ready: 'benchLatency',
    readyTimeoutMs: 120_000,
  });
  try {
    type Bench = (plan: LatencyPlan) => Promise<LatencyPageResult>;
    const result = await bench.page.evaluate((p) => (window as unknown as { benchLatency: Bench }).benchLatency(p), plan);
    return { result, browserLabel: bench.browserLabel };
  } finally {
    await bench.close();
  }
}

// ------------------------------------------------------------------------------------------------ accuracy (Node)
async function accuracy(demo: string): Promise<AccuracyPart> {
  const part: AccuracyPart = { pending: null, split: 'test', images: evalImages, questions: 0, f32Accuracy: null, q4Accuracy: null, agreement: null, source: '' };
  if (args['no-quant']) return { ...part, pending: 'skipped (--no-quant)' };
  if (evalImages === 0) return { ...part, pending: 'skipped (--eval-images 0)' };
  try {
    const quant = await import('../src/quant/package.js');
    const acc = await import('./latency-accuracy.js');
    const t0 = performance.now();
    // The zoo's 4-bit package settings (npm run zoo:q4): 4-bit language model, 8-bit vision encoder.
    const q4 = await quant.quantizePackage(demo, join(args['quant-dir'], 'demo-q4-package'), { bits: 4, visionBits: 8, reuse: true });
    console.log(`bench: 4-bit demo package in ${q4.dir}; memvp eval --split test --limit ${evalImages} (f32, then 4-bit) ...`);
    const agree = await acc.answerAgreement(demo, q4.dir, 'test', evalImages);
    // --quick: accuracies from the agreement pass (scored like memvp eval); full: from memvp eval itself as well.
    const f32Eval = quick ? null : await acc.evalAccuracy(demo, 'test', evalImages);
    const q4Eval = quick ? null : await acc.evalAccuracy(q4.dir, 'test', evalImages);
    const f32Accuracy = f32Eval?.overall ?? agree.accuracyA;
    const q4Accuracy = q4Eval?.overall ?? agree.accuracyB;
    const consistent = !f32Eval || (Math.abs(f32Eval.overall - agree.accuracyA) < 1e-9 && Math.abs(q4Eval!.overall - agree.accuracyB) < 1e-9);
    console.log(`bench: accuracy f32 ${f32Accuracy.toFixed(4)}, 4-bit ${q4Accuracy.toFixed(4)}, agreement ${agree.agreement.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    return {
      ...part,
      questions: agree.questions,
      f32Accuracy,
      q4Accuracy,
      agreement: agree.agreement,
      source:
        (quick
          ? 'accuracies scored like `memvp eval` (greedy first answer token == answer word) in the agreement pass (--quick skips the separate eval runs)'
          : 'accuracies from the project eval (src/cli/eval.ts evalCommand = `memvp eval --split test --limit N --mode memvp --backend webgpu`, in Node on Dawn)' +
            (consistent ? ', equal to the agreement pass\'s own scoring' : `; the agreement pass scored ${agree.accuracyA.toFixed(4)} / ${agree.accuracyB.toFixed(4)} (differs!)`)) +
        '; models: the demo package and its 4-bit copy as the zoo ships it (src/quant quantizePackage: the language model graphs at 4 bits, the vision encoder graphs at 8, block 32, zero points); ' +
        'agreement: the same questions, greedy first answer token of both models compared',
    };
  } catch (e) {
    console.error(`bench: the Node-side eval failed: ${(e as Error).stack}`);
    return { ...part, pending: `the Node-side eval failed: ${(e as Error).message}` };
  }
}

// ------------------------------------------------------------------------------------------------ main
const METHOD =
  'One headless Chromium page, our runtime and onnxruntime-web on the same WebGPU adapter. A trial is one fresh sequence: the prompt ' +
  '(seeded random ids of length L) is prefilled in one decoder run (input-space: the visual embeddings and the text embeddings concatenated ' +
  'on the GPU, then one run), the last position\'s logits are read back and the greedy token picked (TTFT = wall clock from feeding to that ' +
  'token id on the CPU), then decodeSteps greedy steps (one token in, logits read back) with the KV cache kept on the GPU: ours keeps the ' +
  'presents on the GPU and feeds them back as pasts (grown in place); ORT WebGPU EP outputs the presents as gpu-buffer tensors (preferredOutputLocation) ' +
  'that are fed back as its own tensors; ORT WASM EP uses CPU tensors (1 thread). Measurements compared with each other are timed in turns ' +
  '(bench/timing.ts timeInterleaved, one round of every entry before the next round of any), after `warmup` untimed rounds; medians over ' +
  '`runs` timed trials at the main length, `sweepRuns` at the sweep\'s other lengths, `slowRuns` when a trial takes longer than `slowRunMs`. Compile time = first (cold) trial minus the median warm one ' +
  '(prefill + first decode step), for runners whose first trial it was; pipelines are compiled by the first run that needs them, and ' +
  'Chromium may reuse shaders compiled earlier in the same page (another GPU device, the fusion probe), so later configurations can show less. Load = fetch from localhost + session creation ' +
  '(parse, graph passes, weight upload). Each of our configurations has its own GPU context, so its buffer-pool peak is its own. ' +
  'The order of the entries reverses every other round (A B, B A, ...). ' +
  'Ratios (summary and the sweep tables) are medians of per-round ratios a_i / b_i of the two interleaved entries (paired: trial i of both ran ' +
  'back to back), which cancels load drifting between rounds on the shared machine; beside each is its 95% interval (`<name>Ci`): the ' +
  'distribution-free order-statistic interval of a median (sign-test interval, bench/stats.ts), which needs no normal noise and at least 6 pairs. ' +
  'A summary figure whose interval crosses its target is reported as undecided. The tables\' ms columns are plain medians. ' +
  'ORT WebGPU EP decodes at most `ortWebgpuDecodeSteps` steps per trial (it takes seconds per token on SwiftShader). ' +
  'The FLOP ratio columns are exact matmul FLOP ratios of the graphs (Eq. 13-15 generalised to SwiGLU, GQA and the LM head).';

const t0 = performance.now();
setTimeout(() => fail(`gave up after ${TIME_LIMIT_MS / 60_000} minutes`), TIME_LIMIT_MS).unref();
try {
  const demo = demoDir();
  const llamaDir = quick ? null : resolve(args['llama-dir']);
  const generated = llamaDir ? ensureLlamaModel(llamaDir) : null;
  const modelDirs: { key: ModelKey; dir: string }[] = [{ key: 'demo', dir: demo }, ...(llamaDir ? [{ key: 'llama' as const, dir: llamaDir }] : [])];
  const quant = await makeQuantized(modelDirs);
  const lengths = [16, 32, 64, 128, 256];
  const plan: LatencyPlan = {
    models: modelDirs.map(({ key }) => ({
      key,
      base: `/bench-models/${key}/`,
      lengths,
      mainLength: 64,
      decodeSteps: key === 'demo' ? 8 : 4,
      ort: true,
      quantized: quant.planned[key] ?? [],
    })),
    runs,
    sweepRuns: MIN_PAIRS,
    slowRuns: MIN_PAIRS,
    slowRunMs: 5000,
    warmup: 1,
    ortWebgpuDecodeSteps: 2,
    fusions: args.fusions as LatencyPlan['fusions'],
    wasmPaths: '/node_modules/onnxruntime-web/dist/',
  };
  const mounts: Partial<Record<ModelKey, string[]>> = Object.fromEntries(modelDirs.map(({ key, dir }) => [key, [dir, ...(quant.extraDirs[key] ? [quant.extraDirs[key]!] : [])]]));
  console.log(`bench: ${quick ? 'quick (demo model only)' : 'full'} run, models ${modelDirs.map((m) => `${m.key}=${m.dir}`).join(', ')}`);
  const { result, browserLabel } = await runPage(plan, mounts);
  const acc = await accuracy(demo);

  const llama = summaryFor(result, 'llama');
  const demoSummary = summaryFor(result, 'demo');
  const notes: Record<string, string> = {};
  const pick = (k: LatencyRatio): PairedRatio | null => {
    const fromLlama = llama[k];
    if (fromLlama != null) {
      notes[k] = `llama (LLaMA-shaped, random weights)${fromLlama.pairs ? `, ${fromLlama.pairs} pairs` : ''}`;
      return fromLlama;
    }
    const fromDemo = demoSummary[k];
    if (fromDemo != null) {
      notes[k] = `${quick ? 'demo model (--quick has no LLaMA-shaped model)' : 'demo model (no LLaMA-shaped figure)'}${fromDemo.pairs ? `, ${fromDemo.pairs} pairs` : ''}`;
      return fromDemo;
    }
    notes[k] = k.startsWith('q') && quant.part.pending ? `pending: ${quant.part.pending}` : 'not measured (see errors)';
    return null;
  };
  const picked = LATENCY_RATIOS.map((k) => [k, pick(k)] as const);
  const summary = {
    ...Object.fromEntries(picked.flatMap(([k, p]) => [[k, p?.ratio ?? null], [`${k}Ci`, p?.ci ?? null]])),
    q4AccuracyDrop: acc.f32Accuracy !== null && acc.q4Accuracy !== null ? (acc.f32Accuracy - acc.q4Accuracy) * 100 : null,
    q4AnswerAgreement: acc.agreement,
  } as LatencySummary;
  notes.q4AccuracyDrop = acc.pending ? `pending: ${acc.pending}` : `demo model, memvp mode, test split, ${acc.images} images (${acc.questions} questions), percentage points`;
  notes.q4AnswerAgreement = acc.pending ? `pending: ${acc.pending}` : `demo model, same ${acc.questions} questions`;

  const predicted: LatencyBenchFile['predictedPrefillGflop'] = {};
  for (const m of result.models) {
    predicted[m.key] = Object.fromEntries(LATENCY_MODES.map((mode) => [mode, Object.fromEntries(m.lengths.map((L) => [String(L), prefillFlops(m, mode, L) / 1e9]))]));
  }
  const file: LatencyBenchFile = {
    summary,
    summaryNotes: notes,
    summaryDemo: demoSummary,
    adapterCaveats: ADAPTER_CAVEATS,
    ...result,
    method: METHOD,
    quant: quant.part,
    accuracy: acc,
    predictedPrefillGflop: predicted,
    browser: browserLabel,
    command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
    quick,
    demoModelDir: demo,
    llamaModelDir: llamaDir,
    llamaModelGeneratedSeconds: generated,
    generatedAt: new Date().toISOString(),
    totalSeconds: Math.round((performance.now() - t0) / 1000),
  };
  const out = resolve(args.out);
  const stem = out.replace(/\.json$/, '');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`);
  writeFileSync(`${stem}.md`, latencyMarkdown(file));
  writeFileSync(`${stem}.svg`, latencySvg(file));
  console.log('');
  for (const k of [...LATENCY_RATIOS, 'q4AccuracyDrop', 'q4AnswerAgreement'] as const) {
    const ci = k === 'q4AccuracyDrop' || k === 'q4AnswerAgreement' ? null : summary[`${k}Ci`];
    console.log(`  ${verdictLine(k, summary[k], ci, LATENCY_TARGETS[k])}  (${notes[k]})`);
  }
  console.log(`bench: wrote ${out}, ${stem}.md, ${stem}.svg (${file.totalSeconds} s)`);
  const failed = Object.keys(result.errors);
  if (failed.length) throw new Error(`${failed.length} measurement group(s) failed: ${failed.join(', ')} (see "errors" in the JSON)`);
} catch (e) {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
// The GPU device of the Node-side eval would otherwise keep Node alive.
process.exit(process.exitCode ?? 0);
