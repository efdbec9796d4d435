/**
 * A table fake for the provisioner's `Remote`: each command is matched against a
 * list of rules; the call, its unwrapped script and its stdin are recorded; an
 * unexpected command throws AND is remembered in `unexpected`, so a test fails
 * even when the code under test swallows the error (engineLogTail does).
 */
import type { Remote, RunOptions, RunResult } from "../../../src/provision/remote.js";

export interface FakeCall {
  /** The command line exactly as sent. */
  command: string;
  /** Sent through `sudo -n sh -c`. */
  sudo: boolean;
  /** The step id from the script's "# tsm: <id>" line ("" for a command that is not a wrapped script). */
  step: string;
  /** The script without the tag and PATH lines (the command itself when not wrapped). */
  script: string;
  input?: string;
  timeoutMs?: number;
}

export interface FakeRule {
  /** A step id ("probe", "restart"...) or the exact command; a RegExp is tested against the script. */
  match: RegExp | string;
  result?: Partial<RunResult> | ((call: FakeCall) => Partial<RunResult>);
  /** Reject instead of resolving (a dropped connection). */
  reject?: Error;
  /** Used once, then removed (a later rule for the same step answers the next call). */
  once?: boolean;
}

/** Reverses POSIX single-quote quoting of a whole word: 'a'\''b' -> a'b. */
export function shUnquote(word: string): string {
  let out = "";
  let i = 0;
  while (i < word.length) {
    if (word[i] === "'") {
      const end = word.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in ${word}`);
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (word[i] === "\\") {
      out += word[i + 1];
      i += 2;
    } else {
      throw new Error(`unexpected ${JSON.stringify(word[i])} in quoted word ${word}`);
    }
  }
  return out;
}

const WRAPPED = /^(sudo -n )?sh -c ('.*')$/s;
const PRELUDE = 'PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"; export PATH';

export function parseCommand(command: string): Omit<FakeCall, "input" | "timeoutMs"> {
  const m = WRAPPED.exec(command);
  if (!m) return { command, sudo: false, step: "", script: command };
  const body = shUnquote(m[2]!);
  const lines = body.split("\n");
  const tag = /^# tsm: (\S+)$/.exec(lines[0] ?? "");
  if (!tag) throw new Error(`wrapped script without a "# tsm: <step>" tag:\n${body}`);
  if (lines[1] !== PRELUDE) throw new Error(`wrapped script without the PATH prelude:\n${body}`);
  return { command, sudo: m[1] !== undefined, step: tag[1]!, script: lines.slice(2).join("\n") };
}

export class FakeRemote implements Remote {
  readonly calls: FakeCall[] = [];
  readonly unexpected: string[] = [];
  private readonly rules: FakeRule[];

  constructor(
    rules: FakeRule[],
    readonly isRoot = true,
  ) {
    this.rules = [...rules];
  }

  async run(command: string, options: RunOptions = {}): Promise<RunResult> {
    const call: FakeCall = {
      ...parseCommand(command),
      ...(options.input !== undefined ? { input: options.input.toString() } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    };
    this.calls.push(call);
    const idx = this.rules.findIndex((r) =>
      typeof r.match === "string" ? r.match === call.step || r.match === command : r.match.test(call.script),
    );
    if (idx < 0) {
      const msg = `FakeRemote: unexpected command (step "${call.step}", sudo ${call.sudo}):\n${call.script}`;
      this.unexpected.push(msg);
      throw new Error(msg);
    }
    const rule = this.rules[idx]!;
    if (rule.once) this.rules.splice(idx, 1);
    if (rule.reject) throw rule.reject;
    const r = typeof rule.result === "function" ? rule.result(call) : (rule.result ?? {});
    return { stdout: r.stdout ?? "", stderr: r.stderr ?? "", exitCode: r.exitCode ?? 0 };
  }

  /** The step ids in call order ("" for unwrapped commands shown as the command). */
  steps(): string[] {
    return this.calls.map((c) => c.step || c.command);
  }

  callsFor(step: string): FakeCall[] {
    return this.calls.filter((c) => c.step === step);
  }
}

/** Probe output in the probe script's wire format (what a host with these facts prints). */
export interface ProbeFacts {
  osRelease?: string;
  init?: "systemd" | "openrc" | "unknown";
  dockerd?: string;
  nodename?: string;
  hostname?: string;
  hosts?: string;
  daemonJson?: string;
  dockerService?: string;
  dockerSocket?: boolean;
  confd?: string;
  initd?: boolean;
}

export function probeOutput(f: ProbeFacts): string {
  const out: string[] = [];
  const b64 = (name: string, text: string | undefined): void => {
    if (text === undefined) return;
    out.push(`@@tsm@@ ${name}`);
    // base64(1) wraps at 76 columns; the parser must not care.
    const enc = Buffer.from(text).toString("base64");
    for (let i = 0; i < enc.length; i += 76) out.push(enc.slice(i, i + 76));
  };
  b64("os-release", f.osRelease);
  out.push("@@tsm@@ init", f.init ?? "systemd");
  out.push("@@tsm@@ dockerd", ...(f.dockerd ? [f.dockerd] : []));
  out.push("@@tsm@@ nodename", f.nodename ?? "localhost");
  b64("hostname", f.hostname);
  b64("hosts", f.hosts);
  b64("daemon.json", f.daemonJson);
  if ((f.init ?? "systemd") === "systemd") {
    out.push("@@tsm@@ docker.socket", f.dockerSocket ? "yes" : "no");
    b64("docker.service", f.dockerService);
  } else {
    b64("conf.d", f.confd);
    out.push("@@tsm@@ init.d", f.initd ? "yes" : "no");
  }
  return `${out.join("\n")}\n`;
}
