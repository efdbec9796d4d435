/**
 * The built-in drivers, in preference order for `create` without `-d`
 * (the first local-VM driver whose hypervisor is available wins).
 * Imported only by the composition root, src/cli/main.ts.
 */
import type { DriverDescriptor } from "../src/model/driver.js";
import { genericDriver } from "./generic/index.js";
import { noneDriver } from "./none/index.js";
import { virtualboxDriver } from "./virtualbox/index.js";
import { qemuDriver } from "./qemu/index.js";

export const builtinDrivers: readonly DriverDescriptor[] = [genericDriver, noneDriver, virtualboxDriver, qemuDriver];
