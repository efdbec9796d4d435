/**
 * Command lines for OpenSSH's `ssh` and `scp`, and for `rsync -e ssh`, pinned to a
 * machine's host key. Pure functions (no processes, no ssh2): core/openssh.ts runs them.
 *
 * The options are Docker Machine's (libmachine/ssh/client.go: -F /dev/null, no password
 * prompts, no multiplexing, quiet, 3 attempts of 10 s, keepalives every 60 s, the key file
 * with IdentitiesOnly, -p PORT) except the host key policy: Docker Machine disables checking,
 * tsm checks against a known_hosts file written from the key it pinned
 * (StrictHostKeyChecking=yes, no global file, never updated by ssh).
 *
 * Nothing a record holds can become an option: the user, host and port are validated,
 * and the destination comes after `--`. The remote command is handed over as OpenSSH,
 * Docker Machine and tsm's native client all do: its words joined with spaces into one
 * command line for the remote shell, interpreted there exactly once.
 */
import { isHostAddress } from "../model/address.js";
import { TsmError, UsageError } from "../model/errors.js";

/** Where and as whom; every value here comes from a record or a driver, so it is checked before use. */
export interface OpenSshTarget {
  host: string;
  port: number;
  user: string;
  /** "" = ssh-agent and the user's default keys. */
  privateKeyPath: string;
  /** The known_hosts file holding the pinned key for `knownHostsField(host, port)`. */
  knownHostsFile: string;
  /** LogLevel=error instead of quiet, so that ssh says why it failed (--debug). */
  verbose?: boolean;
}

const USER_NAME = /^[a-zA-Z_][a-zA-Z0-9_.-]*$/;

/** The host field of a known_hosts line, as OpenSSH looks it up: "host" on port 22, else "[host]:port". */
export function knownHostsField(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function refuse(what: string, value: unknown): never {
  throw new TsmError("SSH_CONNECT", `Refusing to run OpenSSH: the machine's SSH ${what} ${JSON.stringify(value)} is not valid; fix the machine's record or use --native-ssh`);
}

/** Throws unless user, host and port are plain values that no OpenSSH tool can read as an option. */
export function checkTarget(t: Pick<OpenSshTarget, "host" | "port" | "user">): void {
  if (!USER_NAME.test(t.user)) refuse("user", t.user);
  if (!isHostAddress(t.host)) refuse("host", t.host);
  if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) refuse("port", t.port);
}

/**
 * A local path as OpenSSH reads it in the file options (IdentityFile, UserKnownHostsFile):
 * `%` starts a token there (escaped as `%%`) and `${` a variable. Absolute paths only
 * (a leading `~` would be expanded). Control characters cannot be passed at all.
 */
function sshPath(file: string, what: string): string {
  if (!file.startsWith("/") || /[\0-\x1f\x7f]/.test(file) || file.includes("${")) {
    throw new TsmError("SSH_CONNECT", `Cannot hand the ${what} ${JSON.stringify(file)} to OpenSSH (it must be an absolute path without control characters or "\${"); use --native-ssh`);
  }
  return file.replace(/%/g, "%%");
}

/** A path as the value of `-o Name=value`: also split on spaces by ssh's config parser, so quoted; `"` and `\` cannot be quoted there. */
function sshOptionPath(file: string, what: string): string {
  const p = sshPath(file, what);
  if (/["\\]/.test(p)) {
    throw new TsmError("SSH_CONNECT", `Cannot hand the ${what} ${JSON.stringify(file)} to OpenSSH (a '"' or '\\' in it); move the store or use --native-ssh`);
  }
  return /\s/.test(p) ? `"${p}"` : p;
}

/** Options shared by ssh, scp and rsync's ssh: Docker Machine's base, the pinned host key, the key file. No port, no user. */
function commonOptions(t: OpenSshTarget): string[] {
  checkTarget(t);
  const o = (v: string) => ["-o", v];
  return [
    "-F",
    "/dev/null",
    ...o("ConnectionAttempts=3"),
    ...o("ConnectTimeout=10"),
    ...o("ControlMaster=no"),
    ...o("ControlPath=none"),
    ...o(`LogLevel=${t.verbose ? "error" : "quiet"}`),
    ...o("PasswordAuthentication=no"),
    ...o("ServerAliveInterval=60"),
    ...o("StrictHostKeyChecking=yes"),
    ...o(`UserKnownHostsFile=${sshOptionPath(t.knownHostsFile, "known_hosts file")}`),
    ...o("GlobalKnownHostsFile=/dev/null"),
    ...o("UpdateHostKeys=no"),
    ...o("CheckHostIP=no"),
    // IdentityFile as an option rather than -i: ssh expands % tokens in both, but checks -i's
    // file before expanding, so a path with a % in it could only be passed this way.
    ...(t.privateKeyPath === "" ? [] : [...o("IdentitiesOnly=yes"), ...o(`IdentityFile=${sshOptionPath(t.privateKeyPath, "SSH key")}`)]),
  ];
}

/** ssh's options that take a value (its getopt string), so that `-L 8080:localhost:80` keeps its value. */
const SSH_OPTIONS_WITH_VALUE = new Set("BDEFIJLOPQRSWbceilmopw");

/** tsm's own global options, which may appear among ssh's (commander has applied them already). */
export interface TsmGlobalOptions {
  /** For a long option of tsm's (`--debug`, `--storage-path`, `--storage-path=x`): how many words it takes after it (0 or 1). */
  long(word: string): number | undefined;
  /** tsm's global short options (`Ds`): among ssh's they would mean two things, so they are refused there. */
  short: string;
}

/**
 * Splits what follows `tsm ssh NAME` as ssh itself would: leading options (with their
 * values) go to the OpenSSH client, the first other word starts the remote command, and
 * `--` ends the options explicitly (`tsm ssh NAME -C -L 8080:localhost:80 -- uptime`).
 * tsm's own long options there are dropped; its short ones are refused with a way out.
 */
export function splitSshArguments(words: readonly string[], tsm: TsmGlobalOptions = { long: () => undefined, short: "" }): { sshOptions: string[]; command: string[] } {
  const sshOptions: string[] = [];
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    if (w === "--") {
      i++;
      break;
    }
    if (!w.startsWith("-") || w === "-") break;
    i++;
    if (w.startsWith("--")) {
      const values = tsm.long(w);
      if (values === undefined) throw new UsageError(`ssh has no option ${JSON.stringify(w)}: put the remote command after "--"`);
      i += values;
      continue;
    }
    sshOptions.push(w);
    for (let j = 1; j < w.length; j++) {
      const letter = w[j]!;
      if (tsm.short.includes(letter)) {
        throw new UsageError(
          `-${letter} after the machine name is tsm's own option, not ssh's: put tsm's before "ssh"` +
            (letter === "D" ? `, and write ssh's dynamic forwarding as -o DynamicForward=PORT` : `, and write ssh's as -o Option=value`),
        );
      }
      if (!SSH_OPTIONS_WITH_VALUE.has(letter)) continue;
      if (j === w.length - 1) {
        if (i >= words.length) throw new UsageError(`The ssh option -${letter} needs a value`);
        sshOptions.push(words[i++]!);
      }
      break;
    }
  }
  return { sshOptions, command: words.slice(i) };
}

