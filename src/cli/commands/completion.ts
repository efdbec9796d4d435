/**
 * Shell completion. `tsm completion SHELL` prints the script for bash, zsh, fish or
 * PowerShell; at each TAB the script runs `tsm complete -- WORDS...` (hidden), which
 * prints the candidates. Scripts and protocol are @bomb.sh/tab's (Cobra's protocol:
 * `value<TAB>description` lines, then `:directive`); the tree of verbs, flags and
 * arguments is read from this very commander program, so it never drifts from the
 * command line, with tsm's value completers: driver names after `-d`, shell names after
 * `--shell`, the flag's choices where commander has them, and machine names read from
 * the store's machines directory (a listing, no record is opened: TAB stays fast).
 *
 * The library is loaded only by these two commands (start-up of every other command
 * does not pay for it).
 */
import { readdirSync } from "node:fs";
import os from "node:os";
import type { Command, Option } from "commander";
import { UsageError } from "../../model/errors.js";
import { isValidMachineName } from "../../model/name.js";
import { SHELL_NAMES } from "../../shell/detect.js";
import { resolveStorageRoot, storePaths } from "../../store/paths.js";
import type { CliContext } from "../support/context.js";

/** The shells `tsm completion` writes scripts for. */
export const COMPLETION_SHELLS = ["bash", "zsh", "fish", "powershell"] as const;

/** The verb the scripts call (fixed by @bomb.sh/tab's scripts). */
const REQUEST_VERB = "complete";

export function registerCompletion(program: Command, ctx: CliContext): void {
  program
    .command("completion")
    .description(`Print the shell completion script (${COMPLETION_SHELLS.join(", ")}); see README "Shell completion"`)
    .argument("[shell]", `the shell: ${COMPLETION_SHELLS.join(", ")}`)
    .action(async (shell: string | undefined, _opts: unknown, command: Command) => {
      if (shell === undefined || !(COMPLETION_SHELLS as readonly string[]).includes(shell)) {
        throw new UsageError(`${shell === undefined ? "No shell given" : `Unknown shell ${JSON.stringify(shell)}`}: tsm completion ${COMPLETION_SHELLS.join("|")}`);
      }
      if (command.args.length > 1) throw new UsageError("tsm completion takes one shell name");
      const tab = await import("@bomb.sh/tab");
      const name = program.name();
      const script = printed(() => tab.script(shell, name, name));
      ctx.deps.io.out(shell === "bash" ? bashPrelude(name) + rereadableBash(script) : script);
    });

  program
    .command(REQUEST_VERB, { hidden: true })
    .description("print completion candidates for the words after --")
    .argument("[words...]")
    .action(async (words: string[]) => {
      const tab = await import("@bomb.sh/tab");
      const root = new tab.RootCommand();
      const values = valueCompleters(ctx, program, words);
      addOptions(root, program, values);
      for (const cmd of program.createHelp().visibleCommands(program)) {
        const sub = root.command(cmd.name(), cmd.description());
        addOptions(sub, cmd, values);
        addArguments(sub, cmd, values);
      }
      ctx.deps.io.out(printed(() => root.parse([...words])));
    });
}

type TabModule = typeof import("@bomb.sh/tab");
type TabCommand = InstanceType<TabModule["Command"]>;
type Complete = (value: string, description: string) => void;

interface ValueCompleters {
  /** Values of an option that takes one; undefined: nothing to offer (the option still takes its value). */
  option(cmd: Command, option: Option): readonly string[] | undefined;
  /** Values of a positional argument. */
  argument(cmd: Command, argName: string): readonly string[] | undefined;
}

