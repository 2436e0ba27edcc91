import { serialize } from "bson";
import { decodeDocument } from "./bson-values.js";
import type { Document } from "./types.js";

/** Opcodes of the MongoDB wire protocol this server reads or writes. */
export const OpCode = { REPLY: 1, QUERY: 2004, MSG: 2013 } as const;

const HEADER_BYTES = 16;
/** OP_MSG flag bits. */
const CHECKSUM_PRESENT = 1 << 0;
const MORE_TO_COME = 1 << 1;

/** One wire message: the 16-byte header's fields and the bytes after it. */
export interface WireMessage {
  requestId: number;
  responseTo: number;
  opCode: number;
  body: Buffer;
}

/**
 * Splits a TCP byte stream into wire messages: each starts with its own int32 length, and a message
 * may arrive in several chunks or several in one chunk.
 */
export class MessageFramer {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): WireMessage[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const messages: WireMessage[] = [];
    while (this.#pending.length >= 4) {
      const length = this.#pending.readInt32LE(0);
      if (length < HEADER_BYTES) throw new Error(`invalid wire message length ${length}`);
      if (this.#pending.length < length) break;
      const message = this.#pending.subarray(0, length);
      this.#pending = this.#pending.subarray(length);
      messages.push({
        requestId: message.readInt32LE(4),
        responseTo: message.readInt32LE(8),
        opCode: message.readInt32LE(12),
        body: message.subarray(HEADER_BYTES),
      });
    }
    return messages;
  }
}

/** A decoded OP_MSG: the command (document sequences merged in as arrays) and whether to answer. */
export interface OpMsg {
  command: Document;
  moreToCome: boolean;
}

/**
 * Decodes OP_MSG (opcode 2013): flag bits, then sections — kind 0 is the command document, kind 1 a
 * named document sequence (e.g. `documents` of an insert) that belongs in the command under its name.
 * With `moreToCome` set (unacknowledged writes, `w: 0`) the client expects no reply.
 */
export function parseOpMsg(body: Buffer): OpMsg {
  const flags = body.readUInt32LE(0);
  const end = flags & CHECKSUM_PRESENT ? body.length - 4 : body.length;
  let offset = 4;
  let command: Document | undefined;
  const sequences: [string, Document[]][] = [];
  while (offset < end) {
    const kind = body[offset++];
    if (kind === 0) {
      const size = body.readInt32LE(offset);
      command = decodeDocument(body.subarray(offset, offset + size));
      offset += size;
    } else if (kind === 1) {
      const size = body.readInt32LE(offset);
      const sectionEnd = offset + size;
      const nameEnd = body.indexOf(0, offset + 4);
      const name = body.toString("utf8", offset + 4, nameEnd);
      const documents: Document[] = [];
      for (let at = nameEnd + 1; at < sectionEnd; ) {
        const docSize = body.readInt32LE(at);
        documents.push(decodeDocument(body.subarray(at, at + docSize)));
        at += docSize;
      }
      sequences.push([name, documents]);
      offset = sectionEnd;
    } else {
      throw new Error(`unknown OP_MSG section kind ${String(kind)}`);
    }
  }
  if (!command) throw new Error("OP_MSG without a body section");
  for (const [name, documents] of sequences) command[name] = documents;
  return { command, moreToCome: (flags & MORE_TO_COME) !== 0 };
}

/**
 * Decodes the legacy OP_QUERY (opcode 2004). The driver still sends its very first `isMaster` this way,
 * because before the handshake it does not know the server speaks OP_MSG.
 */
export function parseOpQuery(body: Buffer): { db: string; command: Document } {
  const nameEnd = body.indexOf(0, 4);
  const fullCollectionName = body.toString("utf8", 4, nameEnd);
  // After the name: numberToSkip and numberToReturn (int32 each), then the query document.
  const queryStart = nameEnd + 1 + 8;
  const size = body.readInt32LE(queryStart);
  let command = decodeDocument(body.subarray(queryStart, queryStart + size));
  // Old clients wrap the command as { $query: {...}, $readPreference: ... }.
  if (command.$query && typeof command.$query === "object") command = command.$query as Document;
  return { db: fullCollectionName.split(".")[0] ?? "admin", command };
}

function header(length: number, requestId: number, responseTo: number, opCode: number): Buffer {
  const buffer = Buffer.alloc(HEADER_BYTES);
  buffer.writeInt32LE(length, 0);
  buffer.writeInt32LE(requestId, 4);
  buffer.writeInt32LE(responseTo, 8);
  buffer.writeInt32LE(opCode, 12);
  return buffer;
}

/** An OP_MSG reply: no flags, one kind-0 section. */
export function encodeOpMsg(requestId: number, responseTo: number, reply: Document): Buffer {
  const doc = serialize(reply);
  const length = HEADER_BYTES + 4 + 1 + doc.length;
  const prefix = Buffer.alloc(5);
  return Buffer.concat([header(length, requestId, responseTo, OpCode.MSG), prefix, doc]);
}

/** An OP_REPLY (answer to OP_QUERY): flags, cursor id 0, starting from 0, one document. */
export function encodeOpReply(requestId: number, responseTo: number, reply: Document): Buffer {
  const doc = serialize(reply);
  const fields = Buffer.alloc(20);
  fields.writeInt32LE(1, 16);
  return Buffer.concat([
    header(HEADER_BYTES + 20 + doc.length, requestId, responseTo, OpCode.REPLY),
    fields,
    doc,
  ]);
}
