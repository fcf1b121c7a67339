// A streaming ZIP writer, for "download all as ZIP" in the page or in a
// Service Worker: entries are pulled one at a time, each file is opened only
// when its turn comes and its bytes pass straight through, so neither the
// archive nor any whole file is ever held in memory (only the central
// directory, a hundred-odd bytes an entry, waits for the end).
//
// Everything is stored (method 0), so the archive's length follows from the
// names and sizes alone: zipSize() gives it up front, for Content-Length.
// CRC-32s are computed on the way through and written after each file, in a
// data descriptor (flag bit 3). Names are UTF-8 (flag bit 11). Each entry
// also carries an extended timestamp (0x5455), so unzip restores the exact
// mtime in UTC, not only the local, two-second DOS one.
//
// In a Service Worker, from a listing with signed URLs:
//   const entries = files.map((f) => ({ path: f.path, size: f.size,
//     modified: new Date(f.modified), open: () => fetchBody(f.url) }));
//   new Response(zipStream(entries), {
//     headers: { "Content-Length": String(zipSize(entries)) } });
// A file whose bytes differ in number from its listed size (changed since
// the listing) fails the whole download: better than a wrong archive.
//
// ZIP64 (APPNOTE 4.3.9, 4.5.3), decided per entry from its declared size and
// its offset, the same way in zipStream() and zipSize():
// - An entry whose size or local header offset is >= 0xFFFFFFFF is a ZIP64
//   entry: its local header carries the ZIP64 extra (sizes 0xFFFFFFFF there,
//   0 in the extra, as bit 3 wants) and its data descriptor has 8-byte sizes.
//   Its central header has a ZIP64 extra with just the fields that overflow
//   (sizes, offset), set to 0xFFFFFFFF in the header. So a local ZIP64 extra
//   goes with a central one, whichever a reader looks at.
// - The ZIP64 end of central directory record and locator are written when
//   there are >= 0xFFFF entries or the central directory's size or offset is
//   >= 0xFFFFFFFF. Then every field of the classic end record is 0xFFFF(FFFF),
//   so a reader that knows no ZIP64 fails loudly instead of listing part of it.

import { crc32Update } from "./crc32";

export interface ZipEntry {
  /** '/'-separated, from the archive root; ending in '/' makes an empty folder. */
  path: string;
  /** The exact number of bytes open() yields; 0 for a folder. */
  size: number;
  modified: Date;
  /** Called once, when the entry's turn comes; never for a folder. */
  open(): Promise<ReadableStream<Uint8Array>>;
}

/** The stream errors with this when a file is not the size it said it was. */
export class ZipError extends Error {
  override name = "ZipError";
}

const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

const SIG_LOCAL = 0x04034b50;
const SIG_DESCRIPTOR = 0x08074b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const SIG_END = 0x06054b50;

const LOCAL_LEN = 30;
const CENTRAL_LEN = 46;
const END_LEN = 22;
const END64_LEN = 56;
const LOCATOR64_LEN = 20;
/** 0x5455 with the modification time only: id, length, flags, mtime. */
const TIME_EXTRA_LEN = 9;
/** The local ZIP64 extra: id, length, both sizes. */
const LOCAL64_EXTRA_LEN = 20;

const FLAG_DESCRIPTOR = 1 << 3;
const FLAG_UTF8 = 1 << 11;
/** 2.0 for folders and data descriptors, 4.5 for ZIP64. */
const VERSION = 20;
const VERSION64 = 45;
/** Unix (3), so unzip takes the modes below; APPNOTE 4.5 is all this writes. */
const MADE_BY = (3 << 8) | VERSION64;
const FILE_ATTRS = (0o100644 << 16) >>> 0;
/** drwxr-xr-x, and the MS-DOS directory bit. */
const FOLDER_ATTRS = ((0o040755 << 16) | 0x10) >>> 0;

/** The central directory is sent in pieces of about this size. */
const CENTRAL_CHUNK = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The archive built from `entries`, as a stream. Pulls lazily (nothing is
 * read before the consumer asks for it) and errors, with a ZipError, if a
 * file yields more or fewer bytes than its `size`. Cancelling it cancels the
 * file being read and ends the iteration of `entries`.
 */
export function zipStream(
  entries: AsyncIterable<ZipEntry> | Iterable<ZipEntry>,
): ReadableStream<Uint8Array> {
  const state: State = { reader: null, canceled: false };
  const chunks = archive(entries, state);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel(reason) {
        state.canceled = true;
        // A read in flight ends at once, rather than after the next chunk.
        await state.reader?.cancel(reason).catch(() => {});
        await chunks.return(undefined).catch(() => {});
      },
    },
    // No read-ahead: a pull only when the consumer is waiting for bytes.
    { highWaterMark: 0 },
  );
}

