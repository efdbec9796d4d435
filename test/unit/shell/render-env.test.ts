import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import type { ShellFamily } from "../../../src/shell/detect.js";
import { renderSet, renderUnset, type EnvVar } from "../../../src/shell/render-env.js";

const BQ = "`";

/** Docker Machine's own example (reference §2.1), which plain values must reproduce byte for byte. */
const DM_VARS: EnvVar[] = [
  { name: "DOCKER_TLS_VERIFY", value: "1" },
  { name: "DOCKER_HOST", value: "tcp://127.0.0.1:12376" },
  { name: "DOCKER_CERT_PATH", value: "/home/u/.docker/machine/machines/default" },
  { name: "DOCKER_MACHINE_NAME", value: "default" },
];
const DM_NAMES = DM_VARS.map((v) => v.name);

/** Every hostile ingredient from the brief in one value; `touch` targets are relative to the eval's cwd. */
const HOSTILE =
  `sp ace "dq" 'sq' $HOME $(touch pwned) ${BQ}touch pwned2${BQ} back\\slash ! %PATH% & | < > ^ ; ( )\nline2`;

describe("renderSet: plain values, byte-identical to Docker Machine 0.16.2", () => {
  it("posix reproduces the reference's full bash example", () => {
    expect(renderSet("posix", DM_VARS)).toBe(
      'export DOCKER_TLS_VERIFY="1"\n' +
        'export DOCKER_HOST="tcp://127.0.0.1:12376"\n' +
        'export DOCKER_CERT_PATH="/home/u/.docker/machine/machines/default"\n' +
        'export DOCKER_MACHINE_NAME="default"\n',
    );
  });

  it("fish", () => {
    expect(renderSet("fish", DM_VARS)).toBe(
      'set -gx DOCKER_TLS_VERIFY "1";\n' +
        'set -gx DOCKER_HOST "tcp://127.0.0.1:12376";\n' +
        'set -gx DOCKER_CERT_PATH "/home/u/.docker/machine/machines/default";\n' +
        'set -gx DOCKER_MACHINE_NAME "default";\n',
    );
  });

  it("powershell", () => {
    expect(renderSet("powershell", DM_VARS)).toBe(
      '$Env:DOCKER_TLS_VERIFY = "1"\n' +
        '$Env:DOCKER_HOST = "tcp://127.0.0.1:12376"\n' +
        '$Env:DOCKER_CERT_PATH = "/home/u/.docker/machine/machines/default"\n' +
        '$Env:DOCKER_MACHINE_NAME = "default"\n',
    );
  });

  it("cmd", () => {
    expect(renderSet("cmd", DM_VARS)).toBe(
      "SET DOCKER_TLS_VERIFY=1\n" +
        "SET DOCKER_HOST=tcp://127.0.0.1:12376\n" +
        "SET DOCKER_CERT_PATH=/home/u/.docker/machine/machines/default\n" +
        "SET DOCKER_MACHINE_NAME=default\n",
    );
  });

  it("tcsh", () => {
    expect(renderSet("tcsh", DM_VARS)).toBe(
      'setenv DOCKER_TLS_VERIFY "1";\n' +
        'setenv DOCKER_HOST "tcp://127.0.0.1:12376";\n' +
        'setenv DOCKER_CERT_PATH "/home/u/.docker/machine/machines/default";\n' +
        'setenv DOCKER_MACHINE_NAME "default";\n',
    );
  });

  it("emacs", () => {
    expect(renderSet("emacs", DM_VARS)).toBe(
      '(setenv "DOCKER_TLS_VERIFY" "1")\n' +
        '(setenv "DOCKER_HOST" "tcp://127.0.0.1:12376")\n' +
        '(setenv "DOCKER_CERT_PATH" "/home/u/.docker/machine/machines/default")\n' +
        '(setenv "DOCKER_MACHINE_NAME" "default")\n',
    );
  });

  it("Windows cert paths keep Docker Machine's text in every family that can hold them", () => {
    const v = [{ name: "DOCKER_CERT_PATH", value: "C:\\Users\\ann\\.docker\\machine\\machines\\default" }];
    expect(renderSet("cmd", v)).toBe("SET DOCKER_CERT_PATH=C:\\Users\\ann\\.docker\\machine\\machines\\default\n");
    expect(renderSet("powershell", v)).toBe(
      '$Env:DOCKER_CERT_PATH = "C:\\Users\\ann\\.docker\\machine\\machines\\default"\n',
    );
  });

  it("a store path with a single space keeps Docker Machine's double-quoted form (posix, fish, powershell, tcsh)", () => {
    const v = [{ name: "DOCKER_CERT_PATH", value: "/Users/John Smith/.docker/machine/machines/dev" }];
    expect(renderSet("posix", v)).toBe('export DOCKER_CERT_PATH="/Users/John Smith/.docker/machine/machines/dev"\n');
    expect(renderSet("fish", v)).toBe('set -gx DOCKER_CERT_PATH "/Users/John Smith/.docker/machine/machines/dev";\n');
    expect(renderSet("powershell", v)).toBe('$Env:DOCKER_CERT_PATH = "/Users/John Smith/.docker/machine/machines/dev"\n');
    expect(renderSet("tcsh", v)).toBe('setenv DOCKER_CERT_PATH "/Users/John Smith/.docker/machine/machines/dev";\n');
  });

  it("renders nothing for no variables", () => {
    expect(renderSet("posix", [])).toBe("");
    expect(renderUnset("cmd", [])).toBe("");
  });

  it("empty values", () => {
    const v = [{ name: "E", value: "" }];
    expect(renderSet("posix", v)).toBe('export E=""\n');
    expect(renderSet("fish", v)).toBe('set -gx E "";\n');
    expect(renderSet("powershell", v)).toBe('$Env:E = ""\n');
    expect(renderSet("cmd", v)).toBe("SET E=\n");
    expect(renderSet("tcsh", v)).toBe('setenv E "";\n');
    expect(renderSet("emacs", v)).toBe('(setenv "E" "")\n');
  });
});

