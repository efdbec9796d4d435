/**
 * Issue 11, defect 10: engine errors in words. The messages below are what Node 20
 * (OpenSSL 3) reports for each case, captured from real servers: an SSH banner or plain
 * HTTP where TLS was expected, Go's dockerd refusing a client certificate from another
 * CA (an alert), a self-signed or foreign-CA server certificate.
 */
import { describe, expect, it } from "vitest";
import { describeTlsError } from "../../../src/docker/engine-api.js";

const at = { host: "10.0.0.5", port: 2376, name: "web" };
const err = (code: string | undefined, message: string) => Object.assign(new Error(message), { code });

describe("describeTlsError", () => {
  it.each([
    [
      "an SSH banner or plain HTTP",
      err("EPROTO", "write EPROTO 802CC3A8227F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n"),
      "10.0.0.5:2376 is not a TLS server: is the Docker engine listening there with --tlsverify?",
    ],
    [
      "bytes that look like a TLS record but are not",
      err("EPROTO", "write EPROTO 802CC3A8227F0000:error:0A0000C6:SSL routines:ssl3_get_record:packet length too long:../deps/openssl/openssl/ssl/record/ssl3_record.c:379:\n"),
      "10.0.0.5:2376 is not a TLS server: is the Docker engine listening there with --tlsverify?",
    ],
    [
      "dockerd trusting another CA for clients (TLS 1.2 alert)",
      err("EPROTO", "write EPROTO 80AC91D4897F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 48\n"),
      `The engine at 10.0.0.5:2376 refuses tsm's client certificate (it trusts another CA): run "tsm regenerate-certs web"`,
    ],
    [
      "dockerd refusing the client certificate (bad certificate alert)",
      err("ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE", "80AC91D4897F0000:error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 42\n"),
      `The engine at 10.0.0.5:2376 refuses tsm's client certificate (it trusts another CA): run "tsm regenerate-certs web"`,
    ],
    [
      "a TLS 1.3 server that wants a client certificate",
      err("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED", "80AC91D4897F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n"),
      `The engine at 10.0.0.5:2376 refuses tsm's client certificate (it trusts another CA): run "tsm regenerate-certs web"`,
    ],
    ["a self-signed server certificate", err("DEPTH_ZERO_SELF_SIGNED_CERT", "self-signed certificate"), `The engine at 10.0.0.5:2376 presents a certificate signed by another CA: run "tsm regenerate-certs web"`],
    ["a server certificate from another CA", err("UNABLE_TO_VERIFY_LEAF_SIGNATURE", "unable to verify the first certificate"), `The engine at 10.0.0.5:2376 presents a certificate signed by another CA: run "tsm regenerate-certs web"`],
    ["another TLS failure", err("EPROTO", "write EPROTO 80:error:0A00042F:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../deps/x.c:1601:SSL alert number 70\n"), "The TLS handshake with the engine at 10.0.0.5:2376 failed (tlsv1 alert protocol version)"],
    ["an unknown socket error", err("EWEIRD", "something\nodd"), "Cannot talk to the Docker engine at 10.0.0.5:2376: something odd"],
  ])("%s", (_what, e, expected) => {
    expect(describeTlsError(e, at)).toBe(expected);
  });

  it("names no machine when it does not know one", () => {
    expect(describeTlsError(err("CERT_HAS_EXPIRED", "certificate has expired"), { host: "h", port: 1 })).toBe(`The engine's certificate at h:1 has expired: run "tsm regenerate-certs"`);
  });
});
