#!/usr/bin/env node
// The `tq` command's launcher; the CLI itself is dist/bin.js. A committed file rather than dist/bin.js
// because pnpm links a workspace package's bins at install time, before any build, and skips a target
// that does not exist yet: `pnpm exec tq` would then be missing on every fresh clone.
import("../dist/bin.js").catch((error) => {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist/bin.js")) throw error;
  process.stderr.write("tq: @tq/cli is not built yet: run `pnpm --filter @tq/cli build` (or `pnpm build`)\n");
  process.exitCode = 1;
});
