import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InterruptedError, TsmError, UsageError } from "../../../src/model/errors.js";
import { type EnsureImageOptions, ensureImage, type ImageProgress, listCachedImages } from "../../../src/images/cache.js";
import { tempDir } from "../../helpers/cli.js";
import { serve, startServer, type TestServer } from "./http-server.js";

const NAME = "debian-13-genericcloud-amd64.qcow2";

function sha512(b: Buffer | string): string {
  return createHash("sha512").update(b).digest("hex");
}
function sha256(b: Buffer | string): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Records what the module reports. */
function recorder(): ImageProgress & { steps: string[]; bytesCalls: [number, number | undefined][] } {
  const steps: string[] = [];
  const bytesCalls: [number, number | undefined][] = [];
  return { steps, bytesCalls, step: (t) => void steps.push(t), bytes: (d, t) => void bytesCalls.push([d, t]) };
}

async function rejection(p: Promise<unknown>): Promise<TsmError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TsmError) return err;
    throw new Error(`expected a TsmError, got ${String(err)}`, { cause: err });
  }
  throw new Error("expected a rejection");
}

/** What is in the cache besides the bookkeeping (index.json, locks/). */
async function cacheContents(cacheDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(cacheDir);
  } catch {
    return [];
  }
  return names.filter((n) => n !== "index.json" && n !== "locks").sort();
}

