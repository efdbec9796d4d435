import { describe, expect, it } from "vitest";
import { backoffMs, isRetryableConnectError, type ConnectFailure } from "../../../src/ssh/retry.js";
import { signalExitCode } from "../../../src/ssh/channels.js";

describe("connect retry classification", () => {
  const cases: Array<[string, ConnectFailure, boolean]> = [
    ["refused", { message: "connect ECONNREFUSED 10.0.0.5:22", code: "ECONNREFUSED", level: "client-socket" }, true],
    ["timed out", { message: "connect ETIMEDOUT", code: "ETIMEDOUT", level: "client-socket" }, true],
    ["no route", { message: "connect EHOSTUNREACH", code: "EHOSTUNREACH", level: "client-socket" }, true],
    ["reset", { message: "read ECONNRESET", code: "ECONNRESET", level: "client-socket" }, true],
    ["network down", { message: "connect ENETUNREACH", code: "ENETUNREACH" }, true],
    ["dns hiccup", { message: "getaddrinfo EAI_AGAIN", code: "EAI_AGAIN" }, true],
    ["handshake timeout", { message: "Timed out while waiting for handshake", level: "client-timeout" }, true],
    ["lost before handshake", { message: "Connection lost before handshake", level: "protocol" }, true],
    ["closed before ready", { message: "the connection was closed before the session was ready", level: "protocol" }, true],
    ["auth failed", { message: "All configured authentication methods failed", level: "client-authentication" }, false],
    ["host key denied", { message: "Host denied (verification failed)", level: "handshake" }, false],
    ["no common algorithm", { message: "Handshake failed: no matching host key format", level: "handshake" }, false],
    ["unknown host", { message: "getaddrinfo ENOTFOUND nohost", code: "ENOTFOUND", level: "client-socket" }, false],
    ["protocol garbage", { message: "Bad identification start", level: "protocol" }, false],
  ];
  it.each(cases)("%s -> retry %s", (_name, failure, expected) => {
    expect(isRetryableConnectError(failure)).toBe(expected);
  });

  it("backs off 250 ms doubling to 5 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(backoffMs)).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
  });
});

describe("signalExitCode", () => {
  it("is 128 + the signal number, 255 when unknown or absent", () => {
    expect(signalExitCode("TERM")).toBe(143);
    expect(signalExitCode("KILL")).toBe(137);
    expect(signalExitCode("NOPE")).toBe(255);
    expect(signalExitCode(undefined)).toBe(255);
  });
});
