// The package's graphs as the runtime uses them: which file serves which role, and the input/output names the
// exporter gave them (checked against the manifest's signatures on load, so a renamed input fails there).
import { ModelLoadError } from './errors.js';
import type { Manifest } from './manifest.js';

export interface GraphFiles {
  /** pixels -> memory_k, memory_v (memvp mode). */
  vision: string;
  /** input_ids, position_ids, past_*, memory_k, memory_v -> logits, present_* (memvp mode). */
  decoder: string;
  /** pixels -> visual_embeds (input-space mode). */
  visionInputSpace: string;
  /** input_ids -> inputs_embeds (input-space and text-only modes). */
  embed: string;
  /** inputs_embeds, position_ids, past_* -> logits, present_* (input-space and text-only: the plain frozen LM). */
  decoderInputSpace: string;
}

export function graphFiles(m: Manifest): GraphFiles {
  return {
    vision: m.modes.memvp.vision,
    decoder: m.modes.memvp.decoder,
    visionInputSpace: m.modes.inputSpace.vision,
    embed: m.modes.inputSpace.embed,
    decoderInputSpace: m.modes.inputSpace.decoder,
  };
}

export const pastNames = (layers: number): string[] => Array.from({ length: layers }, (_, i) => [`past_key_${i}`, `past_value_${i}`]).flat();
export const presentNames = (layers: number): string[] => pastNames(layers).map((n) => n.replace('past', 'present'));

/** Throws ModelLoadError naming the graph and the input or output that the manifest does not list. */
export function checkGraphs(m: Manifest, where: string): void {
  const files = graphFiles(m);
  const past = pastNames(m.lm.layers);
  const present = presentNames(m.lm.layers);
  const expect: [string, string[], string[]][] = [
    [files.vision, ['pixels'], ['memory_k', 'memory_v']],
    [files.decoder, ['input_ids', 'position_ids', ...past, 'memory_k', 'memory_v'], ['logits', ...present]],
    [files.visionInputSpace, ['pixels'], ['visual_embeds']],
    [files.embed, ['input_ids'], ['inputs_embeds']],
    [files.decoderInputSpace, ['inputs_embeds', 'position_ids', ...past], ['logits', ...present]],
  ];
  for (const [file, inputs, outputs] of expect) {
    const sig = m.graphs[file]!;
    for (const name of inputs) if (!sig.inputs?.[name]) throw new ModelLoadError(`${where}: graphs["${file}"] has no input "${name}"`);
    for (const name of outputs) if (!sig.outputs?.[name]) throw new ModelLoadError(`${where}: graphs["${file}"] has no output "${name}"`);
  }
}
