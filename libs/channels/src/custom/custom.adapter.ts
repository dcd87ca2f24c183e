import { Webhook } from 'standardwebhooks';
import { ValidationFailed, type HeraldEvent } from '@herald/domain';
import { newSigningSecret } from '@herald/platform';
import type { ChannelAdapter, ChannelResponse, ChannelTarget, Classification, PreparedRequest, RenderContext } from '../channel-adapter';
import { classifyStatus, parseJson } from '../classify';
import { checkUrlAgainstAllowList } from '../http/target-policy';
import { safeLink } from '../render/link';
import { localizedTitle } from '../render/message';

const WHSEC = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/**
 * Custom HTTP endpoints: the seed's JSON keys (docs/contract.md §7.3) signed with Standard Webhooks (docs/contract.md §6.5),
 * so receivers can verify with any Standard Webhooks library.
 */
export const customAdapter: ChannelAdapter = {
  type: 'custom',
  defaultRateLimit: null,
  defaultLocale: 'en',
  newSecret: newSigningSecret,

  validateSecret(secret) {
    const match = WHSEC.exec(secret);
    const bytes = match ? Buffer.from(match[1], 'base64').length : 0;
    if (bytes < 24 || bytes > 64) {
      throw new ValidationFailed([{ field: 'secret', message: 'secret must be whsec_ followed by 24 to 64 bytes in base64 (omit it to get a generated one)' }]);
    }
  },

  validateUrl(url, extraHosts) {
    checkUrlAgainstAllowList(url, 'custom', null, extraHosts);
  },

  render(event, target, context) {
    const body = JSON.stringify(customPayload(event, context));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Herald-Webhooks/1',
      'webhook-id': context.deliveryId,
      'webhook-timestamp': String(Math.floor(context.now.getTime() / 1000)),
    };
    const secrets = [target.secret, target.previousSecret].filter((s): s is string => !!s);
    if (secrets.length) {
      headers['webhook-signature'] = secrets.map((s) => new Webhook(s).sign(context.deliveryId, context.now, body)).join(' ');
    }
    return { url: target.url, method: 'POST', headers, body } satisfies PreparedRequest;
  },

  classify(response: ChannelResponse): Classification {
    const byStatus = classifyStatus(response);
    if (byStatus) return byStatus;
    // A JSON answer with a `code` key reports the receiver's own verdict: 0 is success.
    const json = parseJson(response.body) as { code?: unknown; message?: unknown } | undefined;
    if (json && typeof json === 'object' && !Array.isArray(json) && 'code' in json && json.code !== 0 && json.code !== '0') {
      return { kind: 'retryable', reason: `receiver answered code ${JSON.stringify(json.code)}: ${String(json.message ?? '')}`.trim() };
    }
    return { kind: 'delivered' };
  },
};

/**
 * The seed's keys plus `event_id`, and no others (docs/contract.md §7.3). Texts go as the producer wrote them,
 * except a blank title (the catalogue's, docs/contract.md §4.2) and a link that is not an absolute http(s) URL
 * (an empty string, as for no link; one that is goes percent-encoded like on every channel).
 */
export function customPayload(event: HeraldEvent, context: Pick<RenderContext, 'project'>) {
  const issue = event.issue
    ? {
        id: event.issue.id ?? null,
        name: event.issue.name ?? '',
        status: event.issue.status ?? '',
        type: event.issue.type ?? '',
        description: event.issue.description ?? '',
      }
    : null;
  return {
    level: event.level,
    activity_type: event.type,
    title: event.title?.trim() ? event.title : localizedTitle(event, 'en'),
    description: event.description ?? '',
    link: safeLink(event.link) ?? '',
    creator_id: event.actor?.id ?? null,
    creator_name: event.actor?.name ?? '',
    created_ts: Math.floor(Date.parse(event.occurredAt) / 1000),
    issue,
    project: { id: context.project.id, name: context.project.name },
    event_id: event.id,
  };
}

export type { ChannelTarget };
