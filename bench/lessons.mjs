// Browser benchmark of the lessons page (issue 16), in bench/web.mjs's way: the release build in
// dist/ in headless Chromium (e2e/harness.js). Figures, not assertions (docs/benchmarks.md).
//
//   trunk build --release && node bench/lessons.mjs [--runs N]
//
// Prints, medians of --runs fresh pages (default 5), each timed from dispatching the click on
// "Lessons" (the page loaded, wasm compiled, settled 300 ms):
//   * click → list: the first frame with every built-in lesson's card (fetched from lessons/,
//     parsed and listed with its progress);
//   * click → lesson: then a click on a lesson card to the first frame with its first step;
// and, as the baseline measured in the same run, click → the "?" shortcut list, a render that
// fetches nothing (what any click costs on this page).
import { start, stop } from '../e2e/harness.js';

const argRuns = process.argv.indexOf('--runs');
const RUNS = argRuns > 0 ? Number(process.argv[argRuns + 1]) : 5;
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

const h = await start({});
const rows = { 'click → shortcut list (baseline)': [], 'click → lesson list (9 fetched)': [], 'click → lesson open': [] };
for (let k = 0; k < RUNS; k++) {
  const page = await h.browser.newPage({ viewport: { width: 1440, height: 1000 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(h.base);
  await page.waitForSelector('#lessons-toggle', { timeout: 30_000 });
  await page.waitForTimeout(300);
  const r = await page.evaluate(async () => {
    const frame = () => new Promise((res) => requestAnimationFrame(() => res()));
    const until = async (pred) => { while (!pred()) await frame(); return performance.now(); };
    let t0 = performance.now();
    document.querySelector('#help-toggle').click();
    const help = (await until(() => document.querySelector('#shortcuts'))) - t0;
    document.querySelector('#help-toggle').click();
    await until(() => !document.querySelector('#shortcuts'));
    t0 = performance.now();
    document.querySelector('#lessons-toggle').click();
    const list = (await until(() => document.querySelectorAll('.lesson-card').length === 9)) - t0;
    t0 = performance.now();
    document.querySelector('#lesson-open-backlog').click();
    const open = (await until(() => document.querySelector('#lesson-step[data-step="0"]'))) - t0;
    return { help, list, open };
  });
  if (errors.length) throw new Error(errors.join('; '));
  rows['click → shortcut list (baseline)'].push(r.help);
  rows['click → lesson list (9 fetched)'].push(r.list);
  rows['click → lesson open'].push(r.open);
  await page.close();
}
console.log(`chromium ${h.browser.version()}, ${RUNS} runs (median / worst, ms)`);
console.table(Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, `${median(v).toFixed(1)} / ${Math.max(...v).toFixed(1)}`])));
await stop(h);
