import type { AnyDesiredObject } from '../../reconcilers/model/desired.ts';
import { targetId, type TargetId } from '../../reconcilers/model/identity.ts';

export interface FieldChange {
  /** `spec.release`, `spec.devices[ws-004].repositoryServer` (list items with a name are keyed by it). */
  readonly field: string;
  /** Absent when the field was added. */
  readonly from?: unknown;
  /** Absent when the field was removed. */
  readonly to?: unknown;
}

export interface TargetChange {
  readonly target: TargetId;
  readonly change: 'added' | 'removed' | 'changed';
  readonly path: string;
  readonly fields: readonly FieldChange[];
}

/**
 * What a revision changes in the desired state compared with a base (the pull request's
 * target branch), per target and field: what a reviewer needs next to the plan.
 */
export function diffDesired(base: readonly AnyDesiredObject[], current: readonly AnyDesiredObject[]): TargetChange[] {
  const before = new Map(base.map((o) => [targetId(o.kind, o.metadata.name), o]));
  const out: TargetChange[] = [];
  for (const o of current) {
    const id = targetId(o.kind, o.metadata.name);
    const old = before.get(id);
    before.delete(id);
    if (!old) {
      out.push({ target: id, change: 'added', path: o.source.path, fields: [] });
      continue;
    }
    if (old === o || old.source.blob === o.source.blob) continue;
    const fields: FieldChange[] = [];
    diffValue('metadata', old.metadata, o.metadata, fields);
    diffValue('spec', old.spec, o.spec, fields);
    if (fields.length > 0) out.push({ target: id, change: 'changed', path: o.source.path, fields });
  }
  for (const [id, o] of before) out.push({ target: id, change: 'removed', path: o.source.path, fields: [] });
  return out.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

function diffValue(field: string, from: unknown, to: unknown, out: FieldChange[]): void {
  if (from === to) return;
  if (from === undefined) {
    out.push({ field, to });
    return;
  }
  if (to === undefined) {
    out.push({ field, from });
    return;
  }
  if (isPlainObject(from) && isPlainObject(to)) {
    for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) diffValue(`${field}.${key}`, from[key], to[key], out);
    return;
  }
  if (Array.isArray(from) && Array.isArray(to) && isNamedList(from) && isNamedList(to)) {
    const old = new Map(from.map((item) => [item.name, item]));
    for (const item of to) {
      diffValue(`${field}[${item.name}]`, old.get(item.name), item, out);
      old.delete(item.name);
    }
    for (const [name, item] of old) out.push({ field: `${field}[${name}]`, from: item });
    return;
  }
  if (JSON.stringify(from) !== JSON.stringify(to)) out.push({ field, from, to });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNamedList(list: readonly unknown[]): list is { name: string }[] {
  return list.length > 0 && list.every((i) => isPlainObject(i) && typeof i['name'] === 'string');
}
