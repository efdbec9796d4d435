/**
 * `<cacheDir>/index.json`: which source (URL, or file:// URL of a local file)
 * resolved to which digest, and when each was last used. It is a hint, not the
 * truth: the cache is the `<algo>-<hex>/<name>` files themselves. An unreadable
 * index is treated as empty and rewritten; entries whose file is gone are
 * dropped on the next write. Written atomically (write-file-atomic) under the
 * cache's "index" lock, so concurrent processes never lose each other's entries.
 *
 *   { "version": 1, "entries": [ { "source", "digest": "sha512:<hex>", "name", "lastUsed": ISO-8601 } ] }
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { TsmError } from "../model/errors.js";
import { withCacheLock } from "./lock.js";

export interface IndexEntry {
  readonly source: string;
  /** "sha512:<hex>" or "sha256:<hex>" */
  readonly digest: string;
  readonly name: string;
  /** ISO-8601 */
  readonly lastUsed: string;
}

export const INDEX_FILE = "index.json";

function isEntry(x: unknown): x is IndexEntry {
  if (typeof x !== "object" || x === null) return false;
  const e = x as Record<string, unknown>;
  return (
    typeof e.source === "string" &&
    typeof e.digest === "string" &&
    /^(sha512|sha256):[0-9a-f]+$/.test(e.digest) &&
    typeof e.name === "string" &&
    e.name !== "" &&
    !/[/\\\0]/.test(e.name) &&
    typeof e.lastUsed === "string"
  );
}

/** The entries of the index; [] when it is missing or unreadable. */
export async function readIndex(cacheDir: string): Promise<IndexEntry[]> {
  let text: string;
  try {
    text = await readFile(path.join(cacheDir, INDEX_FILE), "utf8");
  } catch {
    return [];
  }
  try {
    const parsed = JSON.parse(text) as { entries?: unknown };
    return Array.isArray(parsed.entries) ? parsed.entries.filter(isEntry) : [];
  } catch {
    return [];
  }
}

/** Where the cache keeps the file of an entry. */
export function entryPath(cacheDir: string, digest: string, name: string): string {
  return path.join(cacheDir, digest.replace(":", "-"), name);
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Records that `source` resolved to `digest` (file `name`) and was used at `now`. */
export async function recordUse(
  cacheDir: string,
  use: { source: string; digest: string; name: string },
  now: number,
  signal: AbortSignal,
): Promise<void> {
  await withCacheLock(cacheDir, "index", signal, async () => {
    const entries = await readIndex(cacheDir);
    const kept: IndexEntry[] = [];
    for (const e of entries) {
      if (e.source === use.source && e.digest === use.digest && e.name === use.name) continue;
      if (await exists(entryPath(cacheDir, e.digest, e.name))) kept.push(e);
    }
    kept.push({ ...use, lastUsed: new Date(now).toISOString() });
    const { default: writeFileAtomic } = await import("write-file-atomic");
    try {
      await writeFileAtomic(path.join(cacheDir, INDEX_FILE), `${JSON.stringify({ version: 1, entries: kept }, null, 2)}\n`, { mode: 0o600 });
    } catch (err) {
      throw new TsmError("IMAGE_CACHE_INDEX", `Cannot write the image cache index ${path.join(cacheDir, INDEX_FILE)}: ${(err as Error).message}`, { cause: err });
    }
  });
}
