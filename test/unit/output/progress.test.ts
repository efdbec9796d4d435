import { describe, expect, it } from "vitest";
import { LiveProgress, plainProgress } from "../../../src/output/progress.js";

describe("progress", () => {
  it("prints plain lines as steps happen when not on a terminal", () => {
    let out = "";
    const p = plainProgress((t) => (out += t));
    p.step("Creating machine...");
    p.note("warning: x");
    p.step("Provisioning...");
    p.finish(true);
    expect(out).toBe("Creating machine...\nwarning: x\nProvisioning...\n");
  });

  it("keeps one live line per step on a terminal and closes each with its time", () => {
    let out = "";
    let t = 1000;
    const p = new LiveProgress((s) => (out += s), () => t, 0);
    p.step("Creating machine...");
    t += 1500;
    p.note("DBG | detail");
    p.step("Provisioning...");
    t += 250;
    p.finish(false);
    const visible = out.split("\r\x1b[2K").filter((s) => s.endsWith("\n"));
    expect(visible).toEqual(["DBG | detail\n", "✔ Creating machine... (1.5s)\n", "✖ Provisioning... (0.3s)\n"]);
    expect(out).toContain("⠙ Creating machine... 0.0s");
  });
});

describe("lazyProgress", () => {
  it("writes raw text straight through until a step starts, then through the chosen display", async () => {
    const { lazyProgress } = await import("../../../src/output/progress.js");
    let raw = "";
    let live = "";
    let chosen = 0;
    const p = lazyProgress(
      () => {
        chosen++;
        return new LiveProgress((s) => (live += s), () => 0, 0);
      },
      (t) => (raw += t),
    );
    p.above("Are you sure? (y/n): ");
    p.finish(true);
    expect(chosen).toBe(0);
    expect(raw).toBe("Are you sure? (y/n): ");
    p.step("Working...");
    p.above("Warning: x\n");
    expect(chosen).toBe(1);
    expect(live).toContain("\r\x1b[2KWarning: x\n");
  });
});
