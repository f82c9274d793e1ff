import { builtinModules } from 'node:module';
import { defineConfig, type Plugin, type UserConfig } from 'vite';

// Node's modules, which the runtime (and onnxruntime-web's WASM module) import behind a Node check: browser bundles
// leave them out (and the library keeps working in Node, where they exist).
const NODE_ONLY = [/^node:/, ...builtinModules];

// onnxruntime-web's bundle carries its WASM module's JS inside, but uses that copy only for a page of the same
// origin; elsewhere (Node, where file: URLs have no origin) it imports ort-wasm-simd-threaded.jsep.mjs from beside
// itself. Emitting that file as a chunk next to the bundle's chunk lets Vite point its `new URL(.wasm,
// import.meta.url)` at the one emitted .wasm.
const ORT_WASM_MODULE = 'ort-wasm-simd-threaded.jsep.mjs';
function ortWasmModule(): Plugin {
  return {
    name: 'memvp:ort-wasm-module',
    buildStart() {
      this.emitFile({ type: 'chunk', id: `onnxruntime-web/${ORT_WASM_MODULE}`, fileName: `chunks/${ORT_WASM_MODULE}` });
    },
  };
}

// Three builds, all into dist/ (`npm run build` runs them all):
// - `vite build --mode node`: the Node CLI (dist/node/cli.js, dependencies left as imports);
// - `vite build --mode lib`: the library (dist/memvp-webgpu.js, one ES module for pages, bundlers and workers, and
//   dist/tasks/sortofclevr.js, the demo task;
//   its type declarations come from tsconfig.build.json);
// - `vite build`: the demo page (dist/demo/). `vite` serves the demo; `--mode e2e` serves it for the Playwright
//   tests with file watching and reloads off, since other people edit the tree while they run.
export default defineConfig(({ mode }): UserConfig => {
  if (mode === 'node') {
    return {
      publicDir: false,
      build: {
        ssr: true,
        outDir: 'dist/node',
        emptyOutDir: true,
        target: 'node20',
        rollupOptions: { input: { cli: 'src/cli/main.ts' }, output: { format: 'es', entryFileNames: '[name].js' } },
      },
    };
  }
  if (mode === 'lib') {
    // A plain build with an exporting entry rather than `build.lib`: library mode inlines every asset, and
    // onnxruntime-web's 28 MB .wasm would become base64 inside the JS. Here it is emitted beside the module and
    // found through `new URL(..., import.meta.url)`, which bundlers that consume the library follow too.
    // No hashes: rebuilds overwrite the same files, and dist/ is shared with the other builds. URLs relative to the
    // module (base './') and no module preloading (it needs a document): the module works wherever it is served,
    // in workers too. Not minified: the consumer's bundler does that, and its dev server needs the /* @vite-ignore */
    // comments on the Node-only imports.
    return {
      publicDir: false,
      base: './',
      // process.env stays process.env (Vite would make it `{}`): in Node the SwiftShader set-up
      // (src/gpu/node-webgpu.ts) has to reach Dawn through it; browsers never run that code.
      environments: { client: { keepProcessEnv: true } },
      plugins: [ortWasmModule()],
      build: {
        outDir: 'dist',
        emptyOutDir: false,
        modulePreload: false,
        minify: false,
        rollupOptions: {
          input: { 'memvp-webgpu': 'src/index.ts', 'tasks/sortofclevr': 'src/tasks/sortofclevr/index.ts' },
          preserveEntrySignatures: 'strict',
          external: NODE_ONLY,
          output: { entryFileNames: '[name].js', chunkFileNames: 'chunks/[name].js', assetFileNames: 'assets/[name][extname]' },
        },
      },
    };
  }
  return {
    // No single-page fallback: a missing model file is a 404, not index.html parsed as JSON.
    appType: 'mpa',
    build: { outDir: 'dist/demo', emptyOutDir: true, rollupOptions: { external: NODE_ONLY } },
    worker: { format: 'es', rollupOptions: { external: NODE_ONLY } },
    // The worker's imports are found up front: discovering them on first use would reload the page.
    // onnxruntime-web stays unbundled, so its .wasm is still found beside it (import.meta.url).
    optimizeDeps: { entries: ['index.html', 'src/demo/worker.ts'], exclude: ['onnxruntime-web'] },
    server: mode === 'e2e' ? { hmr: false, watch: null } : {},
  };
});
