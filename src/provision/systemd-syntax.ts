/**
 * systemd unit-file syntax: quoting values for ExecStart= and Environment=,
 * splitting a command line into words, and reading `systemctl cat` output.
 *
 * Sources (systemd 252, Debian 12):
 * - systemd.syntax(7) "QUOTING": double or single quotes wrap a whole item (the
 *   opening quote at the start of an item, the closing one followed by whitespace
 *   or end of line); C-style escapes are supported inside, only those of its
 *   table (\a \b \f \n \r \t \v \\ \" \' \s \xNN \NNN \uNNNN \UNNNNNNNN); "any
 *   backslashes should be doubled"; a trailing backslash joins the next line.
 * - systemd.service(5) "COMMAND LINES": each command line is unquoted by those
 *   rules; "%" specifiers are expanded (systemd.unit(5)); "${FOO}" and a word
 *   "$FOO" are replaced by environment variables; "To pass a literal dollar
 *   sign, use $$"; an unquoted lone ";" separates command lines.
 * - systemd.exec(5) "Environment=": each line is unquoted by the same rules into
 *   assignments; "put quotes around the whole assignment" when the value has
 *   spaces or "="; "Variable expansion is not performed inside the strings and
 *   the $ character has no special meaning. Specifier expansion is performed";
 *   names are letters, digits and underscore, not starting with a digit;
 *   "non-printable characters are currently rejected".
 * - systemd.unit(5) "SPECIFIERS": "%%" is a single "%".
 * Checked against systemd itself: `systemd --test --system` (run as a non-root
 * user) prints each unit's parsed Environment and ExecStart command line; the
 * unit tests do this when that binary is present.
 */
import { assertEnvironment, assertPrintable } from "./engine-rules.js";

/** Characters that need no quoting anywhere in an ExecStart= line (no specifier, variable, quote, escape, space or ";"). */
const BARE_WORD = /^[A-Za-z0-9_@+=:,./-]+$/;

/** Inside double quotes: backslash and quote escaped (systemd.syntax(7)), "%" doubled (specifiers). */
function escapeForQuotes(value: string): string {
  return value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, "%%");
}

/**
 * One ExecStart= argument that systemd hands to the program exactly as `value`:
 * bare when it is made only of inert characters, otherwise in double quotes with
 * `\` and `"` backslash-escaped, `%` written `%%` and `$` written `$$`.
 * Throws InvalidEngineOptionError for control characters.
 */
export function quoteExecArg(value: string): string {
  assertPrintable("The value", value);
  if (BARE_WORD.test(value)) return value;
  return `"${escapeForQuotes(value).replace(/\$/g, "$$$$")}"`;
}

/**
 * An Environment= line setting `name` to exactly `value`: the whole assignment in
 * double quotes, `\` and `"` escaped, `%` doubled; `$` stays as is because
 * Environment= does not expand variables. Throws InvalidEngineOptionError for a
 * name that is not a variable name or a value with a control character (engine-rules.ts).
 */
export function environmentLine(name: string, value: string): string {
  assertEnvironment(name, value);
  return `Environment="${escapeForQuotes(`${name}=${value}`)}"`;
}

/** A word of a command line: its text as written in the file, and what systemd makes of it (before %/$ expansion). */
export interface RawWord {
  raw: string;
  value: string;
}

const C_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  '"': '"',
  "'": "'",
  s: " ",
};

const HEX = /^[0-9a-fA-F]+$/;
const OCTAL = /^[0-7]+$/;

/** The numeric escapes of systemd.syntax(7): the letter after the backslash ("" for octal), how many digits, their base. */
const NUMERIC_ESCAPES = [
  { letter: "x", count: 2, digits: HEX, radix: 16 },
  { letter: "", count: 3, digits: OCTAL, radix: 8 },
  { letter: "u", count: 4, digits: HEX, radix: 16 },
  { letter: "U", count: 8, digits: HEX, radix: 16 },
] as const;

/** The numeric escape whose backslash is `line[i]`: the character, and how many characters of `line` it spans. */
function numericEscape(line: string, i: number): { char: string; length: number } | undefined {
  for (const e of NUMERIC_ESCAPES) {
    const start = i + 1 + e.letter.length;
    const digits = line.slice(start, start + e.count);
    if (line.startsWith(e.letter, i + 1) && digits.length === e.count && e.digits.test(digits)) {
      return { char: String.fromCodePoint(Number.parseInt(digits, e.radix)), length: 1 + e.letter.length + e.count };
    }
  }
  return undefined;
}

/**
 * Splits a command line into words by systemd's unquoting rules, keeping each
 * word's raw text so that words tsm does not own can be written back untouched
 * (a vendor unit's `$DOCKER_OPTS` must stay a variable reference). Lenient like
 * systemd: quotes may also start mid-word, an unknown escape keeps its backslash.
 */
