/**
 * How Docker Engine gets onto a host that lacks it, and how it is upgraded: pure
 * builders of shell scripts (constants and shQuote'd values only) plus the files
 * to write first. The provisioner decides *whether* to install (no dockerd found);
 * this module decides *how*, and refuses early, before the host is touched, when
 * it cannot be done (`none`, or a distribution without a Docker package).
 *
 * Methods (EngineOptions.installMethod):
 * - script: download installUrl (get.docker.com style) and run it with sh.
 * - distro: the distribution's own package (Debian/Ubuntu docker.io, Fedora
 *   moby-engine, Amazon Linux docker, Alpine docker).
 * - binary: a static docker-*.tgz (docker/dockerd, containerd, runc...) unpacked
 *   into /usr/local/bin, run by a unit or init script that tsm writes.
 * - none: never install; a host without dockerd is an error.
 */
import type { EngineOptions } from "../model/machine.js";
import { missingBinaryUrl } from "./engine-rules.js";
import { EngineInstallError } from "./errors.js";
import type { RemoteFile } from "./host-files.js";
import { renderOpenRcInitScript } from "./openrc.js";
import type { InitSystem, OsFamily } from "./os-release.js";
import { PATHS } from "./paths.js";
import { shQuote } from "./remote.js";
import { renderSystemdUnit } from "./systemd-unit.js";

export type InstallSettings = Pick<EngineOptions, "installMethod" | "installUrl" | "binaryUrl">;

/** Where a binary install puts the programs. */
export const BINARY_DIR = "/usr/local/bin";

/** One install or upgrade: files to write first (service definitions), then a script. */
export interface InstallPlan {
  /** For the progress line, e.g. "distro packages: docker.io". */
  description: string;
  files: RemoteFile[];
  script: string;
  /** Extra lines for the error when the script fails (e.g. which repository to enable). */
  hints: string[];
}

/**
 * apt-get with its locks waited for: DPkg::Lock::Timeout makes apt (>= 1.9.11)
 * wait for the dpkg lock, and `update`, whose lists lock that option does not
 * cover, is retried (unattended-upgrades often holds it on a fresh server).
 */
const APT_FUNCTIONS = [
  "export DEBIAN_FRONTEND=noninteractive",
  "apt_get() { apt-get -o DPkg::Lock::Timeout=300 -y \"$@\"; }",
  "apt_update() { n=0; until apt_get update; do n=$((n+1)); if [ \"$n\" -ge 5 ]; then return 1; fi; sleep 10; done; }",
].join("\n");

function packageInstall(os: OsFamily, packages: string[]): string {
  const list = packages.join(" ");
  switch (os.packageManager) {
    case "apt":
      return `apt_update\napt_get install ${list}`;
    case "dnf":
      return `dnf install -y ${list}`;
    case "yum":
      return `yum install -y ${list}`;
    case "apk":
      return `apk add --no-cache ${list}`;
  }
}

function preamble(os: OsFamily): string[] {
  return ["set -e", ...(os.packageManager === "apt" ? [APT_FUNCTIONS] : [])];
}

/**
 * Chooses a downloader: curl, else wget, else installs curl with the package
 * manager. Defines `fetch URL FILE`.
 */
function fetchFunction(os: OsFamily): string {
  return [
    "if command -v curl >/dev/null 2>&1; then fetch() { curl -fsSL --retry 3 -o \"$2\" \"$1\"; }",
    "elif command -v wget >/dev/null 2>&1; then fetch() { wget -q -O \"$2\" \"$1\"; }",
    "else",
    packageInstall(os, os.packageManager === "yum" || os.packageManager === "dnf" ? ["curl"] : ["curl", "ca-certificates"])
      .split("\n")
      .map((l) => `  ${l}`)
      .join("\n"),
    "  fetch() { curl -fsSL --retry 3 -o \"$2\" \"$1\"; }",
    "fi",
  ].join("\n");
}

function scriptPlan(os: OsFamily, url: string): InstallPlan {
  return {
    description: `install script ${url}`,
    files: [],
    script: [
      ...preamble(os),
      fetchFunction(os),
      "f=$(mktemp)",
      "trap 'rm -f \"$f\"' EXIT",
      `fetch ${shQuote(url)} "$f"`,
      'sh "$f"',
    ].join("\n"),
    hints: [`The install script ${url} failed; its last output lines follow.`],
  };
}

/** The distribution's Docker Engine package, or a refusal saying what to use instead. */
function distroPackage(os: OsFamily): string {
  if (os.family === "debian") return "docker.io";
  if (os.family === "alpine") return "docker";
  if (os.id === "fedora") return "moby-engine";
  if (os.id === "amzn") return "docker";
  throw new EngineInstallError(
    `${os.prettyName} has no Docker Engine among its distribution packages (podman-docker is Podman, not Docker)`,
    [
      "Use --engine-install-method script (the default, https://get.docker.com supports CentOS and RHEL)",
      "or --engine-install-method binary --engine-binary-url <static docker-*.tgz URL>.",
    ],
  );
}

