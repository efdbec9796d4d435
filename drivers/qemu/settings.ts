/**
 * The QEMU driver's settings: flags (with their QEMU_* variables), their validation, and
 * the stored configuration's schema. Cheap to import: no QEMU, no image code.
 */
import path from "node:path";
import * as z from "zod/mini";
import type { DriverFlag } from "../../src/model/driver.js";
import { defineOptions, enumOption, intOption, stringOption, type OptionInput } from "../../src/model/options.js";
import { UsageError } from "../../src/model/errors.js";
import { DEFAULT_ENGINE_PORT } from "../../src/model/machine.js";

const ACCELS = ["auto", "kvm", "hvf", "tcg"] as const;

/** The options, with their QEMU_* variables. */
export const QEMU_OPTIONS = defineOptions({
  cpuCount: intOption({ flag: "qemu-cpu-count", env: "QEMU_CPU_COUNT", help: "Number of virtual CPUs", default: 2, min: 1, max: 256, expected: "a CPU count between 1 and 256" }),
  memoryMb: intOption({ flag: "qemu-memory", env: "QEMU_MEMORY", help: "Memory in MB", default: 2048, min: 256, max: 1024 * 1024, expected: `a size in MB between 256 and ${1024 * 1024}` }),
  diskSizeMb: intOption({
    flag: "qemu-disk-size",
    env: "QEMU_DISK_SIZE",
    help: "Disk size in MB",
    default: 20000,
    min: 1024,
    max: 64 * 1024 * 1024,
    expected: `a size in MB between 1024 and ${64 * 1024 * 1024}`,
  }),
  imageUrl: stringOption({
    flag: "qemu-image-url",
    env: "QEMU_IMAGE_URL",
    help: "Cloud image: https:// URL (verified against SHA512SUMS beside it) or a local qcow2/raw file (default: Debian 13 genericcloud)",
    map: (v) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : path.resolve(v)),
  }),
  checksumUrl: stringOption({ flag: "qemu-image-checksum-url", env: "QEMU_IMAGE_CHECKSUM_URL", help: "Checksum file of the image URL (default: SHA512SUMS in the image's directory)" }),
  binary: stringOption({
    flag: "qemu-binary",
    env: "QEMU_BINARY",
    help: "QEMU system emulator (default: qemu-system-x86_64, or qemu-system-aarch64 on arm64)",
    map: (v) => (v.includes("/") ? path.resolve(v) : v),
  }),
  accel: enumOption({
    flag: "qemu-accel",
    env: "QEMU_ACCEL",
    help: "Accelerator: auto (KVM or HVF when usable, else TCG), kvm, hvf or tcg",
    values: ACCELS,
    default: "auto",
    expected: "auto, kvm, hvf or tcg",
    caseSensitive: true,
  }),
});

export const QEMU_FLAGS: readonly DriverFlag[] = QEMU_OPTIONS.flags;

/** Built on first use: every command loads the descriptor, few need the schema (start-up time). */
function buildSchema() {
  const port = z.int().check(z.minimum(0), z.maximum(65535));
  return z.object({
    arch: z.enum(["x86_64", "aarch64"]),
    ...QEMU_OPTIONS.schemaShape(),
    binary: z.string().check(z.minLength(1)),
    firmware: z.string(),
    /** The accelerator of the last start ("" before the first). */
    activeAccel: z.enum(["", "kvm", "hvf", "tcg"]),
    /** QEMU's -cpu of the last start ("" before the first), and why it fell back to TCG ("" if it did not): the next start uses them directly. */
    cpuModel: z._default(z.string(), ""),
    accelFallback: z._default(z.string(), ""),
    imageUrl: z.string().check(z.minLength(1)),
    imageDigest: z.string(),
    imagePath: z.string(),
    sshUser: z.string().check(z.minLength(1)),
    /** Host ports on 127.0.0.1 (0 until create chooses them; kept for the machine's life). */
    sshPort: port,
    engineHostPort: port,
    /** The engine's port inside the guest. */
    enginePort: port,
    natMac: z.string(),
    sharedMac: z.string(),
    sharedAddress: z.string(),
    sharedGroup: z.string(),
    /** The guest's SSH host key, known from its seed before first contact. */
    hostKey: z.string(),
  });
}
let schema: ReturnType<typeof buildSchema> | undefined;
export function qemuConfigSchema(): ReturnType<typeof buildSchema> {
  return (schema ??= buildSchema());
}
export type QemuConfig = z.infer<ReturnType<typeof buildSchema>>;

const AARCH64_FIRMWARE = [
  "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd",
  "/usr/share/AAVMF/AAVMF_CODE.fd",
  "/opt/homebrew/share/qemu/edk2-aarch64-code.fd",
  "/usr/local/share/qemu/edk2-aarch64-code.fd",
];

/** Reads the options (flags by flag name, then QEMU_* variables, then defaults) into a new machine's config. */
export function qemuSettingsFromFlags(
  cli: OptionInput["cli"],
  host: { arch: NodeJS.Architecture; firmwareExists: (p: string) => boolean; defaultImageUrl: (arch: NodeJS.Architecture) => string },
  env: OptionInput["env"] = {},
): QemuConfig {
  const arch = host.arch === "x64" ? "x86_64" : host.arch === "arm64" ? "aarch64" : undefined;
  if (!arch) throw new UsageError(`The qemu driver supports x64 and arm64 hosts, not ${host.arch}`);
  const v = QEMU_OPTIONS.read({ cli, env });
  return {
    arch,
    binary: v.binary || `qemu-system-${arch}`,
    firmware: arch === "aarch64" ? (AARCH64_FIRMWARE.find((p) => host.firmwareExists(p)) ?? "") : "",
    accel: v.accel,
    activeAccel: "",
    cpuModel: "",
    accelFallback: "",
    cpuCount: v.cpuCount,
    memoryMb: v.memoryMb,
    diskSizeMb: v.diskSizeMb,
    imageUrl: v.imageUrl || host.defaultImageUrl(host.arch),
    checksumUrl: v.checksumUrl,
    imageDigest: "",
    imagePath: "",
    sshUser: "docker",
    sshPort: 0,
    engineHostPort: 0,
    enginePort: DEFAULT_ENGINE_PORT,
    natMac: "",
    sharedMac: "",
    sharedAddress: "",
    sharedGroup: "",
    hostKey: "",
  };
}
