/**
 * A test-only bridge from the SQS **query** protocol (form or URL parameters in, XML out) to the **JSON**
 * protocol, in front of fauxqs.
 *
 * Why: fauxqs 1.9.2 serves SQS over the JSON protocol only (what @aws-sdk v3 and botocore ≥ 1.31 speak);
 * its form-encoded POSTs go to its SNS router and its GETs to its S3 router. Debian's Celery 5.2 stack
 * speaks the query protocol: kombu 5.2's producer through botocore 1.29 (POST, form body) and its
 * consumer through `kombu.asynchronous.aws` on pycurl (POST, or GET with a presigned query string, to
 * the queue's URL). AWS serves both protocols on the same queues; this bridge does the same for fauxqs.
 *
 * It re-frames requests and replies only: every value (a `MessageBody` above all) passes through
 * unchanged, so what the two sides exchange through it is byte for byte what they send. It handles the
 * actions kombu 5.2's SQS transport calls and answers any other with an error naming it.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** The actions kombu 5.2's SQS transport (producer, consumer, ack, requeue, size, purge) calls. */
const ACTIONS = new Set([
  "ListQueues",
  "GetQueueUrl",
  "CreateQueue",
  "DeleteQueue",
  "GetQueueAttributes",
  "SendMessage",
  "ReceiveMessage",
  "DeleteMessage",
  "ChangeMessageVisibility",
  "PurgeQueue",
]);
const INTEGER_PARAMS = new Set([
  "MaxNumberOfMessages",
  "WaitTimeSeconds",
  "VisibilityTimeout",
  "DelaySeconds",
]);
const STRING_PARAMS = new Set([
  "QueueName",
  "QueueUrl",
  "QueueNamePrefix",
  "MessageBody",
  "ReceiptHandle",
  "MessageGroupId",
  "MessageDeduplicationId",
  "ReceiveRequestAttemptId",
]);
/** Flattened lists: `AttributeName.1=…` → `AttributeNames: […]`. */
const LIST_PARAMS: Record<string, string> = {
  AttributeName: "AttributeNames",
  MessageAttributeName: "MessageAttributeNames",
  MessageSystemAttributeName: "MessageSystemAttributeNames",
};
const XMLNS = "http://queue.amazonaws.com/doc/2012-11-05/";

type Json = Record<string, unknown>;

class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function el(name: string, content: string): string {
  return `<${name}>${content}</${name}>`;
}

function text(name: string, value: unknown): string {
  return value === undefined || value === null ? "" : el(name, escapeXml(String(value)));
}

/** Query parameters → the JSON protocol's request object. */
function queryToJson(params: URLSearchParams): Json {
  const json: Json = {};
  const maps = new Map<string, Map<string, Record<string, string>>>();
  for (const [key, value] of params) {
    if (key === "Action" || key === "Version" || key.startsWith("X-Amz-")) continue;
    const [head = "", index, ...rest] = key.split(".");
    if (INTEGER_PARAMS.has(key)) json[key] = Number(value);
    else if (STRING_PARAMS.has(key)) json[key] = value;
    else if (LIST_PARAMS[head] && index && rest.length === 0) {
      const list = (json[LIST_PARAMS[head]] as string[] | undefined) ?? [];
      list[Number(index) - 1] = value;
      json[LIST_PARAMS[head]] = list;
    } else if ((head === "Attribute" || head === "Tag" || head === "MessageAttribute") && index) {
      // Flattened maps: Attribute.N.Name/Value, Tag.N.Key/Value, MessageAttribute.N.Name/Value.<field>.
      const entries = maps.get(head) ?? new Map<string, Record<string, string>>();
      maps.set(head, entries);
      const entry = entries.get(index) ?? {};
      entries.set(index, entry);
      entry[rest.join(".")] = value;
    } else
      throw new GatewayError(400, "TqGatewayUnsupportedParameter", `the gateway does not translate ${key}`);
  }
  for (const [head, entries] of maps) {
    const map: Json = {};
    for (const entry of entries.values()) {
      if (head === "Attribute") map[entry.Name ?? ""] = entry.Value;
      else if (head === "Tag") map[entry.Key ?? ""] = entry.Value;
      else {
        map[entry.Name ?? ""] = Object.fromEntries(
          Object.entries(entry)
            .filter(([field]) => field.startsWith("Value."))
            .map(([field, value]) => [field.slice("Value.".length), value]),
        );
      }
    }
    json[{ Attribute: "Attributes", Tag: "tags", MessageAttribute: "MessageAttributes" }[head] ?? head] = map;
  }
  return json;
}

