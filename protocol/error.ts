/**
 * The body of every 4xx/5xx answer of the protocol, from the controller or from an agent's
 * push endpoint (`schemas/agent-error.schema.json`): a stable code for programs, a message
 * for people, and the field at fault when there is one.
 */
export interface ProtocolError {
  /** `UNAUTHENTICATED`, `STALE_REPORT`, `INVALID_REPORT`… (the schema lists them). */
  readonly error: string;
  readonly message: string;
  /** The field that is wrong, as a path: `components[0].version`. */
  readonly field?: string;
  /** `STALE_REPORT`: the last sequence accepted; the next report must be greater. */
  readonly lastSequence?: number;
}
