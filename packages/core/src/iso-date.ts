/**
 * ISO 8601 date-times as Python writes and reads them (`datetime.isoformat()` / `fromisoformat()`),
 * used for `eta`, `expires` and kombu's tagged `datetime` values.
 */

/** How {@link parseIsoDateTime} reads a string without a UTC offset. */
export interface ParseIsoDateTimeOptions {
  /**
   * `utc` reads naive strings as UTC; `local` reads them in this process's time zone, as a Python
   * worker does for protocol v1 messages sent with `utc: false`.
   * @default "utc"
   */
  naiveAs?: "utc" | "local";
}

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2})(?::?(\d{2})(?:\.\d{1,6})?)?)?)?$/;

/**
 * Formats a date the way Python's `datetime.isoformat()` does for an aware UTC datetime with
 * microseconds: `2026-11-24T00:24:42.849000+00:00`. Python before 3.11 cannot read the `Z` that
 * `toISOString()` writes, hence the explicit offset.
 * @throws RangeError for an invalid date or a year outside 1..9999 (Python's `datetime` range).
 */
export function formatIsoDateTime(date: Date): string {
  const time = date.getTime();
  if (Number.isNaN(time)) throw new RangeError("invalid Date");
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999)
    throw new RangeError(`year ${year} is outside Python's datetime range 1..9999`);
  // toISOString() is `YYYY-MM-DDTHH:MM:SS.mmmZ` for years 0..9999; Python shows microseconds.
  return `${date.toISOString().slice(0, 23)}000+00:00`;
}

/**
 * Parses the ISO 8601 forms Python's `fromisoformat()` reads (and `Z`, which Python ≥3.11 reads):
 * `YYYY-MM-DD`, a `T` or space, `HH:MM[:SS[.fraction]]`, then `Z`, `±HH:MM[:SS[.ffffff]]`, `±HHMM` or
 * nothing. Digits past milliseconds are dropped (truncated), since `Date` holds milliseconds.
 * @returns the instant, or null when the string is not such a date-time or names an impossible date.
 */
export function parseIsoDateTime(text: string, options: ParseIsoDateTimeOptions = {}): Date | null {
  const match = ISO_DATE_TIME.exec(text);
  if (!match) return null;
  const [, y, mo, d, h, mi, s, fraction, zulu, sign, offH, offM, offS] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  const ms = fraction ? Number(fraction.slice(0, 3).padEnd(3, "0")) : 0;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  if (sign !== undefined && (Number(offH) > 23 || Number(offM) > 59 || Number(offS ?? 0) > 59)) return null;

  const naive = zulu === undefined && sign === undefined;
  if (naive && options.naiveAs === "local") {
    const local = new Date(2000, 0, 1, hour, minute, second, ms);
    // setFullYear, because the Date constructor maps years 0..99 to 1900..1999.
    local.setFullYear(year, month - 1, day);
    return local;
  }
  const utc = new Date(Date.UTC(2000, 0, 1, hour, minute, second, ms));
  utc.setUTCFullYear(year, month - 1, day);
  if (sign === undefined) return utc;
  const offsetMs = ((Number(offH) * 60 + Number(offM)) * 60 + Number(offS ?? 0)) * 1000;
  return new Date(utc.getTime() - (sign === "-" ? -offsetMs : offsetMs));
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}
