/**
 * `.versiondignore`: paths outside the kind folders that the loader should not look at for
 * stray YAML (issue 14, item 12). gitignore syntax, the common subset: `#` comments, blank
 * lines, `!` to re-include, a trailing `/` for folders only, a leading or middle `/` to
 * anchor at the top, `*`, `?`, `[…]` and `**`. The last matching line wins, and nothing under
 * an ignored folder is re-included, as in Git. Kind folders are always read, whatever it says.
 */

/** Always skipped: the controller's own status files, and hidden files and folders (tooling such as `.github/`). */
export const DEFAULT_IGNORE = '/status/\n.*\n';

/** The ignore file at the top of the repository. */
export const IGNORE_FILE = '.versiondignore';

/** Bytes of an ignore file read at most; a longer one is read up to there. */
export const MAX_IGNORE_FILE_BYTES = 64 * 1024;

interface Rule {
  readonly negate: boolean;
  readonly dirOnly: boolean;
  readonly regex: RegExp;
}

export class IgnoreRules {
  private constructor(private readonly rules: readonly Rule[]) {}

  static parse(text: string): IgnoreRules {
    const rules: Rule[] = [];
    for (const raw of text.split('\n')) {
      const rule = parseLine(raw.replace(/\r$/, ''));
      if (rule) rules.push(rule);
    }
    return new IgnoreRules(rules);
  }

  /** Whether `path` itself matches (its folders are not looked at: a walk stops at an ignored folder). */
  matches(path: string, isDir: boolean): boolean {
    let ignored = false;
    for (const r of this.rules) {
      if (r.negate !== ignored || (r.dirOnly && !isDir)) continue;
      if (r.regex.test(path)) ignored = !r.negate;
    }
    return ignored;
  }

  /** Whether `path` is ignored, itself or through one of its folders. */
  ignores(path: string, isDir: boolean): boolean {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) if (this.matches(parts.slice(0, i).join('/'), true)) return true;
    return this.matches(path, isDir);
  }
}

function parseLine(line: string): Rule | undefined {
  // Trailing spaces are dropped unless escaped with a backslash.
  let p = line.replace(/(?<!\\)\s+$/, '').replace(/\\(\s)$/, '$1');
  if (p === '' || p.startsWith('#')) return undefined;
  let negate = false;
  if (p.startsWith('!')) {
    negate = true;
    p = p.slice(1);
  } else if (p.startsWith('\\!') || p.startsWith('\\#')) p = p.slice(1);
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.slice(0, -1);
  // A slash at the start or in the middle anchors the pattern at the top; otherwise it
  // matches a name at any depth.
  const anchored = p.includes('/');
  if (p.startsWith('/')) p = p.slice(1);
  if (p === '') return undefined;
  const body = globToRegex(p);
  return { negate, dirOnly, regex: new RegExp(`^${anchored ? '' : '(?:.*/)?'}${body}$`) };
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const atStart = i === 0 || glob[i - 1] === '/';
      const atEnd = i + 2 === glob.length || glob[i + 2] === '/';
      if (atStart && atEnd) {
        // `**/` any folders (or none); a final `**` everything inside.
        if (i + 2 === glob.length) out += '.*';
        else {
          out += '(?:.*/)?';
          i++;
        }
        i++;
        continue;
      }
      out += '[^/]*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) out += '\\[';
      else {
        let set = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
        if (set.startsWith('!')) set = `^${set.slice(1)}`;
        out += `[${set}]`;
        i = close;
      }
    } else if (c === '\\' && i + 1 < glob.length) {
      out += escape(glob[++i]!);
    } else out += escape(c);
  }
  return out;
}

function escape(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
