/**
 * The default Debian cloud image URLs, apart from source.ts so that driver descriptors (loaded
 * by every command) import nothing else.
 */
import { UsageError } from "../model/errors.js";

/** Debian 13 (trixie) cloud images. */
const DEBIAN_CLOUD_BASE = "https://cloud.debian.org/images/cloud/trixie/latest";

/** The Debian 13 cloud image for this CPU architecture. Unsupported architecture -> UsageError. */
export function defaultCloudImageUrl(arch: NodeJS.Architecture, kind: "genericcloud" | "generic", format: "qcow2" | "raw"): string {
  const debianArch = arch === "x64" ? "amd64" : arch === "arm64" ? "arm64" : undefined;
  if (debianArch === undefined) {
    throw new UsageError(`There is no Debian cloud image for the ${arch} architecture (only x64 and arm64): give an image URL or file`);
  }
  return `${DEBIAN_CLOUD_BASE}/debian-13-${kind}-${debianArch}.${format}`;
}

