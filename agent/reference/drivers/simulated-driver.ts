/**
 * The simulated driver: a machine in memory that answers every command as a real member of
 * each kind would, so the reconcilers progress exactly as in production (read the doc
 * comments of `reconcilers/domain/`, `account/`, `distribution-server/`,
 * `ha-cluster/`). What it does per action, reading the component's shape to know its role:
 *
 *   stage            nothing of its own: the agent downloaded and verified the package and
 *                    reports it as `staged {version, verified: true}`.
 *   apply            `state: installing` for `installMs`, then `version` set and `running`.
 *                    A UMS server (a component reporting `mode`) enters `mode: update` and
 *                    stays there until `migrate` (the last server) or `end-update-mode`.
 *                    A member of an Account (target `account/…`, not `infrastructure`)
 *                    reports `pendingRestart: true` until `restart` (seeds 001/003: the
 *                    restart finalises the install).
 *   restart          clears `pendingRestart`; a WRS (a component reporting `serves`) now
 *                    serves the version it runs (seed 001: "redémarrer le WRS pour appliquer").
 *   backup           `facts.lastBackup` = the machine's clock.
 *   migrate          the schema is migrated: the server leaves update mode.
 *   end-update-mode  the server leaves update mode.
 *   sync             the files of `params.files` are delivered (`deliverSync`) to the
 *                    distribution server named by `member`; by default into this machine's
 *                    own `facts.content`, each file in the set the console lists it under.
 *
 * Behaviour knobs, per machine (a fleet simulator sets them per agent):
 *   installMs / stepMs  duration of an apply / of the other actions
 *   failureRate, seed   the share of commands that fail, drawn from a seeded PRNG
 *   clockSkewMs         the machine's clock is off by this much (`sentAt`, `facts.clock`, backups)
 *   stuckInUpdateMode   a UMS server that never leaves update mode (its commands succeed)
 *   lieAboutVersion     after an apply, reports this version instead of the one installed
 * Being offline is the simulator's business (it stops the agent), not the driver's.
 *
 * Its state lives in the agent's state file (`memory`), so a killed simulated agent resumes
 * like a real one: an install cut short left the machine as it was before it.
 */
import type { AgentCommand, ComponentReport, ContentFile, ContentInventory, Facts } from '../protocol.ts';
import { sameVersion } from '../same-version.ts';
import { seededRandom } from '../seeded-random.ts';
import { abortError, type Driver, type Inventory, type RunContext, type RunOutcome } from './driver.ts';

export interface SimulatedBehaviour {
  /** How long an apply takes (default 0). */
  readonly installMs?: number;
  /** How long every other action takes (default 0). */
  readonly stepMs?: number;
  /** Share of commands that fail, 0..1 (default 0). */
  readonly failureRate?: number;
  /** Seed of the failure draws (default 1): the same seed fails the same commands. */
  readonly seed?: number;
  /** The machine's clock minus the true time, in ms (default 0). */
  readonly clockSkewMs?: number;
  /** A UMS server that never leaves update mode: migrate and end-update-mode succeed without ending it. */
  readonly stuckInUpdateMode?: boolean;
  /** After an apply, report this version instead of the one installed. */
  readonly lieAboutVersion?: string;
}

export interface SimulatedMachine {
  readonly components: readonly ComponentReport[];
  readonly facts?: Facts;
}

/** Where a console's `sync` puts the files: the fleet simulator hands them to the server's agent (`receiveContent`). */
export type DeliverSync = (server: string, content: ContentInventory) => void | Promise<void>;

export interface SimulatedDriverOptions {
  /** What the machine runs at first (ignored once the agent saved the machine's state). */
  readonly machine: SimulatedMachine;
  readonly behaviour?: SimulatedBehaviour;
  readonly deliverSync?: DeliverSync;
  /** The true time (default Date.now); the machine's clock adds `clockSkewMs`. */
  readonly now?: () => number;
}

type MutableComponent = { -readonly [K in keyof ComponentReport]: ComponentReport[K] };
interface MachineState {
  components: MutableComponent[];
  facts: { -readonly [K in keyof Facts]: Facts[K] };
}

export class SimulatedDriver implements Driver {
  readonly description = 'simulated';
  readonly behaviour: SimulatedBehaviour;
  private machine: MachineState;
  /** Products with an apply in progress: reported `installing`, never saved (a crash leaves the machine as before the apply). */
  private readonly installing = new Set<string>();
  private readonly random: () => number;
  private readonly deliverSync: DeliverSync | undefined;
  private readonly now: () => number;

  readonly memory = {
    snapshot: (): unknown => structuredClone(this.machine),
    restore: (saved: unknown): void => {
      const s = saved as Partial<MachineState> | null;
      if (s !== null && typeof s === 'object' && Array.isArray(s.components) && s.facts !== null && typeof s.facts === 'object') {
        this.machine = structuredClone(s as MachineState);
      }
    },
  };

  constructor(options: SimulatedDriverOptions) {
    this.behaviour = options.behaviour ?? {};
    this.machine = { components: structuredClone(options.machine.components) as MutableComponent[], facts: structuredClone(options.machine.facts ?? {}) };
    this.random = seededRandom(this.behaviour.seed ?? 1);
    this.deliverSync = options.deliverSync;
    this.now = options.now ?? Date.now;
  }

  clock(): number {
    return this.now() + (this.behaviour.clockSkewMs ?? 0);
  }

  async inventory(): Promise<Inventory> {
    const components = this.machine.components.map((c) => (this.installing.has(c.product) ? { ...structuredClone(c), state: 'installing' as const } : structuredClone(c)));
    const facts = structuredClone(this.machine.facts);
    return Object.keys(facts).length > 0 ? { components, facts } : { components };
  }

