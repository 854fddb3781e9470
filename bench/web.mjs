// Browser benchmark of the inspector (issue 5): the release build in dist/ in headless Chromium
// (Debian's /usr/bin/chromium driven by playwright-core, as e2e/ does).
//
//   ./x bench-web                       # trunk build --release, then this script
//   node bench/web.mjs [--runs N]       # against an existing dist/ (DIST=dir to choose another)
//   node bench/web.mjs --sizes          # only the two bundle sizes below (no browser)
//
// Prints, for a baseline image (the 2-socket stream-pair fixture) and generated images of about
// 1,000 and 10,000 sockets (core's `synth_image` example, written to bench/out/):
//   * drop → graph: from dispatching the drop event to the first frame with the socket graph's
//     nodes in the DOM; drop → timeline: … with the restore timeline's steps (planned and run);
//   * the longest task (PerformanceObserver 'longtask') and the number of long tasks (> 50 ms)
//     from the drop until the timeline is ready;
//   * stepping: one → (and one ←) press to the next frame showing the new position and the
//     simulated kernel there, median and worst of 20 steps each, on the image just opened;
// and the gzipped (level 9) size of the release .wasm + .js: the page's bundle and, apart, the checkpoint
// reader's worker (loaded only when a checkpoint is opened). Medians of --runs runs (default 3).
// Figures, not assertions: the targets are judged in docs/benchmarks.md.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { start, stop, DIST } from '../e2e/harness.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(import.meta.dirname, 'out');
const argRuns = process.argv.indexOf('--runs');
const RUNS = argRuns > 0 ? Number(process.argv[argRuns + 1]) : 3;

if (!fs.existsSync(path.join(DIST, 'index.html'))) {
  console.error(`no ${DIST}/index.html: run trunk build --release (or ./x bench-web)`);
  process.exit(2);
}
// Every .wasm and .js trunk wrote, wasm-bindgen's snippets/ (inline JS) included: the page's
// bundle (what it downloads before any checkpoint is opened) apart from the checkpoint reader's
// worker (resocket-worker*, fetched when a checkpoint is opened).
const files = fs.readdirSync(DIST, { recursive: true }).filter((f) => /\.(wasm|js)$/.test(f));
const size = (list) => {
  let raw = 0, gz = 0;
  for (const f of list) {
    const b = fs.readFileSync(path.join(DIST, f));
    raw += b.length;
    gz += zlib.gzipSync(b, { level: 9 }).length;
  }
  return `${list.join(' + ')}: ${raw.toLocaleString('en')} B, gzip -9 ${gz.toLocaleString('en')} B (${(gz / 1024).toFixed(1)} KiB)`;
};
const isWorker = (f) => /^resocket-worker/.test(path.basename(f));
const pageLine = () => `page bundle, release wasm + js: ${size(files.filter((f) => !isWorker(f)))}`;
const workerLine = () => `checkpoint reader (worker), release wasm + js: ${size(files.filter(isWorker))}`;
// --sizes: the two sizes only (no browser, no images).
if (process.argv.includes('--sizes')) {
  console.log(`dist: ${path.relative(ROOT, DIST) || DIST}`);
  console.log(pageLine());
  console.log(workerLine());
  process.exit(0);
}
fs.mkdirSync(OUT, { recursive: true });

// Images: the baseline fixture, and generated ones (cached in bench/out/).
const images = [{ label: 'baseline: stream-pair', file: path.join(ROOT, 'fixtures/images/valid/stream-pair.rsimg') }];
for (const n of [1000, 10000]) {
  const file = path.join(OUT, `synth-${n}.rsimg`);
  if (!fs.existsSync(file)) {
    const msg = execFileSync('cargo', ['run', '-q', '--release', '-p', 'resocket-core', '--example', 'synth_image', '--', String(n), file], {
      cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
    });
    process.stderr.write(`bench/out/synth-${n}.rsimg: ${msg}`);
  }
  images.push({ label: `synth ${n.toLocaleString('en')}`, file });
}

// The same static server and browser as the e2e tests; each image at /bench-image/N.
const h = await start(Object.fromEntries(images.map((im, i) => [`/bench-image/${i}`, im.file])));
const { browser, base } = h;

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN; };

