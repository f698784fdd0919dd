// The in-memory zip reader: ordinary and zip64 archives, and archives built to lie.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatasetError } from '../src/data/errors.js';
import { bufferSource, crc32, readCentralDirectory as readDir, readEntry as readOne, ZipFormatError, type ZipEntryInfo } from '../src/data/zip-reader.js';
import { DEFAULT_ZIP_LIMITS, zipImages as listImages, type ZipLimits } from '../src/data/zip.js';
import { rawZip, solid, zipOf } from './fixtures/data.js';

// the reader works on any ByteSource; in-memory ones keep these tests free of files
const readCentralDirectory = (zip: Buffer) => readDir(bufferSource(zip));
const readEntry = (zip: Buffer, e: ZipEntryInfo) => readOne(bufferSource(zip), e);
const zipImages = (zip: Buffer, label: string, limits?: ZipLimits) => listImages(bufferSource(zip), label, limits);

const TEXT = Buffer.from('the same words, again and again; '.repeat(20));

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
});

test('reads an adm-zip archive: names, sizes, stored and deflated data', async () => {
  const png = await solid('png', [255, 0, 0]);
  const zip = zipOf({ 'dir/': '', 'dir/a.png': png, 'b.txt': TEXT });
  // (adm-zip writes its entries sorted by name)
  const entries = await readCentralDirectory(zip);
  assert.deepEqual(entries.map((e) => [e.name, e.isDirectory, e.size]), [['b.txt', false, TEXT.length], ['dir/', true, 0], ['dir/a.png', false, png.length]]);
  assert.deepEqual(await readEntry(zip, entries[2]), png);
  assert.deepEqual(await readEntry(zip, entries[0]), TEXT);
});

test('reads hand-written archives, plain and zip64', async () => {
  for (const zip64 of [false, true]) {
    const zip = rawZip([{ name: 'a.png', data: TEXT }, { name: 'b.png', data: Buffer.from('stored bytes'), method: 0 }], { zip64 });
    const entries = await readCentralDirectory(zip);
    assert.deepEqual(entries.map((e) => [e.name, e.size, e.method]), [['a.png', TEXT.length, 8], ['b.png', 12, 0]], `zip64: ${zip64}`);
    assert.deepEqual(await readEntry(zip, entries[0]), TEXT);
    assert.equal((await readEntry(zip, entries[1])).toString(), 'stored bytes');
  }
});

test('an entry that lies about its size, is encrypted, or uses another method cannot be read', async () => {
  const zip = rawZip([
    { name: 'small.png', data: TEXT, declaredSize: 10 },
    { name: 'big.png', data: TEXT, declaredSize: TEXT.length + 1 },
    { name: 'secret.png', data: TEXT, flags: 1 },
    { name: 'bzip.png', data: TEXT, method: 12 },
  ]);
  const [small, big, secret, bzip] = await readCentralDirectory(zip);
  // inflation stops at the declared size: the lie costs at most what the limits allowed
  await assert.rejects(readEntry(zip, small), (err: NodeJS.ErrnoException) => err.code === 'ERR_BUFFER_TOO_LARGE');
  await assert.rejects(readEntry(zip, big), /"big\.png" is 660 bytes, its header says 661/);
  await assert.rejects(readEntry(zip, secret), /"secret\.png" is encrypted/);
  await assert.rejects(readEntry(zip, bzip), /"bzip\.png" uses compression method 12/);
});

test('a damaged stored entry fails its CRC check', async () => {
  const zip = rawZip([{ name: 'a.png', data: TEXT, method: 0 }]);
  const at = zip.indexOf(TEXT);
  zip[at + 100] ^= 1;
  const [entry] = await readCentralDirectory(zip);
  await assert.rejects(readEntry(zip, entry), /"a\.png" fails its CRC check/);
});

