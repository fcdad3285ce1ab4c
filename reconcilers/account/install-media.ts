/**
 * Step 7, `reconcileInstallMedia`: seeds 001/003, "N'oubliez pas de générer de nouvelles clés
 * USB" once the account moves.
 */
import type { Ctx } from './context.ts';
import { sameVersion } from './preconditions.ts';

export function reconcileInstallMedia(ctx: Ctx): void {
  const version = ctx.prod?.version;
  if (version === undefined) return;
  const generatedFor = ctx.spec.installMedia?.generatedFor;
  if (generatedFor === undefined) {
    ctx.reminders.push(
      `regenerate install media (USB keys) for ${version}: none recorded in spec.installMedia.generatedFor`,
    );
  } else if (!sameVersion(generatedFor, version)) {
    ctx.reminders.push(`regenerate install media (USB keys) for ${version}: they were generated for ${generatedFor}`);
  }
}
