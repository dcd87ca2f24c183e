import { isIP } from 'node:net';
import { ValidationFailed, type FieldProblem } from '@herald/domain';
import { ConfigError, type HeraldConfig } from '@herald/platform';
import { forbiddenAddressRule, hostMatches } from '../http/target-policy';
import { CHANNEL_ADAPTERS, IM_RESERVED_FIELDS } from '../registry';
import { TokenCache } from './caches';
import type { ImClient } from './im-client';
import type { ImHttp } from './im-http';
import type { DmProvider, ImCredentials, ImDeclaration } from './im-types';

/**
 * The IM apps the channel adapters declare (`adapter.im`), in registry order. Everything that lists
 * providers — the integrations API and its OpenAPI enum, the validation of an integration, the
 * clients, the console's form (through `GET /v1/integrations/im`) — reads them from here.
 */
const DECLARATIONS: ReadonlyMap<DmProvider, ImDeclaration> = new Map(CHANNEL_ADAPTERS.flatMap((a) => (a.im ? [[a.type, a.im] as const] : [])));

/** Webhook types whose users can get direct messages: those whose adapter declares an IM app. */
export const DM_PROVIDERS: readonly DmProvider[] = [...DECLARATIONS.keys()];

export function isDmProvider(value: unknown): value is DmProvider {
  return typeof value === 'string' && DECLARATIONS.has(value as DmProvider);
}

/** The provider named by a request, or a 400 on `field` naming the allowed ones. */
export function requireDmProvider(value: string, field = 'provider'): DmProvider {
  if (!isDmProvider(value)) throw new ValidationFailed([{ field, message: `provider "${value}" has no IM app: it must be one of ${DM_PROVIDERS.join(', ')}` }]);
  return value;
}

export function imDeclaration(provider: DmProvider): ImDeclaration {
  const im = DECLARATIONS.get(provider);
  if (!im) throw new Error(`no IM app is declared for "${provider}"`);
  return im;
}

/** Longest `apiBaseUrl` accepted. */
export const API_BASE_URL_MAX_CHARS = 2048;

/** What an integration's `apiBaseUrl` is checked against: the webhooks' SSRF settings. */
export interface ApiBaseUrlPolicy {
  /** HERALD_ALLOW_PRIVATE_TARGETS: private, loopback and link-local addresses allowed, and plain http. */
  allowPrivateTargets: boolean;
  /** HERALD_EXTRA_ALLOWED_HOSTS: hosts that may also use plain http. */
  extraAllowedHosts: readonly string[];
}

/**
 * The problem with an integration's `apiBaseUrl`, or null (docs/channels.md#direct-messages). The
 * SSRF policy of webhook URLs: http(s) only, no credentials in the URL, no private, loopback,
 * link-local or reserved IP address (a host name is checked again when the worker connects, on
 * every address it resolves to) unless HERALD_ALLOW_PRIVATE_TARGETS is set. The app's secrets travel
 * to this address, so plain http is refused unless private targets are allowed or the host is in
 * HERALD_EXTRA_ALLOWED_HOSTS. Paths are appended to it: no query or fragment.
 */
export function apiBaseUrlProblem(raw: string, policy: ApiBaseUrlPolicy): string | null {
  if (raw.length > API_BASE_URL_MAX_CHARS) return `apiBaseUrl must be at most ${API_BASE_URL_MAX_CHARS} characters`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'apiBaseUrl must be an absolute http(s) URL such as https://chat.example.com/api';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `apiBaseUrl scheme "${url.protocol.replace(':', '')}" is not allowed: use https`;
  if (url.username || url.password) return `apiBaseUrl host ${url.hostname}: credentials in the URL are not allowed`;
  if (url.search || url.hash || raw.includes('?') || raw.includes('#')) return 'apiBaseUrl must not have a query or fragment: API paths are appended to it';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.allowPrivateTargets && isIP(host) !== 0) {
    const rule = forbiddenAddressRule(host);
    if (rule) return `apiBaseUrl host ${host} is not allowed: it is a ${rule} address (HERALD_ALLOW_PRIVATE_TARGETS allows it)`;
  }
  if (url.protocol === 'http:' && !policy.allowPrivateTargets && !hostMatches(host, policy.extraAllowedHosts)) {
    return `apiBaseUrl must use https: the app's credentials are sent to it (plain http only for hosts in HERALD_EXTRA_ALLOWED_HOSTS)`;
  }
  return null;
}

/** A base URL as stored and used: trailing slashes removed (paths are appended with their own `/`). */
export function normaliseApiBaseUrl(raw: string): string {
  return raw.trim().replace(/\/+$/, '');
}

/** Validates stored or submitted credentials against the provider's fields; every problem names its field. */
export function parseImCredentials(provider: DmProvider, raw: unknown): ImCredentials {
  const { credentials, problems } = readCredentials(provider, raw, []);
  if (problems.length) throw new ValidationFailed(problems);
  return credentials;
}

/**
 * Validates a `PUT /v1/integrations/im/{provider}` body: the provider's credential fields and an
 * optional `apiBaseUrl` (absent, null or empty: the default API). One 400 names every bad field.
 */
export function parseImIntegration(provider: DmProvider, raw: unknown, policy: ApiBaseUrlPolicy): { credentials: ImCredentials; apiBaseUrl: string | null } {
  const { credentials, problems, body } = readCredentials(provider, raw, IM_RESERVED_FIELDS);
  let apiBaseUrl: string | null = null;
  const base = body.apiBaseUrl;
  if (typeof base === 'string' && base.trim() !== '') {
    const problem = apiBaseUrlProblem(base.trim(), policy);
    if (problem) problems.push({ field: 'apiBaseUrl', message: problem });
    else apiBaseUrl = normaliseApiBaseUrl(base);
  } else if (base !== undefined && base !== null && base !== '') {
    problems.push({ field: 'apiBaseUrl', message: 'apiBaseUrl must be a URL string, or null for the default API' });
  }
  if (problems.length) throw new ValidationFailed(problems);
  return { credentials, apiBaseUrl };
}

