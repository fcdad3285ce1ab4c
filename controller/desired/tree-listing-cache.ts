import type { SourceEntry } from './source.ts';

/**
 * Listings of Git trees already walked, keyed by folder path and tree id. A tree id names
 * its whole content, so an unchanged folder is never walked again, and it hands back the
 * very same entry objects, which lets the loader find their parsed records without
 * building any key: reloading a revision where one file changed reads only the trees on
 * that file's path.
 *
 * Only listings used by the last two loads are kept (a revision and its base, or the
 * current and the next revision), so a long-running controller does not accumulate one
 * listing per revision it ever saw.
 */
export class TreeListingCache {
  private readonly listings = new Map<string, { entries: readonly SourceEntry[]; used: number }>();
  private generation = 0;

  /** Call once per load, before walking. */
  beginLoad(): void {
    this.generation++;
  }

  get(key: string): readonly SourceEntry[] | undefined {
    const hit = this.listings.get(key);
    if (!hit) return undefined;
    hit.used = this.generation;
    return hit.entries;
  }

  set(key: string, entries: readonly SourceEntry[]): void {
    this.listings.set(key, { entries, used: this.generation });
  }

  /** Drop listings no recent load used. */
  sweep(): void {
    for (const [key, hit] of this.listings) if (hit.used < this.generation - 1) this.listings.delete(key);
  }

  get size(): number {
    return this.listings.size;
  }
}
