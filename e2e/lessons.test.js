// End-to-end tests of the lessons page (issue 16): the release build in dist/ in headless
// Chromium (harness.js). A learner answers wrongly then rightly and sees the rule and its
// explanation; opens a step in the editor, changes the backlog and the order, sees the outcome
// change, resets the lesson; progress survives a reload; a deep link opens its step; a bad
// dropped lesson shows core's located error. Screenshots go to e2e/out/ (and, with
// LESSON_SHOTS=dir, to that directory: docs/ keeps two).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { start, stop, OUT } from './harness.js';

let h, browser, base;

// Lesson files served beside the page for `?lesson=URL`: a good one and a bad one.
const served = path.join(OUT, 'served-lessons');
const GOOD = JSON.stringify({ id: 'by-url', title: 'Opened by URL', goal: 'g', prose: 'A lesson fetched from ?lesson=URL.', steps: [
  { syscall: { op: 'socket', slot: 1, ty: 'stream' } },
  { syscall: { op: 'listen', slot: 1, backlog: 0 }, question: { prompt: 'Unbound: does listen() work?', answer: { errno: 'EINVAL' } } },
] }, null, 2);
const BAD = '{\n  "id": "by-url", "title": "t", "goal": "g", "prose": "p",\n  "steps": [\n    { "syscall": { "op": "listen", "slot": 1, "backlog": "many" } }\n  ]\n}\n';

before(async () => {
  fs.mkdirSync(served, { recursive: true });
  fs.writeFileSync(path.join(served, 'good.json'), GOOD);
  fs.writeFileSync(path.join(served, 'bad.json'), BAD);
  h = await start({ '/teacher/good.json': path.join(served, 'good.json'), '/teacher/bad.json': path.join(served, 'bad.json') });
  ({ browser, base } = h);
});
after(() => stop(h));

async function open(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('#lessons-toggle', { timeout: 30_000 });
  return { page, errors };
}

const shots = process.env.LESSON_SHOTS;

