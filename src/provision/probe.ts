/**
 * One read-only round trip that gathers everything the provisioner decides on:
 * os-release, the running init system, where dockerd is, docker.service and
 * docker.socket, daemon.json, /etc/hosts, /etc/conf.d/docker. The script prints
 * sections introduced by "@@tsm@@ <name>" lines; file contents are base64-encoded
 * so that any byte (and a missing final newline) comes back exactly.
 */

/** Where dockerd may be, in order after `command -v dockerd`. Never assume one of them. */
export const DOCKERD_CANDIDATES = ["/usr/bin/dockerd", "/usr/sbin/dockerd", "/usr/local/bin/dockerd"] as const;

const MARK = "@@tsm@@";

/**
 * Prints the absolute path of dockerd, or nothing. Candidates in order: the
 * program docker.service really runs (systemd's view of it, so a unit pointing at
 * /usr/sbin/dockerd wins over a stray binary earlier on PATH), `command -v
 * dockerd`, then the usual directories. Each must be an executable regular file.
 */
export function dockerdDiscoveryScript(): string {
  return [
    `u=$(systemctl show -p ExecStart --value docker.service 2>/dev/null | sed -n 's/^{ path=\\([^ ;]*\\) ;.*/\\1/p' | head -n 1)`,
    `for p in "$u" "$(command -v dockerd 2>/dev/null)" ${DOCKERD_CANDIDATES.join(" ")}; do`,
    '  case "$p" in /*) if [ -f "$p" ] && [ -x "$p" ]; then printf \'%s\\n\' "$p"; break; fi;; esac',
    "done",
  ].join("\n");
}

/** The first absolute path printed by the discovery script, if any. */
export function parseDockerdPath(stdout: string): string | undefined {
  const line = stdout.split("\n").map((l) => l.trim()).find((l) => l.startsWith("/"));
  return line === undefined || line === "" ? undefined : line;
}

/** The probe script (read-only). */
export function probeScript(): string {
  return [
    `m() { printf '${MARK} %s\\n' "$1"; }`,
    'f() { if [ -r "$2" ]; then m "$1"; base64 < "$2"; fi; }',
    "if [ -r /etc/os-release ]; then f os-release /etc/os-release; else f os-release /usr/lib/os-release; fi",
    "m init",
    "if [ -d /run/systemd/system ]; then echo systemd",
    "elif command -v openrc-run >/dev/null 2>&1 || [ -x /sbin/openrc-run ]; then echo openrc",
    "else echo unknown; fi",
    "m dockerd",
    dockerdDiscoveryScript(),
    "m nodename",
    "uname -n",
    "f hostname /etc/hostname",
    "f hosts /etc/hosts",
    "f daemon.json /etc/docker/daemon.json",
    "if [ -d /run/systemd/system ]; then",
    "  m docker.socket",
    "  if systemctl cat docker.socket >/dev/null 2>&1; then echo yes; else echo no; fi",
    "  if systemctl cat docker.service >/dev/null 2>&1; then m docker.service; systemctl cat --no-pager docker.service 2>/dev/null | base64; fi",
    "else",
    "  f conf.d /etc/conf.d/docker",
    "  m init.d",
    "  if [ -f /etc/init.d/docker ]; then echo yes; else echo no; fi",
    "fi",
    "exit 0",
  ].join("\n");
}

export type ProbedInit = "systemd" | "openrc" | "unknown";

/** What the probe found. File contents are undefined when the file does not exist. */
export interface HostFacts {
  osRelease?: string;
  init: ProbedInit;
  dockerdPath?: string;
  /** `uname -n`: the running host name. */
  nodename: string;
  hostnameFile?: string;
  hosts?: string;
  daemonJson?: string;
  /** `systemctl cat docker.service` (systemd only; undefined when there is no such unit). */
  dockerService?: string;
  /** A docker.socket unit exists (systemd only). */
  dockerSocket: boolean;
  /** /etc/conf.d/docker (OpenRC only). */
  openrcConf?: string;
  /** /etc/init.d/docker exists (OpenRC only). */
  openrcInit: boolean;
}

const BASE64_SECTIONS = new Set(["os-release", "hostname", "hosts", "daemon.json", "docker.service", "conf.d"]);

/** Reads the probe's output; unknown sections are ignored so old and new scripts stay compatible. */
export function parseProbe(stdout: string): HostFacts {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of stdout.split("\n")) {
    if (line.startsWith(`${MARK} `)) {
      current = [];
      sections.set(line.slice(MARK.length + 1).trim(), current);
    } else if (current) {
      current.push(line);
    }
  }
  const text = (name: string): string | undefined => {
    const lines = sections.get(name);
    if (lines === undefined) return undefined;
    if (BASE64_SECTIONS.has(name)) return Buffer.from(lines.join("").replace(/\s+/g, ""), "base64").toString("utf8");
    return lines.join("\n").trim();
  };
  const init = text("init");
  return {
    osRelease: text("os-release"),
    init: init === "systemd" || init === "openrc" ? init : "unknown",
    dockerdPath: parseDockerdPath(text("dockerd") ?? ""),
    nodename: text("nodename") ?? "",
    hostnameFile: text("hostname"),
    hosts: text("hosts"),
    daemonJson: text("daemon.json"),
    dockerService: text("docker.service"),
    dockerSocket: text("docker.socket") === "yes",
    openrcConf: text("conf.d"),
    openrcInit: text("init.d") === "yes",
  };
}