describe("renderUnset: Docker Machine's unset lines", () => {
  const cases: Array<[ShellFamily, string]> = [
    ["posix", "unset DOCKER_TLS_VERIFY\nunset DOCKER_HOST\nunset DOCKER_CERT_PATH\nunset DOCKER_MACHINE_NAME\n"],
    ["fish", "set -e DOCKER_TLS_VERIFY;\nset -e DOCKER_HOST;\nset -e DOCKER_CERT_PATH;\nset -e DOCKER_MACHINE_NAME;\n"],
    [
      "powershell",
      "Remove-Item Env:\\\\DOCKER_TLS_VERIFY\nRemove-Item Env:\\\\DOCKER_HOST\n" +
        "Remove-Item Env:\\\\DOCKER_CERT_PATH\nRemove-Item Env:\\\\DOCKER_MACHINE_NAME\n",
    ],
    ["cmd", "SET DOCKER_TLS_VERIFY=\nSET DOCKER_HOST=\nSET DOCKER_CERT_PATH=\nSET DOCKER_MACHINE_NAME=\n"],
    ["tcsh", "unsetenv DOCKER_TLS_VERIFY;\nunsetenv DOCKER_HOST;\nunsetenv DOCKER_CERT_PATH;\nunsetenv DOCKER_MACHINE_NAME;\n"],
    [
      "emacs",
      '(setenv "DOCKER_TLS_VERIFY" nil)\n(setenv "DOCKER_HOST" nil)\n' +
        '(setenv "DOCKER_CERT_PATH" nil)\n(setenv "DOCKER_MACHINE_NAME" nil)\n',
    ],
  ];
  it.each(cases)("%s", (family, expected) => {
    expect(renderUnset(family, DM_NAMES)).toBe(expected);
  });

  it("powershell prints exactly two backslashes", () => {
    expect(renderUnset("powershell", ["NO_PROXY"])).toBe(String.raw`Remove-Item Env:\\NO_PROXY` + "\n");
  });
});

