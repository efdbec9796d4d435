/**
 * The two comment lines `env` prints after the variables, telling the user how
 * to eval the output.
 *
 * Docker Machine echoed `os.Args` joined by spaces. For ordinary arguments tsm
 * prints the same bytes, but the echo is part of what the user evals (and may
 * paste), so every argument that is not a plain word is quoted for the target
 * shell, and nothing may put a line break into the comment, since the text
 * after it would run as a command.
 *
 * The posix and tcsh hints quote the command substitution, which Docker
 * Machine 0.16.2 did not (docker/machine#3755, still open). Unquoted, the shell
 * word-splits and globs the output before eval re-parses it: whitespace runs
 * and newlines in values collapse, filenames can be spliced in, and csh also
 * brace-expands, so a value such as `{x,cmd}` made Docker Machine's tcsh hint
 * run `cmd`. Quoted, eval sees the output exactly as printed.
 */

import type { ShellFamily } from "./detect.js";

const INTRO = "Run this command to configure your shell: ";

/** Characters that mean nothing to the shell in question, so a word made only of them is echoed bare. */
const PLAIN: Record<ShellFamily, RegExp> = {
  posix: /^[A-Za-z0-9_@%+=:,./-]+$/,
  emacs: /^[A-Za-z0-9_@%+=:,./-]+$/,
  fish: /^[A-Za-z0-9_@+=:,./-]+$/,
  tcsh: /^[A-Za-z0-9_@%+=:,./-]+$/,
  powershell: /^[A-Za-z0-9_+=:./\\-]+$/,
  cmd: /^[A-Za-z0-9_@+=:,./\\-]+$/,
};

const CONTROL = /[\x00-\x1f\x7f]/;
const CONTROL_G = /[\x00-\x1f\x7f]/g;

function hex2(ch: string): string {
  return ch.charCodeAt(0).toString(16).padStart(2, "0");
}

