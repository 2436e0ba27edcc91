/** The app `tq worker -A` runs in the CLI test: tasks.add, with the SQS transport registered from source. */
import { createApp } from "@tq/core";
import { sqsTransport } from "../../src/index.js";

export const app = createApp({ name: "sqs-cli", transports: [sqsTransport] });

app.task("tasks.add", (x: number, y: number) => x + y, { params: ["x", "y"] });
