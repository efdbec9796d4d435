import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import type { ShellFamily } from "../../../src/shell/detect.js";
import { usageHint } from "../../../src/shell/usage-hint.js";

const BQ = "`";
const INTRO = "Run this command to configure your shell: ";

describe("usageHint: Docker Machine's lines for ordinary command lines", () => {
  it("posix echoes argv (quoting the substitution, see deviation note in usage-hint.ts)", () => {
    expect(usageHint("posix", ["tsm", "env", "default"])).toBe(
      '# Run this command to configure your shell: \n# eval "$(tsm env default)"\n',
    );
  });

  it("posix does not add --shell (detection gives posix again when pasted)", () => {
    expect(usageHint("posix", ["tsm", "env", "dev"])).toBe(`# ${INTRO}\n# eval "$(tsm env dev)"\n`);
    expect(usageHint("posix", ["tsm", "env", "--shell", "zsh", "dev"])).toBe(
      `# ${INTRO}\n# eval "$(tsm env --shell zsh dev)"\n`,
    );
  });

  it("fish", () => {
    expect(usageHint("fish", ["tsm", "env", "--shell", "fish", "dev"])).toBe(
      "# Run this command to configure your shell: \n# eval (tsm env --shell fish dev)\n",
    );
  });

  it("powershell", () => {
    expect(usageHint("powershell", ["tsm", "env", "--shell", "powershell", "dev"])).toBe(
      "# Run this command to configure your shell: \n# & tsm env --shell powershell dev | Invoke-Expression\n",
    );
  });

  it("cmd: REM, a TAB, then the FOR loop", () => {
    expect(usageHint("cmd", ["tsm", "env", "--shell", "cmd", "dev"])).toBe(
      "REM Run this command to configure your shell: \n" +
        "REM \t@FOR /f \"tokens=*\" %i IN ('tsm env --shell cmd dev') DO @%i\n",
    );
  });

  it("tcsh (quoting the backquotes, see deviation note in usage-hint.ts)", () => {
    expect(usageHint("tcsh", ["tsm", "env", "--shell", "tcsh", "dev"])).toBe(
      `: Run this command to configure your shell: \n: eval "${BQ}tsm env --shell tcsh dev${BQ}"\n`,
    );
  });

  it("emacs", () => {
    expect(usageHint("emacs", ["tsm", "env", "--shell", "emacs", "dev"])).toBe(
      ";; Run this command to configure your shell: \n" +
        ';; (with-temp-buffer (shell-command "tsm env --shell emacs dev" (current-buffer)) (eval-buffer))\n',
    );
  });

  it("--shell=X counts as present", () => {
    expect(usageHint("fish", ["tsm", "env", "--shell=fish", "dev"])).toBe(`# ${INTRO}\n# eval (tsm env --shell=fish dev)\n`);
  });

  it("the -u variant is simply echoed, in every family", () => {
    expect(usageHint("posix", ["tsm", "env", "-u"])).toBe(`# ${INTRO}\n# eval "$(tsm env -u)"\n`);
    expect(usageHint("fish", ["tsm", "env", "--shell", "fish", "-u"])).toBe(`# ${INTRO}\n# eval (tsm env --shell fish -u)\n`);
    expect(usageHint("powershell", ["tsm", "env", "--unset", "--shell", "powershell"])).toBe(
      `# ${INTRO}\n# & tsm env --unset --shell powershell | Invoke-Expression\n`,
    );
    expect(usageHint("cmd", ["tsm", "env", "-u", "--shell", "cmd"])).toBe(
      `REM ${INTRO}\nREM \t@FOR /f "tokens=*" %i IN ('tsm env -u --shell cmd') DO @%i\n`,
    );
    expect(usageHint("tcsh", ["tsm", "env", "-u"])).toBe(`: ${INTRO}\n: eval "${BQ}tsm env --shell tcsh -u${BQ}"\n`);
    expect(usageHint("emacs", ["tsm", "env", "-u"])).toBe(
      `;; ${INTRO}\n;; (with-temp-buffer (shell-command "tsm env --shell emacs -u" (current-buffer)) (eval-buffer))\n`,
    );
  });
});

