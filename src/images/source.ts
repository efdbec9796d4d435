/**
 * Image sources: which strings `ensureImage` accepts, and the default Debian
 * cloud image URLs. Cheap to import (no node:crypto, no fetch), so a driver
 * descriptor may use `defaultCloudImageUrl` for a flag default.
 *
 * Accepted: `https://...`; `http://...` only for loopback hosts (127.0.0.0/8,
 * ::1, localhost); `file:///abs/path`; a local path (absolute, or relative to
 * the current directory). Anything else is a UsageError (exit 2).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "../model/errors.js";

export type ImageSource =
  | { readonly kind: "remote"; readonly url: URL; readonly name: string }
  | { readonly kind: "local"; readonly path: string; readonly name: string };

export { defaultCloudImageUrl } from "./default-url.js";

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped 127.x) and `localhost`. `host` is URL.hostname (IPv6 in brackets or not). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (h === "localhost") return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  if (h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  // IPv4-mapped IPv6 as the URL parser writes it: ::ffff:7f00:1 is 127.0.0.1.
  const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(h);
  if (mapped?.[1] !== undefined) return parseInt(mapped[1], 16) >> 8 === 127;
  return false;
}

/** Checks a URL used for downloading (image or checksum file): https anywhere, http only on loopback. */
export function checkRemoteUrl(url: URL, what: string): void {
  if (url.protocol === "https:") return;
  if (url.protocol === "http:") {
    if (isLoopbackHost(url.hostname)) return;
    throw new UsageError(
      `Refusing to download ${what} ${redactUrl(url)} over plain http: use an https:// URL or a local file (http is allowed only for 127.0.0.1, ::1 and localhost)`,
    );
  }
  throw new UsageError(`Unsupported ${what} URL ${redactUrl(url)}: use https://, file:// or a local path`);
}

/** The URL without user:password, for messages. */
export function redactUrl(url: URL): string {
  if (url.username === "" && url.password === "") return url.href;
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  return copy.href;
}

function checkName(name: string, shown: string): string {
  if (name === "" || name === "." || name === ".." || /[/\\\0]/.test(name) || name.startsWith(".")) {
    throw new UsageError(`Cannot tell the image file name from ${shown}: it must end with a file name such as debian-13-genericcloud-amd64.qcow2`);
  }
  return name;
}

/** Classifies an image source string. `cwd` resolves relative paths. */
export function parseImageSource(source: string, cwd: string = process.cwd()): ImageSource {
  if (source.trim() === "") throw new UsageError("The image source is empty: give an https:// URL or a local file");
  // A scheme has two or more letters, so Windows drive paths (C:\...) stay paths.
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]+):/.exec(source)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    const abs = path.resolve(cwd, source);
    return { kind: "local", path: abs, name: checkName(path.basename(abs), abs) };
  }
  let url: URL;
  try {
    url = new URL(source);
  } catch (err) {
    throw new UsageError(`Invalid image URL ${JSON.stringify(source)}`, { cause: err });
  }
  if (url.protocol === "file:") {
    let abs: string;
    try {
      abs = fileURLToPath(url);
    } catch (err) {
      throw new UsageError(`Invalid file URL ${JSON.stringify(source)}: use file:///absolute/path`, { cause: err });
    }
    return { kind: "local", path: abs, name: checkName(path.basename(abs), abs) };
  }
  checkRemoteUrl(url, "image");
  const last = url.pathname.split("/").pop() ?? "";
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    name = last;
  }
  return { kind: "remote", url, name: checkName(name, redactUrl(url)) };
}

/** `checksumUrl` as given, or "SHA512SUMS" in the image URL's directory. Same http rule as images. */
export function resolveChecksumUrl(imageUrl: URL, checksumUrl: string | undefined): URL {
  if (checksumUrl === undefined || checksumUrl === "") return new URL("SHA512SUMS", new URL(".", imageUrl));
  let url: URL;
  try {
    url = new URL(checksumUrl);
  } catch (err) {
    throw new UsageError(`Invalid checksum file URL ${JSON.stringify(checksumUrl)}`, { cause: err });
  }
  checkRemoteUrl(url, "checksum file");
  return url;
}
