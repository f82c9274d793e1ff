// The messages between the demo page and its inference worker: one request per call, answered by any number of
// events (load progress, streamed tokens, eval progress) and then exactly one result or error.
import type { MemVP, RetrievalMaps } from '../index';

type LoadOptions = NonNullable<Parameters<typeof MemVP.load>[1]>;
type AnswerResult = Awaited<ReturnType<MemVP['answer']>>;

export type LoadProgress = Parameters<NonNullable<LoadOptions['onProgress']>>[0];
export type Timings = AnswerResult['timings'];
export type Mode = 'memvp' | 'input-space';

export interface EvalProgress {
  done: number;
  total: number;
  correct: number;
}

export interface Calls {
  load: {
    args: { manifest: string };
    event: LoadProgress;
    /** webgpuError: why WebGPU, although present, failed and WebAssembly runs instead. */
    result: { backend: MemVP['backend']; name: string; grid: [rows: number, cols: number]; webgpuError?: string };
  };
  /** Replaces the image that the following questions are about. */
  image: { args: { image: ImageBitmap }; event: never; result: void };
  answer: {
    args: { question: string; mode: Mode; block: number[]; retrieval: boolean };
    event: { token: string; index: number };
    result: { text: string; timings: Timings; retrieval?: RetrievalMaps };
  };
  /** Test-split accuracy over all questions of images 0..images-1, as `memvp eval --limit images` measures it. */
  eval: { args: { images: number }; event: EvalProgress; result: EvalProgress };
}
export type Call = keyof Calls;

export type Request = { [K in Call]: { id: number; call: K; args: Calls[K]['args'] } }[Call];

export type Reply =
  | { id: number; kind: 'event'; event: unknown }
  | { id: number; kind: 'result'; result: unknown }
  | { id: number; kind: 'error'; name: string; message: string };
