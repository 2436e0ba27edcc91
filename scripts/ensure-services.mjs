#!/usr/bin/env node
// Makes sure the local servers the test suites need are running: starts them when they are installed
// but stopped, and fails with one clear line naming what is missing otherwise. A service is needed
// only once the package whose tests use it exists, so a checkout without @tq/redis needs no Redis.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

const services = [
  {
    name: "Redis",
    neededBy: ["packages/redis"],
    url: process.env.TQ_TEST_REDIS_URL,
    host: "127.0.0.1",
    port: 6379,
    binary: "redis-server",
    install: "apt-get install -y redis-server",
    start: () =>
      execFileSync("redis-server", [
        "--daemonize",
        "yes",
        "--bind",
        "127.0.0.1",
        "--port",
        "6379",
        "--save",
        "",
        "--appendonly",
        "no",
      ]),
  },
  {
    name: "RabbitMQ",
    neededBy: ["packages/amqp"],
    url: process.env.TQ_TEST_AMQP_URL,
    host: "127.0.0.1",
    port: 5672,
    binary: "rabbitmq-server",
    install: "apt-get install -y rabbitmq-server",
    start: () => {
      execFileSync("rabbitmq-server", ["-detached"]);
      execFileSync("rabbitmqctl", ["await_startup", "--timeout", "120"], { stdio: "ignore" });
    },
  },
];

function isListening(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

function hasBinary(binary) {
  return spawnSync("sh", ["-c", `command -v ${binary}`], { stdio: "ignore" }).status === 0;
}

async function waitFor(host, port, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isListening(host, port)) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

let failed = false;
for (const service of services) {
  if (!service.neededBy.some((dir) => existsSync(join(root, dir)))) continue;
  if (service.url) continue; // the tests were pointed at a server of the caller's choosing
  if (await isListening(service.host, service.port)) continue;
  if (!hasBinary(service.binary)) {
    console.error(
      `ensure-services: ${service.name} is needed by ${service.neededBy.join(", ")} but is neither running on ${service.host}:${service.port} nor installed (${service.install})`,
    );
    failed = true;
    continue;
  }
  console.error(`ensure-services: starting ${service.name}…`);
  try {
    service.start();
  } catch (error) {
    console.error(`ensure-services: could not start ${service.name}: ${error.message.split("\n")[0]}`);
    failed = true;
    continue;
  }
  if (!(await waitFor(service.host, service.port, 120_000))) {
    console.error(`ensure-services: ${service.name} did not come up on ${service.host}:${service.port}`);
    failed = true;
  }
}
// Python Celery 5 proves wire compatibility in both directions (interop tests of the transports).
// Debian packages it; its interpreter is /usr/bin/python3, not whichever python3 is first on PATH.
// boto3 and pycurl are what kombu's SQS transport imports; pymongo is Celery's MongoDB backend's driver.
const python = {
  neededBy: ["packages/redis", "packages/amqp", "packages/sqs", "packages/mongo"],
  modules: "celery, redis, amqp, boto3, pycurl, pymongo",
  packages: [
    "python3-celery",
    "python3-redis",
    "python3-amqp",
    "python3-boto3",
    "python3-pycurl",
    "python3-pymongo",
  ],
};
const pythonHasCelery = () =>
  spawnSync("/usr/bin/python3", ["-c", `import ${python.modules}`], { stdio: "ignore" }).status === 0;
if (python.neededBy.some((dir) => existsSync(join(root, dir))) && !pythonHasCelery()) {
  if (hasBinary("apt-get")) {
    console.error(
      `ensure-services: installing ${python.packages.join(" ")} from Debian for the interop tests…`,
    );
    const install = spawnSync("apt-get", ["install", "-y", "-q", ...python.packages], {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (install.status !== 0) {
      spawnSync("apt-get", ["update", "-q"], { stdio: "ignore" });
      spawnSync("apt-get", ["install", "-y", "-q", ...python.packages], {
        stdio: ["ignore", "ignore", "inherit"],
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      });
    }
  }
  if (!pythonHasCelery()) {
    console.error(
      `ensure-services: Python Celery is needed by the interop tests but /usr/bin/python3 cannot import ${python.modules} (apt-get install -y ${python.packages.join(" ")})`,
    );
    failed = true;
  }
}

process.exit(failed ? 1 : 0);
