// The demo page: scenes or the visitor's image, questions, streamed answers of MemVP and the input-space
// baseline with their timings, retrieval heatmaps and memory blocking. Inference runs in ./worker.ts.
import { COLOR_NAMES, QUESTION_TYPES, Rng, generateScene, questionText, questionsFor, renderScene, toRGBA, type Scene } from '../tasks/sortofclevr';
import type { RetrievalMaps } from '../index';
import { InferenceWorker } from './client';
import { cellAt, drawGrid, drawHeat, drawImage, type Grid } from './heatmap';
import type { EvalProgress, LoadProgress, Mode, Timings } from './protocol';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const el = {
  load: $('load'),
  progress: $<HTMLProgressElement>('load-progress'),
  loadLabel: $('load-label'),
  notice: $('backend-notice'),
  error: $('error'),
  errorText: $('error-text'),
  seedForm: $<HTMLFormElement>('seed-form'),
  seed: $<HTMLInputElement>('seed'),
  fileInput: $<HTMLInputElement>('file-input'),
  stage: $('stage'),
  imageCanvas: $<HTMLCanvasElement>('image-canvas'),
  heatCanvas: $<HTMLCanvasElement>('heat-canvas'),
  gridCanvas: $<HTMLCanvasElement>('grid-canvas'),
  imageInfo: $('image-info'),
  clearBlocks: $<HTMLButtonElement>('clear-blocks'),
  askForm: $<HTMLFormElement>('ask-form'),
  question: $<HTMLInputElement>('question'),
  suggestions: $('suggestions'),
  answer: { memvp: $('answer-memvp'), 'input-space': $('answer-input-space') } satisfies Record<Mode, HTMLElement>,
  timings: $('timings'),
  truth: $('truth'),
  retrievalNote: $('retrieval-note'),
  tokenSelect: $<HTMLSelectElement>('token-select'),
  layerSelect: $<HTMLSelectElement>('layer-select'),
  topEntries: $('top-entries'),
  evalForm: $<HTMLFormElement>('eval-form'),
  evalImages: $<HTMLInputElement>('eval-images'),
  evalResult: $('eval-result'),
};

const params = new URLSearchParams(location.search);
// ?model=<manifest URL> picks another model package (tests use it for the untrained development model).
const manifestUrl = new URL(params.get('model') ?? 'models/sortofclevr-llama-q4/manifest.json', location.href).href;
const worker = new InferenceWorker();

const state = {
  backend: undefined as 'webgpu' | 'wasm' | undefined,
  grid: [8, 8] as Grid,
  scene: undefined as Scene | undefined,
  blocked: new Set<number>(),
  retrieval: undefined as RetrievalMaps | undefined,
  /** The token and layer chosen for the heatmap. */
  token: 0,
  layer: 0,
  busy: true,
};

// ---- errors and busy state ----

function showError(err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  el.errorText.textContent = `${e.name}: ${e.message}`;
  el.error.hidden = false;
}
$('error-close').onclick = () => (el.error.hidden = true);

/** One task at a time: the worker runs calls in order, and the buttons say so. */
async function run(task: () => Promise<void>): Promise<void> {
  if (state.busy) return;
  setBusy(true);
  el.error.hidden = true;
  try {
    await task();
  } catch (err) {
    showError(err);
  } finally {
    setBusy(false);
  }
}

function setBusy(busy: boolean): void {
  state.busy = busy;
  document.body.classList.toggle('busy', busy);
  const ready = !busy && state.backend !== undefined;
  for (const b of document.querySelectorAll<HTMLButtonElement>('#ask, #eval-run, #suggestions button')) b.disabled = !ready;
  for (const b of document.querySelectorAll<HTMLInputElement>('#new-scene, #seed-form button, #file-input')) b.disabled = busy;
  el.clearBlocks.disabled = !ready || state.blocked.size === 0;
}

// ---- model loading ----

const formatMB = (n: number) => (n / 1e6).toFixed(1);
const STAGES: Record<LoadProgress['stage'], string> = {
  download: 'Downloading',
  verify: 'Verifying',
  upload: 'Uploading weights',
  compile: 'Compiling shaders',
};

function showProgress(p: LoadProgress): void {
  el.progress.max = Math.max(p.total, 1);
  el.progress.value = p.loaded;
  // Compilation counts warm-up runs; the other stages count bytes.
  const amount = p.stage === 'compile' ? `${p.loaded} / ${p.total}` : `${formatMB(p.loaded)} / ${formatMB(p.total)} MB`;
  el.loadLabel.textContent = `${STAGES[p.stage]} ${amount}${p.file ? ` · ${p.file}` : ''}`;
  el.load.dataset.stage = p.stage;
}

