/**
 * Shell completion in the real shells: the script `tsm completion SHELL` prints is loaded
 * into bash, zsh and fish, which then ask the built tsm (on PATH as `tsm`, as users have
 * it) for candidates. bash: the registered function is run as bash runs it for TAB
 * (COMP_WORDS/COMP_CWORD set, COMPREPLY read), without the bash-completion package (CI's
 * images do not have it). zsh: compinit registers the script's function, which runs with
 * `words`/`CURRENT` set and zsh's `_describe` replaced by a printer of its candidates.
 * fish: `complete -C`, fish's own completion engine. PowerShell is not installed here:
 * its script is generated and checked as text only.
 */
import { execFile } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseEnv, runTsm, tempDir, TSM_BIN } from "../helpers/cli.js";
import { describeWithPrereqs, missingPrereqs } from "../helpers/prereq.js";

let dir: string;
let store: string;
let otherStore: string;
let bin: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("tsm-completion-"));
  store = path.join(dir, "store");
  otherStore = path.join(dir, "other");
  bin = path.join(dir, "bin");
  await mkdir(bin);
  await writeFile(path.join(bin, "tsm"), `#!/bin/sh\nexec "${process.execPath}" "${TSM_BIN}" "$@"\n`);
  await chmod(path.join(bin, "tsm"), 0o755);
  for (const [s, name] of [
    [store, "alpha"],
    [store, "beta"],
    [otherStore, "gamma"],
  ] as const) {
    const r = await runTsm(s, ["create", "-d", "none", "--url", "tcp://127.0.0.1:2376", name]);
    expect(r.exitCode, r.stderr).toBe(0);
  }
  // What a crashed writer leaves among the machines is not a machine name.
  await mkdir(path.join(store, "machines", ".tsm-tmp-1-abc"));
});
afterAll(() => cleanup());

function run(file: string, args: readonly string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const env = { ...baseEnv(), PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`, TSM_STORAGE_PATH: store, HOME: dir };
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 30_000, cwd: dir }, (err, stdout, stderr) => {
      resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}

/** The words of a command line as the shell splits it; a trailing space starts an empty word. */
const wordsOf = (line: string) => line.split(" ");

const SHELLS = {
  /** bash runs the function `complete -F` registered, with the words of the line. */
  async bash(line: string): Promise<string[]> {
    const script = [
      'source <(tsm completion bash) || exit 9',
      '[[ "$(complete -p tsm)" == "complete -F __tsm_complete tsm" ]] || exit 8',
      'COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}',
      "__tsm_complete 2>/dev/null",
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join("\n");
    const r = await run("bash", ["--norc", "--noprofile", "-ic", script, "bash", ...wordsOf(line)]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.split("\n").filter((l) => l !== "");
  },
  /** zsh: compinit, the script's compdef, and its function with words/CURRENT; _describe prints. */
  async zsh(line: string): Promise<string[]> {
    const script = [
      "autoload -U compinit && compinit -u -D",
      "source <(tsm completion zsh) || exit 9",
      '[[ $_comps[tsm] == _tsm ]] || exit 8',
      '_describe() { print -rl -- "${completions[@]}" }',
      'words=("$@"); CURRENT=$#',
      "_tsm",
    ].join("\n");
    const r = await run("zsh", ["-f", "-c", script, "zsh", ...wordsOf(line)]);
    expect(r.code, r.stderr).toBe(0);
    // "value:description", with a colon in the value escaped.
    return r.stdout.split("\n").filter((l) => l !== "").map((l) => l.replace(/(?<!\\):.*$/, "").replace(/\\:/g, ":"));
  },
  /** fish's own completion engine. */
  async fish(line: string): Promise<string[]> {
    const r = await run("fish", ["--no-config", "-c", "tsm completion fish | source; complete -C $argv[1]", line]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.split("\n").filter((l) => l !== "").map((l) => l.split("\t")[0]!);
  },
} as const;

for (const [shell, complete] of Object.entries(SHELLS)) {
  describeWithPrereqs(`completion in ${shell}`, missingPrereqs([shell]), () => {
    it("completes verbs", async () => {
      const got = await complete("tsm re");
      expect(got).toEqual(expect.arrayContaining(["restart", "regenerate-certs"]));
      expect(got.every((c) => c.startsWith("re"))).toBe(true);
      expect(await complete("tsm ")).toEqual(expect.arrayContaining(["create", "ls", "rm", "use", "completion"]));
      // The request verb is hidden.
      expect(await complete("tsm comp")).toEqual(["completion"]);
    });

    it("completes machine names from the store, skipping what is not a machine", async () => {
      expect((await complete("tsm rm ")).sort()).toEqual(["alpha", "beta"]);
      expect(await complete("tsm env al")).toEqual(["alpha"]);
      expect((await complete("tsm start alpha ")).sort()).toEqual(["alpha", "beta"]);
    });

    it("reads the store the line names with -s", async () => {
      expect(await complete(`tsm -s ${otherStore} rm `)).toEqual(["gamma"]);
    });

    it("completes driver names after -d and the driver's flags", async () => {
      expect((await complete("tsm create -d ")).sort()).toEqual(["generic", "none", "qemu", "virtualbox"]);
      expect(await complete("tsm create -d generic --generic-ssh-")).toEqual(expect.arrayContaining(["--generic-ssh-user", "--generic-ssh-key", "--generic-ssh-port"]));
    });

    it("completes flags, --shell values and completion's shells", async () => {
      expect(await complete("tsm rm --")).toEqual(expect.arrayContaining(["--force", "--clean-host"]));
      expect(await complete("tsm env --shell ")).toEqual(expect.arrayContaining(["bash", "fish", "powershell", "tcsh"]));
      expect((await complete("tsm completion ")).sort()).toEqual(["bash", "fish", "powershell", "zsh"]);
    });
  });
}

describe("completion scripts", () => {
  it.skipIf(missingPrereqs(["bash"]).length > 0)("bash: loading the script twice (a re-read ~/.bashrc) says nothing", async () => {
    const r = await run("bash", ["--norc", "--noprofile", "-c", "source <(tsm completion bash) && source <(tsm completion bash) && complete -p tsm"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("complete -F __tsm_complete tsm\n");
  });

  it("prints PowerShell's script (checked as text: PowerShell is not installed here)", async () => {
    const r = await runTsm(store, ["completion", "powershell"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("Register-ArgumentCompleter -CommandName 'tsm' -ScriptBlock $__tsmCompleterBlock");
    expect(r.stdout).toContain("$RequestComp = \"& tsm complete '--' $QuotedArgs\"");
  });

  it("answers the scripts' request with candidates and a directive line", async () => {
    const r = await runTsm(store, ["complete", "--", "rm", ""]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe("alpha\t\nbeta\t\n:4\n");
  });

  it("refuses an unknown shell in one line", async () => {
    const r = await runTsm(store, ["completion", "tcsh"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe('Error: Unknown shell "tcsh": tsm completion bash|zsh|fish|powershell\n');
    expect((await runTsm(store, ["completion"])).stderr).toBe("Error: No shell given: tsm completion bash|zsh|fish|powershell\n");
  });

  it("is not listed in help as a verb to call by hand", async () => {
    const r = await runTsm(store, ["--help"]);
    expect(r.stdout).toMatch(/^ {2}completion \[shell\]/m);
    expect(r.stdout).not.toMatch(/^ {2}complete\b/m);
  });
});
