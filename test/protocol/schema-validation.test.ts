/**
 * The protocol's schema validation: only the agent-message schemas and what they refer to,
 * compiled once, stopping at the first error, and one wording of a fault for the controller
 * and the agent alike.
 */
import { describe, expect, it } from 'vitest';
import { schemaValidator } from '../../controller/desired/schema-validator.ts';
import {
  ANSWER_SCHEMA, MESSAGE_SCHEMAS, messageProblem, messageValidator, protocolSchemaFiles, PUSH_SCHEMA, referencedFiles,
  REPORT_SCHEMA,
} from '../../protocol/schema-validation.ts';

const COMMAND = { id: '0123456789abcdef', action: 'apply', target: 'domain/print-paris', member: 'wd-paris-s1' };

describe('the protocol schemas', () => {
  it('are the agent messages and the common definitions they refer to, nothing else', () => {
    expect([...protocolSchemaFiles()].sort()).toEqual([
      'agent-command.schema.json', 'agent-error.schema.json', 'agent-push.schema.json',
      'agent-report-answer.schema.json', 'agent-report.schema.json', 'common.schema.json',
    ]);
    expect(referencedFiles({ a: { $ref: 'common.schema.json#/$defs/endpoint' }, b: [{ $ref: '#/$defs/x' }] }))
      .toEqual(['common.schema.json']);
  });

  it('are compiled once', () => {
    for (const schema of MESSAGE_SCHEMAS) expect(messageValidator(schema)).toBe(messageValidator(schema));
  });

  it('fill the defaults of the schemas in (a report without results has none)', () => {
    const report: Record<string, unknown> = { sequence: 1, components: [] };
    expect(messageProblem(REPORT_SCHEMA, report)).toBeUndefined();
    expect(report['results']).toEqual([]);
  });

  it('stop at the first error: a list of wrong items is one error, not one per item', () => {
    const validate = messageValidator(REPORT_SCHEMA);
    expect(validate({ sequence: 1, components: Array.from({ length: 50 }, () => ({ product: 1 })) })).toBe(false);
    expect(validate.errors).toHaveLength(1);
  });

  it('judge reports as the controller\'s own loader judges them', () => {
    const reports: unknown[] = [
      { sequence: 1, components: [] },
      { sequence: 1, sentAt: '2026-11-22T10:00:00Z', endpoint: 'https://10.0.0.5:8443', agentVersion: 'x',
        components: [{ product: 'ums', version: '12.08.110', staged: { version: '12.08.111', verified: true } }],
        results: [{ id: '0123456789abcdef', status: 'failed', message: 'disk full', at: '2026-11-22T10:00:00Z' }],
        facts: { clock: '2026-11-22T10:00:00Z', content: { patches: [{ path: 'a', sha256: 'a'.repeat(64) }] } } },
      { sequence: -1, components: [] },
      { sequence: 1, components: [], endpoint: 'ftp://x' },
      { sequence: 1, components: [], endpoint: 'http://a b' },
      { sequence: 1, components: [], sentAt: '2026-02-30T10:00:00Z' },
      { sequence: 1, components: [{ product: 'x', state: 'asleep' }] },
      { sequence: 1, components: [], results: [{ id: 'nothex', status: 'succeeded', at: '2026-11-22T10:00:00Z' }] },
      { sequence: 1, components: [], colour: 'red' },
      [],
    ];
    const controller = schemaValidator(REPORT_SCHEMA);
    for (const report of reports) {
      expect(messageProblem(REPORT_SCHEMA, structuredClone(report)) === undefined, JSON.stringify(report))
        .toBe(controller(structuredClone(report)));
    }
  });
});

describe('the one wording of a fault', () => {
  it.each([
    ['a wrong type', { sequence: 1, components: [{ product: 'x', version: 6 }] }, 'components[0].version',
      'components[0].version: must be string'],
    ['a missing field', { sequence: 1 }, 'components', 'components: is required'],
    ['an unknown field', { sequence: 1, components: [], colour: 'red' }, 'colour',
      'colour: is not a field of the protocol'],
    ['a value not in the list', { sequence: 1, components: [{ product: 'x', state: 'asleep' }] }, 'components[0].state',
      'components[0].state: must be one of "running", "stopped", "installing", "failed"'],
    ['a list too long', { sequence: 1, components: [{ product: 'x', serves: Array.from({ length: 257 }, () => 'v') }] },
      'components[0].serves', 'components[0].serves: lists more than 256 items'],
    ['not an object', [], '', 'the report: must be object'],
  ])('%s', (_case, report, field, message) => {
    expect(messageProblem(REPORT_SCHEMA, report, 'the report')).toEqual({ field, message });
  });

  it('names fields inside answers and pushes alike', () => {
    const answer = { sequence: 1, reportAfterSeconds: 10, commands: [{ ...COMMAND, action: 'reboot' }] };
    expect(messageProblem(ANSWER_SCHEMA, answer)?.field).toBe('commands[0].action');
    const push = { agent: 'wd-paris-s1', sentAt: '2026-11-22T10:00:00Z', commands: [{ ...COMMAND, id: 'x' }] };
    expect(messageProblem(PUSH_SCHEMA, push))
      .toEqual({ field: 'commands[0].id', message: 'commands[0].id: must match pattern "^[0-9a-f]{16}$"' });
  });
});
