/**
 * The reasons the Domain reconciler sets (seed 000, Watchdoc WSC) beyond the common ones,
 * each mapped once to its category, phase and requeue. The common reasons (package check,
 * failures, `MemberAhead`, `ObservationMissing`, …) keep their meaning from the engine.
 */
import {
  COMMON_REASONS,
  defineReasons,
  mergeCatalogues,
  progressReason,
  REQUEUE,
  stalledReason,
  waitingReason,
  type ReasonCatalogue,
} from '../engine/index.ts';

/** Requeue delays (ms). Waiting for a person is polled slowly and never escalates. */
export const DOMAIN_REQUEUE = {
  verifyingPackage: REQUEUE.verifyingPackage,
  serverUnreachable: 30_000,
  progressing: REQUEUE.progressing,
  waitingForMaster: REQUEUE.waiting,
  byHand: REQUEUE.waiting,
} as const;

export const DOMAIN_REASONS = defineReasons({
  ReleaseNotPropagatable: stalledReason(
    'Blocked',
    'the release is below Watchdoc 6.1, which has no propagation: name a release 6.1 or later, or update by hand',
  ),
  ServerUnreachable: waitingReason(
    'a server of the domain is offline or never reported: nothing is propagated or applied until all are reachable',
    DOMAIN_REQUEUE.serverUnreachable,
  ),
  WaitingForMaster: waitingReason(
    'the master is updated first (by hand by default): the slaves wait for it',
    DOMAIN_REQUEUE.waitingForMaster,
  ),
  UpdatingMaster: progressReason('the controller stages and applies the release on the master (update: Controller)'),
  PropagationUnsupported: waitingReason(
    'a slave runs Watchdoc below 6.1 and cannot receive a propagation: it is updated by hand; the domain waits',
    DOMAIN_REQUEUE.byHand,
  ),
  Propagating: progressReason('the package is propagated to the slaves (stage: downloaded, verified, not installed)'),
  WaitingForPropagation: waitingReason(
    'apply waits until every slave that needs the release holds the verified package',
    DOMAIN_REQUEUE.progressing,
  ),
  Applying: progressReason('the propagated package is being applied (installed) on the slaves'),
});

export type DomainReason = keyof typeof DOMAIN_REASONS | keyof typeof COMMON_REASONS;

export const DOMAIN_CATALOGUE: ReasonCatalogue = mergeCatalogues(COMMON_REASONS, DOMAIN_REASONS);
