/**
 * The machine's disk: the cloud image (downloaded and verified by the image cache) converted
 * once per image to VirtualBox's VDI format in `<store>/cache/virtualbox/<digest>.vdi`, then
 * cloned for each machine. One lock per base VDI (`vdi-<digest>` in that directory) covers
 * both, so concurrent creates never convert an image twice, nor close a base another clone
 * is reading.
 */
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { OpContext } from "../../src/model/driver.js";
import type { VBoxDeps } from "./deps.js";
import type { VBoxManage } from "./vboxmanage.js";

export interface BaseVdi {
  vdi: string;
  /** The image's size, which the machine's disk is at least. */
  sizeBytes: number;
}

type DiskDeps = Pick<VBoxDeps, "ensureImage" | "exists" | "withLock" | "rename">;

/** VBoxManage's disk copies may take long on slow disks. */
const DISK_COPY_TIMEOUT_MS = 60 * 60_000;

function lockName(vdi: string): string {
  return `vdi-${path.basename(vdi, ".vdi")}`;
}

/** The base VDI of image `source` (the image fetched into `<cacheDir>/images` first), converted when missing. */
export async function ensureBaseVdi(o: { deps: DiskDeps; vbm: VBoxManage; cacheDir: string; source: string; ctx: OpContext }): Promise<BaseVdi> {
  const { deps, ctx } = o;
  const image = await deps.ensureImage({ cacheDir: path.join(o.cacheDir, "images"), source: o.source, ctx });
  const dir = path.join(o.cacheDir, "virtualbox");
  const key = image.digest.replace(/[^A-Za-z0-9]+/g, "-");
  const vdi = path.join(dir, `${key}.vdi`);
  if (deps.exists(vdi)) return { vdi, sizeBytes: image.sizeBytes };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return deps.withLock(dir, lockName(vdi), ctx.signal, async () => {
    if (deps.exists(vdi)) return { vdi, sizeBytes: image.sizeBytes };
    ctx.log("Converting the image to VirtualBox's VDI format (once per image)...");
    const tmp = path.join(dir, `.convert-${randomBytes(4).toString("hex")}.vdi`);
    try {
      await o.vbm.run(["convertfromraw", image.path, tmp, "--format", "VDI"], { timeoutMs: DISK_COPY_TIMEOUT_MS });
      await deps.rename(tmp, vdi);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { vdi, sizeBytes: image.sizeBytes };
  });
}

/**
 * Clones the base into `disk`. clonemedium registers the source and the clone in VirtualBox's
 * media registry; the source is closed again at once, under the base's lock, and the clone
 * goes with the VM (unregistervm --delete).
 */
export async function cloneBaseVdi(o: { deps: DiskDeps; vbm: VBoxManage; base: BaseVdi; disk: string; signal: AbortSignal }): Promise<void> {
  await o.deps.withLock(path.dirname(o.base.vdi), lockName(o.base.vdi), o.signal, async () => {
    await o.vbm.run(["clonemedium", "disk", o.base.vdi, o.disk, "--format", "VDI"], { timeoutMs: DISK_COPY_TIMEOUT_MS });
    await o.vbm.run(["closemedium", "disk", o.base.vdi]);
  });
}
