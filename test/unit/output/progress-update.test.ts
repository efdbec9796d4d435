import { describe, expect, it } from "vitest";
import { LiveProgress, lazyProgress, plainProgress } from "../../../src/output/progress.js";

describe("Progress.update", () => {
  it("redraws the live step in place, keeping its start time, and the done line shows the last text", () => {
    let out = "";
    let t = 1000;
    const p = new LiveProgress((s) => (out += s), () => t, 0);
    p.step("Downloading x...");
    t += 500;
    p.update("Downloading x  [=>  ]  50%");
    t += 1500;
    p.update("Downloading x (4 MiB)");
    p.step("Next...");
    p.finish(true);
    const visible = out.split("\r\x1b[2K").filter((s) => s.endsWith("\n"));
    expect(visible).toEqual(["✔ Downloading x (4 MiB) (2.0s)\n", "✔ Next... (0.0s)\n"]);
    expect(out).toContain("\r\x1b[2K⠙ Downloading x  [=>  ]  50% 0.5s");
    expect(out).not.toContain("✔ Downloading x...");
  });

  it("starts a step when there is none", () => {
    let out = "";
    const p = new LiveProgress((s) => (out += s), () => 0, 0);
    p.update("Alone");
    p.finish(false);
    expect(out.endsWith("\r\x1b[2K✖ Alone (0.0s)\n")).toBe(true);
  });

  it("is a plain line when not on a terminal", () => {
    let out = "";
    const p = plainProgress((s) => (out += s));
    p.step("Downloading x...");
    p.update("  50%");
    expect(out).toBe("Downloading x...\n  50%\n");
  });

  it("goes through lazyProgress to the chosen display", () => {
    let out = "";
    const p = lazyProgress(() => plainProgress((s) => (out += s)), () => undefined);
    p.update("first");
    expect(out).toBe("first\n");
  });
});
