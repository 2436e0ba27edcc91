import type { Schedule } from "@tq/core";
import { TqError } from "@tq/core";
import { getTimes, type SunTimes } from "suncalc";

/** Celery's solar events, and the SunCalc time each one is. */
const EVENTS = {
  dawn_astronomical: "nightEnd",
  dawn_nautical: "nauticalDawn",
  dawn_civil: "dawn",
  sunrise: "sunrise",
  solar_noon: "solarNoon",
  sunset: "sunset",
  dusk_civil: "dusk",
  dusk_nautical: "nauticalDusk",
  dusk_astronomical: "night",
} as const satisfies Record<string, keyof SunTimes>;

/** A solar event, named as in Celery's `solar(event, lat, lon)`. */
export type SolarEvent = keyof typeof EVENTS;

const DAY_MS = 86_400_000;
// Near the poles an event can stay away for months (polar night): look up to a year ahead.
const MAX_DAYS_AHEAD = 370;

/**
 * Runs at a solar event at a place: Celery's `solar`. Times come from SunCalc (sunrise and sunset at
 * the sun's upper limb with refraction, as Celery's `ephem` setup; twilights at -6°, -12°, -18°). An
 * event that does not happen on a day there (polar day or night) is skipped that day. Time zones do
 * not matter: the events are instants.
 */
export class SolarSchedule implements Schedule {
  readonly kind = "solar";
  readonly event: SolarEvent;
  readonly latitude: number;
  readonly longitude: number;

  constructor(event: SolarEvent, latitude: number, longitude: number) {
    if (!Object.hasOwn(EVENTS, event)) {
      throw configError(`unknown solar event "${event}" (use ${Object.keys(EVENTS).join(", ")})`);
    }
    if (typeof latitude !== "number" || !(latitude >= -90 && latitude <= 90)) {
      throw configError(`solar latitude must be between -90 and 90, got ${latitude}`);
    }
    if (typeof longitude !== "number" || !(longitude >= -180 && longitude <= 180)) {
      throw configError(`solar longitude must be between -180 and 180, got ${longitude}`);
    }
    this.event = event;
    this.latitude = latitude;
    this.longitude = longitude;
  }

  nextRunAfter(afterMs: number): number | null {
    const name = EVENTS[this.event];
    // SunCalc answers for the solar day around the date given; start a day early so that an event
    // late in the previous UTC day but after `afterMs` is not missed.
    for (let day = -1; day <= MAX_DAYS_AHEAD; day += 1) {
      const time = getTimes(new Date(afterMs + day * DAY_MS), this.latitude, this.longitude)[name];
      if (time instanceof Date && !Number.isNaN(time.getTime())) {
        // Whole seconds, so every beat process computes the same instant for the same event.
        const at = Math.floor(time.getTime() / 1000) * 1000;
        if (at > afterMs) return at;
      }
    }
    return null;
  }

  toJSON(): { kind: "solar"; event: SolarEvent; latitude: number; longitude: number } {
    return { kind: "solar", event: this.event, latitude: this.latitude, longitude: this.longitude };
  }

  toString(): string {
    return `<solar: ${this.event} at latitude ${this.latitude}, longitude ${this.longitude}>`;
  }
}

/**
 * A solar schedule: `solar("sunset", -37.81753, 144.96715)` runs at every sunset in Melbourne.
 * Events: `dawn_astronomical`, `dawn_nautical`, `dawn_civil`, `sunrise`, `solar_noon`, `sunset`,
 * `dusk_civil`, `dusk_nautical`, `dusk_astronomical`.
 */
export function solar(event: SolarEvent, latitude: number, longitude: number): SolarSchedule {
  return new SolarSchedule(event, latitude, longitude);
}

function configError(message: string): TqError {
  return new TqError("TQ_CONFIG", message, { component: "beat" });
}
