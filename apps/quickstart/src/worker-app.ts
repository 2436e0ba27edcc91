import { app } from "./tasks.js";

/**
 * The same tasks for `tq worker`, which imports this module and runs its `app`:
 *
 *     TQ_BROKER_URL=redis://localhost:6379/0 TQ_RESULT_BACKEND=redis://localhost:6379/1 \
 *       pnpm exec tq worker -A src/worker-app.ts -c 8
 *
 * and from any other shell or service:
 *
 *     TQ_BROKER_URL=redis://localhost:6379/0 TQ_RESULT_BACKEND=redis://localhost:6379/1 \
 *       pnpm exec tq call tasks.add --args '[2, 8]' --wait
 *
 * `tq` loads `@tq/redis` for the redis:// URLs by itself when it is installed (`npm install @tq/redis`).
 * This module only re-exports the app: no worker is started here, the CLI does that.
 */
export { app };
