/**
 * Where tsm keeps its files. One layout for every platform:
 *
 *   <root>/certs/{ca,ca-key,cert,key}.pem        the CA and the client certificate
 *   <root>/machines/<name>/config.json           the machine record
 *   <root>/machines/<name>/{ca,cert,key}.pem     copies of the client set (DOCKER_CERT_PATH)
 *   <root>/machines/<name>/server{,-key}.pem     the machine's server certificate
 *   <root>/machines/<name>/creating.json         while (or if) its create has not finished: who creates it
 *   <root>/locks/                                inter-process locks
 *   <root>/cache/                                downloaded images
 *
 * The default root is `~/.tsm` (`%USERPROFILE%\.tsm` on Windows): short, free of
 * spaces on every OS (so `eval $(tsm env)` word splitting stays harmless), and
 * separate from Docker Machine's `~/.docker/machine`, whose records have another format.
 * In Docker Machine compatibility mode (src/cli/support/compat.ts) the default is Docker
 * Machine's: `~/.docker/machine`.
 */
import path from "node:path";

export interface PathEnv {
  env: Readonly<Record<string, string | undefined>>;
  platform: NodeJS.Platform;
  homedir: string;
}

function pathFor(platform: NodeJS.Platform): typeof path.posix {
  return platform === "win32" ? path.win32 : path.posix;
}

/**
 * `--storage-path` wins, then TSM_STORAGE_PATH, then Docker Machine's MACHINE_STORAGE_PATH,
 * then `~/.tsm` (`~/.docker/machine` in Docker Machine compatibility mode). Always absolute.
 */
export function resolveStorageRoot(flag: string | undefined, pe: PathEnv, mode: "tsm" | "docker-machine" = "tsm"): string {
  const p = pathFor(pe.platform);
  const chosen = flag || pe.env.TSM_STORAGE_PATH || pe.env.MACHINE_STORAGE_PATH;
  if (chosen) return resolveUserPath(chosen, pe);
  const home = pe.platform === "win32" ? pe.env.USERPROFILE || pe.homedir : pe.env.HOME || pe.homedir;
  return mode === "docker-machine" ? p.join(home, ".docker", "machine") : p.join(home, ".tsm");
}

/** A path the user gave (flag or variable): `~` expanded, made absolute. */
export function resolveUserPath(value: string, pe: PathEnv): string {
  return pathFor(pe.platform).resolve(expandHome(value, pe), ".");
}

function expandHome(value: string, pe: PathEnv): string {
  if (value === "~" || value.startsWith("~/") || (pe.platform === "win32" && value.startsWith("~\\"))) {
    const home = pe.platform === "win32" ? pe.env.USERPROFILE || pe.homedir : pe.env.HOME || pe.homedir;
    return pathFor(pe.platform).join(home, value.slice(1));
  }
  return value;
}

export interface StorePaths {
  readonly root: string;
  readonly certsDir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly machinesDir: string;
  readonly locksDir: string;
  readonly cacheDir: string;
  machineDir(name: string): string;
  machine(name: string): MachinePaths;
}

export interface MachinePaths {
  readonly dir: string;
  readonly record: string;
  readonly caCert: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Present from the moment the machine appears until its create finishes: the creating process (src/store/file-store.ts). */
  readonly creating: string;
}

export function storePaths(root: string, platform: NodeJS.Platform = process.platform): StorePaths {
  const p = pathFor(platform);
  const certsDir = p.join(root, "certs");
  const machinesDir = p.join(root, "machines");
  const machineDir = (name: string) => p.join(machinesDir, name);
  return {
    root,
    certsDir,
    caCert: p.join(certsDir, "ca.pem"),
    caKey: p.join(certsDir, "ca-key.pem"),
    clientCert: p.join(certsDir, "cert.pem"),
    clientKey: p.join(certsDir, "key.pem"),
    machinesDir,
    locksDir: p.join(root, "locks"),
    cacheDir: p.join(root, "cache"),
    machineDir,
    machine(name: string): MachinePaths {
      const dir = machineDir(name);
      return {
        dir,
        record: p.join(dir, "config.json"),
        caCert: p.join(dir, "ca.pem"),
        clientCert: p.join(dir, "cert.pem"),
        clientKey: p.join(dir, "key.pem"),
        serverCert: p.join(dir, "server.pem"),
        serverKey: p.join(dir, "server-key.pem"),
        creating: p.join(dir, "creating.json"),
      };
    },
  };
}
