/**
 * Reads the `embed` part of a task body (callbacks, errbacks, chain, chord) and the canvas signatures
 * in it. Internal to the message module.
 */
import {
  describe,
  invalidMessage,
  isRecord,
  readArray,
  readNullableString,
  readRecord,
  readRequiredString,
} from "./fields.js";
import type { MessageEmbed, SignatureJson } from "./types.js";

/**
 * Reads an embed object; null or absent means no embed. Missing keys become null; keys other than
 * the four are dropped, since {@link MessageEmbed} has no place for them.
 */
export function readEmbed(value: unknown, label: string): MessageEmbed {
  const embed = readRecord(value, label, null, true) ?? {};
  return {
    callbacks: readSignatureList(embed.callbacks, `${label}.callbacks`),
    errbacks: readSignatureList(embed.errbacks, `${label}.errbacks`),
    chain: readSignatureList(embed.chain, `${label}.chain`),
    chord:
      embed.chord === undefined || embed.chord === null ? null : readSignature(embed.chord, `${label}.chord`),
  };
}

/** A list of signatures, or null. */
export function readSignatureList(value: unknown, label: string): SignatureJson[] | null {
  const list = readArray(value, label, null, true);
  return list === null ? null : list.map((item, index) => readSignature(item, `${label}[${index}]`));
}

/**
 * A signature dict. `task` is required; `args`, `kwargs`, `options`, `subtask_type` and `immutable` get
 * Celery's defaults when missing (Python's `Signature` accepts dicts without them); other keys are kept.
 */
export function readSignature(value: unknown, label: string): SignatureJson {
  if (!isRecord(value)) {
    throw invalidMessage(`${label} must be a signature object, got ${describe(value)}`);
  }
  const immutable = value.immutable ?? false;
  if (typeof immutable !== "boolean")
    throw invalidMessage(`${label}.immutable must be a boolean, got ${describe(immutable)}`);
  return {
    ...value,
    task: readRequiredString(value.task, `${label}.task`),
    args: readArray(value.args, `${label}.args`, [], true) ?? [],
    kwargs: readRecord(value.kwargs, `${label}.kwargs`, {}, true) ?? {},
    options: readRecord(value.options, `${label}.options`, {}, true) ?? {},
    subtask_type: readNullableString(value.subtask_type, `${label}.subtask_type`),
    immutable,
  };
}
