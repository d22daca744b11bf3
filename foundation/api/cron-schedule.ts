/**
 * CronJob schedules as upstream reads them (robfig/cron's standard parser): five fields (minute,
 * hour, day of month, month, day of week) with `*`, `?`, ranges, steps, lists and month/day names,
 * or one of the macros @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly. A `TZ=` or
 * `CRON_TZ=` prefix is refused (the time zone belongs in spec.timeZone), as are the extensions
 * upstream does not accept (a seconds field, `L`, `W`, `#`, `H`). The arithmetic is cron-parser's.
 */
import { CronExpressionParser } from "cron-parser";

const macros: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

// One list element: `*`, `?`, a number or a three-letter name, an optional range end, an optional step.
const termRe = /^(\*|\?|[0-9]+|[A-Za-z]{3})(-([0-9]+|[A-Za-z]{3}))?(\/[0-9]+)?$/;
// IANA names are path segments of letters, digits and `._+-` (upstream's validTimeZoneCharacters).
const timeZoneRe = /^[A-Za-z0-9._+-]{1,14}(\/[A-Za-z0-9._+-]{1,14})*$/;

export const tzInScheduleMessage = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead";

/** A parsed schedule: the times it fires, in ms since the epoch. */
export interface CronSchedule {
  /** The first time strictly after `afterMs`. */
  next(afterMs: number): number;
  /** The last time strictly before `beforeMs`. */
  prev(beforeMs: number): number;
}

export class CronScheduleError extends Error {}

/** Why `timeZone` is not an IANA zone name, or undefined when it is. */
export function timeZoneError(timeZone: string): string | undefined {
  if (timeZone === "") return "timeZone must be nil or non-empty string";
  if (timeZone.toLowerCase() === "local")
    return "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones";
  if (!timeZoneRe.test(timeZone)) return `unknown time zone ${timeZone}`;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    return `unknown time zone ${timeZone}`;
  }
  return undefined;
}

/**
 * Parses `schedule` for `timeZone` (an IANA name; the process's local zone when absent, as the
 * kube-controller-manager uses its own). Throws CronScheduleError saying what is wrong.
 */
export function parseCronSchedule(schedule: string, timeZone?: string): CronSchedule {
  const expression = standardExpression(schedule);
  if (timeZone !== undefined) {
    const err = timeZoneError(timeZone);
    if (err) throw new CronScheduleError(err);
  }
  const options = timeZone === undefined ? {} : { tz: timeZone };
  try {
    CronExpressionParser.parse(expression, options);
  } catch (err) {
    throw new CronScheduleError((err as Error).message);
  }
  return {
    next: (afterMs) =>
      CronExpressionParser.parse(expression, { ...options, currentDate: afterMs })
        .next()
        .getTime(),
    prev: (beforeMs) =>
      CronExpressionParser.parse(expression, { ...options, currentDate: beforeMs })
        .prev()
        .getTime(),
  };
}

/** The five-field expression `schedule` stands for, or a CronScheduleError. */
function standardExpression(schedule: string): string {
  const trimmed = schedule.trim();
  if (trimmed === "") throw new CronScheduleError("empty spec string");
  if (schedule.includes("TZ")) throw new CronScheduleError(tzInScheduleMessage);
  if (trimmed.startsWith("@")) {
    const expanded = macros[trimmed.toLowerCase()];
    if (!expanded) throw new CronScheduleError(`unrecognized descriptor: ${trimmed}`);
    return expanded;
  }
  const fields = trimmed.split(/\s+/);
  if (fields.length !== 5)
    throw new CronScheduleError(`expected exactly 5 fields, found ${fields.length}: ${trimmed}`);
  for (const field of fields) {
    for (const term of field.split(",")) {
      if (!termRe.test(term)) throw new CronScheduleError(`failed to parse field ${JSON.stringify(field)}`);
    }
  }
  return fields.join(" ");
}