describe("usageHint: --shell inserted after env when the shell was detected", () => {
  const cases: Array<[ShellFamily, string]> = [
    ["fish", "# eval (tsm env --shell fish dev)\n"],
    ["powershell", "# & tsm env --shell powershell dev | Invoke-Expression\n"],
    ["cmd", "REM \t@FOR /f \"tokens=*\" %i IN ('tsm env --shell cmd dev') DO @%i\n"],
    ["tcsh", `: eval "${BQ}tsm env --shell tcsh dev${BQ}"\n`],
    ["emacs", ';; (with-temp-buffer (shell-command "tsm env --shell emacs dev" (current-buffer)) (eval-buffer))\n'],
  ];
  it.each(cases)("%s", (family, secondLine) => {
    expect(usageHint(family, ["tsm", "env", "dev"]).split("\n")[1] + "\n").toBe(secondLine);
  });

  it("goes after env, not after global flags before it", () => {
    expect(usageHint("fish", ["tsm", "--storage-path", "/s", "env", "dev"])).toBe(
      `# ${INTRO}\n# eval (tsm --storage-path /s env --shell fish dev)\n`,
    );
  });

  it("is appended when argv has no env word", () => {
    expect(usageHint("fish", ["tsm"])).toBe(`# ${INTRO}\n# eval (tsm --shell fish)\n`);
  });

  it("an empty argv is treated as [tsm]", () => {
    expect(usageHint("posix", [])).toBe(`# ${INTRO}\n# eval "$(tsm)"\n`);
  });

  it("does not modify the caller's argv", () => {
    const argv = ["tsm", "env", "dev"];
    usageHint("fish", argv);
    expect(argv).toEqual(["tsm", "env", "dev"]);
  });
});

describe("usageHint: argv[0] with a space or backslash is wrapped in \"...\" as Docker Machine did", () => {
  const unixPath = "/opt/my tools/tsm";
  const winPath = "C:\\Program Files\\tsm\\tsm.exe";

  it("posix", () => {
    expect(usageHint("posix", [unixPath, "env", "dev"])).toBe(`# ${INTRO}\n# eval "$("/opt/my tools/tsm" env dev)"\n`);
    expect(usageHint("posix", [winPath, "env", "dev"])).toBe(
      `# ${INTRO}\n# eval "$("C:\\Program Files\\tsm\\tsm.exe" env dev)"\n`,
    );
  });

  it("fish", () => {
    expect(usageHint("fish", [winPath, "env", "dev"])).toBe(
      `# ${INTRO}\n# eval ("C:\\Program Files\\tsm\\tsm.exe" env --shell fish dev)\n`,
    );
  });

  it("powershell", () => {
    expect(usageHint("powershell", [winPath, "env", "dev"])).toBe(
      `# ${INTRO}\n# & "C:\\Program Files\\tsm\\tsm.exe" env --shell powershell dev | Invoke-Expression\n`,
    );
  });

  it("cmd keeps Docker Machine's form where cmd /c keeps the quotes", () => {
    expect(usageHint("cmd", [winPath, "env", "dev"])).toBe(
      `REM ${INTRO}\nREM \t@FOR /f "tokens=*" %i IN ('"C:\\Program Files\\tsm\\tsm.exe" env --shell cmd dev') DO @%i\n`,
    );
  });

  it("cmd adds the outer quotes cmd /c strips, and carets, for (x86) paths", () => {
    expect(usageHint("cmd", ["C:\\Program Files (x86)\\tsm\\tsm.exe", "env", "dev"])).toBe(
      `REM ${INTRO}\nREM \t@FOR /f "tokens=*" %i IN ('""C:\\Program Files ^(x86^)\\tsm\\tsm.exe" env --shell cmd dev"') DO @%i\n`,
    );
  });

  it("cmd adds the outer quotes when a second argument is quoted too", () => {
    expect(usageHint("cmd", [winPath, "-s", "C:\\my store", "env", "dev"])).toBe(
      `REM ${INTRO}\nREM \t@FOR /f "tokens=*" %i IN ('""C:\\Program Files\\tsm\\tsm.exe" -s "C:\\my store" env --shell cmd dev"') DO @%i\n`,
    );
  });

  it("tcsh single-quotes it instead: csh cannot nest double quotes inside \"`...`\"", () => {
    expect(usageHint("tcsh", [unixPath, "env", "dev"])).toBe(`: ${INTRO}\n: eval "${BQ}'/opt/my tools/tsm' env --shell tcsh dev${BQ}"\n`);
    expect(usageHint("tcsh", [winPath, "env", "dev"])).toBe(
      `: ${INTRO}\n: eval "${BQ}'C:\\Program Files\\tsm\\tsm.exe' env --shell tcsh dev${BQ}"\n`,
    );
  });

  it("emacs escapes the quotes and backslashes for the Lisp string", () => {
    expect(usageHint("emacs", [winPath, "env", "dev"])).toBe(
      `;; ${INTRO}\n;; (with-temp-buffer (shell-command "\\"C:\\\\Program Files\\\\tsm\\\\tsm.exe\\" env --shell emacs dev" (current-buffer)) (eval-buffer))\n`,
    );
  });

  it("argv[0] that Docker Machine's double quotes would not protect is quoted for the shell", () => {
    expect(usageHint("posix", ["/opt/a$b c/tsm", "env"])).toBe(`# ${INTRO}\n# eval "$('/opt/a$b c/tsm' env)"\n`);
    expect(usageHint("posix", ["/opt/it's/tsm", "env"])).toBe(`# ${INTRO}\n# eval "$('/opt/it'\\''s/tsm' env)"\n`);
    expect(usageHint("posix", ["C:\\tools\\", "env"])).toBe(`# ${INTRO}\n# eval "$('C:\\tools\\' env)"\n`);
    expect(usageHint("fish", ["/opt/a$b c/tsm", "env"])).toBe(`# ${INTRO}\n# eval ('/opt/a$b c/tsm' env --shell fish)\n`);
    expect(usageHint("powershell", ["C:\\a$b\\tsm.exe", "env"])).toBe(
      `# ${INTRO}\n# & 'C:\\a$b\\tsm.exe' env --shell powershell | Invoke-Expression\n`,
    );
  });
});

