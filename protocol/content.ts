/**
 * Content files held by a console or a distribution server, with their digests, per content
 * set (`facts.content` of `schemas/agent-report.schema.json`, seed 002): what a sync copies
 * and what the controller compares.
 */
export interface ContentFile {
  readonly path: string;
  readonly sha256: string;
}

/** Files per content set; `all` (in a DistributionServer's spec) is the union of the two. */
export interface ContentInventory {
  readonly 'engines-definitions'?: readonly ContentFile[];
  readonly patches?: readonly ContentFile[];
}
