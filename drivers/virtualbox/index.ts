/**
 * The `virtualbox` driver: a local VM under VirtualBox 6.1 or 7.x, driven through VBoxManage
 * as Docker Machine's virtualbox driver was (reference/docker-machine.md §6), with a Debian
 * cloud image and a cloud-init seed instead of boot2docker.
 *
 * This file is the cheap descriptor: the options and the stored schema are settings.ts's;
 * the machine operations (driver.ts, bundled apart) load on `open`.
 */
import type { DriverDescriptor } from "../../src/model/driver.js";
import { schemaProblems } from "../../src/model/options.js";
import { settingsFromFlags, VIRTUALBOX_OPTIONS, virtualboxConfigSchema } from "./settings.js";
import { findVBoxManage } from "./vboxmanage.js";

export const virtualboxDriver: DriverDescriptor = {
  name: "virtualbox",
  description: "A local VM under VirtualBox (6.1 or 7.x), driven through VBoxManage",
  localVm: true,
  flags: VIRTUALBOX_OPTIONS.flags,
  async isAvailable(host) {
    return findVBoxManage(host.env, host.platform) !== undefined;
  },
  settingsFromFlags: (input) => {
    const { config, enginePort } = settingsFromFlags(input.cli, input.env);
    return { config: { ...config }, enginePort };
  },
  checkConfig: (config) => schemaProblems(virtualboxConfigSchema(), config),
  async open(config, host) {
    const { VirtualBoxDriver } = await import("./driver.js");
    return new VirtualBoxDriver(virtualboxConfigSchema().parse(config), host);
  },
};
