/**
 * Checksum files as distributions publish them:
 *   GNU coreutils   `<hex>  <name>` (text mode) or `<hex> *<name>` (binary mode);
 *                   a leading `\` marks a name with escaped `\\`, `\n` (sha512sum's own escaping)
 *   BSD / --tag     `SHA512 (<name>) = <hex>` (Fedora's CHECKSUM files, also inside PGP clearsigned text)
 * The algorithm comes from the BSD tag, else from the hex length (128 = sha512, 64 = sha256).
 * Other lines (comments, PGP armour, other files) are ignored.
 */
export type DigestAlgorithm = "sha512" | "sha256";

export interface ExpectedDigest {
  readonly algorithm: DigestAlgorithm;
  /** Lower-case hex. */
  readonly hex: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha512: 128, sha256: 64 };

function algorithmForHex(hex: string): DigestAlgorithm | undefined {
  if (!/^[0-9a-fA-F]+$/.test(hex)) return undefined;
  return hex.length === 128 ? "sha512" : hex.length === 64 ? "sha256" : undefined;
}

function unescapeGnu(name: string): string {
  return name.replace(/\\(\\|n|r)/g, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : "\\"));
}

function sameFile(listed: string, name: string): boolean {
  return listed === name || listed === `./${name}`;
}

/** Every digest the checksum file lists for `name`, in file order. */
export function findChecksums(text: string, name: string): ExpectedDigest[] {
  const found: ExpectedDigest[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const bsd = /^\\?(SHA512|SHA256) ?\((.*)\) ?= ?([0-9a-fA-F]+)\s*$/.exec(line);
    if (bsd) {
      const algorithm = bsd[1] === "SHA512" ? "sha512" : "sha256";
      const hex = bsd[3] ?? "";
      const listed = line.startsWith("\\") ? unescapeGnu(bsd[2] ?? "") : (bsd[2] ?? "");
      if (hex.length === HEX_LENGTH[algorithm] && sameFile(listed, name)) found.push({ algorithm, hex: hex.toLowerCase() });
      continue;
    }
    const gnu = /^(\\?)([0-9a-fA-F]+) [ *](.+)$/.exec(line);
    if (gnu) {
      const hex = gnu[2] ?? "";
      const algorithm = algorithmForHex(hex);
      const listed = gnu[1] === "\\" ? unescapeGnu(gnu[3] ?? "") : (gnu[3] ?? "");
      if (algorithm && sameFile(listed, name)) found.push({ algorithm, hex: hex.toLowerCase() });
    }
  }
  return found;
}

/** The digest to check `name` against: SHA-512 when listed, else SHA-256; undefined when the file is not listed. */
export function findChecksum(text: string, name: string): ExpectedDigest | undefined {
  const all = findChecksums(text, name);
  return all.find((d) => d.algorithm === "sha512") ?? all[0];
}

export function formatDigest(d: ExpectedDigest): string {
  return `${d.algorithm}:${d.hex}`;
}

/** The cache directory name for a digest: `<algo>-<hex>`. */
export function cacheKey(d: ExpectedDigest): string {
  return `${d.algorithm}-${d.hex}`;
}

/** Parses `<algo>-<hex>` back (for listing the cache); undefined for anything else. */
export function parseCacheKey(key: string): ExpectedDigest | undefined {
  const m = /^(sha512|sha256)-([0-9a-f]+)$/.exec(key);
  if (!m) return undefined;
  const algorithm = m[1] as DigestAlgorithm;
  const hex = m[2] ?? "";
  return hex.length === HEX_LENGTH[algorithm] ? { algorithm, hex } : undefined;
}
