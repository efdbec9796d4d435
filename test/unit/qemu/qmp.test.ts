import { mkdtempSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { machineStateOfRunState, qmpCommand } from "../../../drivers/qemu/qmp.js";

/** A QMP server that follows the protocol: greeting, capabilities negotiation, then commands. */
function fakeQmp(handler: (cmd: { execute: string; arguments?: unknown }, send: (msg: object) => void) => void, opts: { greet?: boolean } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "qmp-"));
  const sock = path.join(dir, "qmp.sock");
  const seen: string[] = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => {
    sockets.push(s);
    const send = (m: object) => s.write(`${JSON.stringify(m)}\n`);
    if (opts.greet !== false) send({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 } }, capabilities: ["oob"] } });
    let negotiated = false;
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const cmd = JSON.parse(buf.slice(0, nl)) as { execute: string };
        buf = buf.slice(nl + 1);
        seen.push(cmd.execute);
        if (!negotiated) {
          if (cmd.execute !== "qmp_capabilities") send({ error: { class: "CommandNotFound", desc: "Expecting capabilities negotiation with 'qmp_capabilities'" } });
          else {
            negotiated = true;
            send({ return: {} });
          }
          continue;
        }
        handler(cmd, send);
      }
    });
  });
  return {
    sock,
    seen,
    listen: () => new Promise<void>((r) => server.listen(sock, r)),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

let current: ReturnType<typeof fakeQmp> | undefined;
afterEach(() => current?.close());

describe("qmpCommand", () => {
  it("negotiates capabilities, skips events, and returns the command's result", async () => {
    current = fakeQmp((cmd, send) => {
      send({ event: "RTC_CHANGE", data: { offset: 0 }, timestamp: { seconds: 1, microseconds: 0 } });
      send({ return: { status: "running", running: true } });
    });
    await current.listen();
    expect(await qmpCommand(current.sock, "query-status")).toEqual({ status: "running", running: true });
    expect(current.seen).toEqual(["qmp_capabilities", "query-status"]);
  });

  it("passes arguments and reports QMP errors with their class", async () => {
    let args: unknown;
    current = fakeQmp((cmd, send) => {
      args = cmd.arguments;
      send({ error: { class: "GenericError", desc: "no such device" } });
    });
    await current.listen();
    await expect(qmpCommand(current.sock, "device_del", { id: "x" })).rejects.toThrow("QMP device_del failed: GenericError: no such device");
    expect(args).toEqual({ id: "x" });
  });

  it("fails on a missing socket and on a server that never greets", async () => {
    await expect(qmpCommand("/nonexistent/qmp.sock", "query-status")).rejects.toThrow(/cannot reach \/nonexistent\/qmp\.sock \(ENOENT\)/);
    current = fakeQmp(() => undefined, { greet: false });
    await current.listen();
    await expect(qmpCommand(current.sock, "query-status", undefined, { timeoutMs: 300 })).rejects.toThrow("no answer within 300 ms");
  });
});

describe("machineStateOfRunState", () => {
  it("maps QEMU's run states to Docker Machine's", () => {
    expect(machineStateOfRunState("running")).toBe("Running");
    expect(machineStateOfRunState("paused")).toBe("Paused");
    expect(machineStateOfRunState("suspended")).toBe("Paused");
    expect(machineStateOfRunState("shutdown")).toBe("Stopped");
    expect(machineStateOfRunState("prelaunch")).toBe("Starting");
    expect(machineStateOfRunState("inmigrate")).toBe("Starting");
    expect(machineStateOfRunState("save-vm")).toBe("Saved");
    expect(machineStateOfRunState("guest-panicked")).toBe("Error");
    expect(machineStateOfRunState("internal-error")).toBe("Error");
  });
});
