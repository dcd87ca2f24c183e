import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsDate, IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { ATTEMPT_OUTCOMES, DELIVERY_STATUSES, EVENT_LEVELS, EVENT_TYPES, readRfc3339 } from '@herald/domain';
import { PageQueryDto } from '../dto-helpers';

/**
 * A date-time query parameter, read as a Date. JavaScript's Date parser reads almost anything
 * (`since=1` is 2001, a date without a zone is local time), so only RFC 3339 becomes a Date and
 * anything else fails validation with a 400 naming the parameter.
 */
export const Rfc3339Param = () =>
  applyDecorators(
    Transform(({ value }: { value: unknown }) => {
      const date = readRfc3339(value);
      return date instanceof Date ? date : value;
    }),
    // A literal + in a query string arrives as a space, hence the hint.
    IsDate({
      message: '$property must be an RFC 3339 date-time with an offset or Z in the years 0001-9999, such as 2024-01-01T00:00:00Z (write + as %2B in a URL)',
    }),
  );

export class EventQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: EVENT_TYPES })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  type?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'RFC 3339; received at or after' })
  @IsOptional()
  @Rfc3339Param()
  since?: Date;

  @ApiPropertyOptional({ format: 'date-time', description: 'RFC 3339; received before' })
  @IsOptional()
  @Rfc3339Param()
  until?: Date;
}

export class DeliveryQueryDto extends PageQueryDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID('all', { message: 'webhookId must be a webhook id (UUID)' })
  webhookId?: string;

  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES as unknown as string[])
  status?: (typeof DELIVERY_STATUSES)[number];

  @ApiPropertyOptional({ enum: EVENT_TYPES })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  eventType?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'RFC 3339; created at or after' })
  @IsOptional()
  @Rfc3339Param()
  since?: Date;
}

export class AttemptDigestDto {
  @ApiProperty({ description: 'The delivery whose attempt sent the digest (this one, for the leader)' }) deliveryId: string;
  @ApiProperty({ description: "That delivery's attempt number" }) attempt: number;
  @ApiProperty({ description: 'How many deliveries the message carried' }) items: number;
}

export class AttemptDto {
  @ApiProperty() number: number;
  @ApiProperty() startedAt: string;
  @ApiProperty() durationMs: number;
  @ApiProperty({ type: Number, nullable: true }) statusCode: number | null;
  @ApiProperty({ enum: ATTEMPT_OUTCOMES }) outcome: string;
  @ApiProperty({ type: String, nullable: true }) error: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The first 1 KiB of the response body' }) responseBody: string | null;
  @ApiProperty({ description: 'How many consecutive answers this entry stands for: 429s that used no attempt share one entry, which describes the latest' })
  repeats: number;
  @ApiProperty({ type: String, nullable: true, description: 'When the latest of `repeats` started (null for a single answer)' }) lastStartedAt: string | null;
  @ApiProperty({
    type: AttemptDigestDto,
    nullable: true,
    description: 'When this attempt was one message carrying several deliveries (a digest, issue 16): which',
  })
  digest: AttemptDigestDto | null;
}

export class DeliveryDto {
  @ApiProperty({ description: 'Also the webhook-id header of every attempt' }) id: string;
  @ApiProperty() eventId: string;
  @ApiProperty() webhookId: string;
  @ApiProperty({ enum: EVENT_TYPES }) eventType: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status: string;
  @ApiProperty() attemptCount: number;
  @ApiProperty({ type: String, nullable: true }) nextAttemptAt: string | null;
  @ApiProperty() createdAt: string;
  @ApiProperty({ type: String, nullable: true }) deliveredAt: string | null;
  @ApiProperty({ type: String, nullable: true }) lastError: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'What it is about (issue:<id>, deployment:<id>, rollout:<id>) when its webhook orders by subject; deliveries of one subject go in acceptance order',
  })
  subject: string | null;
}

export class DeliveryDetailDto extends DeliveryDto {
  @ApiProperty({ type: [AttemptDto] }) attempts: AttemptDto[];
}

export class DeliveryPageDto {
  @ApiProperty({ type: [DeliveryDto] }) items: DeliveryDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class StoredEventDto {
  @ApiProperty() id: string;
  @ApiProperty() projectKey: string;
  @ApiProperty({ enum: EVENT_TYPES }) type: string;
  @ApiProperty({ enum: EVENT_LEVELS }) level: string;
  @ApiProperty() title: string;
  @ApiProperty({ type: String, nullable: true }) description: string | null;
  @ApiProperty({ type: String, nullable: true }) link: string | null;
  @ApiProperty({ type: Object, nullable: true, description: '{id, name, email}' }) actor: unknown;
  @ApiProperty({ type: Object, nullable: true, description: '{id, key, name, status, type, description, creator {name, email}}' }) issue: unknown;
  @ApiProperty({ type: Object, nullable: true, description: '{name, status}' }) stage: unknown;
  @ApiProperty({ type: Object, nullable: true, description: '{name, status}' }) task: unknown;
  @ApiProperty({ type: Object, nullable: true, description: '{id, title, environment}' }) rollout: unknown;
  @ApiProperty({ type: Object, nullable: true, description: '{text}' }) comment: unknown;
  @ApiProperty({ type: Object, nullable: true }) deployment: unknown;
  @ApiProperty({ type: Object, isArray: true, nullable: true, description: '[{email, name, phone}]' }) mentions: unknown;
  @ApiProperty({ enum: ['api', 'devlake'] }) source: string;
  @ApiProperty() occurredAt: string;
  @ApiProperty() receivedAt: string;
  [field: string]: unknown;
}

export class StoredEventDetailDto extends StoredEventDto {
  @ApiProperty({ type: [DeliveryDto] }) deliveries: DeliveryDto[];
}

export class EventPageDto {
  @ApiProperty({ type: [StoredEventDto] }) items: StoredEventDto[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
