// npx vite-node scripts/mutate-kernels.ts [-- --rev REV] [--only KERNEL[,KERNEL...]] [--out FILE] [--timeout S]
// Mutation check of the kernels' tests: for each mutation of scripts/kernel-mutations.ts, plant one bug in one
// shader and run the test files meant to catch it. It works on a private copy of the committed tree (`git archive
// REV` into a temp directory, node_modules symlinked): the shared working tree is never touched, and others' edits
// in progress do not leak in. A mutation is caught when a test that passed on the unmutated copy fails (or its run
// errors or times out); it survives when every such test still passes. Shader files are found by the snippet's
// content (the kernel's name breaks ties), so renamed or moved shaders are still found; a snippet found nowhere is
// reported as not applied. Writes JSON (default docs/bench/mutations.json) and prints a Markdown table.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { markdownTable } from '../bench/report.js';
import { KERNEL_MUTATIONS, type KernelMutation } from './kernel-mutations.js';

const root = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    rev: { type: 'string', default: 'HEAD' },
    only: { type: 'string' },
    out: { type: 'string', default: join(root, 'docs/bench/mutations.json') },
    timeout: { type: 'string', default: '300' },
  },
});
const timeoutMs = Number(args.timeout) * 1000;
if (!(timeoutMs > 0)) throw new Error('--timeout must be a positive number of seconds');

type Outcome = 'caught' | 'survived' | 'not applied';

interface TestRun {
  /** Full test names that failed; null when the run itself broke (no report: crash, compile error, timeout). */
  failed: string[] | null;
  passed: string[];
  seconds: number;
  note: string;
}

interface MutationResult extends Omit<KernelMutation, 'find' | 'replace'> {
  shader: string | null;
  outcome: Outcome;
  /** Tests that passed unmutated and failed mutated (at most 5 listed). */
  caughtBy: string[];
  note: string;
  seconds: number;
}

