/**
 * First-boot configuration for cloud images: a cloud-init NoCloud seed, written by tsm itself.
 *
 * buildNoCloudSeed() renders the documents (user-data as #cloud-config, meta-data, optionally
 * network-config); writeCidataIso() puts them on a small ISO 9660 volume labelled `cidata`
 * (see iso9660.ts), which a VM gets as a CD-ROM. cloud-init's NoCloud datasource finds the
 * volume by its label (iso9660 or vfat, `cidata` or `CIDATA`), mounts it and reads the files
 * by name. The QEMU and VirtualBox drivers share this.
 *
 * Every value is validated (hostnames, user and group names, instance ids and key lines have
 * strict shapes: cloud-init turns them into /etc/hostname, passwd entries, paths under
 * /var/lib/cloud and authorized_keys lines) and, on top of that, emitted as a quoted YAML
 * scalar, so no value can add keys to the documents.
 */
import { randomBytes } from "node:crypto";
import { rename, rm, writeFile } from "node:fs/promises";
import { TsmError } from "../model/errors.js";
import { buildIso9660 } from "./iso9660.js";
import { toYaml, type YamlValue } from "./yaml.js";

export { buildIso9660, level1Name, type IsoFile, type IsoOptions } from "./iso9660.js";
export { toYaml, yamlQuote, type YamlValue } from "./yaml.js";

export interface NoCloudSeedOptions {
  /** cloud-init runs its once-per-instance modules again when this changes: [A-Za-z0-9._-], <= 128, starting alphanumeric. */
  instanceId: string;
  /** Host name set at boot (Docker Machine's name rule: [A-Za-z0-9][A-Za-z0-9.-]*, <= 64 characters). */
  hostname: string;
  /** Fully qualified name for /etc/hosts; default `hostname`. */
  fqdn?: string;
  /**
   * The login user, created with passwordless sudo, /bin/bash, a locked password and no group
   * of its own (primary group `users`). Default "docker".
   */
  user?: string;
  /** OpenSSH public key lines (`ssh-ed25519 AAAA... comment`) for the user: one line each, at least one. */
  authorizedKeys: readonly string[];
  /** Supplementary groups for the user (cloud-init creates missing ones). */
  groups?: readonly string[];
  /**
   * NoCloud `network-config` (network config version 2, netplan syntax), e.g. for a second NIC.
   * Without it cloud-init's fallback applies: DHCP on the first NIC.
   */
  networkConfig?: { readonly [key: string]: YamlValue | undefined };
  /**
   * The SSH host key the guest must use (OpenSSH private key file text and its public key
   * line). With it cloud-init installs exactly this key and generates none, so the client
   * knows the host key before first contact: no trust-on-first-use.
   */
  hostKey?: { readonly type: "ed25519"; readonly privateKey: string; readonly publicKey: string };
}

export interface NoCloudSeed {
  /** `#cloud-config` document. */
  userData: string;
  metaData: string;
  /** Present when NoCloudSeedOptions.networkConfig was given. */
  networkConfig?: string;
}

/** The default login user of tsm's VMs, as in Docker Machine. */
export const DEFAULT_SEED_USER = "docker";
/** The ISO 9660 volume identifier cloud-init's NoCloud looks for. */
export const CIDATA_LABEL = "cidata";

export class InvalidSeedError extends TsmError {
  constructor(message: string) {
    super("INVALID_SEED", message);
  }
}

const HOSTNAME_RE = /^[A-Za-z0-9][A-Za-z0-9.-]*$/;
const INSTANCE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

function check(ok: boolean, what: string, value: unknown, rule: string): void {
  if (!ok) throw new InvalidSeedError(`Invalid ${what} ${JSON.stringify(value)} for the cloud-init seed: ${rule}`);
}

function checkHostname(what: string, v: string, max: number): void {
  check(
    typeof v === "string" && HOSTNAME_RE.test(v) && v.length <= max && !v.includes("..") && !v.endsWith("."),
    what,
    v,
    `use letters, digits, '.' and '-', starting with a letter or digit, at most ${max} characters`,
  );
}