function valueCompleters(ctx: CliContext, program: Command, words: readonly string[]): ValueCompleters {
  let machines: string[] | undefined;
  const machineNames = () => (machines ??= listMachines(ctx, words));
  return {
    option(_cmd, option) {
      if (option.long === "--driver") return ctx.deps.drivers.names();
      if (option.long === "--shell") return SHELL_NAMES;
      return option.argChoices;
    },
    argument(cmd, argName) {
      const verb = cmd.name();
      if (verb === "completion" && argName === "shell") return COMPLETION_SHELLS;
      if (verb === "help" && argName === "command") return program.createHelp().visibleCommands(program).map((c) => c.name());
      if (verb !== "create" && (argName === "name" || argName === "names")) return machineNames();
      return undefined;
    },
  };
}

function addOptions(target: TabCommand, cmd: Command, values: ValueCompleters): void {
  for (const option of cmd.createHelp().visibleOptions(cmd)) {
    const long = option.long?.replace(/^--/, "");
    if (!long) continue;
    const short = option.short?.replace(/^-/, "");
    const alias = short && !short.startsWith("-") ? short : undefined;
    if (option.required || option.optional) {
      const offered = values.option(cmd, option) ?? [];
      target.option(long, option.description, (complete: Complete) => offered.forEach((v) => complete(v, "")), alias);
    } else if (alias !== undefined) {
      target.option(long, option.description, alias);
    } else {
      target.option(long, option.description);
    }
  }
}

function addArguments(target: TabCommand, cmd: Command, values: ValueCompleters): void {
  for (const arg of cmd.registeredArguments) {
    const offered = values.argument(cmd, arg.name()) ?? arg.argChoices;
    target.argument(arg.name(), offered ? (complete: Complete) => offered.forEach((v) => complete(v, "")) : undefined, arg.variadic);
  }
}

/**
 * The machines of the store the completed command line names (`-s`/`--storage-path`
 * among its words, else TSM_STORAGE_PATH...): the names of the machines directory's
 * entries. Hidden and temporary entries are not machine names and are skipped.
 */
function listMachines(ctx: CliContext, words: readonly string[]): string[] {
  const { deps } = ctx;
  let flag: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if ((w === "-s" || w === "--storage-path") && words[i + 1] !== undefined) flag = words[i + 1];
    else if (w.startsWith("--storage-path=")) flag = w.slice("--storage-path=".length);
  }
  const root = resolveStorageRoot(flag, { env: deps.env, platform: deps.platform, homedir: os.homedir() }, deps.compat ?? "tsm");
  try {
    return readdirSync(storePaths(root, deps.platform).machinesDir).filter(isValidMachineName).sort();
  } catch {
    return [];
  }
}

/** What `fn` writes with console.log (@bomb.sh/tab's way of printing), as text. */
function printed(fn: () => void): string {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.map(String).join(" "));
  try {
    fn();
  } finally {
    console.log = original;
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

/**
 * The bash script declares its directive constants `readonly`, so loading it a second time
 * in one shell (a re-read ~/.bashrc) printed an error per constant: each is declared only
 * where it is not declared yet.
 */
function rereadableBash(script: string): string {
  // declare -p, not [[ -v ]]: macOS's bash 3.2 has no -v.
  return script.replace(/^readonly (ShellCompDirective\w+)=(\d+)$/gm, "declare -p $1 >/dev/null 2>&1 || readonly $1=$2");
}

/**
 * The bash script calls bash-completion's `_get_comp_words_by_ref`. Where that package is
 * not installed (minimal systems, CI images), a stand-in with the same outputs
 * (cur, prev, words, cword) from bash's own COMP_WORDS is defined first.
 */
function bashPrelude(name: string): string {
  return [
    `# ${name}: without the bash-completion package, a stand-in for its _get_comp_words_by_ref`,
    "if ! declare -F _get_comp_words_by_ref >/dev/null 2>&1; then",
    "    _get_comp_words_by_ref() {",
    '        cur=${COMP_WORDS[COMP_CWORD]}',
    '        prev=${COMP_WORDS[COMP_CWORD-1]}',
    '        words=("${COMP_WORDS[@]:0:COMP_CWORD+1}")',
    "        cword=$COMP_CWORD",
    "    }",
    "fi",
    "",
  ].join("\n");
}
