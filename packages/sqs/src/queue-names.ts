/**
 * kombu's `Channel.entity_name` (kombu/transport/SQS.py): a queue name becomes a legal SQS name by
 * turning `.` into `-` and every other ASCII punctuation character except `-` and `_` into `_`; a
 * `.fifo` suffix is kept. Characters outside ASCII punctuation pass unchanged (SQS refuses them).
 */
export function entityName(name: string): string {
  if (name.endsWith(".fifo")) return `${translate(name.slice(0, -".fifo".length))}.fifo`;
  return translate(name);
}

/** kombu's `canonical_queue_name`: the prefix is added first, then the whole name is translated. */
export function sqsQueueName(prefix: string, queue: string): string {
  return entityName(prefix + queue);
}

/** True for the name of a FIFO queue. */
export function isFifoName(sqsName: string): boolean {
  return sqsName.endsWith(".fifo");
}

// Python's string.punctuation.
const PUNCTUATION = new Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");

function translate(text: string): string {
  let out = "";
  for (const char of text) {
    if (char === ".") out += "-";
    else if (char !== "-" && char !== "_" && PUNCTUATION.has(char)) out += "_";
    else out += char;
  }
  return out;
}
