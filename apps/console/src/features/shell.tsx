import { useQuery } from '@tanstack/react-query';
import { NavLink, Outlet, useLocation, useMatch, useNavigate } from 'react-router';
import { api, unwrap } from '../api/client';
import { useSession } from '../api/session';

const SECTIONS = [
  ['overview', 'Overview'],
  ['webhooks', 'Webhooks'],
  ['deliveries', 'Deliveries'],
  ['events', 'Events'],
  ['connections', 'Incoming webhooks'],
  ['dora', 'DORA'],
  ['admin', 'Admin'],
] as const;

export function useProjects() {
  return useQuery({ queryKey: ['projects'], queryFn: () => unwrap(api.GET('/v1/projects', { params: { query: { limit: 100 } } })) });
}

export function Shell() {
  const { session, signOut, isAdmin } = useSession();
  const match = useMatch('/p/:key/*');
  const key = match?.params.key;
  const section = match?.params['*']?.split('/')[0] ?? 'overview';
  const navigate = useNavigate();
  const location = useLocation();
  const projects = useProjects();
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Herald</span>
        <nav aria-label="Workspace">
          {isAdmin && (
            <NavLink to="/projects" className={({ isActive }) => (isActive ? 'active' : undefined)}>
              Projects
            </NavLink>
          )}
        </nav>
        <div className="project-switch">
          {isAdmin ? (
            <>
              <label htmlFor="project-switch">Project</label>
              <select id="project-switch" value={key ?? ''} onChange={(e) => navigate(e.target.value ? `/p/${e.target.value}/${section}` : '/projects')}>
                <option value="">Choose a project…</option>
                {projects.data?.items.map((p) => (
                  <option key={p.key} value={p.key}>
                    {p.name} ({p.key})
                  </option>
                ))}
              </select>
            </>
          ) : (
            <span title="A project API key reaches only its own project">
              Project: <strong>{session?.project?.name}</strong> ({session?.project?.key})
            </span>
          )}
        </div>
        <span className="who">{isAdmin ? 'Admin token' : 'Project API key'}</span>
        <button type="button" className="secondary small" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      {key && (
        <nav className="sections" aria-label="Project">
          {SECTIONS.map(([path, label]) => (
            <NavLink key={path} to={`/p/${key}/${path}`} className={({ isActive }) => (isActive ? 'active' : undefined)}>
              {label}
            </NavLink>
          ))}
        </nav>
      )}
      <main id="main" tabIndex={-1} key={location.pathname.split('/').slice(0, 4).join('/')}>
        <Outlet />
      </main>
    </div>
  );
}
