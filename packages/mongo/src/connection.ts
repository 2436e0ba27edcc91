import { TqError } from "@tq/core";
import { type Db, MongoClient, type MongoClientOptions } from "mongodb";
import { COMPONENT, command, configError } from "./errors.js";
import { checkDatabaseName, parseMongoUrl } from "./url.js";

/** How a broker or backend reaches MongoDB: a URL, or a client the application made. */
export interface MongoConnectionOptions {
  /** `mongodb://` or `mongodb+srv://` URL; its path names the database. Needed unless `client` is given. */
  url?: string;
  /**
   * A connected or unconnected `MongoClient` to use instead of creating one. It is shared, never
   * closed by tq: whoever creates a connection closes it.
   */
  client?: MongoClient;
  /** Database name; overrides the URL's path. @default the URL's path, else the component's default */
  database?: string;
  /**
   * Options for the `MongoClient` tq creates (ignored with `client`). tq sets
   * `serverSelectionTimeoutMS: 10000` unless these or the URL set it, so that an unreachable server is
   * an error within seconds instead of the driver's 30 s.
   */
  clientOptions?: MongoClientOptions;
}

const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 10_000;

/** A MongoClient and a database, with who-closes-what bookkeeping. */
export class MongoConnection {
  readonly client: MongoClient;
  readonly db: Db;
  readonly #owns: boolean;
  #connecting: Promise<void> | undefined;

  constructor(options: MongoConnectionOptions, defaultDatabase: string, appName: string) {
    const parsed = options.url === undefined ? undefined : parseMongoUrl(options.url);
    if (options.client) {
      this.client = options.client;
      this.#owns = false;
    } else if (options.url !== undefined) {
      const clientOptions: MongoClientOptions = { appName, ...options.clientOptions };
      if (!parsed?.setsServerSelectionTimeout && clientOptions.serverSelectionTimeoutMS === undefined) {
        clientOptions.serverSelectionTimeoutMS = DEFAULT_SERVER_SELECTION_TIMEOUT_MS;
      }
      this.client = new MongoClient(options.url, clientOptions);
      this.#owns = true;
    } else {
      throw configError("give a url (mongodb://host:27017/db) or a MongoClient as client");
    }
    const database = options.database ?? parsed?.database ?? defaultDatabase;
    checkDatabaseName(database);
    this.db = this.client.db(database);
  }

  /** Whether tq created the client (and so closes it). */
  get ownsClient(): boolean {
    return this.#owns;
  }

  /** Connects the client once; a failed attempt is retried by the next call. */
  async connect(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortedError(signal);
    if (!this.#connecting) {
      const attempt = command("connect to MongoDB", async () => {
        await this.client.connect();
      });
      this.#connecting = attempt;
      attempt.catch(() => {
        if (this.#connecting === attempt) this.#connecting = undefined;
      });
    }
    const connecting = this.#connecting;
    if (!signal) return connecting;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortedError(signal));
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([connecting, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort as () => void);
    }
  }

  /** Closes the client if tq created it. */
  async close(): Promise<void> {
    if (this.#owns) await this.client.close().catch(() => {});
  }
}

function abortedError(signal: AbortSignal): TqError {
  return new TqError("TQ_ABORTED", "connecting was aborted", { component: COMPONENT, cause: signal.reason });
}