/** The exact length of zipStream() over entries with these paths and sizes. */
export function zipSize(entries: Iterable<{ path: string; size: number }>): number {
  const namer = new ZipNamer();
  let offset = 0;
  let central = 0;
  let count = 0;
  for (const entry of entries) {
    const { name, folder } = namer.name(entry.path);
    checkSize(entry.size, folder, entry.path);
    const nameLen = nameBytes(name).length;
    const zip64 = needs64(entry.size, offset);
    central += centralLength(nameLen, entry.size, offset);
    offset += localLength(nameLen, zip64) + entry.size + descriptorLength(folder, zip64);
    count++;
  }
  const total = offset + central + endLength(count, central, offset);
  if (!Number.isSafeInteger(total)) throw new RangeError("zip: archive too large");
  return total;
}

/** The names the entries get in the archive (folders end in '/'). */
export function zipNames(paths: Iterable<string>): string[] {
  const namer = new ZipNamer();
  return Array.from(paths, (p) => namer.name(p).name);
}

/**
 * Makes entry paths safe to extract, and unique.
 *
 * Each path is split into segments at '/' and also at '\' (Windows
 * extractors treat it as a separator). Segments made only of dots and spaces
 * are dropped: that is "", "." and "..", hence a leading '/', "a//b" and
 * "a/./b", and also "..." and ".. ", which Windows trims down to "..". A
 * dropped ".." is not resolved against its parent, so an entry stays in the
 * folder it names: "../../etc/passwd" becomes "etc/passwd", "a/../b"
 * becomes "a/b". In what is left, control characters (C0, DEL, C1), the
 * bidirectional overrides that disguise an extension, and ':' (a drive
 * letter, "C:x", or an NTFS stream, "a:b") become '_'. A path with nothing
 * left is "unnamed". Folders end in '/' (as given, a trailing '\' does not
 * count) and must have size 0.
 *
 * Names are compared as they would be on a case-insensitive file system
 * (Unicode NFC, lower case). A file whose name is taken, by a file or a
 * folder, becomes "report (2).pdf", "report (3).pdf", ...; a folder whose
 * name is taken by a file becomes "a (2)/", and so do the later entries in
 * it. Folders that differ only in case merge into the first one's name.
 * So extracting never overwrites anything.
 */
export class ZipNamer {
  /** Every name handed out, as keys, folders without their '/'. */
  private readonly taken = new Set<string>();
  /** Key of (resolved parent + segment as given) to the resolved folder, with '/'. */
  private readonly folders = new Map<string, string>();

  name(path: string): { name: string; folder: boolean } {
    const folder = path.endsWith("/");
    // Lone surrogates become U+FFFD here, as TextEncoder would write them.
    const wellFormed = decoder.decode(encoder.encode(path));
    const segments = wellFormed
      .split(/[/\\]/)
      .filter((s) => !/^[. ]*$/.test(s))
      .map((s) => s.replace(UNSAFE, "_"));
    if (segments.length === 0) segments.push("unnamed");
    const folderCount = folder ? segments.length : segments.length - 1;
    let parent = "";
    for (let i = 0; i < folderCount; i++) parent = this.folder(parent, segments[i]!);
    if (folder) return { name: parent, folder };
    return { name: parent + this.claim(parent, segments[folderCount]!, true), folder };
  }

  private folder(parent: string, segment: string): string {
    const key = nameKey(parent + segment);
    let resolved = this.folders.get(key);
    if (resolved === undefined) {
      resolved = parent + this.claim(parent, segment, false) + "/";
      this.folders.set(key, resolved);
    }
    return resolved;
  }

  private claim(parent: string, segment: string, isFile: boolean): string {
    let name = segment;
    for (let n = 2; this.taken.has(nameKey(parent + name)); n++) {
      const dot = isFile ? segment.lastIndexOf(".") : -1;
      name = dot > 0 ? `${segment.slice(0, dot)} (${n})${segment.slice(dot)}` : `${segment} (${n})`;
    }
    this.taken.add(nameKey(parent + name));
    return name;
  }
}

interface State {
  /** The file being read, so that cancelling reaches it at once. */
  reader: ReadableStreamDefaultReader<Uint8Array> | null;
  canceled: boolean;
}

const UNSAFE = /[\p{Cc}\u202a-\u202e\u2066-\u2069:]/gu;

