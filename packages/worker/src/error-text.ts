/** An error's message without tq's `[tq] [component]` prefix, for a header, a result or a log line. */
export function errorText(error: Error): string {
  return error.message.replace(/^\[tq\] (?:\[[^\]]*\] )?/, "");
}