const git = (...a: string[]) => {
  const r = spawnSync('git', a, { cwd: root, encoding: 'buffer', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`git ${a.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout;
};

/** The committed tree at `rev` in a fresh temp directory, with the shared node_modules linked in. */
function privateCopy(rev: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'memvp-mutate-'));
  const tar = spawnSync('tar', ['-x', '-C', dir], { input: git('archive', rev) });
  if (tar.status !== 0) throw new Error(`tar: ${tar.stderr.toString()}`);
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function wgslFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.wgsl'))
    .map((e) => join(e.parentPath, e.name));
}

const stem = (name: string) => name.toLowerCase().replace(/\.wgsl$/, '').replace(/^op[_-]/, '').replace(/[^a-z0-9]/g, '');

/** The one shader holding `m.find` exactly once; among several, the one named like the kernel. */
function locate(files: string[], m: KernelMutation): { file: string } | { why: string } {
  const hits = files.filter((f) => readFileSync(f, 'utf8').split(m.find).length === 2);
  const named = hits.filter((f) => stem(basename(f)) === stem(m.kernel));
  const pick = hits.length === 1 ? hits : named;
  if (pick.length === 1) return { file: pick[0]! };
  return { why: hits.length ? `snippet in ${hits.length} shaders, none named ${m.kernel}` : 'snippet not found (the shader changed)' };
}

function runTests(dir: string, tests: string[]): TestRun {
  const report = join(dir, '.mutation-report.json');
  rmSync(report, { force: true });
  const t0 = performance.now();
  const r = spawnSync(join(dir, 'node_modules/.bin/vitest'), ['run', ...tests, '--reporter=json', `--outputFile=${report}`], {
    cwd: dir,
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 1 << 28,
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.error || !existsSync(report)) {
    const why = r.error ? `${r.error.message}` : `exit ${r.status}: ${(r.stderr || r.stdout).split('\n').filter(Boolean).slice(-3).join(' | ')}`;
    return { failed: null, passed: [], seconds, note: why.slice(0, 300) };
  }
  const json = JSON.parse(readFileSync(report, 'utf8')) as { testResults: { name: string; message?: string; assertionResults: { fullName: string; status: string }[] }[] };
  const failed: string[] = [];
  const passed: string[] = [];
  const notes: string[] = [];
  for (const file of json.testResults) {
    const rel = relative(dir, file.name);
    if (!file.assertionResults.length && file.message) {
      failed.push(`${rel}: (file failed to run)`);
      notes.push(file.message.split('\n')[0]!.slice(0, 200));
    }
    for (const a of file.assertionResults) (a.status === 'passed' ? passed : a.status === 'failed' ? failed : []).push(`${rel}: ${a.fullName}`);
  }
  return { failed, passed, seconds, note: notes.join(' | ') };
}

const mutations = KERNEL_MUTATIONS.filter((m) => !args.only || args.only.split(',').includes(m.kernel));
const rev = git('rev-parse', args.rev).toString().trim();
const dir = privateCopy(rev);
console.log(`mutate-kernels: ${mutations.length} mutations on ${rev.slice(0, 10)} in ${dir}`);
const t0 = performance.now();
const results: MutationResult[] = [];
try {
  const shaders = wgslFiles(join(dir, 'shaders'));
  const testFiles = [...new Set(mutations.flatMap((m) => m.tests))];
  const missing = testFiles.filter((t) => !existsSync(join(dir, t)));
  if (missing.length) throw new Error(`test files not in ${rev.slice(0, 10)}: ${missing.join(', ')}`);
  // Baseline: which tests pass unmutated (a mutation counts only against those).
  const baseline = new Map<string, Set<string>>();
  for (const t of testFiles) {
    const run = runTests(dir, [t]);
    if (run.failed === null) throw new Error(`baseline run of ${t} broke: ${run.note}`);
    if (run.failed.length) console.log(`  baseline: ${t} has ${run.failed.length} failing test(s) already; they are not counted`);
    baseline.set(t, new Set(run.passed));
    console.log(`  baseline ${t}: ${run.passed.length} passing (${run.seconds.toFixed(0)} s)`);
  }
  for (const [i, m] of mutations.entries()) {
    const { find, replace, ...rest } = m;
    const where = locate(shaders, m);
    const label = `[${i + 1}/${mutations.length}] ${m.kernel}: ${m.what}`;
    if ('why' in where) {
      results.push({ ...rest, shader: null, outcome: 'not applied', caughtBy: [], note: where.why, seconds: 0 });
      console.log(`${label}: NOT APPLIED (${where.why})`);
      continue;
    }
    const original = readFileSync(where.file, 'utf8');
    writeFileSync(where.file, original.replace(find, replace));
    let run: TestRun;
    try {
      run = runTests(dir, m.tests);
    } finally {
      writeFileSync(where.file, original);
    }
    const passedBefore = new Set(m.tests.flatMap((t) => [...baseline.get(t)!]));
    const caughtBy = run.failed === null ? [] : run.failed.filter((name) => passedBefore.has(name) || name.endsWith('(file failed to run)'));
    const outcome: Outcome = run.failed === null || caughtBy.length ? 'caught' : 'survived';
    const note = run.failed === null ? `run broke: ${run.note}` : caughtBy.length ? `${caughtBy.length} test(s) failed${run.note ? `; ${run.note}` : ''}` : '';
    results.push({ ...rest, shader: relative(dir, where.file), outcome, caughtBy: caughtBy.slice(0, 5), note, seconds: Math.round(run.seconds) });
    console.log(`${label}: ${outcome.toUpperCase()}${note ? ` (${note.slice(0, 160)})` : ''} ${run.seconds.toFixed(0)} s`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const count = (o: Outcome, rs = results) => rs.filter((r) => r.outcome === o).length;
const kernels = [...new Set(results.map((r) => r.kernel))];
const byKernel = kernels.map((k) => {
  const rs = results.filter((r) => r.kernel === k);
  return [k, String(rs.length), String(count('caught', rs)), String(count('survived', rs)), String(count('not applied', rs))];
});
const survivors = results.filter((r) => r.outcome === 'survived');
const file = {
  rev,
  command: ['npx vite-node scripts/mutate-kernels.ts', ...process.argv.slice(2)].join(' '),
  generatedAt: new Date().toISOString(),
  elapsedSeconds: Math.round((performance.now() - t0) / 1000),
  tried: results.length - count('not applied'),
  caught: count('caught'),
  survived: count('survived'),
  /** Survivors marked equivalent (no output can change): not gaps in the tests. */
  survivedEquivalent: survivors.filter((r) => r.expect === 'equivalent').length,
  notApplied: count('not applied'),
  results,
};
mkdirSync(dirname(resolve(args.out)), { recursive: true });
writeFileSync(args.out, `${JSON.stringify(file, null, 2)}\n`);
console.log(`\n${markdownTable(['kernel', 'mutations', 'caught', 'survived', 'not applied'], byKernel)}\n`);
if (survivors.length) {
  console.log(markdownTable(['survivor', 'kind', 'expected', 'why'], survivors.map((r) => [`${r.kernel}: ${r.what}`, r.kind, r.expect ?? 'no', r.why ?? ''])));
}
console.log(`\n${file.caught} of ${file.tried} mutations caught, ${file.survived} survived (${file.survivedEquivalent} of them equivalent), ${file.notApplied} not applied (${file.elapsedSeconds} s) -> ${args.out}`);