describe("hostile values: exact escaped text", () => {
  const v = (value: string): EnvVar[] => [{ name: "V", value }];

  it("posix escapes \\ \" $ and backquote inside double quotes and keeps a newline inside them", () => {
    expect(renderSet("posix", v(HOSTILE))).toBe(
      String.raw`export V="sp ace \"dq\" 'sq' \$HOME \$(touch pwned) \`touch pwned2\` back\\slash ! %PATH% & | < > ^ ; ( )` +
        '\nline2"\n',
    );
    expect(renderSet("posix", v("$(touch /tmp/pwned)"))).toBe('export V="\\$(touch /tmp/pwned)"\n');
  });

  it("fish escapes \\ \" $ and writes line breaks as unquoted \\n / \\r", () => {
    expect(renderSet("fish", v(HOSTILE))).toBe(
      String.raw`set -gx V "sp ace \"dq\" 'sq' \$HOME \$(touch pwned) ${BQ}touch pwned2${BQ} back\\slash ! %PATH% & | < > ^ ; ( )"\n"line2";` +
        "\n",
    );
    expect(renderSet("fish", v("a\r\nb"))).toBe('set -gx V "a"\\r""\\n"b";\n');
  });

  it("powershell escapes backquote, \" (also typographic) and $ with a backquote, and line breaks as `n / `r", () => {
    expect(renderSet("powershell", v(HOSTILE))).toBe(
      `$Env:V = "sp ace ${BQ}"dq${BQ}" 'sq' ${BQ}$HOME ${BQ}$(touch pwned) ${BQ}${BQ}touch pwned2${BQ}${BQ} back\\slash ! %PATH% & | < > ^ ; ( )${BQ}nline2"\n`,
    );
    expect(renderSet("powershell", v("\u201Cx\u201D\u201E\r\n"))).toBe(
      `$Env:V = "${BQ}\u201Cx${BQ}\u201D${BQ}\u201E${BQ}r${BQ}n"\n`,
    );
  });

  it("cmd uses SET \"NAME=value\" for spaces and & | < > ^ ( )", () => {
    const value = `sp ace 'sq' $HOME $(touch pwned) ${BQ}x${BQ} back\\slash & | < > ^ ; ( )`;
    expect(renderSet("cmd", v(value))).toBe(`SET "V=${value}"\n`);
    expect(renderSet("cmd", v("a&b"))).toBe('SET "V=a&b"\n');
    expect(renderSet("cmd", v("tab\there"))).toBe('SET "V=tab\there"\n');
    expect(renderSet("cmd", v("a;b,c=d"))).toBe("SET V=a;b,c=d\n");
  });

  it("cmd refuses what it cannot take literally, naming the variable and the character", () => {
    const msg = (what: string): string =>
      `Cannot write V for cmd: its value contains ${what}, which cmd cannot take literally; use --shell powershell (or another shell) instead`;
    expect(() => renderSet("cmd", v(HOSTILE))).toThrow(new Error(msg('a double quote (")')));
    expect(() => renderSet("cmd", v("%PATH%"))).toThrow(new Error(msg("a percent sign (%)")));
    expect(() => renderSet("cmd", v("hi!"))).toThrow(new Error(msg("an exclamation mark (!)")));
    expect(() => renderSet("cmd", v("a\nb"))).toThrow(new Error(msg("a newline")));
    expect(() => renderSet("cmd", v("a\rb"))).toThrow(new Error(msg("a carriage return")));
  });

  it("tcsh switches to single quotes: '\\'' for ', \\! for !, backslash-newline", () => {
    expect(renderSet("tcsh", v(HOSTILE))).toBe(
      `setenv V 'sp ace "dq" '\\''sq'\\'' $HOME $(touch pwned) ${BQ}touch pwned2${BQ} back\\slash \\! %PATH% & | < > ^ ; ( )\\\nline2';\n`,
    );
    // Characters that mean nothing inside csh double quotes keep Docker Machine's form.
    expect(renderSet("tcsh", v("it's a & b | (c) %PATH% *"))).toBe(`setenv V "it's a & b | (c) %PATH% *";\n`);
    expect(renderSet("tcsh", v("$HOME"))).toBe("setenv V '$HOME';\n");
  });

  it("tcsh moves a backslash outside the quotes only where backslash_quote could pair it", () => {
    // String.raw: every backslash below is a literal one.
    expect(renderSet("tcsh", v(String.raw`C:\Users\ann\.docker`))).toBe(String.raw`setenv V 'C:\Users\ann\.docker';` + "\n");
    expect(renderSet("tcsh", v("dir\\"))).toBe(String.raw`setenv V 'dir'\\'';` + "\n");
    expect(renderSet("tcsh", v(String.raw`a\\b`))).toBe(String.raw`setenv V 'a'\\'\b';` + "\n");
    expect(renderSet("tcsh", v(String.raw`\'`))).toBe(String.raw`setenv V ''\\''\''';` + "\n");
    expect(renderSet("tcsh", v(String.raw`\$`))).toBe(String.raw`setenv V ''\\'$';` + "\n");
    expect(renderSet("tcsh", v(String.raw`\"`))).toBe(String.raw`setenv V ''\\'"';` + "\n");
    expect(renderSet("tcsh", v(String.raw`\!`))).toBe(String.raw`setenv V ''\\'\!';` + "\n");
    expect(renderSet("tcsh", v("\\\n"))).toBe(String.raw`setenv V ''\\'` + "\\\n';\n");
  });

  it("emacs escapes only \\ and \"", () => {
    expect(renderSet("emacs", v(HOSTILE))).toBe(
      `(setenv "V" "sp ace \\"dq\\" 'sq' $HOME $(touch pwned) ${BQ}touch pwned2${BQ} back\\\\slash ! %PATH% & | < > ^ ; ( )\nline2")\n`,
    );
  });
});

