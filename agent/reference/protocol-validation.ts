/**
 * Checks a message against its protocol schema and says what is wrong in one line, naming
 * the field as a path (`components[0].version: must be string`), worded as the controller
 * words a bad report (`protocol/schema-error.ts`). The agent checks what it receives (an
 * answer or a push it cannot understand is refused rather than half-obeyed) and what a hook
 * prints (an inventory a reconciler could not read is an error of the hook).
 */
import { messageProblem, type MessageSchema } from '../../protocol/schema-validation.ts';

/** `undefined` when `value` matches `schemaFile` (an `agent-*.schema.json`), else the problem in one line. */
export function schemaProblem(schemaFile: MessageSchema, value: unknown): string | undefined {
  return messageProblem(schemaFile, value, '(the message)')?.message;
}
