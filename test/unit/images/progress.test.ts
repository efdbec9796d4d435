import { describe, expect, it } from "vitest";
import { formatBar, formatBytes, formatBytesOf, imageProgress, imageProgressFromLog } from "../../../src/images/progress.js";
import type { Progress } from "../../../src/output/progress.js";

const MiB = 1024 * 1024;

/** A Progress that records every call and fails on none (all four are legitimate). */
function recording(): Progress & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    step: (t) => void calls.push(`step ${t}`),
    update: (t) => void calls.push(`update ${t}`),
    note: (t) => void calls.push(`note ${t}`),
    above: (t) => void calls.push(`above ${t}`),
    finish: (ok) => void calls.push(`finish ${ok}`),
  };
}

describe("byte formatting", () => {
  it("formats sizes", () => {
    expect(formatBytes(87)).toBe("87 B");
    expect(formatBytes(12 * 1024)).toBe("12.0 KiB");
    expect(formatBytes(300 * 1024 + 17)).toBe("300 KiB");
    expect(formatBytes(412 * MiB + 5)).toBe("412 MiB");
    expect(formatBytes(1.6 * 1024 * MiB)).toBe("1.6 GiB");
    expect(formatBytesOf(190 * MiB, 412 * MiB)).toBe("190/412 MiB");
    expect(formatBytesOf(512 * MiB, 2 * 1024 * MiB)).toBe("0.5/2.0 GiB");
  });

  it("draws bars", () => {
    expect(formatBar(0, 10)).toBe("[>         ]");
    expect(formatBar(0.45, 10)).toBe("[====>     ]");
    expect(formatBar(1, 10)).toBe("[==========]");
    expect(formatBar(1.5, 4)).toBe("[====]");
  });
});

describe("imageProgress on a terminal", () => {
  it("redraws the step line with a bar, at most every 100 ms, and ends with size and speed", () => {
    let t = 0;
    const p = recording();
    const ip = imageProgress(p, true, { now: () => t, columns: 200 });
    ip.step("Downloading debian-13-genericcloud-amd64.qcow2 (412 MiB)...");
    const total = 412 * MiB;
    ip.bytes(0, total);
    t = 50;
    ip.bytes(10 * MiB, total); // throttled
    t = 10_000;
    ip.bytes(190 * MiB, total);
    t = 10_050;
    ip.bytes(200 * MiB, total); // throttled
    t = 20_000;
    ip.bytes(total, total); // final: never throttled
    ip.bytes(total, total); // after the end: nothing
    expect(p.calls).toEqual([
      "step Downloading debian-13-genericcloud-amd64.qcow2 (412 MiB)...",
      "update Downloading debian-13-genericcloud-amd64.qcow2  [>                   ]    0%  0/412 MiB",
      "update Downloading debian-13-genericcloud-amd64.qcow2  [=========>          ]   46%  190/412 MiB  19 MiB/s",
      "update Downloading debian-13-genericcloud-amd64.qcow2 (412 MiB, 20 MiB/s)",
    ]);
  });

  it("shows bytes and speed when the total is unknown", () => {
    let t = 0;
    const p = recording();
    const ip = imageProgress(p, true, { now: () => t, columns: 200 });
    ip.step("Downloading x.raw...");
    ip.bytes(0, undefined);
    t = 2000;
    ip.bytes(40 * MiB, undefined);
    expect(p.calls.at(-1)).toBe("update Downloading x.raw  40 MiB  20 MiB/s");
  });

  it("fits a narrow terminal: smaller bar, then no speed, then a shortened name", () => {
    let t = 0;
    const lines = (columns: number) => {
      const p = recording();
      const ip = imageProgress(p, true, { now: () => t, columns });
      ip.step("Downloading debian-13-genericcloud-amd64.qcow2 (412 MiB)...");
      t += 10_000;
      ip.bytes(190 * MiB, 412 * MiB);
      return (p.calls.at(-1) ?? "").replace(/^update /, "");
    };
    for (const columns of [120, 100, 90, 80, 60, 40]) {
      expect(lines(columns).length).toBeLessThanOrEqual(columns - 10);
    }
    expect(lines(80)).toBe("Downloading debian-13-genericcloud-amd64.qcow2   46%  190/412 MiB");
    expect(lines(60)).toBe("Downloading debian-13-genericcl…  46%  190/412 MiB");
  });
});

describe("imageProgress elsewhere", () => {
  it("prints at most one line per quarter and a final line", () => {
    let t = 0;
    const p = recording();
    const ip = imageProgress(p, false, { now: () => t });
    ip.step("Downloading a.qcow2 (100 MiB)...");
    for (let i = 0; i <= 100; i++) {
      t = i * 100;
      ip.bytes(i * MiB, 100 * MiB);
    }
    expect(p.calls).toEqual([
      "step Downloading a.qcow2 (100 MiB)...",
      "note   25%  25/100 MiB",
      "note   50%  50/100 MiB",
      "note   75%  75/100 MiB",
      "note   100%  100 MiB  10 MiB/s",
    ]);
  });

  it("prints only the final line when the total is unknown", () => {
    const p = recording();
    const ip = imageProgress(p, false, { now: () => 0 });
    ip.step("Downloading a.qcow2...");
    ip.bytes(0, undefined);
    ip.bytes(5 * MiB, undefined);
    ip.bytes(9 * MiB, 9 * MiB);
    expect(p.calls).toEqual(["step Downloading a.qcow2...", "note   100%  9 MiB"]);
  });

  it("starts again for each step", () => {
    const p = recording();
    const ip = imageProgress(p, false, { now: () => 0 });
    ip.step("Checking a.raw...");
    ip.bytes(4, 4);
    ip.step("Copying a.raw...");
    ip.bytes(2, 4);
    ip.bytes(4, 4);
    expect(p.calls.filter((c) => c.startsWith("note"))).toEqual(["note   100%  4 B", "note   50%  2/4 B", "note   100%  4 B"]);
  });

  it("works from a line logger", () => {
    const lines: string[] = [];
    const ip = imageProgressFromLog((l) => lines.push(l), { now: () => 0 });
    ip.step("Downloading a.qcow2 (4 MiB)...");
    ip.bytes(MiB, 4 * MiB);
    ip.bytes(4 * MiB, 4 * MiB);
    expect(lines).toEqual(["Downloading a.qcow2 (4 MiB)...", "  25%  1/4 MiB", "  100%  4 MiB"]);
  });
});
