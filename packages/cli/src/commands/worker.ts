import { createPinoLogger, createWorker, type WorkerOptions } from "@tq/worker";
import { Command } from "commander";
import { describeTransport, workerBanner } from "../banner.js";
import { type AppFlag, type ConnectionFlags, withAppFlag, withConnectionFlags } from "../common-options.js";
import type { CliContext } from "../context.js";
import { openApp } from "../open-app.js";
import { parseList, parseLogLevel, parsePositiveInteger } from "../parsers.js";
import { isInProcess } from "../shared-transport.js";
import { cliVersion } from "../version.js";

interface WorkerFlags extends ConnectionFlags, AppFlag {
  queues?: string[];
  concurrency?: number;
  prefetchMultiplier?: number;
  loglevel: string;
  hostname?: string;
}

/** `tq worker -A <module>`: Celery's `celery worker`. Runs until SIGINT/SIGTERM, then stops gracefully. */
export function workerCommand(context: CliContext): Command {
  const command = new Command("worker").description("start a worker that runs the app's tasks");
  withAppFlag(command, { required: true });
  command
    .option(
      "-Q, --queues <list>",
      "comma-separated queues to consume (default: the app's default queue)",
      parseList,
    )
    .option(
      "-c, --concurrency <n>",
      "tasks run at once (default: the app's workerConcurrency)",
      parsePositiveInteger,
    )
    .option(
      "--prefetch-multiplier <n>",
      "messages reserved per concurrency slot (default: the app's)",
      parsePositiveInteger,
    )
    .option(
      "-l, --loglevel <level>",
      "trace, debug, info, warning, error, critical or silent",
      parseLogLevel,
      "info",
    )
    .option("-n, --hostname <name>", "node name (default: celery@<host>)");
  withConnectionFlags(command);
  command.addHelpText(
    "after",
    `
Examples:
  $ tq worker -A src/tasks.ts
  $ TQ_BROKER_URL=redis://localhost:6379/0 tq worker -A dist/tasks.js -Q celery,images -c 8 -l debug`,
  );
  return command.action((flags: WorkerFlags) => runWorker(flags, context));
}

async function runWorker(flags: WorkerFlags, context: CliContext): Promise<void> {
  const { app } = await openApp(flags, context);
  let keepAlive: NodeJS.Timeout | undefined;
  try {
    const worker = createWorker(app, workerOptions(flags));
    // Connecting first makes an unreachable broker one error line instead of a banner followed by one.
    await app.connect();
    const broker = await app.getBroker();
    const backend = app.hasResultBackend ? await app.getBackend() : undefined;
    context.err(
      workerBanner({
        nodeName: worker.hostname,
        version: cliVersion(),
        appName: app.name,
        transport: describeTransport(app.conf.brokerUrl, broker),
        results:
          backend && app.conf.resultBackend !== null
            ? describeTransport(app.conf.resultBackend, backend)
            : null,
        inProcessBroker: isInProcess(broker),
        concurrency: flags.concurrency ?? app.conf.workerConcurrency,
        queues: worker.queues,
        tasks: [...app.tasks.keys()],
      }),
    );
    // Installed before start(): a signal that arrives while the worker starts still stops it gracefully.
    worker.installSignalHandlers({ exit: true });
    // A memory:// broker holds no socket, so nothing else would keep the process alive while it waits.
    const timer = setInterval(() => {}, 2 ** 30);
    keepAlive = timer;
    worker.once("stopped", () => clearInterval(timer));
    await worker.start();
    context.keepsRunning = true;
  } catch (error) {
    clearInterval(keepAlive);
    await app.close();
    throw error;
  }
}

function workerOptions(flags: WorkerFlags): WorkerOptions {
  const options: WorkerOptions = { logger: createPinoLogger({ level: flags.loglevel, name: "tq.worker" }) };
  if (flags.queues) options.queues = flags.queues;
  if (flags.concurrency !== undefined) options.concurrency = flags.concurrency;
  if (flags.prefetchMultiplier !== undefined) options.prefetchMultiplier = flags.prefetchMultiplier;
  if (flags.hostname !== undefined) options.hostname = flags.hostname;
  return options;
}
