/**
 * What the controller adds to the JSON Schemas of schemas/, in memory only. The files keep to
 * standard 2020-12 keywords and formats, so that ajv-cli in strict mode, editors
 * (yaml-language-server) and CI tools read them as they are (issue 14, item 10). The
 * controller's own wording for a failed pattern or `not` guard, and its formats that need code
 * (versions, IANA zones), live here instead, keyed by schema file and JSON pointer.
 */

/** The message said when the schema object at (file, pointer) fails its `pattern` or `not`. */
export const SCHEMA_MESSAGES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'common.schema.json': {
    '/$defs/name': "must be letters, digits, '.', '_' or '-', starting and ending with a letter or digit",
    '/$defs/product': 'must be lower-case letters, digits and \'-\', e.g. "igel-ums"',
    '/$defs/tag': "must be letters, digits, '.', '_', '+' or '-', starting and ending with a letter or digit",
    '/$defs/endpoint': 'must be an http:// or https:// URL',
    '/$defs/duration': 'must be a duration such as 30m, 4h or 2d',
    '/$defs/countOrPercent/oneOf/1': 'must be a number or a percentage such as 5%',
    '/$defs/approval/properties/digest':
      'must be the whole plan digest, sha256: and 64 hex digits, as versiond plan prints it',
  },
  'distributionserver.schema.json': {
    '/$defs/schedule/properties/at': 'must be a 24-hour time HH:MM, e.g. "02:30"',
    '/$defs/schedule/allOf/0/then/properties/week': 'is only used by monthly schedules',
    '/$defs/schedule/allOf/0/then/properties/delayDays': 'is only used by monthly schedules',
    '/$defs/schedule/allOf/2/then/properties/weekday': 'is only used by weekly and monthly schedules',
    '/$defs/schedule/allOf/2/then/properties/week': 'is only used by monthly schedules',
    '/$defs/schedule/allOf/2/then/properties/delayDays': 'is only used by monthly schedules',
  },
  'release.schema.json': {
    '/properties/spec/properties/artifact/properties/url': 'must be an https://, http:// or file:// URL',
    '/properties/spec/properties/artifact/properties/sha256':
      'must be 64 lower-case hexadecimal digits (a SHA-256 digest)',
    '/properties/spec/properties/artifact/properties/signature/properties/publicKey':
      "must be an Ed25519 public key: 32 bytes in base64 (44 characters ending in '=')",
    '/properties/spec/properties/artifact/properties/signature/properties/value':
      "must be an Ed25519 signature: 64 bytes in base64 (88 characters ending in '==')",
  },
};

export type ControllerFormat = 'versiond-version' | 'versiond-time-zone';

/** Formats the controller's ajv defines (schema-validator.ts), set on the schema object at (file, pointer). */
export const SCHEMA_FORMATS: Readonly<Record<string, Readonly<Record<string, ControllerFormat>>>> = {
  'common.schema.json': {
    '/$defs/version': 'versiond-version',
    '/$defs/window/properties/timeZone': 'versiond-time-zone',
  },
  'distributionserver.schema.json': {
    '/$defs/schedule/properties/timeZone': 'versiond-time-zone',
  },
};

/** The message of (file, pointer); throws if there is none, so a renamed definition fails at load. */
export function schemaMessage(file: string, pointer: string): string {
  const message = SCHEMA_MESSAGES[file]?.[pointer];
  if (message === undefined) throw new Error(`no schema message for ${file}#${pointer}`);
  return message;
}

/** The schema object at a JSON pointer (RFC 6901); throws if the pointer leads nowhere or to a non-object. */
export function schemaAt(schema: unknown, pointer: string, file = 'schema'): Record<string, unknown> {
  let node = schema;
  for (const raw of pointer === '' ? [] : pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    throw new Error(`${file}#${pointer} is not a schema object`);
  }
  return node as Record<string, unknown>;
}

/**
 * Applies the formats to a schema just read from `file` (mutating it), and records each of its
 * messaged objects in `messages`, which ajv hands back as an error's `parentSchema`.
 */
export function extendSchema(file: string, schema: object, messages: WeakMap<object, string>): void {
  for (const [pointer, format] of Object.entries(SCHEMA_FORMATS[file] ?? {})) {
    schemaAt(schema, pointer, file)['format'] = format;
  }
  for (const [pointer, message] of Object.entries(SCHEMA_MESSAGES[file] ?? {})) {
    messages.set(schemaAt(schema, pointer, file), message);
  }
}
