/**
 * Waiting for a booting guest's sshd. A TCP connect alone proves nothing for a VM:
 * QEMU's user-mode network and VirtualBox's NAT accept connections on a forwarded port
 * before the guest listens, then drop them. sshd speaks first (RFC 4253 §4.2), so the
 * proof is a line starting with "SSH-" from the other end.
 */
import { connect } from "node:net";
import { throwIfAborted } from "../model/abort.js";
import { TsmError } from "../model/errors.js";

export interface WaitForSshOptions {
  host: string;
  port: number;
  timeoutMs: number;
  signal: AbortSignal;
  /** Checked between attempts: false means the VM is gone, so waiting is pointless. */
  alive?: () => Promise<boolean>;
  /** Pause between attempts (default 1000 ms). */
  intervalMs?: number;
  /** What to call the machine in errors. */
  what?: string;
}

export class SshWaitError extends TsmError {
  constructor(code: "SSH_TIMEOUT" | "VM_DIED", message: string) {
    super(code, message);
  }
}

/** One attempt: resolves true when the peer sends an SSH banner within `ms`. */
export function sshBannerOnce(host: string, port: number, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let seen = "";
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.on("data", (chunk: Buffer) => {
      seen += chunk.toString("latin1");
      // Servers may send other lines before the version line (RFC 4253 §4.2).
      if (/(^|\n)SSH-/.test(seen)) done(true);
      else if (seen.length > 8192) done(false);
    });
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
  });
}

export async function waitForSshBanner(opts: WaitForSshOptions): Promise<void> {
  const what = opts.what ?? `${opts.host}:${opts.port}`;
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    throwIfAborted(opts.signal, `waiting for SSH on ${what}`);
    if (await sshBannerOnce(opts.host, opts.port, Math.max(500, Math.min(5000, deadline - Date.now())))) return;
    if (opts.alive && !(await opts.alive())) throw new SshWaitError("VM_DIED", `${what} stopped while waiting for SSH`);
    if (Date.now() >= deadline) {
      throw new SshWaitError("SSH_TIMEOUT", `${what} did not answer on SSH within ${Math.round(opts.timeoutMs / 1000)} s`);
    }
    await new Promise<void>((resolve) => {
      const onAbort = () => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        opts.signal.removeEventListener("abort", onAbort);
        resolve();
      }, opts.intervalMs ?? 1000);
      opts.signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
