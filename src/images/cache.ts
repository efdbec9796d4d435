/**
 * The image cache: turns an image source into a verified, read-only file that
 * VM disks can use as their backing file. Used by the QEMU and VirtualBox drivers.
 *
 * Layout (`cacheDir` is `<store>/cache/images`, created 0700):
 *   <cacheDir>/<algo>-<hex>/<name>    the image, 0444, keyed by its digest (sha512 or sha256)
 *   <cacheDir>/index.json             source -> digest and last use (see index-file.ts)
 *   <cacheDir>/locks/                 locks (src/store/lock.ts: one per digest, one for the index)
 *   <cacheDir>/.download-*.part       transfers in progress (removed on failure or abort)
 *
 * Contract of `ensureImage`:
 * - Sources (source.ts): https URLs; http only for loopback hosts (otherwise a
 *   UsageError before any request); file:///abs/path or a local path.
 * - Remote: the checksum file (default "SHA512SUMS" beside the image) is always
 *   fetched first, so a "latest" URL resolves to the current image; the line for
 *   the image's file name gives the digest, which is the cache key. A cached file
 *   under that key is a hit (no download). If the checksum file cannot be fetched
 *   and the index knows exactly one cached image for this URL, that one is used
 *   and a step line says so. A miss streams the image into a temp file in the
 *   cache, hashing as it goes; a wrong digest deletes it and throws
 *   IMAGE_CHECKSUM_MISMATCH; a good one is fsynced, made 0444, and renamed into place.
 * - Local: the file is hashed (SHA-512); if that digest is cached it is a hit,
 *   otherwise the file is copied into the cache while hashing the copy, so the
 *   cached file (the disks' backing file) never changes when the original does.
 * - Concurrency: downloads and copies run under a lock per digest; a second
 *   process waits, then finds the file (a hit). Files appear only by atomic
 *   rename, so nobody ever sees half an image.
 * - Abort (`signal`): the temp file is removed and the promise rejects with the
 *   signal's reason when it is a TsmError, else InterruptedError (exit 130).
 * - Errors are TsmErrors with one-line messages naming the URL or path:
 *   IMAGE_DOWNLOAD_FAILED, IMAGE_CHECKSUM_UNAVAILABLE, IMAGE_CHECKSUM_MISSING,
 *   IMAGE_CHECKSUM_MISMATCH, IMAGE_SOURCE_CHANGED, IMAGE_CACHE_*; bad sources are
 *   UsageErrors (exit 2).
 * - A cache hit does not re-hash the file: the cache trusts its own 0444 files.
 *
 * node:crypto and write-file-atomic are imported on first use,
 * so importing this module costs the CLI's start-up nothing.
 */
