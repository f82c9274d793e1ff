// The demo's inference worker: owns the model and the current image, so loading, shader compilation and
// generation never block the page.
/// <reference lib="webworker" />
import { BackendError, MemVP, MemVPError } from '../index';
import { COLOR_NAMES, QUESTION_TYPES, evaluateSplit } from '../tasks/sortofclevr';
import type { Call, Calls, Reply, Request } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

let model: MemVP | undefined;
let image: ImageBitmap | undefined;

function loaded(): MemVP {
  if (!model) throw new Error('the model is not loaded yet');
  return model;
}

const handlers: { [K in Call]: (args: Calls[K]['args'], emit: (event: Calls[K]['event']) => void) => Promise<Calls[K]['result']> } = {
  async load({ manifest }, emit) {
    let webgpuError: string | undefined;
    try {
      model = await MemVP.load(manifest, { onProgress: emit });
    } catch (e) {
      // The package's own problems (a missing file, a bad checksum, ...) are MemVPErrors and fail either way;
      // anything else went wrong on a GPU that exists, and WebAssembly can still run the model.
      if (e instanceof MemVPError && !(e instanceof BackendError)) throw e;
      webgpuError = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      model = await MemVP.load(manifest, { backend: 'wasm', onProgress: emit });
    }
    return { backend: model.backend, name: model.manifest.name, grid: model.manifest.vision.patchGrid, webgpuError };
  },
  async image(args) {
    image?.close();
    image = args.image;
  },
  async answer({ question, mode, block, retrieval }, emit) {
    if (!image) throw new Error('no image: generate a scene or choose a file first');
    const r = await loaded().answer(image, question, {
      mode,
      block: block.length ? block : undefined,
      retrieval,
      onToken: (token, index) => emit({ token, index }),
    });
    return { text: r.text, timings: r.timings, retrieval: r.retrieval };
  },
  eval: async ({ images }, emit) => {
    // Every scene has one question per type and colour (docs/TASK.md): the total is known up front.
    const total = images * QUESTION_TYPES.length * COLOR_NAMES.length;
    const r = await evaluateSplit(loaded(), { split: 'test', images, onImage: (p) => emit({ done: p.done, total, correct: p.correct }) });
    return { done: r.n, total: r.n, correct: Math.round(r.overall * r.n) };
  },
};

self.onmessage = async (e: MessageEvent<Request>) => {
  const { id, call, args } = e.data;
  const post = (reply: Reply) => self.postMessage(reply);
  try {
    const handler = handlers[call] as (a: typeof args, emit: (event: unknown) => void) => Promise<unknown>;
    const result = await handler(args, (event) => post({ id, kind: 'event', event }));
    post({ id, kind: 'result', result });
  } catch (err) {
    const { name, message } = err instanceof Error ? err : new Error(String(err));
    post({ id, kind: 'error', name, message });
  }
};
