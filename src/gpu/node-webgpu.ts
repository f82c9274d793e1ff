// Node only: Dawn's binding from the `webgpu` package. Without a hardware Vulkan driver Dawn finds no adapter,
// so SwiftShader's driver (shipped with Chromium) is added to the Vulkan loader's list before Dawn starts.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { nodeWebgpu } from '../platform.js';

const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib64/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

export function findSwiftShaderIcd(): string | undefined {
  return SWIFTSHADER_ICDS.find((p) => existsSync(p));
}

export async function createNodeGpu(): Promise<GPU> {
  const env = process.env;
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && !env.VK_ADD_DRIVER_FILES) {
    const icd = findSwiftShaderIcd();
    // Added, not replacing: a machine with a real GPU still offers its hardware adapter first.
    if (icd) env.VK_ADD_DRIVER_FILES = icd;
  }
  env.XDG_RUNTIME_DIR ??= tmpdir();
  const mod = await nodeWebgpu();
  // GPUBufferUsage, GPUMapMode, ... are globals in browsers; Dawn's binding exports them instead.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  return mod.create([]);
}
