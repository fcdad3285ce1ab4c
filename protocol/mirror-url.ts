/**
 * Where to download a release's package from. A Release names the vendor's URL; an
 * installation without access to it (air-gapped sites, the embedded demo) gives a mirror
 * base, and `https://download.igel.example/igel-ums/12.08.110/x.pkg` is fetched from
 * `<mirror>/download.igel.example/igel-ums/12.08.110/x.pkg` — the layout `wget --mirror`
 * produces. The package is verified against the Release's sha256 and signature either way,
 * so a mirror is never trusted for content.
 *
 * Used by the controller (which verifies each package before any step uses it) and by the
 * reference agent (which verifies again before it stages and applies).
 */
export function mirroredUrl(url: string, mirror: string | undefined): string {
  if (mirror === undefined || mirror === '') return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url; // not a URL: the download reports it
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return url;
  const base = mirror.endsWith('/') ? mirror.slice(0, -1) : mirror;
  return `${base}/${parsed.host}${parsed.pathname}${parsed.search}`;
}
