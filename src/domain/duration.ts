/**
 * Durations as users write them: 90s, 30m, 24h, 7d, 2w, 10y. Combinations like 1d12h work.
 *
 * A year is a calendar year where an end date is computed from a start (certificate validity: `10y` from
 * 2026-03-01 ends on 2036-03-01, and 29 February rolls over to 1 March), and 365 days where a plain length is
 * enough (thresholds such as --warn 1y).
 */
import { PkiError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

/** A parsed duration: whole calendar years plus a fixed number of seconds, and the text it was written as. */
export interface Duration {
  years: number;
  seconds: number;
  text: string;
}

/** Parses a duration into calendar years + seconds; throws `code` naming `what` (a flag or a file:line:col). */
export function parseDurationParts(text: string, what: string, code = 'USAGE_BAD_DURATION'): Duration {
  const s = String(text).trim();
  if (!/^(\d+[smhdwy])+$/.test(s))
    throw new PkiError(code, `${what}: "${text}" is not a duration (use e.g. 90s, 30m, 24h, 7d, 2w, 10y)`, { details: { value: text } });
  let years = 0;
  let seconds = 0;
  for (const m of s.matchAll(/(\d+)([smhdwy])/g)) {
    if (m[2] === 'y') years += Number(m[1]);
    else seconds += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  }
  if (years + seconds <= 0) throw new PkiError(code, `${what}: duration must be positive, got "${text}"`, { details: { value: text } });
  if (years > 1000) throw new PkiError(code, `${what}: "${text}" is longer than 1000 years`, { details: { value: text } });
  return { years, seconds, text: s };
}

/** Parses a duration to seconds (a year counts 365 days); throws `code` naming `what` (a flag or a file:line:col). */
export function parseDuration(text: string, what: string, code = 'USAGE_BAD_DURATION'): number {
  const d = parseDurationParts(text, what, code);
  return d.years * UNIT_SECONDS.y! + d.seconds;
}

/** `--validity`: a duration whose years are calendar years (see {@link addDuration}). */
export function parseValidity(text: string, what: string): Duration {
  return parseDurationParts(text, what);
}

/** `from` plus a duration: calendar years (same day and time N years later), then the seconds. */
export function addDuration(from: Date, d: Duration | number): Date {
  if (typeof d === 'number') return new Date(from.getTime() + d * 1000);
  const t = new Date(from.getTime());
  if (d.years) t.setUTCFullYear(t.getUTCFullYear() + d.years);
  return new Date(t.getTime() + d.seconds * 1000);
}

/** How a duration is shown: as written, or the largest exact units for a number of seconds. */
export function describeDuration(d: Duration | number): string {
  return typeof d === 'number' ? formatDuration(d) : d.text;
}

/** Renders seconds the way a user would write them (largest exact units: 90d, 1d12h, 2w; a year is 365 days). */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  let rest = seconds;
  let out = '';
  for (const [unit, size] of [['y', 365 * 86400], ['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
