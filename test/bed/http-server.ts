/**
 * A static HTTP server that the bed's test hosts can reach: it listens on the gateway address
 * of the `tsm-testbed` bridge network (this machine's address on that bridge), on a free port,
 * so `curl http://<gateway>:<port>/install.sh` works from inside every host, and from this
 * machine too. For install scripts and binary tarballs served to tsm's install methods.
 *
 * GET and HEAD only; exact paths only (no directory listings, no `..` resolution); files are
 * streamed from disk with their current size as Content-Length; anything else is 404 (405 for
 * other methods). No range requests.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { docker, ensureDockerd } from './dockerd.js';
import * as hosts from './hosts.js';
import { TEST_NETWORK } from './hosts.js';

/** What to serve at a URL path: a local file's path, or literal text. */
export type ServedContent = string | { text: string; contentType?: string };

export interface FileServer {
  /** The gateway address the server listens on, e.g. 172.30.0.1. */
  host: string;
  port: number;
  /** `http://<gateway>:<port><path>` (a leading `/` is added when missing). Any path, served or not. */
  urlFor(path: string): string;
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves `files` (URL path -> local file path or `{ text }`) on the `tsm-testbed` gateway.
 * Creates the network if it does not exist yet (starts the local Docker Engine if needed).
 */
export async function serveFiles(files: Record<string, ServedContent>): Promise<FileServer> {
  const table = new Map<string, ServedContent>();
  for (const [p, c] of Object.entries(files)) table.set(p.startsWith('/') ? p : `/${p}`, c);
  const host = await testNetworkGateway();

  const server = createServer((req, res) => handle(table, req, res));
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    urlFor: (path) => `http://${host}:${port}${path.startsWith('/') ? path : `/${path}`}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function handle(table: Map<string, ServedContent>, req: IncomingMessage, res: ServerResponse): void {
  const send = (status: number, text: string): void => {
    const body = Buffer.from(text);
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(405, 'method not allowed\n');
  }
  const path = (req.url ?? '/').split('?')[0]!;
  const content = table.get(path);
  if (content === undefined) return send(404, `not found: ${path}\n`);

  if (typeof content !== 'string') {
    const body = Buffer.from(content.text);
    res.writeHead(200, {
      'Content-Type': content.contentType ?? 'text/plain; charset=utf-8',
      'Content-Length': body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  let size: number;
  try {
    const st = statSync(content);
    if (!st.isFile()) return send(404, `not a file: ${path}\n`);
    size = st.size;
  } catch {
    return send(404, `not found: ${path}\n`);
  }
  res.writeHead(200, { 'Content-Type': contentTypeOf(content), 'Content-Length': size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  // Stream exactly the size announced, even if the file grows meanwhile.
  const stream = createReadStream(content, { start: 0, end: Math.max(0, size - 1) });
  if (size === 0) {
    stream.destroy();
    res.end();
    return;
  }
  stream.on('error', () => res.destroy());
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}

function contentTypeOf(path: string): string {
  if (/\.(tgz|tar\.gz|gz)$/.test(path)) return 'application/gzip';
  if (/\.tar$/.test(path)) return 'application/x-tar';
  if (/\.sh$/.test(path)) return 'text/x-shellscript; charset=utf-8';
  return 'application/octet-stream';
}

// ---------------------------------------------------------------------------------------------
// the tsm-testbed network's gateway

/**
 * This machine's address on the `tsm-testbed` bridge (the network's gateway), creating the
 * network if needed. Test hosts reach this machine there.
 */
export async function testNetworkGateway(): Promise<string> {
  await ensureDockerd();
  let info = await inspectNetwork();
  if (!info) {
    await createTestNetwork();
    info = await inspectNetwork();
    if (!info) throw new Error(`[test bed] network ${TEST_NETWORK} still missing after creating it`);
  }
  return info.gateway;
}

async function inspectNetwork(): Promise<{ subnet: string; gateway: string } | undefined> {
  const r = await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}}|{{.Gateway}} {{end}}', TEST_NETWORK]);
  if (r.exitCode !== 0) return undefined;
  for (const entry of r.stdout.trim().split(/\s+/)) {
    const [subnet, gateway] = entry.split('|');
    if (!subnet || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(subnet)) continue;
    // Docker's default gateway is the subnet's first host address when none was given.
    return { subnet, gateway: gateway && /^\d+\.\d+\.\d+\.\d+$/.test(gateway) ? gateway : firstHost(subnet) };
  }
  throw new Error(`[test bed] network ${TEST_NETWORK} exists but has no IPv4 subnet: ${r.stdout.trim()}`);
}

function firstHost(subnet: string): string {
  const [addr, bits] = subnet.split('/');
  const n = addr!.split('.').reduce((a, o) => ((a << 8) + Number(o)) >>> 0, 0);
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  const ip = ((n & mask) + 1) >>> 0;
  return [24, 16, 8, 0].map((s) => (ip >>> s) & 0xff).join('.');
}

/** Creates `tsm-testbed` through hosts.ts, the one place that knows how. */
async function createTestNetwork(): Promise<void> {
  await hosts.ensureNetwork();
}
