/**
 * The VirtualBox driver's settings: its options (Docker Machine's flag names, defaults and
 * VIRTUALBOX_* variables), the stored configuration's schema, and the reading of flags plus
 * environment into a new machine's configuration. Cheap to import: no VBoxManage, no image code.
 *
 * The differences from Docker Machine: the host-only CIDR's default lies in 192.168.56.0/21
 * (the only range VirtualBox 6.1.28+ allows without /etc/vbox/networks.conf), and
 * `--virtualbox-image-url` replaces `--virtualbox-boot2docker-url`.
 */
import * as z from "zod/mini";
import { boolOption, defineOptions, enumOption, intOption, stringOption, type OptionInput } from "../../src/model/options.js";
import { DEFAULT_ENGINE_PORT } from "../../src/model/machine.js";
import { defaultCloudImageUrl } from "../../src/images/default-url.js";
import { checkHostOnlyCidr, DEFAULT_HOSTONLY_CIDR } from "./network.js";

export const NIC_TYPES = ["Am79C970A", "Am79C973", "Am79C960", "82540EM", "82543GC", "82545EM", "virtio"] as const;
export const PROMISC_MODES = ["deny", "allow-vms", "allow-all"] as const;
export const UI_TYPES = ["headless", "gui", "sdl", "separate"] as const;

function checkShareFolder(share: string): string | undefined {
  const i = share.lastIndexOf(":");
  if (i <= 0 || i === share.length - 1 || /^[A-Za-z]$/.test(share.slice(0, i))) return "expected HOSTDIR:NAME (split at the last colon)";
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(share.slice(i + 1))) return "the share name may use letters, digits, '.', '_', '-' and '/'";
  return undefined;
}

/** The options, with Docker Machine's flag names and VIRTUALBOX_* variables. */
export const VIRTUALBOX_OPTIONS = defineOptions({
  memory: intOption({ flag: "virtualbox-memory", env: "VIRTUALBOX_MEMORY_SIZE", help: "Memory of the VM in MB", default: 1024, min: 256, max: 1024 * 1024 }),
  /** As given: < 1 means every host CPU (resolved when the VM is configured), capped at 32. */
  cpuCount: intOption({ flag: "virtualbox-cpu-count", env: "VIRTUALBOX_CPU_COUNT", help: "CPUs of the VM (below 1: all host CPUs; at most 32)", default: 1, min: -1024, max: 1024 }),
  diskSizeMb: intOption({ flag: "virtualbox-disk-size", env: "VIRTUALBOX_DISK_SIZE", help: "Disk size of the VM in MB", default: 20000, min: 1024, max: 2 * 1024 * 1024 }),
  imageUrl: stringOption({
    flag: "virtualbox-image-url",
    env: "VIRTUALBOX_IMAGE_URL",
    help: "Debian cloud image (raw): https URL, file:// URL or local path (default: Debian 13 generic raw image)",
  }),
  hostOnlyCidr: stringOption({
    flag: "virtualbox-hostonly-cidr",
    env: "VIRTUALBOX_HOSTONLY_CIDR",
    help: "Host address and prefix of the host-only network",
    default: DEFAULT_HOSTONLY_CIDR,
    check: (v) => checkHostOnlyCidr(v.trim()),
    map: (v) => v.trim(),
  }),
  hostOnlyNicType: enumOption({ flag: "virtualbox-hostonly-nictype", env: "VIRTUALBOX_HOSTONLY_NIC_TYPE", help: `Host-only NIC type (${NIC_TYPES.join(", ")})`, values: NIC_TYPES, default: "82540EM" }),
  hostOnlyNicPromisc: enumOption({
    flag: "virtualbox-hostonly-nicpromisc",
    env: "VIRTUALBOX_HOSTONLY_NIC_PROMISC",
    help: "Host-only NIC promiscuous mode (deny, allow-vms, allow-all)",
    values: PROMISC_MODES,
    default: "deny",
  }),
  hostOnlyNoDhcp: boolOption({
    flag: "virtualbox-hostonly-no-dhcp",
    env: "VIRTUALBOX_HOSTONLY_NO_DHCP",
    help: "Disable the host-only network's DHCP server (the guest then needs its own address)",
  }),
  natNicType: enumOption({ flag: "virtualbox-nat-nictype", env: "VIRTUALBOX_NAT_NICTYPE", help: `NAT NIC type (${NIC_TYPES.join(", ")})`, values: NIC_TYPES, default: "82540EM" }),
  noShare: boolOption({ flag: "virtualbox-no-share", env: "VIRTUALBOX_NO_SHARE", help: "Do not share the home directory with the VM" }),
  /** `hostdir:name`; "" = the platform's default (Linux /home:hosthome, macOS /Users:Users, Windows C:\\Users:c/Users). */
  shareFolder: stringOption({
    flag: "virtualbox-share-folder",
    env: "VIRTUALBOX_SHARE_FOLDER",
    help: "Shared folder as HOSTDIR:NAME (default: the home directories)",
    check: checkShareFolder,
  }),
  uiType: enumOption({ flag: "virtualbox-ui-type", env: "VIRTUALBOX_UI_TYPE", help: "How the VM is started (headless, gui, sdl, separate)", values: UI_TYPES, default: "headless" }),
  noVtxCheck: boolOption({ flag: "virtualbox-no-vtx-check", env: "VIRTUALBOX_NO_VTX_CHECK", help: "Skip the hardware virtualization (VT-x/AMD-v) check" }),
  hostDnsResolver: boolOption({ flag: "virtualbox-host-dns-resolver", env: "VIRTUALBOX_HOST_DNS_RESOLVER", help: "Use the host's DNS resolver in the NAT network" }),
  noDnsProxy: boolOption({ flag: "virtualbox-no-dns-proxy", env: "VIRTUALBOX_NO_DNS_PROXY", help: "Disable the NAT network's DNS proxy" }),
});

/** Built on first use: every command loads the descriptor, few need the schema (start-up time). */
function buildSchema() {
  return z.object({
    ...VIRTUALBOX_OPTIONS.schemaShape(),
    imageUrl: z.string().check(z.minLength(1)),
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
export function virtualboxConfigSchema(): ReturnType<typeof buildSchema> {
  return (schema ??= buildSchema());
}
/** A machine's stored settings. The driver never changes one in place: it replaces it whole. */
export type VirtualBoxConfig = Readonly<z.infer<ReturnType<typeof buildSchema>>>;

/** Reads the options (flags by flag name, then VIRTUALBOX_* variables, then defaults) into a new machine's config. */
export function settingsFromFlags(cli: OptionInput["cli"], env: OptionInput["env"] = {}): { config: VirtualBoxConfig; enginePort: number } {
  const v = VIRTUALBOX_OPTIONS.read({ cli, env });
  const config: VirtualBoxConfig = {
    ...v,
    imageUrl: v.imageUrl || defaultCloudImageUrl(process.arch, "generic", "raw"),
    sshPort: 0,
    ipAddress: "",
    hostOnlyInterface: "",
    natMac: "",
    hostOnlyMac: "",
    hostKey: "",
  };
  return { config, enginePort: DEFAULT_ENGINE_PORT };
}
