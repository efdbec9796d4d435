/**
 * Shell names accepted by `--shell` and the syntax family each one is rendered in.
 *
 * Everything here is pure: the environment and platform are passed in, so the
 * detection rules can be tested for every OS from any OS.
 */

/** A shell tsm can print `env` output for (the accepted `--shell` values). */
export type ShellName =
  | "bash"
  | "zsh"
  | "sh"
  | "fish"
  | "powershell"
  | "pwsh"
  | "cmd"
  | "tcsh"
  | "csh"
  | "emacs";

/**
 * A syntax family: shells in one family take byte-identical `env` output, so
 * rendering only ever switches on the family. Each family name is itself a
 * valid {@link ShellName}, which lets a usage hint say `--shell <family>`.
 */
export type ShellFamily = "posix" | "fish" | "powershell" | "cmd" | "tcsh" | "emacs";

const NAMES = [
  "bash",
  "zsh",
  "sh",
  "fish",
  "powershell",
  "pwsh",
  "cmd",
  "tcsh",
  "csh",
  "emacs",
] as const satisfies readonly ShellName[];

/**
 * Every accepted `--shell` value, lower-case, in the order they are listed in
 * help and error messages. Frozen: callers may hand it to a CLI parser as choices.
 */
export const SHELL_NAMES: readonly string[] = Object.freeze([...NAMES]);

/**
 * The syntax family of a shell. bash, zsh and sh are `posix`; pwsh is
 * `powershell`; csh is `tcsh` (Docker Machine gave csh `export` lines, which
 * csh cannot run). Total over {@link ShellName}.
 */
export function shellFamily(shell: ShellName): ShellFamily {
  switch (shell) {
    case "bash":
    case "zsh":
    case "sh":
      return "posix";
    case "fish":
      return "fish";
    case "powershell":
    case "pwsh":
      return "powershell";
    case "cmd":
      return "cmd";
    case "tcsh":
    case "csh":
      return "tcsh";
    case "emacs":
      return "emacs";
  }
}

/**
 * Parses a `--shell` value, case-insensitively (Windows users type `PowerShell`).
 * Returns the lower-case {@link ShellName}; anything else throws an `Error`
 * whose one-line message quotes the value (JSON-escaped, so a hostile value
 * cannot inject lines into the terminal) and lists the accepted names.
 */
export function parseShellName(value: string): ShellName {
  const lower = value.toLowerCase();
  const found = NAMES.find((name) => name === lower);
  if (found === undefined) {
    throw new Error(`Unknown shell ${JSON.stringify(value)}: use one of ${NAMES.join(", ")}`);
  }
  return found;
}

/**
 * Names a `$SHELL` basename can have, mapped to the shell whose syntax it
 * accepts. POSIX-compatible shells without a dedicated entry (dash, ksh, ash
 * from busybox/Alpine, ...) take `sh` output. Shells with their own syntax that
 * tsm cannot write for (nu, elvish, xonsh, ...) are deliberately absent so that
 * detection reports "unknown" rather than printing lines they would misread.
 */
const SHELL_BASENAMES: ReadonlyMap<string, ShellName> = new Map<string, ShellName>([
  ["bash", "bash"],
  ["zsh", "zsh"],
  ["sh", "sh"],
  ["dash", "sh"],
  ["ash", "sh"],
  ["ksh", "sh"],
  ["ksh93", "sh"],
  ["mksh", "sh"],
  ["pdksh", "sh"],
  ["oksh", "sh"],
  ["yash", "sh"],
  ["fish", "fish"],
  ["tcsh", "tcsh"],
  ["csh", "csh"],
  ["pwsh", "pwsh"],
  ["powershell", "powershell"],
]);

/**
 * Maps a `SHELL`-style path to a shell: its last path component, lower-cased,
 * without a Windows `.exe` suffix. Both separators are honoured because MSYS and
 * Cygwin may hand a native child either `/usr/bin/bash` or `C:\...\bash.exe`.
 */
