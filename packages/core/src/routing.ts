import type { TaskRoute } from "./config.js";

/** Finds the route for a task name: an exact entry first, then the first matching `*` glob. */
export function matchRoute(
  routes: Readonly<Record<string, TaskRoute>>,
  taskName: string,
): TaskRoute | undefined {
  const exact = routes[taskName];
  if (exact) return exact;
  for (const [pattern, route] of Object.entries(routes)) {
    if (pattern.includes("*") && globToRegExp(pattern).test(taskName)) return route;
  }
  return undefined;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
}
