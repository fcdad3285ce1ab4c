/**
 * Governance on synthetic reconciler results: a fake reconciler returns exactly the commands,
 * plan and members a test gives, so the window, freeze and pause decisions are tested on
 * `ReconcileResult` alone — not on the kinds' reconcilers' internals, which change apart.
 */
import { commandId } from '../../reconcilers/command-id.ts';
import { conditionsFor } from '../../reconcilers/conditions.ts';
import type { Action } from '../../protocol/action.ts';
import type { Command, DesiredInput, MemberState, MemberStatus, Phase, PlanStep, ReconcileResult, Reconciler } from '../../reconcilers/contract.ts';
import type { Kind, RolloutPolicy } from '../../reconcilers/model/desired.ts';
import { targetId } from '../../reconcilers/model/identity.ts';
import { desired, input, release } from '../helpers/observed.ts';

export type GovKind = Extract<Kind, 'Account' | 'Domain' | 'HACluster'>;

export const UMS = 'igel-ums';
export const UMS_OLD = '12.07.100';
export const UMS_NEW = '12.08.110';
export const W360 = 'w360-core';
export const WD = 'watchdoc';

export interface SynthMember {
  readonly name: string;
  readonly role: string;
  readonly state?: MemberState;
}

export interface SynthWork {
  readonly member: string;
  readonly action: Action;
}

/** The members of each kind's synthetic target (roles as the reconcilers name them). */
export const MEMBERS: Readonly<Record<GovKind, readonly SynthMember[]>> = {
  Account: [
    { name: 'cebox', role: 'infrastructure' },
    { name: 'wrs-paris', role: 'wrs' },
    { name: 'ws-001', role: 'device' },
    { name: 'ws-002', role: 'device' },
  ],
  Domain: [
    { name: 'wd-master', role: 'master' },
    { name: 'wd-lille', role: 'slave' },
    { name: 'wd-nantes', role: 'slave' },
  ],
  HACluster: [
    { name: 'ums-1', role: 'server' },
    { name: 'ums-2', role: 'server' },
    { name: 'ums-3', role: 'server' },
    { name: 'ums-lb-1', role: 'load-balancer' },
    { name: 'ums-console', role: 'console' },
  ],
};

/** Actions each kind's reconciler sends (protocol/action.ts; seeds 000, 001, 003, 004). */
export const ACTIONS: Readonly<Record<GovKind, readonly Action[]>> = {
  Account: ['stage', 'apply', 'restart'],
  Domain: ['stage', 'apply'],
  HACluster: ['stage', 'backup', 'apply', 'migrate', 'end-update-mode'],
};

export const VERSION: Readonly<Record<GovKind, string>> = { Account: '4.3.0', Domain: '6.1.4', HACluster: UMS_NEW };

/** The desired document of a kind's synthetic target, with `rollout`. */
export function target(kind: GovKind, rollout?: RolloutPolicy): DesiredInput<GovKind> {
  const r = rollout ? { rollout } : {};
  switch (kind) {
    case 'Account':
      return input(
        desired('Account', 'acme', {
          product: W360, defaultTag: 'stable', restartPolicy: 'Immediate', autoUpdate: false,
          repositoryServers: [{ name: 'wrs-paris' }],
          devices: [{ name: 'ws-001', repositoryServer: 'wrs-paris' }, { name: 'ws-002', repositoryServer: 'wrs-paris' }],
          infrastructure: { release: 'cebox-2.1.0', agent: 'cebox' },
          ...r,
        }),
        [release('w360-core-4.2.1', W360, '4.2.1'), release('w360-core-4.3.0', W360, '4.3.0', ['stable']), release('cebox-2.1.0', 'cebox', '2.1.0')],
      ) as DesiredInput<GovKind>;
    case 'Domain':
      return input(
        desired('Domain', 'print-paris', {
          release: 'watchdoc-6.1.4',
          master: { name: 'wd-master', update: 'Manual' },
          slaves: [{ name: 'wd-lille', sync: 'mailbox' }, { name: 'wd-nantes', sync: 'mailbox' }],
          ...r,
        }),
        [release('watchdoc-6.1.3', WD, '6.1.3'), release('watchdoc-6.1.4', WD, '6.1.4')],
      ) as DesiredInput<GovKind>;
    case 'HACluster':
      return input(
        desired('HACluster', 'ums-prod', {
          release: 'igel-ums-12.08.110',
          servers: [{ name: 'ums-1' }, { name: 'ums-2' }, { name: 'ums-3' }],
          loadBalancers: [{ name: 'ums-lb-1' }],
          consoles: [{ name: 'ums-console' }],
          preflight: { maxClockSkewSeconds: 60, backup: 'Command', orphanCheck: true },
          ...r,
        }),
        [release('igel-ums-12.07.100', UMS, UMS_OLD), release('igel-ums-12.08.110', UMS, UMS_NEW)],
      ) as DesiredInput<GovKind>;
  }
}

export function targetOf(kind: GovKind): string {
  return targetId(kind, kind === 'Account' ? 'acme' : kind === 'Domain' ? 'print-paris' : 'ums-prod');
}

/**
 * A reconciler that wants exactly `work` sent now (runnable plan steps, in order), members
 * `Updating` when they get a command, else `Pending`; phase Progressing.
 */
export function fakeReconciler(kind: GovKind, work: readonly SynthWork[], phase: Phase = 'Progressing'): Reconciler<GovKind> {
  return (_desired, _observed, previous, now) => result(kind, work, phase, previous?.conditions, now);
}

export function result(kind: GovKind, work: readonly SynthWork[], phase: Phase = 'Progressing', previous?: Parameters<typeof conditionsFor>[3], now = 0): ReconcileResult {
  const t = targetOf(kind) as ReturnType<typeof targetId>;
  const version = VERSION[kind];
  const commands: Command[] = work.map((w) => ({
    id: commandId(t, w.member, w.action, version),
    target: t,
    member: w.member,
    agent: w.member,
    action: w.action,
    delivery: 'mailbox',
    version,
  }));
  const plan: PlanStep[] = work.map((w) => ({ target: t, member: w.member, action: w.action, version, runnable: true }));
  const busy = new Set(work.map((w) => w.member));
  const members: MemberStatus[] = MEMBERS[kind].map((m) => ({
    name: m.name,
    agent: m.name,
    role: m.role,
    desired: version,
    state: m.state ?? (busy.has(m.name) ? 'Updating' : 'Pending'),
  }));
  return {
    commands,
    plan,
    status: {
      target: t,
      phase,
      conditions: conditionsFor(phase, phase === 'Converged' ? 'Converged' : 'Progress', 'inner', previous, now),
      observedRevision: null,
      summary: 'inner',
      members,
    },
    ...(phase === 'Progressing' ? { requeueAfter: 30_000 } : {}),
  };
}
