// The training pipeline's smoke mode end to end (`npm run train -- --smoke`: data export, ViT and LM pretraining,
// MemVP and both baselines, ONNX export, every graph checked against torch in onnxruntime), a few steps each, in a
// temporary directory: the one command still works and produces a complete model package.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect, it } from 'vitest';

it('npm run train -- --smoke produces a checked model package', () => {
  const r = spawnSync('bash', ['training/run.sh', '--smoke'], { encoding: 'utf8', timeout: 540_000 });
  const models = /-> (\S+\/models),/.exec(r.stdout)?.[1];
  try {
    expect(r.status, `${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`).toBe(0);
    expect(models).toBeDefined();
    const manifest = JSON.parse(readFileSync(join(models!, 'manifest.json'), 'utf8'));
    for (const file of Object.keys(manifest.files)) expect(existsSync(join(models!, file)), file).toBe(true);
    expect(Object.keys(manifest.modes)).toEqual(expect.arrayContaining(['memvp', 'inputSpace', 'textOnly', 'noVisual']));
  } finally {
    if (models) rmSync(dirname(models), { recursive: true, force: true });
  }
}, 600_000);
