import { lazy, Suspense, useEffect } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { useSession } from './api/session';
import { Shell } from './features/shell';
import { SignIn } from './features/signin';
import { setUnauthorizedHandler } from './unauthorized';

// Screens load on demand, so the first load carries only the shell (issue 14 §4: ≤ 250 kB gzipped).
const Projects = lazy(() => import('./features/projects'));
const Overview = lazy(() => import('./features/overview'));
const Webhooks = lazy(() => import('./features/webhooks/list'));
const WebhookEditor = lazy(() => import('./features/webhooks/editor'));
const Deliveries = lazy(() => import('./features/deliveries/list'));
const Events = lazy(() => import('./features/events'));
const Connections = lazy(() => import('./features/connections'));
const Dora = lazy(() => import('./features/dora'));
const Admin = lazy(() => import('./features/admin'));

export function App() {
  const { session, restoring, signOut } = useSession();
  useEffect(() => setUnauthorizedHandler(() => signOut('Your credentials are no longer accepted (revoked or rotated). Sign in again.')), [signOut]);
  if (restoring) return <p role="status">Restoring your session…</p>;
  if (!session) return <SignIn />;
  const home = session.kind === 'project' && session.project ? `/p/${session.project.key}/overview` : '/projects';
  return (
    <Routes>
      <Route element={<Shell />}>
        <Route path="/projects" element={<Lazy el={<Projects />} />} />
        <Route path="/p/:key/overview" element={<Lazy el={<Overview />} />} />
        <Route path="/p/:key/webhooks" element={<Lazy el={<Webhooks />} />} />
        <Route path="/p/:key/webhooks/new" element={<Lazy el={<WebhookEditor />} />} />
        <Route path="/p/:key/webhooks/:id" element={<Lazy el={<WebhookEditor />} />} />
        <Route path="/p/:key/deliveries" element={<Lazy el={<Deliveries />} />} />
        <Route path="/p/:key/deliveries/:id" element={<Lazy el={<Deliveries />} />} />
        <Route path="/p/:key/events" element={<Lazy el={<Events />} />} />
        <Route path="/p/:key/events/:id" element={<Lazy el={<Events />} />} />
        <Route path="/p/:key/connections" element={<Lazy el={<Connections />} />} />
        <Route path="/p/:key/dora" element={<Lazy el={<Dora />} />} />
        <Route path="/p/:key/admin" element={<Lazy el={<Admin />} />} />
        <Route path="*" element={<Navigate to={home} replace />} />
      </Route>
    </Routes>
  );
}

function Lazy({ el }: { el: React.ReactNode }) {
  return <Suspense fallback={<p role="status">Loading…</p>}>{el}</Suspense>;
}
