import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsObject, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { CHANNEL_TYPES } from '@herald/domain';

export class WebhookPreviewDto {
  @ApiProperty({ enum: CHANNEL_TYPES })
  @IsIn(CHANNEL_TYPES as unknown as string[], { message: `type must be one of: ${CHANNEL_TYPES.join(', ')}` })
  type: string;

  @ApiPropertyOptional({
    description:
      "The webhook URL as typed, checked against the type's host allow-list like a create; it decides the Teams format (Workflows or connector). Absent: the saved webhook's (webhookId), or the type's usual form (Teams: Workflows).",
  })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({
    description:
      'A saved webhook of the project, of this type: its URL, signing secret and language are used where the request gives none (Feishu and Lark sign inside the body)',
  })
  @IsOptional()
  @IsUUID('all', { message: 'webhookId must be a webhook id (a UUID)' })
  webhookId?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string' },
    nullable: true,
    description: "Message text per event type (Liquid), as on a webhook; the event's type picks one. Absent or null: the built-in message.",
    example: { 'deployment.create': '{{ rollout.title }} by {{ actor.name | default: "DevLake" }}' },
  })
  @IsOptional()
  @IsObject({ message: 'templates must be an object from event type to Liquid text, or null for none' })
  templates?: Record<string, string> | null;

  @ApiPropertyOptional({ enum: ['en', 'zh'], description: "Message language; default: the saved webhook's, else zh for DingTalk and en elsewhere" })
  @IsOptional()
  @IsIn(['en', 'zh'])
  locale?: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'An event as POST /v1/projects/{key}/events takes it (only type is required; level and title default as intake sets them). Nothing is stored or sent.',
    example: { type: 'deployment.create', rollout: { title: 'deploy 1a2b3c to PRODUCTION', environment: 'PRODUCTION' }, actor: { name: 'Ann' } },
  })
  @IsObject({ message: 'event must be a JSON object: an event as POST /v1/projects/{key}/events takes it' })
  event: Record<string, unknown>;
}

export class WebhookPreviewResultDto {
  @ApiProperty({
    description: 'The exact request body a delivery of this event would send (JSON text). Custom webhooks: the signed event, whatever the templates.',
  })
  body: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description:
      "Why the event type's template could not be used: the body is then the built-in message, as a delivery would send it. Null when it rendered, or when there is none.",
  })
  templateError: string | null;
}