/** Renders the NoCloud documents. Throws InvalidSeedError for a value outside its rule. */
export function buildNoCloudSeed(opts: NoCloudSeedOptions): NoCloudSeed {
  const user = opts.user ?? DEFAULT_SEED_USER;
  const fqdn = opts.fqdn ?? opts.hostname;
  check(typeof opts.instanceId === "string" && INSTANCE_ID_RE.test(opts.instanceId), "instance id", opts.instanceId, "use letters, digits, '.', '_' and '-' (at most 128)");
  checkHostname("hostname", opts.hostname, 64);
  checkHostname("fqdn", fqdn, 253);
  check(typeof user === "string" && USER_RE.test(user) && user !== "root", "user name", user, "a lower-case POSIX user name other than root");
  check(Array.isArray(opts.authorizedKeys) && opts.authorizedKeys.length > 0, "authorized keys", opts.authorizedKeys, "give at least one public key");
  for (const k of opts.authorizedKeys) {
    check(typeof k === "string" && k.trim() !== "" && !/[\0\r\n\u2028\u2029\u0085]/.test(k), "authorized key", k, "one non-empty line per key");
  }
  for (const g of opts.groups ?? []) check(typeof g === "string" && USER_RE.test(g), "group name", g, "a lower-case POSIX group name");
  const hk = opts.hostKey;
  if (hk) {
    check(hk.type === "ed25519", "host key type", hk.type, "ed25519");
    check(/^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n?$/.test(hk.privateKey), "host private key", "(hidden)", "an OpenSSH private key file");
    check(/^ssh-ed25519 [A-Za-z0-9+/]+=*( [\x20-\x7e]+)?$/.test(hk.publicKey.trim()), "host public key", hk.publicKey, "one ssh-ed25519 public key line");
  }

  const userData =
    "#cloud-config\n" +
    toYaml({
      hostname: opts.hostname,
      fqdn,
      prefer_fqdn_over_hostname: false,
      preserve_hostname: false,
      manage_etc_hosts: true,
      ssh_pwauth: false,
      disable_root: true,
      // Given a host key, cloud-init deletes the image's keys and installs exactly that one.
      // Otherwise it generates these at first boot (its default adds DSA, which OpenSSH no
      // longer offers; under emulation every key costs seconds).
      ssh_deletekeys: true,
      ssh_keys: hk ? { ed25519_private: hk.privateKey.endsWith("\n") ? hk.privateKey : `${hk.privateKey}\n`, ed25519_public: `${hk.publicKey.trim()}\n` } : undefined,
      ssh_genkeytypes: hk ? [] : ["ed25519", "ecdsa", "rsa"],
      users: [
        {
          name: user,
          shell: "/bin/bash",
          sudo: "ALL=(ALL) NOPASSWD:ALL",
          lock_passwd: true,
          // No group named after the user: on an image where that group already exists (Debian's
          // docker.io creates `docker`), useradd refuses to create the user and cloud-init
          // fails. The primary group is then useradd's default (`users`, gid 100).
          no_user_group: true,
          groups: opts.groups?.length ? [...opts.groups] : undefined,
          ssh_authorized_keys: opts.authorizedKeys.map((k) => k.trim()),
        },
      ],
    });
  const metaData = toYaml({ "instance-id": opts.instanceId, "local-hostname": opts.hostname });
  const seed: NoCloudSeed = { userData, metaData };
  if (opts.networkConfig) seed.networkConfig = toYaml(opts.networkConfig);
  return seed;
}

/** The seed's files as they go on the volume. */
export function cidataFiles(seed: NoCloudSeed): Array<{ name: string; data: Buffer }> {
  const files = [
    { name: "meta-data", data: Buffer.from(seed.metaData, "utf8") },
    { name: "user-data", data: Buffer.from(seed.userData, "utf8") },
  ];
  if (seed.networkConfig !== undefined) files.push({ name: "network-config", data: Buffer.from(seed.networkConfig, "utf8") });
  return files;
}

/** The seed volume as bytes: ISO 9660 with Rock Ridge names, label `cidata`. */
export function buildCidataIso(seed: NoCloudSeed, opts: { date?: Date } = {}): Buffer {
  return buildIso9660(cidataFiles(seed), { volumeId: CIDATA_LABEL, ...(opts.date ? { date: opts.date } : {}) });
}

/**
 * Writes the seed volume to `outPath` (mode 0600: it names the user's keys), atomically:
 * a reader never sees a partial image.
 */
export async function writeCidataIso(seed: NoCloudSeed, outPath: string, opts: { date?: Date } = {}): Promise<void> {
  const tmp = `${outPath}.tmp-${randomBytes(4).toString("hex")}`;
  try {
    await writeFile(tmp, buildCidataIso(seed, opts), { mode: 0o600 });
    await rename(tmp, outPath);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
