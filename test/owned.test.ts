// The table of owned names that every delete of a run's files goes through (src/util/owned.ts, src/run/layout.ts).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { RUN_PARTS } from '../src/run/layout.js';
import { deleteRunFiles } from '../src/run/runs.js';
import { deleteOwned, ForeignFileError, ownedFile, ownedFolder, scanOwned } from '../src/util/owned.js';
import { tmpDir } from './helpers.js';

const TABLE = [ownedFile('a.json'), ownedFile(/^n-\d+\.png$/), ownedFolder('box', ownedFile('x.bin'), ownedFolder('inner', ownedFile('y')))];

async function files(dir: string, entries: Record<string, string | null>): Promise<void> {
  for (const [rel, content] of Object.entries(entries)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    if (content === null) await mkdir(path.join(dir, rel), { recursive: true });
    else await writeFile(path.join(dir, rel), content);
  }
}

test('owned: names and patterns at the top, folders and what they hold, temp files of owned files; the user\'s files beside are left out', async () => {
  const dir = await tmpDir();
  await files(dir, {
    'a.json': '{}', '.a.json.0123abcd.tmp': 'half', 'n-1.png': 'p', 'n-22.png': 'p', 'box/x.bin': 'b', 'box/inner/y': 'y',
    'mine.txt': 'keep', 'n-x.png': 'keep', '.mine.txt.0123abcd.tmp': 'keep',
  });
  const scan = await scanOwned(dir, TABLE);
  assert.equal(scan.foreign, undefined);
  // each folder after what it holds: the order a delete takes
  assert.deepEqual(scan.owned, ['.a.json.0123abcd.tmp', 'a.json', 'box/inner/y', 'box/inner', 'box/x.bin', 'box', 'n-1.png', 'n-22.png']);
  assert.deepEqual(await deleteOwned(dir, TABLE, 'refused'), ['.a.json.0123abcd.tmp', 'a.json', 'box', 'n-1.png', 'n-22.png']);
  assert.deepEqual((await readdir(dir)).sort(), ['.mine.txt.0123abcd.tmp', 'mine.txt', 'n-x.png']);
});

test('owned: inside an owned folder anything unnamed is foreign, as are links and the wrong kind; a delete then removes nothing', async () => {
  const cases: [Record<string, string | null>, string, RegExp][] = [
    [{ 'box/x.bin': 'b', 'box/notes.txt': 'mine' }, 'box/notes.txt', /dcgan did not write it/],
    [{ 'box/inner/y': 'y', 'box/inner/z': 'mine' }, 'box/inner/z', /dcgan did not write it/],
    [{ 'box/x.bin': null }, 'box/x.bin', /a folder where dcgan writes a file/],
    [{ box: 'a file' }, 'box', /a file where dcgan writes a folder/],
    [{ 'box/inner': 'a file' }, 'box/inner', /a file where dcgan writes a folder/],
  ];
  for (const [entries, foreign, why] of cases) {
    const dir = await tmpDir();
    await files(dir, { 'a.json': '{}', ...entries });
    const scan = await scanOwned(dir, TABLE);
    assert.equal(scan.foreign?.path, foreign, JSON.stringify(entries));
    assert.match(scan.foreign!.why, why);
    await assert.rejects(deleteOwned(dir, TABLE, 'nothing was deleted'), (err: Error) =>
      err instanceof ForeignFileError && err.message === `${path.join(dir, foreign)}: ${scan.foreign!.why}; nothing was deleted`);
    assert.ok(existsSync(path.join(dir, 'a.json')), 'a file was deleted before the refusal');
  }
  const dir = await tmpDir();
  await files(dir, { 'a.json': '{}', 'target.txt': 'mine', 'box/x.bin': 'b' });
  await symlink(path.join(dir, 'target.txt'), path.join(dir, 'n-3.png'));
  assert.deepEqual((await scanOwned(dir, TABLE)).foreign, { path: 'n-3.png', why: 'it is a symbolic link, not a file dcgan wrote' });
});

test('a run\'s parts: every file a run writes is owned, a user\'s file inside its folders is not', async () => {
  const dir = await tmpDir();
  const run = {
    'config.json': '{}', 'metrics.jsonl': '', 'steps.jsonl': '', 'eval.jsonl': '', 'fixed-noise.bin': '', 'classes.json': '',
    'samples/epoch-001.png': '', 'samples/epoch-1000.png': '', 'samples/.epoch-002.png.89abcdef.tmp': '', 'plot.png': '', 'report.html': '',
    'generator/model.json': '', 'generator/weights.bin': '', 'discriminator/model.json': '', 'discriminator/weights.bin': '',
    'optimizer/optimizer.json': '', 'optimizer/slots.bin': '', 'optimizer/adam.json': '', 'optimizer/moments.bin': '', 'state.json': '',
    '.checkpoint-staging/generator/model.json': '', '.checkpoint-staging/COMPLETE': '', '.checkpoint-staging/.COMPLETE.01234567.tmp': '',
    'train.lock': '', 'notes.txt': '',
  };
  await files(dir, run);
  assert.equal((await scanOwned(dir, RUN_PARTS)).foreign, undefined);
  await deleteRunFiles(dir);
  assert.deepEqual((await readdir(dir)).sort(), ['notes.txt', 'train.lock']);

  for (const [extra, named] of [['samples/voice.wav', 'samples/voice.wav'], ['samples/epoch-1.png.bak', 'samples/epoch-1.png.bak'],
    ['generator/README.md', 'generator/README.md'], ['optimizer/sgd.json', 'optimizer/sgd.json'], ['.checkpoint-staging/mine', '.checkpoint-staging/mine']]) {
    const other = await tmpDir();
    await files(other, { ...run, [extra]: 'mine' });
    await assert.rejects(deleteRunFiles(other), new RegExp(`^Error: ${path.join(other, named).replace(/[/.]/g, '\\$&')}: dcgan did not write it; nothing was deleted`));
    assert.ok(existsSync(path.join(other, 'config.json')));
  }
});
