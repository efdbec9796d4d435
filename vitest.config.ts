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
        // Real VMs under QEMU (issue #4, in progress): not yet part of `npm test`;
        // run with `npx vitest run --project vm`.
        extends: true,
        test: { name: "vm", include: ["test/vm/**/*.test.ts"] },
      },
    ],
  },
});
