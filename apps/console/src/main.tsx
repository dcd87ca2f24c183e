import { QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { HeraldApiError } from '@herald/sdk';
import { App } from './app';
import { SessionProvider } from './api/session';
import { unauthorized } from './unauthorized';
import './styles.css';

const queryClient = new QueryClient({
  queryCache: new QueryCache({ onError: (err) => err instanceof HeraldApiError && err.status === 401 && unauthorized() }),
  defaultOptions: {
    queries: { staleTime: 5_000, refetchOnWindowFocus: false, retry: (n, err) => !(err instanceof HeraldApiError && err.status < 500) && n < 2 },
  },
});

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter basename="/console">
        <SessionProvider>
          <App />
        </SessionProvider>
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
