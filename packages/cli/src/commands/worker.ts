import { createPinoLogger, createWorker, type PoolChildSetup, type WorkerOptions } from "@tq/worker";
import { Command } from "commander";
import { describeTransport, workerBanner } from "../banner.js";
import { type BeatStoreFlags, runBeatInWorker, setUpBeat } from "../beat-setup.js";
import { type AppFlag, type ConnectionFlags, withAppFlag, withConnectionFlags } from "../common-options.js";
import type { CliContext } from "../context.js";
import { typeScriptPreload } from "../load-app.js";
import { type OpenedApp, openApp } from "../open-app.js";
import {
  parseAutoscale,
  parseList,
  parseLogLevel,
  parsePool,
  parsePositiveInteger,
  parsePositiveNumber,
} from "../parsers.js";
import { isInProcess } from "../shared-transport.js";
import { cliVersion } from "../version.js";

interface WorkerFlags extends ConnectionFlags, AppFlag, BeatStoreFlags {
  /** `-B`: run beat in this process too. */
  beat?: boolean;
  queues?: string[];
  concurrency?: number;
  prefetchMultiplier?: number;
  loglevel: string;
  hostname?: string;
  statedb?: string;
  heartbeatInterval?: number;
  heartbeat: boolean;
  pool?: WorkerOptions["pool"];
  autoscale?: [number, number];
  maxTasksPerChild?: number;
  maxMemoryPerChild?: number;
  timeLimit?: number;
  softTimeLimit?: number;
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
    .option("-n, --hostname <name>", "node name (default: celery@<host>)")
    .option(
      "--statedb <file>",
      "file that keeps revoked task ids across restarts; %n expands to the node name (default: the app's workerStateDb)",
    )
    .option(
      "--heartbeat-interval <seconds>",
      "seconds between worker-heartbeat events (default: 2)",
      parsePositiveNumber,
    )
    .option("--without-heartbeat", "send no worker-online/heartbeat/offline events")
    .option(
      "-P, --pool <name>",
      "where tasks run: async (default: the app's workerPool), solo, threads or processes (prefork)",
      parsePool,
    )
    .option(
      "--autoscale <max,min>",
      "run up to max tasks at once while tasks wait, down to min when idle (replaces -c)",
      parseAutoscale,
    )
    .option(
      "--max-tasks-per-child <n>",
      "tasks a thread or process runs before it is replaced (threads, processes)",
      parsePositiveInteger,
    )
    .option(
      "--max-memory-per-child <KiB>",
      "memory past which a thread or process is replaced after its task (threads, processes)",
      parsePositiveInteger,
    )
    .option("--time-limit <seconds>", "hard time limit of tasks that set none", parsePositiveNumber)
    .option("--soft-time-limit <seconds>", "soft time limit of tasks that set none", parsePositiveNumber)
    .option("-B, --beat", "also run beat here: send the app's periodic tasks (beatSchedule) when due")
    .option("--schedule-store <url>", "with -B: where beat keeps its state (redis://…, mongodb://…, a file)")
    .option("-s, --schedule <file>", "with -B: beat's schedule file, when no --schedule-store is given");
  withConnectionFlags(command);
  command.addHelpText(
    "after",
    `
Examples:
  $ tq worker -A src/tasks.ts
  $ TQ_BROKER_URL=redis://localhost:6379/0 tq worker -A dist/tasks.js -Q celery,images -c 8 -l debug
  $ tq worker -A src/tasks.ts -P processes --autoscale 8,2 --max-tasks-per-child 100 --time-limit 300`,
  );
  return command.action((flags: WorkerFlags) => runWorker(flags, context));
}

async function runWorker(flags: WorkerFlags, context: CliContext): Promise<void> {
  const opened = await openApp(flags, context);
  const { app } = opened;
  let keepAlive: NodeJS.Timeout | undefined;
  try {
    const worker = createWorker(app, workerOptions(flags, opened));
    const { pool } = worker.stats();
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
        concurrency: pool.maxConcurrency,
        pool: pool.implementation,
        autoscale: flags.autoscale ?? null,
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
    // Built before the worker starts, so that a bad store URL fails before anything runs.
    const beat = flags.beat ? await setUpBeat(opened, flags, context) : undefined;
    await worker.start();
    if (beat) {
      await runBeatInWorker(beat, worker).catch(async (error: unknown) => {
        await worker.stop({ timeoutMs: 0 });
        throw error;
      });
    }
    context.keepsRunning = true;
  } catch (error) {
    clearInterval(keepAlive);
    await app.close();
    throw error;
  }
}

function workerOptions(flags: WorkerFlags, opened: OpenedApp): WorkerOptions {
  const options: WorkerOptions = { logger: createPinoLogger({ level: flags.loglevel, name: "tq.worker" }) };
  if (flags.queues) options.queues = flags.queues;
  if (flags.concurrency !== undefined) options.concurrency = flags.concurrency;
  if (flags.prefetchMultiplier !== undefined) options.prefetchMultiplier = flags.prefetchMultiplier;
  if (flags.hostname !== undefined) options.hostname = flags.hostname;
  if (flags.statedb !== undefined) options.stateDb = flags.statedb;
  if (flags.heartbeatInterval !== undefined) options.heartbeatInterval = flags.heartbeatInterval;
  if (!flags.heartbeat) options.withoutHeartbeat = true;
  if (flags.pool !== undefined) options.pool = flags.pool;
  if (flags.autoscale !== undefined) options.autoscale = flags.autoscale;
  if (flags.maxTasksPerChild !== undefined) options.maxTasksPerChild = flags.maxTasksPerChild;
  if (flags.maxMemoryPerChild !== undefined) options.maxMemoryPerChild = flags.maxMemoryPerChild;
  if (flags.timeLimit !== undefined) options.timeLimit = flags.timeLimit;
  if (flags.softTimeLimit !== undefined) options.softTimeLimit = flags.softTimeLimit;
  if (opened.modulePath !== undefined) {
    options.appModule = opened.modulePath;
    options.childSetup = childSetup(opened.modulePath, opened);
  }
  return options;
}

// A threads/processes pool's children load the -A module as this process did: through tsx when it is
// TypeScript, with the transports autoloaded here, and with the URLs the flags or environment chose.
function childSetup(modulePath: string, opened: OpenedApp): PoolChildSetup {
  const typeScript = typeScriptPreload(modulePath);
  const setup: PoolChildSetup = {
    preload: typeScript ? [typeScript] : [],
    transports: opened.transports,
  };
  const { brokerUrl, resultBackend } = opened.overrides;
  if (typeof brokerUrl === "string") setup.brokerUrl = brokerUrl;
  if (typeof resultBackend === "string" || resultBackend === null) setup.resultBackend = resultBackend;
  return setup;
}
