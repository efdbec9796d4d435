/** Free TCP ports on the loopback interface, for a VM's host port forwards. */
import { createServer, type Server } from "node:net";

/**
 * `count` distinct ports that were free on 127.0.0.1 a moment ago. All are held open
 * together while choosing, so they differ; another process may still take one before
 * the VM binds it, which QEMU and VirtualBox report as a bind error at start.
 */
export async function freeLocalPorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => resolve());
      });
    }
    return servers.map((s) => {
      const addr = s.address();
      if (addr === null || typeof addr === "string") throw new Error("no TCP address");
      return addr.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** true when nothing listens on 127.0.0.1:port (so a VM may bind it). */
export async function isLocalPortFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
