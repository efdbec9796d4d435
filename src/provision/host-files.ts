/**
 * Shell scripts (pure string builders) that change files on the host: writing
 * files whose contents travel on stdin, setting the host name, and the
 * `127.0.1.1 <name>` line of /etc/hosts.
 *
 * Every script is built from constants and shQuote'd values only. File contents
 * never appear in a command line (where `ps` and sudo's log would show them, and
 * where Docker Machine's double-quoted printf expanded `$` and ate quotes): they
 * go on stdin, base64-encoded one file per line so that several files travel in
 * one round trip and `read` (which reads a pipe byte by byte) never takes more
 * than its own line.
 */
import { shQuote } from "./remote.js";

export interface RemoteFile {
  path: string;
  /** Permission bits, e.g. 0o600. */
  mode: number;
  content: string | Buffer;
}

/**
 * A script and its stdin that write `files` atomically: each to a temporary file
 * in the target's directory (created 0600 under umask 077, so a key is never
 * readable by others even for a moment), chmod, then rename over the target.
 * Missing parent directories are created 0755.
 */
export function writeFilesScript(files: readonly RemoteFile[]): { script: string; input: string } {
  for (const f of files) {
    if (!f.path.startsWith("/") || f.path.endsWith("/")) throw new Error(`writeFilesScript: not an absolute file path: ${f.path}`);
  }
  const script = [
    "set -e",
    "umask 077",
    "t=",
    "trap 'rm -f \"$t\"' EXIT",
    "put() {",
    '  d=$(dirname "$2")',
    '  (umask 022 && mkdir -p "$d")',
    '  t=$(mktemp "$d/.tsm.XXXXXX")',
    "  IFS= read -r b",
    '  printf %s "$b" | base64 -d > "$t"',
    '  chmod "$1" "$t"',
    '  mv -f "$t" "$2"',
    "  t=",
    "}",
    ...files.map((f) => `put ${f.mode.toString(8).padStart(4, "0")} ${shQuote(f.path)}`),
  ].join("\n");
  const input = files.map((f) => `${Buffer.from(f.content).toString("base64")}\n`).join("");
  return { script, input };
}

/** A script removing files (missing ones are fine) and then directories left empty. */
export function removeFilesScript(files: readonly string[], dirsIfEmpty: readonly string[] = []): string {
  return [
    `rm -f ${files.map(shQuote).join(" ")}`,
    ...dirsIfEmpty.map((d) => `rmdir ${shQuote(d)} 2>/dev/null || true`),
  ].join("\n");
}

/**
 * Sets the host name, now and for the next boot. With systemd, hostnamectl does
 * both, but it needs systemd-hostnamed (D-Bus) and fails where /etc/hostname is a
 * bind mount (containers); then, and without systemd, `hostname` plus writing
 * /etc/hostname in place (not by rename, which a bind mount refuses).
 */
export function setHostnameScript(name: string, systemd: boolean): string {
  const fallback = `hostname "$n" && printf '%s\\n' "$n" > /etc/hostname`;
  return [
    `n=${shQuote(name)}`,
    systemd
      ? `if command -v hostnamectl >/dev/null 2>&1 && hostnamectl set-hostname "$n" 2>/dev/null; then :; else ${fallback}; fi`
      : fallback,
  ].join("\n");
}

/**
 * Replaces /etc/hosts with stdin, in place: Docker bind-mounts /etc/hosts into
 * containers and a rename over it fails. The new text is staged in a temporary
 * file first so a dropped connection cannot leave a truncated /etc/hosts.
 */
export function replaceHostsScript(): string {
  return ['t=$(mktemp)', 'cat > "$t"', 'cat "$t" > /etc/hosts', 'rc=$?', 'rm -f "$t"', "exit $rc"].join("\n");
}

/**
 * /etc/hosts with `name` resolvable locally, as Debian does for its own name:
 * unchanged when a non-comment line already lists `name`; otherwise the first
 * `127.0.1.1` line becomes `127.0.1.1\t<name>`, or such a line is appended.
 * Idempotent: applying it twice gives the same text.
 */
export function ensureHostsEntry(hosts: string, name: string): string {
  const lines = hosts.split("\n");
  for (const line of lines) {
    const fields = (line.split("#")[0] ?? "").trim().split(/\s+/);
    if (fields.length >= 2 && fields.slice(1).includes(name)) return hosts;
  }
  const entry = `127.0.1.1\t${name}`;
  const idx = lines.findIndex((l) => (l.split("#")[0] ?? "").trim().split(/\s+/)[0] === "127.0.1.1");
  if (idx >= 0) {
    lines[idx] = entry;
    return lines.join("\n");
  }
  const base = hosts === "" || hosts.endsWith("\n") ? hosts : `${hosts}\n`;
  return `${base}${entry}\n`;
}
