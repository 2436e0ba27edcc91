import { type Logger, TqError } from "@tq/core";
import { AsyncPool } from "./async-pool.js";
import { ChildPool } from "./child-pool.js";
import type { Pool } from "./pool.js";
import type { ResolvedPoolOptions } from "./pool-options.js";

/** The pool the options name; nothing starts until its `start()`. */
export function createPool(options: ResolvedPoolOptions, logger: Logger): Pool {
  const { name, appModule } = options;
  if (name === "async" || name === "solo") return new AsyncPool(name);
  if (appModule === null) {
    throw new TqError("TQ_CONFIG", `the ${name} pool needs appModule`, { component: "worker" });
  }
  return new ChildPool({
    name,
    size: options.initialConcurrency,
    appModule,
    setup: options.setup,
    maxTasksPerChild: options.maxTasksPerChild,
    maxMemoryPerChild: options.maxMemoryPerChild,
    logger,
  });
}
