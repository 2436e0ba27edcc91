/**
 * A serializer turns task arguments and results into bytes and back. It is chosen by content type,
 * which travels with every message, so a worker can read what any client sent.
 */
export interface Serializer {
  /** MIME type written to `content_type`, e.g. `application/json`. */
  readonly contentType: string;
  /** Written to `content_encoding`: `utf-8` for text formats, `binary` otherwise. */
  readonly contentEncoding: string;
  /** Celery's short name for it (`json`, `msgpack`, `yaml`), used in configuration. */
  readonly name: string;
  /** Serializes a value. Throws a `TQ_SERIALIZATION` error for values it cannot represent. */
  encode(value: unknown): Uint8Array;
  /** Deserializes bytes. Throws a `TQ_SERIALIZATION` error for malformed input. */
  decode(data: Uint8Array): unknown;
}
