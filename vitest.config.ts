import { defineConfig } from 'vitest/config';

// Kernel tests run on a real (software) WebGPU adapter through Dawn's Node binding:
// one fork at a time keeps two SwiftShader devices from fighting over the 2 cores.
// Two projects: `unit` (the vitest suite) and `training` (the Python pipeline's smoke run, minutes of torch on the
// CPU), so `npm test` runs them as separate steps (npm run test:unit, npm run test:training).
export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/training-smoke.test.ts'] } },
      { extends: true, test: { name: 'training', include: ['test/training-smoke.test.ts'] } },
    ],
  },
});
