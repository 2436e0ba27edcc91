import { type App, type AppOverrides, configFromEnv, createApp, schemeOf, TqError } from "@tq/core";
import { autoloadTransports, type LabeledUrl, type LoadedTransport } from "./autoload-transports.js";
import type { AppFlag, ConnectionFlags } from "./common-options.js";
import type { CliContext } from "./context.js";
import { loadApp } from "./load-app.js";

/** The app a command works with, its transports registered and not yet connected. */
export interface OpenedApp {
  /** The app. */
  readonly app: App;
  /** Where its module lives, or the current directory when there is none. */
  readonly directory: string;
  /** Absolute path of its module (`-A`), if any: what a worker's threads or processes load. */
  readonly modulePath: string | undefined;
  /** The broker and backend URLs that replaced the module's own (flags, environment), for those children. */
  readonly overrides: AppOverrides;
  /** The transport plugins imported for its URLs, for those children to register too. */
  readonly transports: readonly LoadedTransport[];
}

/**
 * The app for a command: loaded from `-A`, else `createApp()`; then `--broker`/`--result-backend`, or
 * else `TQ_BROKER_URL`/`TQ_RESULT_BACKEND`, replace the app's own URLs (the environment beating the code,
 * as Celery's `CELERY_BROKER_URL` does, so one module runs against any broker); then the transports
 * those URLs need are imported from the app's directory.
 */
export async function openApp(flags: ConnectionFlags & AppFlag, context: CliContext): Promise<OpenedApp> {
  const loaded = flags.app === undefined ? undefined : await loadApp(flags.app, { cwd: context.cwd });
  const app = loaded?.app ?? createApp({ env: { ...context.env } });
  const directory = loaded?.directory ?? context.cwd;
  try {
    const overrides = overridesFor(app, flags, context.env);
    if (Object.keys(overrides).length > 0) configure(app, overrides, flags.app);
    const transports = await autoloadTransports(transportUrls(app), { from: directory });
    return { app, directory, modulePath: loaded?.path, overrides, transports };
  } catch (error) {
    // The module may have connected already (a task sent on import); nothing may stay open.
    await app.close();
    throw error;
  }
}

function configure(app: App, overrides: AppOverrides, modulePath: string | undefined): void {
  try {
    app.configure(overrides);
  } catch (cause) {
    const what = Object.keys(overrides).includes("brokerUrl") ? "broker" : "result backend";
    throw new TqError(
      "TQ_CONFIG",
      `cannot switch the app to another ${what}: ${modulePath ?? "the app module"} connects while it is imported; ` +
        "send tasks and call connect() from functions, not at the top level of the module",
      { cause },
    );
  }
}

function overridesFor(
  app: App,
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
): AppOverrides {
  // Core's parser reads the two variables, so `TQ_RESULT_BACKEND=none` means the same here as in createApp.
  const fromEnv = configFromEnv({
    TQ_BROKER_URL: env.TQ_BROKER_URL,
    TQ_RESULT_BACKEND: env.TQ_RESULT_BACKEND,
  });
  const brokerUrl = flags.broker ?? fromEnv.brokerUrl;
  const resultBackend =
    flags.resultBackend === undefined ? fromEnv.resultBackend : backendFlagValue(flags.resultBackend);
  const overrides: AppOverrides = {};
  if (brokerUrl !== undefined && brokerUrl !== app.conf.brokerUrl) {
    schemeOf(brokerUrl); // a URL without a scheme fails here, naming the flag's value
    overrides.brokerUrl = brokerUrl;
  }
  if (resultBackend !== undefined && resultBackend !== app.conf.resultBackend) {
    if (resultBackend !== null) schemeOf(resultBackend);
    overrides.resultBackend = resultBackend;
  }
  return overrides;
}

function backendFlagValue(value: string): string | null {
  return /^(none|null)$/i.test(value.trim()) ? null : value;
}

function transportUrls(app: App): LabeledUrl[] {
  const urls: LabeledUrl[] = [{ url: app.conf.brokerUrl, label: "broker URL" }];
  if (app.conf.resultBackend !== null)
    urls.push({ url: app.conf.resultBackend, label: "result backend URL" });
  return urls;
}
