import { TqError } from "@tq/core";
import type { Options } from "amqplib";

/** A parsed AMQP URL, ready for amqplib's `connect()`. */
export interface ParsedAmqpUrl {
  /** What amqplib's `connect()` takes (object form, so the password never needs re-escaping). */
  readonly connect: Options.Connect;
  /** The URL with its password hidden, for logs and error messages. */
  readonly display: string;
  /** Query parameters, for options a URL may carry (`?heartbeat=30`). */
  readonly query: Readonly<Record<string, string>>;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { amqp: 5672, amqps: 5671 };

/**
 * Parses the URLs kombu accepts for RabbitMQ: `amqp://[user[:password]@]host[:port][/vhost][?query]`,
 * `amqps://…` for TLS, and kombu's `pyamqp://` (the same as `amqp://`). As in kombu, a missing user
 * and password mean `guest`/`guest`, a missing host `localhost`, and an empty path or `//` the vhost
 * `/`; `/%2F` is `/` too. Query parameters `heartbeat`, `frame_max` and `channel_max` are honoured.
 * The credentials are split at the LAST `@`, so an unescaped `@` in a password still works.
 */
export function parseAmqpUrl(url: string): ParsedAmqpUrl {
  const match = /^([a-z+]+):\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!match)
    throw configError(`"${redactAmqpUrl(url)}" is not an AMQP URL (amqp://user:pass@host:5672/vhost)`);
  const [, rawScheme = "", netloc = "", path = "", search] = match;
  let scheme = rawScheme.toLowerCase();
  if (scheme === "pyamqp" || scheme === "amqp+tcp") scheme = "amqp";
  const port = DEFAULT_PORTS[scheme];
  if (port === undefined) {
    throw configError(`unsupported scheme "${rawScheme}://" (use amqp://, amqps:// or pyamqp://)`);
  }
  const at = netloc.lastIndexOf("@");
  const auth = at === -1 ? undefined : netloc.slice(0, at);
  const hostPart = at === -1 ? netloc : netloc.slice(at + 1);
  const { hostname, port: givenPort } = parseHost(hostPart, port);
  const query = Object.fromEntries(new URLSearchParams(search ?? ""));
  const connect: Options.Connect = {
    protocol: scheme,
    hostname,
    port: givenPort,
    username: "guest",
    password: "guest",
    // amqplib unescapes the vhost once itself; kombu's "//" (and "") both mean "/".
    vhost: path.length > 1 ? path.slice(1) : "/",
  };
  if (auth !== undefined) {
    const colon = auth.indexOf(":");
    connect.username = decodeURIComponent(colon === -1 ? auth : auth.slice(0, colon));
    connect.password = colon === -1 ? "" : decodeURIComponent(auth.slice(colon + 1));
  }
  const heartbeat = integerParam(query, "heartbeat");
  if (heartbeat !== undefined) connect.heartbeat = heartbeat;
  const frameMax = integerParam(query, "frame_max") ?? integerParam(query, "frameMax");
  if (frameMax !== undefined) connect.frameMax = frameMax;
  const channelMax = integerParam(query, "channel_max") ?? integerParam(query, "channelMax");
  if (channelMax !== undefined) connect.channelMax = channelMax;
  return { connect, display: redactAmqpUrl(url), query };
}

/** Hides the password of an AMQP URL. */
export function redactAmqpUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:/?#@]*:)[^/?#]*@/i, "$1***@");
}

function parseHost(text: string, defaultPort: number): { hostname: string; port: number } {
  if (text === "") return { hostname: "localhost", port: defaultPort };
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  const [hostname = "", portText] = bracketed ? [bracketed[1], bracketed[2]] : text.split(":");
  const port = portText === undefined || portText === "" ? defaultPort : Number(portText);
  if (hostname === "" || !Number.isInteger(port) || port <= 0 || port > 65_535) {
    throw configError(`"${text}" is not a host[:port]`);
  }
  return { hostname: decodeURIComponent(hostname), port };
}

function integerParam(query: Record<string, string>, name: string): number | undefined {
  const text = query[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    throw configError(`URL parameter ${name} must be an integer ≥ 0, got "${text}"`);
  }
  return value;
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "amqp" });
}