function readCredentials(
  provider: DmProvider,
  raw: unknown,
  alsoAllowed: readonly string[],
): { credentials: ImCredentials; problems: FieldProblem[]; body: Record<string, unknown> } {
  const fields = imDeclaration(provider).credentialFields;
  const body = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const problems: FieldProblem[] = [];
  const credentials: ImCredentials = {};
  for (const field of fields) {
    const value = body[field.name];
    if (field.type === 'integer') {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n) || n <= 0) problems.push({ field: field.name, message: field.invalid ?? `${field.name} must be a positive integer` });
      else credentials[field.name] = n;
      continue;
    }
    if (typeof value !== 'string' || value.trim() === '') problems.push({ field: field.name, message: `${field.name} is required for ${provider}` });
    else if (value.length > 1024) problems.push({ field: field.name, message: `${field.name} must be at most 1024 characters` });
    else {
      const problem = field.check?.(value.trim());
      if (problem) problems.push({ field: field.name, message: problem });
      else credentials[field.name] = value.trim();
    }
  }
  const expected = [...fields.map((f) => f.name), ...alsoAllowed];
  for (const key of Object.keys(body)) {
    if (!expected.includes(key)) problems.push({ field: key, message: `${key} is not a ${provider} setting (expected ${expected.join(', ')})` });
  }
  return { credentials, problems, body };
}

/** Below this length the last 4 characters would give away too much of a secret: nothing is shown. */
export const MASK_MIN_CHARS = 12;

/** For reads: identifiers in full, secret fields as `****` plus their last 4 characters (only `****` when short). */
export function maskImCredentials(provider: DmProvider, credentials: Record<string, unknown>): Record<string, string | number> {
  const fields = new Map(imDeclaration(provider).credentialFields.map((f) => [f.name, f]));
  const out: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(credentials)) {
    const text = String(value);
    // A field the declaration no longer lists is treated as a secret.
    if (fields.get(key)?.secret === false) out[key] = value as string | number;
    else out[key] = text.length < MASK_MIN_CHARS ? '****' : `****${text.slice(-4)}`;
  }
  return out;
}

/**
 * Each provider's default API bases for this deployment: the variable a declaration names
 * (HERALD_SLACK_API_URL, …) when set, else the public URL. A variable that is not an http(s) URL
 * stops the app at boot, naming it (ConfigError).
 */
export function imApiDefaults(env: Readonly<Record<string, string | undefined>>): ReadonlyMap<DmProvider, Readonly<Record<string, string>>> {
  const problems: string[] = [];
  const out = new Map<DmProvider, Record<string, string>>();
  for (const [provider, im] of DECLARATIONS) {
    const bases: Record<string, string> = {};
    for (const [name, base] of Object.entries(im.defaultApiBaseUrl)) {
      const raw = env[base.env]?.trim();
      if (!raw) {
        bases[name] = base.url;
        continue;
      }
      let ok = false;
      try {
        ok = ['http:', 'https:'].includes(new URL(raw).protocol);
      } catch {
        ok = false;
      }
      if (ok) bases[name] = normaliseApiBaseUrl(raw);
      else problems.push(`${base.env}=${JSON.stringify(raw.replace(/\/\/[^/@]*@/, '//***@'))} is invalid: expected an http(s) URL such as ${base.url}`);
    }
    out.set(provider, bases);
  }
  if (problems.length) throw new ConfigError(problems);
  return out;
}

/**
 * The IM clients of one owner (the worker's direct messages, the gateway's IM test), one per
 * provider and API base: the default (the deployment's variables) or an integration's own
 * `apiBaseUrl`, which goes through the SSRF guard. Each owner keeps its own tokens.
 */
export class ImClients {
  private readonly defaults: ReadonlyMap<DmProvider, Readonly<Record<string, string>>>;
  private readonly clients = new Map<string, ImClient<ImCredentials>>();

  constructor(
    private readonly http: ImHttp,
    config: Pick<HeraldConfig, 'env'>,
  ) {
    this.defaults = imApiDefaults(config.env ?? {});
  }

  /** The base `provider` uses when its integration sets none (for DingTalk, the `api` one). */
  defaultApiBaseUrl(provider: DmProvider): string {
    return this.defaults.get(provider)?.api ?? imDeclaration(provider).defaultApiBaseUrl.api.url;
  }

  /** The client for `provider` on `apiBaseUrl` (null: the default bases). */
  get(provider: DmProvider, apiBaseUrl: string | null): ImClient<ImCredentials> {
    const key = `${provider}\n${apiBaseUrl ?? ''}`;
    let client = this.clients.get(key);
    if (!client) {
      // Bounded by the integrations stored: one per provider and base in use.
      if (this.clients.size >= 64) {
        this.clients.clear();
      }
      const im = imDeclaration(provider);
      const defaults = this.defaults.get(provider) ?? {};
      const bases = apiBaseUrl === null ? defaults : Object.fromEntries(Object.keys(im.defaultApiBaseUrl).map((name) => [name, apiBaseUrl]));
      // Tokens per client, so per API base too: a token one server issued means nothing to another.
      client = im.createClient({ http: apiBaseUrl === null ? this.http : this.http.guarded, bases, tokens: new TokenCache() });
      this.clients.set(key, client);
    }
    return client;
  }
}
