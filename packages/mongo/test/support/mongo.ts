/** Per-test databases on the test MongoDB, and a raw driver client to look at what tq stored. */
import { randomBytes } from "node:crypto";
import { MongoClient } from "mongodb";
import { inject } from "vitest";

/** True when the tests run against a real MongoDB (TQ_TEST_MONGO_URL). */
export const realMongo = inject("realMongo");

/** A database name no other test or run uses. */
export function uniqueDatabase(label: string): string {
  return `tqtest_${label}_${Date.now().toString(36)}${randomBytes(3).toString("hex")}`.slice(0, 60);
}

/** The test server's URL with `database` as its path (query options of TQ_TEST_MONGO_URL kept). */
export function mongoUrl(database: string): string {
  const base = inject("mongoUrl");
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?#]*)(?:\/[^?#]*)?(\?.*)?$/.exec(base);
  if (!match) throw new Error(`not a MongoDB URL: ${base}`);
  return `${match[1]}/${database}${match[2] ?? ""}`;
}

/** A raw driver client for probes and cleanup. */
export function rawClient(): MongoClient {
  return new MongoClient(inject("mongoUrl"), { serverSelectionTimeoutMS: 5_000 });
}

/** A test database: its URL, a raw client on it, and `drop()` for afterAll. */
export class TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly client: MongoClient;

  constructor(label: string) {
    this.name = uniqueDatabase(label);
    this.url = mongoUrl(this.name);
    this.client = rawClient();
  }

  get db() {
    return this.client.db(this.name);
  }

  /** Drops the database and closes the raw client. */
  async drop(): Promise<void> {
    try {
      await this.db.dropDatabase();
    } finally {
      await this.client.close();
    }
  }
}

/** Counts documents with `$match` + `$count` (what the test server's aggregate implements). */
export async function countIn(
  collection: import("mongodb").Collection<import("mongodb").Document>,
  filter: Record<string, unknown> = {},
): Promise<number> {
  const [row] = await collection.aggregate<{ n: number }>([{ $match: filter }, { $count: "n" }]).toArray();
  return row?.n ?? 0;
}

/** A field that must hold a BSON Date. */
export function dateOf(value: unknown): Date {
  if (!(value instanceof Date)) throw new Error(`expected a Date, got ${String(value)}`);
  return value;
}
