// CRIU checkpoints in the inspector, end to end (release build in dist/): a CRIU image directory
// through the directory picker (<input webkitdirectory>), .img files dropped on the page, a
// Podman checkpoint archive through the file picker; and the embedding API (openCheckpoint)
// called from JS (a Promise: the checkpoint reader's worker answers it), in the inspector's page
// and in a page that embeds the module alone (the worker's files served beside it).
// Screenshots: e2e/out/criu-*.png; with DOC_SCREENSHOTS=1 also docs/criu-directory.png and
// docs/criu-archive.png (the committed ones), so that a plain test run leaves the tree clean.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { start, stop, ROOT, DIST, OUT } from './harness.js';

const CRIU = path.join(ROOT, 'fixtures', 'criu');
const DIR = path.join(CRIU, 'images', 'valid', 'unknown-field');
const ARCHIVE = path.join(CRIU, 'archives', 'podman-stream-pair.tar.gz');
const EMBED = path.join(OUT, 'embed.html');
let h, browser, base;

/** A screenshot into e2e/out/, and into docs/ when DOC_SCREENSHOTS=1. */
async function shot(page, name, fullPage) {
  await page.screenshot({ path: path.join(OUT, name), fullPage });
  if (process.env.DOC_SCREENSHOTS === '1') fs.copyFileSync(path.join(OUT, name), path.join(ROOT, 'docs', name));
}

before(async () => {
  fs.mkdirSync(OUT, { recursive: true });
  // A page that embeds the module for its API only (docs/embedding.md).
  const js = fs.readdirSync(DIST).find((f) => /^resocket-web-.*\.js$/.test(f));
  const wasm = fs.readdirSync(DIST).find((f) => /^resocket-web-.*_bg\.wasm$/.test(f));
  fs.writeFileSync(EMBED, `<!doctype html><html><body data-resocket-embed><script type="module">
    import init, { openCheckpoint } from '/${js}';
    await init({ module_or_path: '/${wasm}' });
    window.openCheckpoint = openCheckpoint;
    document.body.dataset.ready = 'yes';
  </script></body></html>`);
  h = await start({ '/embed.html': EMBED });
  ({ browser, base } = h);
});
after(() => stop(h));

