/** The shared child-process helpers (@tq/test-processes), and where this package's fixtures live. */
import path from "node:path";
import { fileURLToPath } from "node:url";

export * from "@tq/test-processes";

/** packages/mongo. */
export const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
