/**
 * The demo controller's credential store (`<state-dir>/credentials.yaml`, outside Git, seed
 * 002): ds-paris's credential is usable, ds-berlin's expired a week ago — so the demo shows
 * a real `Blocked` with the reason a person must fix, and the fix (a new expiry date in this
 * file, re-read by the running controller) unblocks it.
 *
 * The secret files hold made-up text: the controller only checks that they are readable,
 * never what they say.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const DAY_MS = 86_400_000;

export interface DemoCredentials {
  readonly file: string;
  /** The expiry written for ds-berlin's credential (in the past). */
  readonly expiredOn: string;
  /** A date to write instead, to unblock it. */
  readonly renewTo: string;
}

export async function writeDemoCredentials(stateDir: string, now = Date.now()): Promise<DemoCredentials> {
  await mkdir(join(stateDir, 'secrets'), { recursive: true, mode: 0o700 });
  for (const ref of ['ivanti-ds-paris', 'ivanti-ds-berlin']) {
    await writeFile(join(stateDir, 'secrets', ref), `demo password of ${ref}: not a real secret\n`, { mode: 0o600 });
  }
  const midnight = (t: number): string => `${new Date(t).toISOString().slice(0, 10)}T00:00:00Z`;
  const expiredOn = midnight(now - 7 * DAY_MS);
  const renewTo = midnight(now + 365 * DAY_MS);
  const file = join(stateDir, 'credentials.yaml');
  await writeFile(
    file,
    `# The controller's credential store (seed 002): outside Git, re-read when it changes.
credentials:
  - ref: ivanti-ds-paris
    secretFile: secrets/ivanti-ds-paris
    expires: ${renewTo}
  - ref: ivanti-ds-berlin
    secretFile: secrets/ivanti-ds-berlin
    expires: ${expiredOn}     # expired: ds-berlin is Blocked until this is renewed
`,
    { mode: 0o600 },
  );
  return { file, expiredOn, renewTo };
}
