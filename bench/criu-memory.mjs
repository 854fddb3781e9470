// Memory of a big CRIU checkpoint shown in the inspector (issue 17's leftover: the worker's copy
// of the files): the release build in dist/ (DIST=dir to choose another) in headless Chromium, as
// e2e/ drives it. For each run, a fresh browser opens e2e/harness.js's big archive (100,000 unix
// sockets by default, WORKER_SOCKETS=N) through the file picker, waits until the checkpoint is
// shown, its first entry walked and the timeline planned, then a few seconds more after a
// garbage collection of the page, and reads:
//   * the renderer process's peak and final resident memory (/proc/PID/status VmHWM, VmRSS; the
//     page and its workers are threads of that one process), and the browser's other processes;
//   * the page's and each live worker's wasm linear memory (WebAssembly.Memory byteLength);
//   * the page's JS heap (CDP Runtime.getHeapUsage).
// Figures, not assertions (docs/benchmarks.md). `node bench/criu-memory.mjs [--runs N]`.
import fs from 'node:fs';
import { start, stop, bigArchive } from '../e2e/harness.js';

const SOCKETS = Number(process.env.WORKER_SOCKETS ?? 100000);
const argRuns = process.argv.indexOf('--runs');
const RUNS = argRuns > 0 ? Number(process.argv[argRuns + 1]) : 1;
const MB = (b) => (b / 1048576).toFixed(1);

function status(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number((s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm')) ?? [])[1] ?? 0) * 1024;
    return { hwm: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return { hwm: 0, rss: 0 };
  }
}

async function processes(browser) {
  const cdp = await browser.newBrowserCDPSession();
  const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
  await cdp.detach();
  return processInfo.map((p) => ({ type: p.type, pid: p.id, ...status(p.id) }));
}

/** The wasm linear memory of a global scope, saved as `__wasm` by the hooks below. */
const wasmMemory = () => globalThis.__wasm?.memory?.buffer.byteLength ?? -1;

async function run() {
  const file = bigArchive(SOCKETS, 0);
  const h = await start({});
  const { browser, base } = h;
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Keep the instances' exports where `wasmMemory` finds them: the page's (trunk's start event)
  // and each worker's (its loader, served with one more statement; the build is unchanged).
  await page.addInitScript(() => addEventListener('TrunkApplicationStarted', (e) => { window.__wasm = e.detail.wasm; }));
  await page.route('**/resocket-worker_loader.js', (route) => route.fulfill({
    contentType: 'text/javascript',
    body: 'importScripts("./resocket-worker.js");wasm_bindgen("./resocket-worker_bg.wasm").then((w) => { self.__wasm = w; });',
  }));
  await page.goto(base);
  await page.waitForSelector('#gallery .gallery-item', { timeout: 30_000 });
  const before = await processes(browser);
  const t0 = Date.now();
  await page.setInputFiles('#file', file);
  await page.waitForSelector('#summary.criu .file', { timeout: 300_000 });
  await page.waitForFunction(() => !document.querySelector('#loading'), null, { timeout: 300_000 });
  await page.waitForSelector('#criu-entries .record.selected .field', { timeout: 60_000 });
  const opened = Date.now() - t0;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await page.waitForTimeout(3000);
  const heap = await cdp.send('Runtime.getHeapUsage');
  const pageWasm = await page.evaluate(wasmMemory);
  const workers = [];
  for (const w of page.workers()) workers.push(await w.evaluate(wasmMemory).catch(() => -1));
  const after = await processes(browser);
  const sockets = await page.textContent('#summary [data-stat="sockets"] b');
  // Then a resocket image from the gallery: the checkpoint (and a worker still kept for it) goes.
  await page.click('.gallery-item[data-name="stream-pair"]');
  await page.waitForFunction(() => document.querySelector('#summary .file')?.textContent === 'stream-pair');
  for (let i = 0; i < 50 && page.workers().length > 0; i++) await page.waitForTimeout(100);
  await cdp.send('HeapProfiler.collectGarbage');
  await page.waitForTimeout(3000);
  const gone = await processes(browser);
  await page.close();
  await stop(h);
  const renderer = after.filter((p) => p.type === 'renderer');
  // The page's renderer: the one the checkpoint grew.
  const pid = renderer.reduce((a, p) => (p.rss > a.rss ? p : a)).pid;
  const rss = (ps) => ps.find((p) => p.pid === pid)?.rss ?? 0;
  return { opened, before, after, renderer, heap, pageWasm, workers, sockets, errors, size: fs.statSync(file).size,
    goneRss: rss(gone), beforeRss: rss(before), pid };
}

for (let i = 0; i < RUNS; i++) {
  const r = await run();
  const rend = r.renderer.map((p) => `renderer ${p.pid}: peak ${MB(p.hwm)} MB, now ${MB(p.rss)} MB`).join('; ');
  const others = r.after.filter((p) => p.type !== 'renderer').reduce((a, p) => a + p.rss, 0);
  console.log(`# run ${i + 1}: ${r.sockets} sockets (${r.size.toLocaleString('en')} B archive), shown in ${r.opened} ms`);
  console.log(`  ${rend}; other processes now ${MB(others)} MB`);
  console.log(`  page wasm memory ${MB(r.pageWasm)} MB; worker wasm memory ${r.workers.length ? r.workers.map(MB).join(', ') + ' MB' : 'none (no worker alive)'}; `
    + `page JS heap used ${MB(r.heap.usedSize)} MB of ${MB(r.heap.totalSize)} MB`);
  console.log(`  the page's renderer (${r.pid}) before the open ${MB(r.beforeRss)} MB; after the gallery's stream-pair replaced the checkpoint ${MB(r.goneRss)} MB`);
  if (r.errors.length) console.log(`  page errors: ${r.errors.join(' | ')}`);
}
