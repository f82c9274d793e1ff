// GPU time per kernel from timestamp queries. With a profiler attached (GpuContext.profiler), every Step encodes each
// dispatch in a compute pass of its own with timestamps at both ends, resolves them after the step's work and adds
// each dispatch's time to its kernel. A pass per dispatch and the extra readback slow a step down: this is for
// finding where time goes (`npm run bench:decode -- --profile`), not for the benchmarks' figures.

export interface KernelTime {
  /** The kernel's name (its shaders/ file). */
  kernel: string;
  dispatches: number;
  ms: number;
}

export class DispatchProfiler {
  private readonly byKernel = new Map<string, { dispatches: number; ns: number }>();

  /** Adds one dispatch of `kernel` that took `ns` nanoseconds on the GPU. */
  add(kernel: string, ns: number): void {
    const t = this.byKernel.get(kernel) ?? { dispatches: 0, ns: 0 };
    t.dispatches++;
    t.ns += ns;
    this.byKernel.set(kernel, t);
  }

  /** Kernels by total time, longest first. */
  report(): KernelTime[] {
    return [...this.byKernel].map(([kernel, t]) => ({ kernel, dispatches: t.dispatches, ms: t.ns / 1e6 })).sort((a, b) => b.ms - a.ms);
  }

  reset(): void {
    this.byKernel.clear();
  }
}
