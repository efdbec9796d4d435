/**
 * A minimal ISO 9660 (ECMA-119) image writer with Rock Ridge names: one root directory holding
 * a few small regular files. Enough for a cloud-init NoCloud seed (`cidata`), with no external
 * tool (genisoimage, xorriso) needed at run time.
 *
 * Why Rock Ridge: cloud-init mounts the volume and opens `user-data` and `meta-data` by name.
 * Plain ISO 9660 names are upper case 8.3 (`USER_DAT.;1`), so the real names travel in Rock
 * Ridge `NM` entries, which Linux (and the BSDs, and every ISO tool) read by default. The plain
 * names are still valid level-1 names, so strict readers accept the image too.
 *
 * Layout (2048-byte sectors):
 *   0-15  system area (zeros)
 *   16    primary volume descriptor      17  volume descriptor set terminator
 *   18    type L path table               19  type M path table
 *   20    root directory ("." carries the SUSP `SP` and the Rock Ridge `ER` entries)
 *   21..  file contents, each from a sector boundary, in directory order
 *   then  150 zero sectors of padding (as mkisofs/genisoimage add, so read-ahead at the end of
 *         the medium never fails)
 * Everything is deterministic for a given `date`.
 */

export const SECTOR = 2048;
const PAD_SECTORS = 150;
const FIRST_FILE_SECTOR = 21;

export interface IsoFile {
  /** Rock Ridge name: 1 to 64 of [A-Za-z0-9._-], not "." or "..". */
  name: string;
  data: Uint8Array;
}

export interface IsoOptions {
  /** Volume identifier (the filesystem label `blkid` reports): 1 to 32 of [A-Za-z0-9_-]. */
  volumeId: string;
  /** Recorded as the creation/modification time of the volume and its files. Default: now. */
  date?: Date;
}

const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const VOLUME_ID_RE = /^[A-Za-z0-9_-]{1,32}$/;

/** The level-1 (8.3, upper case d-characters) identifier for a Rock Ridge name, without ";1". */
export function level1Name(name: string): string {
  const dot = name.lastIndexOf(".");
  const [base, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot + 1)] : [name, ""];
  const d = (s: string, n: number): string => s.toUpperCase().replace(/[^A-Z0-9_]/g, "_").slice(0, n);
  return `${d(base, 8) || "_"}.${d(ext, 3)}`;
}

/** Builds the whole image in memory (seed files are a few KiB). */
export function buildIso9660(files: readonly IsoFile[], opts: IsoOptions): Buffer {
  if (!VOLUME_ID_RE.test(opts.volumeId)) throw new TypeError(`invalid ISO 9660 volume identifier ${JSON.stringify(opts.volumeId)}`);
  const date = opts.date ?? new Date();
  const seen = new Set<string>();
  const entries = files.map((f) => {
    if (!NAME_RE.test(f.name) || f.name === "." || f.name === "..") throw new TypeError(`invalid file name ${JSON.stringify(f.name)}`);
    let id = level1Name(f.name);
    for (let n = 1; seen.has(id); n++) {
      // Collision of two long names: replace the end of the base name with ~N.
      const [base, ext] = id.split(".") as [string, string];
      id = `${base.slice(0, 8 - String(n).length - 1)}~${n}.${ext}`;
    }
    seen.add(id);
    return { name: f.name, id: `${id};1`, data: f.data, sector: 0 };
  });
  // ECMA-119 9.3: directory records are sorted by file identifier.
  entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  let next = FIRST_FILE_SECTOR;
  for (const e of entries) {
    e.sector = next;
    next += Math.max(1, Math.ceil(e.data.length / SECTOR));
  }
  const totalSectors = next + PAD_SECTORS;
  const img = Buffer.alloc(totalSectors * SECTOR);
  const rootSector = 20;

  // Root directory: ".", "..", then the files.
  const dirRecords: Buffer[] = [
    dirRecord({ id: Buffer.from([0]), sector: rootSector, size: SECTOR, dir: true, date, su: [susp("SP", Buffer.from([0xbe, 0xef, 0])), px(0o040555, 2), erRockRidge()] }),
    dirRecord({ id: Buffer.from([1]), sector: rootSector, size: SECTOR, dir: true, date, su: [px(0o040555, 2)] }),
    ...entries.map((e) =>
      dirRecord({
        id: Buffer.from(e.id, "ascii"),
        sector: e.sector,
        size: e.data.length,
        dir: false,
        date,
        su: [px(0o100444, 1), susp("NM", Buffer.concat([Buffer.from([0]), Buffer.from(e.name, "ascii")]))],
      }),
    ),
  ];
  const dir = Buffer.concat(dirRecords);
  // One sector holds the directory (records may not cross a sector boundary; a seed has < 10 files).
  if (dir.length > SECTOR) throw new RangeError(`too many files for a one-sector ISO 9660 directory (${files.length})`);
  dir.copy(img, rootSector * SECTOR);
  for (const e of entries) img.set(e.data, e.sector * SECTOR);

  // Path tables: the root only. L = little-endian, M = big-endian extent numbers.
  const pathTable = (le: boolean): Buffer => {
    const b = Buffer.alloc(10);
    b[0] = 1; // length of directory identifier
    if (le) b.writeUInt32LE(rootSector, 2);
    else b.writeUInt32BE(rootSector, 2);
    if (le) b.writeUInt16LE(1, 6);
    else b.writeUInt16BE(1, 6);
    return b; // identifier 0x00 at 8, padding byte at 9
  };
  pathTable(true).copy(img, 18 * SECTOR);
  pathTable(false).copy(img, 19 * SECTOR);

  // Primary volume descriptor (ECMA-119 8.4).
  const pvd = Buffer.alloc(SECTOR);
  pvd[0] = 1;
  pvd.write("CD001", 1, "ascii");
  pvd[6] = 1;
  pvd.write(padRight("LINUX", 32), 8, "ascii");
  pvd.write(padRight(opts.volumeId, 32), 40, "ascii");
  both32(pvd, 80, totalSectors);
  both16(pvd, 120, 1); // volume set size
  both16(pvd, 124, 1); // volume sequence number
  both16(pvd, 128, SECTOR);
  both32(pvd, 132, 10); // path table size
  pvd.writeUInt32LE(18, 140);
  pvd.writeUInt32BE(19, 148);
  dirRecord({ id: Buffer.from([0]), sector: rootSector, size: SECTOR, dir: true, date, su: [] }).copy(pvd, 156);
  pvd.write(padRight("", 128), 190, "ascii"); // volume set
  pvd.write(padRight("", 128), 318, "ascii"); // publisher
  pvd.write(padRight("", 128), 446, "ascii"); // data preparer
  pvd.write(padRight("TSM", 128), 574, "ascii"); // application
  pvd.write(padRight("", 37 * 3), 702, "ascii"); // copyright, abstract, bibliographic file ids
  longDate(date).copy(pvd, 813); // creation
  longDate(date).copy(pvd, 830); // modification
  longDate(undefined).copy(pvd, 847); // expiration: none
  longDate(undefined).copy(pvd, 864); // effective: immediately
  pvd[881] = 1; // file structure version
  pvd.copy(img, 16 * SECTOR);

  // Volume descriptor set terminator.
  const term = img.subarray(17 * SECTOR, 18 * SECTOR);
  term[0] = 255;
  term.write("CD001", 1, "ascii");
  term[6] = 1;
  return img;
}

