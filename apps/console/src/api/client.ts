import { createHeraldClient, unwrap } from '@herald/sdk';

/**
 * The signed-in token lives here (memory) and, when the user keeps the tab signed in, in
 * sessionStorage: never in a URL, never in localStorage (docs/contract.md §9).
 */
const STORAGE_KEY = 'herald.console.token';
let token: string | null = readStored();

function readStored(): string | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function currentToken(): string | null {
  return token;
}

export function setToken(next: string | null, keepInTab = true): void {
  token = next;
  try {
    if (next && keepInTab) sessionStorage.setItem(STORAGE_KEY, next);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage unavailable (private mode): memory only
  }
}

export const api = createHeraldClient({ baseUrl: typeof window === 'undefined' ? 'http://localhost' : window.location.origin, token: () => token });
export { unwrap };