describe("validation", () => {
  const families: ShellFamily[] = ["posix", "fish", "powershell", "cmd", "tcsh", "emacs"];

  it.each(families)("%s rejects names outside [A-Za-z_][A-Za-z0-9_]*", (family) => {
    for (const name of ["", "1A", "A-B", "A B", "A;rm -rf /", "A=B", "É", "A\nB"]) {
      const expected = new Error(
        `Invalid environment variable name ${JSON.stringify(name)}: expected [A-Za-z_][A-Za-z0-9_]*`,
      );
      expect(() => renderSet(family, [{ name, value: "x" }])).toThrow(expected);
      expect(() => renderUnset(family, [name])).toThrow(expected);
    }
  });

  it.each(families)("%s accepts _ and mixed case names", (family) => {
    expect(() => renderSet(family, [{ name: "_a_B9", value: "x" }])).not.toThrow();
  });

  it.each(families)("%s rejects a NUL in a value", (family) => {
    expect(() => renderSet(family, [{ name: "V", value: "a\0b" }])).toThrow(
      new Error("Cannot set V: its value contains a NUL character, which no environment variable can hold"),
    );
  });

  it("fails before printing anything when a later variable is bad", () => {
    expect(() => renderSet("posix", [{ name: "OK", value: "1" }, { name: "bad-name", value: "2" }])).toThrow();
  });
});

// ---------------------------------------------------------------------------
// Real shells: eval the rendered text and read the environment back.
// ---------------------------------------------------------------------------

function hasShell(bin: string): boolean {
  const r = spawnSync(bin, ["-c", "exit 0"], { stdio: "ignore" });
  return r.error === undefined && r.status === 0;
}

/** Values every shell must carry byte-exact through its eval, executing nothing. */
const ROUND_TRIP: Record<string, string> = {
  HOSTILE,
  PLAIN: "tcp://127.0.0.1:12376",
  SPACE_RUN: "a  b   c",
  TAB: "a\tb",
  LEADING_DASH: "-n",
  GLOB: "* ? [a] {a,b} ~",
  DOLLARS: "$HOME ${HOME} $1 $$ $? $ \\$",
  SUBST: "$(touch pwned3)",
  BACKQUOTE: `${BQ}touch pwned4${BQ}`,
  BACKSLASHES: "\\ \\\\ a\\",
  TRAILING_BACKSLASH: "C:\\dir\\",
  QUOTES: `' " '' "" \\' \\" ''' """`,
  BANG: "! !! !$ !-1 a!b \\!",
  PERCENT: "%PATH% %%",
  CMD_SPECIALS: "a&b|c<d>e^f;g(h)",
  SMART_QUOTES: "\u201Cx\u201D \u2018y\u2019 \u201E",
  UNICODE: "日本語 ü",
  EMPTY: "",
  NEWLINE: "line1\nline2",
  TRAILING_NEWLINE: "x\n",
  CRLF: "a\r\nb",
  CR: "a\rb",
  BACKSLASH_NEWLINE: "a\\\nb",
  WINDOWS_PATH: String.raw`C:\Users\ann\.docker\machine\machines\default`,
};
const HAS_LINE_BREAK = (value: string): boolean => /[\n\r]/.test(value);