function nameKey(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

async function* archive(
  entries: AsyncIterable<ZipEntry> | Iterable<ZipEntry>,
  state: State,
): AsyncGenerator<Uint8Array, void, undefined> {
  const namer = new ZipNamer();
  const central: Uint8Array[] = [];
  let offset = 0;
  for await (const entry of entries) {
    const { name, folder } = namer.name(entry.path);
    const size = entry.size;
    checkSize(size, folder, entry.path);
    const nameRaw = nameBytes(name);
    const zip64 = needs64(size, offset);
    const time = dosTime(entry.modified);
    const local = localHeader(nameRaw, folder, zip64, time);
    yield local;

    let crc = 0;
    if (!folder) {
      const stream = await entry.open();
      if (state.canceled) {
        await stream.cancel().catch(() => {});
        return;
      }
      const reader = stream.getReader();
      state.reader = reader;
      let read = 0;
      let finished = false;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          read += value.length;
          if (read > size) throw new ZipError(`zip: ${entry.path} is longer than ${size} bytes`);
          crc = crc32Update(crc, value);
          if (value.length) yield value;
        }
        finished = true;
      } finally {
        state.reader = null;
        if (finished) reader.releaseLock();
        else await reader.cancel().catch(() => {});
      }
      if (read !== size) {
        throw new ZipError(`zip: ${entry.path} ended after ${read} of ${size} bytes`);
      }
      yield descriptor(crc, size, zip64);
    }
    central.push(centralHeader(nameRaw, folder, size, offset, crc, time));
    offset += local.length + size + descriptorLength(folder, zip64);
  }

  let centralSize = 0;
  for (let i = 0; i < central.length;) {
    const batch: Uint8Array[] = [];
    let length = 0;
    while (i < central.length && length < CENTRAL_CHUNK) {
      const record = central[i]!;
      central[i++] = EMPTY; // sent: no longer kept
      batch.push(record);
      length += record.length;
    }
    centralSize += length;
    yield concat(batch, length);
  }
  yield end(central.length, centralSize, offset);
}

const EMPTY = new Uint8Array(0);

function checkSize(size: number, folder: boolean, path: string) {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`zip: ${path} has an invalid size ${size}`);
  }
  if (folder && size !== 0) throw new RangeError(`zip: folder ${path} must have size 0`);
}

function nameBytes(name: string): Uint8Array {
  const bytes = encoder.encode(name);
  if (bytes.length > MAX16) throw new RangeError(`zip: name too long: ${name.slice(0, 100)}...`);
  return bytes;
}

function needs64(size: number, offset: number): boolean {
  return size >= MAX32 || offset >= MAX32;
}

function localLength(nameLen: number, zip64: boolean): number {
  return LOCAL_LEN + nameLen + TIME_EXTRA_LEN + (zip64 ? LOCAL64_EXTRA_LEN : 0);
}

function descriptorLength(folder: boolean, zip64: boolean): number {
  if (folder) return 0; // nothing to follow up: CRC and sizes are 0, and said so
  return zip64 ? 24 : 16;
}

/** The central ZIP64 extra holds only the fields that overflow. */
function central64Length(size: number, offset: number): number {
  const fields = (size >= MAX32 ? 16 : 0) + (offset >= MAX32 ? 8 : 0);
  return fields ? 4 + fields : 0;
}

function centralLength(nameLen: number, size: number, offset: number): number {
  return CENTRAL_LEN + nameLen + TIME_EXTRA_LEN + central64Length(size, offset);
}

function needsEnd64(count: number, centralSize: number, centralOffset: number): boolean {
  return count >= MAX16 || centralSize >= MAX32 || centralOffset >= MAX32;
}

function endLength(count: number, centralSize: number, centralOffset: number): number {
  const zip64 = needsEnd64(count, centralSize, centralOffset);
  return (zip64 ? END64_LEN + LOCATOR64_LEN : 0) + END_LEN;
}

interface Time {
  dosTime: number;
  dosDate: number;
  /** Unix seconds, for the 0x5455 extra. */
  unix: number;
}

/**
 * DOS fields are local time, as extractors read them, clamped to what they
 * hold (1980-01-01 to 2107-12-31); the Unix time is clamped to a signed
 * 32-bit count from 1970, as the 0x5455 field holds it. An invalid Date is
 * taken as 1980-01-01.
 */
function dosTime(modified: Date): Time {
  const d = Number.isNaN(modified.getTime()) ? new Date(1980, 0, 1) : modified;
  const unix = Math.min(Math.max(Math.floor(d.getTime() / 1000), 0), 0x7fffffff);
  const year = d.getFullYear();
  if (year < 1980) return { dosTime: 0, dosDate: (1 << 5) | 1, unix };
  if (year > 2107) return { dosTime: (23 << 11) | (59 << 5) | 29, dosDate: 0xff9f, unix };
  return {
    dosTime: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    dosDate: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
    unix,
  };
}

