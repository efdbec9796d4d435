/**
 * Renders `env` set/unset lines for each shell family.
 *
 * Plain values come out byte-identical to Docker Machine 0.16.2. Docker Machine
 * pasted values between quotes unescaped, so a `"`, `$` or backquote in a store
 * path or NO_PROXY value broke the line or ran code when the output was
 * eval'd; here every value is quoted so the shell reads back exactly the
 * value given and executes nothing, or, where a shell has no safe way to say
 * it (cmd), the render refuses.
 */

import type { ShellFamily } from "./detect.js";

/** One environment variable to set. `name` must match `[A-Za-z_][A-Za-z0-9_]*`. */
export interface EnvVar {
  name: string;
  value: string;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function assertName(name: string): void {
  if (!NAME_RE.test(name)) {
    // Names are spliced in unquoted, so this check is what keeps them inert.
    throw new Error(`Invalid environment variable name ${JSON.stringify(name)}: expected [A-Za-z_][A-Za-z0-9_]*`);
  }
}

function assertValue(name: string, value: string): void {
  if (value.includes("\0")) {
    throw new Error(`Cannot set ${name}: its value contains a NUL character, which no environment variable can hold`);
  }
}

/** Inside `"..."` only these four keep a meaning in sh, bash, zsh, ksh and dash. */
function posixValue(value: string): string {
  return `"${value.replace(/[\\"$`]/g, "\\$&")}"`;
}

/**
 * fish: `\`, `"` and `$` are the escapes inside double quotes. A raw newline
 * would also be legal there, but `eval (tsm env)` splits command output on
 * newlines and rejoins with spaces, so line breaks are written as fish's
 * unquoted `\n`/`\r` escapes between quoted pieces, keeping each variable on
 * one output line.
 */