const workDir = mkdtempSync(join(tmpdir(), "tsm-render-env-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const dumpJs = join(workDir, "dump.js");
// The marker lets interactive shells print prompts before the dump.
const MARKER = "@@tsm-env@@";
writeFileSync(dumpJs, `process.stdout.write(${JSON.stringify(MARKER)} + JSON.stringify(process.env));\n`);

let scriptCounter = 0;

/**
 * Runs `runner(file)` in a fresh empty directory (so `touch` payloads would
 * land there), returns the child's environment after the eval and asserts
 * that the directory is still empty.
 */
function evalIn(
  script: string,
  bin: string,
  args: (file: string) => string[],
  input?: string,
): Record<string, string> {
  scriptCounter += 1;
  const file = join(workDir, `script-${scriptCounter}.txt`);
  writeFileSync(file, script);
  const cwd = mkdtempSync(join(workDir, "cwd-"));
  // HOME is elsewhere: fish creates its config directories there.
  const home = mkdtempSync(join(workDir, "home-"));
  const out = execFileSync(bin, args(file), {
    cwd,
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: home, LANG: "C.UTF-8" },
    encoding: "utf8",
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    ...(input === undefined ? {} : { input }),
  });
  expect(readdirSync(cwd)).toEqual([]);
  return JSON.parse(out.slice(out.indexOf(MARKER) + MARKER.length)) as Record<string, string>;
}

function varsFor(values: Record<string, string>): EnvVar[] {
  return Object.entries(values).map(([name, value]) => ({ name: `T_${name}`, value }));
}

function expectRoundTrip(got: Record<string, string>, values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) {
    expect({ name, value: got[`T_${name}`] }).toEqual({ name, value });
  }
}

const node = process.execPath;

const posixShells: Array<[string, string]> = [
  ["bash", "bash"],
  ["dash (sh)", "dash"],
  ["zsh", "zsh"],
];

