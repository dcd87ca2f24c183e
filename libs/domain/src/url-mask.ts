/**
 * A webhook URL is a credential (the token is in the path or query), so reads show only the
 * scheme, the host and the last four characters.
 */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const tail = url.length > 4 ? url.slice(-4) : '';
    return `${parsed.protocol}//${parsed.host}/…${tail}`;
  } catch {
    return '…';
  }
}
