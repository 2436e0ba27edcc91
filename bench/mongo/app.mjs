// tq's app for the MongoDB bench, the producer's and the worker's: built from URLs as an
// application's, mongodb:// (@tq/mongo) for both the broker and the result backend, each in its own
// database of the stand-in, with tq's default options (so, there being no change streams on the
// stand-in, consumers and result waits poll: 50 ms doubling to 1 s when nothing comes).
import { createApp } from "@tq/core";
import { mongoTransport } from "@tq/mongo";
import { DATABASES, mongoUrl, QUEUES } from "./settings.mjs";

/** The app with tq's defaults but for the queue name. */
export function benchApp() {
  return createApp({
    broker: mongoUrl(DATABASES.tq),
    resultBackend: mongoUrl(DATABASES.tqResults),
    transports: [mongoTransport],
    env: false,
    taskDefaultQueue: QUEUES.tq,
  });
}
