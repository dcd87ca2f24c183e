import { ValidationFailed, type FieldProblem } from '@herald/domain';

/** Webhook types whose IM app can message users directly (SPEC §7). */
export const DM_PROVIDERS = ['slack', 'feishu', 'lark', 'wecom', 'dingtalk'] as const;
export type DmProvider = (typeof DM_PROVIDERS)[number];

export function isDmProvider(value: unknown): value is DmProvider {
  return typeof value === 'string' && (DM_PROVIDERS as readonly string[]).includes(value);
}

/** Workspace-wide IM app credentials (SPEC §3), one set per provider. */
export interface ImCredentialsByProvider {
  slack: { token: string };
  feishu: { appId: string; appSecret: string };
  lark: { appId: string; appSecret: string };
  wecom: { corpId: string; agentId: number; secret: string };
  dingtalk: { clientId: string; clientSecret: string; robotCode: string };
}
export type ImCredentials = ImCredentialsByProvider[DmProvider];

const FIELDS: Record<DmProvider, string[]> = {
  slack: ['token'],
  feishu: ['appId', 'appSecret'],
  lark: ['appId', 'appSecret'],
  wecom: ['corpId', 'agentId', 'secret'],
  dingtalk: ['clientId', 'clientSecret', 'robotCode'],
};

/** Fields shown in full by GET; the others are secrets and are masked. */
export const PUBLIC_FIELDS: ReadonlySet<string> = new Set(['appId', 'corpId', 'agentId', 'clientId', 'robotCode']);

/** Validates a PUT body; every problem names its field. */
export function parseImCredentials<P extends DmProvider>(provider: P, raw: unknown): ImCredentialsByProvider[P] {
  const body = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const problems: FieldProblem[] = [];
  const out: Record<string, string | number> = {};
  for (const field of FIELDS[provider]) {
    const value = body[field];
    if (field === 'agentId') {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n) || n <= 0) problems.push({ field, message: 'agentId must be the WeCom app AgentId, a positive integer' });
      else out[field] = n;
      continue;
    }
    if (typeof value !== 'string' || value.trim() === '') problems.push({ field, message: `${field} is required for ${provider}` });
    else if (value.length > 1024) problems.push({ field, message: `${field} must be at most 1024 characters` });
    else out[field] = value.trim();
  }
  for (const key of Object.keys(body)) if (!FIELDS[provider].includes(key)) problems.push({ field: key, message: `${key} is not a ${provider} setting (expected ${FIELDS[provider].join(', ')})` });
  if (provider === 'slack' && typeof out.token === 'string' && !out.token.startsWith('xoxb-')) {
    problems.push({ field: 'token', message: 'token must be the Bot User OAuth Token (xoxb-...)' });
  }
  if (problems.length) throw new ValidationFailed(problems);
  return out as unknown as ImCredentialsByProvider[P];
}

/** Below this length the last 4 characters would give away too much of a secret: nothing is shown. */
export const MASK_MIN_CHARS = 12;

/** For reads: identifiers in full, secrets as `****` plus their last 4 characters (only `****` when short). */
export function maskImCredentials(credentials: Record<string, unknown>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(credentials)) {
    const text = String(value);
    if (PUBLIC_FIELDS.has(key)) out[key] = value as string | number;
    else out[key] = text.length < MASK_MIN_CHARS ? '****' : `****${text.slice(-4)}`;
  }
  return out;
}

/** Where stored IM credentials come from (persistence implements it; bound by the app). */
export interface ImIntegrationSource {
  /** The provider's credentials as stored (encrypted JSON), or null when not configured. */
  findEncrypted(provider: DmProvider): Promise<string | null>;
}
export const IM_INTEGRATION_SOURCE = Symbol('IM_INTEGRATION_SOURCE');

/**
 * Which users a delivery has messaged (persistence implements it with a unique
 * (delivery_id, provider, user_key) key). A user is claimed before the send and marked sent after
 * it, so a retry — or another worker — never messages the same user twice for one delivery.
 */
export interface DmRecipientLedger {
  /** States recorded for this delivery: `claimed` (a send was started) or `sent`. */
  states(deliveryId: string, provider: DmProvider): Promise<Map<string, 'claimed' | 'sent'>>;
  /** Claims users; returns those this call claimed (a user already claimed is not returned). */
  claim(deliveryId: string, provider: DmProvider, userKeys: string[]): Promise<string[]>;
  markSent(deliveryId: string, provider: DmProvider, userKeys: string[]): Promise<void>;
  /** Gives claims back after a send that certainly failed, so a later attempt may try again. */
  release(deliveryId: string, provider: DmProvider, userKeys: string[]): Promise<void>;
}
export const DM_RECIPIENT_LEDGER = Symbol('DM_RECIPIENT_LEDGER');
