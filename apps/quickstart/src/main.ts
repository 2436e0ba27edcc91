import { runDemo } from "./demo.js";

// The demo's entry point (`pnpm demo`): any failure is printed and makes the exit status 1.
runDemo().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
