/** A BSON document as deserialized by the `bson` package (Long kept as Long, see bson-values.ts). */
export type Document = Record<string, unknown>;

/** What a command handler gets besides its command document. */
export interface CommandContext {
  /** The database the command was sent to (`$db`). */
  readonly db: string;
  /** Id of the connection that sent the command, for `hello.connectionId` and `whatsmyuri`. */
  readonly connectionId: number;
  /** `host:port` of the client, for `whatsmyuri`. */
  readonly remoteAddress: string;
}
