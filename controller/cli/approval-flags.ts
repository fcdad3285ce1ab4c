/**
 * `--approvers FILE` and `--insecure-unverified-approvals`, shared by `run`, `plan` and
 * `validate` so the three judge approvals alike (issue 13, item 2). The approvers file is in
 * ssh-keygen's allowed_signers format and lives outside the repository.
 */
import { readFileSync } from 'node:fs';
import { AllowedSignersError, parseAllowedSigners, type AllowedSigners } from '../trust/allowed-signers.ts';
import type { ApprovalPolicy } from '../trust/approval-trust.ts';
import { printable } from '../observability/printable.ts';
import { UsageError } from './usage.ts';

export const APPROVAL_FLAG_OPTIONS = {
  approvers: { type: 'string' },
  'insecure-unverified-approvals': { type: 'boolean', default: false },
} as const;

export const APPROVAL_FLAG_HELP = `
  --approvers FILE  who may approve gated waves: an allowed_signers file (ssh-keygen(1)),
                   one \`principal key\` per line. An approval counts when the commit
                   adding it is signed by a key listed for its \`by\`, who did not author
                   the change. Without it no approval counts.
  --insecure-unverified-approvals
                   count approvals as written, unverified (anyone who can push can type one)`.slice(1);

export function approvalPolicy(values: {
  approvers?: string | undefined;
  'insecure-unverified-approvals'?: boolean | undefined;
}): ApprovalPolicy {
  const file = values.approvers;
  if (file !== undefined && values['insecure-unverified-approvals']) {
    throw new UsageError('--approvers and --insecure-unverified-approvals are exclusive');
  }
  if (values['insecure-unverified-approvals']) return { mode: 'as-written' };
  if (file === undefined) return { mode: 'none' };
  return { mode: 'verify', approvers: readAllowedSigners('--approvers', file) };
}

/** Reads an allowed_signers file named by `flag`; every problem becomes one usage error naming file and line. */
export function readAllowedSigners(flag: string, file: string): AllowedSigners {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`${flag} ${printable(file)}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  try {
    return parseAllowedSigners(text, file);
  } catch (err) {
    if (err instanceof AllowedSignersError) {
      const problems = err.problems.map((p) => `${p.file}:${p.line}: ${p.field}: ${p.message}`);
      throw new UsageError(`${flag}: ${problems.join('; ')}`);
    }
    throw err;
  }
}
