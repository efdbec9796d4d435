/**
 * The `virtualbox` driver: a local VM under VirtualBox 6.1 or 7.x, driven through VBoxManage
 * as Docker Machine's virtualbox driver was (reference/docker-machine.md §6), with a Debian
 * cloud image and a cloud-init seed instead of boot2docker. Flags keep Docker Machine's
 * names, defaults and VIRTUALBOX_* variables, except the host-only CIDR, whose default lies
 * in 192.168.56.0/21 (the only range VirtualBox 6.1.28+ allows without /etc/vbox/networks.conf),
 * and `--virtualbox-image-url`, which replaces `--virtualbox-boot2docker-url`.
 *
 * This file is the cheap descriptor; driver.ts (loaded by `open`) does the work.
 */
import * as z from "zod/mini";
import type { DriverDescriptor, FlagValues } from "../../src/model/driver.js";
import { UsageError } from "../../src/model/errors.js";
import { DEFAULT_ENGINE_PORT } from "../../src/model/machine.js";
import { defaultCloudImageUrl } from "../../src/images/default-url.js";
import { checkHostOnlyCidr, DEFAULT_HOSTONLY_CIDR } from "./network.js";
import { findVBoxManage } from "./vboxmanage.js";

export const NIC_TYPES = ["Am79C970A", "Am79C973", "Am79C960", "82540EM", "82543GC", "82545EM", "virtio"] as const;
export const PROMISC_MODES = ["deny", "allow-vms", "allow-all"] as const;
export const UI_TYPES = ["headless", "gui", "sdl", "separate"] as const;

/** Built on first use: every command loads the descriptor, few need the schema (start-up time). */
function buildSchema() {
  return z.object({
    memory: z.int().check(z.minimum(256)),
    /** As given: < 1 means every host CPU (resolved when the VM is configured), capped at 32. */
    cpuCount: z.int(),
    diskSizeMb: z.int().check(z.minimum(1024)),
    imageUrl: z.string().check(z.minLength(1)),
    hostOnlyCidr: z.string(),
    hostOnlyNicType: z.enum(NIC_TYPES),
    hostOnlyNicPromisc: z.enum(PROMISC_MODES),
    hostOnlyNoDhcp: z.boolean(),
    natNicType: z.enum(NIC_TYPES),
    noShare: z.boolean(),
    /** `hostdir:name`; "" = the platform's default (Linux /home:hosthome, macOS /Users:Users, Windows C:\Users:c/Users). */
    shareFolder: z.string(),
    uiType: z.enum(UI_TYPES),
    noVtxCheck: z.boolean(),
    hostDnsResolver: z.boolean(),
    noDnsProxy: z.boolean(),
    // Learnt while creating and starting:
    /** Host port of the NAT forward to the guest's port 22 (0 until chosen). */
    sshPort: z.int().check(z.minimum(0), z.maximum(65535)),
    /** The guest's address on the host-only network ("" until discovered). */
    ipAddress: z.string(),
    /** The host-only adapter NIC2 is attached to (vboxnetN), "" until set up. */
    hostOnlyInterface: z.string(),
    /** MACs of NIC1 (NAT) and NIC2 (host-only), 12 hex digits; "" until created. */
    natMac: z.string(),
    hostOnlyMac: z.string(),
    /** The guest's SSH host key ("ssh-ed25519 SHA256:..."), known before first contact; "" until created. */
    hostKey: z.string(),
  });
}
let schema: ReturnType<typeof buildSchema> | undefined;
export function configSchema(): ReturnType<typeof buildSchema> {
  return (schema ??= buildSchema());
}
export type VirtualBoxConfig = z.infer<ReturnType<typeof buildSchema>>;

function oneOf<T extends string>(flag: string, value: unknown, allowed: readonly T[], fallback: T): T {
  const v = value === undefined || value === "" ? fallback : String(value);
  const hit = allowed.find((a) => a.toLowerCase() === v.toLowerCase());
  if (!hit) throw new UsageError(`Invalid --${flag} ${JSON.stringify(v)}: expected one of ${allowed.join(", ")}`);
  return hit;
}

function intFlag(flag: string, value: unknown, fallback: number, min: number, max: number): number {
  const n = value === undefined ? fallback : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`Invalid --${flag} ${JSON.stringify(value)}: expected a whole number from ${min} to ${max}`);
  return n;
}

