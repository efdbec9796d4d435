import { copyFile, readFile, rename, utimes, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCa, issueClientCert, issueServerCert } from "../../../src/certs/authority.js";
import { readValidStamp, stampProblems, writeCertStamp } from "../../../src/certs/stamp.js";
import { storePaths, type MachinePaths } from "../../../src/store/paths.js";
import { tempDir } from "../../helpers/cli.js";
import { mkdir } from "node:fs/promises";

let mp: MachinePaths;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  const t = await tempDir();
  cleanup = t.cleanup;
  mp = storePaths(t.dir).machine("m");
  await mkdir(mp.dir, { recursive: true });
  const ca = await createCa({ organization: "o" });
  const client = await issueClientCert({ ca, organization: "o", commonName: "c" });
  const server = await issueServerCert({ ca, organization: "o", commonName: "m", sans: ["127.0.0.9", "localhost", "*.example.com"] });
  await writeFile(mp.caCert, ca.certPem);
  await writeFile(mp.clientCert, client.certPem);
  await writeFile(mp.clientKey, client.keyPem);
  await writeFile(mp.serverCert, server.certPem);
  await writeCertStamp(mp);
});
afterAll(() => cleanup());

describe("certificate stamp", () => {
  it("answers for the files it describes", () => {
    const stamp = readValidStamp(mp);
    expect(stamp).toBeDefined();
    expect(stamp!.serverSans).toEqual(["127.0.0.9", "localhost", "*.example.com"]);
    expect(stampProblems(stamp!, "127.0.0.9", new Date())).toEqual([]);
  });

  it("reports expiry from the recorded dates", () => {
    const stamp = readValidStamp(mp)!;
    const later = new Date(Date.now() + 2000 * 86_400_000);
    expect(stampProblems(stamp, "127.0.0.9", later)).toEqual([
      expect.stringMatching(/^the client certificate expired on /),
      expect.stringMatching(/^the server certificate expired on /),
    ]);
  });

  it("cannot decide for an address it does not list literally (the full check must run)", () => {
    expect(stampProblems(readValidStamp(mp)!, "a.example.com", new Date())).toBeUndefined();
    expect(stampProblems(readValidStamp(mp)!, "127.0.0.10", new Date())).toBeUndefined();
  });

  it("is ignored as soon as a file is touched, replaced or missing", async () => {
    await utimes(mp.serverCert, new Date(), new Date(Date.now() + 5000));
    expect(readValidStamp(mp)).toBeUndefined();
    await writeCertStamp(mp);
    expect(readValidStamp(mp)).toBeDefined();
    const copy = `${mp.clientCert}.copy`;
    await copyFile(mp.clientCert, copy);
    await rename(copy, mp.clientCert); // same content and size, new inode
    expect(readValidStamp(mp)).toBeUndefined();
    await writeCertStamp(mp);
    await rename(mp.caCert, `${mp.caCert}.gone`);
    expect(readValidStamp(mp)).toBeUndefined();
    await rename(`${mp.caCert}.gone`, mp.caCert);
  });

  it("is ignored when unreadable or of another version", async () => {
    await writeCertStamp(mp);
    const file = `${mp.dir}/certs.json`;
    const text = await readFile(file, "utf8");
    await writeFile(file, text.replace('"version":1', '"version":2'));
    expect(readValidStamp(mp)).toBeUndefined();
    await writeFile(file, "{");
    expect(readValidStamp(mp)).toBeUndefined();
  });
});