function distroPlan(os: OsFamily, upgrade: boolean): InstallPlan {
  const pkg = distroPackage(os);
  let body: string;
  if (!upgrade) {
    body = packageInstall(os, [pkg]);
  } else {
    switch (os.packageManager) {
      case "apt":
        body = `apt_update\napt_get install --only-upgrade ${pkg}`;
        break;
      case "dnf":
      case "yum":
        body = `${os.packageManager} upgrade -y ${pkg}`;
        break;
      case "apk":
        body = `apk add --no-cache --upgrade ${pkg}`;
        break;
    }
  }
  return {
    description: `distribution packages: ${pkg}`,
    files: [],
    script: [...preamble(os), body].join("\n"),
    hints:
      os.family === "alpine"
        ? ["Alpine's docker package is in the community repository: enable it in /etc/apk/repositories."]
        : [],
  };
}

/**
 * Static tarball: downloaded to a temporary file, unpacked into a staging
 * directory next to /usr/local/bin, then each program renamed into place. A rename
 * never hits "Text file busy" when a running dockerd is replaced (upgrade), unlike
 * unpacking over it. iptables is installed when missing: the tarball does not
 * carry it and dockerd cannot set up its bridge network without it.
 */
function binaryPlan(os: OsFamily, init: InitSystem, url: string): InstallPlan {
  const dockerd = `${BINARY_DIR}/dockerd`;
  const files: RemoteFile[] =
    init === "systemd"
      ? [{ path: PATHS.systemdUnit, mode: 0o644, content: renderSystemdUnit(dockerd) }]
      : [{ path: PATHS.openrcInit, mode: 0o755, content: renderOpenRcInitScript(dockerd) }];
  return {
    description: `static binaries from ${url}`,
    files,
    script: [
      ...preamble(os),
      fetchFunction(os),
      `command -v iptables >/dev/null 2>&1 || { ${packageInstall(os, ["iptables"]).replace(/\n/g, "; ")}; }`,
      `mkdir -p ${BINARY_DIR}`,
      'f=$(mktemp)',
      // Staged on the same file system as /usr/local/bin, so that mv is a rename.
      "d=$(mktemp -d /usr/local/.tsm-docker.XXXXXX)",
      "trap 'rm -rf \"$f\" \"$d\"' EXIT",
      `fetch ${shQuote(url)} "$f"`,
      'tar -xzf "$f" -C "$d" --strip-components=1',
      'if [ ! -x "$d/dockerd" ]; then echo "the tarball has no docker/dockerd" >&2; exit 1; fi',
      `for b in "$d"/*; do mv -f "$b" ${BINARY_DIR}/; done`,
      ...(init === "systemd" ? ["systemctl daemon-reload"] : []),
    ].join("\n"),
    hints: [`${url} must be a static Docker tarball (docker/dockerd, docker/containerd, docker/runc...).`],
  };
}

/** The plan for the recorded method; `upgrade` selects the upgrade form (only `distro` and `none` differ). */
function methodPlan(os: OsFamily, init: InitSystem, engine: InstallSettings, upgrade: boolean): InstallPlan {
  switch (engine.installMethod) {
    case "script":
      return scriptPlan(os, engine.installUrl);
    case "distro":
      return distroPlan(os, upgrade);
    case "binary":
      if (missingBinaryUrl(engine.installMethod, engine.binaryUrl)) {
        throw new EngineInstallError("--engine-install-method binary needs --engine-binary-url");
      }
      return binaryPlan(os, init, engine.binaryUrl);
    case "none":
      throw upgrade
        ? new EngineInstallError(
            "tsm did not install Docker Engine on this host (install method \"none\"), so it cannot upgrade it: upgrade it with the host's own tools",
          )
        : new EngineInstallError(
            `Docker Engine (dockerd) is not installed on this ${os.prettyName} host, and the install method is "none"`,
            ["Install Docker Engine yourself, or choose --engine-install-method script, distro or binary."],
          );
  }
}

/**
 * How to install Docker Engine on a host without dockerd. Throws
 * EngineInstallError (before anything is changed) for `none` and for `distro` on a
 * distribution that has no Docker package.
 */
export function installPlan(os: OsFamily, init: InitSystem, engine: InstallSettings): InstallPlan {
  return methodPlan(os, init, engine, false);
}

/** How to upgrade Docker Engine by the method it was installed with. */
export function upgradePlan(os: OsFamily, init: InitSystem, engine: InstallSettings): InstallPlan {
  return methodPlan(os, init, engine, true);
}
