// The page bench/bench-latency.ts drives (bench/latency.html): exposes window.benchLatency(plan) and logs progress
// to the console (forwarded to the terminal) and the page.
import { runLatencyBench } from './latency-suite.js';
import type { LatencyPlan } from './latency-types.js';

const logEl = document.getElementById('log')!;
const log = (message: string) => {
  console.log(message);
  logEl.textContent += `${message}\n`;
};

const bench = (plan: LatencyPlan) => runLatencyBench({ plan, log });
(window as unknown as { benchLatency: typeof bench }).benchLatency = bench;