async function loadModel(): Promise<void> {
  try {
    const r = await worker.call('load', { manifest: manifestUrl }, showProgress);
    state.backend = r.backend;
    state.grid = r.grid;
    el.progress.value = el.progress.max;
    el.loadLabel.textContent = `${r.name} ready on ${r.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'}`;
    el.load.dataset.state = 'done';
    document.body.dataset.backend = r.backend;
    if (r.backend === 'wasm') {
      el.notice.textContent = 'WebGPU unavailable: running on WebAssembly (slower); heatmaps need WebGPU';
      if (r.webgpuError) {
        const detail = document.createElement('small');
        detail.textContent = `WebGPU is present but failed: ${r.webgpuError}`;
        el.notice.append(document.createElement('br'), detail);
      }
      el.notice.hidden = false;
      el.retrievalNote.textContent = 'Retrieval maps and memory blocking need WebGPU.';
    }
    drawGrid(el.gridCanvas, state.grid, state.blocked);
  } catch (err) {
    el.load.dataset.state = 'error';
    el.loadLabel.textContent = 'The model could not be loaded.';
    showError(err);
  }
}

// ---- images ----

async function setImage(bitmap: ImageBitmap, info: string, scene?: Scene): Promise<void> {
  drawImage(el.imageCanvas, bitmap);
  state.scene = scene;
  el.imageInfo.textContent = info;
  state.blocked.clear();
  drawGrid(el.gridCanvas, state.grid, state.blocked);
  clearAnswers();
  showSuggestions();
  // Transferred: the page keeps only what it drew.
  await worker.call('image', { image: bitmap }, undefined, [bitmap]);
}

async function showScene(seed: number): Promise<void> {
  const scene = generateScene(seed);
  const img = renderScene(scene);
  // toRGBA allocates a plain ArrayBuffer; its declared type just does not say so.
  const rgba = toRGBA(img) as Uint8ClampedArray<ArrayBuffer>;
  const bitmap = await createImageBitmap(new ImageData(rgba, img.width, img.height));
  el.seed.value = String(seed);
  const url = new URL(location.href);
  url.searchParams.set('seed', String(seed));
  history.replaceState(null, '', url);
  await setImage(bitmap, `Generated scene, seed ${seed}`, scene);
}

async function showFile(file: File): Promise<void> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw Object.assign(new Error(`${file.name} cannot be read as an image`), { name: 'ImageDecodeError' });
  }
  await setImage(bitmap, `${file.name} (${bitmap.width} x ${bitmap.height}), resized to the model's input`);
}

// Random seeds stay below the training split's range (1,000,000 and up): every random scene is unseen.
$('new-scene').onclick = () => run(() => showScene(Math.floor(Math.random() * 1_000_000)));
el.seedForm.onsubmit = (e) => {
  e.preventDefault();
  void run(() => showScene(Number(el.seed.value)));
};
el.fileInput.onchange = () => {
  const file = el.fileInput.files?.[0];
  if (file) void run(() => showFile(file));
  el.fileInput.value = '';
};
el.stage.ondragover = (e) => {
  e.preventDefault();
  el.stage.classList.add('drop');
};
el.stage.ondragleave = () => el.stage.classList.remove('drop');
el.stage.ondrop = (e) => {
  e.preventDefault();
  el.stage.classList.remove('drop');
  const file = e.dataTransfer?.files[0];
  if (file) void run(() => showFile(file));
};

// ---- questions and answers ----

function showSuggestions(): void {
  // One question per template; a generated scene picks the colours from its own seed so they stay put.
  const rng = new Rng(state.scene?.seed ?? 0);
  el.suggestions.replaceChildren(
    ...QUESTION_TYPES.map((type) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = questionText(type, COLOR_NAMES[rng.int(COLOR_NAMES.length)]!);
      b.dataset.testid = 'suggestion';
      b.disabled = state.busy || !state.backend;
      b.onclick = () => {
        el.question.value = b.textContent!;
        void ask();
      };
      return b;
    }),
  );
}

function clearAnswers(): void {
  for (const cell of Object.values(el.answer)) {
    cell.textContent = '';
    delete cell.dataset.done;
  }
  el.timings.replaceChildren();
  el.truth.textContent = '';
  showRetrieval(undefined);
}

const TIMING_ROWS: [keyof Timings, string][] = [
  ['vision', 'vision'],
  ['prefill', 'prefill'],
  ['firstToken', 'first token'],
  ['decode', 'decode'],
  ['total', 'total'],
];

function showTimings(t: Partial<Record<Mode, Timings>>): void {
  el.timings.replaceChildren(
    ...TIMING_ROWS.map(([key, label]) => {
      const tr = document.createElement('tr');
      const m = t.memvp?.[key];
      const i = t['input-space']?.[key];
      const ratio = m !== undefined && i !== undefined && m > 0 ? `${(i / m).toFixed(2)}×` : '';
      tr.dataset.timing = key;
      tr.innerHTML = '<th></th><td></td><td></td><td></td>';
      [label, m === undefined ? '' : `${m.toFixed(1)} ms`, i === undefined ? '' : `${i.toFixed(1)} ms`, ratio].forEach(
        (text, k) => (tr.children[k]!.textContent = text),
      );
      return tr;
    }),
  );
}

