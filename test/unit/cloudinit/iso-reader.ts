/**
 * An independent, deliberately small ISO 9660 reader for the tests: it reads the primary
 * volume descriptor, the root directory and Rock Ridge NM/PX entries, checking the invariants
 * a kernel relies on (both-endian fields agree, records stay within a sector, data lies
 * inside the volume). It shares no code with src/cloudinit/iso9660.ts.
 */
const SECTOR = 2048;

export interface ReadEntry {
  /** The plain ISO 9660 identifier, e.g. "USER_DAT.;1". */
  isoName: string;
  /** The Rock Ridge name, when an NM entry is present. */
  rrName?: string;
  /** Rock Ridge mode (PX), when present. */
  mode?: number;
  isDir: boolean;
  data: Buffer;
}

export interface ReadIso {
  volumeId: string;
  volumeSectors: number;
  rockRidge: boolean;
  entries: ReadEntry[];
}

function both32(b: Buffer, off: number, what: string): number {
  const le = b.readUInt32LE(off);
  const be = b.readUInt32BE(off + 4);
  if (le !== be) throw new Error(`${what}: little-endian ${le} != big-endian ${be}`);
  return le;
}

function suspEntries(su: Buffer): Array<{ sig: string; data: Buffer }> {
  const out: Array<{ sig: string; data: Buffer }> = [];
  let i = 0;
  while (i + 4 <= su.length) {
    const len = su[i + 2]!;
    if (len < 4 || i + len > su.length) break;
    out.push({ sig: su.toString("ascii", i, i + 2), data: su.subarray(i + 4, i + len) });
    i += len;
  }
  return out;
}

export function readIso(img: Buffer): ReadIso {
  if (img.length % SECTOR !== 0) throw new Error(`image size ${img.length} is not a multiple of ${SECTOR}`);
  const pvd = img.subarray(16 * SECTOR, 17 * SECTOR);
  if (pvd[0] !== 1 || pvd.toString("ascii", 1, 6) !== "CD001" || pvd[6] !== 1) throw new Error("no primary volume descriptor at sector 16");
  const volumeSectors = both32(pvd, 80, "volume space size");
  if (volumeSectors * SECTOR !== img.length) throw new Error(`volume space size ${volumeSectors} does not match the image`);
  if (pvd.readUInt16LE(128) !== SECTOR) throw new Error("logical block size is not 2048");
  // A terminator must follow the descriptors.
  let term = false;
  for (let s = 17; s < 32; s++) {
    const d = img.subarray(s * SECTOR, (s + 1) * SECTOR);
    if (d.toString("ascii", 1, 6) !== "CD001") break;
    if (d[0] === 255) {
      term = true;
      break;
    }
  }
  if (!term) throw new Error("no volume descriptor set terminator");
  const rootRec = pvd.subarray(156, 156 + 34);
  const rootSector = both32(rootRec, 2, "root extent");
  const rootSize = both32(rootRec, 10, "root size");
  const dir = img.subarray(rootSector * SECTOR, rootSector * SECTOR + rootSize);
  const entries: ReadEntry[] = [];
  let rockRidge = false;
  let off = 0;
  while (off < dir.length) {
    const len = dir[off]!;
    if (len === 0) {
      off = (Math.floor(off / SECTOR) + 1) * SECTOR; // rest of the sector is padding
      continue;
    }
    if (Math.floor(off / SECTOR) !== Math.floor((off + len - 1) / SECTOR)) throw new Error("directory record crosses a sector");
    if (len % 2 !== 0) throw new Error("odd directory record length");
    const rec = dir.subarray(off, off + len);
    const extent = both32(rec, 2, "extent");
    const size = both32(rec, 10, "data length");
    if (extent + Math.ceil(size / SECTOR) > volumeSectors) throw new Error("file data outside the volume");
    const idLen = rec[32]!;
    const id = rec.subarray(33, 33 + idLen);
    const su = rec.subarray(33 + idLen + (idLen % 2 === 0 ? 1 : 0));
    const e: ReadEntry = {
      isoName: idLen === 1 && id[0]! <= 1 ? (id[0] === 0 ? "." : "..") : id.toString("ascii"),
      isDir: (rec[25]! & 2) !== 0,
      data: img.subarray(extent * SECTOR, extent * SECTOR + size),
    };
    for (const s of suspEntries(su)) {
      if (s.sig === "SP" && s.data[0] === 0xbe && s.data[1] === 0xef && e.isoName === ".") rockRidge = true;
      if (s.sig === "NM") e.rrName = s.data.subarray(1).toString("ascii");
      if (s.sig === "PX") e.mode = both32(s.data, 0, "PX mode");
    }
    entries.push(e);
    off += len;
  }
  return { volumeId: pvd.toString("ascii", 40, 72).trimEnd(), volumeSectors, rockRidge, entries };
}
