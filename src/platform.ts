// Node's own modules, for the few places the runtime touches files, and Dawn's binding (the `webgpu` package). They
// are loaded on demand from specifiers held in variables: a literal `import('node:fs/promises')` would make browser
// bundlers (and Vite's dev server) try to resolve it, and Vite's browser builds wrap a literal import in a preload
// helper whose error path calls `window` (in Node a missing `webgpu` would surface as "window is not defined"),
// while these only run behind an `isNode` check. The one place that does this; use these loaders.

export const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

const NODE_FS = 'node:fs/promises';
const NODE_PATH = 'node:path';
const NODE_URL = 'node:url';
const WEBGPU = 'webgpu';

export const nodeFs = () => import(/* @vite-ignore */ NODE_FS) as Promise<typeof import('node:fs/promises')>;
export const nodePath = () => import(/* @vite-ignore */ NODE_PATH) as Promise<typeof import('node:path')>;
export const nodeUrl = () => import(/* @vite-ignore */ NODE_URL) as Promise<typeof import('node:url')>;
export const nodeWebgpu = () =>
  import(/* @vite-ignore */ WEBGPU) as Promise<{ create: (flags: string[]) => GPU; globals: Record<string, unknown> }>;
