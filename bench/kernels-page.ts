// The page bench/bench-kernels.ts drives: exposes window.benchKernels(runs, warmup) and logs progress to
// the console and the page; with ?run in the URL it runs by itself and shows the JSON.
import { runKernelBench } from './kernels-suite.js';

const logEl = document.getElementById('log')!;
const log = (message: string) => {
  console.log(message);
  logEl.textContent += `${message}\n`;
};

const bench = (runs: number, warmup: number) => runKernelBench({ runs, warmup, wasmPaths: '/node_modules/onnxruntime-web/dist/', log });
(window as unknown as { benchKernels: typeof bench }).benchKernels = bench;

if (new URLSearchParams(location.search).has('run')) {
  bench(5, 1).then(
    (r) => log(JSON.stringify(r, null, 2)),
    (e: unknown) => log(`failed: ${e instanceof Error ? e.stack : String(e)}`),
  );
}
