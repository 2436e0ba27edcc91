import type { SQSClient, SQSClientConfig } from "@aws-sdk/client-sqs";
import { type Logger, noopLogger } from "@tq/core";
import { sqsError } from "./errors.js";
import { parseSqsUrl } from "./url.js";

/** A predefined queue: its URL (kombu's `predefined_queues` entries are `{ url: … }`). */
export type PredefinedQueue = string | { url: string };

/** Options of {@link SqsBroker}. */
export interface SqsBrokerOptions {
  /**
   * `sqs://[aws_access_key_id:aws_secret_access_key@][host[:port]][?region=…&queue_name_prefix=…&wait_time_seconds=…]`.
   * Credentials in the URL beat the environment's; a host becomes the endpoint (`http://host:port`);
   * options beat the query. Celery's `broker_url`.
   * @default "sqs://"
   */
  url?: string;
  /** Your own `SQSClient`, shared and never destroyed by tq. `region`, `endpoint`, `credentials` are then ignored. */
  client?: SQSClient;
  /**
   * AWS region. Celery's `region` transport option.
   * @default `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `"us-east-1"` (kombu's default)
   */
  region?: string;
  /**
   * Endpoint URL, e.g. `http://127.0.0.1:4566` for LocalStack. Celery's `endpoint_url`.
   * @default the URL's host, else `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL` (read by the SDK), else AWS
   */
  endpoint?: string;
  /** Static credentials. @default the URL's, else the SDK's chain (environment, shared files, roles) */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** More `SQSClient` configuration (retries, request handler, …). */
  clientConfig?: SQSClientConfig;
  /** Put in front of every queue name before kombu's name mapping. Celery's `queue_name_prefix`. @default "" */
  queueNamePrefix?: string;
  /**
   * Queue name → URL of queues that exist already; no other queue is used and none is created
   * (kombu's `predefined_queues`). Keys are matched as given and after name mapping.
   */
  predefinedQueues?: Readonly<Record<string, PredefinedQueue>>;
  /** Never create a missing queue (publishing to one fails with `TQ_CONFIG`). @default false */
  skipQueueCreation?: boolean;
  /**
   * How long a received message stays invisible before SQS hands it to someone else: the ack deadline
   * of a consumer that stopped answering. Set on queues tq creates and on every receive; a live
   * consumer extends it for what it holds. Celery's `visibility_timeout` (seconds).
   * @default 1_800_000 (30 minutes, kombu's default)
   */
  visibilityTimeoutMs?: number;
  /** How often held messages are checked for extension. @default min(visibilityTimeoutMs / 4, 60_000) */
  visibilityRefreshIntervalMs?: number;
  /** Long-poll wait of each receive, 0–20 s. Celery's `wait_time_seconds`. @default 20 */
  waitTimeSeconds?: number;
  /**
   * The most `ReceiveMessage` calls a consumer keeps under way at once on one queue while that queue
   * has messages (an idle queue keeps one long poll). Each asks for up to 10 messages, and all of them
   * together never for more than the consumer's free prefetch room, so a consumer with prefetch `p`
   * runs about min(receiveConcurrency, ceil(p / 10)) of them. 1 receives one batch at a time per
   * queue (what tq did before this option). Every receive under way holds a socket of the client (the
   * SDK's default agent has 50): keep queues × receiveConcurrency below that, or give the client more.
   * @default 4
   */
  receiveConcurrency?: number;
  /**
   * `MessageGroupId` of messages to FIFO queues that carry none in `properties.MessageGroupId`.
   * @default "default" (kombu's)
   */
  messageGroupId?: string;
  /**
   * Dead-letter queue (a tq queue name, mapped like the others; created when missing) set as the
   * `RedrivePolicy` of queues tq creates. A FIFO queue needs a FIFO dead-letter queue.
   */
  deadLetterQueue?: string;
  /** `maxReceiveCount` of that redrive policy. @default 5 */
  maxReceiveCount?: number;
  /**
   * Send the envelope as plain JSON instead of base64 (kombu's `sqs_base64_encoding=False`). Receiving
   * accepts both either way.
   * @default false
   */
  rawJsonBody?: boolean;
  /** Where to log. @default no-op */
  logger?: Logger;
}

/** Options with defaults applied. */
export interface ResolvedSqsBrokerOptions {
  readonly client: SQSClient | null;
  readonly clientConfig: SQSClientConfig;
  readonly queueNamePrefix: string;
  readonly predefinedQueues: ReadonlyMap<string, string> | null;
  readonly skipQueueCreation: boolean;
  readonly visibilityTimeoutMs: number;
  readonly visibilityRefreshIntervalMs: number;
  readonly waitTimeSeconds: number;
  readonly receiveConcurrency: number;
  readonly messageGroupId: string;
  readonly deadLetterQueue: string | null;
  readonly maxReceiveCount: number;
  readonly rawJsonBody: boolean;
  readonly logger: Logger;
}

