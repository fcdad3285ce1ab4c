import type { Finding } from '../diagnostics.ts';
import { at, type PolicyRule } from './context.ts';

/** Names are unique per kind: status files, work queue keys and commit subjects use `kind/name`. */
export const uniqueNames: PolicyRule = ({ objects }) => {
  const first = new Map<string, string>();
  const out: Finding[] = [];
  for (const obj of objects) {
    const key = `${obj.kind}/${obj.metadata.name}`;
    const firstPath = first.get(key);
    if (firstPath === undefined) first.set(key, obj.source.path);
    else out.push({ code: 'DUPLICATE_NAME', data: { kind: obj.kind, name: obj.metadata.name, firstPath }, ...at(obj, ['metadata', 'name']) });
  }
  return out;
};
