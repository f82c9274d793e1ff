// Drawing on the three stacked canvases of the image: the image itself, the retrieval heat, the grid with the
// blocked cells. Kept apart so that each can be redrawn (and checked by tests) on its own.

export type Grid = readonly [rows: number, cols: number];

export function drawImage(canvas: HTMLCanvasElement, image: CanvasImageSource): void {
  const ctx = canvas.getContext('2d')!;
  // Nearest-neighbour: a 64 x 64 scene scaled up keeps its hard pixel edges.
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
}

/** Patch scores (the first rows*cols memory entries, row-major) as a yellow-to-red overlay, scaled min..max. */
export function drawHeat(canvas: HTMLCanvasElement, grid: Grid, scores: Float32Array | undefined): void {
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!scores) return;
  const [rows, cols] = grid;
  const cells = scores.subarray(0, rows * cols);
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of cells) {
    lo = Math.min(lo, s);
    hi = Math.max(hi, s);
  }
  const span = hi - lo || 1;
  const w = canvas.width / cols;
  const h = canvas.height / rows;
  cells.forEach((s, i) => {
    const v = (s - lo) / span;
    ctx.fillStyle = `rgba(255, ${Math.round(230 * (1 - v))}, 0, ${(0.05 + 0.5 * v).toFixed(3)})`;
    ctx.fillRect((i % cols) * w, Math.floor(i / cols) * h, w, h);
  });
}

export function drawGrid(canvas: HTMLCanvasElement, grid: Grid, blocked: ReadonlySet<number>): void {
  const ctx = canvas.getContext('2d')!;
  const [rows, cols] = grid;
  const w = canvas.width / cols;
  const h = canvas.height / rows;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = 'rgba(40, 40, 60, 0.25)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let c = 1; c < cols; c++) {
    ctx.moveTo(c * w + 0.5, 0);
    ctx.lineTo(c * w + 0.5, canvas.height);
  }
  for (let r = 1; r < rows; r++) {
    ctx.moveTo(0, r * h + 0.5);
    ctx.lineTo(canvas.width, r * h + 0.5);
  }
  ctx.stroke();
  for (const i of blocked) {
    const x = (i % cols) * w;
    const y = Math.floor(i / cols) * h;
    ctx.fillStyle = 'rgba(20, 24, 40, 0.55)';
    ctx.fillRect(x, y, w, h);
    ctx.strokeStyle = '#ff3b6b';
    ctx.lineWidth = 3;
    ctx.strokeRect(x + 1.5, y + 1.5, w - 3, h - 3);
    ctx.beginPath();
    ctx.moveTo(x + 8, y + 8);
    ctx.lineTo(x + w - 8, y + h - 8);
    ctx.moveTo(x + w - 8, y + 8);
    ctx.lineTo(x + 8, y + h - 8);
    ctx.stroke();
  }
  canvas.dataset.blocked = [...blocked].sort((a, b) => a - b).join(',');
}

/** The grid cell (memory entry index) under a pointer event on `canvas`. */
export function cellAt(canvas: HTMLCanvasElement, grid: Grid, e: MouseEvent): number {
  const [rows, cols] = grid;
  const box = canvas.getBoundingClientRect();
  const c = Math.min(cols - 1, Math.floor(((e.clientX - box.left) / box.width) * cols));
  const r = Math.min(rows - 1, Math.floor(((e.clientY - box.top) / box.height) * rows));
  return r * cols + c;
}