/** SQS refuses visibility timeouts above 12 hours. */
export const MAX_VISIBILITY_TIMEOUT_S = 43_200;

/** Applies defaults and checks ranges; throws TQ_CONFIG. */
export function resolveBrokerOptions(options: SqsBrokerOptions): ResolvedSqsBrokerOptions {
  const parsed = parseSqsUrl(options.url ?? "sqs://");
  const env = process.env;
  const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 1_800_000;
  const visibilityS = Math.ceil(visibilityTimeoutMs / 1000);
  if (!Number.isFinite(visibilityTimeoutMs) || visibilityS < 1 || visibilityS > MAX_VISIBILITY_TIMEOUT_S) {
    throw sqsError("TQ_CONFIG", `visibilityTimeoutMs must be 1 s to 12 h, got ${visibilityTimeoutMs}`);
  }
  const fromQuery = parsed.query.wait_time_seconds;
  const waitTimeSeconds = options.waitTimeSeconds ?? (fromQuery === undefined ? 20 : Number(fromQuery));
  if (!Number.isInteger(waitTimeSeconds) || waitTimeSeconds < 0 || waitTimeSeconds > 20) {
    throw sqsError("TQ_CONFIG", `waitTimeSeconds must be an integer 0–20, got ${waitTimeSeconds}`);
  }
  const receiveConcurrency = options.receiveConcurrency ?? 4;
  if (!Number.isInteger(receiveConcurrency) || receiveConcurrency < 1 || receiveConcurrency > 100) {
    throw sqsError("TQ_CONFIG", `receiveConcurrency must be an integer 1–100, got ${receiveConcurrency}`);
  }
  const maxReceiveCount = options.maxReceiveCount ?? 5;
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
    throw sqsError("TQ_CONFIG", `maxReceiveCount must be an integer 1–1000, got ${maxReceiveCount}`);
  }
  const refresh = options.visibilityRefreshIntervalMs ?? Math.min(visibilityTimeoutMs / 4, 60_000);
  if (!(refresh > 0) || refresh >= visibilityTimeoutMs) {
    throw sqsError("TQ_CONFIG", "visibilityRefreshIntervalMs must be > 0 and below visibilityTimeoutMs");
  }
  const region =
    options.region ?? parsed.query.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const endpoint = options.endpoint ?? parsed.endpoint;
  const credentials = options.credentials ?? parsed.credentials;
  // With an endpoint of the user's choosing (a stand-in, LocalStack, a VPC endpoint), requests go there.
  // The SDK would otherwise send them to the host of each queue URL the server hands out, which a
  // stand-in may name after a host that does not resolve (fauxqs: sqs.us-east-1.localhost).
  const endpointChosen = Boolean(endpoint || env.AWS_ENDPOINT_URL_SQS || env.AWS_ENDPOINT_URL);
  const clientConfig: SQSClientConfig = {
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(endpointChosen ? { useQueueUrlAsEndpoint: false } : {}),
    ...(credentials ? { credentials } : {}),
    ...options.clientConfig,
  };
  return {
    client: options.client ?? null,
    clientConfig,
    queueNamePrefix: options.queueNamePrefix ?? parsed.query.queue_name_prefix ?? "",
    predefinedQueues: options.predefinedQueues ? predefinedMap(options.predefinedQueues) : null,
    skipQueueCreation: options.skipQueueCreation ?? false,
    visibilityTimeoutMs,
    visibilityRefreshIntervalMs: refresh,
    waitTimeSeconds,
    receiveConcurrency,
    messageGroupId: options.messageGroupId ?? "default",
    deadLetterQueue: options.deadLetterQueue ?? null,
    maxReceiveCount,
    rawJsonBody: options.rawJsonBody ?? false,
    logger: options.logger ?? noopLogger,
  };
}

function predefinedMap(queues: Readonly<Record<string, PredefinedQueue>>): Map<string, string> {
  const map = new Map<string, string>();
  for (const [name, entry] of Object.entries(queues)) {
    const url = typeof entry === "string" ? entry : entry?.url;
    if (typeof url !== "string" || url === "") {
      throw sqsError("TQ_CONFIG", `predefined queue "${name}" needs a url`);
    }
    map.set(name, url);
  }
  return map;
}
