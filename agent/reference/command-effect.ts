/**
 * Whether a command cut short by a crash already had its effect, judged from what the
 * machine reports now. Only effects a report shows without doubt are recognised: an `apply`
 * whose version the component reports (not while installing), and an `end-update-mode`
 * whose server reports normal mode. Everything else — a half-done stage, a restart, a
 * backup, a sync, a migration — is run again, which drivers must make harmless (idempotent).
 */
import type { Inventory } from './drivers/driver.ts';
import type { AgentCommand } from './protocol.ts';
import { sameVersion } from './same-version.ts';

export function effectAlreadyThere(command: AgentCommand, inventory: Inventory): boolean {
  const product = command.product ?? command.artifact?.product;
  const version = command.version ?? command.artifact?.version;
  if (product === undefined) return false;
  const c = inventory.components.find((x) => x.product === product);
  if (c === undefined) return false;
  switch (command.action) {
    case 'apply':
      return version !== undefined && c.version !== undefined && c.state !== 'installing' && sameVersion(c.version, version);
    case 'end-update-mode':
      return c.mode === 'normal';
    default:
      return false;
  }
}
