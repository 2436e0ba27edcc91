import { TqError } from "@tq/core";
import { describe, expect, it } from "vitest";
import { parseRedisUrl } from "../src/url.js";

/** The TqError a call throws, failing the test when it throws something else or nothing. */
function thrownBy(call: () => unknown): TqError {
  try {
    call();
  } catch (error) {
    if (TqError.is(error)) return error;
    throw error;
  }
  throw new Error("expected a TqError, nothing was thrown");
}

describe("parseRedisUrl: a single server", () => {
  it("reads host, port and database", () => {
    expect(parseRedisUrl("redis://cache.internal:6380/3")).toEqual({
      target: { kind: "standalone", host: "cache.internal", port: 6380, tls: false },
      db: 3,
      query: {},
    });
  });

  it("defaults to port 6379 and database 0", () => {
    const parsed = parseRedisUrl("redis://localhost");
    expect(parsed.target).toEqual({ kind: "standalone", host: "localhost", port: 6379, tls: false });
    expect(parsed.db).toBe(0);
    expect(parseRedisUrl("redis://localhost/").db).toBe(0);
  });

  it("defaults to 127.0.0.1:6379 when the host is left out", () => {
    expect(parseRedisUrl("redis:///2")).toMatchObject({
      target: { kind: "standalone", host: "127.0.0.1", port: 6379 },
      db: 2,
    });
  });

  it("takes the database from ?db= when the path has none, as redis-py does", () => {
    expect(parseRedisUrl("redis://h:6379?db=4").db).toBe(4);
    expect(parseRedisUrl("redis://h:6379/5?db=4").db).toBe(5);
  });

  it("turns TLS on for rediss:// and for ?ssl=true / ?tls=true", () => {
    expect(parseRedisUrl("rediss://secure.example:6380/0").target).toEqual({
      kind: "standalone",
      host: "secure.example",
      port: 6380,
      tls: true,
    });
    expect(parseRedisUrl("redis://h?ssl=true").target.tls).toBe(true);
    expect(parseRedisUrl("redis://h?tls=true").target.tls).toBe(true);
  });

  it("accepts an upper-case scheme and surrounding whitespace", () => {
    expect(parseRedisUrl("  REDIS://h:1/1 ").target).toMatchObject({ host: "h", port: 1 });
  });

  it("reads a bracketed IPv6 host", () => {
    expect(parseRedisUrl("redis://[::1]:6380/1").target).toMatchObject({ host: "::1", port: 6380 });
    expect(parseRedisUrl("redis://[::1]").target).toMatchObject({ host: "::1", port: 6379 });
  });

  it("keeps the query parameters for options a URL may carry", () => {
    expect(parseRedisUrl("redis://h/0?global_keyprefix=app%3A&x=1").query).toEqual({
      global_keyprefix: "app:",
      x: "1",
    });
  });
});

describe("parseRedisUrl: credentials", () => {
  it("reads a password without a user (redis://:password@host)", () => {
    const parsed = parseRedisUrl("redis://:s3cret@h:6379/0");
    expect(parsed.password).toBe("s3cret");
    expect(parsed).not.toHaveProperty("username");
  });

  it("reads a lone userinfo as the password, as redis-py and kombu do", () => {
    const parsed = parseRedisUrl("redis://s3cret@h/0");
    expect(parsed.password).toBe("s3cret");
    expect(parsed).not.toHaveProperty("username");
  });

  it("reads an ACL user and password", () => {
    expect(parseRedisUrl("redis://worker:pa55@h/1")).toMatchObject({ username: "worker", password: "pa55" });
  });

  it("URL-decodes user and password", () => {
    const parsed = parseRedisUrl("redis://us%40er:p%40ss%3Aw%2Ford%23%25@h/0");
    expect(parsed.username).toBe("us@er");
    expect(parsed.password).toBe("p@ss:w/ord#%");
  });

  it("keeps a colon inside the password (only the first one separates the user)", () => {
    expect(parseRedisUrl("redis://u:a:b@h").password).toBe("a:b");
  });

  it("leaves both out for an empty userinfo", () => {
    const parsed = parseRedisUrl("redis://@h/0");
    expect(parsed).not.toHaveProperty("username");
    expect(parsed).not.toHaveProperty("password");
  });

  it("does not show the password in the error for a URL it cannot read", () => {
    const error = thrownBy(() => parseRedisUrl("redis://:topsecret@h:notaport/0"));
    expect(error.message).not.toContain("topsecret");
  });
});

