/**
 * The JSON Schema formats the agent messages use, `date-time` and `uri` (the latter through
 * `common.schema.json#/$defs/endpoint`). They are ajv-formats' "full" definitions (v3.0.1,
 * MIT), rewritten here so that the agent needs no package for them, and so that the agent and
 * the controller's report route accept exactly the strings the controller's own loader does
 * (it uses ajv-formats itself): `test/protocol/schema-formats.test.ts` holds them equal.
 */

/** RFC 3339 full-date: the month's days, February 29 in leap years. */
function isDate(text: string): boolean {
  const m = /^(\d\d\d\d)-(\d\d)-(\d\d)$/.exec(text);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [0, 31, month === 2 && leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month];
  return month >= 1 && month <= 12 && day >= 1 && day <= (days ?? 0);
}

/** RFC 3339 full-time, with a time zone; a leap second only at 23:59:60 UTC. */
function isTime(text: string): boolean {
  const m = /^(\d\d):(\d\d):(\d\d(?:\.\d+)?)(z|([+-])(\d\d)(?::?(\d\d))?)?$/i.exec(text);
  if (!m) return false;
  const hour = Number(m[1]);
  const minute = Number(m[2]);
  const second = Number(m[3]);
  const sign = m[5] === '-' ? -1 : 1;
  const zoneHours = Number(m[6] ?? 0);
  const zoneMinutes = Number(m[7] ?? 0);
  if (zoneHours > 23 || zoneMinutes > 59 || m[4] === undefined) return false;
  if (hour <= 23 && minute <= 59 && second < 60) return true;
  const utcMinute = minute - zoneMinutes * sign;
  const utcHour = hour - zoneHours * sign - (utcMinute < 0 ? 1 : 0);
  return (utcHour === 23 || utcHour === -1) && (utcMinute === 59 || utcMinute === -1) && second < 61;
}

/** `2026-11-22T10:00:00Z`: RFC 3339 date-time (a space or `t` also separates date and time, as in ajv-formats). */
export function isDateTime(text: string): boolean {
  const parts = text.split(/t|\s/i);
  return parts.length === 2 && isDate(parts[0]!) && isTime(parts[1]!);
}

// RFC 3986 URI (http://jmrware.com/articles/2009/uri_regexp/URI_regex.html), built from its parts.
const H16 = '[0-9a-f]{1,4}';
const DEC_OCTET = '(?:25[0-5]|2[0-4]\\d|[01]?\\d\\d?)';
const IPV4 = `(?:${DEC_OCTET}\\.){3}${DEC_OCTET}`;
const LS32 = `(?:${H16}:${H16}|${IPV4})`;
const IPV6 = `(?:(?:(?:${H16}:){6}|::(?:${H16}:){5}|(?:${H16})?::(?:${H16}:){4}`
  + `|(?:(?:${H16}:){0,1}${H16})?::(?:${H16}:){3}|(?:(?:${H16}:){0,2}${H16})?::(?:${H16}:){2}`
  + `|(?:(?:${H16}:){0,3}${H16})?::${H16}:|(?:(?:${H16}:){0,4}${H16})?::)`
  + `${LS32}|(?:(?:${H16}:){0,5}${H16})?::${H16}|(?:(?:${H16}:){0,6}${H16})?::)`;
/** Unreserved and sub-delims characters, the body of a character class. */
const PLAIN = "a-z0-9\\-._~!$&'()*+,;=";
const PCT = '%[0-9a-f]{2}';
const PCHAR = `(?:[${PLAIN}:@]|${PCT})`;
const USERINFO = `(?:(?:[${PLAIN}:]|${PCT})*@)?`;
const HOST = `(?:\\[(?:${IPV6}|[Vv][0-9a-f]+\\.[${PLAIN}:]+)\\]|${IPV4}|(?:[${PLAIN}]|${PCT})*)`;
const HIER_PART = `(?:\\/?\\/${USERINFO}${HOST}(?::\\d*)?(?:\\/${PCHAR}*)*`
  + `|\\/(?:${PCHAR}+(?:\\/${PCHAR}*)*)?|${PCHAR}+(?:\\/${PCHAR}*)*)`;
const QUERY_OR_FRAGMENT = `(?:[${PLAIN}:@/?]|${PCT})*`;
export const URI = new RegExp(
  `^(?:[a-z][a-z0-9+\\-.]*:)${HIER_PART}(?:\\?${QUERY_OR_FRAGMENT})?(?:#${QUERY_OR_FRAGMENT})?$`, 'i');

/** An absolute URI (a scheme, and a `/` or `:` after it: not a bare fragment). */
export function isUri(text: string): boolean {
  return /\/|:/.test(text) && URI.test(text);
}

/** Format name → check, for `ajv.addFormat`. */
export const PROTOCOL_FORMATS: Readonly<Record<string, (text: string) => boolean>> = {
  'date-time': isDateTime,
  uri: isUri,
};
