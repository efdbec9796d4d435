/**
 * What a new VM needs for its first boot, shared by the VM drivers (qemu, virtualbox):
 * a login key pair for tsm (`<machineDir>/id_ed25519`, 0600, and `.pub`), an SSH host key
 * that only the guest keeps (tsm keeps its fingerprint, pinned before first contact), and
 * the cloud-init NoCloud seed volume (`<machineDir>/seed.iso`, 0600) that gives the guest
 * its host name, the `docker` user with passwordless sudo and both keys.
 */
import { chmod, writeFile } from "node:fs/promises";
import path from "node:path";
import { buildNoCloudSeed, DEFAULT_SEED_USER, writeCidataIso, type YamlValue } from "../cloudinit/seed.js";
import { formatHostKey } from "../ssh/host-key.js";
import { generateSshKeyPair } from "../ssh/keygen.js";

export interface FirstBoot {
  user: string;
  userKeyPath: string;
  userPublicKey: string;
  /** "ssh-ed25519 SHA256:...": the guest's host key, as the machine record pins it. */
  hostKey: string;
  seedPath: string;
}

export interface FirstBootOptions {
  machineDir: string;
  hostname: string;
  /** Changes when the guest must run cloud-init's per-instance steps again. */
  instanceId: string;
  user?: string;
  /** NoCloud network-config (version 2). */
  networkConfig?: { readonly [key: string]: YamlValue | undefined };
}

export const USER_KEY_FILE = "id_ed25519";
export const SEED_FILE = "seed.iso";

export async function writeFirstBoot(opts: FirstBootOptions): Promise<FirstBoot> {
  const user = opts.user ?? DEFAULT_SEED_USER;
  const [login, host] = await Promise.all([generateSshKeyPair(`tsm@${opts.hostname}`), generateSshKeyPair(`${opts.hostname} host key`)]);
  const userKeyPath = path.join(opts.machineDir, USER_KEY_FILE);
  await writeFile(userKeyPath, login.privateKey, { mode: 0o600 });
  await chmod(userKeyPath, 0o600); // an existing file keeps its mode on write
  await writeFile(`${userKeyPath}.pub`, `${login.publicKey}\n`, { mode: 0o644 });
  const seed = buildNoCloudSeed({
    instanceId: opts.instanceId,
    hostname: opts.hostname,
    user,
    authorizedKeys: [login.publicKey],
    hostKey: { type: "ed25519", privateKey: host.privateKey, publicKey: host.publicKey },
    ...(opts.networkConfig ? { networkConfig: opts.networkConfig } : {}),
  });
  const seedPath = path.join(opts.machineDir, SEED_FILE);
  await writeCidataIso(seed, seedPath);
  return { user, userKeyPath, userPublicKey: login.publicKey, hostKey: formatHostKey(host.publicBlob), seedPath };
}