describe("parseRedisUrl: Sentinel", () => {
  it("reads several sentinels, the master name and the database", () => {
    const parsed = parseRedisUrl(
      "redis+sentinel://:masterpw@10.0.0.1:26379,10.0.0.2:26380,sentinel-3/2?master=queues",
    );
    expect(parsed.target).toEqual({
      kind: "sentinel",
      sentinels: [
        { host: "10.0.0.1", port: 26379 },
        { host: "10.0.0.2", port: 26380 },
        { host: "sentinel-3", port: 6379 },
      ],
      masterName: "queues",
      tls: false,
    });
    expect(parsed.db).toBe(2);
    expect(parsed.password).toBe("masterpw");
  });

  it("accepts kombu's sentinel:// spelling and its master_name / service_name options", () => {
    expect(parseRedisUrl("sentinel://h1:26379,h2:26379/0?master_name=m1").target).toMatchObject({
      kind: "sentinel",
      masterName: "m1",
      sentinels: [
        { host: "h1", port: 26379 },
        { host: "h2", port: 26379 },
      ],
    });
    expect(parseRedisUrl("sentinel://h1:26379?service_name=m2").target).toMatchObject({ masterName: "m2" });
  });

  it("defaults the master name to mymaster", () => {
    expect(parseRedisUrl("redis+sentinel://h:26379").target).toMatchObject({ masterName: "mymaster" });
  });

  it("turns TLS on with ?tls=true", () => {
    expect(parseRedisUrl("redis+sentinel://h:26379?master=m&tls=true").target.tls).toBe(true);
  });
});

describe("parseRedisUrl: Cluster", () => {
  it("reads several seed nodes", () => {
    expect(parseRedisUrl("redis+cluster://:pw@n1:7000,n2:7001,n3:7002")).toEqual({
      target: {
        kind: "cluster",
        nodes: [
          { host: "n1", port: 7000 },
          { host: "n2", port: 7001 },
          { host: "n3", port: 7002 },
        ],
        tls: false,
      },
      db: 0,
      password: "pw",
      query: {},
    });
  });

  it("accepts an explicit database 0", () => {
    expect(parseRedisUrl("redis+cluster://n1:7000/0").db).toBe(0);
  });

  it("rejects any other database, since a cluster has only database 0", () => {
    for (const url of ["redis+cluster://n1:7000/1", "redis+cluster://n1:7000?db=3"]) {
      const error = thrownBy(() => parseRedisUrl(url));
      expect(error.code).toBe("TQ_CONFIG");
      expect(error.message).toMatch(/^\[tq\] \[redis\] /);
    }
  });

  it("turns TLS on with ?tls=true", () => {
    expect(parseRedisUrl("redis+cluster://n1:7000?tls=true").target.tls).toBe(true);
  });
});

describe("parseRedisUrl: invalid URLs are TQ_CONFIG errors from the redis component", () => {
  it.each([
    ["an unknown scheme", "amqp://guest:guest@h:5672//"],
    ["a scheme-less host", "localhost:6379"],
    ["several hosts on redis://", "redis://h1:6379,h2:6379/0"],
    ["a port that is not a number", "redis://h:port/0"],
    ["port 0", "redis://h:0/0"],
    ["an empty host in a list", "redis+cluster://n1:7000,,n3:7002"],
    ["a database that is not a number", "redis://h/zero"],
    ["a negative database", "redis://h/-1"],
    ["a fractional database", "redis://h/1.5"],
  ])("rejects %s", (_label, url) => {
    const error = thrownBy(() => parseRedisUrl(url));
    expect(error.code).toBe("TQ_CONFIG");
    expect(error.message).toMatch(/^\[tq\] \[redis\] /);
  });

  it("names the supported schemes when the scheme is unknown", () => {
    expect(thrownBy(() => parseRedisUrl("memcached://h")).message).toContain("redis+cluster");
  });
});

describe("parseRedisUrl: passwords holding '@'", () => {
  it("splits the credentials at the last '@', as redis-py does", () => {
    const parsed = parseRedisUrl("redis://:p@ss@db.example:6380/2");
    expect(parsed.password).toBe("p@ss");
    expect(parsed.target).toMatchObject({ kind: "standalone", host: "db.example", port: 6380 });
    expect(parsed.db).toBe(2);
  });
});
