import { performance } from "node:perf_hooks";
import { createWorker } from "@tq/worker";
import { add, app, multiply } from "./tasks.js";

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Receives each line the demo prints. @default console.log */
  print?: (line: string) => void;
}

/**
 * The quickstart: starts a worker in this process, sends two tasks, prints how long each send took (the
 * call returns once the broker accepted the message, not when the task is done), then both results.
 * The two tasks run at once, so the whole run takes about 2 s, not 4.
 */
export async function runDemo(options: DemoOptions = {}): Promise<void> {
  const print = options.print ?? ((line: string) => console.log(line));
  const worker = createWorker(app, { concurrency: 2 });
  await worker.start();
  try {
    let started = performance.now();
    const sum = add.delay(2, 8);
    await sum.sent;
    print(`sent tasks.add(2, 8) in ${(performance.now() - started).toFixed(1)} ms`);

    started = performance.now();
    const product = multiply.delay(3, 7);
    await product.sent;
    print(`sent tasks.multiply(3, 7) in ${(performance.now() - started).toFixed(1)} ms`);

    print(`tasks.add(2, 8) = ${await sum.get({ timeout: 10 })}`);
    print(`tasks.multiply(3, 7) = ${await product.get({ timeout: 10 })}`);
  } finally {
    await worker.stop();
  }
}
