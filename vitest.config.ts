import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "build/**", ".lathe-cache/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // One temporary root per run, removed at its end (test/helpers/temp-root.ts).
    globalSetup: ["test/helpers/temp-root.ts"],
  },
});
