/**
 * The one engine-URL parser (issue 11, defect 4): a host is a DNS name or an IP literal
 * (IPv6 in brackets), so nothing that reaches `tsm config`, `tsm url`, an ls row or a
 * server certificate can carry spaces, flags or newlines.
 */
import { describe, expect, it } from "vitest";
import { parseTcpUrl } from "../../../src/docker/engine-api.js";

describe("parseTcpUrl", () => {
  it.each([
    ["tcp://127.0.0.1:2376", "127.0.0.1", 2376],
    ["tcp://192.168.99.100:2376/", "192.168.99.100", 2376],
    ["tcp://docker.example.com:2376", "docker.example.com", 2376],
    ["tcp://localhost:1", "localhost", 1],
    ["tcp://a-b.c-d.example:65535", "a-b.c-d.example", 65535],
    ["tcp://[::1]:2376", "::1", 2376],
    ["tcp://[fe80::1:2]:2376", "fe80::1:2", 2376],
    ["tcp://[2001:db8::192.168.1.1]:2376", "2001:db8::192.168.1.1", 2376],
    ["tcp://[2001:0db8:0000:0000:0000:0000:0000:0001]:2376", "2001:0db8:0000:0000:0000:0000:0000:0001", 2376],
  ])("accepts %s", (url, host, port) => {
    expect(parseTcpUrl(url)).toEqual({ host, port });
  });

  it.each([
    ["tcp://127.0.0.1 --tlsverify=false -l:2376"],
    ["tcp://a\nb:2376"],
    ["tcp://a\tb:2376"],
    ["tcp://a b:2376"],
    ["tcp://-H:2376"],
    ["tcp://host-:2376"],
    ["tcp://a..b:2376"],
    ["tcp://$(touch x):2376"],
    ["tcp://`id`:2376"],
    ["tcp://a;b:2376"],
    ["tcp://a\"b:2376"],
    ["tcp://a'b:2376"],
    ["tcp://a_b:2376"],
    ["tcp://999.1.1.1:2376"],
    ["tcp://1.2.3:2376"],
    ["tcp://[127.0.0.1]:2376"],
    ["tcp://[docker.example.com]:2376"],
    ["tcp://[::1\n]:2376"],
    ["tcp://[1:2:3:4:5:6:7:8:9]:2376"],
    ["tcp://[1::2::3]:2376"],
    ["tcp://[fe80::1%eth0]:2376"],
    [`tcp://${"a".repeat(64)}.example:2376`],
    [`tcp://${Array.from({ length: 64 }, () => "abc").join(".")}:2376`],
    ["tcp://host:2376\n"],
  ])("refuses the host of %j with a one-line BAD_URL error", (url) => {
    let caught: unknown;
    try {
      parseTcpUrl(url);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: "BAD_URL" });
    expect((caught as Error).message).not.toMatch(/[\n\r\t]/);
  });

  it("says what is wrong with the host, quoting the URL", () => {
    expect(() => parseTcpUrl("tcp://127.0.0.1 --tlsverify=false -l:2376")).toThrow(
      'The engine URL "tcp://127.0.0.1 --tlsverify=false -l:2376" has an invalid host: use a DNS name or an IP address (IPv6 in brackets)',
    );
  });

  it("keeps refusing what is not tcp://HOST:PORT", () => {
    for (const url of ["http://127.0.0.1:2376", "tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:99999", "tcp://:2376", "tcp://::1:2376"]) {
      expect(() => parseTcpUrl(url), url).toThrow(expect.objectContaining({ code: "BAD_URL" }));
    }
  });
});