  /** Files copied to this machine by a console's sync (the fleet simulator routes them here). */
  receiveContent(content: ContentInventory): void {
    const current = { ...(this.machine.facts.content ?? {}) };
    for (const set of ['engines-definitions', 'patches'] as const) {
      const incoming = content[set];
      if (incoming === undefined || incoming.length === 0) continue;
      const byPath = new Map<string, ContentFile>((current[set] ?? []).map((f) => [f.path, f]));
      for (const f of incoming) byPath.set(f.path, { path: f.path, sha256: f.sha256 });
      current[set] = [...byPath.values()]; // a file copied again replaces the old one in place; new ones come last
    }
    this.machine.facts.content = current;
  }

  async run(command: AgentCommand, ctx: RunContext): Promise<RunOutcome> {
    const product = command.product ?? command.artifact?.product;
    if (command.action === 'apply') {
      if (product === undefined || command.version === undefined) return { ok: false, message: 'apply without a product and version' };
      this.installing.add(product);
      try {
        await pause(this.behaviour.installMs ?? 0, ctx.signal, `apply of ${command.version}`);
      } finally {
        this.installing.delete(product);
      }
      if (this.fails()) return { ok: false, message: `simulated failure: the installer of ${product} ${command.version} exited with code 1603` };
      return this.install(command, product, command.version);
    }
    await pause(this.behaviour.stepMs ?? 0, ctx.signal, command.action);
    if (this.fails()) return { ok: false, message: `simulated failure of ${command.action}` };
    switch (command.action) {
      case 'stage':
        return { ok: true, message: `${product ?? 'package'} ${command.version ?? ''} staged`.replace(/ $/, '') };
      case 'restart':
        return this.restart(product);
      case 'backup':
        this.machine.facts.lastBackup = new Date(this.clock()).toISOString();
        return { ok: true, message: `database backup taken at ${this.machine.facts.lastBackup}` };
      case 'migrate':
        return this.leaveUpdateMode(product, 'production schema migrated');
      case 'end-update-mode':
        return this.leaveUpdateMode(product, 'update mode ended');
      case 'sync':
        return this.sync(command);
    }
    return { ok: false, message: `the simulated driver does not know action ${String(command.action)}` };
  }

  private fails(): boolean {
    const rate = this.behaviour.failureRate ?? 0;
    return rate > 0 && this.random() < rate;
  }

  private component(product: string): MutableComponent {
    let c = this.machine.components.find((x) => x.product === product);
    if (c === undefined) this.machine.components.push((c = { product }));
    return c;
  }

  private install(command: AgentCommand, product: string, version: string): RunOutcome {
    const c = this.component(product);
    c.version = this.behaviour.lieAboutVersion ?? version;
    c.state = 'running';
    c.installedAt = new Date(this.clock()).toISOString();
    if (c.staged !== undefined && sameVersion(c.staged.version, version)) delete c.staged;
    if (c.mode !== undefined) c.mode = 'update'; // a UMS server runs on a local copy of the database until the migration
    if (command.target.startsWith('account/') && command.member !== 'infrastructure') c.pendingRestart = true;
    const restart = c.pendingRestart === true ? ', restart pending' : '';
    const mode = c.mode === 'update' ? ', in update mode' : '';
    return { ok: true, message: `installed ${product} ${version}${mode}${restart}` };
  }

  private restart(product: string | undefined): RunOutcome {
    const c = product === undefined ? undefined : this.machine.components.find((x) => x.product === product);
    if (c === undefined) return { ok: true, message: 'restarted' };
    delete c.pendingRestart;
    c.state = 'running';
    // A WRS hands its devices the version it runs once restarted.
    if (c.serves !== undefined && c.version !== undefined && !c.serves.some((s) => sameVersion(s, c.version!))) c.serves = [...c.serves, c.version];
    return { ok: true, message: `restarted${c.version !== undefined ? ` on ${product} ${c.version}` : ''}` };
  }

  private leaveUpdateMode(product: string | undefined, done: string): RunOutcome {
    const c = this.machine.components.find((x) => (product === undefined ? x.mode !== undefined : x.product === product));
    if (c === undefined || c.mode === undefined) return { ok: true, message: `${done} (not a UMS server: no update mode)` };
    if (this.behaviour.stuckInUpdateMode === true) return { ok: true, message: `${done}, but the server is still in update mode` };
    c.mode = 'normal';
    return { ok: true, message: `${done}; back in normal mode` };
  }

  private async sync(command: AgentCommand): Promise<RunOutcome> {
    const files = parseFiles(command.params?.['files']);
    if (files === undefined) return { ok: false, message: 'sync: params.files must list {path, sha256}' };
    const declared = command.params?.['content'];
    const own = this.machine.facts.content ?? {};
    const content: { 'engines-definitions': ContentFile[]; patches: ContentFile[] } = { 'engines-definitions': [], patches: [] };
    for (const f of files) {
      // The console knows which set a file belongs to; a file it does not list goes to the set the sync names.
      const set = own.patches?.some((x) => x.path === f.path) ? 'patches' : own['engines-definitions']?.some((x) => x.path === f.path) ? 'engines-definitions' : declared === 'patches' ? 'patches' : 'engines-definitions';
      content[set].push(f);
    }
    if (this.deliverSync !== undefined) await this.deliverSync(command.member, content);
    else this.receiveContent(content);
    return { ok: true, message: `copied ${files.length} file${files.length === 1 ? '' : 's'} to ${command.member}` };
  }
}

function parseFiles(value: unknown): ContentFile[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: ContentFile[] = [];
  for (const f of value as unknown[]) {
    const { path, sha256 } = (f ?? {}) as Record<string, unknown>;
    if (typeof path !== 'string' || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
    out.push({ path, sha256 });
  }
  return out;
}

function pause(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(what));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(what));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
