import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiResponse, ApiTags } from '@nestjs/swagger';
import { DM_PROVIDERS } from '@herald/channels';
import { ImIntegrationRepository } from '@herald/persistence';

export class ImStatusDto {
  @ApiProperty({ enum: DM_PROVIDERS }) provider: string;
  @ApiProperty({ description: 'Whether credentials are stored, so direct messages can be sent' }) configured: boolean;
  @ApiProperty({ type: String, nullable: true }) updatedAt: string | null;
}

export class ImStatusListDto {
  @ApiProperty({ type: [ImStatusDto] }) items: ImStatusDto[];
}

/**
 * Which IM apps are configured, without any credential: a webhook form warns that its direct
 * messages will not go out when its provider's app is missing. Readable with a project key (the
 * settings themselves stay admin-only).
 */
@ApiTags('integrations')
@ApiBearerAuth()
@Controller('v1/integrations/im')
export class ImStatusController {
  constructor(private readonly repo: ImIntegrationRepository) {}

  @Get()
  @ApiOperation({ summary: 'Which IM apps (for direct messages) are configured; no credentials, any caller' })
  @ApiResponse({ status: 200, type: ImStatusListDto })
  async list(): Promise<ImStatusListDto> {
    const found = await Promise.all(DM_PROVIDERS.map((p) => this.repo.get(p)));
    return { items: DM_PROVIDERS.map((provider, i) => ({ provider, configured: found[i] !== null, updatedAt: found[i]?.updatedAt.toISOString() ?? null })) };
  }
}
