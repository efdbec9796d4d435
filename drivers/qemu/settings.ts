/**
 * The QEMU driver's settings: flags (with their QEMU_* variables), their validation, and
 * the stored configuration's schema. Cheap to import: no QEMU, no image code.
 */
import path from "node:path";
import * as z from "zod/mini";
import type { DriverFlag, FlagValues } from "../../src/model/driver.js";
import { UsageError } from "../../src/model/errors.js";
import { DEFAULT_ENGINE_PORT } from "../../src/model/machine.js";

const ACCELS = ["auto", "kvm", "hvf", "tcg"] as const;

/** Built on first use: every command loads the descriptor, few need the schema (start-up time). */
function buildSchema() {
  const port = z.int().check(z.minimum(0), z.maximum(65535));
  return z.object({
    arch: z.enum(["x86_64", "aarch64"]),
    binary: z.string().check(z.minLength(1)),
    firmware: z.string(),
    accel: z.enum(ACCELS),
    /** The accelerator of the last start ("" before the first). */
    activeAccel: z.enum(["", "kvm", "hvf", "tcg"]),
    /** QEMU's -cpu of the last start ("" before the first), and why it fell back to TCG ("" if it did not): the next start uses them directly. */
    cpuModel: z._default(z.string(), ""),
    accelFallback: z._default(z.string(), ""),
    cpuCount: z.int().check(z.minimum(1)),
    memoryMb: z.int().check(z.minimum(256)),
    diskSizeMb: z.int().check(z.minimum(1024)),
    imageUrl: z.string().check(z.minLength(1)),
    checksumUrl: z.string(),
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

export const QEMU_FLAGS: readonly DriverFlag[] = [
  { name: "qemu-cpu-count", type: "int", env: "QEMU_CPU_COUNT", description: "Number of virtual CPUs", default: 2 },
  { name: "qemu-memory", type: "int", env: "QEMU_MEMORY", description: "Memory in MB", default: 2048 },
  { name: "qemu-disk-size", type: "int", env: "QEMU_DISK_SIZE", description: "Disk size in MB", default: 20000 },
  {
    name: "qemu-image-url",
    type: "string",
    env: "QEMU_IMAGE_URL",
    description: "Cloud image: https:// URL (verified against SHA512SUMS beside it) or a local qcow2/raw file (default: Debian 13 genericcloud)",
  },
  { name: "qemu-image-checksum-url", type: "string", env: "QEMU_IMAGE_CHECKSUM_URL", description: "Checksum file of the image URL (default: SHA512SUMS in the image's directory)" },
  { name: "qemu-binary", type: "string", env: "QEMU_BINARY", description: "QEMU system emulator (default: qemu-system-x86_64, or qemu-system-aarch64 on arm64)" },
  { name: "qemu-accel", type: "string", env: "QEMU_ACCEL", description: "Accelerator: auto (KVM or HVF when usable, else TCG), kvm, hvf or tcg", default: "auto" },
];

const AARCH64_FIRMWARE = [
  "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd",
  "/usr/share/AAVMF/AAVMF_CODE.fd",
  "/opt/homebrew/share/qemu/edk2-aarch64-code.fd",
  "/usr/local/share/qemu/edk2-aarch64-code.fd",
];

function intFlag(values: FlagValues, name: string, fallback: number, min: number, max: number, unit: string): number {
  const raw = values[name];
  const n = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`Invalid --${name} ${JSON.stringify(raw)}: expected ${unit} between ${min} and ${max}`);
  return n;
}

export function qemuSettingsFromFlags(values: FlagValues, env: { arch: NodeJS.Architecture; firmwareExists: (p: string) => boolean; defaultImageUrl: (arch: NodeJS.Architecture) => string }): QemuConfig {
  const arch = env.arch === "x64" ? "x86_64" : env.arch === "arm64" ? "aarch64" : undefined;
  if (!arch) throw new UsageError(`The qemu driver supports x64 and arm64 hosts, not ${env.arch}`);
  const accelRaw = String(values["qemu-accel"] ?? "auto");
  const parsedAccel = (ACCELS as readonly string[]).includes(accelRaw) ? { data: accelRaw as (typeof ACCELS)[number] } : undefined;
  if (!parsedAccel) throw new UsageError(`Invalid --qemu-accel ${JSON.stringify(accelRaw)}: expected auto, kvm, hvf or tcg`);
  const binaryRaw = String(values["qemu-binary"] ?? "");
  const binary = binaryRaw === "" ? `qemu-system-${arch}` : binaryRaw.includes("/") ? path.resolve(binaryRaw) : binaryRaw;
  const imageRaw = String(values["qemu-image-url"] ?? "");
  const imageUrl = imageRaw === "" ? env.defaultImageUrl(env.arch) : /^[a-z][a-z0-9+.-]*:\/\//i.test(imageRaw) ? imageRaw : path.resolve(imageRaw);
  return {
    arch,
    binary,
    firmware: arch === "aarch64" ? (AARCH64_FIRMWARE.find((p) => env.firmwareExists(p)) ?? "") : "",
    accel: parsedAccel.data,
    activeAccel: "",
    cpuModel: "",
    accelFallback: "",
    cpuCount: intFlag(values, "qemu-cpu-count", 2, 1, 256, "a CPU count"),
    memoryMb: intFlag(values, "qemu-memory", 2048, 256, 1024 * 1024, "a size in MB"),
    diskSizeMb: intFlag(values, "qemu-disk-size", 20000, 1024, 64 * 1024 * 1024, "a size in MB"),
    imageUrl,
    checksumUrl: String(values["qemu-image-checksum-url"] ?? ""),
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
