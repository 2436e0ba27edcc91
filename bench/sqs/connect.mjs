// The bench's own SQS clients (the ceiling's and the clean-up's), kept apart from helpers.mjs so the
// ceiling's worker process loads the SDK and nothing of tq.
import { Agent } from "node:http";
import { SQSClient } from "@aws-sdk/client-sqs";
import { settings, sqsEndpoint } from "./settings.mjs";

/**
 * An SQS client on the stand-in; the caller destroys it. `sockets` caps its keep-alive connections
 * (the SDK's default is 50): a client whose long polls could hold every socket needs more.
 */
export function sqsClient({ sockets } = {}) {
  return new SQSClient({
    region: settings.region,
    endpoint: sqsEndpoint(),
    credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
    ...(sockets
      ? { requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: sockets }) } }
      : {}),
  });
}