for (const [label, bin] of posixShells) {
  const available = hasShell(bin);
  describe.skipIf(!available)(`posix output in real ${label}${available ? "" : ` [skipped: ${bin} not installed]`}`, () => {
    const zshArgs = bin === "zsh" ? ["-f"] : [];

    it('eval "$(cat file)" round-trips every value and runs nothing', () => {
      const got = evalIn(renderSet("posix", varsFor(ROUND_TRIP)), bin, (file) => [
        ...zshArgs,
        "-c",
        'eval "$(cat "$1")"; exec "$2" "$3"',
        "sh",
        file,
        node,
        dumpJs,
      ]);
      expectRoundTrip(got, ROUND_TRIP);
    });

    it(". file (source) round-trips every value and runs nothing", () => {
      const got = evalIn(renderSet("posix", varsFor(ROUND_TRIP)), bin, (file) => [
        ...zshArgs,
        "-c",
        '. "$1"; exec "$2" "$3"',
        "sh",
        file,
        node,
        dumpJs,
      ]);
      expectRoundTrip(got, ROUND_TRIP);
    });

    it("Docker Machine's unquoted eval $(...) runs nothing, and keeps values without whitespace runs or line breaks", () => {
      // Word splitting collapses runs of whitespace there (one reason tsm's
      // hint quotes it), so only the other values are compared.
      const safe = Object.fromEntries(
        Object.entries(ROUND_TRIP).filter(([, value]) => !/\s\s|[\n\r\t]|^\s|\s$|[*?[]/.test(value)),
      );
      const got = evalIn(renderSet("posix", varsFor(ROUND_TRIP)), bin, (file) => [
        ...zshArgs,
        "-c",
        'eval $(cat "$1"); exec "$2" "$3"',
        "sh",
        file,
        node,
        dumpJs,
      ]);
      expectRoundTrip(got, safe);
      expect(got["T_PLAIN"]).toBe("tcp://127.0.0.1:12376");
    });

    it("unset lines remove the variables", () => {
      const script = renderSet("posix", varsFor({ A: "1", B: "2" })) + renderUnset("posix", ["T_A"]);
      const got = evalIn(script, bin, (file) => [...zshArgs, "-c", 'eval "$(cat "$1")"; exec "$2" "$3"', "sh", file, node, dumpJs]);
      expect(got["T_A"]).toBeUndefined();
      expect(got["T_B"]).toBe("2");
    });
  });
}

const hasFish = hasShell("fish");
describe.skipIf(!hasFish)(`fish output in real fish${hasFish ? "" : " [skipped: fish not installed]"}`, () => {
  it("eval (cat file) round-trips every value, line breaks included, and runs nothing", () => {
    const got = evalIn(renderSet("fish", varsFor(ROUND_TRIP)), "fish", (file) => [
      "-N",
      "-c",
      "eval (cat $argv[1]); exec $argv[2] $argv[3]",
      file,
      node,
      dumpJs,
    ]);
    expectRoundTrip(got, ROUND_TRIP);
  });

  it("source file round-trips every value and runs nothing", () => {
    const got = evalIn(renderSet("fish", varsFor(ROUND_TRIP)), "fish", (file) => [
      "-N",
      "-c",
      "source $argv[1]; exec $argv[2] $argv[3]",
      file,
      node,
      dumpJs,
    ]);
    expectRoundTrip(got, ROUND_TRIP);
  });

  it("unset lines remove the variables", () => {
    const script = renderSet("fish", varsFor({ A: "1", B: "2" })) + renderUnset("fish", ["T_A"]);
    const got = evalIn(script, "fish", (file) => ["-N", "-c", "eval (cat $argv[1]); exec $argv[2] $argv[3]", file, node, dumpJs]);
    expect(got["T_A"]).toBeUndefined();
    expect(got["T_B"]).toBe("2");
  });
});

const cshShells: Array<[string, string]> = [
  ["tcsh", "tcsh"],
  ["csh", "csh"],
];
for (const [label, bin] of cshShells) {
  const available = hasShell(bin);
  describe.skipIf(!available)(`tcsh output in real ${label}${available ? "" : ` [skipped: ${bin} not installed]`}`, () => {
    // csh splits backquote output at newlines, so a value with a line break can
    // only arrive through `source`; everything else must survive eval too.
    const noBreaks = Object.fromEntries(Object.entries(ROUND_TRIP).filter(([, value]) => !HAS_LINE_BREAK(value)));
    const withBreaks = Object.fromEntries(Object.entries(ROUND_TRIP).filter(([, value]) => HAS_LINE_BREAK(value)));

    it("source file round-trips every value, newlines included, and runs nothing", () => {
      const values = { ...noBreaks, ...withBreaks };
      const got = evalIn(renderSet("tcsh", varsFor(values)), bin, (file) => [
        "-f",
        "-c",
        "source $1; exec $2 $3",
        file,
        node,
        dumpJs,
      ]);
      expectRoundTrip(got, values);
    });

    it('eval "`cat file`" round-trips every value without a line break and runs nothing', () => {
      const got = evalIn(renderSet("tcsh", varsFor(noBreaks)), bin, (file) => [
        "-f",
        "-c",
        'eval "`cat $1`"; exec $2 $3',
        file,
        node,
        dumpJs,
      ]);
      expectRoundTrip(got, noBreaks);
    });

    it("Docker Machine's unquoted eval `cat file` still works for values without whitespace runs, globs, braces or ~", () => {
      // Unquoted, csh splits, globs and brace-expands the output before eval
      // (one reason tsm's hint quotes it), so only such values are fed here.
      const safe = Object.fromEntries(Object.entries(noBreaks).filter(([, value]) => !/\s\s|\t|^\s|\s$|[*?[{~]/.test(value)));
      const got = evalIn(renderSet("tcsh", varsFor(safe)), bin, (file) => [
        "-f",
        "-c",
        "eval `cat $1`; exec $2 $3",
        file,
        node,
        dumpJs,
      ]);
      expectRoundTrip(got, safe);
    });

    it("interactive source (history substitution on) keeps ! and runs nothing", () => {
      const values = { BANG: ROUND_TRIP["BANG"] ?? "", HOSTILE };
      scriptCounter += 1;
      const rendered = join(workDir, `tcsh-interactive-${scriptCounter}.txt`);
      writeFileSync(rendered, renderSet("tcsh", varsFor(values)));
      const got = evalIn("", bin, () => ["-f", "-i"], `source ${rendered}\nexec ${node} ${dumpJs}\n`);
      expectRoundTrip(got, values);
    });

    it("with backslash_quote set, source and eval still round-trip every value", () => {
      const all = { ...noBreaks, ...withBreaks };
      const bySource = evalIn(renderSet("tcsh", varsFor(all)), bin, (file) => [
        "-f",
        "-c",
        "set backslash_quote; source $1; exec $2 $3",
        file,
        node,
        dumpJs,
      ]);
      expectRoundTrip(bySource, all);
      const byEval = evalIn(renderSet("tcsh", varsFor(noBreaks)), bin, (file) => [
        "-f",
        "-c",
        'set backslash_quote; eval "`cat $1`"; exec $2 $3',
        file,
        node,
        dumpJs,
      ]);
      expectRoundTrip(byEval, noBreaks);
    });

    it("unset lines remove the variables", () => {
      const script = renderSet("tcsh", varsFor({ A: "1", B: "2" })) + renderUnset("tcsh", ["T_A"]);
      const got = evalIn(script, bin, (file) => ["-f", "-c", 'eval "`cat $1`"; exec $2 $3', file, node, dumpJs]);
      expect(got["T_A"]).toBeUndefined();
      expect(got["T_B"]).toBe("2");
    });
  });
}