/** Little-endian fields into a buffer of a length fixed beforehand. */
class Out {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private pos = 0;

  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(v: number) {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  u16(v: number) {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number) {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** Up to 2^53, without BigInt. */
  u64(v: number) {
    this.u32(v % 0x100000000);
    this.u32(Math.floor(v / 0x100000000));
  }

  raw(b: Uint8Array) {
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }

  /** The lengths zipSize() counts are the lengths written: checked here. */
  done(): Uint8Array {
    if (this.pos !== this.bytes.length) throw new Error("zip: record length mismatch");
    return this.bytes;
  }
}

function timeExtra(out: Out, time: Time) {
  out.u16(0x5455);
  out.u16(5);
  out.u8(1); // modification time only
  out.u32(time.unix);
}

function localHeader(name: Uint8Array, folder: boolean, zip64: boolean, time: Time): Uint8Array {
  const extraLen = TIME_EXTRA_LEN + (zip64 ? LOCAL64_EXTRA_LEN : 0);
  const out = new Out(localLength(name.length, zip64));
  out.u32(SIG_LOCAL);
  out.u16(zip64 ? VERSION64 : VERSION);
  out.u16(folder ? FLAG_UTF8 : FLAG_UTF8 | FLAG_DESCRIPTOR);
  out.u16(0); // stored
  out.u16(time.dosTime);
  out.u16(time.dosDate);
  out.u32(0); // CRC: in the data descriptor (a folder's is 0)
  out.u32(zip64 ? MAX32 : 0); // sizes: likewise
  out.u32(zip64 ? MAX32 : 0);
  out.u16(name.length);
  out.u16(extraLen);
  out.raw(name);
  if (zip64) {
    out.u16(0x0001);
    out.u16(16);
    out.u64(0);
    out.u64(0);
  }
  timeExtra(out, time);
  return out.done();
}

function descriptor(crc: number, size: number, zip64: boolean): Uint8Array {
  const out = new Out(descriptorLength(false, zip64));
  out.u32(SIG_DESCRIPTOR);
  out.u32(crc);
  if (zip64) {
    out.u64(size);
    out.u64(size);
  } else {
    out.u32(size);
    out.u32(size);
  }
  return out.done();
}

function centralHeader(
  name: Uint8Array,
  folder: boolean,
  size: number,
  offset: number,
  crc: number,
  time: Time,
): Uint8Array {
  const extra64 = central64Length(size, offset);
  const out = new Out(centralLength(name.length, size, offset));
  out.u32(SIG_CENTRAL);
  out.u16(MADE_BY);
  // The same as in the local header: ZIP64 there iff a ZIP64 extra here.
  out.u16(extra64 ? VERSION64 : VERSION);
  out.u16(folder ? FLAG_UTF8 : FLAG_UTF8 | FLAG_DESCRIPTOR);
  out.u16(0);
  out.u16(time.dosTime);
  out.u16(time.dosDate);
  out.u32(crc);
  out.u32(size >= MAX32 ? MAX32 : size);
  out.u32(size >= MAX32 ? MAX32 : size);
  out.u16(name.length);
  out.u16(extra64 + TIME_EXTRA_LEN);
  out.u16(0); // comment
  out.u16(0); // disk
  out.u16(0); // internal attributes
  out.u32(folder ? FOLDER_ATTRS : FILE_ATTRS);
  out.u32(offset >= MAX32 ? MAX32 : offset);
  out.raw(name);
  if (extra64) {
    out.u16(0x0001);
    out.u16(extra64 - 4);
    if (size >= MAX32) {
      out.u64(size); // uncompressed, then compressed: APPNOTE's order
      out.u64(size);
    }
    if (offset >= MAX32) out.u64(offset);
  }
  timeExtra(out, time);
  return out.done();
}

function end(count: number, centralSize: number, centralOffset: number): Uint8Array {
  const zip64 = needsEnd64(count, centralSize, centralOffset);
  const out = new Out(endLength(count, centralSize, centralOffset));
  if (zip64) {
    out.u32(SIG_END64);
    out.u64(END64_LEN - 12); // the size of the rest of this record
    out.u16(MADE_BY);
    out.u16(VERSION64);
    out.u32(0); // this disk
    out.u32(0); // the disk the central directory starts on
    out.u64(count);
    out.u64(count);
    out.u64(centralSize);
    out.u64(centralOffset);
    out.u32(SIG_LOCATOR64);
    out.u32(0);
    out.u64(centralOffset + centralSize); // where the record above starts
    out.u32(1); // disks in all
  }
  out.u32(SIG_END);
  out.u16(0);
  out.u16(0);
  out.u16(zip64 ? MAX16 : count);
  out.u16(zip64 ? MAX16 : count);
  out.u32(zip64 ? MAX32 : centralSize);
  out.u32(zip64 ? MAX32 : centralOffset);
  out.u16(0); // comment
  return out.done();
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
