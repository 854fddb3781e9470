// End-to-end tests of navigation: deep links (#fixture=…&order=…&step=…), keyboard shortcuts,
// a 400 px wide window, and a big image that opens without blocking input. Same set-up as
// inspector.test.js: the release build in dist/ (DIST=dir for another), served by a tiny static
// server, driven by playwright-core in Debian's /usr/bin/chromium. Screenshots go to e2e/out/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { start, stop, ROOT, DIST, OUT } from './harness.js';

const BIG = path.join(OUT, 'synth-10000.rsimg');
const hasFixture = (name) => fs.existsSync(path.join(ROOT, 'fixtures', 'images', 'valid', `${name}.rsimg`));
let h, browser, base;

before(async () => {
  h = await start({ '/__big.rsimg': BIG });
  ({ browser, base } = h);
});
after(() => stop(h));

/** A fresh page at `base + hash`, with page errors collected. */
async function open(hash = '', viewport = { width: 1440, height: 1000 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base + hash);
  await page.waitForSelector('#gallery .gallery-item', { timeout: 30_000 });
  return { page, errors };
}

const pos = async (page) => (await page.textContent('#timeline .controls .pos')).split(' / ').map(Number);
const hash = (page) => page.evaluate(() => location.hash);
// The position shown, and the kernel worker's answer for it in (the order's run, the kernel at
// the cursor: the timeline is aria-busy until then).
const untilPos = (page, n) =>
  page.waitForFunction((n) => document.querySelector('#timeline .controls .pos')?.textContent.startsWith(`${n} /`)
    && document.querySelector('#timeline[aria-busy="false"]'), n);

test('deep links: #fixture=…&step=N opens the fixture at step N; the fragment follows the user', async (t) => {
  if (!hasFixture('listener-pending') || !hasFixture('stream-pair')) return t.skip('fixtures missing');
  const { page, errors } = await open('#fixture=listener-pending&step=3&zz=kept');
  await untilPos(page, 3);
  assert.equal(await page.textContent('#summary .file'), 'listener-pending');
  assert.equal(await page.getAttribute('#timeline .step.current', 'data-index'), '2');
  assert.equal(await page.inputValue('#order'), 'planner');
  // Stepping rewrites the step (replaceState: no new history entry); other keys are kept.
  const length = await page.evaluate(() => history.length);
  await page.keyboard.press('ArrowRight');
  await untilPos(page, 4);
  assert.equal(await hash(page), '#fixture=listener-pending&step=4&zz=kept');
  assert.equal(await page.evaluate(() => history.length), length);
  // A changed fragment (hashchange) moves the open fixture to its order and step.
  await page.evaluate(() => { location.hash = '#fixture=listener-pending&order=naive&step=2'; });
  await untilPos(page, 2);
  assert.equal(await page.inputValue('#order'), 'naive');
  // Choosing an order in the page writes it (the cursor goes back to 0: no step key).
  await page.selectOption('#order', 'v2');
  await page.waitForFunction(() => location.hash === '#fixture=listener-pending&order=v2');
  // Another fixture in the fragment opens it.
  await page.evaluate(() => { location.hash = '#fixture=stream-pair&step=1'; });
  await page.waitForFunction(() => document.querySelector('#summary .file')?.textContent === 'stream-pair');
  await untilPos(page, 1);
  // Opening from the gallery writes the fixture; an uploaded file removes the keys.
  await page.click('.gallery-item[data-name="listener-pending"]');
  await page.waitForFunction(() => location.hash === '#fixture=listener-pending');
  await page.setInputFiles('#file', { name: 'up.rsimg', mimeType: 'application/octet-stream',
    buffer: fs.readFileSync(path.join(ROOT, 'fixtures/images/valid/stream-pair.rsimg')) });
  await page.waitForFunction(() => document.querySelector('#summary .file')?.textContent === 'up.rsimg');
  await page.waitForFunction(() => location.hash === '');
  // A share link's `s=` is not ours: left alone while a file is open, dropped by a fixture.
  assert.equal(await page.evaluate(() => { history.replaceState(null, '', '#s=AAAA'); return location.hash; }), '#s=AAAA');
  await page.keyboard.press('ArrowRight');
  assert.equal(await hash(page), '#s=AAAA');
  await page.click('.gallery-item[data-name="stream-pair"]');
  await page.waitForFunction(() => location.hash === '#fixture=stream-pair');
  assert.deepEqual(errors, []);
  await page.close();
});

