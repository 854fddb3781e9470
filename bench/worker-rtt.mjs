// Round trip to the checkpoint reader's worker (web/src/worker.rs), from the page, in headless
// Chromium: one worker started and kept, then N requests posted one after another, each timed
// from postMessage to the reply's arrival on the page's main thread.
//
//   DIST=dist node bench/worker-rtt.mjs [--runs N]
//
// Two requests: `{mode: "fields"}` with a request that does not decode (the worker answers
// `failed` at once: the messaging alone), and `{mode: "lessons"}` with one built-in lesson
// file (core parses and checks it and encodes the lesson: a request with real work and a
// reply of a few KB). Figures, not assertions.
import fs from 'node:fs';
import path from 'node:path';
import { start, stop } from '../e2e/harness.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const argRuns = process.argv.indexOf('--runs');
const RUNS = argRuns > 0 ? Number(process.argv[argRuns + 1]) : 50;
const lesson = fs.readFileSync(path.join(ROOT, 'core', 'lessons', 'backlog.json'), 'utf8');

const h = await start();
const page = await h.browser.newPage();
await page.goto(h.base);
await page.waitForSelector('#gallery .gallery-item', { timeout: 30_000 });
await page.waitForTimeout(300);
const r = await page.evaluate(async ([runs, lesson]) => {
  const w = new Worker('resocket-worker_loader.js');
  let waiting = null;
  w.onmessage = (e) => { if (e.data.type === 'ready') { waiting?.(); return; } waiting?.(e.data); };
  await new Promise((res) => { waiting = res; });
  const time = async (make) => {
    const out = [];
    for (let i = 0; i < runs; i++) {
      const msg = make();
      const t0 = performance.now();
      const reply = await new Promise((res) => { waiting = res; w.postMessage(msg); });
      out.push(performance.now() - t0);
      if (i === 0) out.type = reply.type;
    }
    return out;
  };
  const bytes = new TextEncoder().encode(lesson);
  const fields = await time(() => ({ mode: 'fields', data: new Uint8Array([255]) }));
  const lessons = await time(() => ({ mode: 'lessons', files: [{ name: 'backlog.json', bytes: bytes.slice() }] }));
  w.terminate();
  return { fields: [fields.type, fields], lessons: [lessons.type, lessons] };
}, [RUNS, lesson]);
await stop(h);
const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor((s.length - 1) / 2)].toFixed(2)} ms, p90 ${s[Math.floor(s.length * 0.9)].toFixed(2)} ms, worst ${s[s.length - 1].toFixed(2)} ms`;
};
console.log(`${RUNS} round trips each, one worker kept`);
console.log(`fields (not decodable: the worker answers '${r.fields[0]}' at once): ${stats(r.fields[1])}`);
console.log(`lessons (backlog.json, ${lesson.length} B, parsed by core: '${r.lessons[0]}'): ${stats(r.lessons[1])}`);