describe("ensureImage over HTTP", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: TestServer;
  let cacheDir: string;
  const image = randomBytes(300 * 1024 + 17);

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir("tsm-images-"));
    cacheDir = path.join(dir, "cache", "images");
    server = await startServer();
  });
  afterEach(async () => {
    await server.close();
    await cleanup();
  });

  function opts(over: Partial<EnsureImageOptions> = {}): EnsureImageOptions & { progress: ReturnType<typeof recorder> } {
    return { cacheDir, source: `${server.base}/img/${NAME}`, progress: recorder(), signal: new AbortController().signal, ...over } as EnsureImageOptions & {
      progress: ReturnType<typeof recorder>;
    };
  }

  function publish(body: Buffer = image, sums = `${sha512(body)}  ${NAME}\n`): void {
    server.route(`/img/${NAME}`, serve(body));
    server.route("/img/SHA512SUMS", serve(sums));
  }

  it("downloads on a miss, verifies, and then hits without downloading again", async () => {
    publish(image, `${sha512(Buffer.from("other"))}  other.qcow2\n${sha512(image)}  ${NAME}\n`);
    const first = opts({ now: () => Date.UTC(2026, 0, 2, 3, 4, 5) });
    const a = await ensureImage(first);
    const digest = `sha512:${sha512(image)}`;
    expect(a).toEqual({ path: path.join(cacheDir, `sha512-${sha512(image)}`, NAME), digest, sizeBytes: image.length, cacheHit: false, name: NAME });
    expect((await readFile(a.path)).equals(image)).toBe(true);
    expect((await stat(a.path)).mode & 0o777).toBe(0o444);
    expect((await stat(cacheDir)).mode & 0o777).toBe(0o700);
    expect(first.progress.steps).toContain(`Downloading ${NAME} (300 KiB)...`);
    expect(first.progress.bytesCalls.at(-1)).toEqual([image.length, image.length]);
    expect(first.progress.bytesCalls.some(([, t]) => t === image.length)).toBe(true);

    const second = opts();
    const b = await ensureImage(second);
    expect(b).toEqual({ ...a, cacheHit: true });
    expect(server.count(`/img/${NAME}`)).toBe(1);
    expect(server.count("/img/SHA512SUMS")).toBe(2);
    expect(second.progress.steps).toContain(`Using the cached ${NAME}`);
    expect(await cacheContents(cacheDir)).toEqual([`sha512-${sha512(image)}`]);

    const index = JSON.parse(await readFile(path.join(cacheDir, "index.json"), "utf8")) as { entries: unknown[] };
    expect(index.entries).toHaveLength(1);
    expect(index.entries[0]).toMatchObject({ source: `${server.base}/img/${NAME}`, digest, name: NAME });
    const listed = await listCachedImages(cacheDir);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ digest, path: a.path, sizeBytes: image.length, name: NAME });
    expect(listed[0]?.lastUsed).toBeInstanceOf(Date);
  });

  it("records the clock's time as the last use", async () => {
    publish();
    await ensureImage(opts({ now: () => Date.UTC(2026, 0, 2, 3, 4, 5) }));
    const [entry] = await listCachedImages(cacheDir);
    expect(entry?.lastUsed?.toISOString()).toBe("2026-01-02T03:04:05.000Z");
  });

  it("refuses a corrupted image, names both digests, and caches nothing", async () => {
    const corrupted = Buffer.from(image);
    corrupted[1000] = (corrupted[1000] ?? 0) ^ 0xff;
    publish(corrupted, `${sha512(image)}  ${NAME}\n`);
    const err = await rejection(ensureImage(opts()));
    expect(err.code).toBe("IMAGE_CHECKSUM_MISMATCH");
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe(
      `Checksum mismatch for ${server.base}/img/${NAME}: expected sha512:${sha512(image)}, got sha512:${sha512(corrupted)}; nothing was cached`,
    );
    expect(err.message).not.toContain("\n");
    expect(await cacheContents(cacheDir)).toEqual([]);
    expect(await listCachedImages(cacheDir)).toEqual([]);
  });

  it("says which checksum file lacks a line for the image, without downloading it", async () => {
    publish(image, `${sha512(image)}  debian-13-generic-amd64.qcow2\n`);
    const err = await rejection(ensureImage(opts()));
    expect(err.code).toBe("IMAGE_CHECKSUM_MISSING");
    expect(err.message).toContain(`${server.base}/img/SHA512SUMS`);
    expect(err.message).toContain(NAME);
    expect(server.count(`/img/${NAME}`)).toBe(0);
  });

  it("reports a missing image (404) with its URL and status", async () => {
    server.route("/img/SHA512SUMS", serve(`${sha512(image)}  ${NAME}\n`));
    const err = await rejection(ensureImage(opts()));
    expect(err.code).toBe("IMAGE_DOWNLOAD_FAILED");
    expect(err.message).toBe(`Cannot download ${server.base}/img/${NAME}: HTTP 404 Not Found`);
    expect(await cacheContents(cacheDir)).toEqual([]);
  });

  it("reports a missing checksum file (404) with its URL and status", async () => {
    server.route(`/img/${NAME}`, serve(image));
    const err = await rejection(ensureImage(opts()));
    expect(err.code).toBe("IMAGE_CHECKSUM_UNAVAILABLE");
    expect(err.message).toBe(`Cannot fetch the checksum file ${server.base}/img/SHA512SUMS: HTTP 404 Not Found`);
    expect(server.count(`/img/${NAME}`)).toBe(0);
  });

  it("reports a refused connection in one line", async () => {
    const base = server.base;
    await server.close();
    const err = await rejection(ensureImage(opts({ source: `${base}/img/${NAME}` })));
    expect(err.code).toBe("IMAGE_CHECKSUM_UNAVAILABLE");
    expect(err.message).toBe(`Cannot fetch the checksum file ${base}/img/SHA512SUMS: connection refused`);
    server = await startServer(); // for afterEach
  });

  it("reports a connection that breaks midway, and keeps nothing", async () => {
    server.route("/img/SHA512SUMS", serve(`${sha512(image)}  ${NAME}\n`));
    server.route(`/img/${NAME}`, (_req, res) => {
      res.writeHead(200, { "content-length": String(image.length) });
      res.write(image.subarray(0, 64 * 1024), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const err = await rejection(ensureImage(opts()));
    expect(err.code).toBe("IMAGE_DOWNLOAD_FAILED");
    expect(err.message).toMatch(new RegExp(`^Download of ${server.base}/img/${NAME} broke off after \\d+(\\.\\d)? KiB: connection closed$`));
    expect(err.message).not.toContain("\n");
    expect(await cacheContents(cacheDir)).toEqual([]);
  });

  it("downloads without a Content-Length (chunked), reporting an unknown total", async () => {
    server.route(`/img/${NAME}`, serve(image, { contentLength: false }));
    server.route("/img/SHA512SUMS", serve(`${sha512(image)} *${NAME}\n`));
    const o = opts();
    const a = await ensureImage(o);
    expect(a.cacheHit).toBe(false);
    expect((await readFile(a.path)).equals(image)).toBe(true);
    expect(o.progress.steps).toContain(`Downloading ${NAME}...`);
    const during = o.progress.bytesCalls.slice(0, -1);
    expect(during.length).toBeGreaterThan(1);
    expect(during.every(([, total]) => total === undefined)).toBe(true);
    expect(o.progress.bytesCalls.at(-1)).toEqual([image.length, image.length]);
  });

  it("accepts a BSD-style SHA256 checksum file given by URL", async () => {
    server.route(`/img/${NAME}`, serve(image));
    server.route("/sums/CHECKSUM", serve(`# Fedora style\nSHA256 (other.qcow2) = ${sha256("x")}\nSHA256 (${NAME}) = ${sha256(image).toUpperCase()}\n`));
    const a = await ensureImage(opts({ checksumUrl: `${server.base}/sums/CHECKSUM` }));
    expect(a.digest).toBe(`sha256:${sha256(image)}`);
    expect(a.path).toBe(path.join(cacheDir, `sha256-${sha256(image)}`, NAME));
    expect(server.count("/img/SHA512SUMS")).toBe(0);
    expect(server.count("/sums/CHECKSUM")).toBe(1);
  });

  it("refuses http to a host that is not loopback before any request", async () => {
    let calls = 0;
    const fakeFetch = (async () => {
      calls++;
      throw new Error("must not be called");
    }) as unknown as typeof fetch;
    const err = await rejection(ensureImage(opts({ source: `http://cloud.example.org/img/${NAME}`, fetch: fakeFetch })));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain("http://cloud.example.org/img/");
    expect(err.message).toContain("https://");
    expect(err.message).toContain("local file");
    const err2 = await rejection(
      ensureImage(opts({ source: `https://cloud.example.org/img/${NAME}`, checksumUrl: "http://10.0.0.1/SHA512SUMS", fetch: fakeFetch })),
    );
    expect(err2).toBeInstanceOf(UsageError);
    expect(err2.message).toContain("http://10.0.0.1/SHA512SUMS");
    expect(calls).toBe(0);
  });

  it("follows redirects", async () => {
    server.route(`/old/${NAME}`, (_req, res) => void res.writeHead(302, { location: `/new/${NAME}` }).end());
    server.route(`/new/${NAME}`, serve(image));
    server.route("/old/SHA512SUMS", serve(`${sha512(image)}  ${NAME}\n`));
    const a = await ensureImage(opts({ source: `${server.base}/old/${NAME}` }));
    expect(a.name).toBe(NAME);
    expect((await readFile(a.path)).equals(image)).toBe(true);
    expect(server.count(`/old/${NAME}`)).toBe(1);
    expect(server.count(`/new/${NAME}`)).toBe(1);
  });

  it("downloads once when two callers want the same image at the same time", async () => {
    server.route("/img/SHA512SUMS", serve(`${sha512(image)}  ${NAME}\n`));
    server.route(`/img/${NAME}`, async (_req, res) => {
      res.writeHead(200, { "content-length": String(image.length) });
      res.write(image.subarray(0, 1000));
      await new Promise((r) => setTimeout(r, 400));
      res.end(image.subarray(1000));
    });
    const p1 = opts();
    const p2 = opts();
    const [a, b] = await Promise.all([ensureImage(p1), ensureImage(p2)]);
    expect(server.count(`/img/${NAME}`)).toBe(1);
    expect(a.path).toBe(b.path);
    expect([a.cacheHit, b.cacheHit].sort()).toEqual([false, true]);
    const waiter = a.cacheHit ? p1 : p2;
    expect(waiter.progress.steps).toContain(`Waiting for another tsm process to finish downloading ${NAME}...`);
    expect((await readFile(a.path)).equals(image)).toBe(true);
  });

  it("stops waiting for another download when aborted, leaving that download alone", async () => {
    server.route("/img/SHA512SUMS", serve(`${sha512(image)}  ${NAME}\n`));
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    server.route(`/img/${NAME}`, async (_req, res) => {
      res.writeHead(200, { "content-length": String(image.length) });
      res.write(image.subarray(0, 1000));
      await held;
      res.end(image.subarray(1000));
    });
    let downloading: () => void = () => undefined;
    const started = new Promise<void>((r) => (downloading = r));
    const first = ensureImage(opts({ progress: { step: (t) => void (t.startsWith("Downloading") && downloading()), bytes: () => undefined } }));
    await started; // the first holds the lock
    const controller = new AbortController();
    const steps: string[] = [];
    const waiter = ensureImage(
      opts({
        signal: controller.signal,
        progress: {
          step: (t) => {
            steps.push(t);
            if (t.startsWith("Waiting for another tsm process")) controller.abort();
          },
          bytes: () => undefined,
        },
      }),
    );
    const err = await rejection(waiter);
    expect(err).toBeInstanceOf(InterruptedError);
    expect(steps).toContain(`Waiting for another tsm process to finish downloading ${NAME}...`);
    release();
    const a = await first;
    expect(a.cacheHit).toBe(false);
    expect((await readFile(a.path)).equals(image)).toBe(true);
    expect(server.count(`/img/${NAME}`)).toBe(1);
  });

  it("removes the partial file when aborted midway", async () => {
    server.route("/img/SHA512SUMS", serve(`${sha512(image)}  ${NAME}\n`));
    server.route(`/img/${NAME}`, (_req, res) => {
      res.writeHead(200, { "content-length": String(image.length) });
      res.write(image.subarray(0, 64 * 1024)); // and never the rest
    });
    const controller = new AbortController();
    let partialSeen = false;
    const progress: ImageProgress = {
      step: () => undefined,
      bytes: (done) => {
        if (done > 0 && !controller.signal.aborted) {
          void readdir(cacheDir).then((names) => {
            partialSeen = names.some((n) => n.endsWith(".part"));
            controller.abort();
          });
        }
      },
    };
    const err = await rejection(ensureImage(opts({ progress, signal: controller.signal })));
    expect(partialSeen).toBe(true);
    expect(err).toBeInstanceOf(InterruptedError);
    expect(err.exitCode).toBe(130);
    expect(err.message).toContain(`${server.base}/img/${NAME}`);
    expect(await cacheContents(cacheDir)).toEqual([]);
  });

  it("rejects with the abort reason when it is a TsmError", async () => {
    publish();
    const controller = new AbortController();
    const reason = new TsmError("TIMEOUT", "Timed out");
    controller.abort(reason);
    expect(await rejection(ensureImage(opts({ signal: controller.signal })))).toBe(reason);
    expect(server.count("/img/SHA512SUMS")).toBe(0);
  });

  it("uses the one cached image of a URL when its checksum file cannot be fetched, and says so", async () => {
    publish();
    const a = await ensureImage(opts());
    server.route("/img/SHA512SUMS", serve("oops", { status: 503 }));
    const o = opts();
    const b = await ensureImage(o);
    expect(b).toEqual({ ...a, cacheHit: true });
    expect(o.progress.steps.at(-1)).toMatch(new RegExp(`^Cannot fetch ${server.base}/img/SHA512SUMS; using the cached ${NAME} \\(last used \\d{4}-\\d\\d-\\d\\d\\)$`));
    expect(server.count(`/img/${NAME}`)).toBe(1);
  });

  it("does not guess when a URL has resolved to several cached images", async () => {
    publish();
    await ensureImage(opts());
    const newer = randomBytes(1000);
    publish(newer); // "latest" moved on
    const b = await ensureImage(opts());
    expect(b.digest).toBe(`sha512:${sha512(newer)}`);
    server.route("/img/SHA512SUMS", serve("oops", { status: 500 }));
    const err = await rejection(ensureImage(opts()));
    expect(err.code).toBe("IMAGE_CHECKSUM_UNAVAILABLE");
    expect(err.message).toContain("HTTP 500");
    expect((await listCachedImages(cacheDir)).map((e) => e.digest).sort()).toEqual([`sha512:${sha512(image)}`, `sha512:${sha512(newer)}`].sort());
  });

  it("removes transfers left behind by a killed process, but not recent ones", async () => {
    publish();
    await mkdir(cacheDir, { recursive: true });
    const old = path.join(cacheDir, ".download-0123456789abcdef.part");
    const recent = path.join(cacheDir, ".download-fedcba9876543210.part");
    await writeFile(old, "x");
    await writeFile(recent, "y");
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await utimes(old, twoDaysAgo, twoDaysAgo);
    await ensureImage(opts());
    const names = await readdir(cacheDir);
    expect(names).not.toContain(path.basename(old));
    expect(names).toContain(path.basename(recent));
  });
});

describe("ensureImage from a local file", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let cacheDir: string;
  const content = randomBytes(200 * 1024 + 3);

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir("tsm-images-"));
    cacheDir = path.join(dir, "cache", "images");
  });
  afterEach(async () => {
    await cleanup();
  });

  const noFetch = (async () => {
    throw new Error("no network for local files");
  }) as unknown as typeof fetch;

  it("copies the file into the cache under its SHA-512, then hits without copying", async () => {
    const src = path.join(dir, "my disk.qcow2");
    await writeFile(src, content);
    const p1 = recorder();
    const a = await ensureImage({ cacheDir, source: src, progress: p1, signal: new AbortController().signal, fetch: noFetch });
    expect(a).toEqual({
      path: path.join(cacheDir, `sha512-${sha512(content)}`, "my disk.qcow2"),
      digest: `sha512:${sha512(content)}`,
      sizeBytes: content.length,
      cacheHit: false,
      name: "my disk.qcow2",
    });
    expect((await readFile(a.path)).equals(content)).toBe(true);
    expect((await stat(a.path)).mode & 0o777).toBe(0o444);
    expect(p1.steps.some((s) => s.startsWith("Copying my disk.qcow2 into the image cache"))).toBe(true);

    // The cached copy does not change when the original does.
    const p2 = recorder();
    const b = await ensureImage({ cacheDir, source: pathToFileURL(src).href, progress: p2, signal: new AbortController().signal, fetch: noFetch });
    expect(b).toEqual({ ...a, cacheHit: true });
    expect(p2.steps.some((s) => s.startsWith("Copying"))).toBe(false);
    await writeFile(src, "changed");
    expect((await readFile(a.path)).equals(content)).toBe(true);
    const index = JSON.parse(await readFile(path.join(cacheDir, "index.json"), "utf8")) as { entries: { source: string }[] };
    expect(index.entries.map((e) => e.source)).toEqual([pathToFileURL(src).href]);
  });

  it("resolves a relative path against the current directory", async () => {
    const src = path.join(dir, "rel.raw");
    await writeFile(src, content);
    const rel = path.relative(process.cwd(), src);
    expect(path.isAbsolute(rel)).toBe(false);
    const a = await ensureImage({ cacheDir, source: rel, progress: recorder(), signal: new AbortController().signal });
    expect(a.name).toBe("rel.raw");
    expect(a.digest).toBe(`sha512:${sha512(content)}`);
  });

  it("names a missing file in a usage error", async () => {
    const missing = path.join(dir, "nope.qcow2");
    const err = await rejection(ensureImage({ cacheDir, source: missing, progress: recorder(), signal: new AbortController().signal }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`Image file not found: ${missing}`);
  });

  it("refuses a directory", async () => {
    const err = await rejection(ensureImage({ cacheDir, source: dir, progress: recorder(), signal: new AbortController().signal }));
    expect(err).toBeInstanceOf(UsageError);
    expect(err.message).toContain(dir);
  });

  it("reports a cache directory that cannot be created as a TsmError naming it", async () => {
    const src = path.join(dir, "a.qcow2");
    await writeFile(src, content);
    const blocker = path.join(dir, "not-a-dir");
    await writeFile(blocker, "");
    const bad = path.join(blocker, "images");
    const err = await rejection(ensureImage({ cacheDir: bad, source: src, progress: recorder(), signal: new AbortController().signal }));
    expect(err).not.toBeInstanceOf(UsageError);
    expect(err.code).toBe("IMAGE_CACHE_DIR");
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain(bad);
  });
});

describe("listCachedImages", () => {
  it("is empty when there is no cache, and ignores what is not an image entry", async () => {
    const { dir, cleanup } = await tempDir("tsm-images-");
    try {
      expect(await listCachedImages(path.join(dir, "missing"))).toEqual([]);
      await mkdir(path.join(dir, "sha512-abc"), { recursive: true }); // wrong length
      await writeFile(path.join(dir, "sha512-abc", "x.qcow2"), "x");
      await mkdir(path.join(dir, "locks"));
      await writeFile(path.join(dir, "index.json"), "{not json");
      const hex = sha256("y");
      await mkdir(path.join(dir, `sha256-${hex}`));
      await writeFile(path.join(dir, `sha256-${hex}`, "y.img"), "y");
      expect(await listCachedImages(dir)).toEqual([
        { digest: `sha256:${hex}`, path: path.join(dir, `sha256-${hex}`, "y.img"), sizeBytes: 1, name: "y.img", lastUsed: undefined },
      ]);
    } finally {
      await cleanup();
    }
  });
});
