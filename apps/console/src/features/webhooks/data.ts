import { useQuery } from '@tanstack/react-query';
import type { Webhook } from '@herald/sdk';
import { api, unwrap } from '../../api/client';

/** Every webhook of the project (a project has few; pages of 100 are followed to the end). */
export function useWebhooks(key: string) {
  return useQuery({
    queryKey: ['project', key, 'webhooks'],
    queryFn: async () => {
      const all: Webhook[] = [];
      let cursor: string | undefined;
      for (let i = 0; i < 50; i++) {
        const page = await unwrap(api.GET('/v1/projects/{key}/webhooks', { params: { path: { key }, query: { limit: 100, cursor } } }));
        all.push(...page.items);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      return all;
    },
  });
}

export function useImStatus() {
  return useQuery({ queryKey: ['im-status'], queryFn: () => unwrap(api.GET('/v1/integrations/im')) });
}
