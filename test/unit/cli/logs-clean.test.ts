import { describe, expect, it } from "vitest";
import { cleanConsole } from "../../../src/output/console-text.js";

describe("cleanConsole", () => {
  it("removes what systemd and getty write to a serial console", () => {
    const raw =
      "[\x1b[0;32m  OK  \x1b[0m] Reached target \x1b[0;1;39mnetwork.target\x1b[0m - Network.\r\n" +
      "\x1bM\x1b[K[   \x1b[0;31m*\x1b[0;1;31m*\x1b[0m] Job running (34s / no limit)\r\n" +
      "\x1b]0;title\x07\x1b(B\x1b[?25lq1 login: \r";
    const clean = cleanConsole(raw);
    expect(clean).toBe("[  OK  ] Reached target network.target - Network.\n[   **] Job running (34s / no limit)\nq1 login: \n");
    expect(clean).not.toContain("\x1b");
  });
});
