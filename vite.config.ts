import { defineConfig } from 'vite';

// `vite build --mode node` builds the Node CLI (dist/node/cli.js, dependencies left as imports).
export default defineConfig(({ mode }) =>
  mode === 'node'
    ? {
        publicDir: false,
        build: {
          ssr: true,
          outDir: 'dist/node',
          emptyOutDir: true,
          target: 'node20',
          rollupOptions: { input: { cli: 'src/cli/main.ts' }, output: { format: 'es', entryFileNames: '[name].js' } },
        },
      }
    : {},
);
