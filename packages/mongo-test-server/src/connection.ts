import type { Socket } from "node:net";
import { runCommand } from "./dispatch.js";
import type { ServerState } from "./state.js";
import type { CommandContext, Document } from "./types.js";
import { encodeOpMsg, encodeOpReply, MessageFramer, OpCode, parseOpMsg, parseOpQuery } from "./wire.js";

let nextRequestId = 1;

/**
 * Serves one client socket: frames messages, runs each command synchronously (so every command is
 * atomic with respect to all others on the server) and writes the reply in the same order.
 */
export function serveConnection(socket: Socket, connectionId: number, state: ServerState): void {
  const framer = new MessageFramer();
  const remoteAddress = `${socket.remoteAddress ?? "127.0.0.1"}:${socket.remotePort ?? 0}`;
  socket.setNoDelay(true);
  socket.on("data", (chunk: Buffer) => {
    try {
      for (const message of framer.push(chunk)) {
        const reply = handle(message.opCode, message.body, message.requestId, {
          connectionId,
          remoteAddress,
          state,
        });
        if (reply && !socket.destroyed) socket.write(reply);
      }
    } catch {
      // A message this server cannot decode leaves the stream unusable; mongod closes the connection too.
      socket.destroy();
    }
  });
  // A client that vanishes mid-write is not the server's problem.
  socket.on("error", () => socket.destroy());
}

interface Envelope {
  connectionId: number;
  remoteAddress: string;
  state: ServerState;
}

function handle(opCode: number, body: Buffer, requestId: number, envelope: Envelope): Buffer | undefined {
  const context = (db: string): CommandContext => ({
    db,
    connectionId: envelope.connectionId,
    remoteAddress: envelope.remoteAddress,
  });
  if (opCode === OpCode.MSG) {
    const { command, moreToCome } = parseOpMsg(body);
    const reply = runCommand(command, context(String(command.$db ?? "admin")), envelope.state);
    return moreToCome ? undefined : encodeOpMsg(nextRequestId++, requestId, reply);
  }
  if (opCode === OpCode.QUERY) {
    const { db, command } = parseOpQuery(body);
    const reply: Document = runCommand(command, context(db), envelope.state);
    return encodeOpReply(nextRequestId++, requestId, reply);
  }
  throw new Error(`unsupported opcode ${opCode}`);
}
