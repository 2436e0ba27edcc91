// setTimeout fires at once for delays past 2^31-1 ms (about 24.8 days), and an ETA or a time limit can
// be further away than that, so long waits are chained.
const MAX_TIMEOUT_MS = 2_147_483_647;

/** Calls `fn` after `ms` milliseconds, however long; returns a function that cancels it. */
export function setLongTimeout(fn: () => void, ms: number): () => void {
  let timer: NodeJS.Timeout;
  const due = Date.now() + ms;
  const arm = (remaining: number): void => {
    timer = setTimeout(
      () => {
        const left = due - Date.now();
        if (left > 0) arm(left);
        else fn();
      },
      Math.max(0, Math.min(remaining, MAX_TIMEOUT_MS)),
    );
  };
  arm(ms);
  return () => clearTimeout(timer);
}