import type { Stats } from "node:fs";
import { chmod, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { isTsmError, TsmError, UsageError, type ErrorCode } from "../model/errors.js";
import { cacheKey, type DigestAlgorithm, type ExpectedDigest, findChecksum, formatDigest, parseCacheKey } from "./checksums.js";
import { entryPath, readIndex, recordUse } from "./index-file.js";
import { abortError } from "../model/abort.js";
import { withCacheLock } from "./lock.js";
import { formatBytes, type ImageProgress } from "./progress.js";
import { parseImageSource, redactUrl, resolveChecksumUrl } from "./source.js";

export { defaultCloudImageUrl } from "./source.js";
export { imageProgress, imageProgressFromLog, type ImageProgress, type ImageProgressOptions, silentImageProgress } from "./progress.js";

export interface EnsureImageOptions {
  /** <store>/cache/images — created 0700 when missing. */
  cacheDir: string;
  /**
   * https://... URL; http:// only for loopback hosts (127.0.0.0/8, ::1, localhost);
   * file:///abs/path; or a local path (absolute or relative to the current directory).
   */
  source: string;
  /** Checksum file URL; default "SHA512SUMS" in the image URL's directory (Debian's layout). Not used for local files. */
  checksumUrl?: string;
  progress: ImageProgress;
  signal: AbortSignal;
  /** Injected for tests; default globalThis.fetch. */
  fetch?: typeof fetch;
  /** Clock for the "last used" stamp; default Date.now. */
  now?: () => number;
}

export interface CachedImage {
  /** Absolute path of the verified, read-only (0444) file in the cache. */
  path: string;
  /** "sha512:<hex>" or "sha256:<hex>" */
  digest: string;
  sizeBytes: number;
  /** true when nothing was downloaded or copied. */
  cacheHit: boolean;
  /** File name from the URL or path (e.g. debian-13-genericcloud-amd64.qcow2). */
  name: string;
}

export interface CachedImageEntry {
  /** "sha512:<hex>" or "sha256:<hex>" */
  digest: string;
  path: string;
  sizeBytes: number;
  name: string;
  /** From the index; undefined when the index does not know the file. */
  lastUsed: Date | undefined;
}

/** Largest checksum file we read: Debian's is a few KiB; anything this big is not one. */
const MAX_CHECKSUM_FILE = 8 * 1024 * 1024;
/** Transfers older than this were left by a killed process. */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;
const TEMP_PREFIX = ".download-";

/** Makes sure the image is in the cache, verified, and returns where. See the header for the contract. */
export async function ensureImage(opts: EnsureImageOptions): Promise<CachedImage> {
  const source = parseImageSource(opts.source);
  const checksumUrl = source.kind === "remote" ? resolveChecksumUrl(source.url, opts.checksumUrl) : undefined;
  if (opts.signal.aborted) throw abortError(opts.signal, "preparing the image");
  try {
    await mkdir(opts.cacheDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new TsmError("IMAGE_CACHE_DIR", `Cannot create the image cache ${opts.cacheDir}: ${(err as Error).message}`, { cause: err });
  }
  const image =
    source.kind === "remote"
      ? await ensureRemote(opts, source.url, source.name, checksumUrl as URL)
      : await ensureLocal(opts, source.path, source.name);
  await recordUse(opts.cacheDir, { source: image.sourceKey, digest: image.digest, name: image.name }, (opts.now ?? Date.now)(), opts.signal);
  return { path: image.path, digest: image.digest, sizeBytes: image.sizeBytes, cacheHit: image.cacheHit, name: image.name };
}

type Resolved = CachedImage & { sourceKey: string };

async function isFile(file: string): Promise<Stats | undefined> {
  try {
    const s = await stat(file);
    return s.isFile() ? s : undefined;
  } catch {
    return undefined;
  }
}

async function resolved(file: string, digest: string, name: string, cacheHit: boolean, sourceKey: string): Promise<Resolved> {
  const s = await isFile(file);
  if (!s) throw new TsmError("IMAGE_CACHE_MISSING", `The cached image ${file} disappeared`);
  return { path: file, digest, sizeBytes: s.size, cacheHit, name, sourceKey };
}

// ---------------------------------------------------------------- remote

async function ensureRemote(opts: EnsureImageOptions, url: URL, name: string, checksumUrl: URL): Promise<Resolved> {
  const fetchFn = opts.fetch ?? globalThis.fetch;
  const sourceKey = redactUrl(url);
  opts.progress.step(`Fetching the checksums for ${name}...`);
  let checksums: string;
  try {
    checksums = await fetchChecksumFile(fetchFn, checksumUrl, opts.signal);
  } catch (err) {
    if (opts.signal.aborted) throw abortError(opts.signal, `fetching ${redactUrl(checksumUrl)}`);
    const fallback = await onlyCachedEntry(opts.cacheDir, sourceKey);
    if (!fallback) throw err;
    const when = fallback.lastUsed.slice(0, 10);
    opts.progress.step(`Cannot fetch ${redactUrl(checksumUrl)}; using the cached ${fallback.name} (last used ${when})`);
    return resolved(entryPath(opts.cacheDir, fallback.digest, fallback.name), fallback.digest, fallback.name, true, sourceKey);
  }
  const expected = findChecksum(checksums, name);
  if (!expected) {
    throw new TsmError(
      "IMAGE_CHECKSUM_MISSING",
      `The checksum file ${redactUrl(checksumUrl)} has no SHA-512 or SHA-256 line for ${name}; nothing was downloaded`,
    );
  }
  return cachedOrFilled(opts, expected, name, sourceKey, "downloading", (final) => download(fetchFn, url, name, expected, final, opts));
}

/**
 * The cache entry for `expected`: a hit when it exists; otherwise `fill` writes it under the
 * entry's lock, unless another process did meanwhile (checked again once the lock is held).
 */
async function cachedOrFilled(
  opts: EnsureImageOptions,
  expected: ExpectedDigest,
  name: string,
  sourceKey: string,
  activity: "downloading" | "copying",
  fill: (final: string) => Promise<void>,
): Promise<Resolved> {
  const digest = formatDigest(expected);
  const final = path.join(opts.cacheDir, cacheKey(expected), name);
  if (await isFile(final)) {
    opts.progress.step(`Using the cached ${name}`);
    return resolved(final, digest, name, true, sourceKey);
  }
  return withCacheLock(
    opts.cacheDir,
    cacheKey(expected),
    opts.signal,
    async () => {
      if (await isFile(final)) return resolved(final, digest, name, true, sourceKey);
      await fill(final);
      return resolved(final, digest, name, false, sourceKey);
    },
    () => opts.progress.step(`Waiting for another tsm process to finish ${activity} ${name}...`),
  );
}

/** The one cached image the index knows for this URL, if there is exactly one and its file is there. */
async function onlyCachedEntry(cacheDir: string, sourceKey: string) {
  const candidates = [];
  for (const e of await readIndex(cacheDir)) {
    if (e.source === sourceKey && (await isFile(entryPath(cacheDir, e.digest, e.name)))) candidates.push(e);
  }
  return candidates.length === 1 ? candidates[0] : undefined;
}

/** One line for a failed fetch: "connection refused", "host not found", or the cause's message. */
function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause ?? err;
  const c = cause as { code?: string; message?: string; errors?: { code?: string }[] };
  const code = c.code ?? c.errors?.find((e) => e.code)?.code;
  const known: Record<string, string> = {
    ECONNREFUSED: "connection refused",
    ENOTFOUND: "host not found",
    EAI_AGAIN: "host name lookup failed (temporary)",
    ETIMEDOUT: "connection timed out",
    UND_ERR_CONNECT_TIMEOUT: "connection timed out",
    ECONNRESET: "connection reset",
    UND_ERR_SOCKET: "connection closed",
    UND_ERR_HEADERS_TIMEOUT: "the server did not answer in time",
    UND_ERR_BODY_TIMEOUT: "the server stopped sending data",
    CERT_HAS_EXPIRED: "the server's TLS certificate has expired",
    DEPTH_ZERO_SELF_SIGNED_CERT: "the server's TLS certificate is self-signed",
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's TLS certificate cannot be verified",
    ERR_TLS_CERT_ALTNAME_INVALID: "the server's TLS certificate does not match the host name",
  };
  const text = (code && known[code]) ?? c.message ?? String(cause);
  return text.split("\n")[0] ?? text;
}

function httpStatus(res: Response): string {
  return `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}${res.redirected && res.url ? ` (redirected to ${res.url})` : ""}`;
}

async function request(fetchFn: typeof fetch, url: URL, signal: AbortSignal, code: ErrorCode, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetchFn(url, { signal, redirect: "follow" });
  } catch (err) {
    if (signal.aborted) throw abortError(signal, `fetching ${redactUrl(url)}`);
    if (isTsmError(err)) throw err;
    throw new TsmError(code, `Cannot ${what} ${redactUrl(url)}: ${describeFetchError(err)}`, { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new TsmError(code, `Cannot ${what} ${redactUrl(url)}: ${httpStatus(res)}`);
  }
  return res;
}

async function fetchChecksumFile(fetchFn: typeof fetch, url: URL, signal: AbortSignal): Promise<string> {
  const res = await request(fetchFn, url, signal, "IMAGE_CHECKSUM_UNAVAILABLE", "fetch the checksum file");
  const length = Number(res.headers.get("content-length") ?? "0");
  if (length > MAX_CHECKSUM_FILE) {
    await res.body?.cancel().catch(() => undefined);
    throw new TsmError("IMAGE_CHECKSUM_UNAVAILABLE", `${redactUrl(url)} is not a checksum file (${formatBytes(length)})`);
  }
  try {
    return await res.text();
  } catch (err) {
    if (signal.aborted) throw abortError(signal, `fetching ${redactUrl(url)}`);
    throw new TsmError("IMAGE_CHECKSUM_UNAVAILABLE", `Cannot fetch the checksum file ${redactUrl(url)}: ${describeFetchError(err)}`, { cause: err });
  }
}

async function download(fetchFn: typeof fetch, url: URL, name: string, expected: ExpectedDigest, final: string, opts: EnsureImageOptions): Promise<void> {
  const { signal, progress } = opts;
  await removeStaleTemps(opts.cacheDir, (opts.now ?? Date.now)());
  const res = await request(fetchFn, url, signal, "IMAGE_DOWNLOAD_FAILED", "download");
  if (!res.body) throw new TsmError("IMAGE_DOWNLOAD_FAILED", `Cannot download ${redactUrl(url)}: the response has no body`);
  const header = res.headers.get("content-length");
  // With a Content-Encoding the length counts compressed bytes, not the ones we see.
  const total = header !== null && /^\d+$/.test(header) && !res.headers.get("content-encoding") ? Number(header) : undefined;
  progress.step(`Downloading ${name}${total !== undefined ? ` (${formatBytes(total)})` : ""}...`);
  const body = res.body as unknown as AsyncIterable<Uint8Array>;
  await intoCache(opts.cacheDir, final, expected.algorithm, body, total, opts, {
    broke: (done, err) =>
      new TsmError("IMAGE_DOWNLOAD_FAILED", `Download of ${redactUrl(url)} broke off after ${formatBytes(done)}: ${describeFetchError(err)}`, { cause: err }),
    interrupted: `downloading ${redactUrl(url)}`,
    check: (actual) => {
      if (actual === expected.hex) return undefined;
      return new TsmError(
        "IMAGE_CHECKSUM_MISMATCH",
        `Checksum mismatch for ${redactUrl(url)}: expected ${formatDigest(expected)}, got ${expected.algorithm}:${actual}; nothing was cached`,
      );
    },
  });
}

// ---------------------------------------------------------------- local

async function ensureLocal(opts: EnsureImageOptions, file: string, name: string): Promise<Resolved> {
  let s: Stats;
  try {
    s = await stat(file);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new UsageError(`Image file not found: ${file}`, { cause: err });
    throw new TsmError("IMAGE_SOURCE_UNREADABLE", `Cannot read the image file ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!s.isFile()) throw new UsageError(`The image ${file} is not a regular file`);
  const sourceKey = pathToFileURL(file).href;
  const algorithm: DigestAlgorithm = "sha512";
  opts.progress.step(`Checking ${name} (${formatBytes(s.size)})...`);
  const hex = await hashFile(file, algorithm, opts);
  const expected: ExpectedDigest = { algorithm, hex };
  return cachedOrFilled(opts, expected, name, sourceKey, "copying", async (final) => {
    opts.progress.step(`Copying ${name} into the image cache (${formatBytes(s.size)})...`);
    const { createReadStream } = await import("node:fs");
    const input = createReadStream(file, { signal: opts.signal, highWaterMark: 1024 * 1024 });
    await intoCache(opts.cacheDir, final, algorithm, input, s.size, opts, {
      broke: (_done, err) => new TsmError("IMAGE_SOURCE_UNREADABLE", `Cannot copy ${file} into the image cache: ${(err as Error).message}`, { cause: err }),
      interrupted: `copying ${file}`,
      check: (actual) =>
        actual === hex ? undefined : new TsmError("IMAGE_SOURCE_CHANGED", `${file} changed while it was being copied into the image cache; nothing was cached`),
    });
  });
}

async function hashFile(file: string, algorithm: DigestAlgorithm, opts: EnsureImageOptions): Promise<string> {
  const { createHash } = await import("node:crypto");
  const { createReadStream } = await import("node:fs");
  const hash = createHash(algorithm);
  const total = (await stat(file)).size;
  let done = 0;
  try {
    for await (const chunk of createReadStream(file, { signal: opts.signal, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      done += chunk.length;
      opts.progress.bytes(done, total);
    }
  } catch (err) {
    if (opts.signal.aborted) throw abortError(opts.signal, `reading ${file}`);
    throw new TsmError("IMAGE_SOURCE_UNREADABLE", `Cannot read the image file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return hash.digest("hex");
}

// ---------------------------------------------------------------- writing into the cache

/**
 * Streams `input` into a temp file in the cache (same filesystem as `final`),
 * hashing what is written; `check` turns the hex digest into an error or
 * undefined. Success: fsync, 0444, rename to `final`. Any failure or abort:
 * the temp file is removed.
 */
async function intoCache(
  cacheDir: string,
  final: string,
  algorithm: DigestAlgorithm,
  input: AsyncIterable<Uint8Array>,
  total: number | undefined,
  opts: EnsureImageOptions,
  how: { broke: (done: number, err: unknown) => TsmError; interrupted: string; check: (hex: string) => TsmError | undefined },
): Promise<void> {
  const { createHash, randomBytes } = await import("node:crypto");
  const { signal, progress } = opts;
  const temp = path.join(cacheDir, `${TEMP_PREFIX}${randomBytes(8).toString("hex")}.part`);
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(temp, "wx", 0o600);
  } catch (err) {
    throw new TsmError("IMAGE_CACHE_WRITE", `Cannot write into the image cache ${cacheDir}: ${(err as Error).message}`, { cause: err });
  }
  let closed = false;
  let placed = false;
  try {
    const hash = createHash(algorithm);
    let done = 0;
    progress.bytes(0, total);
    try {
      for await (const chunk of input) {
        if (signal.aborted) break;
        hash.update(chunk);
        await fh.write(chunk);
        done += chunk.length;
        progress.bytes(done, total);
      }
    } catch (err) {
      if (signal.aborted) throw abortError(signal, how.interrupted);
      if (isTsmError(err)) throw err;
      throw how.broke(done, err);
    }
    if (signal.aborted) throw abortError(signal, how.interrupted);
    const mismatch = how.check(hash.digest("hex"));
    if (mismatch) throw mismatch;
    await fh.sync();
    await fh.close();
    closed = true;
    progress.bytes(done, done);
    await chmod(temp, 0o444);
    const dir = path.dirname(final);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      await rename(temp, final);
    } catch (err) {
      // Windows cannot rename over a read-only file: another process placed the same content first.
      if (!(await isFile(final))) throw err;
    }
    placed = true;
    await syncDir(dir);
  } catch (err) {
    if (isTsmError(err)) throw err;
    throw new TsmError("IMAGE_CACHE_WRITE", `Cannot write ${final}: ${(err as Error).message}`, { cause: err });
  } finally {
    if (!closed) await fh.close().catch(() => undefined);
    if (!placed) await rm(temp, { force: true }).catch(() => undefined);
  }
}

async function syncDir(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  try {
    const d = await open(dir, "r");
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Best effort: the file itself is already synced.
  }
}

/** Removes transfers left by killed processes (older than a day; live ones are written to constantly). */
async function removeStaleTemps(cacheDir: string, now: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(cacheDir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(TEMP_PREFIX) || !n.endsWith(".part")) continue;
    const s = await isFile(path.join(cacheDir, n));
    if (s && now - s.mtimeMs > STALE_TEMP_MS) await rm(path.join(cacheDir, n), { force: true }).catch(() => undefined);
  }
}

// ---------------------------------------------------------------- listing

/** Every image in the cache, by name then digest, with its last use from the index. [] when there is no cache. */
export async function listCachedImages(cacheDir: string): Promise<CachedImageEntry[]> {
  let dirs: string[];
  try {
    dirs = await readdir(cacheDir);
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return [];
    throw new TsmError("IMAGE_CACHE_DIR", `Cannot read the image cache ${cacheDir}: ${(err as Error).message}`, { cause: err });
  }
  const index = await readIndex(cacheDir);
  const out: CachedImageEntry[] = [];
  for (const dir of dirs) {
    const key = parseCacheKey(dir);
    if (!key) continue;
    let files: string[];
    try {
      files = await readdir(path.join(cacheDir, dir));
    } catch {
      continue;
    }
    const digest = formatDigest(key);
    for (const name of files) {
      if (name.startsWith(".")) continue;
      const file = path.join(cacheDir, dir, name);
      const s = await isFile(file);
      if (!s) continue;
      const uses = index.filter((e) => e.digest === digest && e.name === name).map((e) => Date.parse(e.lastUsed)).filter((t) => !Number.isNaN(t));
      out.push({ digest, path: file, sizeBytes: s.size, name, lastUsed: uses.length > 0 ? new Date(Math.max(...uses)) : undefined });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}
