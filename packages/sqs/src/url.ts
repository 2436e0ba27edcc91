import { sqsError } from "./errors.js";

/** A parsed `sqs://` URL. */
export interface ParsedSqsUrl {
  /** From the URL's user part (kombu's `sqs://aws_access_key_id:aws_secret_access_key@`). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * `http(s)://host[:port]` when the URL names a host (kombu turns `sqs://localhost:9324` into an
   * endpoint the same way); undefined for `sqs://` or `sqs://user:secret@`, where the AWS endpoint of
   * the region is used.
   */
  endpoint?: string;
  /** Query parameters (`?region=eu-west-1&queue_name_prefix=…`). */
  query: Record<string, string>;
}

/**
 * Parses kombu's SQS URL, `sqs://[aws_access_key_id:aws_secret_access_key@][host[:port]][?…]`. The
 * key and secret may be URL-encoded (a secret often holds `/` or `+`). Without them the SDK's usual
 * chain (environment, shared config, instance role…) provides credentials. `?is_secure=true` (or
 * `?secure=true`) makes a host endpoint `https://`.
 */
export function parseSqsUrl(url: string): ParsedSqsUrl {
  const match = /^sqs:\/\/([^/?#]*)\/?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!match) throw sqsError("TQ_CONFIG", `"${redactSqsUrl(url)}" is not an sqs:// URL`);
  const [, netloc = "", search] = match;
  const query = Object.fromEntries(new URLSearchParams(search ?? ""));
  const at = netloc.lastIndexOf("@");
  const auth = at === -1 ? "" : netloc.slice(0, at);
  const host = at === -1 ? netloc : netloc.slice(at + 1);
  const parsed: ParsedSqsUrl = { query };
  if (auth !== "") {
    const colon = auth.indexOf(":");
    if (colon === -1) {
      throw sqsError("TQ_CONFIG", "an sqs:// URL carries credentials as access_key_id:secret_access_key@");
    }
    parsed.credentials = {
      accessKeyId: decodeURIComponent(auth.slice(0, colon)),
      secretAccessKey: decodeURIComponent(auth.slice(colon + 1)),
    };
  }
  if (host !== "") {
    if (!/^(\[[^\]]+\]|[^:[\]]+)(:\d+)?$/.test(host)) {
      throw sqsError("TQ_CONFIG", `"${host}" is not a host[:port]`);
    }
    const secure = query.is_secure === "true" || query.secure === "true";
    parsed.endpoint = `${secure ? "https" : "http"}://${host}`;
  }
  return parsed;
}

/** Hides the credentials of an sqs:// URL for logs and errors. */
export function redactSqsUrl(url: string): string {
  return url.replace(/\/\/[^/?#]*@/, "//***@");
}
