/**
 * The tokens of a simulated fleet's agents. Each agent needs its own (`vda_…`), registered in
 * the controller's state dir as `versiond agents add` does. The fleet keeps the tokens it
 * issued in `<fleet-state-dir>/tokens.json` (mode 0600), so a fleet started again reuses
 * them, and reads a tokens file made by someone else (`--tokens FILE`, e.g. a benchmark that
 * registered 10,000 agents at once). An agent without a token is registered through
 * `AgentCredentials` when the controller's state dir is known; one already registered there
 * whose token the fleet does not hold is given a new one (rotated): the fleet plays that agent.
 *
 * The file is `{"tokens": {"<agent id>": "vda_…"}}`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentCredentials } from '../../controller/agents/agent-credentials.ts';

export const FLEET_TOKENS_FILE = 'tokens.json';


export interface FleetTokensOptions {
  /** Where the fleet keeps the tokens it issued. */
  readonly fleetStateDir: string;
  /** Tokens made elsewhere, read only. */
  readonly tokensFile?: string;
  /** The controller's state dir: agents without a token are registered there. */
  readonly controllerStateDir?: string;
}

export class FleetTokens {
  private credentials: AgentCredentials | undefined;

  private constructor(
    private readonly options: FleetTokensOptions,
    private readonly tokens: Map<string, string>,
    private readonly own: Map<string, string>,
  ) {}

  static async open(options: FleetTokensOptions): Promise<FleetTokens> {
    const own = await readTokensFile(join(options.fleetStateDir, FLEET_TOKENS_FILE), true);
    const given = options.tokensFile !== undefined ? await readTokensFile(options.tokensFile, false) : new Map<string, string>();
    // Tokens the fleet issued itself are newer than a file made before it rotated any.
    return new FleetTokens(options, new Map([...given, ...own]), own);
  }

  get(agent: string): string | undefined {
    return this.tokens.get(agent);
  }

  get size(): number {
    return this.tokens.size;
  }

  /**
   * Makes sure every agent of `ids` has a token: registers the missing ones, then saves them.
   * Returns the ids registered: a running controller lets them in only once it re-read its
   * agents file, and an agent refused meanwhile would wait its longest back-off (see
   * `waitUntilAdmitted` in `fleet.ts`).
   */
  async ensure(ids: Iterable<string>): Promise<string[]> {
    const missing = [...ids].filter((id) => !this.tokens.has(id));
    if (missing.length === 0) return [];
    const dir = this.options.controllerStateDir;
    if (dir === undefined) {
      const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '');
      throw new Error(`no token for agent(s) ${shown}: give the controller's state dir (--controller-state-dir) to register them, or a tokens file (--tokens)`);
    }
    this.credentials ??= await AgentCredentials.open(dir);
    const registered = new Set(this.credentials.list().map((a) => a.id));
    for (const id of missing) {
      const token = await this.credentials.add(id, { rotate: registered.has(id) });
      this.tokens.set(id, token);
      this.own.set(id, token);
    }
    await writeTokensFile(join(this.options.fleetStateDir, FLEET_TOKENS_FILE), this.own);
    return missing;
  }
}

async function readTokensFile(file: string, optional: boolean): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new Error(`${file}: cannot read the tokens file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const tokens = (doc as { tokens?: unknown } | null)?.tokens;
  if (typeof tokens !== 'object' || tokens === null || Array.isArray(tokens)) throw new Error(`${file}: tokens: must be an object of agent id → token ({"tokens": {"wd-lille": "vda_…"}})`);
  const out = new Map<string, string>();
  for (const [id, token] of Object.entries(tokens as Record<string, unknown>)) {
    if (typeof token !== 'string' || !token.startsWith('vda_')) throw new Error(`${file}: tokens.${id}: must be a token string starting with vda_`);
    out.set(id, token);
  }
  return out;
}

/** Atomically (a private temporary file renamed over it): a crash never leaves half the tokens. */
async function writeTokensFile(file: string, tokens: ReadonlyMap<string, string>): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify({ tokens: Object.fromEntries([...tokens].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) }, null, 1)}\n`);
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