test('entries sharing their bytes (the overlapping-entry zip bomb) refuse the archive', async () => {
  const zip = rawZip([{ name: 'a.png', data: TEXT }, { name: 'b.png', data: TEXT, sameAs: 0 }, { name: 'c.png', data: TEXT, sameAs: 0 }]);
  await assert.rejects(zipImages(zip, 'bomb.zip'), (err: Error) =>
    err instanceof DatasetError && err.message === 'bomb.zip: entries "a.png" and "b.png" share their bytes (an overlapping-entry zip bomb)');
  // stored and incompressible, so the shared record spans header and data (a record is at least 30 + its data bytes)
  const noise = Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 7919) % 251));
  const stored = rawZip([{ name: 'a.png', data: noise, method: 0 }, { name: 'b.png', data: noise, method: 0, sameAs: 0 }]);
  await assert.rejects(zipImages(stored, 'bomb.zip'), /entries "a\.png" and "b\.png" share their bytes/);
  // entries side by side share nothing
  const apart = rawZip([{ name: 'a.png', data: noise, method: 0 }, { name: 'b.png', data: noise, method: 0 }]);
  assert.equal((await zipImages(apart, 'ok.zip')).entries.length, 2);
  // b claims to start on a's last data byte: a's record spans at least 30 + 2000 bytes from 0
  const central = apart.indexOf(Buffer.from([0x50, 0x4b, 1, 2]));
  const second = apart.indexOf(Buffer.from([0x50, 0x4b, 1, 2]), central + 1);
  const onLastByte = Buffer.from(apart);
  onLastByte.writeUInt32LE(30 + 2000 - 1, second + 42);
  await assert.rejects(zipImages(onLastByte, 'bomb.zip'), /entries "a\.png" and "b\.png" share their bytes/);
});

test('the ratio limit starts at 64 KiB: a small entry may expand as much as it likes (it cannot bomb)', async () => {
  const zeros = (n: number) => rawZip([{ name: 'z.png', data: Buffer.alloc(n) }]); // zeros deflate about 1000:1
  assert.equal((await zipImages(zeros(64 * 1024 - 1), 'small.zip')).entries.length, 1);
  await assert.rejects(zipImages(zeros(64 * 1024), 'big.zip'), /big\.zip: entry "z\.png" expands \d+:1, over the 100:1 compression-ratio limit/);
});

test('the default limits are the documented ones (README: 250000, 64M, 4G, 100), and an entry may be exactly as large', async () => {
  assert.deepEqual(DEFAULT_ZIP_LIMITS, { maxEntries: 250_000, maxEntrySize: 64 * 2 ** 20, maxTotalSize: 4 * 2 ** 30, maxRatio: 100 });
  // a header claiming 64 MiB passes the size limit (and is then caught by the ratio limit); one byte more does not
  const claims = (declaredSize: number) => zipImages(rawZip([{ name: 'big.png', data: TEXT, declaredSize }]), 'big.zip');
  await assert.rejects(claims(64 * 2 ** 20), /expands .* over the 100:1 compression-ratio limit/);
  await assert.rejects(claims(64 * 2 ** 20 + 1), /big\.zip: entry "big\.png" is 64 MiB uncompressed, over the 64 MiB limit \(raise it with --zip-max-entry-size\)/);
});

