/**
 * Reads the import graph of TypeScript/JavaScript sources, to hold a part of the repository to
 * an import boundary (`import-boundary.test.ts`). The sources are parsed with TypeScript's
 * parser, so imports in comments or strings are not taken for real ones, and every form that
 * loads a module counts: `import … from`, `import '…'`, `export … from`, `import type`,
 * `import('…')` and `import('…').T` in types. Relative imports are followed, transitively.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export interface ModuleImport {
  /** The module specifier as written: `../../controller/x.ts`, `pino`, `node:fs`. */
  readonly specifier: string;
  /** 1-based. */
  readonly line: number;
}

/** A rule of the boundary: which modules a file inside it may import. */
export interface Boundary {
  /** Folders (relative to the root, ending in `/`) whose files are inside. */
  readonly folders: readonly string[];
  /** npm packages that may be imported, with their subpaths (`ajv/dist/2020.js`). */
  readonly packages: readonly string[];
}

export interface Violation {
  /** Relative to the root, with `/`. */
  readonly file: string;
  readonly specifier: string;
  readonly line: number;
  readonly why: string;
}

const CODE = /\.(?:ts|mts|js|mjs)$/;

/** The modules `file` imports, in order. */
export function importsOf(file: string): ModuleImport[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: ModuleImport[] = [];
  const add = (node: ts.Node, specifier: ts.Node | undefined): void => {
    if (specifier !== undefined && ts.isStringLiteralLike(specifier)) {
      found.push({ specifier: specifier.text, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every code file under `folder`, recursively. */
export function codeFilesIn(folder: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) out.push(...codeFilesIn(path));
    else if (CODE.test(name)) out.push(path);
  }
  return out.sort();
}

/**
 * Follows the imports of `entries` (absolute paths) and returns every import that leaves the
 * boundary: a file outside its folders, a package not listed, a module that does not resolve.
 * Files outside the boundary are reported where they are imported, not read.
 */
export function boundaryViolations(root: string, entries: readonly string[], boundary: Boundary): Violation[] {
  const name = (path: string): string => relative(root, path).split(sep).join('/');
  const inside = (path: string): boolean => boundary.folders.some((f) => `${name(path)}`.startsWith(f));
  const allowedPackage = (spec: string): boolean =>
    spec.startsWith('node:') || boundary.packages.some((p) => spec === p || spec.startsWith(`${p}/`));
  const violations: Violation[] = [];
  const seen = new Set<string>();
  const queue = [...entries];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const { specifier, line } of importsOf(file)) {
      const at = { file: name(file), specifier, line };
      if (!specifier.startsWith('.')) {
        if (!allowedPackage(specifier)) {
          const allowed = ['node:*', ...boundary.packages].join(', ');
          violations.push({ ...at, why: `the package ${specifier} is not one of ${allowed}` });
        }
        continue;
      }
      const target = resolve(dirname(file), specifier);
      if (!inside(target)) {
        violations.push({ ...at, why: `${name(target)} is outside ${boundary.folders.join(', ')}` });
      } else if (!existsSync(target) || !statSync(target).isFile()) {
        violations.push({ ...at, why: `${name(target)} does not exist` });
      } else if (CODE.test(target)) {
        queue.push(target);
      }
    }
  }
  return violations;
}

/** One line per violation: `agent/reference/cli.ts:15 imports 'pino': the package pino is not …`. */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.file}:${v.line} imports '${v.specifier}': ${v.why}`).join('\n');
}