function padRight(s: string, n: number): string {
  return s.padEnd(n, " ").slice(0, n);
}

function both16(b: Buffer, off: number, v: number): void {
  b.writeUInt16LE(v, off);
  b.writeUInt16BE(v, off + 2);
}

function both32(b: Buffer, off: number, v: number): void {
  b.writeUInt32LE(v, off);
  b.writeUInt32BE(v, off + 4);
}

/** ECMA-119 8.4.26.1: "YYYYMMDDHHMMSScc" in ASCII plus the offset from GMT (UTC here). */
function longDate(d: Date | undefined): Buffer {
  const b = Buffer.alloc(17);
  if (!d) {
    b.write("0000000000000000", 0, "ascii");
    return b;
  }
  const p = (n: number, w = 2): string => String(n).padStart(w, "0");
  b.write(
    `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}${p(Math.floor(d.getUTCMilliseconds() / 10))}`,
    0,
    "ascii",
  );
  return b;
}

/** ECMA-119 9.1.5: seven bytes, years since 1900 ... seconds, offset from GMT. */
function shortDate(d: Date): Buffer {
  return Buffer.from([d.getUTCFullYear() - 1900, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), 0]);
}

/** A System Use Sharing Protocol entry: signature, length, version 1, data. */
function susp(sig: string, data: Buffer): Buffer {
  const len = 4 + data.length;
  if (len > 255) throw new RangeError(`SUSP ${sig} entry too long`);
  return Buffer.concat([Buffer.from(sig, "ascii"), Buffer.from([len, 1]), data]);
}

/** Rock Ridge (RRIP 1.10) POSIX attributes: mode, links, uid 0, gid 0. */
function px(mode: number, links: number): Buffer {
  const d = Buffer.alloc(32);
  both32(d, 0, mode);
  both32(d, 8, links);
  return susp("PX", d);
}

/** The `ER` entry announcing Rock Ridge (RRIP_1991A, the identifier mkisofs writes). */
function erRockRidge(): Buffer {
  const id = Buffer.from("RRIP_1991A", "ascii");
  const des = Buffer.from("THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS", "ascii");
  const src = Buffer.from("PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE", "ascii");
  return susp("ER", Buffer.concat([Buffer.from([id.length, des.length, src.length, 1]), id, des, src]));
}

/** A directory record (ECMA-119 9.1) with its System Use area, padded to an even length. */
function dirRecord(r: { id: Buffer; sector: number; size: number; dir: boolean; date: Date; su: Buffer[] }): Buffer {
  const idPad = r.id.length % 2 === 0 ? 1 : 0;
  const su = Buffer.concat(r.su);
  let len = 33 + r.id.length + idPad + su.length;
  len += len % 2;
  if (len > 255) throw new RangeError("directory record too long");
  const b = Buffer.alloc(len);
  b[0] = len;
  both32(b, 2, r.sector);
  both32(b, 10, r.size);
  shortDate(r.date).copy(b, 18);
  b[25] = r.dir ? 0x02 : 0x00;
  both16(b, 28, 1); // volume sequence number
  b[32] = r.id.length;
  r.id.copy(b, 33);
  su.copy(b, 33 + r.id.length + idPad);
  return b;
}
