import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DM_PROVIDERS, isDmProvider, maskImCredentials, parseImCredentials, type DmProvider } from '@herald/channels';
import { Forbidden, NotFound, ValidationFailed } from '@herald/domain';
import { ImIntegrationRepository } from '@herald/persistence';
import { CurrentPrincipal, SecretBox, secretContext, type Principal } from '@herald/platform';

export interface ImIntegrationDto {
  provider: DmProvider;
  /** Identifiers in full, secrets masked (last 4 characters). */
  settings: Record<string, string | number>;
  createdAt: string;
  updatedAt: string;
}

/**
 * IM integrations (SPEC §3): workspace-wide credentials for direct messages, like Bytebase's IM
 * settings. They reach every project, so only the admin token may read or change them.
 */
@ApiTags('integrations')
@ApiBearerAuth()
@Controller('v1/integrations/im')
export class IntegrationsController {
  constructor(private readonly repo: ImIntegrationRepository, private readonly secrets: SecretBox) {}

  @Put(':provider')
  @ApiOperation({ summary: 'Store an IM app (slack {token}, feishu/lark {appId, appSecret}, wecom {corpId, agentId, secret}, dingtalk {clientId, clientSecret, robotCode}); admin only' })
  async put(@CurrentPrincipal() principal: Principal, @Param('provider') provider: string, @Body() body: unknown): Promise<ImIntegrationDto> {
    const p = this.provider(principal, provider);
    const credentials = parseImCredentials(p, body);
    const saved = await this.repo.upsert(p, this.secrets.encrypt(JSON.stringify(credentials), secretContext.imCredentials(p)));
    return this.present(p, credentials, saved.createdAt, saved.updatedAt);
  }

  @Get(':provider')
  async get(@CurrentPrincipal() principal: Principal, @Param('provider') provider: string): Promise<ImIntegrationDto> {
    const p = this.provider(principal, provider);
    const found = await this.repo.get(p);
    if (!found) throw new NotFound(`no ${p} IM integration is configured`);
    return this.present(p, JSON.parse(this.secrets.decrypt(found.credentialsEncrypted, secretContext.imCredentials(p))), found.createdAt, found.updatedAt);
  }

  @Delete(':provider')
  @HttpCode(204)
  async remove(@CurrentPrincipal() principal: Principal, @Param('provider') provider: string): Promise<void> {
    const p = this.provider(principal, provider);
    if (!(await this.repo.delete(p))) throw new NotFound(`no ${p} IM integration is configured`);
  }

  private provider(principal: Principal, provider: string): DmProvider {
    if (principal.kind !== 'admin') throw new Forbidden('IM integrations are workspace-wide: use the admin token');
    if (!isDmProvider(provider)) throw new ValidationFailed([{ field: 'provider', message: `provider must be one of: ${DM_PROVIDERS.join(', ')}` }]);
    return provider;
  }

  private present(provider: DmProvider, credentials: Record<string, unknown>, createdAt: Date, updatedAt: Date): ImIntegrationDto {
    return { provider, settings: maskImCredentials(credentials), createdAt: createdAt.toISOString(), updatedAt: updatedAt.toISOString() };
  }
}
