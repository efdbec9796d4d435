import { describe, expect, it } from "vitest";
import { genericDriver } from "../../../drivers/generic/index.js";
import type { DriverHost, OpContext } from "../../../src/model/driver.js";
import { ExitCode, isTsmError } from "../../../src/model/errors.js";
import type { Remote } from "../../../src/model/seams.js";

function host(commands: string[], onReboot: () => void): DriverHost {
  return {
    machineName: "g1",
    machineDir: "/nonexistent/machines/g1",
    storeRoot: "/nonexistent",
    cacheDir: "/nonexistent/cache",
    leases: {
      lease: async () => {
        throw new Error("the generic driver leases no addresses");
      },
      release: async () => undefined,
    },
    exec: async () => {
      throw new Error("the generic driver runs no local program");
    },
    env: {},
    async withRemote<T>(_ctx: OpContext, fn: (remote: Remote) => Promise<T>): Promise<T> {
      return fn({
        isRoot: true,
        run: async (command) => {
          commands.push(command);
          if (command.includes("reboot")) onReboot();
          // The marker never disappears: the server has not rebooted yet.
          return { stdout: "", stderr: "", exitCode: 0 };
        },
      });
    },
  };
}

describe("generic restart", () => {
  it("Ctrl-C while waiting for the server to come back is an interrupt (exit 130), not a failure", async () => {
    const controller = new AbortController();
    const commands: string[] = [];
    const driver = await genericDriver.open(
      { ipAddress: "192.0.2.10", sshUser: "root", sshPort: 22, sshKeyPath: "", enginePort: 2376 },
      host(commands, () => setTimeout(() => controller.abort(), 10)),
    );
    const lines: string[] = [];
    const err = await driver.restart({ signal: controller.signal, log: (l) => lines.push(l), debug: () => undefined }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTsmError(err)).toBe(true);
    expect(err).toMatchObject({ code: "INTERRUPTED", exitCode: ExitCode.interrupted });
    expect((err as Error).message).toBe("Interrupted while waiting for the server to reboot");
    expect(commands[0]).toMatch(/^touch \/run\/tsm-reboot-/);
    expect(commands.some((c) => c.includes("systemctl reboot"))).toBe(true);
    expect(lines).toEqual(["Rebooting the server...", "Waiting for the server to come back..."]);
  });
});
