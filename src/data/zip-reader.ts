// A minimal zip reader: the central directory (zip64 included), then one entry's bytes at a time, read into memory
// with positional reads, so neither the archive nor anything extracted from it is ever written anywhere, and a
// 40,000-entry archive costs its directory (a few MB), not its size, in memory.
// Deliberately not adm-zip for reading: it wants the whole archive in one Buffer (which also caps it at 2 GiB), and
// its per-entry objects cost about 9 KB of heap and 0.15 ms each, so listing 40,000 entries took 6–10 s and ~370 MB
// on a 2-core machine, against ~0.1 s and ~30 MB here.
// Every offset and length read from the file is bounds-checked before use.
import { open } from 'node:fs/promises';
import zlib from 'node:zlib';

/** Random access to the archive's bytes: a file, or a Buffer in tests. */
export interface ByteSource {
  size: number;
  read(offset: number, length: number): Promise<Buffer>;
  close(): Promise<void>;
}

export function bufferSource(buf: Buffer): ByteSource {
  return { size: buf.length, read: async (offset, length) => buf.subarray(offset, offset + length), close: async () => {} };
}

export async function fileSource(file: string): Promise<ByteSource> {
  const fh = await open(file, 'r');
  const size = (await fh.stat()).size;
  return {
    size,
    read: async (offset, length) => {
      const out = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(out, got, length - got, offset + got);
        if (bytesRead === 0) throw new ZipFormatError('the archive ended early (did it change while being read?)');
        got += bytesRead;
      }
      return out;
    },
    close: () => fh.close(),
  };
}

export interface ZipEntryInfo {
  name: string;
  /** the central directory's claims, checked against limits before anything is inflated */
  size: number;
  compressedSize: number;
  method: number;
  crc: number;
  encrypted: boolean;
  isDirectory: boolean;
  /** where the entry's local header starts */
  localOffset: number;
}

/** Thrown for archives that cannot be parsed; callers turn it into a one-line user message. */
export class ZipFormatError extends Error {}

/** Thrown before any entry is parsed when the end record declares more entries than allowed. */
export class ZipTooManyEntries extends Error {
  constructor(readonly count: number) {
    super(`${count} entries`);
  }
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_DIRECTORY = 256 * 1024 * 1024;

function need(size: number, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > size) {
    throw new ZipFormatError(`${what} lies outside the file`);
  }
}

function u64(buf: Buffer, offset: number, what: string): number {
  const v = buf.readBigUInt64LE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError(`${what} is impossibly large`);
  return Number(v);
}

/** The central directory's entries, in archive order. Throws ZipFormatError for anything malformed. */
export async function readCentralDirectory(src: ByteSource, maxEntries = Infinity): Promise<ZipEntryInfo[]> {
  // The end record is in the last 22 + 65,535 (comment) bytes, with the zip64 locator just before it.
  const tailStart = Math.max(0, src.size - 22 - 0xffff - 20);
  const tail = await src.read(tailStart, src.size - tailStart);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError('no end-of-central-directory record (not a zip file, or cut short)');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || tail.readUInt32LE(loc) !== EOCD64_LOCATOR) throw new ZipFormatError('a zip64 archive without its zip64 locator');
    const at = u64(tail, loc + 8, 'the zip64 record offset');
    need(src.size, at, 56, 'the zip64 end record');
    const rec = await src.read(at, 56);
    if (rec.readUInt32LE(0) !== EOCD64) throw new ZipFormatError('the zip64 end record is missing');
    count = u64(rec, 32, 'the entry count');
    cdSize = u64(rec, 40, 'the central directory size');
    cdOffset = u64(rec, 48, 'the central directory offset');
  }
  if (count > maxEntries) throw new ZipTooManyEntries(count);
  need(src.size, cdOffset, cdSize, 'the central directory');
  // a real directory is ~100 bytes an entry (25 MB for 250,000); this is only a bound on what one read may allocate
  if (cdSize > MAX_DIRECTORY) throw new ZipFormatError(`a central directory of ${Math.round(cdSize / 2 ** 20)} MiB is beyond belief`);
  // each central record is at least 46 bytes: a count the directory cannot hold is a lie
  if (count * 46 > cdSize) throw new ZipFormatError(`the directory claims ${count} entries but has room for ${Math.floor(cdSize / 46)}`);
  const buf = await src.read(cdOffset, cdSize);

  const entries: ZipEntryInfo[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    need(buf.length, p, 46, `central record ${i}`);
    if (buf.readUInt32LE(p) !== CENTRAL) throw new ZipFormatError(`central record ${i} has a bad signature`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let compressedSize = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    let localOffset = buf.readUInt32LE(p + 42);
    need(buf.length, p + 46, nameLength + extraLength + commentLength, `central record ${i}'s name`);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLength);
    if (size === 0xffffffff || compressedSize === 0xffffffff || localOffset === 0xffffffff) {
      // zip64 extra field (id 1): the 64-bit values, present only for the fields that overflowed, in this order
      let q = p + 46 + nameLength;
      const end = q + extraLength;
      let found = false;
      while (q + 4 <= end) {
        const id = buf.readUInt16LE(q);
        const len = buf.readUInt16LE(q + 2);
        if (q + 4 + len > end) break;
        if (id === 1) {
          let r = q + 4;
          const take = (what: string) => {
            if (r + 8 > q + 4 + len) throw new ZipFormatError(`entry "${name}" has a short zip64 field`);
            const v = u64(buf, r, what);
            r += 8;
            return v;
          };
          if (size === 0xffffffff) size = take('an entry size');
          if (compressedSize === 0xffffffff) compressedSize = take('an entry size');
          if (localOffset === 0xffffffff) localOffset = take('an entry offset');
          found = true;
          break;
        }
        q += 4 + len;
      }
      if (!found) throw new ZipFormatError(`entry "${name}" lacks its zip64 sizes`);
    }
    entries.push({
      name,
      size,
      compressedSize,
      method,
      crc,
      encrypted: (flags & 1) !== 0,
      isDirectory: name.endsWith('/') || name.endsWith('\\'),
      localOffset,
    });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * An entry's bytes: stored or deflated, never more than its declared size (zlib stops there), and CRC-checked.
 * Throws for encrypted entries, other methods, and damage; callers count those as unreadable files.
 */
export async function readEntry(src: ByteSource, e: ZipEntryInfo): Promise<Buffer> {
  if (e.encrypted) throw new ZipFormatError(`"${e.name}" is encrypted`);
  if (e.method !== 0 && e.method !== 8) throw new ZipFormatError(`"${e.name}" uses compression method ${e.method}`);
  need(src.size, e.localOffset, 30, `the local header of "${e.name}"`);
  const local = await src.read(e.localOffset, 30);
  if (local.readUInt32LE(0) !== LOCAL) throw new ZipFormatError(`the local header of "${e.name}" has a bad signature`);
  // the local name and extra field may differ in length from the central ones
  const start = e.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  need(src.size, start, e.compressedSize, `the data of "${e.name}"`);
  const packed = await src.read(start, e.compressedSize);
  const data = e.method === 0 ? packed : zlib.inflateRawSync(packed, { maxOutputLength: Math.max(1, e.size) });
  if (data.length !== e.size) throw new ZipFormatError(`"${e.name}" is ${data.length} bytes, its header says ${e.size}`);
  if (crc32(data) !== e.crc) throw new ZipFormatError(`"${e.name}" fails its CRC check`);
  return data;
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

// zlib.crc32 arrived in Node 20.15; the project supports 20.9, so the classic table version it is.
export function crc32(data: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
