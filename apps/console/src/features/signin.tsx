import { useState } from 'react';
import { HeraldApiError } from '@herald/sdk';
import { useSession } from '../api/session';
import { described, Field } from '../components/ui';

export function SignIn() {
  const { signIn, notice } = useSession();
  const [token, setTokenValue] = useState('');
  const [keep, setKeep] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin">
      <h1>Herald console</h1>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await signIn(token.trim(), keep);
          } catch (err) {
            setError(
              err instanceof HeraldApiError && err.status === 401
                ? 'That token is neither the admin token nor a valid project API key.'
                : `Could not sign in: ${(err as Error).message}`,
            );
          } finally {
            setBusy(false);
          }
        }}
      >
        <Field
          id="token"
          label="Admin token or project API key"
          error={error ?? undefined}
          hint="npm start prints the admin token. A project API key (hk_…) reaches its own project only."
        >
          <input
            {...described('token', error ?? undefined, true)}
            type="password"
            autoComplete="current-password"
            required
            value={token}
            onChange={(e) => setTokenValue(e.target.value)}
          />
        </Field>
        <div className="check">
          <input id="keep" type="checkbox" checked={keep} onChange={(e) => setKeep(e.target.checked)} />
          <label htmlFor="keep">Stay signed in in this tab (sessionStorage; closing the tab forgets it)</label>
        </div>
        <button type="submit" className="primary" disabled={busy || !token.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p className="hint">The token is kept in this tab only: never in the address bar or in local storage.</p>
    </main>
  );
}
