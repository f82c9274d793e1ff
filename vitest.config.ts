import { defineConfig } from 'vitest/config';

// Kernel tests run on a real (software) WebGPU adapter through Dawn's Node binding:
// one fork at a time keeps two SwiftShader devices from fighting over the 2 cores.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
