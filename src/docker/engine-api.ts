/**
 * A minimal Docker Engine REST API client over mutual TLS, from Node itself:
 * tsm never needs the docker CLI. Requests are bounded by a deadline and an
 * AbortSignal.
 */
import { isDnsName, isIpLiteral, isIpv4, isIpv6 } from "../model/address.js";
import { TsmError } from "../model/errors.js";

export interface EngineTls {
  ca: string;
  cert: string;
  key: string;
}

export interface EngineEndpoint {
  host: string;
  port: number;
  tls: EngineTls;
  /** The machine it belongs to, when known: messages then name the command that fixes it. */
  name?: string;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "DELETE";
  body?: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface EngineVersion {
  Version: string;
  ApiVersion: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
}

export class EngineApiError extends TsmError {
  constructor(
    message: string,
    readonly statusCode?: number,
    options: { cause?: unknown } = {},
  ) {
    super("ENGINE_API", message, options);
  }
}

/** An engine URL that is not tcp://HOST:PORT (`shape`), or whose host is not a DNS name or an IP literal (`host`). */
export class BadUrlError extends TsmError {
  constructor(
    message: string,
    readonly problem: "shape" | "host",
  ) {
    super("BAD_URL", message);
  }
}

/** What a URL's host must be, in words (for `Invalid --url ...: <this>`). */
export const URL_HOST_RULE = "the host must be a DNS name or an IP address (IPv6 in brackets)";

/**
 * `tcp://host:port` -> endpoint parts; the one parser of engine URLs. The host is a DNS
 * name, an IPv4 address or a bracketed IPv6 address (returned without the brackets), so
 * no URL tsm accepts can carry spaces, flags or newlines into a docker command line, a
 * table row or a certificate. Throws BadUrlError, with the URL quoted on one line.
 */
export function parseTcpUrl(url: string): { host: string; port: number } {
  const m = /^tcp:\/\/(\[[^\]]*\]|[^:/[\]]*):(\d{1,5})\/?$/.exec(url);
  if (!m) throw new BadUrlError(`Not a tcp://host:port URL: ${JSON.stringify(url)}`, "shape");
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new BadUrlError(`Port out of range in ${JSON.stringify(url)}`, "shape");
  const raw = m[1]!;
  const bracketed = raw.startsWith("[");
  const host = bracketed ? raw.slice(1, -1) : raw;
  if (host === "" && !bracketed) throw new BadUrlError(`Not a tcp://host:port URL: ${JSON.stringify(url)}`, "shape");
  if (bracketed ? !isIpv6(host) : !(isIpv4(host) || isDnsName(host))) {
    throw new BadUrlError(`The engine URL ${JSON.stringify(url)} has an invalid host: use a DNS name or an IP address (IPv6 in brackets)`, "host");
  }
  return { host, port };
}

/** One request; resolves with the parsed JSON body (or text when not JSON) for 2xx, throws EngineApiError otherwise. */
export async function engineRequest(endpoint: EngineEndpoint, path: string, options: RequestOptions): Promise<unknown> {
  const https = await import("node:https");
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    let settled = false;
    const fail = (err: EngineApiError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const req = https.request({
      host: endpoint.host,
      port: endpoint.port,
      path,
      method: options.method ?? "GET",
      ca: endpoint.tls.ca,
      cert: endpoint.tls.cert,
      key: endpoint.tls.key,
      servername: isIpLiteral(endpoint.host) ? undefined : endpoint.host,
      agent: false,
      headers: payload === undefined ? {} : { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(payload) },
      signal: options.signal,
    });
    const timer = setTimeout(
      () => fail(new EngineApiError(`Timed out after ${(options.timeoutMs / 1000).toFixed(1)}s waiting for the engine at ${endpoint.host}:${endpoint.port}`)),
      options.timeoutMs,
    );
    req.on("error", (err) => fail(new EngineApiError(describeTlsError(err, endpoint), undefined, { cause: err })));
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (err) => fail(new EngineApiError(`Engine response failed: ${err.message}`, undefined, { cause: err })));
      res.on("end", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown = text;
        try {
          body = text === "" ? undefined : JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(body);
        else {
          const msg = typeof body === "object" && body !== null && "message" in body ? String((body as { message: unknown }).message) : text.trim();
          reject(new EngineApiError(`Engine answered ${status} to ${options.method ?? "GET"} ${path}: ${msg}`, status));
        }
      });
    });
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export async function getEngineVersion(endpoint: EngineEndpoint, options: { timeoutMs: number; signal?: AbortSignal }): Promise<EngineVersion> {
  const body = await engineRequest(endpoint, "/version", options);
  if (typeof body !== "object" || body === null || typeof (body as { Version?: unknown }).Version !== "string") {
    throw new EngineApiError(`Unexpected /version answer from ${endpoint.host}:${endpoint.port}`);
  }
  return body as EngineVersion;
}