test('lessons: predict wrongly then rightly, the rule explained, try it in the editor, progress and deep links', async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const { page, errors } = await open(context, base);
  await page.click('#lessons-toggle');
  await page.waitForSelector('#lesson-open-backlog');
  assert.equal(await page.locator('.lesson-card').count(), 9);
  assert.match(await page.textContent('.lesson-card[data-id="backlog"] .progress'), /^0 of 9 questions answered right$/);
  await page.click('#lesson-open-backlog');
  await page.waitForSelector('#lesson-step[data-step="0"]');
  assert.match(page.url(), /#lesson=backlog$/);
  // The keyboard: → to step 8 (c3's blocking connect, backlog full).
  for (let i = 0; i < 8; i++) await page.keyboard.press('ArrowRight');
  await page.waitForSelector('#lesson-step[data-step="8"]');
  assert.match(page.url(), /#lesson=backlog&at=8$/);
  // Predict first: no outcome yet, and the kernel drawn before the step (two pending on L).
  assert.equal(await page.locator('#lesson-reveal').count(), 0);
  assert.match(await page.textContent('#lesson-graph'), /backlog 2\/2/);
  // A wrong answer: ok.
  await page.click('#lesson-question .choice[data-answer="ok"]');
  await page.waitForSelector('#lesson-verdict.bad');
  assert.match(await page.textContent('#lesson-verdict'), /You said ok; the kernel answers would-block/);
  // Then the right one (key 2 is the second choice, would-block).
  await page.keyboard.press('2');
  await page.waitForSelector('#lesson-verdict.ok');
  assert.match(await page.textContent('#lesson-verdict'), /Right: would-block/);
  const rule = await page.textContent('#lesson-rule');
  assert.match(rule, /unix_stream_connect/);
  assert.match(rule, /unix_recvq_full/);
  assert.match(rule, /backlog-full/);
  assert.ok((await page.textContent('#lesson-rule .explanation')).length > 80, 'the explanation paragraph');
  if (shots) await page.screenshot({ path: path.join(shots, 'lesson.png') });
  await page.click('#lesson-large');
  await page.waitForSelector('.lessons.large');
  await page.screenshot({ path: path.join(OUT, 'lesson-large.png') });
  if (shots) await page.screenshot({ path: path.join(shots, 'lesson-large.png') });
  await page.click('#lesson-large');

  // Progress survives a reload; the deep link reopens the step.
  await page.reload();
  await page.waitForSelector('#lesson-step[data-step="8"]');
  assert.match(await page.textContent('#lesson-verdict'), /Right: would-block/);
  await page.click('#lesson-back');
  await page.waitForSelector('.lesson-card[data-id="backlog"]');
  assert.match(await page.textContent('.lesson-card[data-id="backlog"] .progress'), /^1 of 9 questions answered right$/);

  // A deep link in a fresh page of the same browser profile: restore-order, step 5.
  const other = await open(context, `${base}#lesson=restore-order&at=4`);
  await other.page.waitForSelector('#lesson-step[data-step="4"]');
  assert.equal(await other.page.getAttribute('#lessons', 'data-lesson'), 'restore-order');
  await other.page.keyboard.press('1'); // ok: the planner's order
  await other.page.waitForSelector('#lesson-verdict.ok');
  assert.match(await other.page.textContent('#lesson-reveal'), /listen\(L, 1\)/);

  // Try it yourself: the scenario in the editor, its outcome in the plan order.
  await other.page.click('#lesson-try');
  await other.page.waitForSelector('#lesson-try-bar #try-outcome');
  await other.page.waitForSelector('#edit-sockets');
  const before = await other.page.textContent('#try-outcome');
  assert.match(before, /The plan order runs to its end, after (\d+) steps/);
  // Change the backlog from 0 to 5: no raised backlog any more, fewer steps.
  await other.page.selectOption('#listen-socket', 'L');
  await other.page.fill('#listen-backlog', '5');
  await other.page.click('#listen');
  await other.page.waitForFunction((b) => document.querySelector('#try-outcome')?.textContent !== b, before);
  const after = await other.page.textContent('#try-outcome');
  assert.match(after, /runs to its end/);
  assert.ok(Number(after.match(/after (\d+) steps/)[1]) < Number(before.match(/after (\d+) steps/)[1]), `${before} → ${after}`);
  // The naive order fails, named by its rule.
  await other.page.selectOption('#try-order', 'naive');
  await other.page.waitForFunction(() => /fails: ECONNREFUSED/.test(document.querySelector('#try-outcome')?.textContent));
  // Reset lesson: the step's own scenario, in its own order.
  await other.page.click('#lesson-reset');
  await other.page.waitForFunction((b) => document.querySelector('#try-outcome')?.textContent === b, before);
  await other.page.click('#lesson-return');
  await other.page.waitForSelector('#lesson-step[data-step="4"]');

  assert.deepEqual(errors, []);
  assert.deepEqual(other.errors, []);
  await context.close();
});

test('lessons: a bad dropped lesson file shows its located error; a good one opens', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const { page, errors } = await open(context, base);
  await page.click('#lessons-toggle');
  await page.waitForSelector('#lesson-open-backlog');
  const drop = (name, text) => page.evaluate(([name, text]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], name, { type: 'application/json' }));
    document.querySelector('.app').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, [name, text]);
  const bad = '{\n  "id": "mine", "title": "t", "goal": "g", "prose": "p",\n  "steps": [\n    { "syscall": { "op": "sockit", "slot": 1 } }\n  ]\n}\n';
  await drop('mine.json', bad);
  await page.waitForSelector('#lesson-error');
  assert.match(await page.textContent('#lesson-error'), /^mine\.json: line 4, column \d+ \(step 0\): unknown variant `sockit`/);
  const good = JSON.stringify({ id: 'mine', title: 'Mine', goal: 'g', prose: 'p', steps: [
    { syscall: { op: 'socket', slot: 1, ty: 'stream' } },
    { syscall: { op: 'listen', slot: 1, backlog: 0 }, question: { prompt: "Unbound: does listen() work?", answer: { errno: "EINVAL" } } },
  ] });
  await drop('mine.json', good);
  await page.waitForSelector('#lessons[data-lesson="mine"]');
  assert.equal(await page.locator('#lesson-error').count(), 0);
  // Narrow screen: nothing wider than the viewport.
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 390, `page ${wide}px wide on a 390px screen`);
  await page.screenshot({ path: path.join(OUT, 'lesson-narrow.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('lessons: ?lesson=URL opens a lesson file by URL; a bad one shows its located error', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const { page, errors } = await open(context, `${base}?lesson=${encodeURIComponent(`${base}teacher/good.json`)}`);
  await page.waitForSelector('#lessons[data-lesson="by-url"]');
  await page.waitForSelector('#lesson-step[data-step="0"]');
  assert.match(await page.textContent('#lessons'), /Opened by URL/);
  assert.equal(await page.locator('#lesson-error').count(), 0);
  // The lesson runs: step 1's question is graded by the simulator.
  await page.keyboard.press('ArrowRight');
  await page.waitForSelector('#lesson-step[data-step="1"]');
  await page.click('#lesson-question .choice[data-answer="EINVAL"]');
  await page.waitForSelector('#lesson-verdict.ok');
  // A relative URL, to a bad file: core's located error (line, column, step), named by its URL.
  const bad = await open(context, `${base}?lesson=teacher/bad.json`);
  await bad.page.waitForSelector('#lesson-error');
  assert.match(await bad.page.textContent('#lesson-error'), /^teacher\/bad\.json: line 4, column \d+ \(step 0\): invalid type: string "many"/);
  // A URL that serves no lesson (this server answers unknown paths with the page): an error naming it.
  const missing = await open(context, `${base}?lesson=teacher/none.json`);
  await missing.page.waitForSelector('#lesson-error');
  assert.match(await missing.page.textContent('#lesson-error'), /teacher\/none\.json/);
  assert.deepEqual(errors, []);
  assert.deepEqual(bad.errors, []);
  assert.deepEqual(missing.errors, []);
  await context.close();
});

test('lessons: try it yourself in the socketpair and backlog lessons (their syscall steps open the lesson\'s restore step)', async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  const { page, errors } = await open(context, `${base}#lesson=backlog&at=8`);
  await page.waitForSelector('#lesson-step[data-step="8"]');
  // A syscall step: "try it" opens the lesson's restore step (Z, backlog 0, two pending).
  assert.equal(await page.getAttribute('#lesson-try', 'disabled'), null);
  await page.click('#lesson-try');
  await page.waitForSelector('#lesson-try-bar #try-outcome');
  await page.waitForSelector('#edit-sockets');
  const before = await page.textContent('#try-outcome');
  assert.match(before, /The plan order runs to its end, after (\d+) steps/);
  // Backlog 5: nothing to raise, fewer steps.
  await page.selectOption('#listen-socket', 'Z');
  await page.fill('#listen-backlog', '5');
  await page.click('#listen');
  await page.waitForFunction((b) => document.querySelector('#try-outcome')?.textContent !== b, before);
  const after = await page.textContent('#try-outcome');
  assert.match(after, /runs to its end/);
  assert.ok(Number(after.match(/after (\d+) steps/)[1]) < Number(before.match(/after (\d+) steps/)[1]), `${before} → ${after}`);
  // The naive order: the clients connect before Z listens.
  await page.selectOption('#try-order', 'naive');
  await page.waitForFunction(() => /fails: ECONNREFUSED/.test(document.querySelector('#try-outcome')?.textContent));
  await page.click('#lesson-reset');
  await page.waitForFunction((b) => document.querySelector('#try-outcome')?.textContent === b, before);
  await page.click('#lesson-return');
  await page.waitForSelector('#lesson-step[data-step="8"]');

  // The socketpair lesson: its pairs' checkpoint, resent message by message.
  const sp = await open(context, `${base}#lesson=socketpair&at=3`);
  await sp.page.waitForSelector('#lesson-step[data-step="3"]');
  await sp.page.click('#lesson-try');
  await sp.page.waitForSelector('#lesson-try-bar #try-outcome');
  await sp.page.waitForSelector('#edit-sockets');
  const pair = await sp.page.textContent('#try-outcome');
  assert.match(pair, /The plan order runs to its end, after (\d+) steps/);
  await sp.page.selectOption('#try-order', 'v2');
  await sp.page.waitForFunction((b) => document.querySelector('#try-outcome')?.textContent !== b, pair);
  await sp.page.click('#lesson-reset');
  await sp.page.waitForFunction((b) => document.querySelector('#try-outcome')?.textContent === b, pair);
  assert.deepEqual(errors, []);
  assert.deepEqual(sp.errors, []);
  await context.close();
});
