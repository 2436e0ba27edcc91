/**
 * Turns a message body into a value: decompression (kombu's `compression` header), then the
 * serializer chosen by content type. Internal to the message module.
 */
import { brotliDecompressSync, unzipSync } from "node:zlib";
import { TqError } from "../errors.js";
import type { Serializer } from "../serializer.js";
import { describe, invalidMessage } from "./fields.js";
import type { TransportMessage } from "./types.js";

/** Serializers by content type, or a list of them (matched on {@link Serializer.contentType}). */
export type SerializerLookup = ReadonlyMap<string, Serializer> | readonly Serializer[];

// kombu writes the compressor's content type in the header. Its `zlib` compressor is
// `zlib.compress` (a zlib stream) under the name `application/x-gzip`; unzip reads zlib and gzip alike.
const DECOMPRESSORS: ReadonlyMap<string, (data: Uint8Array) => Uint8Array> = new Map([
  ["application/x-gzip", unzipSync],
  ["application/gzip", unzipSync],
  ["application/zlib", unzipSync],
  ["gzip", unzipSync],
  ["zlib", unzipSync],
  ["application/x-brotli", brotliDecompressSync],
  ["brotli", brotliDecompressSync],
]);
const SUPPORTED_COMPRESSIONS = "application/x-gzip (zlib), application/x-brotli";
const TEXT_ENCODINGS = new Set(["utf-8", "utf8", "binary", ""]);

/**
 * Decompresses and deserializes a message body.
 * @throws TqError `TQ_SERIALIZATION` for an unknown content type, encoding or compression, or a body
 *   that cannot be decompressed or decoded; `TQ_MESSAGE_INVALID` for a malformed `compression` header.
 */
export function decodeMessageBody(message: TransportMessage, serializers: SerializerLookup): unknown {
  const contentType = typeof message.contentType === "string" ? message.contentType : "";
  const serializer = findSerializer(contentType, serializers);
  if (!serializer) {
    const accepted = acceptedContentTypes(serializers);
    throw serializationError(
      `unsupported content type ${JSON.stringify(contentType)}; accepted: ${accepted.length ? accepted.join(", ") : "none"}`,
    );
  }
  const encoding = typeof message.contentEncoding === "string" ? message.contentEncoding.toLowerCase() : "";
  if (!TEXT_ENCODINGS.has(encoding)) {
    throw serializationError(
      `unsupported content encoding ${JSON.stringify(message.contentEncoding)}; accepted: utf-8, binary`,
    );
  }
  const body = decompress(message.body, message.headers.compression);
  try {
    return serializer.decode(body);
  } catch (error) {
    const detail =
      error instanceof Error ? error.message.replace(/^\[tq\] (?:\[[^\]]*\] )?/, "") : String(error);
    throw serializationError(`body cannot be decoded as ${serializer.contentType}: ${detail}`, error);
  }
}

function decompress(body: Uint8Array, compression: unknown): Uint8Array {
  if (compression === undefined || compression === null) return body;
  if (typeof compression !== "string") {
    throw invalidMessage(`header "compression" must be a string, got ${describe(compression)}`);
  }
  const decompressor = DECOMPRESSORS.get(compression.trim().toLowerCase());
  if (!decompressor) {
    throw serializationError(
      `unsupported compression ${JSON.stringify(compression)}; supported: ${SUPPORTED_COMPRESSIONS}`,
    );
  }
  try {
    return decompressor(body);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw serializationError(`body cannot be decompressed as ${compression}: ${detail}`, error);
  }
}

function normalize(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

function findSerializer(contentType: string, serializers: SerializerLookup): Serializer | undefined {
  const wanted = normalize(contentType);
  if (isMap(serializers)) {
    const direct = serializers.get(contentType) ?? serializers.get(wanted);
    if (direct) return direct;
  }
  for (const serializer of serializers.values()) {
    if (normalize(serializer.contentType) === wanted) return serializer;
  }
  return undefined;
}

function acceptedContentTypes(serializers: SerializerLookup): string[] {
  return [...new Set(Array.from(serializers.values(), (serializer) => serializer.contentType))];
}

function isMap(serializers: SerializerLookup): serializers is ReadonlyMap<string, Serializer> {
  return serializers instanceof Map;
}

function serializationError(message: string, cause?: unknown): TqError {
  return new TqError("TQ_SERIALIZATION", message, { component: "message", cause });
}