/** The remote command line: the words joined with spaces, as OpenSSH and the native client send them. undefined = a login shell. */
export function remoteCommandLine(command: readonly string[]): string | undefined {
  return command.length === 0 ? undefined : command.join(" ");
}

/**
 * `ssh` arguments: the pinned options, then the user's own (`-C`, `-L ...`, `-A`), then
 * `--`, the host and the command line as one argument. After `--` OpenSSH reads no option,
 * so neither the host nor the command can become one.
 */
export function sshArgs(t: OpenSshTarget, extra: readonly string[], command: readonly string[]): string[] {
  const line = remoteCommandLine(command);
  return [...commonOptions(t), "-p", String(t.port), "-l", t.user, ...extra, "--", t.host, ...(line === undefined ? [] : [line])];
}

/** One side of a copy: a local path, or a path on the target (relative to the login directory). */
export type CopySide = { local: string } | { remote: string };

/** `user@host:path` (IPv6 hosts in brackets), or a local path that scp and rsync cannot mistake for an option or a host. */
function location(t: OpenSshTarget, side: CopySide): string {
  if ("remote" in side) {
    const host = t.host.includes(":") ? `[${t.host}]` : t.host;
    return `${t.user}@${host}:${side.remote === "" ? "." : side.remote}`;
  }
  const p = side.local;
  if (p === "") throw new UsageError("An empty local path cannot be copied");
  // "-x" would be an option, "a:b" a host: make relative paths explicit.
  const slash = p.indexOf("/");
  const colon = p.indexOf(":");
  return p.startsWith("-") || (colon >= 0 && (slash < 0 || colon < slash)) ? `./${p}` : p;
}

export interface CopyArgsOptions {
  recursive: boolean;
  quiet: boolean;
}

/** `scp` arguments for one copy between this computer and the target, through the same ssh binary and pinned options. */
export function scpArgs(sshBinary: string, t: OpenSshTarget, from: CopySide, to: CopySide, options: CopyArgsOptions): string[] {
  return [
    ...commonOptions(t),
    "-P",
    String(t.port),
    "-S",
    sshBinary,
    ...(options.recursive ? ["-r"] : []),
    ...(options.quiet ? ["-q"] : []),
    "--",
    location(t, from),
    location(t, to),
  ];
}

/**
 * One word of rsync's `-e` command line. rsync splits that line itself (not a shell): on
 * spaces outside quotes, where a doubled quote stands for one. Single quotes it is.
 */
export function rsyncWord(word: string): string {
  if (word.includes("\0")) throw new UsageError(`The value ${JSON.stringify(word)} contains a NUL character`);
  return `'${word.replace(/'/g, "''")}'`;
}

/** `rsync` arguments (`scp --delta`): rsync over the same ssh and pinned options; `--progress` unless quiet, as Docker Machine does. */
export function rsyncArgs(sshBinary: string, t: OpenSshTarget, from: CopySide, to: CopySide, options: CopyArgsOptions): string[] {
  const rsh = [sshBinary, ...commonOptions(t), "-p", String(t.port)].map(rsyncWord).join(" ");
  return [...(options.quiet ? [] : ["--progress"]), "-e", rsh, ...(options.recursive ? ["-r"] : []), "--", location(t, from), location(t, to)];
}