test('deep links: a big fixture opened in slices lands on the linked order and step; unknown names say so', async (t) => {
  if (!hasFixture('many-1000')) return t.skip('fixture many-1000 missing');
  const page0 = await browser.newPage();
  // Every fragment the page shows while it opens the link (polled each frame).
  await page0.addInitScript(() => {
    window.__hashes = [];
    const poll = () => {
      if (window.__hashes.at(-1) !== location.hash) window.__hashes.push(location.hash);
      requestAnimationFrame(poll);
    };
    poll();
  });
  const errors = [];
  page0.on('pageerror', (e) => errors.push(String(e)));
  await page0.goto(base + '#fixture=many-1000&order=naive&step=5');
  const page = page0;
  await page.waitForSelector('#timeline .step', { timeout: 60_000 });
  await untilPos(page, 5);
  // The link stays in the address bar while it is being opened (a reload then opens it again).
  assert.deepEqual(await page.evaluate(() => window.__hashes), ['#fixture=many-1000&order=naive&step=5']);
  assert.equal(await page.inputValue('#order'), 'naive');
  assert.equal(await hash(page), '#fixture=many-1000&order=naive&step=5');
  await page.evaluate(() => { location.hash = '#fixture=no-such-fixture'; });
  await page.waitForSelector('#error');
  assert.match(await page.textContent('#error'), /no fixture named "no-such-fixture"/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('keyboard: arrows step, Shift+arrows step 10, Space plays, Home/End; not while typing; help lists them', async (t) => {
  if (!hasFixture('listener-pending')) return t.skip('fixture listener-pending missing');
  const { page, errors } = await open();
  await page.click('.gallery-item[data-name="listener-pending"]');
  await page.waitForSelector('#timeline .step');
  const [, total] = await pos(page);
  assert.ok(total > 12, `${total} steps`);
  // The hint next to the timeline controls.
  assert.ok(await page.isVisible('#timeline .controls .keys'));
  assert.match(await page.textContent('#timeline .controls .keys'), /step.*play/);
  await page.locator('body').click({ position: { x: 5, y: 300 } }); // focus nowhere in particular
  for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
  assert.deepEqual(await pos(page), [3, total]);
  await page.keyboard.press('ArrowLeft');
  assert.deepEqual(await pos(page), [2, total]);
  await page.keyboard.press('Shift+ArrowRight');
  assert.deepEqual(await pos(page), [12, total]);
  await page.keyboard.press('End');
  assert.deepEqual(await pos(page), [total, total]);
  await page.keyboard.press('Shift+ArrowLeft');
  assert.deepEqual(await pos(page), [total - 10, total]);
  await page.keyboard.press('Home');
  assert.deepEqual(await pos(page), [0, total]);
  // Space plays (the play button turns into pause and the position moves on), Space pauses.
  await page.keyboard.press(' ');
  assert.equal(await page.textContent('#timeline .play'), '⏸');
  await untilPos(page, 1);
  await page.keyboard.press(' ');
  assert.equal(await page.textContent('#timeline .play'), '▶');
  const [paused] = await pos(page);
  // Typing in the graph's search box, or arrows in the order selector, is not stepping.
  await page.click('#graph-panel .search');
  await page.keyboard.type('ab ');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('End');
  assert.equal(await page.inputValue('#graph-panel .search'), 'ab ');
  assert.deepEqual(await pos(page), [paused, total]);
  await page.focus('#order');
  await page.keyboard.press('ArrowLeft');
  assert.deepEqual(await pos(page), [paused, total]);
  // In the record list, arrows (and j/k) move through records, not the timeline.
  await page.focus('#records-scroll');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.getAttribute('#records .record.selected', 'data-index'), '1');
  assert.deepEqual(await pos(page), [paused, total]);
  // `?` shows the list of shortcuts, Esc hides it; so does the header button.
  await page.locator('body').click({ position: { x: 5, y: 300 } });
  await page.keyboard.press('?');
  assert.ok(await page.isVisible('#shortcuts'));
  const keys = await page.locator('#shortcuts dt').allTextContents();
  for (const k of ['→ / ←', 'Space', 'Home / End', '?']) assert.ok(keys.includes(k), keys.join());
  await page.locator('#shortcuts').screenshot({ path: path.join(OUT, 'shortcuts.png') });
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('#shortcuts').count(), 0);
  await page.click('#help-toggle');
  assert.ok(await page.isVisible('#shortcuts'));
  await page.click('#help-toggle');
  assert.equal(await page.locator('#shortcuts').count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('narrow window (400 px): panels stack in one column without horizontal scrolling', async (t) => {
  if (!hasFixture('listener-pending')) return t.skip('fixture listener-pending missing');
  const { page, errors } = await open('#fixture=listener-pending&step=6', { width: 400, height: 900 });
  await untilPos(page, 6);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 400, `page is ${width} px wide`);
  const ids = ['#gallery', '#summary', '#records', '#hex', '#diagnostics', '#graph-panel', '#timeline', '#sockets'];
  let bottom = 0;
  for (const id of ids) {
    const b = await page.locator(id).boundingBox();
    assert.ok(b.x >= 0 && b.x + b.width <= 400 + 0.5, `${id} spans ${b.x}..${b.x + b.width}`);
    assert.ok(b.y >= bottom - 0.5, `${id} starts at ${b.y}, above the previous panel's end ${bottom}`);
    bottom = b.y + b.height;
  }
  // The timeline's steps list and its kernel graph stack too.
  const steps = await page.locator('#timeline .steps').boundingBox();
  const kernel = await page.locator('#timeline .kernel').boundingBox();
  assert.ok(kernel.y >= steps.y + steps.height - 0.5, 'kernel graph below the steps');
  await page.keyboard.press('ArrowRight');
  await untilPos(page, 7);
  await page.screenshot({ path: path.join(OUT, 'narrow-400.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

/** Write e2e/out/synth-10000.rsimg (core's synth_image example) unless it is there. */
function ensureBig() {
  if (fs.existsSync(BIG)) return;
  const msg = execFileSync('cargo', ['run', '-q', '-p', 'resocket-core', '--example', 'synth_image', '--', '10000', BIG],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  console.log(`# ${path.relative(ROOT, BIG)}: ${msg.trim()}`);
}

test('a 10,000-socket image opens in slices: a click is handled while it loads', async () => {
  ensureBig();
  const { page, errors } = await open();
  // The header button's place, taken before: the click below must not wait for the page.
  const b = await page.locator('#help-toggle').boundingBox();
  await page.evaluate(async () => {
    window.__longtasks = [];
    new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push(e.duration); })
      .observe({ type: 'longtask' });
    const buf = await (await fetch('/__big.rsimg')).arrayBuffer();
    const dt = new DataTransfer();
    dt.items.add(new File([buf], 'big.rsimg', { type: 'application/octet-stream' }));
    // When the shortcuts panel appears and when the loading panel goes, in page time.
    window.__seen = {};
    let started;
    const loading = new Promise((r) => { started = r; });
    new MutationObserver(() => {
      const t = performance.now();
      if (document.querySelector('#shortcuts') && !window.__seen.shortcuts) window.__seen.shortcuts = t;
      if (document.querySelector('#loading') && !window.__seen.loading) { window.__seen.loading = t; started(); }
      if (window.__seen.loading && !document.querySelector('#loading') && !window.__seen.loaded) window.__seen.loaded = t;
    }).observe(document.body, { childList: true, subtree: true });
    document.querySelector('.app').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    await loading; // returns as soon as the open has started
  });
  // A real mouse click: input events queue behind whatever task is running.
  await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
  await page.waitForSelector('#timeline .step', { timeout: 60_000 });
  await page.waitForSelector('#loading', { state: 'detached' });
  const seen = await page.evaluate(() => window.__seen);
  console.log(`# ${JSON.stringify(seen)} ${JSON.stringify(await page.evaluate(() => window.__longtasks))}`);
  assert.ok(seen.shortcuts, 'the click opened the shortcuts panel');
  assert.ok(seen.shortcuts < seen.loaded, `click handled at ${seen.shortcuts} ms, loading done at ${seen.loaded} ms`);
  const sockets = Number((await page.textContent('#summary [data-stat="sockets"] b')).replace(/,/g, ''));
  assert.ok(sockets >= 10_000, `${sockets} sockets`);
  assert.equal(Number(await page.getAttribute('#graph', 'data-nodes')), sockets);
  assert.match(await page.textContent('#timeline .verdict'), /reproduces/);
  const long = await page.evaluate(() => window.__longtasks);
  console.log(`# 10k image: loading ${Math.round(seen.loaded - seen.loading)} ms, click handled after ` +
    `${Math.round(seen.shortcuts - seen.loading)} ms; long tasks: ${long.map(Math.round).join(', ') || 'none'} ms`);
  // Stepping the 10k timeline with the keyboard.
  await page.locator('body').click({ position: { x: 5, y: 300 } });
  await page.keyboard.press('ArrowRight');
  await untilPos(page, 1);
  await page.keyboard.press('End');
  const [at, total] = await pos(page);
  assert.equal(at, total);
  await page.locator('#graph-panel').screenshot({ path: path.join(OUT, 'graph-10k.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('big invalid images open in slices too: garbage and a cut 10,000-socket image get their diagnostics', async () => {
  ensureBig();
  const { page, errors } = await open();
  const drop = (kind) => page.evaluate(async (kind) => {
    let bytes;
    if (kind === 'garbage') {
      bytes = new Uint8Array(400_000);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251; // no valid framing
    } else {
      const buf = await (await fetch('/__big.rsimg')).arrayBuffer();
      bytes = new Uint8Array(buf).slice(0, Math.floor(buf.byteLength * 0.6) + 3); // cut inside a record
    }
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], `${kind}.rsimg`, { type: 'application/octet-stream' }));
    document.querySelector('.app').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, kind);
  for (const kind of ['garbage', 'cut']) {
    await drop(kind);
    await page.waitForFunction((k) => document.querySelector('#summary .file')?.textContent === `${k}.rsimg`, kind);
    await page.waitForSelector('#loading', { state: 'detached', timeout: 60_000 });
    assert.equal(await page.textContent('#summary .verdict'), 'invalid');
    const codes = await page.locator('#diagnostics .diag').evaluateAll((els) => els.map((e) => e.dataset.code));
    assert.ok(codes.length >= 1, `${kind}: diagnostics listed`);
    if (kind === 'cut') {
      assert.ok(codes.includes('len-past-end') || codes.includes('truncated'), codes.join());
      assert.equal(await page.locator('#records .framing-error').count(), 1);
      // The records before the cut are modelled: the graph has their sockets.
      assert.ok(Number(await page.getAttribute('#graph', 'data-nodes')) > 1000);
    }
    // The timeline says what the planner made of it (a plan, or why there is none).
    assert.equal(await page.locator('#timeline .controls, #timeline .plan-error').count(), 1, `${kind}: timeline`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('the generated synth-large says it is opening before it is generated, then opens in slices', async () => {
  const { page, errors } = await open();
  await page.evaluate(() => {
    window.__stages = [];
    new MutationObserver(() => {
      const t = document.querySelector('#loading .what')?.textContent;
      if (t && window.__stages.at(-1) !== t) window.__stages.push(t);
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  await page.click('.gallery-item[data-name="synth-large"]');
  await page.waitForSelector('#timeline .step', { timeout: 60_000 });
  await page.waitForSelector('#loading', { state: 'detached' });
  const stages = await page.evaluate(() => window.__stages);
  assert.equal(stages[0], 'opening synth-large: generating the image', stages.join(' | '));
  assert.ok(stages.some((s) => s.endsWith('reading records')), stages.join(' | '));
  assert.ok(stages.some((s) => s.endsWith('planning the restore')), stages.join(' | '));
  assert.equal(await page.evaluate(() => location.hash), '#fixture=synth-large');
  assert.deepEqual(errors, []);
  await page.close();
});
