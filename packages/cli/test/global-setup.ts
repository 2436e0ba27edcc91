import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The tests run the built CLI, as a user would: fail at once, with the fix, when it was not built. */
export function setup(): void {
  const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: run \`pnpm --filter @tq/cli build\` (turbo runs it before test)`);
  }
}
