/**
 * Redis Cluster and Sentinel deployments for tests, from Debian's `redis-server` (`--sentinel` runs
 * what `redis-sentinel` runs), on free loopback ports, started in a few hundred milliseconds.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { command, HOST, ProcessGroup, run, type ServerAddress, waitFor } from "./redis-processes.js";

export { command, type ServerAddress, waitFor } from "./redis-processes.js";

/** A Redis Cluster started by {@link startRedisCluster}. */
export interface RedisClusterHandle {
  /** Every node, masters first. */
  nodes: ServerAddress[];
  /** `redis+cluster://127.0.0.1:P1,…` naming every node. */
  url: string;
  /** Kills the nodes and removes their directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** A master, its replica and Sentinels started by {@link startRedisSentinel}. */
export interface RedisSentinelHandle {
  /** `redis+sentinel://127.0.0.1:S1,…/0?master=mymaster`. */
  url: string;
  masterName: string;
  /** The servers as started; after a failover the replica is the master. */
  master: ServerAddress;
  replica: ServerAddress;
  sentinels: ServerAddress[];
  /**
   * `SENTINEL FAILOVER`: promotes the replica, then waits until the old master serves as its replica
   * (Sentinel demotes it 8–10 s after the promotion; writes it takes before that are lost).
   * Resolves with the new master.
   */
  failover(): Promise<ServerAddress>;
  /** Kills the current master (SIGKILL) and waits until a Sentinel has promoted its replica. */
  crashMaster(): Promise<ServerAddress>;
  /** Waits until the current master's replica has every write the master took so far. */
  replicated(): Promise<void>;
  /** Kills every process and removes their directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts a Redis Cluster of `masters` masters with `replicas` replicas each, its slots all assigned. */
export async function startRedisCluster(
  options: { masters?: number; replicas?: number } = {},
): Promise<RedisClusterHandle> {
  const { masters = 3, replicas = 0 } = options;
  const group = new ProcessGroup("tq-cluster-");
  try {
    const nodes = await Promise.all(
      Array.from({ length: masters * (1 + replicas) }, () =>
        group.server((port) => [
          ...["--cluster-enabled", "yes", "--cluster-config-file", join(group.dir, `nodes-${port}.conf`)],
          ...["--cluster-node-timeout", "2000"],
        ]),
      ),
    );
    const addresses = nodes.map((node) => `${HOST}:${node.port}`);
    await run("redis-cli", [
      ...["--cluster", "create", ...addresses, "--cluster-yes"],
      ...(replicas > 0 ? ["--cluster-replicas", String(replicas)] : []),
    ]);
    await waitFor("every node to report cluster_state:ok and know every other node", async () => {
      const infos = await Promise.all(nodes.map((node) => command(node.port, "CLUSTER", "INFO")));
      return infos.every(
        (info) =>
          String(info).includes("cluster_state:ok") &&
          String(info).includes(`cluster_known_nodes:${nodes.length}\r`),
      );
    });
    // `--cluster create` picks which nodes become replicas; list the masters first.
    const roles = await Promise.all(nodes.map((node) => command(node.port, "ROLE")));
    const ordered = nodes
      .map((node, index) => ({ node, master: (roles[index] as unknown[])[0] === "master" }))
      .sort((a, b) => Number(b.master) - Number(a.master))
      .map(({ node }) => node);
    return {
      nodes: ordered,
      url: `redis+cluster://${ordered.map((node) => `${HOST}:${node.port}`).join(",")}`,
      stop: () => group.stop(),
    };
  } catch (error) {
    await group.stop();
    throw error;
  }
}

/**
 * Starts a master, one replica of it and `sentinels` Sentinels (quorum 1) watching it as
 * `mymaster`, and waits until the Sentinels know both servers, so a failover can be asked for.
 */
export async function startRedisSentinel(options: { sentinels?: number } = {}): Promise<RedisSentinelHandle> {
  const { sentinels: sentinelCount = 1 } = options;
  const masterName = "mymaster";
  const group = new ProcessGroup("tq-sentinel-");
  try {
    // Diskless full sync waits 5 s by default for more replicas to join; there is only one.
    const master = await group.server(() => ["--repl-diskless-sync-delay", "0"]);
    const replica = await group.server(() => ["--replicaof", HOST, String(master.port)]);
    await waitFor("the replica to sync with its master", async () =>
      String(await command(replica.port, "INFO", "replication")).includes("master_link_status:up"),
    );
    const sentinels = await Promise.all(
      Array.from({ length: sentinelCount }, () =>
        group.sentinel((port) => {
          // Sentinel rewrites its configuration file as it learns, so each gets a writable one.
          const file = join(group.dir, `sentinel-${port}.conf`);
          writeFileSync(
            file,
            [
              `port ${port}`,
              `bind ${HOST}`,
              `dir ${group.dir}`,
              `sentinel monitor ${masterName} ${HOST} ${master.port} 1`,
              `sentinel down-after-milliseconds ${masterName} 1000`,
              `sentinel failover-timeout ${masterName} 3000`,
              "",
            ].join("\n"),
          );
          return file;
        }),
      ),
    );
    for (const sentinel of sentinels) {
      await waitFor(`Sentinel ${sentinel.port} to know the master and its replica`, async () => {
        const address = await command(sentinel.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName);
        const known = (await command(sentinel.port, "SENTINEL", "REPLICAS", masterName)) as string[][];
        const replicaFlags = known.map((fields) => fields[fields.indexOf("flags") + 1]);
        return (
          Array.isArray(address) &&
          address[1] === String(master.port) &&
          replicaFlags.length === 1 &&
          replicaFlags[0] === "slave"
        );
      });
    }
    const sentinelPort = (sentinels[0] as ServerAddress).port;
    const currentMaster = async (): Promise<ServerAddress> => {
      const reply = (await command(
        sentinelPort,
        "SENTINEL",
        "GET-MASTER-ADDR-BY-NAME",
        masterName,
      )) as string[];
      return { host: HOST, port: Number(reply[1]) };
    };
    const otherThan = (server: ServerAddress) => (server.port === master.port ? replica : master);
    return {
      url: `redis+sentinel://${sentinels.map((s) => `${HOST}:${s.port}`).join(",")}/0?master=${masterName}`,
      masterName,
      master,
      replica,
      sentinels,
      async failover() {
        const old = await currentMaster();
        await command(sentinelPort, "SENTINEL", "FAILOVER", masterName);
        const promoted = otherThan(old);
        await waitFor(
          `the old master ${old.port} to be demoted to a replica of ${promoted.port}`,
          async () =>
            String(await command(old.port, "INFO", "replication")).includes(`master_port:${promoted.port}`),
          20_000,
        );
        return promoted;
      },
      async crashMaster() {
        const old = await currentMaster();
        group.kill(old.port);
        const promoted = otherThan(old);
        await waitFor(`a Sentinel to promote ${promoted.port}`, async () => {
          const role = (await command(promoted.port, "ROLE")) as string[];
          return role[0] === "master" && (await currentMaster()).port === promoted.port;
        });
        return promoted;
      },
      async replicated() {
        const current = await currentMaster();
        const offset = (port: number, field: string) =>
          command(port, "INFO", "replication").then((info) =>
            Number(new RegExp(`${field}:(\\d+)`).exec(String(info))?.[1]),
          );
        const target = await offset(current.port, "master_repl_offset");
        await waitFor(`the replica to reach offset ${target}`, async () => {
          return (await offset(otherThan(current).port, "slave_repl_offset")) >= target;
        });
      },
      stop: () => group.stop(),
    };
  } catch (error) {
    await group.stop();
    throw error;
  }
}
