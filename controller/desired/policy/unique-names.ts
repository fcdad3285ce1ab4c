import type { AnyDesiredObject } from '../../../reconcilers/model/desired.ts';
import type { Finding } from '../diagnostics.ts';
import { at, type PolicyRule } from './context.ts';

/** Names are unique per kind: status files, work queue keys and commit subjects use `kind/name`. */
export const uniqueNames: PolicyRule = ({ objects }) => {
  const first = new Map<string, AnyDesiredObject>();
  const out: Finding[] = [];
  for (const obj of objects) {
    const key = nameKey(obj);
    const firstObj = first.get(key);
    if (firstObj === undefined) first.set(key, obj);
    else out.push(duplicateName(obj, firstObj));
  }
  return out;
};

/** The key two documents must not share. */
export function nameKey(obj: AnyDesiredObject): string {
  return `${obj.kind}/${obj.metadata.name}`;
}

/** `obj` repeats the name of `first`, which comes earlier in path order (incremental.ts uses it too). */
export function duplicateName(obj: AnyDesiredObject, first: AnyDesiredObject): Finding {
  const data = { kind: obj.kind, name: obj.metadata.name, firstPath: first.source.path };
  return { code: 'DUPLICATE_NAME', data, ...at(obj, ['metadata', 'name']) };
}