describe("usageHint: arguments that are not plain words are quoted for the shell", () => {
  const store = "/home/ann/my machines";
  const hostile = `it's $HOME ${BQ}id${BQ} "q" !x %P%`;

  it("posix: single quotes, '\\'' for '", () => {
    expect(usageHint("posix", ["tsm", "-s", store, "env", "dev"])).toBe(
      `# ${INTRO}\n# eval "$(tsm -s '/home/ann/my machines' env dev)"\n`,
    );
    expect(usageHint("posix", ["tsm", "-s", hostile, "env", "dev"])).toBe(
      `# ${INTRO}\n# eval "$(tsm -s 'it'\\''s $HOME ${BQ}id${BQ} "q" !x %P%' env dev)"\n`,
    );
    expect(usageHint("posix", ["tsm", "-s", "", "env"])).toBe(`# ${INTRO}\n# eval "$(tsm -s '' env)"\n`);
  });

  it("posix: a control character keeps the hint on one line via $'...'", () => {
    expect(usageHint("posix", ["tsm", "-s", "a\nb'\\\x01", "env"])).toBe(
      `# ${INTRO}\n# eval "$(tsm -s $'a\\nb\\'\\\\\\x01' env)"\n`,
    );
  });

  it("fish: single quotes escaping \\ and ', control characters as escapes between them", () => {
    expect(usageHint("fish", ["tsm", "-s", hostile, "env", "dev"])).toBe(
      `# ${INTRO}\n# eval (tsm -s 'it\\'s $HOME ${BQ}id${BQ} "q" !x %P%' env --shell fish dev)\n`,
    );
    expect(usageHint("fish", ["tsm", "-s", "C:\\a\nb", "env"])).toBe(
      `# ${INTRO}\n# eval (tsm -s 'C:\\\\a'\\n'b' env --shell fish)\n`,
    );
  });

  it("powershell: single quotes doubling ' (and typographic ones); double quotes with backquote escapes for control characters", () => {
    expect(usageHint("powershell", ["tsm", "-s", hostile, "env", "dev"])).toBe(
      `# ${INTRO}\n# & tsm -s 'it''s $HOME ${BQ}id${BQ} "q" !x %P%' env --shell powershell dev | Invoke-Expression\n`,
    );
    expect(usageHint("powershell", ["tsm", "-s", "\u2018x\u2019", "env"])).toBe(
      `# ${INTRO}\n# & tsm -s '\u2018\u2018x\u2019\u2019' env --shell powershell | Invoke-Expression\n`,
    );
    expect(usageHint("powershell", ["tsm", "-s", 'a\n"$`\x01', "env"])).toBe(
      `# ${INTRO}\n# & tsm -s "a${BQ}n${BQ}"${BQ}$${BQ}${BQ}$([char]0x01)" env --shell powershell | Invoke-Expression\n`,
    );
    expect(usageHint("powershell", ["tsm", "--%", "a,b", "@x"])).toBe(
      `# ${INTRO}\n# & tsm '--%' 'a,b' '@x' --shell powershell | Invoke-Expression\n`,
    );
  });

  it("cmd: double quotes; \" % ! and control characters become ?; trailing backslashes doubled", () => {
    expect(usageHint("cmd", ["tsm", "-s", hostile, "env", "dev"])).toBe(
      `REM ${INTRO}\nREM \t@FOR /f "tokens=*" %i IN ('tsm -s "it's $HOME ${BQ}id${BQ} ?q? ?x ?P?" env --shell cmd dev') DO @%i\n`,
    );
    expect(usageHint("cmd", ["tsm", "-s", "C:\\a&b\\", "env", "dev"])).toBe(
      `REM ${INTRO}\nREM \t@FOR /f "tokens=*" %i IN ('tsm -s "C:\\a&b\\\\" env --shell cmd dev') DO @%i\n`,
    );
    expect(usageHint("cmd", ["tsm", "-s", "a\r\nb", "env"])).toBe(
      `REM ${INTRO}\nREM \t@FOR /f "tokens=*" %i IN ('tsm -s "a??b" env --shell cmd') DO @%i\n`,
    );
  });

  it("tcsh: single quotes, '\\!' outside them; \" $ backquote and control characters become ?", () => {
    expect(usageHint("tcsh", ["tsm", "-s", hostile, "env", "dev"])).toBe(
      `: ${INTRO}\n: eval "${BQ}tsm -s 'it'\\''s ?HOME ?id? ?q? '\\!'x %P%' env --shell tcsh dev${BQ}"\n`,
    );
    expect(usageHint("tcsh", ["tsm", "-s", "C:\\a&b\\", "env"])).toBe(
      `: ${INTRO}\n: eval "${BQ}tsm -s 'C:\\a&b'\\\\'' env --shell tcsh${BQ}"\n`,
    );
    expect(usageHint("tcsh", ["tsm", "-s", "a\nb", "env"])).toBe(`: ${INTRO}\n: eval "${BQ}tsm -s 'a?b' env --shell tcsh${BQ}"\n`);
  });

  it("emacs: quoted for the POSIX shell shell-command runs, then escaped for the Lisp string", () => {
    expect(usageHint("emacs", ["tsm", "-s", hostile, "env", "dev"])).toBe(
      `;; ${INTRO}\n;; (with-temp-buffer (shell-command "tsm -s 'it'\\\\''s $HOME ${BQ}id${BQ} \\"q\\" !x %P%' env --shell emacs dev" (current-buffer)) (eval-buffer))\n`,
    );
    expect(usageHint("emacs", ["tsm", "-s", "a\nb", "env"])).toBe(
      `;; ${INTRO}\n;; (with-temp-buffer (shell-command "tsm -s $'a\\\\nb' env --shell emacs" (current-buffer)) (eval-buffer))\n`,
    );
  });

  it.each<ShellFamily>(["posix", "fish", "powershell", "cmd", "tcsh", "emacs"])(
    "%s: never more than the two line breaks, whatever argv holds",
    (family) => {
      const nasty = ["/bin/x\ny", "env", "a\nb", "c\rd", "\u2028", "e\x00f", "--shell", family];
      const hint = usageHint(family, nasty);
      expect(hint.split("\n")).toHaveLength(3);
      expect(hint.endsWith("\n")).toBe(true);
      expect(hint).not.toMatch(/\r/);
    },
  );
});