async function open(viewport = { width: 1440, height: 1100 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(base);
  await page.waitForSelector('#gallery .gallery-item', { timeout: 30_000 });
  return { page, errors };
}

const imgFiles = (dir) => fs.readdirSync(dir).sort().map((name) => ({ name, bytes: [...fs.readFileSync(path.join(dir, name))] }));

test('a CRIU image directory through the directory picker: image list, entries, graph, plan, a diagnostic', async () => {
  const { page, errors } = await open();
  // The fixture directory plus what a real dump directory also holds: a log and raw memory pages.
  const dir = path.join(OUT, 'dump', 'unknown-field');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(DIR, dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'dump.log'), 'criu dump log');
  fs.writeFileSync(path.join(dir, 'pages-1.img'), Buffer.alloc(4096, 0xab));
  await page.setInputFiles('#dir', dir);
  await page.waitForSelector('#criu-files tbody tr', { timeout: 30_000 });
  await page.waitForSelector('#graph .node', { timeout: 30_000 });
  assert.equal(await page.textContent('#summary .file'), 'unknown-field');
  const names = await page.$$eval('#criu-files tbody tr:not(.skipped)', (rows) => rows.map((r) => r.dataset.name));
  assert.deepEqual(names, fs.readdirSync(DIR).sort());
  const skipped = (await page.$$eval('#criu-files tbody tr.skipped', (rows) => rows.map((r) => r.textContent))).sort();
  assert.deepEqual(skipped, ['dump.lognot a CRIU image', 'pages-1.imgraw memory pages, not read']);
  // The warning for the field the schema does not know, located in files.img.
  const diag = page.locator('#diagnostics .diag[data-code="criu-unknown-field"]');
  assert.equal(await diag.count(), 1);
  assert.match(await diag.textContent(), /files\.img entry #0/);
  await diag.click();
  assert.ok((await page.locator('#criu-hex .b.hl').count()) > 0, 'the diagnostic highlights its bytes');
  // The entry's fields come from the worker (it walks the entry shown): wait for them.
  await page.waitForSelector('#criu-entries .field.unknown', { timeout: 10_000 });
  assert.equal(await page.locator('#graph .node').count(), 2);
  await page.waitForSelector('.controls .verdict');
  assert.equal(await page.textContent('.controls .verdict'), 'reproduces the image');
  // Field -> bytes.
  await page.locator('#criu-entries .record.selected .field').first().hover();
  assert.ok((await page.locator('#criu-hex .b.hv').count()) > 0);
  await shot(page, 'criu-directory.png', true);
  assert.deepEqual(errors, []);
  await page.close();
});

test('.img files dropped on the page open as one checkpoint', async () => {
  const { page, errors } = await open();
  const files = imgFiles(path.join(CRIU, 'images', 'valid', 'listener-accepted-pending'));
  await page.evaluate((files) => {
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(new File([new Uint8Array(f.bytes)], f.name));
    document.querySelector('.app').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files);
  await page.waitForSelector('#graph .node', { timeout: 30_000 });
  assert.equal(await page.textContent('#summary .file'), `${files.length} files`);
  assert.equal(await page.locator('#criu-files tbody tr').count(), files.length);
  assert.ok((await page.locator('#graph .node').count()) >= 4);
  assert.ok((await page.locator('#criu-notes li').count()) > 0, 'notes on what CRIU does not record');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a Podman checkpoint archive through the file picker, by content', async () => {
  const { page, errors } = await open();
  // Named without an extension: detected by content, not by name.
  const copy = path.join(OUT, 'checkpoint-export');
  fs.copyFileSync(ARCHIVE, copy);
  await page.setInputFiles('#file', copy);
  await page.waitForSelector('#graph .node', { timeout: 30_000 });
  assert.equal(await page.textContent('#container dd[data-key="engine"]'), 'Podman');
  assert.equal(await page.textContent('#container dd[data-key="compression"]'), 'tar.gz');
  assert.match(await page.textContent('#summary [data-stat="source"]'), /archive/);
  assert.ok((await page.locator('#criu-files tbody tr').count()) >= 5);
  await shot(page, 'criu-archive.png', false);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a directory without CRIU images is refused with a message; one unknown file opens as an image with its diagnostics', async () => {
  const { page } = await open();
  const dir = path.join(OUT, 'not-a-checkpoint');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
  fs.writeFileSync(path.join(dir, 'dump.log'), 'world');
  await page.setInputFiles('#dir', dir);
  await page.waitForSelector('#error');
  assert.match(await page.textContent('#error'), /not a CRIU image directory/);
  await page.setInputFiles('#file', path.join(dir, 'notes.txt'));
  await page.waitForSelector('#summary .verdict');
  assert.equal(await page.textContent('#summary .verdict'), 'invalid');
  assert.ok((await page.locator('#diagnostics .diag').count()) > 0);
  await page.close();
});

test('JS API: openCheckpoint in an embedding page (no inspector) and in the inspector', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(new URL('embed.html', base).href);
  await page.waitForSelector('body[data-ready="yes"]', { state: 'attached', timeout: 30_000 });
  assert.equal(await page.locator('#gallery').count(), 0, 'the app is not mounted');
  const dir = imgFiles(path.join(CRIU, 'images', 'valid', 'stream-pair'));
  const r = await page.evaluate((files) => window.openCheckpoint(files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) }))), dir);
  assert.equal(r.kind, 'criu');
  assert.equal(r.valid, true);
  assert.equal(r.sockets.length, 2);
  assert.ok(r.plan.steps.length > 0);
  assert.ok(r.files.some((f) => f.name === 'files.img' && f.magic === 'FILES' && f.entries === 2), JSON.stringify(r.files));
  const archive = [...fs.readFileSync(ARCHIVE)];
  const a = await page.evaluate((b) => window.openCheckpoint([{ name: 'x', bytes: new Uint8Array(b).buffer }]), archive);
  assert.equal(a.container.metadata.engine, 'Podman');
  assert.equal(a.sockets.length, 2);
  const bad = imgFiles(path.join(CRIU, 'images', 'invalid', 'peer-missing'));
  const b = await page.evaluate((files) => window.openCheckpoint(files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) }))), bad);
  assert.equal(b.valid, false);
  assert.ok(b.diagnostics.some((d) => d.code === 'criu-peer-missing' && d.file === 'files.img'), JSON.stringify(b.diagnostics));
  assert.ok(b.planError);
  // A Promise: rejected with an Error for what is not a checkpoint, or for a malformed call.
  const rejected = await page.evaluate(() => window.openCheckpoint([{ name: 'a', bytes: new Uint8Array([1, 2]) }]).then(() => null, (e) => [e instanceof Error, e.message]));
  assert.deepEqual(rejected?.[0], true);
  assert.match(rejected[1], /not a checkpoint/);
  const malformed = await page.evaluate(() => window.openCheckpoint([{ name: 'a' }]).then(() => null, (e) => e.message));
  assert.match(malformed, /files\[0\]\.bytes is missing/);
  // A File (a Blob) is read by the worker.
  const blob = await page.evaluate((b) => window.openCheckpoint([{ name: 'x', bytes: new File([new Uint8Array(b)], 'x') }]).then((r) => r.sockets.length), archive);
  assert.equal(blob, 2);
  assert.deepEqual(errors, []);
  await page.close();
  // The inspector's page exposes the same export (trunk's window.wasmBindings).
  const { page: p2 } = await open();
  const n = await p2.evaluate(async (files) => (await window.wasmBindings.openCheckpoint(files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) })))).sockets.length, dir);
  assert.equal(n, 2);
  await p2.close();
});