/** The reason phrase of an OpenSSL error ("wrong version number", "tlsv1 alert unknown ca"), if the message holds one. */
export function opensslReason(message: string): string | undefined {
  return /SSL routines:[^:]*:([^:\n]+)/.exec(message)?.[1]?.trim();
}

/** OpenSSL's words for a peer that does not speak TLS at all (an SSH banner, plain HTTP, anything else). */
const NOT_TLS = /wrong version number|packet length too long|unknown protocol|http request|record layer failure|bad record type/;
/** The server's refusal of the client certificate, as an alert (Go's dockerd sends one). */
const CLIENT_CERT_REFUSED = /alert (bad certificate|unknown ca|certificate required|certificate unknown|access denied|handshake failure|unsupported certificate)/;

/**
 * Turns socket and TLS errors into one line that says, in words, what is wrong and what
 * to do; OpenSSL's own text (error codes, source files) stays in the cause, for --debug.
 */
export function describeTlsError(err: Error & { code?: string }, endpoint: { host: string; port: number; name?: string }): string {
  const where = `${endpoint.host}:${endpoint.port}`;
  const regenerate = `run "tsm regenerate-certs${endpoint.name ? ` ${endpoint.name}` : ""}"`;
  switch (err.code) {
    case "ECONNREFUSED":
      return `Cannot connect to the Docker engine at ${where}: connection refused`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `Cannot reach ${where}: no route to host`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `Cannot resolve ${endpoint.host}`;
    case "ECONNRESET":
      return `The engine at ${where} closed the connection (is it serving TLS with a certificate from this CA?)`;
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `The engine's certificate at ${where} does not cover ${endpoint.host}: ${regenerate}`;
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "CERT_SIGNATURE_FAILURE":
    case "CERT_UNTRUSTED":
      return `The engine at ${where} presents a certificate signed by another CA: ${regenerate}`;
    case "CERT_HAS_EXPIRED":
      return `The engine's certificate at ${where} has expired: ${regenerate}`;
    case "CERT_NOT_YET_VALID":
      return `The engine's certificate at ${where} is not valid yet: check this computer's clock and the engine's`;
    case "ABORT_ERR":
      return `Request to ${where} was cancelled`;
  }
  const reason = opensslReason(err.message);
  if (reason !== undefined || err.code?.startsWith("ERR_SSL_")) {
    const words = reason ?? err.code!.slice("ERR_SSL_".length).toLowerCase().replace(/_/g, " ");
    if (NOT_TLS.test(words)) return `${where} is not a TLS server: is the Docker engine listening there with --tlsverify?`;
    if (CLIENT_CERT_REFUSED.test(words)) return `The engine at ${where} refuses tsm's client certificate (it trusts another CA): ${regenerate}`;
    return `The TLS handshake with the engine at ${where} failed (${words})`;
  }
  return `Cannot talk to the Docker engine at ${where}: ${err.message.replace(/\s*\n\s*/g, " ").trim()}`;
}
