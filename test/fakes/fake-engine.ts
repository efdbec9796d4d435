/**
 * A Docker Engine API over mutual TLS on 127.0.0.1, answering from a route table,
 * with a server certificate from the store's own CA (made here the way create
 * would, so create keeps it). Requests are recorded; an unknown route answers 404
 * and is remembered in `unexpected`.
 */
import https from "node:https";
import type { AddressInfo } from "node:net";
import { issueServerCert } from "../../src/certs/authority.js";
import { ensureCaAndClient } from "../../src/certs/bootstrap.js";
import type { StorePaths } from "../../src/store/paths.js";

export interface EngineRequest {
  method: string;
  path: string;
  body: unknown;
}

export type Route = (body: unknown) => { status?: number; body?: unknown };

export interface FakeEngine {
  /** tcp://127.0.0.1:PORT */
  readonly url: string;
  readonly requests: EngineRequest[];
  readonly unexpected: string[];
  close(): Promise<void>;
}

/** `routes` keys are "METHOD /path" (the path without its query string); `port` 0 (default) picks a free one. */
export async function startFakeEngine(paths: StorePaths, routes: Record<string, Route>, options: { port?: number } = {}): Promise<FakeEngine> {
  const authority = await ensureCaAndClient(paths, { organization: "tsm-test" });
  const server = await issueServerCert({ ca: authority.ca, organization: "tsm-test.engine", commonName: "engine", sans: ["127.0.0.1"] });
  const requests: EngineRequest[] = [];
  const unexpected: string[] = [];
  const srv = https.createServer({ key: server.keyPem, cert: server.certPem, ca: authority.ca.certPem, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const body: unknown = text === "" ? undefined : JSON.parse(text);
      const route = `${req.method} ${(req.url ?? "").split("?")[0]}`;
      requests.push({ method: req.method ?? "", path: req.url ?? "", body });
      const handler = routes[route];
      if (!handler) {
        unexpected.push(route);
        res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ message: `no route ${route}` }));
        return;
      }
      const answer = handler(body);
      res.writeHead(answer.status ?? 200, { "Content-Type": "application/json" });
      res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => srv.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = srv.address() as AddressInfo;
  return {
    url: `tcp://127.0.0.1:${port}`,
    requests,
    unexpected,
    close: () => new Promise((resolve) => srv.close(() => resolve())),
  };
}
