/**
 * A real HTTP server on 127.0.0.1 for the image cache tests: routes by path,
 * counts every request per path, and can hold a response midway.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface TestServer {
  /** http://127.0.0.1:PORT */
  readonly base: string;
  /** Requests seen, per path ("GET /img/x.qcow2" -> 1). */
  readonly hits: Map<string, number>;
  count(path: string, method?: string): number;
  route(path: string, handler: Handler): void;
  close(): Promise<void>;
}

export async function startServer(): Promise<TestServer> {
  const routes = new Map<string, Handler>();
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? "/", "http://x").pathname;
    const key = `${req.method} ${p}`;
    hits.set(key, (hits.get(key) ?? 0) + 1);
    const handler = routes.get(p);
    if (!handler) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    void Promise.resolve(handler(req, res)).catch((err: unknown) => {
      res.destroy(err as Error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    hits,
    count: (path, method = "GET") => hits.get(`${method} ${path}`) ?? 0,
    route: (path, handler) => void routes.set(path, handler),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves `body` with Content-Length (or chunked, without it). */
export function serve(body: Buffer | string, options: { contentLength?: boolean; status?: number } = {}): Handler {
  return (_req, res) => {
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (options.contentLength !== false) headers["content-length"] = String(Buffer.byteLength(body));
    res.writeHead(options.status ?? 200, headers);
    if (options.contentLength === false) {
      // Several writes without a length: chunked transfer encoding.
      const buf = Buffer.from(body);
      const step = Math.max(1, Math.ceil(buf.length / 4));
      for (let i = 0; i < buf.length; i += step) res.write(buf.subarray(i, i + step));
      res.end();
    } else {
      res.end(body);
    }
  };
}
