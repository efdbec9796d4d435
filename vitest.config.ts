import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 20 * 60_000,
    pool: "forks",
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "cli",
          include: ["test/cli/**/*.test.ts", "test/e2e/**/*.test.ts"],
          // These layers run the built bundle, as users do: build it once per run.
          globalSetup: ["test/helpers/global-setup.ts"],
        },
      },
      {
        // The QEMU test image's own boot tests (test/vm), run on demand with
        // `npx vitest run --project vm`; the qemu driver's real-VM tests are in test/e2e.
        extends: true,
        test: { name: "vm", include: ["test/vm/**/*.test.ts"] },
      },
    ],
  },
});