test('directory records that point outside the file, or claim more entries than fit, are format errors', async () => {
  const zip = rawZip([{ name: 'a.png', data: TEXT }]);
  const eocd = zip.length - 22;
  const farOffset = Buffer.from(zip);
  farOffset.writeUInt32LE(zip.length + 100, eocd + 16);
  await assert.rejects(readCentralDirectory(farOffset), (err: Error) => err instanceof ZipFormatError && /central directory lies outside the file/.test(err.message));
  const tooMany = Buffer.from(zip);
  tooMany.writeUInt16LE(5000, eocd + 10);
  await assert.rejects(readCentralDirectory(tooMany), /claims 5000 entries but has room for 1/);
  const longName = Buffer.from(zip); // the last record's name runs past the end of the directory
  longName.writeUInt16LE(0xfff0, zip.indexOf(Buffer.from([0x50, 0x4b, 1, 2])) + 28);
  await assert.rejects(readCentralDirectory(longName), (err: Error) => err instanceof ZipFormatError && /central record 0's name lies outside the file/.test(err.message));
  const farLocal = Buffer.from(zip);
  farLocal.writeUInt32LE(0x00ffffff, zip.indexOf(Buffer.from([0x50, 0x4b, 1, 2])) + 42);
  const [entry] = await readCentralDirectory(farLocal);
  await assert.rejects(readEntry(farLocal, entry), /the local header of "a\.png" lies outside the file/);
});

test('the entry count limit is checked before the directory is parsed', async () => {
  const zip = rawZip([{ name: 'a.png', data: TEXT }, { name: 'b.png', data: TEXT }, { name: 'c.png', data: TEXT }]);
  await assert.rejects(zipImages(zip, 'x.zip', { maxEntries: 2, maxEntrySize: 1e9, maxTotalSize: 1e9, maxRatio: 100 }),
    /^DatasetError: x\.zip has 3 entries, over the 2 limit \(raise it with --zip-max-entries\)$/);
});

test('random damage never crashes: a DatasetError, or entries that read or fail cleanly', async () => {
  const good = zipOf({ 'a.png': await solid('png', [255, 0, 0]), 'b/c.png': await solid('png', [0, 9, 0]), 'd.txt': TEXT });
  let seed = 12345;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  let refused = 0;
  for (let round = 0; round < 300; round++) {
    const zip = Buffer.from(good);
    for (let k = 0; k < 1 + rand(4); k++) zip[rand(zip.length)] = rand(256);
    let listed;
    try {
      listed = await zipImages(zip, 'fuzz.zip');
    } catch (err) {
      assert.ok(err instanceof DatasetError, `round ${round}: ${(err as Error).stack}`);
      refused++;
      continue;
    }
    for (const e of listed.entries) await e.read().catch((err: unknown) => assert.ok(err instanceof Error));
  }
  assert.ok(refused > 0 && refused < 300, `some damage is fatal, some not (${refused} refused)`);
});

test('entry names that could land outside a folder on any OS refuse the archive, naming the entry', async () => {
  const unsafe = [
    '../evil.png', 'a/../../evil.png', '..', // zip slip
    '..\\evil.png', 'a\\..\\..\\evil.png', 'a/..\\evil.png', // the same with Windows' separator
    '/etc/evil.png', '\\evil.png', // absolute
    'C:\\evil.png', 'C:/evil.png', 'c:evil.png', 'Z:..\\evil.png', // drive letters, with and without a root
    '\\\\server\\share\\evil.png', '//server/share/evil.png', // UNC
    'evil\0.png', 'a/\0/b.png', // NUL: C APIs end the name there, so it is not the name that was checked
  ];
  for (const name of unsafe) {
    const zip = rawZip([{ name: 'fine.png', data: TEXT }, { name, data: TEXT }]);
    const shown = name.replace(/\0/g, '\\x00'); // the message stays one printable line
    await assert.rejects(zipImages(zip, 'x.zip'), (err: Error) =>
      err instanceof DatasetError && err.message.startsWith(`x.zip has an unsafe entry name "${shown}"`), JSON.stringify(name));
  }
});

test('names that only look odd are not refused: dots inside a name, a colon past the first part, spaces', async () => {
  const png = await solid('png', [1, 2, 3]);
  const listed = ['a..b.png', 'x../y.png', 'C.png', 'dir/C:x.png', 'a b/c d.png', 'ü/ß.png'];
  const hidden = ['...png', 'dir/..x.png']; // dot-files: passed over like .DS_Store, not refused
  const zip = rawZip([...listed, ...hidden].map((name) => ({ name, data: png })));
  assert.deepEqual((await zipImages(zip, 'ok.zip')).entries.map((e) => e.name), [...listed].sort());
});
