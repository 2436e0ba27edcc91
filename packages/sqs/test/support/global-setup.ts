/** Starts fauxqs (pinned 1.9.2) on a free loopback port unless TQ_TEST_SQS_ENDPOINT names a real endpoint. */
import { startFauxqs } from "fauxqs";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    sqsEndpoint: string;
    sqsIsFauxqs: boolean;
  }
}

let stop: (() => Promise<void>) | undefined;

export async function setup(project: TestProject): Promise<void> {
  const given = process.env.TQ_TEST_SQS_ENDPOINT;
  if (given) {
    project.provide("sqsEndpoint", given);
    project.provide("sqsIsFauxqs", false);
    return;
  }
  const server = await startFauxqs({ port: 0, host: "127.0.0.1", logger: false });
  stop = () => server.stop();
  project.provide("sqsEndpoint", `http://127.0.0.1:${server.port}`);
  project.provide("sqsIsFauxqs", true);
}

export async function teardown(): Promise<void> {
  await stop?.();
}
