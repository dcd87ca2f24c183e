import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiProperty, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { DM_PROVIDERS, imDeclaration, requireDmProvider } from '@herald/channels';
import { ImIntegrationRepository } from '@herald/persistence';
import { AdminOnly } from '@herald/platform';
import { ImTester } from './im-test';

export class ImCredentialFieldDto {
  @ApiProperty({ description: 'The key in the PUT body' }) name: string;
  @ApiProperty({ description: 'What a form calls it' }) label: string;
  @ApiProperty({ description: 'Masked on read; a form should not echo it' }) secret: boolean;
  @ApiProperty({ enum: ['string', 'integer'] }) type: 'string' | 'integer';
}

export class ImStatusDto {
  @ApiProperty({ enum: DM_PROVIDERS }) provider: string;
  @ApiProperty({ description: 'Whether credentials are stored, so direct messages can be sent' }) configured: boolean;
  @ApiProperty({ type: String, nullable: true }) updatedAt: string | null;
  @ApiProperty({ type: [ImCredentialFieldDto], description: "The provider's settings for PUT /v1/integrations/im/{provider}, besides the optional apiBaseUrl" })
  credentialFields: ImCredentialFieldDto[];
}

export class ImStatusListDto {
  @ApiProperty({ type: [ImStatusDto] }) items: ImStatusDto[];
}

export class ImTestDto {
  @ApiProperty({ description: 'Who to look up: an email address (a mobile number for DingTalk). Nobody is messaged.', example: 'ann@example.com' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(320)
  recipient: string;
}

export class ImTestResultDto {
  @ApiProperty({ description: 'The provider accepted the credentials' }) ok: boolean;
  @ApiPropertyOptional({ type: Boolean, nullable: true, description: 'The provider knows the recipient (null when the credentials failed)' }) found:
    boolean | null;
  @ApiProperty() message: string;
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
  constructor(
    private readonly repo: ImIntegrationRepository,
    private readonly tester: ImTester,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Which IM apps (for direct messages) exist, with the settings each takes, and which are configured; no credentials, any caller' })
  @ApiResponse({ status: 200, type: ImStatusListDto })
  async list(): Promise<ImStatusListDto> {
    const found = await Promise.all(DM_PROVIDERS.map((p) => this.repo.get(p)));
    return {
      items: DM_PROVIDERS.map((provider, i) => ({
        provider,
        configured: found[i] !== null,
        updatedAt: found[i]?.updatedAt.toISOString() ?? null,
        credentialFields: imDeclaration(provider).credentialFields.map((f) => ({ name: f.name, label: f.label, secret: f.secret, type: f.type ?? 'string' })),
      })),
    };
  }

  @Post(':provider/test')
  @ApiParam({ name: 'provider', enum: DM_PROVIDERS })
  @HttpCode(200)
  @AdminOnly('test IM integrations (they are workspace-wide)')
  @ApiOperation({ summary: 'Check a stored IM app with its provider: get a token and look one recipient up; nobody is messaged (admin only)' })
  @ApiResponse({ status: 200, type: ImTestResultDto })
  async test(@Param('provider') provider: string, @Body() body: ImTestDto): Promise<ImTestResultDto> {
    return this.tester.test(requireDmProvider(provider), body.recipient.trim());
  }
}