function fishValue(value: string): string {
  const escaped = value
    .replace(/[\\"$]/g, "\\$&")
    .replace(/\n/g, '"\\n"')
    .replace(/\r/g, '"\\r"');
  return `"${escaped}"`;
}

/**
 * PowerShell double-quoted string: the backquote is the escape character, and
 * the typographic double quotes U+201C/U+201D/U+201E end a string just like `"`.
 * `& tsm env | Invoke-Expression` feeds each output line to Invoke-Expression
 * separately, so a newline must not appear raw: it becomes `` `n ``.
 */
function powershellValue(value: string): string {
  const escaped = value
    .replace(/[`"$\u201C\u201D\u201E]/g, "`$&")
    .replace(/\n/g, "`n")
    .replace(/\r/g, "`r");
  return `"${escaped}"`;
}

/**
 * cmd has no escape that works both when the line is run by
 * `FOR /f ... DO @%i` and when pasted at a prompt: `%` expands at the prompt,
 * `!` expands under delayed expansion, `"` toggles cmd's quoting, and a line
 * break ends the command. `SET "NAME=value"` makes everything else literal.
 */
const CMD_FORBIDDEN: ReadonlyArray<readonly [string, string]> = [
  ['"', 'a double quote (")'],
  ["%", "a percent sign (%)"],
  ["!", "an exclamation mark (!)"],
  ["\n", "a newline"],
  ["\r", "a carriage return"],
];

function cmdLine(name: string, value: string): string {
  for (const [ch, description] of CMD_FORBIDDEN) {
    if (value.includes(ch)) {
      throw new Error(
        `Cannot write ${name} for cmd: its value contains ${description}, which cmd cannot take literally; use --shell powershell (or another shell) instead`,
      );
    }
  }
  return /[&|<>^() \t]/.test(value) ? `SET "${name}=${value}"` : `SET ${name}=${value}`;
}

/**
 * csh/tcsh. Inside double quotes csh cannot escape `$` or a backquote at all,
 * so a value holding any character with a meaning there switches to single
 * quotes. Inside those, `!` still triggers history substitution unless written
 * `\!`; `'` is written `'\''`; a newline needs a preceding backslash; and a
 * backslash that tcsh's `backslash_quote` option could pair with the next
 * character is moved outside the quotes (see {@link backslashIsAmbiguous}).
 */
const TCSH_NEEDS_SINGLE_QUOTES = /["$`!\\\n\r]/;

function tcshValue(value: string): string {
  if (!TCSH_NEEDS_SINGLE_QUOTES.test(value)) return `"${value}"`;
  let out = "'";
  const chars = [...value];
  chars.forEach((ch, i) => {
    switch (ch) {
      case "'":
        out += "'\\''";
        break;
      case "!":
        out += "\\!";
        break;
      case "\\":
        out += backslashIsAmbiguous(chars[i + 1]) ? "'\\\\'" : "\\";
        break;
      case "\n":
        out += "\\\n";
        break;
      default:
        out += ch;
    }
  });
  return `${out}'`;
}

/**
 * With tcsh's `backslash_quote` set, a backslash inside single quotes escapes
 * a following `\`, `'` or `"` (and, in text run through `eval`, `$`: seen
 * with tcsh 6.24), and the `'\''`, `\!` and backslash-newline
 * sequences written for `'`, `!` and a newline start with one of those;
 * such a backslash, or one ending the value, is written as `\\` outside the
 * quotes, which reads the same with or without the option. Any other
 * backslash is literal either way and stays inside, keeping Windows paths
 * readable.
 */
function backslashIsAmbiguous(next: string | undefined): boolean {
  return next === undefined || ["\\", "'", '"', "$", "!", "\n"].includes(next);
}

/** Emacs Lisp string literal: only `\` and `"` are special to the reader. */
function elispString(value: string): string {
  return `"${value.replace(/[\\"]/g, "\\$&")}"`;
}

function setLine(family: ShellFamily, name: string, value: string): string {
  switch (family) {
    case "posix":
      return `export ${name}=${posixValue(value)}`;
    case "fish":
      return `set -gx ${name} ${fishValue(value)};`;
    case "powershell":
      return `$Env:${name} = ${powershellValue(value)}`;
    case "cmd":
      return cmdLine(name, value);
    case "tcsh":
      return `setenv ${name} ${tcshValue(value)};`;
    case "emacs":
      return `(setenv "${name}" ${elispString(value)})`;
  }
}

function unsetLine(family: ShellFamily, name: string): string {
  switch (family) {
    case "posix":
      return `unset ${name}`;
    case "fish":
      return `set -e ${name};`;
    case "powershell":
      // Two literal backslashes: Docker Machine's exact text, which PowerShell accepts.
      return `Remove-Item Env:\\\\${name}`;
    case "cmd":
      // cmd has no unset; assigning nothing removes the variable.
      return `SET ${name}=`;
    case "tcsh":
      return `unsetenv ${name};`;
    case "emacs":
      return `(setenv "${name}" nil)`;
  }
}

/**
 * Renders one "set" line per variable, in order, each ending in `"\n"`, in the
 * syntax of `family`:
 * posix `export NAME="value"`, fish `set -gx NAME "value";`,
 * powershell `$Env:NAME = "value"`, cmd `SET NAME=value` (or `SET "NAME=value"`
 * when the value holds a space, tab or one of `& | < > ^ ( )`),
 * tcsh `setenv NAME "value";` (or single-quoted when the value holds one of
 * `" $ \` ! \` or a line break), emacs `(setenv "NAME" "value")`.
 *
 * Contract: evaluating the output in that shell sets each variable to exactly
 * its `value` and executes nothing else. Values without special characters
 * render byte-identically to Docker Machine 0.16.2. In cmd an empty value
 * removes the variable, as cmd cannot hold an empty one. A value in tcsh
 * containing a newline round-trips through `source` but not through
 * backquote `eval`, which csh splits at newlines.
 *
 * Throws `Error` (one-line message naming the variable) when a name is not
 * `[A-Za-z_][A-Za-z0-9_]*`, when a value contains NUL, or, for cmd, when a value
 * contains `"`, `%`, `!`, a newline or a carriage return. Nothing is returned
 * partially: validation covers every variable before any output is produced.
 */
export function renderSet(family: ShellFamily, vars: readonly EnvVar[]): string {
  const lines = vars.map(({ name, value }) => {
    assertName(name);
    assertValue(name, value);
    return `${setLine(family, name, value)}\n`;
  });
  return lines.join("");
}

/**
 * Renders one "unset" line per name, in order, each ending in `"\n"`:
 * posix `unset NAME`, fish `set -e NAME;`, powershell `Remove-Item Env:\\NAME`
 * (two literal backslashes, as Docker Machine prints), cmd `SET NAME=`,
 * tcsh `unsetenv NAME;`, emacs `(setenv "NAME" nil)`.
 *
 * Throws `Error` when a name is not `[A-Za-z_][A-Za-z0-9_]*`.
 */
export function renderUnset(family: ShellFamily, names: readonly string[]): string {
  const lines = names.map((name) => {
    assertName(name);
    return `${unsetLine(family, name)}\n`;
  });
  return lines.join("");
}
