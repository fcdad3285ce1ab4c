/**
 * The desired-state model: what the Git repository declares. One TypeScript type per kind,
 * mirroring `schemas/<kind>.schema.json` (the schemas are the reference documentation;
 * `test/example-repo.test.ts` keeps the two in step by loading every example through both).
 *
 * Everything here is plain data: reconcilers receive these objects and never see YAML,
 * files or Git. Optional fields keep their schema defaults applied by `withDefaults`
 * at load time, so reconcilers never re-implement a default.
 */

export const API_VERSION = 'versiond/v1' as const;

export const KINDS = ['Release', 'Domain', 'Account', 'DistributionServer', 'HACluster'] as const;
export type Kind = (typeof KINDS)[number];

export interface Metadata {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A machine that runs a versiond agent; `agent` defaults to `name` (see `agentIdOf`). */
export interface Member {
  readonly name: string;
  readonly agent?: string;
  readonly endpoint?: string;
}

// ---------------------------------------------------------------- rollout governance (issue 8)

/** A number of members, or a share of them (`5%`). */
export type CountOrPercent = number | `${number}%`;

/** Recurring (cron in a time zone, for a duration) or fixed (from … until). */
export type TimeWindow =
  | { readonly name?: string; readonly schedule: string; readonly duration: string; readonly timeZone: string }
  | { readonly name?: string; readonly from: string; readonly until: string };

export interface WaveStrategy {
  readonly steps: readonly CountOrPercent[];
  readonly maxUnavailable?: CountOrPercent;
  readonly failureThreshold?: CountOrPercent;
  readonly stragglerAfter?: string;
  readonly approvalRequired?: readonly number[];
}

export interface Approval {
  readonly wave: number;
  readonly digest: string;
  readonly by: string;
  readonly reason?: string;
}

/** `spec.rollout` of a Domain, Account or HACluster: the reviewers' controls. */
export interface RolloutPolicy {
  readonly paused?: boolean;
  readonly windows?: readonly TimeWindow[];
  readonly freezes?: readonly TimeWindow[];
  readonly waves?: WaveStrategy;
  readonly approvals?: readonly Approval[];
  readonly retryFailed?: string;
}

// ---------------------------------------------------------------- Release (seeds 000, 001, 003)

export interface ReleaseSpec {
  readonly product: string;
  readonly version: string;
  /** No upgrade may skip this version (upgrade path, issue 8). */
  readonly mandatory?: boolean;
  readonly artifact: {
    readonly url: string;
    readonly sha256: string;
    readonly size: number;
    readonly signature: {
      readonly algorithm: 'ed25519';
      /** base64, 32 bytes */
      readonly publicKey: string;
      /** base64, 64 bytes: Ed25519 signature of the package bytes */
      readonly value: string;
    };
  };
  readonly tags?: readonly string[];
  readonly releaseNotes?: string;
}

// ---------------------------------------------------------------- Domain (seed 000)

export type SyncMode = 'bidirectional' | 'mailbox';
export type MasterUpdate = 'Manual' | 'Controller';

export interface DomainSpec {
  readonly release: string;
  readonly master: Member & { readonly update: MasterUpdate };
  readonly slaves: readonly (Member & { readonly sync: SyncMode })[];
  readonly rollout?: RolloutPolicy;
}

// ---------------------------------------------------------------- Account (seeds 001, 003)

/** The reserved `repositoryServer` value of a remote device: it fetches from the vendor cloud. */
export const CLOUD = 'cloud' as const;
export type RestartPolicy = 'Immediate' | 'LeaveToUser';

export interface Device {
  readonly name: string;
  readonly agent?: string;
  /** A WRS name of the same account, or `cloud`. */
  readonly repositoryServer: string;
}

export interface AccountSpec {
  readonly product: string;
  readonly defaultTag: string;
  readonly restartPolicy: RestartPolicy;
  readonly autoUpdate: boolean;
  readonly repositoryServers: readonly Member[];
  readonly devices: readonly Device[];
  readonly testRing?: {
    readonly tag: string;
    readonly repositoryServers?: readonly string[];
    readonly devices?: readonly string[];
  };
  readonly infrastructure?: { readonly release: string; readonly agent?: string };
  readonly installMedia?: { readonly generatedFor: string };
  readonly rollout?: RolloutPolicy;
  /** A version let into production without the test ring, with why (issue 8). */
  readonly promotion?: { readonly override?: { readonly version: string; readonly reason: string } };
}

// ---------------------------------------------------------------- DistributionServer (seed 002)

export type ContentSet = 'engines-definitions' | 'patches' | 'all';
export type Weekday = 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday' | 'sunday';
export type WeekOfMonth = 'first' | 'second' | 'third' | 'fourth' | 'last';

export type Schedule =
  | { readonly frequency: 'daily'; readonly at: string; readonly timeZone: string }
  | { readonly frequency: 'weekly'; readonly at: string; readonly timeZone: string; readonly weekday: Weekday }
  | {
      readonly frequency: 'monthly';
      readonly at: string;
      readonly timeZone: string;
      readonly weekday: Weekday;
      readonly week: WeekOfMonth;
      /** 0..31; absent means 0 (the schema gives no default: daily/weekly schedules must not carry it). */
      readonly delayDays?: number;
    };

export interface ScheduledSync {
  readonly name: string;
  readonly content: ContentSet;
  /** The owning console (controller instance, `--console-id`). */
  readonly console: string;
  readonly schedule: Schedule;
  readonly runNow?: string;
}

export interface DistributionServerSpec {
  readonly agent?: string;
  readonly address: string;
  readonly credentialRef: string;
  readonly downloadSourceFor: readonly string[];
  readonly syncs: readonly ScheduledSync[];
}

// ---------------------------------------------------------------- HACluster (seed 004)

export type BackupMode = 'Command' | 'External';

export interface HAClusterSpec {
  readonly release: string;
  readonly servers: readonly Member[];
  readonly loadBalancers: readonly Member[];
  readonly consoles: readonly Member[];
  readonly updateOrder?: readonly string[];
  readonly preflight: {
    readonly maxClockSkewSeconds: number;
    readonly backup: BackupMode;
    readonly orphanCheck: boolean;
  };
  readonly rollout?: RolloutPolicy;
  /** The database was restored from before a schema migration: going below it is allowed (issue 8). */
  readonly databaseRestore?: { readonly version: string; readonly reason: string };
}

// ---------------------------------------------------------------- documents

export interface SpecOf {
  Release: ReleaseSpec;
  Domain: DomainSpec;
  Account: AccountSpec;
  DistributionServer: DistributionServerSpec;
  HACluster: HAClusterSpec;
}

/** Where a document came from: its path in the repository and its Git blob id. */
export interface SourceRef {
  readonly path: string;
  readonly blob: string;
}

export interface DesiredObject<K extends Kind = Kind> {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: K;
  readonly metadata: Metadata;
  readonly spec: SpecOf[K];
  readonly source: SourceRef;
}

export type Release = DesiredObject<'Release'>;
export type Domain = DesiredObject<'Domain'>;
export type Account = DesiredObject<'Account'>;
export type DistributionServer = DesiredObject<'DistributionServer'>;
export type HACluster = DesiredObject<'HACluster'>;
export type AnyDesiredObject = { [K in Kind]: DesiredObject<K> }[Kind];

export function agentIdOf(member: { readonly name: string; readonly agent?: string }): string {
  return member.agent ?? member.name;
}

export function isKind(value: unknown): value is Kind {
  return typeof value === 'string' && (KINDS as readonly string[]).includes(value);
}
