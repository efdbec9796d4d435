/**
 * /etc/os-release parsing and OS family detection.
 *
 * os-release(5): newline-separated KEY=value assignments "compatible with shell
 * script syntax"; values with spaces or special characters are enclosed in double
 * or single quotes, and "$", quotes, backslash and backtick are escaped with a
 * backslash shell-style; lines beginning with "#" are comments; blank lines are
 * ignored. The file is read, never executed, so parsing it is safe.
 */
import { UnsupportedOsError } from "./errors.js";

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses os-release text into its assignments (later assignments win, like in a
 * shell). Malformed lines (no `=`, bad key, unterminated quote) are skipped: a
 * single odd line must not hide ID or PRETTY_NAME.
 */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const key = line.slice(0, eq);
    if (!KEY.test(key)) continue;
    const value = unquoteShellWord(line.slice(eq + 1));
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * One shell word: double-quoted parts honour backslash before `$ " \ \``
 * (and drop an escaped newline), single-quoted parts are literal, unquoted
 * backslashes escape the next character. Stops at unquoted whitespace (a
 * trailing comment is ignored). undefined when a quote is not closed.
 */
function unquoteShellWord(s: string): string | undefined {
  let out = "";
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === " " || c === "\t") break;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return undefined;
      out += s.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const d = s[i]!;
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === "\\" && i + 1 < s.length && '$"\\`'.includes(s[i + 1]!)) {
          out += s[i + 1];
          i += 2;
        } else {
          out += d;
          i++;
        }
      }
      if (!closed) return undefined;
    } else if (c === "\\" && i + 1 < s.length) {
      out += s[i + 1];
      i += 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

export type OsFamilyName = "debian" | "rhel" | "alpine";
export type PackageManager = "apt" | "dnf" | "yum" | "apk";
export type InitSystem = "systemd" | "openrc";

/** What tsm needs to know about the host's OS to install and configure Docker Engine. */
export interface OsFamily {
  family: OsFamilyName;
  /** os-release ID, lower case ("debian", "ubuntu", "rocky"...). */
  id: string;
  /** os-release VERSION_ID ("" when absent, e.g. on rolling releases). */
  versionId: string;
  /** PRETTY_NAME, or NAME + VERSION_ID, or ID: for messages. */
  prettyName: string;
  packageManager: PackageManager;
  /**
   * The init system the distribution normally boots with. Only a hint: the
   * provisioner checks the running host (/run/systemd/system) before relying on it.
   */
  init?: InitSystem;
}

const DEBIAN_IDS = new Set(["debian", "ubuntu", "raspbian"]);
const RHEL_IDS = new Set(["rhel", "centos", "fedora", "rocky", "almalinux", "ol", "amzn"]);
const ALPINE_IDS = new Set(["alpine"]);

/** IDs whose releases before 8 (Amazon Linux: 2) ship yum without dnf. */
const YUM_ERA: Record<string, (major: number) => boolean> = {
  rhel: (m) => m < 8,
  centos: (m) => m < 8,
  ol: (m) => m < 8,
  amzn: (m) => m < 2023,
};

/** A readable name for messages, from whatever the file offers. */
export function prettyOsName(osRelease: Record<string, string>): string {
  const pretty = osRelease.PRETTY_NAME?.trim();
  if (pretty) return pretty;
  const name = osRelease.NAME?.trim();
  if (name) return osRelease.VERSION_ID ? `${name} ${osRelease.VERSION_ID}` : name;
  return osRelease.ID?.trim() || "an unidentified OS (no /etc/os-release)";
}

/**
 * Maps os-release to a supported family, looking at ID first and then at each
 * ID_LIKE entry in order (so Linux Mint, ID=linuxmint ID_LIKE="ubuntu debian",
 * counts as Debian). Throws UnsupportedOsError naming the OS otherwise.
 */
export function detectFamily(osRelease: Record<string, string>): OsFamily {
  const id = (osRelease.ID ?? "").trim().toLowerCase();
  const like = (osRelease.ID_LIKE ?? "").toLowerCase().split(/\s+/).filter((w) => w !== "");
  const versionId = (osRelease.VERSION_ID ?? "").trim();
  const prettyName = prettyOsName(osRelease);
  const major = Number.parseInt(versionId, 10);

  for (const candidate of [id, ...like]) {
    if (DEBIAN_IDS.has(candidate)) {
      return { family: "debian", id, versionId, prettyName, packageManager: "apt", init: "systemd" };
    }
    if (RHEL_IDS.has(candidate)) {
      // The version rule belongs to the ID that matched: a derivative carries its
      // parent's numbering only when it says it is like that parent.
      const oldYum = YUM_ERA[candidate === id ? id : candidate];
      const packageManager = oldYum && Number.isFinite(major) && oldYum(major) ? "yum" : "dnf";
      return { family: "rhel", id, versionId, prettyName, packageManager, init: "systemd" };
    }
    if (ALPINE_IDS.has(candidate)) {
      return { family: "alpine", id, versionId, prettyName, packageManager: "apk", init: "openrc" };
    }
  }
  throw new UnsupportedOsError(prettyName);
}
