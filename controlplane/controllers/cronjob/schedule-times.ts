/**
 * Which scheduled time a CronJob should run now, as upstream's mostRecentScheduleTime: the latest
 * schedule time that passed since the CronJob last scheduled (or was created), or, with
 * startingDeadlineSeconds, within that window. Missed times before it are skipped, so a control
 * plane that was down for hours starts at most one catch-up run; past 100 missed times it also
 * warns (upstream's "too many missed start times").
 *   schedule every minute, last run 10:00, now 10:05:30 → times 10:01..10:05 missed (5), run 10:05.
 */
import type { CronSchedule } from "../../../foundation/api/cron-schedule.js";

/** Upstream's threshold for the TooManyMissedTimes warning. */
export const manyMissedThreshold = 100;

/** Requeues land this long after the scheduled time, so the clock has surely passed it. */
export const nextScheduleDeltaMs = 100;

export interface DueTime {
  /** The most recent scheduled time not after `now`, in the window; undefined when none. */
  mostRecent: number | undefined;
  /** How many scheduled times passed in the window, capped at manyMissedThreshold + 1. */
  missed: number;
}

/**
 * `earliest`: lastScheduleTime, else the CronJob's creation time. `startingDeadlineSeconds`
 * narrows the window to the last that many seconds before `now`.
 */
export function dueTime(
  schedule: CronSchedule,
  earliest: number,
  now: number,
  startingDeadlineSeconds: number | undefined,
): DueTime {
  let from = earliest;
  if (startingDeadlineSeconds !== undefined) from = Math.max(from, now - startingDeadlineSeconds * 1000);
  let t = schedule.next(from);
  if (t > now) return { mostRecent: undefined, missed: 0 };
  let missed = 0;
  let mostRecent = t;
  while (t <= now && missed <= manyMissedThreshold) {
    missed++;
    mostRecent = t;
    t = schedule.next(t);
  }
  // Too many to walk: the latest one is the last time before (or at) now.
  if (t <= now) mostRecent = schedule.prev(now + 1);
  return { mostRecent, missed };
}

/** Milliseconds from `now` until the sync after the next scheduled time. */
export function untilNext(schedule: CronSchedule, now: number): number {
  return schedule.next(now) + nextScheduleDeltaMs - now;
}
