/**
 * The web pages' two static files, read once when the module loads and kept in memory: they
 * are small, and serving them from memory means no file-system path is ever built from a
 * request. Each page links them with `?v=` and the first 12 hex digits of their sha256, so a
 * browser may cache them for good (`immutable`) and still gets a new file after an upgrade.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  /** A strong validator: the quoted version (`"0123456789ab"`). */
  readonly etag: string;
  /** First 12 hex digits of the body's sha256: the `?v=` query of the links. */
  readonly version: string;
  /** The body gzipped once, for browsers that accept it. */
  readonly gzip: Buffer;
}

function load(file: string, contentType: string): Asset {
  const body = readFileSync(fileURLToPath(new URL(`../assets/${file}`, import.meta.url)));
  const version = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { body, contentType, etag: `"${version}"`, version, gzip: gzipSync(body, { level: 9 }) };
}

/** Keyed by the path the pages link (`/assets/style.css`, `/assets/live.js`), without the query. */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  ['/assets/style.css', load('style.css', 'text/css; charset=utf-8')],
  ['/assets/live.js', load('live.js', 'text/javascript; charset=utf-8')],
]);

export function assetVersion(path: string): string {
  const asset = ASSETS.get(path);
  if (asset === undefined) throw new Error(`no asset ${path}`);
  return asset.version;
}

/** The link a page uses: the path with its `?v=` version. */
export function assetUrl(path: string): string {
  return `${path}?v=${assetVersion(path)}`;
}
