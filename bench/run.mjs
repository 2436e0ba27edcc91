#!/usr/bin/env node
// `pnpm bench [transport...]`: runs each transport's bench (all of them by default) and prints its
// figures. Each transport measures tq against the ceilings and peers of the same run; see README.md.
import { performance } from "node:perf_hooks";

/** Transport name → its bench, loaded only when asked for. Later transports add themselves here. */
const BENCHES = {
  memory: async () => (await import("./memory.mjs")).runMemoryBench(),
  redis: async () => (await import("./redis/index.mjs")).runRedisBench(),
  amqp: async () => (await import("./amqp/index.mjs")).runAmqpBench(),
  sqs: async () => (await import("./sqs/index.mjs")).runSqsBench(),
  mongo: async () => (await import("./mongo/index.mjs")).runMongoBench(),
};

async function main(argv) {
  // pnpm passes a literal "--" through when one is given before the arguments.
  const args = argv.filter((arg) => arg !== "--");
  if (args.includes("-h") || args.includes("--help")) {
    console.log(`usage: pnpm bench [${Object.keys(BENCHES).join("|")}]...   (default: all)`);
    return 0;
  }
  const unknown = args.filter((arg) => !(arg in BENCHES));
  if (unknown.length > 0) {
    console.error(`unknown bench: ${unknown.join(", ")} (known: ${Object.keys(BENCHES).join(", ")})`);
    return 2;
  }
  const names = args.length > 0 ? [...new Set(args)] : Object.keys(BENCHES);
  const started = performance.now();
  let failed = false;
  for (const name of names) {
    const benchStarted = performance.now();
    const ok = await BENCHES[name]();
    if (!ok) failed = true;
    console.log(`  [${name} bench: ${((performance.now() - benchStarted) / 1000).toFixed(1)} s]\n`);
  }
  console.log(
    `bench done in ${((performance.now() - started) / 1000).toFixed(1)} s${failed ? " — with failed runs" : ""}`,
  );
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`bench failed: ${error.message}`);
    process.exitCode = 1;
  },
);