/** POSIX single quotes; ANSI-C `$'...'` (bash, zsh, ksh) only when a control character must stay on one line. */
function quotePosix(arg: string): string {
  if (!CONTROL.test(arg)) return `'${arg.replace(/'/g, "'\\''")}'`;
  const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  const body = arg.replace(/[\\']|[\x00-\x1f\x7f]/g, (ch) =>
    ch === "\\" || ch === "'" ? `\\${ch}` : (named[ch] ?? `\\x${hex2(ch)}`),
  );
  return `$'${body}'`;
}

/** fish single quotes escape only `\` and `'`; control characters go between quoted pieces as fish escapes. */
function quoteFish(arg: string): string {
  const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  const body = arg
    .replace(/[\\']/g, "\\$&")
    .replace(CONTROL_G, (ch) => `'${named[ch] ?? `\\x${hex2(ch)}`}'`);
  return `'${body}'`;
}

/**
 * PowerShell single quotes, where only a quote (including the typographic
 * U+2018 to U+201B, which PowerShell also treats as quotes) is doubled; double quotes
 * with backquote escapes when a control character must be spelt out. The
 * escapes used all exist in Windows PowerShell 5.1.
 */
function quotePowershell(arg: string): string {
  if (!CONTROL.test(arg)) return `'${arg.replace(/['\u2018-\u201B]/g, "$&$&")}'`;
  const named: Record<string, string> = {
    "\0": "`0",
    "\x07": "`a",
    "\b": "`b",
    "\t": "`t",
    "\n": "`n",
    "\v": "`v",
    "\f": "`f",
    "\r": "`r",
  };
  const body = arg
    .replace(/[`"$\u201C\u201D\u201E]/g, "`$&")
    .replace(CONTROL_G, (ch) => named[ch] ?? `$([char]0x${hex2(ch)})`);
  return `"${body}"`;
}

/**
 * cmd cannot spell `"`, `%`, `!` or a line break inside an argument in a way
 * that survives both the prompt and `FOR /f`; such characters become `?`,
 * leaving a harmless (if wrong) argument rather than an unsafe one. Backslashes
 * before the closing quote are doubled, as the Windows argv parser requires.
 */
function sanitiseCmd(arg: string): string {
  return arg.replace(/["%!\x00-\x1f\x7f]/g, "?");
}

function quoteCmd(arg: string): string {
  return `"${arg.replace(/(\\+)$/, "$1$1")}"`;
}

/**
 * csh single quotes, valid inside the hint's `"`...`"`: there `\!` within
 * quotes still triggers history substitution, so `!` is escaped outside
 * them; a `\` that tcsh's `backslash_quote` could pair with the next
 * character (`\`, `'`, `!`, or the closing quote) is likewise written
 * outside. In that position csh substitutes `$` even inside single quotes,
 * ends the command at a `"` or backquote, and cannot hold a control
 * character, so those become `?`.
 */
function quoteTcsh(arg: string): string {
  const body = arg
    .replace(/[`"$\x00-\x1f\x7f]/g, "?")
    .replace(/'|!|\\(?=[\\'!]|$)/g, (ch) => (ch === "'" ? "'\\''" : ch === "!" ? "'\\!'" : "'\\\\'"));
  return `'${body}'`;
}

/**
 * argv[0] keeps Docker Machine's form, wrapped in `"..."` when it holds a space
 * or a backslash (a Windows path), whenever that form reads back exactly in
 * the target shell's double quotes; otherwise it is quoted like any argument.
 */
function dmDoubleQuotedProgramIsExact(family: ShellFamily, program: string): boolean {
  if (CONTROL.test(program)) return false;
  switch (family) {
    case "posix":
    case "emacs":
      // `!` would trigger history expansion when the hint is pasted into bash.
      return !/[$`"!]/.test(program) && !/\\(\\|$)/.test(program);
    case "fish":
      return !/[$"]/.test(program) && !/\\(\\|$)/.test(program);
    case "powershell":
      return !/[`$"\u201C\u201D\u201E]/.test(program);
    case "tcsh":
      // The command sits inside "`...`", where csh cannot nest double quotes.
      return false;
    case "cmd":
      return true;
  }
}

function quoteArg(family: ShellFamily, arg: string): string {
  switch (family) {
    case "posix":
    case "emacs":
      return quotePosix(arg);
    case "fish":
      return quoteFish(arg);
    case "powershell":
      return quotePowershell(arg);
    case "tcsh":
      return quoteTcsh(arg);
    case "cmd":
      return quoteCmd(arg);
  }
}

function renderProgram(family: ShellFamily, program: string): string {
  const clean = family === "cmd" ? sanitiseCmd(program) : program;
  if (PLAIN[family].test(clean)) return clean;
  if (/[ \\]/.test(clean) && dmDoubleQuotedProgramIsExact(family, clean)) return `"${clean}"`;
  // cmd's Windows argv parser treats the program name literally: no doubling of backslashes.
  return family === "cmd" ? `"${clean}"` : quoteArg(family, clean);
}

function renderArg(family: ShellFamily, arg: string): string {
  const clean = family === "cmd" ? sanitiseCmd(arg) : arg;
  return PLAIN[family].test(clean) ? clean : quoteArg(family, clean);
}

/**
 * `FOR /f ... IN ('command')` runs the command through `cmd /c`, which strips
 * the first and last `"` of a command that starts with one unless it holds
 * exactly two quotes with no `& < > ( ) @ ^ |` between them (`cmd /?`). When
 * that rule would bite (e.g. `"C:\Program Files (x86)\..."` or a second quoted
 * argument) the command gets an extra enclosing pair for cmd to strip. The
 * enclosing FOR line is itself parsed by cmd, so special characters that end
 * up outside quotes there are caret-escaped.
 */
function cmdForCommand(command: string): string {
  let inner = command;
  if (inner.startsWith('"')) {
    const quotes = inner.split('"').length - 1;
    const firstSpan = inner.slice(1, inner.indexOf('"', 1));
    if (quotes > 2 || /[&<>()@^|]/.test(firstSpan)) inner = `"${inner}"`;
  }
  let out = "";
  let quoted = false;
  for (const ch of inner) {
    if (ch === '"') quoted = !quoted;
    out += !quoted && /[&|<>()^]/.test(ch) ? `^${ch}` : ch;
  }
  return out;
}

function hasShellFlag(argv: readonly string[]): boolean {
  return argv.slice(1).some((arg) => arg === "--shell" || arg.startsWith("--shell="));
}

/**
 * Returns the two comment lines `env` prints after the variables, each ending
 * in `"\n"`; the first has a trailing space, as in Docker Machine:
 *
 * - posix: `# Run this command to configure your shell: ` / `# eval "$(CMD)"`
 * - fish: `# ...` / `# eval (CMD)`
 * - powershell: `# ...` / `# & CMD | Invoke-Expression`
 * - cmd: `REM ...` / `REM ` TAB `@FOR /f "tokens=*" %i IN ('CMD') DO @%i`
 * - tcsh: `: ...` / `` : eval "`CMD`" ``
 * - emacs: `;; ...` / `;; (with-temp-buffer (shell-command "CMD" (current-buffer)) (eval-buffer))`
 *
 * CMD echoes `argv`, the user's command line starting with the program name
 * (e.g. `["tsm", "env", "--shell", "fish", "dev"]`); `--unset`/`-u` needs no
 * special handling since it is simply echoed. argv[0] is wrapped in `"..."`
 * when it holds a space or a backslash, as Docker Machine did; any other
 * argument that is not a plain word is quoted for the family (tcsh quotes
 * argv[0] like any argument; emacs quotes for
 * the POSIX shell `shell-command` runs, then escaped as an Emacs Lisp string).
 * For a non-posix family whose argv has no `--shell`/`--shell=`, i.e. the shell
 * was detected, `--shell <family>` is inserted after the first `env` (appended
 * if there is none) so the pasted command selects the same syntax.
 *
 * Contract: never throws; the output never contains a line break other than
 * the two line ends, so evaluating it runs nothing. Characters a family cannot
 * quote at all in that position (cmd: `" % !`; tcsh: `" $` and backquote; cmd
 * and tcsh: control characters) are replaced by `?`, making the echoed
 * command wrong but harmless. An empty argv is treated as `["tsm"]`.
 */
export function usageHint(family: ShellFamily, argv: readonly string[]): string {
  const args = argv.length > 0 ? [...argv] : ["tsm"];
  if (family !== "posix" && !hasShellFlag(args)) {
    const envIndex = args.indexOf("env", 1);
    const at = envIndex === -1 ? args.length : envIndex + 1;
    args.splice(at, 0, "--shell", family);
  }
  const [program = "tsm", ...rest] = args;
  const command = [renderProgram(family, program), ...rest.map((arg) => renderArg(family, arg))].join(" ");

  switch (family) {
    case "posix":
      return `# ${INTRO}\n# eval "$(${command})"\n`;
    case "fish":
      return `# ${INTRO}\n# eval (${command})\n`;
    case "powershell":
      return `# ${INTRO}\n# & ${command} | Invoke-Expression\n`;
    case "cmd":
      return `REM ${INTRO}\nREM \t@FOR /f "tokens=*" %i IN ('${cmdForCommand(command)}') DO @%i\n`;
    case "tcsh":
      return `: ${INTRO}\n: eval "\`${command}\`"\n`;
    case "emacs": {
      const elisp = command.replace(/[\\"]/g, "\\$&");
      return `;; ${INTRO}\n;; (with-temp-buffer (shell-command "${elisp}" (current-buffer)) (eval-buffer))\n`;
    }
  }
}