export function splitCommandLine(line: string): RawWord[] {
  const words: RawWord[] = [];
  let i = 0;
  const n = line.length;
  const isSpace = (c: string | undefined): boolean => c === " " || c === "\t" || c === "\n" || c === "\r";
  while (i < n) {
    while (i < n && isSpace(line[i])) i++;
    if (i >= n) break;
    const start = i;
    let value = "";
    let quote: string | null = null;
    while (i < n) {
      const c = line[i]!;
      if (quote === null && isSpace(c)) break;
      if (c === "\\" && i + 1 < n) {
        const e = line[i + 1]!;
        const simple = C_ESCAPES[e];
        const numeric = simple === undefined ? numericEscape(line, i) : undefined;
        if (simple !== undefined) {
          value += simple;
          i += 2;
        } else if (numeric !== undefined) {
          value += numeric.char;
          i += numeric.length;
        } else if (quote === null && e === ";") {
          value += ";";
          i += 2;
        } else {
          value += c;
          i++;
        }
      } else if (quote !== null && c === quote) {
        quote = null;
        i++;
      } else if (quote === null && (c === '"' || c === "'")) {
        quote = c;
        i++;
      } else {
        value += c;
        i++;
      }
    }
    words.push({ raw: line.slice(start, i), value });
  }
  return words;
}

/** One file from `systemctl cat`: its path and text. */
export interface UnitFile {
  path: string;
  text: string;
}

/**
 * Splits `systemctl cat UNIT` output into its files. Each file is introduced by a
 * line "# /path/to/file"; only headers naming the unit or one of its drop-ins
 * (`<unit>` or `<unit>.d/*.conf`) count, so a comment inside a file that happens
 * to start with "# /" is not mistaken for one. Lines before the first header
 * (systemctl's "# Warning: ... changed on disk") are dropped.
 */
export function parseSystemctlCat(output: string, unit: string): UnitFile[] {
  const esc = unit.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const header = new RegExp(`^# (/\\S*/${esc}(?:\\.d/[^/\\s]+\\.conf)?)$`);
  const files: UnitFile[] = [];
  let current: { path: string; lines: string[] } | undefined;
  for (const line of output.split("\n")) {
    const m = header.exec(line);
    if (m) {
      if (current) files.push({ path: current.path, text: current.lines.join("\n") });
      current = { path: m[1]!, lines: [] };
    } else if (current) {
      current.lines.push(line);
    }
  }
  if (current) files.push({ path: current.path, text: current.lines.join("\n") });
  // systemctl separates files with one empty line; it is not part of the file.
  return files.map((f) => ({ path: f.path, text: f.text.replace(/\n+$/, "\n") }));
}

/**
 * The assignments of `key` in section `[section]` of one unit file, in order, with
 * continuation lines joined (the backslash becomes a space, systemd.syntax(7)) and
 * comment lines skipped.
 */
export function unitAssignments(text: string, section: string, key: string): string[] {
  const values: string[] = [];
  let inSection = false;
  let pending = "";
  const lines = text.split(/\r?\n/);
  for (let idx = 0; idx < lines.length; idx++) {
    const rawLine = lines[idx]!;
    const trimmed = rawLine.trim();
    if (pending === "" && (trimmed.startsWith("#") || trimmed.startsWith(";"))) continue;
    if (pending !== "" && (trimmed.startsWith("#") || trimmed.startsWith(";"))) continue; // comments inside a continuation are skipped
    let line = pending === "" ? trimmed : `${pending} ${trimmed}`;
    if (line.endsWith("\\") && !line.endsWith("\\\\")) {
      pending = line.slice(0, -1).trimEnd();
      if (idx < lines.length - 1) continue;
      line = pending;
    }
    pending = "";
    if (line === "") continue;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      inSection = sec[1] === section;
      continue;
    }
    if (!inSection) continue;
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    if (line.slice(0, eq).trim() === key) values.push(line.slice(eq + 1).trim());
  }
  return values;
}

/** The ExecStart= that systemd would run for a unit made of `files`, ignoring `skipPath`. */
export interface EffectiveExecStart {
  /** The last ExecStart= value left after resets, as written (undefined: none). */
  value?: string;
  /** Where that value came from. */
  from?: string;
}

/**
 * Replays ExecStart= assignments across the unit file and its drop-ins in the
 * order systemctl printed them (the order systemd applies them): an empty
 * assignment resets the list. `skipPath` (tsm's own drop-in) is left out, so the
 * result is what the unit runs without tsm.
 */
export function effectiveExecStart(files: readonly UnitFile[], skipPath?: string): EffectiveExecStart {
  let result: EffectiveExecStart = {};
  for (const file of files) {
    if (file.path === skipPath) continue;
    for (const value of unitAssignments(file.text, "Service", "ExecStart")) {
      result = value === "" ? {} : { value, from: file.path };
    }
  }
  return result;
}
