/**
 * A minimal QMP client (QEMU Machine Protocol, docs/interop/qmp-spec): connect to the
 * machine's unix socket, read the greeting, negotiate with `qmp_capabilities`, then send
 * one command and return its `return` value. Asynchronous events are skipped. One
 * connection per call keeps it simple and leaves the socket free for others (QEMU serves
 * one QMP client at a time per socket).
 */
import { connect } from "node:net";
import { TsmError } from "../../src/model/errors.js";

export class QmpError extends TsmError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("QMP", message, options);
  }
}

export interface QmpOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Runs one QMP command; resolves with its `return` member. */
export function qmpCommand(socketPath: string, execute: string, args?: Record<string, unknown>, options: QmpOptions = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path: socketPath });
    let buffer = "";
    let phase: "greeting" | "capabilities" | "command" = "greeting";
    const finish = (err: Error | undefined, value?: unknown) => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    const onAbort = () => finish(new QmpError(`QMP ${execute}: interrupted`));
    const timer = setTimeout(() => finish(new QmpError(`QMP ${execute}: no answer within ${options.timeoutMs ?? 5000} ms`)), options.timeoutMs ?? 5000);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const send = (msg: object) => socket.write(`${JSON.stringify(msg)}\n`);
    socket.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line === "") continue;
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(line) as Record<string, unknown>;
        } catch (e) {
          finish(new QmpError(`QMP ${execute}: unreadable reply`, { cause: e }));
          return;
        }
        if ("event" in msg) continue;
        if (phase === "greeting") {
          if (!("QMP" in msg)) return finish(new QmpError(`QMP ${execute}: no greeting`));
          phase = "capabilities";
          send({ execute: "qmp_capabilities" });
        } else if (phase === "capabilities") {
          if ("error" in msg) return finish(new QmpError(`QMP capabilities refused: ${describe(msg.error)}`));
          phase = "command";
          send(args ? { execute, arguments: args } : { execute });
        } else {
          if ("error" in msg) return finish(new QmpError(`QMP ${execute} failed: ${describe(msg.error)}`));
          return finish(undefined, msg.return);
        }
      }
    });
    socket.once("error", (e) => finish(new QmpError(`QMP ${execute}: cannot reach ${socketPath} (${(e as NodeJS.ErrnoException).code ?? e.message})`, { cause: e })));
    socket.once("close", () => finish(new QmpError(`QMP ${execute}: connection closed`)));
  });
}

function describe(err: unknown): string {
  const e = err as { class?: string; desc?: string } | undefined;
  return `${e?.class ?? "Error"}: ${e?.desc ?? "unknown"}`;
}

/** QEMU's RunState names (qapi/run-state.json) mapped to Docker Machine's states. */
export function machineStateOfRunState(status: string): "Running" | "Paused" | "Stopped" | "Saved" | "Error" | "Starting" {
  switch (status) {
    case "running":
      return "Running";
    case "paused":
    case "suspended":
    case "debug":
      return "Paused";
    case "shutdown":
      return "Stopped";
    case "save-vm":
    case "postmigrate":
      return "Saved";
    case "prelaunch":
    case "inmigrate":
    case "restore-vm":
    case "finish-migrate":
      return "Starting";
    default:
      // internal-error, io-error, guest-panicked, watchdog, colo
      return "Error";
  }
}