function shellFromPath(path: string): ShellName | undefined {
  const trimmed = path.trim().replace(/[\\/]+$/, "");
  const base = trimmed.slice(Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\")) + 1);
  const name = base.toLowerCase().replace(/\.exe$/, "");
  return SHELL_BASENAMES.get(name);
}

/**
 * Decides between Windows PowerShell, PowerShell 7 and "neither" from
 * PSModulePath alone.
 *
 * Why this works: the machine-wide PSModulePath that Windows gives every process
 * holds only the system module folders (`%ProgramFiles%\WindowsPowerShell\Modules`,
 * `%SystemRoot%\system32\WindowsPowerShell\v1.0\Modules`). Each PowerShell, at
 * startup, *prepends* its own folders: Windows PowerShell 5.1 its CurrentUser
 * folder (`<Documents>\WindowsPowerShell\Modules`), PowerShell 7 its CurrentUser,
 * AllUsers and `$PSHOME` folders (`<Documents>\PowerShell\Modules`,
 * `%ProgramFiles%\PowerShell\Modules`, `...\PowerShell\7\Modules`). So a
 * process started from PowerShell inherits a PSModulePath with those extra
 * entries, while one started from cmd (itself started from Explorer or a
 * terminal) does not, and because each PowerShell prepends, the *first* such
 * entry belongs to the innermost PowerShell.
 *
 * "User" entries are recognised by sitting under USERPROFILE or having a
 * `Documents` path segment, which covers OneDrive-redirected and
 * network-redirected Documents folders. System `WindowsPowerShell` entries never
 * count, since cmd has them too.
 *
 * Limits: an environment is inherited, so cmd started *from* PowerShell still
 * looks like PowerShell; and Windows PowerShell skips its CurrentUser folder
 * when the user has defined a user-scope PSModulePath, so it then looks like
 * cmd. Only walking the process tree could tell; the caller's `--shell` flag
 * is the remedy.
 */
function powerShellFromModulePath(
  psModulePath: string | undefined,
  userProfile: string | undefined,
): "powershell" | "pwsh" | undefined {
  if (psModulePath === undefined || psModulePath === "") return undefined;
  const profile = normaliseWinPath(userProfile ?? "");
  for (const raw of psModulePath.split(";")) {
    const entry = normaliseWinPath(raw);
    if (entry === "") continue;
    const segments = entry.split("\\");
    const last = segments[segments.length - 1];
    if (last !== "modules") continue;
    const parent = segments[segments.length - 2];
    const grandParent = segments[segments.length - 3];
    // `...\PowerShell\Modules` (CurrentUser or AllUsers) and
    // `...\PowerShell\7\Modules` ($PSHOME) exist only for PowerShell 7+.
    if (parent === "powershell") return "pwsh";
    if (grandParent === "powershell" && parent !== undefined && /^\d/.test(parent)) return "pwsh";
    if (parent === "windowspowershell") {
      const underProfile = profile !== "" && entry.startsWith(`${profile}\\`);
      if (underProfile || segments.includes("documents")) return "powershell";
    }
  }
  return undefined;
}

/** Lower-cases, unifies separators and drops trailing ones, for prefix and segment tests. */
function normaliseWinPath(path: string): string {
  return path.trim().replace(/\//g, "\\").replace(/\\+$/, "").toLowerCase();
}

/**
 * Detects the user's shell from the environment alone, without spawning
 * anything or reading the process tree.
 *
 * - Non-Windows platforms: the basename of `env.SHELL`, mapped through a fixed
 *   table (`dash`, `ksh`, `ash`, ... become `sh`). Empty, missing or unknown
 *   `SHELL` gives `undefined`: the caller then falls back to posix output and
 *   prints a note suggesting `--shell` (Docker Machine failed outright instead).
 * - `win32`, first match wins:
 *   1. `SHELL` naming a known shell: Git Bash, MSYS2 and Cygwin export it and
 *      native Windows never sets it, so its presence means a POSIX layer.
 *   2. PSModulePath carrying entries only a PowerShell adds at startup:
 *      `pwsh` for PowerShell 7+, `powershell` for Windows PowerShell 5.1.
 *   3. Otherwise `cmd`, Docker Machine's Windows default.
 *   Inherited variables make any environment-only rule fooled by one shell
 *   started from another (PowerShell launched from Git Bash reads as bash); the
 *   order above favours the shell a terminal opens directly.
 */
export function detectShell(
  env: Record<string, string | undefined>,
  platform: NodeJS.Platform,
): ShellName | undefined {
  const windows = platform === "win32";
  // Windows environment names are case-insensitive, but a Record passed in may
  // carry whichever spelling the OS happened to store.
  const shellVar = windows ? lookupCaseInsensitive(env, "SHELL") : env["SHELL"];
  const fromShellVar =
    shellVar === undefined || shellVar.trim() === "" ? undefined : shellFromPath(shellVar);
  if (!windows || fromShellVar !== undefined) return fromShellVar;
  const psModulePath = lookupCaseInsensitive(env, "PSModulePath");
  const userProfile = lookupCaseInsensitive(env, "USERPROFILE");
  return powerShellFromModulePath(psModulePath, userProfile) ?? "cmd";
}

function lookupCaseInsensitive(
  env: Record<string, string | undefined>,
  name: string,
): string | undefined {
  const exact = env[name];
  if (exact !== undefined) return exact;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(env)) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}