// ---------------------------------------------------------------------------
// Real shells: the hint is inert when eval'd with the output, and the command
// it shows passes exactly the echoed arguments when run.
// ---------------------------------------------------------------------------

function hasShell(bin: string): boolean {
  const r = spawnSync(bin, ["-c", "exit 0"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

const workDir = mkdtempSync(join(tmpdir(), "tsm-usage-hint-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** A stand-in `tsm` in a directory with a space: records its arguments and prints one export. */
const fakeDir = join(workDir, "my tools");
mkdirSync(fakeDir);
const fakeTsm = join(fakeDir, "tsm");
const recordJs = join(workDir, "record.js");
writeFileSync(
  recordJs,
  "require('node:fs').appendFileSync(process.env.RECORD, JSON.stringify(process.argv.slice(2)) + '\\n');\n",
);
writeFileSync(fakeTsm, `#!/bin/sh\nexec '${process.execPath}' '${recordJs}' "$@"\n`);
chmodSync(fakeTsm, 0o755);

/** Arguments every shell's hint must pass through exactly (tcsh sanitises some, see below). */
const HOSTILE_ARGS = [
  "env",
  "--storage-path",
  `it's "q" $HOME $(touch pwned) ${BQ}touch pwned2${BQ} \\ !x %P% & | ; < > ( ) { } {a,b} * ? [a] ~ ~root`,
  "a  b",
  "",
  "C:\\dir\\",
  "dev",
];

let counter = 0;

/**
 * Runs the shell in a fresh empty cwd; returns the argv lists the fake tsm
 * recorded. With `mayFail` a non-zero exit is accepted (what matters then is
 * only that nothing ran).
 */
function runIn(bin: string, args: (file: string) => string[], script: string, mayFail = false): string[][] {
  counter += 1;
  const file = join(workDir, `script-${counter}.txt`);
  writeFileSync(file, script);
  const record = join(workDir, `record-${counter}.jsonl`);
  const cwd = mkdtempSync(join(workDir, "cwd-"));
  const home = mkdtempSync(join(workDir, "home-"));
  const result = spawnSync(bin, args(file), {
    cwd,
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: home, RECORD: record, LANG: "C.UTF-8" },
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
  });
  if (!mayFail) expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
  expect(readdirSync(cwd)).toEqual([]);
  if (!existsSync(record)) return [];
  return readFileSync(record, "utf8")
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as string[]);
}

/** The command part of the hint's second line, without the comment marker. */
function hintCommand(hint: string, marker: string): string {
  const line = hint.split("\n")[1] ?? "";
  expect(line.startsWith(marker)).toBe(true);
  return line.slice(marker.length);
}

const hasDash = hasShell("dash");
const posixShells: Array<[string, string, string[]]> = [
  ["bash", "bash", []],
  ["zsh", "zsh", ["-f"]],
];
for (const [label, bin, flags] of posixShells) {
  const available = hasShell(bin);
  describe.skipIf(!available)(`posix hint in real ${label}${available ? "" : ` [skipped: ${bin} not installed]`}`, () => {
    const argv = [fakeTsm, ...HOSTILE_ARGS, "nl\nx"];

    it("is inert when eval'd along with the output", () => {
      const recorded = runIn(bin, (file) => [...flags, "-c", 'eval "$(cat "$1")"', "sh", file], usageHint("posix", argv));
      expect(recorded).toEqual([]);
    });

    it("runs the fake tsm with exactly the echoed arguments", () => {
      const recorded = runIn(bin, (file) => [...flags, "-c", 'eval "$(cat "$1")"', "sh", file], hintCommand(usageHint("posix", argv), "# "));
      expect(recorded).toEqual([argv.slice(1)]);
    });
  });
}

describe.skipIf(!hasDash)(`posix hint in real dash (sh)${hasDash ? "" : " [skipped: dash not installed]"}`, () => {
  // dash 0.5.12 has no $'...', so the control-character argument is left out.
  const argv = [fakeTsm, ...HOSTILE_ARGS];
  it("is inert when eval'd and runs the fake tsm with exactly the echoed arguments", () => {
    expect(runIn("dash", (file) => ["-c", 'eval "$(cat "$1")"', "sh", file], usageHint("posix", argv))).toEqual([]);
    expect(runIn("dash", (file) => ["-c", 'eval "$(cat "$1")"', "sh", file], hintCommand(usageHint("posix", argv), "# "))).toEqual([
      argv.slice(1),
    ]);
  });
});

const hasBash = hasShell("bash");
describe.skipIf(!hasBash)(`emacs hint's shell command, run by bash as shell-command would${hasBash ? "" : " [skipped: bash not installed]"}`, () => {
  it("unescapes to a command passing exactly the echoed arguments", () => {
    const argv = [fakeTsm, ...HOSTILE_ARGS, "nl\nx"];
    const line = hintCommand(usageHint("emacs", argv), ";; ");
    const match = /^\(with-temp-buffer \(shell-command "((?:[^"\\]|\\.)*)" \(current-buffer\)\) \(eval-buffer\)\)$/.exec(line);
    expect(match).not.toBeNull();
    const command = (match?.[1] ?? "").replace(/\\(.)/g, "$1");
    expect(runIn("bash", (file) => [file], command)).toEqual([[...argv.slice(1, 2), "--shell", "emacs", ...argv.slice(2)]]);
  });
});

const hasFish = hasShell("fish");
describe.skipIf(!hasFish)(`fish hint in real fish${hasFish ? "" : " [skipped: fish not installed]"}`, () => {
  const argv = [fakeTsm, ...HOSTILE_ARGS, "nl\nx", "--shell", "fish"];

  it("is inert when eval'd along with the output", () => {
    expect(runIn("fish", (file) => ["-N", "-c", "eval (cat $argv[1])", file], usageHint("fish", argv))).toEqual([]);
  });

  it("runs the fake tsm with exactly the echoed arguments", () => {
    const recorded = runIn("fish", (file) => ["-N", "-c", "source $argv[1]", file], hintCommand(usageHint("fish", argv), "# "));
    expect(recorded).toEqual([argv.slice(1)]);
  });
});

for (const bin of ["tcsh", "csh"]) {
  const available = hasShell(bin);
  describe.skipIf(!available)(`tcsh hint in real ${bin}${available ? "" : ` [skipped: ${bin} not installed]`}`, () => {
    const argv = [fakeTsm, ...HOSTILE_ARGS, "nl\nx", "--shell", "tcsh"];
    // What tcsh's hint can carry: " $ backquote and control characters become ?.
    const sanitised = argv.slice(1).map((arg) => arg.replace(/["$`\x00-\x1f]/g, "?"));

    it("is inert when eval'd along with the output (quoted and Docker Machine's unquoted form)", () => {
      const hint = usageHint("tcsh", argv);
      expect(runIn(bin, (file) => ["-f", "-c", 'eval "`cat $1`"', file], hint)).toEqual([]);
      // Unquoted, csh tilde-expands `~root'` from the echoed argv and fails: harmless, and no longer the advice.
      expect(runIn(bin, (file) => ["-f", "-c", "eval `cat $1`", file], hint, true)).toEqual([]);
      expect(runIn(bin, (file) => ["-f", "-c", "source $1", file], hint)).toEqual([]);
    });

    it("runs the fake tsm with the echoed arguments, sanitised where csh cannot quote", () => {
      const command = hintCommand(usageHint("tcsh", argv), ": ");
      expect(runIn(bin, (file) => ["-f", file], `${command}\n`)).toEqual([sanitised]);
    });

    it("also when pasted into an interactive shell (history substitution on)", () => {
      const command = hintCommand(usageHint("tcsh", argv), ": ");
      counter += 1;
      const record = join(workDir, `record-interactive-${counter}.jsonl`);
      const cwd = mkdtempSync(join(workDir, "cwd-"));
      execFileSync(bin, ["-f", "-i"], {
        cwd,
        input: `${command}\nexit\n`,
        env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: cwd, RECORD: record },
        stdio: ["pipe", "pipe", "pipe"],
      });
      expect(readFileSync(record, "utf8")).toBe(`${JSON.stringify(sanitised)}\n`);
    });
  });
}
