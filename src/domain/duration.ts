/** Durations as users write them: 90s, 30m, 24h, 7d, 2w, 10y (a year is 365 days). Combinations like 1d12h work. */
import { PkiError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

/** Parses a duration to seconds; throws `code` naming `what` (a flag or a file:line:col). */
export function parseDuration(text: string, what: string, code = 'USAGE_BAD_DURATION'): number {
  const s = String(text).trim();
  if (!/^(\d+[smhdwy])+$/.test(s))
    throw new PkiError(code, `${what}: "${text}" is not a duration (use e.g. 90s, 30m, 24h, 7d, 2w, 10y)`, { details: { value: text } });
  let total = 0;
  for (const m of s.matchAll(/(\d+)([smhdwy])/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  if (total <= 0) throw new PkiError(code, `${what}: duration must be positive, got "${text}"`, { details: { value: text } });
  return total;
}

/** Renders seconds the way a user would write them (largest exact units). */
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
