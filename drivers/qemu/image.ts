/**
 * The base image of a QEMU machine: the verified, cached cloud image (src/images), with
 * its format and virtual size read by `qemu-img info` (the overlay names the backing
 * format explicitly: letting QEMU probe a raw image's format is unsafe).
 */
import type { OpContext } from "../../src/model/driver.js";
import { TsmError } from "../../src/model/errors.js";
import type { Exec } from "../../src/exec/exec.js";

export interface BaseImage {
  path: string;
  digest: string;
  format: "qcow2" | "raw";
  virtualSize: number;
  cacheHit: boolean;
}

export async function ensureBaseImage(
  ctx: OpContext,
  opts: { exec: Exec; cacheDir: string; source: string; checksumUrl: string; qemuImg: string },
): Promise<BaseImage> {
  const { ensureImage } = await import("../../src/images/cache.js");
  const { imageProgress } = await import("../../src/images/progress.js");
  const image = await ensureImage({
    cacheDir: opts.cacheDir,
    source: opts.source,
    ...(opts.checksumUrl ? { checksumUrl: opts.checksumUrl } : {}),
    progress: ctx.display ? imageProgress(ctx.display.progress, ctx.display.isTty) : { step: (t) => ctx.log(t), bytes: () => undefined },
    signal: ctx.signal,
  });
  if (!image.cacheHit) ctx.log(`Image ${image.name} verified and cached (${image.digest.slice(0, 19)}...)`);
  const info = await opts.exec(opts.qemuImg, ["info", "--output=json", image.path], { signal: ctx.signal, reject: false });
  if (info.exitCode !== 0) throw new TsmError("IMAGE_UNREADABLE", `qemu-img cannot read the image ${image.path}: ${info.stderr.trim().split("\n").pop() ?? ""}`);
  const parsed = JSON.parse(info.stdout) as { format?: string; "virtual-size"?: number; "backing-filename"?: string };
  if (parsed.format !== "qcow2" && parsed.format !== "raw") {
    throw new TsmError("IMAGE_FORMAT", `The image ${image.name} is in ${String(parsed.format)} format; tsm uses qcow2 or raw images`);
  }
  if (parsed["backing-filename"]) throw new TsmError("IMAGE_FORMAT", `The image ${image.name} has a backing file of its own; give a standalone image`);
  return { path: image.path, digest: image.digest, format: parsed.format, virtualSize: Number(parsed["virtual-size"] ?? 0), cacheHit: image.cacheHit };
}