async function answerWith(mode: Mode, question: string): Promise<{ text: string; timings: Timings; retrieval?: RetrievalMaps }> {
  const cell = el.answer[mode];
  cell.textContent = '';
  cell.classList.add('streaming');
  const memvp = mode === 'memvp';
  try {
    const r = await worker.call(
      'answer',
      { question, mode, block: memvp ? [...state.blocked] : [], retrieval: memvp && state.backend === 'webgpu' },
      ({ token, index }) => (cell.textContent += index ? ` ${token}` : token),
    );
    cell.textContent = r.text;
    cell.dataset.done = 'true';
    return r;
  } finally {
    cell.classList.remove('streaming');
  }
}

function ask(): Promise<void> {
  const question = el.question.value.trim();
  if (!question) return Promise.resolve();
  return run(async () => {
    clearAnswers();
    const truth = state.scene && questionsFor(state.scene).find((q) => q.text.toLowerCase() === question.toLowerCase());
    const memvp = await answerWith('memvp', question);
    showTimings({ memvp: memvp.timings });
    showRetrieval(memvp.retrieval);
    const inputSpace = await answerWith('input-space', question);
    showTimings({ memvp: memvp.timings, 'input-space': inputSpace.timings });
    if (truth) {
      const mark = (text: string) => (text.trim() === truth.answer ? '✓' : '✗');
      el.truth.textContent = `Ground truth from the scene generator: ${truth.answer} (MemVP ${mark(memvp.text)}, input-space ${mark(inputSpace.text)})`;
      el.truth.dataset.answer = truth.answer;
    }
  });
}

el.askForm.onsubmit = (e) => {
  e.preventDefault();
  void ask();
};

// ---- retrieval heatmap and blocking ----

function option(value: number, label: string): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = String(value);
  o.textContent = label;
  return o;
}

/** New maps keep the chosen token and layer when they still exist, so a re-ask compares like with like. */
function showRetrieval(maps: RetrievalMaps | undefined): void {
  state.retrieval = maps;
  el.tokenSelect.replaceChildren(...(maps?.tokens ?? []).map((t, i) => option(i, `${i + 1}: ${t}`)));
  el.layerSelect.replaceChildren(...Array.from({ length: maps?.layers ?? 0 }, (_, l) => option(l, `${l + 1}`)));
  el.tokenSelect.disabled = el.layerSelect.disabled = !maps;
  if (maps) {
    el.tokenSelect.value = String(Math.min(state.token, maps.tokens.length - 1));
    el.layerSelect.value = String(Math.min(state.layer, maps.layers - 1));
  }
  drawRetrieval();
}

function drawRetrieval(): void {
  const maps = state.retrieval;
  const scores = maps?.scores[Number(el.tokenSelect.value)]?.[Number(el.layerSelect.value)];
  const grid = maps?.grid ?? state.grid;
  drawHeat(el.heatCanvas, grid, scores);
  const [rows, cols] = grid;
  const top = scores
    ? Array.from(scores.subarray(0, rows * cols), (score, entry) => ({ score, entry }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 5)
    : [];
  el.topEntries.replaceChildren(
    ...top.map(({ score, entry }) => {
      const li = document.createElement('li');
      li.dataset.entry = String(entry);
      li.dataset.score = String(score);
      li.textContent = `row ${Math.floor(entry / cols) + 1}, column ${(entry % cols) + 1}: ${score.toFixed(4)}${state.blocked.has(entry) ? ' (blocked)' : ''}`;
      return li;
    }),
  );
}

el.tokenSelect.onchange = () => {
  state.token = Number(el.tokenSelect.value);
  drawRetrieval();
};
el.layerSelect.onchange = () => {
  state.layer = Number(el.layerSelect.value);
  drawRetrieval();
};

el.gridCanvas.onclick = (e) => {
  if (state.backend !== 'webgpu') {
    showError(Object.assign(new Error('blocking memory entries needs WebGPU'), { name: 'BackendError' }));
    return;
  }
  const cell = cellAt(el.gridCanvas, state.grid, e);
  if (!state.blocked.delete(cell)) state.blocked.add(cell);
  drawGrid(el.gridCanvas, state.grid, state.blocked);
  setBusy(state.busy);
};

el.clearBlocks.onclick = () => {
  state.blocked.clear();
  drawGrid(el.gridCanvas, state.grid, state.blocked);
  setBusy(state.busy);
};

// ---- test-split accuracy ----

el.evalForm.onsubmit = (e) => {
  e.preventDefault();
  const images = Number(el.evalImages.value);
  void run(async () => {
    delete el.evalResult.dataset.accuracy;
    el.evalResult.textContent = 'running…';
    const show = (p: EvalProgress) => (el.evalResult.textContent = `${p.done} / ${p.total} questions, ${p.correct} correct`);
    const r = await worker.call('eval', { images }, show);
    el.evalResult.textContent = `accuracy ${((100 * r.correct) / r.total).toFixed(1)}% (${r.correct} / ${r.total})`;
    el.evalResult.dataset.accuracy = String(r.correct / r.total);
  });
};

// ---- start ----

setBusy(true);
showSuggestions();
drawGrid(el.gridCanvas, state.grid, state.blocked);
const seed = Number(params.get('seed') ?? Math.floor(Math.random() * 1_000_000));
await Promise.all([showScene(seed).catch(showError), loadModel()]);
setBusy(false);
