import { Injectable } from '@nestjs/common';
import { ImApiError, ImClients, ImHttp, parseImCredentials, type DmProvider } from '@herald/channels';
import { NotFound, ValidationFailed } from '@herald/domain';
import { ImIntegrationRepository } from '@herald/persistence';
import { HeraldConfig, SecretBox, secretContext } from '@herald/platform';

export interface ImTestResult {
  ok: boolean;
  /** Whether the provider knows the recipient (only when ok). */
  found: boolean | null;
  message: string;
}

/**
 * Checks a stored IM app against its provider without messaging anyone: the provider issues a
 * token for the credentials (or accepts the bot token) and looks the recipient up, the first two
 * steps of every direct message (docs/contract.md §7.4).
 */
@Injectable()
export class ImTester {
  private readonly clients: ImClients;

  constructor(
    private readonly repo: ImIntegrationRepository,
    private readonly secrets: SecretBox,
    config: HeraldConfig,
  ) {
    // Its own clients and token caches: a test must not reuse a token issued for other credentials.
    this.clients = new ImClients(new ImHttp(config), config);
  }

  async test(provider: DmProvider, recipient: string): Promise<ImTestResult> {
    const stored = await this.repo.find(provider);
    if (!stored) throw new NotFound(`no ${provider} IM integration is configured`);
    const client = this.clients.get(provider, stored.apiBaseUrl);
    const key = client.userKey({ email: recipient, phone: recipient, name: recipient });
    if (!key) {
      throw new ValidationFailed([
        {
          field: 'recipient',
          message: provider === 'dingtalk' ? 'recipient must be a mobile number (DingTalk finds users by mobile)' : 'recipient must be an email address',
        },
      ]);
    }
    const credentials = parseImCredentials(provider, JSON.parse(this.secrets.decrypt(stored.credentialsEncrypted, secretContext.imCredentials(provider))));
    try {
      const found = (await client.lookup(credentials, [key])).get(key);
      return found
        ? { ok: true, found: true, message: `the ${provider} app works: ${recipient} would get direct messages` }
        : { ok: true, found: false, message: `the ${provider} app works, but it finds no user ${recipient}: they would get the channel post instead` };
    } catch (err) {
      if (!(err instanceof ImApiError)) throw err;
      return { ok: false, found: null, message: `the ${provider} app does not work: ${err.message}` };
    }
  }
}
