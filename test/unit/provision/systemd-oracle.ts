/**
 * Two independent readings of what systemd makes of tsm's unit files:
 * 1. `systemdArgv` / `systemdEnvironment`: a small re-implementation of the rules
 *    in systemd.syntax(7), systemd.service(5) and systemd.exec(5), written for the
 *    tests without looking at src/provision/systemd-syntax.ts.
 * 2. `systemdTest`: systemd itself. `systemd --test --system` (refused as root, so
 *    run as nobody through setpriv) loads the units from SYSTEMD_UNIT_PATH and dumps
 *    each unit's parsed Environment= entries and ExecStart= command line.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** Specifiers: only "%%" is expected in tsm's output; anything else is a test failure. */
function expandSpecifiers(s: string): string {
  return s.replace(/%(.)/g, (_, c: string) => {
    if (c === "%") return "%";
    throw new Error(`unexpected specifier %${c} in ${s}`);
  });
}

const ESC: Record<string, string> = { n: "\n", t: "\t", "\\": "\\", '"': '"', "'": "'", s: " " };

/** Splits one line into items: quotes wrap whole items, C escapes inside and outside quotes. */
function unquoteItems(line: string): string[] {
  return unquoteItemsRaw(line).map((i) => i.value);
}

/** Items with whether they were quoted: only an unquoted ";" separates command lines. */
function unquoteItemsRaw(line: string): Array<{ value: string; quoted: boolean }> {
  const items: Array<{ value: string; quoted: boolean }> = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === " " || line[i] === "\t") i++;
    if (i >= line.length) break;
    let item = "";
    const q = line[i] === '"' || line[i] === "'" ? line[i] : undefined;
    if (q) i++;
    for (;;) {
      if (i >= line.length) {
        if (q) throw new Error(`unterminated quote in ${line}`);
        break;
      }
      const c = line[i]!;
      if (q && c === q) {
        i++;
        if (i < line.length && line[i] !== " " && line[i] !== "\t") throw new Error(`closing quote not followed by a space in ${line}`);
        break;
      }
      if (!q && (c === " " || c === "\t")) break;
      if (c === "\\") {
        const e = line[i + 1] ?? "";
        const v = ESC[e];
        if (v === undefined) throw new Error(`escape \\${e} outside systemd.syntax(7)'s table in ${line}`);
        item += v;
        i += 2;
        continue;
      }
      item += c;
      i++;
    }
    items.push({ value: item, quoted: q !== undefined });
  }
  return items;
}

/** The argv systemd execs for an ExecStart= value (specifiers, unquoting, then `$$` -> `$`; no other variables expected). */
export function systemdArgv(value: string): string[] {
  const raw = unquoteItemsRaw(expandSpecifiers(value));
  if (raw.some((w) => w.value === ";" && !w.quoted)) throw new Error(`unexpected command separator in ${value}`);
  return raw.map(({ value: w }) =>
    w.replace(/\$(\$|\{?[A-Za-z_])/g, (m, c: string) => {
      if (c === "$") return "$";
      throw new Error(`unexpected variable reference ${m} in ${w}`);
    }),
  );
}

/** The assignments of an Environment= value: unquoted items, then specifiers per item; `$` is literal. */
export function systemdEnvironment(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of unquoteItems(value)) {
    const expanded = expandSpecifiers(item);
    const eq = expanded.indexOf("=");
    out[expanded.slice(0, eq)] = expanded.slice(eq + 1);
  }
  return out;
}

export const SYSTEMD_BINARY = "/lib/systemd/systemd";

/** Why systemd itself cannot be asked here ([] when it can). */
export function systemdOracleMissing(): string[] {
  const missing: string[] = [];
  if (!existsSync(SYSTEMD_BINARY)) missing.push(`${SYSTEMD_BINARY} not found`);
  if (spawnSync("setpriv", ["--version"]).status !== 0) missing.push("setpriv not found");
  if (process.getuid?.() !== 0) missing.push("not running as root (setpriv must drop to nobody)");
  return missing;
}

/** Reverses systemd's display quoting of one command line (shell-style double quotes, backslash escapes). */
function parseDisplayedCommandLine(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === " ") i++;
    if (i >= line.length) break;
    let w = "";
    if (line[i] === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === "\\") i++;
        w += line[i];
        i++;
      }
      i++;
    } else {
      while (i < line.length && line[i] !== " ") {
        if (line[i] === "\\") i++;
        w += line[i];
        i++;
      }
    }
    words.push(w);
  }
  return words;
}

export interface SystemdView {
  environment: string[];
  /** The single ExecStart= command, as stored (before `$$` and variable expansion at exec time). */
  execStart: string[];
  dropIns: string[];
  /** systemd's complaints about the files ("<file>:<line>: ..."), e.g. unknown escape sequences. */
  warnings: string[];
}

/**
 * Loads `files` (path relative to a unit directory -> content) with systemd and
 * returns what it parsed for `unit`.
 */
export function systemdTest(files: Record<string, string>, unit: string): SystemdView {
  const dir = mkdtempSync(path.join(tmpdir(), "tsm-systemd-"));
  const home = mkdtempSync(path.join(tmpdir(), "tsm-systemd-home-"));
  try {
    chmodSync(dir, 0o755);
    spawnSync("chown", ["nobody", home]);
    for (const [rel, content] of Object.entries(files)) {
      const p = path.join(dir, rel);
      mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
      chmodSync(path.dirname(p), 0o755);
      writeFileSync(p, content, { mode: 0o644 });
    }
    const r = spawnSync(
      "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", SYSTEMD_BINARY, "--test", "--system", `--unit=${unit}`, "--no-pager"],
      {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, XDG_RUNTIME_DIR: home, SYSTEMD_UNIT_PATH: `${dir}:` },
        encoding: "utf8",
        timeout: 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    const out = `${r.stdout}${r.stderr}`;
    const lines = out.split("\n");
    const start = lines.findIndex((l) => l.trim() === `-> Unit ${unit}:`);
    if (start < 0) throw new Error(`systemd --test did not dump ${unit} (status ${r.status}):\n${out.slice(-2000)}`);
    let end = lines.findIndex((l, i) => i > start && /^\s*-> (Unit|Job) /.test(l));
    if (end < 0) end = lines.length;
    const section = lines.slice(start, end);
    const environment = section.filter((l) => /^\s*Environment: /.test(l)).map((l) => l.replace(/^\s*Environment: /, ""));
    const dropIns = section.filter((l) => /^\s*DropIn Path: /.test(l)).map((l) => l.replace(/^\s*DropIn Path: /, ""));
    const execIdx = section.findIndex((l) => l.trim() === "-> ExecStart:");
    const commands: string[][] = [];
    for (let i = execIdx + 1; execIdx >= 0 && i < section.length && !/^\s*-> /.test(section[i]!); i++) {
      const m = /^\s*Command Line: (.*)$/.exec(section[i]!);
      if (m) commands.push(parseDisplayedCommandLine(m[1]!));
    }
    if (commands.length !== 1) throw new Error(`expected one ExecStart command, systemd shows ${commands.length}:\n${section.join("\n")}`);
    const warnings = lines.filter((l) => l.includes(`${dir}/`) && /:\d+: /.test(l));
    return { environment, execStart: commands[0]!, dropIns, warnings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
}

/** `$$` -> `$`, which systemd does when it execs the command. */
export function execTimeDollars(argv: readonly string[]): string[] {
  return argv.map((a) => a.replace(/\$\$/g, "$"));
}

export function readFixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
}
