import { TqError } from "@tq/core";

/** Where a Redis URL points. */
export type RedisTarget =
  | { kind: "standalone"; host: string; port: number; tls: boolean }
  | { kind: "sentinel"; sentinels: { host: string; port: number }[]; masterName: string; tls: boolean }
  | { kind: "cluster"; nodes: { host: string; port: number }[]; tls: boolean };

/** A parsed `redis://`, `rediss://`, `redis+sentinel://` or `redis+cluster://` URL. */
export interface ParsedRedisUrl {
  target: RedisTarget;
  /** Database number (`/0`); always 0 on a cluster. */
  db: number;
  username?: string;
  password?: string;
  /** Query parameters, for options a URL may carry (`?global_keyprefix=…`). */
  query: Record<string, string>;
}

/**
 * Parses the Redis URLs tq accepts:
 * - `redis://[[user]:password@]host[:port][/db]`, `rediss://…` for TLS;
 * - `redis+sentinel://[[user]:password@]host:port[,host:port…][/db]?master=<name>` (the password is the
 *   master's; kombu's `sentinel://` spelling is accepted too);
 * - `redis+cluster://[[user]:password@]host:port[,host:port…]` (`?tls=true` for TLS).
 */
export function parseRedisUrl(url: string): ParsedRedisUrl {
  const match = /^([a-z+]+):\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!match) throw configError(`"${redact(url)}" is not a Redis URL`);
  const [, rawScheme = "", netloc = "", path, search] = match;
  // Split at the LAST "@", as redis-py and kombu do, so an unescaped "@" in a password still works.
  const at = netloc.lastIndexOf("@");
  const auth = at === -1 ? undefined : netloc.slice(0, at);
  const hostPart = at === -1 ? netloc : netloc.slice(at + 1);
  const scheme = rawScheme.toLowerCase();
  const query = Object.fromEntries(new URLSearchParams(search ?? ""));
  const hosts = hostPart === "" ? [{ host: "127.0.0.1", port: 6379 }] : hostPart.split(",").map(parseHost);
  const tls = scheme === "rediss" || query.tls === "true" || query.ssl === "true";
  let target: RedisTarget;
  switch (scheme) {
    case "redis":
    case "rediss":
      if (hosts.length !== 1)
        throw configError(`a ${scheme}:// URL names one host; use redis+cluster:// for several`);
      target = { kind: "standalone", ...(hosts[0] as { host: string; port: number }), tls };
      break;
    case "redis+sentinel":
    case "sentinel":
      target = {
        kind: "sentinel",
        sentinels: hosts,
        masterName: query.master ?? query.master_name ?? query.service_name ?? "mymaster",
        tls,
      };
      break;
    case "redis+cluster":
      target = { kind: "cluster", nodes: hosts, tls };
      break;
    default:
      throw configError(
        `unsupported scheme "${scheme}://" (use redis, rediss, redis+sentinel or redis+cluster)`,
      );
  }
  const dbText = (path ?? "").replace(/^\//, "");
  const db = dbText === "" ? Number(query.db ?? 0) : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw configError(`database "${dbText}" must be a number ≥ 0`);
  if (target.kind === "cluster" && db !== 0) throw configError("Redis Cluster has only database 0");
  const parsed: ParsedRedisUrl = { target, db, query };
  if (auth !== undefined && auth !== "") {
    const colon = auth.indexOf(":");
    const user = colon === -1 ? "" : decodeURIComponent(auth.slice(0, colon));
    const password = decodeURIComponent(colon === -1 ? auth : auth.slice(colon + 1));
    if (user !== "") parsed.username = user;
    if (password !== "") parsed.password = password;
  }
  return parsed;
}

function parseHost(text: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1] as string, port: Number(bracketed[2] ?? 6379) };
  const [host = "", port] = text.split(":");
  const portNumber = Number(port ?? 6379);
  if (host === "" || !Number.isInteger(portNumber) || portNumber <= 0) {
    throw configError(`"${text}" is not a host[:port]`);
  }
  return { host, port: portNumber };
}

function redact(url: string): string {
  return url.replace(/\/\/[^/?#]*@/, "//***@");
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "redis" });
}
