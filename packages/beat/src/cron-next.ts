import { type CronDate, type CronExpression, CronExpressionParser } from "cron-parser";

// cron-parser takes 30-200 µs per next() in a time zone (Luxon's zone arithmetic), so parsed
// expressions are kept per zone and answers are memoised: 10,000 entries sharing a few schedules (and,
// at start-up, the same anchor time) then cost a few computations instead of 10,000.
const EXPRESSIONS_KEPT = 1_000;
const ANSWERS_KEPT = 20_000;
const expressions = new Map<string, CronExpression>();
const answers = new Map<string, number | null>();

// Celery searches about 2000 months ahead before it calls a crontab invalid; day-by-day here.
const MAX_DAYS_SKIPPED = 2_000;

/**
 * The first time strictly after `afterMs` that `expression` matches in `timezone`, or null when there
 * is none. With `alsoWeekdays`, the day must also be one of those weekdays (Celery's both-fields rule,
 * which cron's either-field rule cannot express). `strict`: let cron-parser's errors through (used
 * once, when a schedule is built) instead of answering null.
 */
export function cronNext(
  expression: string,
  timezone: string,
  afterMs: number,
  alsoWeekdays: ReadonlySet<number> | undefined,
  strict: boolean,
): number | null {
  const key = `${expression}|${alsoWeekdays ? [...alsoWeekdays].join(",") : ""}|${timezone}|${afterMs}`;
  const known = answers.get(key);
  if (known !== undefined) return known;
  let answer: number | null;
  try {
    answer = compute(expression, timezone, afterMs, alsoWeekdays);
  } catch (error) {
    if (strict) throw error;
    answer = null;
  }
  if (answers.size >= ANSWERS_KEPT) answers.clear();
  answers.set(key, answer);
  return answer;
}

function compute(
  expression: string,
  timezone: string,
  afterMs: number,
  alsoWeekdays: ReadonlySet<number> | undefined,
): number | null {
  if (!alsoWeekdays) return nextDate(expression, timezone, afterMs).getTime();
  let from = afterMs;
  for (let day = 0; day < MAX_DAYS_SKIPPED; day += 1) {
    const candidate = nextDate(expression, timezone, from);
    // CronDate's getters read the time in the expression's zone.
    if (alsoWeekdays.has(candidate.getDay())) return candidate.getTime();
    // No other time that day can match either: go on from the last moment of that local day.
    from = nextDate("0 0 * * *", timezone, candidate.getTime()).getTime() - 1;
  }
  return null;
}

function nextDate(expression: string, timezone: string, afterMs: number): CronDate {
  const key = `${expression}|${timezone}`;
  let parsed = expressions.get(key);
  if (!parsed) {
    // A fixed hash seed: `H` fields must pick the same minute in every beat process.
    parsed = CronExpressionParser.parse(expression, { tz: timezone, hashSeed: expression });
    if (expressions.size >= EXPRESSIONS_KEPT) expressions.clear();
    expressions.set(key, parsed);
  }
  parsed.reset(new Date(afterMs));
  return parsed.next();
}
