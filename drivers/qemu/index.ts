/**
 * The `qemu` driver: local virtual machines under QEMU (KVM, HVF or TCG), booted from a
 * verified cloud image with a cloud-init seed, reached through port forwards on
 * 127.0.0.1, and provisioned over SSH like any server. The descriptor is cheap to load;
 * the machine operations (driver.ts) load on `open`.
 */
import { existsSync } from "node:fs";
import type { DriverDescriptor } from "../../src/model/driver.js";
import { defaultCloudImageUrl } from "../../src/images/default-url.js";
import { schemaProblems } from "../../src/model/options.js";
import { qemuConfigSchema, QEMU_FLAGS, qemuSettingsFromFlags } from "./settings.js";

export const qemuDriver: DriverDescriptor = {
  name: "qemu",
  description: "A local virtual machine under QEMU (KVM or HVF when available, else TCG emulation), from a Debian cloud image",
  localVm: true,
  flags: QEMU_FLAGS,
  async isAvailable(host) {
    const { which } = await import("./tools.js");
    const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
    return (await which(String(host.env.QEMU_BINARY || `qemu-system-${arch}`), host.env)) !== undefined;
  },
  settingsFromFlags(input) {
    const config = qemuSettingsFromFlags(
      input.cli,
      { arch: process.arch, firmwareExists: existsSync, defaultImageUrl: (arch) => defaultCloudImageUrl(arch, "genericcloud", "qcow2") },
      input.env,
    );
    return { config: { ...config }, enginePort: config.enginePort };
  },
  checkConfig: (config) => schemaProblems(qemuConfigSchema(), config),
  async open(config, host) {
    const { QemuDriver } = await import("./driver.js");
    return new QemuDriver(qemuConfigSchema().parse(config), host);
  },
};
