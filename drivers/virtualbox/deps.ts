/**
 * What the VirtualBox driver takes from its surroundings besides DriverHost (files, the host's
 * network interfaces and CPUs, local ports, the SSH banner wait, the first-boot seed, the image
 * cache, locks, sleeps): the real ones here, a table fake in tests (test/unit/virtualbox/fake-vbox.ts).
 * The heavier ones load on first use.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { rename } from "node:fs/promises";
import os from "node:os";
import type { OpContext } from "../../src/model/driver.js";
import { sleep } from "../../src/model/abort.js";
import type { HostAddress } from "./network.js";

/** What the driver takes from its surroundings besides DriverHost: replaced in tests. */
export interface VBoxDeps {
  platform: NodeJS.Platform;
  readFile(file: string): string | undefined;
  exists(file: string): boolean;
  isDirectory(file: string): boolean;
  networkInterfaces(): HostAddress[];
  hostCpus(): number;
  freeLocalPorts(count: number): Promise<number[]>;
  isLocalPortFree(port: number): Promise<boolean>;
  waitForSshBanner(opts: { host: string; port: number; timeoutMs: number; signal: AbortSignal; alive?: () => Promise<boolean>; what?: string }): Promise<void>;
  writeFirstBoot(opts: {
    machineDir: string;
    hostname: string;
    instanceId: string;
    networkConfig?: Record<string, unknown>;
  }): Promise<{ hostKey: string; seedPath: string; userKeyPath: string }>;
  ensureImage(opts: { cacheDir: string; source: string; ctx: OpContext }): Promise<{ path: string; digest: string; sizeBytes: number }>;
  /** Runs fn under an inter-process lock in dir (the VDI conversion cache). */
  withLock<T>(dir: string, name: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T>;
  /** Moves a finished temporary file into place. */
  rename(from: string, to: string): Promise<void>;
  /** Waits `ms`; rejects with abortError(signal, what) as soon as the signal aborts (model/abort.ts). */
  sleep(ms: number, signal: AbortSignal, what: string): Promise<void>;
}

export const realDeps: VBoxDeps = {
  platform: process.platform,
  readFile(file) {
    try {
      return readFileSync(file, "utf8");
    } catch {
      return undefined;
    }
  },
  exists: (f) => existsSync(f),
  isDirectory(f) {
    try {
      return statSync(f).isDirectory();
    } catch {
      return false;
    }
  },
  networkInterfaces() {
    const out: HostAddress[] = [];
    for (const [iface, addrs] of Object.entries(os.networkInterfaces())) {
      for (const a of addrs ?? []) out.push({ iface, address: a.address, netmask: a.netmask, family: a.family, internal: a.internal });
    }
    return out;
  },
  hostCpus: () => os.availableParallelism?.() ?? os.cpus().length,
  async freeLocalPorts(count) {
    const { freeLocalPorts } = await import("../../src/vm/ports.js");
    return freeLocalPorts(count);
  },
  async isLocalPortFree(port) {
    const { isLocalPortFree } = await import("../../src/vm/ports.js");
    return isLocalPortFree(port);
  },
  async waitForSshBanner(opts) {
    const { waitForSshBanner } = await import("../../src/vm/ssh-wait.js");
    return waitForSshBanner(opts);
  },
  async writeFirstBoot(opts) {
    const { writeFirstBoot } = await import("../../src/vm/first-boot.js");
    return writeFirstBoot(opts as Parameters<typeof writeFirstBoot>[0]);
  },
  async ensureImage({ cacheDir, source, ctx }) {
    const { ensureImage, imageProgressFromLog } = await import("../../src/images/cache.js");
    return ensureImage({ cacheDir, source, progress: imageProgressFromLog((l) => ctx.log(l)), signal: ctx.signal });
  },
  async withLock(dir, name, signal, fn) {
    const { withCacheLock } = await import("../../src/images/lock.js");
    return withCacheLock(dir, name, signal, fn);
  },
  rename: (a, b) => rename(a, b),
  sleep,
};
