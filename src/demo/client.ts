// The page's side of the worker protocol: each call is a promise; its events go to a callback.
import type { Call, Calls, Reply, Request } from './protocol';

/** An error thrown in the worker, re-created on the page with the worker's name and message. */
export class WorkerError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  onEvent(event: unknown): void;
}

export class InferenceWorker {
  private readonly worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  constructor() {
    this.worker.onmessage = (e: MessageEvent<Reply>) => {
      const reply = e.data;
      const p = this.pending.get(reply.id);
      if (!p) return;
      if (reply.kind === 'event') return p.onEvent(reply.event);
      this.pending.delete(reply.id);
      if (reply.kind === 'result') p.resolve(reply.result);
      else p.reject(new WorkerError(reply.name, reply.message));
    };
    // The worker script itself failed (a syntax or import error): every call in flight fails with it.
    this.worker.onerror = (e) => {
      e.preventDefault();
      const err = new WorkerError('WorkerError', e.message || 'the inference worker failed to start');
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  call<K extends Call>(
    call: K,
    args: Calls[K]['args'],
    onEvent: (event: Calls[K]['event']) => void = () => {},
    transfer: Transferable[] = [],
  ): Promise<Calls[K]['result']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, onEvent: onEvent as (e: unknown) => void });
      this.worker.postMessage({ id, call, args } as Request, transfer);
    });
  }
}