export function settingsFromFlags(values: FlagValues): { config: VirtualBoxConfig; enginePort: number } {
  const cidr = String(values["virtualbox-hostonly-cidr"] ?? DEFAULT_HOSTONLY_CIDR).trim();
  const problem = checkHostOnlyCidr(cidr);
  if (problem) throw new UsageError(`Invalid --virtualbox-hostonly-cidr ${JSON.stringify(cidr)}: ${problem}`);
  const share = String(values["virtualbox-share-folder"] ?? "");
  if (share !== "") {
    const i = share.lastIndexOf(":");
    if (i <= 0 || i === share.length - 1 || /^[A-Za-z]$/.test(share.slice(0, i))) {
      throw new UsageError(`Invalid --virtualbox-share-folder ${JSON.stringify(share)}: expected HOSTDIR:NAME (split at the last colon)`);
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(share.slice(i + 1))) {
      throw new UsageError(`Invalid --virtualbox-share-folder ${JSON.stringify(share)}: the share name may use letters, digits, '.', '_', '-' and '/'`);
    }
  }
  const imageUrl = String(values["virtualbox-image-url"] ?? "") || defaultCloudImageUrl(process.arch, "generic", "raw");
  const config: VirtualBoxConfig = {
    memory: intFlag("virtualbox-memory", values["virtualbox-memory"], 1024, 256, 1024 * 1024),
    cpuCount: intFlag("virtualbox-cpu-count", values["virtualbox-cpu-count"], 1, -1024, 1024),
    diskSizeMb: intFlag("virtualbox-disk-size", values["virtualbox-disk-size"], 20000, 1024, 2 * 1024 * 1024),
    imageUrl,
    hostOnlyCidr: cidr,
    hostOnlyNicType: oneOf("virtualbox-hostonly-nictype", values["virtualbox-hostonly-nictype"], NIC_TYPES, "82540EM"),
    hostOnlyNicPromisc: oneOf("virtualbox-hostonly-nicpromisc", values["virtualbox-hostonly-nicpromisc"], PROMISC_MODES, "deny"),
    hostOnlyNoDhcp: values["virtualbox-hostonly-no-dhcp"] === true,
    natNicType: oneOf("virtualbox-nat-nictype", values["virtualbox-nat-nictype"], NIC_TYPES, "82540EM"),
    noShare: values["virtualbox-no-share"] === true,
    shareFolder: share,
    uiType: oneOf("virtualbox-ui-type", values["virtualbox-ui-type"], UI_TYPES, "headless"),
    noVtxCheck: values["virtualbox-no-vtx-check"] === true,
    hostDnsResolver: values["virtualbox-host-dns-resolver"] === true,
    noDnsProxy: values["virtualbox-no-dns-proxy"] === true,
    sshPort: 0,
    ipAddress: "",
    hostOnlyInterface: "",
    natMac: "",
    hostOnlyMac: "",
    hostKey: "",
  };
  return { config, enginePort: DEFAULT_ENGINE_PORT };
}

export const virtualboxDriver: DriverDescriptor = {
  name: "virtualbox",
  description: "A local VM under VirtualBox (6.1 or 7.x), driven through VBoxManage",
  localVm: true,
  flags: [
    { name: "virtualbox-memory", type: "int", env: "VIRTUALBOX_MEMORY_SIZE", description: "Memory of the VM in MB", default: 1024 },
    { name: "virtualbox-cpu-count", type: "int", env: "VIRTUALBOX_CPU_COUNT", description: "CPUs of the VM (below 1: all host CPUs; at most 32)", default: 1 },
    { name: "virtualbox-disk-size", type: "int", env: "VIRTUALBOX_DISK_SIZE", description: "Disk size of the VM in MB", default: 20000 },
    { name: "virtualbox-image-url", type: "string", env: "VIRTUALBOX_IMAGE_URL", description: "Debian cloud image (raw): https URL, file:// URL or local path (default: Debian 13 generic raw image)" },
    { name: "virtualbox-hostonly-cidr", type: "string", env: "VIRTUALBOX_HOSTONLY_CIDR", description: "Host address and prefix of the host-only network", default: DEFAULT_HOSTONLY_CIDR },
    { name: "virtualbox-hostonly-nictype", type: "string", env: "VIRTUALBOX_HOSTONLY_NIC_TYPE", description: `Host-only NIC type (${NIC_TYPES.join(", ")})`, default: "82540EM" },
    { name: "virtualbox-hostonly-nicpromisc", type: "string", env: "VIRTUALBOX_HOSTONLY_NIC_PROMISC", description: "Host-only NIC promiscuous mode (deny, allow-vms, allow-all)", default: "deny" },
    { name: "virtualbox-hostonly-no-dhcp", type: "boolean", env: "VIRTUALBOX_HOSTONLY_NO_DHCP", description: "Disable the host-only network's DHCP server (the guest then needs its own address)" },
    { name: "virtualbox-nat-nictype", type: "string", env: "VIRTUALBOX_NAT_NICTYPE", description: `NAT NIC type (${NIC_TYPES.join(", ")})`, default: "82540EM" },
    { name: "virtualbox-no-share", type: "boolean", env: "VIRTUALBOX_NO_SHARE", description: "Do not share the home directory with the VM" },
    { name: "virtualbox-share-folder", type: "string", env: "VIRTUALBOX_SHARE_FOLDER", description: "Shared folder as HOSTDIR:NAME (default: the home directories)" },
    { name: "virtualbox-ui-type", type: "string", env: "VIRTUALBOX_UI_TYPE", description: "How the VM is started (headless, gui, sdl, separate)", default: "headless" },
    { name: "virtualbox-no-vtx-check", type: "boolean", env: "VIRTUALBOX_NO_VTX_CHECK", description: "Skip the hardware virtualization (VT-x/AMD-v) check" },
    { name: "virtualbox-host-dns-resolver", type: "boolean", env: "VIRTUALBOX_HOST_DNS_RESOLVER", description: "Use the host's DNS resolver in the NAT network" },
    { name: "virtualbox-no-dns-proxy", type: "boolean", env: "VIRTUALBOX_NO_DNS_PROXY", description: "Disable the NAT network's DNS proxy" },
  ],
  async isAvailable(host) {
    return findVBoxManage(host.env, host.platform) !== undefined;
  },
  settingsFromFlags: (values) => {
    const { config, enginePort } = settingsFromFlags(values);
    return { config: { ...config }, enginePort };
  },
  checkConfig(config) {
    const parsed = configSchema().safeParse(config);
    return parsed.success ? undefined : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  },
  async open(config, host) {
    const { VirtualBoxDriver } = await import("./driver.js");
    return new VirtualBoxDriver(configSchema().parse(config), host);
  },
};
