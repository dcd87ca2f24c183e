import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { createHeraldClient, unwrap, type components } from '@herald/sdk';
import { api, currentToken, setToken } from './client';

export type SessionInfo = components['schemas']['SessionDto'];

interface SessionState {
  session: SessionInfo | null;
  /** Why the user was signed out, shown on the sign-in page. */
  notice: string | null;
  restoring: boolean;
  signIn(token: string, keepInTab: boolean): Promise<SessionInfo>;
  signOut(notice?: string): void;
  isAdmin: boolean;
}

const SessionContext = createContext<SessionState | null>(null);

/** Checks a token with GET /v1/session before keeping it. */
export async function whoIs(token: string): Promise<SessionInfo> {
  const probe = createHeraldClient({ baseUrl: window.location.origin, token });
  return unwrap(probe.GET('/v1/session'));
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [restoring, setRestoring] = useState(() => currentToken() !== null);

  useEffect(() => {
    if (!currentToken()) return;
    unwrap(api.GET('/v1/session'))
      .then(setSession, () => setToken(null))
      .finally(() => setRestoring(false));
  }, []);

  const signIn = useCallback(
    async (token: string, keepInTab: boolean) => {
      const info = await whoIs(token);
      setToken(token, keepInTab);
      queryClient.clear();
      setNotice(null);
      setSession(info);
      return info;
    },
    [queryClient],
  );

  const signOut = useCallback(
    (why?: string) => {
      setToken(null);
      queryClient.clear();
      setSession(null);
      setNotice(why ?? null);
    },
    [queryClient],
  );

  const value = useMemo(
    () => ({ session, notice, restoring, signIn, signOut, isAdmin: session?.kind === 'admin' }),
    [session, notice, restoring, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession outside SessionProvider');
  return state;
}

/** Why a project API key may not do something (docs/contract.md §2), shown next to the disabled control. */
export const ADMIN_ONLY = {
  projects: 'Only the admin token can create or delete projects; you are signed in with a project API key.',
  apiKeys: 'Only the admin token can create or revoke API keys; you are signed in with a project API key.',
  im: 'IM integrations are workspace-wide: only the admin token can see or change them.',
};