async function measure(index) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.addInitScript(() => {
    window.__longtasks = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push([e.startTime, e.duration]); })
      .observe({ type: 'longtask', buffered: true });
  });
  await page.goto(base);
  await page.waitForSelector('#gallery .gallery-item', { timeout: 30_000 });
  const name = path.basename(images[index].file);
  // Fetch the image into the page first: the drop is timed, not the transfer.
  await page.evaluate(async ([i, name]) => {
    const buf = await (await fetch(`/bench-image/${i}`)).arrayBuffer();
    window.__file = new File([buf], name, { type: 'application/octet-stream' });
  }, [index, name]);
  await page.waitForTimeout(300); // let the page settle (wasm compiled, first frames done)
  const r = await page.evaluate(async (name) => {
    const frame = () => new Promise((res) => requestAnimationFrame(() => res()));
    const until = async (pred) => { while (!pred()) await frame(); return performance.now(); };
    const dt = new DataTransfer();
    dt.items.add(window.__file);
    const t0 = performance.now();
    document.querySelector('.app').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    const tGraph = await until(() => document.querySelector('#summary .file')?.textContent === name
      && document.querySelector('#graph .node, #graph .lod'));
    const tTimeline = await until(() => document.querySelector('#timeline .step') && !document.querySelector('#loading'));
    const long = window.__longtasks.filter(([s]) => s >= t0);
    const steps = Number(document.querySelector('#timeline .controls .pos').textContent.split('/')[1]);
    // Stepping: a key press to the frame that shows the new position and the kernel there (a
    // build whose kernel worker draws it marks the kernel with the step it is after, data-at; an
    // older one drew it in the same frame as the position).
    const pos = () => document.querySelector('#timeline .controls .pos').textContent;
    const drawn = () => {
      const k = document.querySelector('#timeline .kernel');
      return !k?.hasAttribute('data-at') || k.dataset.at === pos().split(' / ')[0];
    };
    const press = async (key) => {
      const before = pos();
      const t = performance.now();
      document.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
      await until(() => pos() !== before && drawn());
      return performance.now() - t;
    };
    const fwd = [], back = [];
    for (let i = 0; i < 20 && i < steps; i++) fwd.push(await press('ArrowRight'));
    for (let i = 0; i < 20 && i < steps; i++) back.push(await press('ArrowLeft'));
    const tEnd = steps > 0 ? await press('End') : NaN;
    return {
      graph: tGraph - t0, timeline: tTimeline - t0, steps, fwd, back, end: tEnd,
      longest: Math.max(0, ...long.map(([, d]) => d)), longCount: long.length,
      sockets: Number(document.querySelector('#summary [data-stat="sockets"] b').textContent.replace(/,/g, '')),
      drawn: document.querySelector('#graph')?.dataset.drawn, detail: document.querySelector('#graph')?.dataset.detail,
    };
  }, name);
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
  await page.close();
  return r;
}

const rows = [];
for (let i = 0; i < images.length; i++) {
  const runs = [];
  for (let k = 0; k < RUNS; k++) runs.push(await measure(i));
  const m = (f) => median(runs.map(f));
  rows.push({
    image: images[i].label,
    sockets: runs[0].sockets,
    'drop→graph ms': m((r) => r.graph).toFixed(0),
    'drop→timeline ms': m((r) => r.timeline).toFixed(0),
    'longest task ms': m((r) => r.longest).toFixed(0),
    'long tasks': m((r) => r.longCount),
    steps: runs[0].steps,
    'step → ms (median/worst)': `${m((r) => median(r.fwd)).toFixed(1)} / ${Math.max(...runs.flatMap((r) => r.fwd)).toFixed(1)}`,
    'step ← ms (median/worst)': `${m((r) => median(r.back)).toFixed(1)} / ${Math.max(...runs.flatMap((r) => r.back)).toFixed(1)}`,
    'End ms': m((r) => r.end).toFixed(1),
  });
}
await stop(h);

console.log(`chromium ${browser.version()}, ${RUNS} runs each (medians), dist: ${path.relative(ROOT, DIST) || DIST}`);
console.table(rows);
console.log(pageLine());
console.log(workerLine());
