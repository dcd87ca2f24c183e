import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DM_PROVIDERS, imApiDefaults, imDeclaration, maskImCredentials, parseImIntegration, requireDmProvider, type DmProvider } from '@herald/channels';
import { Forbidden, NotFound } from '@herald/domain';
import { ImIntegrationRepository } from '@herald/persistence';
import { CurrentPrincipal, HeraldConfig, SecretBox, secretContext, type Principal } from '@herald/platform';

export class ImIntegrationDto {
  @ApiProperty({ enum: DM_PROVIDERS }) provider: DmProvider;
  @ApiProperty({
    description: 'The credential fields: identifiers in full, secrets masked (`****` and their last 4 characters, or only `****` below 12 characters)',
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }] },
  })
  settings: Record<string, string | number>;
  @ApiProperty({ type: String, nullable: true, description: "The integration's own API base (a self-hosted platform, a proxy); null: `defaultApiBaseUrl`" })
  apiBaseUrl: string | null;
  @ApiProperty({ description: "The API base used while `apiBaseUrl` is null: the deployment's HERALD_*_API_URL, else the public API" })
  defaultApiBaseUrl: string;
  @ApiProperty() createdAt: string;
  @ApiProperty() updatedAt: string;
}

const API_BASE_URL_DOC =
  "Optional: the provider's API at another address (a self-hosted platform, a proxy), instead of the deployment's default. " +
  'https only (http for HERALD_EXTRA_ALLOWED_HOSTS); no private, loopback or link-local address unless HERALD_ALLOW_PRIVATE_TARGETS; no query. ' +
  'Absent, null or empty: the default. DingTalk: one address serving both the api and the oapi paths.';

/** One body schema per provider, from the adapters' declarations. */
const PUT_BODY_SCHEMAS = DM_PROVIDERS.map((provider) => {
  const fields = imDeclaration(provider).credentialFields;
  return {
    title: provider,
    type: 'object' as const,
    required: fields.map((f) => f.name),
    additionalProperties: false,
    properties: {
      ...Object.fromEntries(
        fields.map((f) => [
          f.name,
          f.type === 'integer' ? { type: 'integer', minimum: 1, description: f.label } : { type: 'string', maxLength: 1024, description: f.label },
        ]),
      ),
      apiBaseUrl: { type: 'string', nullable: true, format: 'uri', maxLength: 2048, description: API_BASE_URL_DOC },
    },
  };
});

/**
 * IM integrations (docs/channels.md#direct-messages): workspace-wide credentials for direct
 * messages, like Bytebase's IM settings. They reach every project, so only the admin token may read
 * or change them. Providers and their fields are the channel adapters' IM declarations.
 */
@ApiTags('integrations')
@ApiBearerAuth()
@Controller('v1/integrations/im')
export class IntegrationsController {
  private readonly defaults: ReturnType<typeof imApiDefaults>;

  constructor(
    private readonly repo: ImIntegrationRepository,
    private readonly secrets: SecretBox,
    private readonly config: HeraldConfig,
  ) {
    this.defaults = imApiDefaults(config.env ?? {});
  }

  @Put(':provider')
  @ApiOperation({
    summary: `Store an IM app (${DM_PROVIDERS.map(
      (p) =>
        `${p} {${imDeclaration(p)
          .credentialFields.map((f) => f.name)
          .join(', ')}}`,
    ).join(', ')}; each with an optional apiBaseUrl); admin only`,
  })
  @ApiParam({ name: 'provider', enum: DM_PROVIDERS })
  @ApiBody({ schema: { oneOf: PUT_BODY_SCHEMAS } })
  @ApiResponse({ status: 200, type: ImIntegrationDto })
  @ApiResponse({ status: 400, description: 'An unknown provider (the message lists the allowed ones), or bad fields, each named' })
  async put(@CurrentPrincipal() principal: Principal, @Param('provider') provider: string, @Body() body: unknown): Promise<ImIntegrationDto> {
    const p = this.provider(principal, provider);
    const { credentials, apiBaseUrl } = parseImIntegration(p, body, this.config);
    const saved = await this.repo.upsert(p, this.secrets.encrypt(JSON.stringify(credentials), secretContext.imCredentials(p)), apiBaseUrl);
    return this.present(p, credentials, saved.apiBaseUrl, saved.createdAt, saved.updatedAt);
  }

  @Get(':provider')
  @ApiParam({ name: 'provider', enum: DM_PROVIDERS })
  @ApiResponse({ status: 200, type: ImIntegrationDto })
  async get(@CurrentPrincipal() principal: Principal, @Param('provider') provider: string): Promise<ImIntegrationDto> {
    const p = this.provider(principal, provider);
    const found = await this.repo.get(p);
    if (!found) throw new NotFound(`no ${p} IM integration is configured`);
    return this.present(
      p,
      JSON.parse(this.secrets.decrypt(found.credentialsEncrypted, secretContext.imCredentials(p))),
      found.apiBaseUrl,
      found.createdAt,
      found.updatedAt,
    );
  }

  @Delete(':provider')
  @ApiParam({ name: 'provider', enum: DM_PROVIDERS })
  @HttpCode(204)
  async remove(@CurrentPrincipal() principal: Principal, @Param('provider') provider: string): Promise<void> {
    const p = this.provider(principal, provider);
    if (!(await this.repo.delete(p))) throw new NotFound(`no ${p} IM integration is configured`);
  }

  private provider(principal: Principal, provider: string): DmProvider {
    if (principal.kind !== 'admin') throw new Forbidden('IM integrations are workspace-wide: use the admin token');
    return requireDmProvider(provider);
  }

  private present(provider: DmProvider, credentials: Record<string, unknown>, apiBaseUrl: string | null, createdAt: Date, updatedAt: Date): ImIntegrationDto {
    return {
      provider,
      settings: maskImCredentials(provider, credentials),
      apiBaseUrl,
      defaultApiBaseUrl: this.defaults.get(provider)?.api ?? imDeclaration(provider).defaultApiBaseUrl.api.url,
      createdAt: createdAt.toISOString(),
      updatedAt: updatedAt.toISOString(),
    };
  }
}
