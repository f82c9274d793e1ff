// One token sequence through a decoder graph. The KV cache stays with the engine between steps (on the GPU for
// webgpu): each step feeds the previous step's presents as its pasts, and a past whose storage was not grown in
// place into the new present is released right away, so a sequence holds exactly one cache at a time.
import type { HostTensor } from '../graph/tensor.js';
import type { Engine } from './engine.js';
import { graphFiles, pastNames, presentNames, type GraphFiles } from './graphs.js';
import type { Manifest } from './manifest.js';

export interface StepOutput {
  /** Logits of the chunk's last position. */
  logits: Float32Array;
  /** Per layer, SiLU(u K^T) over the n memory entries at the chunk's last position (when asked for). */
  scores?: Float32Array[];
}

export interface SequenceOptions<T> {
  /** memvp: memory_k and memory_v of the image; absent: the plain LM (decoder_inputspace). */
  memory?: { k: T; v: T };
  scores?: boolean;
  mask?: Float32Array;
}

export const int64 = (values: readonly number[]): HostTensor => ({ type: 'int64', dims: [1, values.length], data: BigInt64Array.from(values, BigInt) });

export class Sequence<T> {
  private past: T[] | undefined;
  private position = 0;
  private readonly files: GraphFiles;
  private readonly pastNames: string[];
  private readonly presentNames: string[];

  constructor(
    private readonly engine: Engine<T>,
    private readonly manifest: Manifest,
    private readonly options: SequenceOptions<T>,
  ) {
    this.files = graphFiles(manifest);
    this.pastNames = pastNames(manifest.lm.layers);
    this.presentNames = presentNames(manifest.lm.layers);
  }

  /** Positions used so far. */
  get length(): number {
    return this.position;
  }

  /** Appends tokens: ids straight into the memvp decoder, or through embed.onnx into the plain LM. */
  async feedIds(ids: readonly number[]): Promise<StepOutput> {
    if (this.options.memory) return this.step({ input_ids: int64(ids) }, ids.length);
    const { kept } = await this.engine.run(this.files.embed, { input_ids: int64(ids) }, { keep: ['inputs_embeds'] });
    const embeds = kept.get('inputs_embeds')!;
    try {
      return await this.step({ inputs_embeds: embeds }, ids.length);
    } finally {
      this.engine.release(embeds);
    }
  }

  /** Appends `length` positions of input embeddings (input-space mode's visual tokens). */
  feedEmbeds(embeds: T, length: number): Promise<StepOutput> {
    return this.step({ inputs_embeds: embeds }, length);
  }

  /** Frees the KV cache. */
  release(): void {
    for (const t of this.past ?? []) this.engine.release(t);
    this.past = undefined;
  }

  private async step(inputs: Record<string, HostTensor | T>, length: number): Promise<StepOutput> {
    const { engine, options } = this;
    const { layers, kvHeads, headDim, vocab } = this.manifest.lm;
    const empty: HostTensor = { type: 'float32', dims: [1, kvHeads, 0, headDim], data: new Float32Array(0) };
    const feeds: Record<string, HostTensor | T> = {
      ...inputs,
      position_ids: int64(Array.from({ length }, (_, i) => this.position + i)),
    };
    this.pastNames.forEach((name, i) => (feeds[name] = this.past?.[i] ?? empty));
    if (options.memory) {
      feeds.memory_k = options.memory.k;
      feeds.memory_v = options.memory.v;
    }
    const memory = options.memory !== undefined;
    const res = await engine.run(memory ? this.files.decoder : this.files.decoderInputSpace, feeds, {
      keep: this.presentNames,
      scores: memory && options.scores,
      mask: memory ? options.mask : undefined,
    });
    const present = this.presentNames.map((n) => res.kept.get(n)!);
    this.past?.forEach((p, i) => engine.sameStorage(p, present[i]!) || engine.release(p));
    this.past = present;
    this.position += length;
    const logits = res.host.get('logits')!.data as Float32Array;
    const out: StepOutput = { logits: logits.slice((length - 1) * vocab, length * vocab) };
    if (memory && options.scores) {
      const n = this.manifest.memvp.n;
      out.scores = Array.from({ length: layers }, (_, l) => (res.host.get(`memvp.scores.${l}`)!.data as Float32Array).slice((length - 1) * n, length * n));
    }
    return out;
  }
}
