import { serialize } from "bson";
import { describe, expect, it } from "vitest";
import { MessageFramer, parseOpMsg } from "../src/wire.js";

function opMsg(sections: Buffer[], flags = 0): Buffer {
  const flagBytes = Buffer.alloc(4);
  flagBytes.writeUInt32LE(flags, 0);
  const body = Buffer.concat([flagBytes, ...sections]);
  const header = Buffer.alloc(16);
  header.writeInt32LE(16 + body.length, 0);
  header.writeInt32LE(3, 4);
  header.writeInt32LE(2013, 12);
  return Buffer.concat([header, body]);
}

describe("wire framing", () => {
  it("merges kind-1 document sequences into the command and reads moreToCome", () => {
    const body = Buffer.concat([Buffer.from([0]), Buffer.from(serialize({ insert: "c", $db: "d" }))]);
    const docs = Buffer.concat([serialize({ a: 1 }), serialize({ a: 2 })].map((d) => Buffer.from(d)));
    const name = Buffer.from("documents\0");
    const size = Buffer.alloc(4);
    size.writeInt32LE(4 + name.length + docs.length, 0);
    const sequence = Buffer.concat([Buffer.from([1]), size, name, docs]);
    const [message] = new MessageFramer().push(opMsg([body, sequence], 2));
    const parsed = parseOpMsg(message!.body);
    expect(parsed.moreToCome).toBe(true);
    expect(parsed.command).toEqual({ insert: "c", $db: "d", documents: [{ a: 1 }, { a: 2 }] });
  });

  it("reassembles messages split across chunks and splits joined ones", () => {
    const one = opMsg([Buffer.concat([Buffer.from([0]), Buffer.from(serialize({ ping: 1 }))])]);
    const framer = new MessageFramer();
    expect(framer.push(one.subarray(0, 7))).toEqual([]);
    const joined = Buffer.concat([one.subarray(7), one]);
    const messages = framer.push(joined);
    expect(messages).toHaveLength(2);
    expect(messages.map((m) => parseOpMsg(m.body).command)).toEqual([{ ping: 1 }, { ping: 1 }]);
  });
});
