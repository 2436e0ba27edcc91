import { TqError } from "../errors.js";
import type { ControlRequest } from "./pidbox-message.js";

/**
 * Whether a node takes a control request, as kombu's `Node.handle_message` decides: a non-empty
 * `destination` must list the node's name; otherwise a `pattern` with a `matcher` must match it
 * (`glob`: Python's `fnmatch`; `pcre`: Python's `re.match`, anchored at the start only); otherwise
 * (no destination, or a pattern without a matcher, as kombu) every node takes it.
 *
 * Throws `TQ_MESSAGE_INVALID` for an unknown matcher or a pattern that is not a regular expression
 * (kombu raises there too), so the caller logs and skips the request.
 */
export function isAddressedTo(request: ControlRequest, hostname: string): boolean {
  const { destination, pattern, matcher } = request;
  if (destination && destination.length > 0) return destination.includes(hostname);
  if (!pattern || !matcher) return true;
  switch (matcher) {
    case "glob":
      return globToRegExp(pattern).test(hostname);
    case "pcre":
      return pcreMatches(pattern, hostname);
    default:
      throw new TqError("TQ_MESSAGE_INVALID", `control message names an unknown matcher "${matcher}"`, {
        component: "control",
      });
  }
}

/**
 * Python's `fnmatch.translate`: `*` any run, `?` one character, `[seq]`/`[!seq]` a set (an unclosed
 * `[` is literal), everything else literal; the whole name must match.
 */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === "*") source += "[\\s\\S]*";
    else if (char === "?") source += "[\\s\\S]";
    else if (char === "[") {
      let end = i + 1;
      if (glob[end] === "!") end++;
      if (glob[end] === "]") end++;
      while (end < glob.length && glob[end] !== "]") end++;
      if (end >= glob.length) {
        source += "\\[";
        continue;
      }
      let set = glob.slice(i + 1, end).replace(/[\\\]]/g, "\\$&");
      if (set.startsWith("!")) set = `^${set.slice(1)}`;
      else if (set.startsWith("^")) set = `\\${set}`;
      source += `[${set}]`;
      i = end;
    } else source += char.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (cause) {
    // A set Python accepts but JS does not, such as a reversed range `[z-a]`.
    throw new TqError("TQ_MESSAGE_INVALID", `control message pattern "${glob}" is not a valid glob`, {
      component: "control",
      cause,
    });
  }
}

function pcreMatches(pattern: string, hostname: string): boolean {
  let regexp: RegExp;
  try {
    // Sticky: matches at index 0 only, as Python's re.match (which does not anchor the end).
    regexp = new RegExp(pattern, "y");
  } catch (cause) {
    throw new TqError(
      "TQ_MESSAGE_INVALID",
      `control message pattern /${pattern}/ is not a regular expression`,
      {
        component: "control",
        cause,
      },
    );
  }
  return regexp.test(hostname);
}