function attributesXml(element: string, attributes: unknown): string {
  return Object.entries((attributes ?? {}) as Record<string, string>)
    .map(([name, value]) => el(element, text("Name", name) + text("Value", value)))
    .join("");
}

function messageXml(message: Json): string {
  const messageAttributes = Object.entries((message.MessageAttributes ?? {}) as Record<string, Json>)
    .map(([name, value]) =>
      el(
        "MessageAttribute",
        text("Name", name) +
          el(
            "Value",
            text("StringValue", value.StringValue) +
              text("BinaryValue", value.BinaryValue) +
              text("DataType", value.DataType),
          ),
      ),
    )
    .join("");
  return el(
    "Message",
    text("MessageId", message.MessageId) +
      text("ReceiptHandle", message.ReceiptHandle) +
      text("MD5OfBody", message.MD5OfBody) +
      text("Body", message.Body) +
      attributesXml("Attribute", message.Attributes) +
      text("MD5OfMessageAttributes", message.MD5OfMessageAttributes) +
      messageAttributes,
  );
}

/** The JSON protocol's reply → the `<Action>Result` element's content, or null for actions without one. */
function resultXml(action: string, reply: Json, rewrite: (url: string) => string): string | null {
  switch (action) {
    case "ListQueues":
      return ((reply.QueueUrls ?? []) as string[]).map((url) => text("QueueUrl", rewrite(url))).join("");
    case "GetQueueUrl":
    case "CreateQueue":
      return text("QueueUrl", rewrite(String(reply.QueueUrl)));
    case "GetQueueAttributes":
      return attributesXml("Attribute", reply.Attributes);
    case "SendMessage":
      return [
        "MessageId",
        "MD5OfMessageBody",
        "MD5OfMessageAttributes",
        "MD5OfMessageSystemAttributes",
        "SequenceNumber",
      ]
        .map((field) => text(field, reply[field]))
        .join("");
    case "ReceiveMessage":
      return ((reply.Messages ?? []) as Json[]).map(messageXml).join("");
    default:
      return null;
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

/** The region a request was signed for (header, or a presigned URL's `X-Amz-Credential`). */
function signedRegion(request: IncomingMessage, params: URLSearchParams): string {
  const credential =
    /Credential=([^,\s]+)/.exec(request.headers.authorization ?? "")?.[1] ?? params.get("X-Amz-Credential");
  return credential?.split("/")[2] ?? "us-east-1";
}

/** One request the bridge served. */
export interface GatewayRequest {
  action: string;
  method: string;
  /** Tells botocore (`Boto3/…`, kombu's producer and acks) from pycurl (kombu's consumer). */
  userAgent: string;
}

/** A running bridge; `url` is the endpoint to give the query-protocol client. */
export interface QueryGateway {
  readonly url: string;
  /** Requests served so far, in order (the tests check that kombu's consumer really went through it). */
  readonly requests: readonly GatewayRequest[];
  close(): Promise<void>;
}

/** Starts the bridge on a free loopback port, forwarding to the JSON-protocol `upstream` (fauxqs). */
export async function startQueryGateway(upstream: string): Promise<QueryGateway> {
  const requests: GatewayRequest[] = [];
  let origin = "";
  // Queue URLs as fauxqs names them (`http://sqs.<region>.127.0.0.1:<port>/<account>/<name>`, a host that
  // does not resolve) become URLs on this gateway, as kombu's consumer sends its receives to the queue URL.
  // (Not `new URL()`: WHATWG parsing rejects a host ending in a number that is no IPv4 address.)
  const rewrite = (url: string): string => `${origin}${url.replace(/^[a-z]+:\/\/[^/]+/i, "")}`;
  const upstreamUrls = new Map<string, string>();

  async function call(
    action: string,
    body: Json,
    region: string,
  ): Promise<{ status: number; reply: Json; queryError: string | null }> {
    const response = await fetch(`${upstream}/`, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.0",
        "x-amz-target": `AmazonSQS.${action}`,
        // fauxqs reads the region from the credential scope and checks no signature.
        authorization: `AWS4-HMAC-SHA256 Credential=test/20000101/${region}/sqs/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(body),
    });
    const raw = await response.text();
    const reply = (raw ? JSON.parse(raw) : {}) as Json;
    for (const url of [reply.QueueUrl, ...((reply.QueueUrls as unknown[] | undefined) ?? [])]) {
      if (typeof url === "string") upstreamUrls.set(rewrite(url), url);
    }
    return { status: response.status, reply, queryError: response.headers.get("x-amzn-query-error") };
  }

  async function handle(request: IncomingMessage): Promise<{ status: number; xml: string }> {
    const target = new URL(request.url ?? "/", origin);
    const params =
      request.method === "POST" ? new URLSearchParams(await readBody(request)) : target.searchParams;
    const action = params.get("Action") ?? "";
    requests.push({ action, method: request.method ?? "", userAgent: request.headers["user-agent"] ?? "" });
    if (!ACTIONS.has(action))
      throw new GatewayError(
        400,
        "InvalidAction",
        `the gateway does not translate ${action || "(no action)"}`,
      );
    const region = signedRegion(request, target.searchParams);
    const body = queryToJson(params);
    // kombu's async client names the queue by the request's URL rather than a QueueUrl parameter.
    const queueUrl =
      (body.QueueUrl as string | undefined) ??
      (target.pathname !== "/" ? `${origin}${target.pathname}` : undefined);
    if (queueUrl !== undefined) {
      if (!upstreamUrls.has(queueUrl)) {
        const name = queueUrl.split("/").pop() ?? "";
        await call("GetQueueUrl", { QueueName: name }, region);
      }
      // An unknown queue stays unknown: fauxqs answers QueueDoesNotExist for it.
      body.QueueUrl = upstreamUrls.get(queueUrl) ?? queueUrl;
    }
    const { status, reply, queryError } = await call(action, body, region);
    if (status !== 200) {
      const [code, fault] = (queryError ?? "").split(";");
      const type =
        String(reply.__type ?? "")
          .split("#")
          .pop() || "InternalError";
      const error =
        text("Type", fault || "Sender") +
        text("Code", code || type) +
        text("Message", reply.message ?? reply.Message) +
        "<Detail/>";
      return { status, xml: el("ErrorResponse", el("Error", error) + text("RequestId", randomUUID())) };
    }
    const result = resultXml(action, reply, rewrite);
    const metadata = el("ResponseMetadata", text("RequestId", randomUUID()));
    const content = (result === null ? "" : el(`${action}Result`, result)) + metadata;
    return { status: 200, xml: `<${action}Response xmlns="${XMLNS}">${content}</${action}Response>` };
  }

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    handle(request).then(
      ({ status, xml }) => send(response, status, xml),
      (error: unknown) => {
        const gatewayError =
          error instanceof GatewayError ? error : new GatewayError(500, "InternalError", String(error));
        const body =
          text("Type", "Sender") + text("Code", gatewayError.code) + text("Message", gatewayError.message);
        send(
          response,
          gatewayError.status,
          el("ErrorResponse", el("Error", body) + text("RequestId", randomUUID())),
        );
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(response: ServerResponse, status: number, xml: string): void {
  response.writeHead(status, { "content-type": "text/xml" });
  response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
}
