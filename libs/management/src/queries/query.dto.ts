import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { ATTEMPT_OUTCOMES, DELIVERY_STATUSES, EVENT_LEVELS, EVENT_TYPES } from '@herald/domain';
import { PageQueryDto } from '../dto-helpers';

export class EventQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: EVENT_TYPES })
  @IsOptional() @IsString() @MaxLength(100)
  type?: string;

  @ApiPropertyOptional({ description: 'RFC 3339; received at or after' })
  @IsOptional() @Type(() => Date) @IsDate({ message: 'since must be an RFC 3339 date-time' })
  since?: Date;

  @ApiPropertyOptional({ description: 'RFC 3339; received before' })
  @IsOptional() @Type(() => Date) @IsDate({ message: 'until must be an RFC 3339 date-time' })
  until?: Date;
}

export class DeliveryQueryDto extends PageQueryDto {
  @ApiPropertyOptional()
  @IsOptional() @IsUUID('all', { message: 'webhookId must be a webhook id (UUID)' })
  webhookId?: string;

  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional() @IsIn(DELIVERY_STATUSES as unknown as string[])
  status?: (typeof DELIVERY_STATUSES)[number];

  @ApiPropertyOptional({ enum: EVENT_TYPES })
  @IsOptional() @IsString() @MaxLength(100)
  eventType?: string;

  @ApiPropertyOptional({ description: 'RFC 3339; created at or after' })
  @IsOptional() @Type(() => Date) @IsDate({ message: 'since must be an RFC 3339 date-time' })
  since?: Date;
}

export class AttemptDto {
  @ApiProperty() number: number;
  @ApiProperty() startedAt: string;
  @ApiProperty() durationMs: number;
  @ApiProperty({ type: Number, nullable: true }) statusCode: number | null;
  @ApiProperty({ enum: ATTEMPT_OUTCOMES }) outcome: string;
  @ApiProperty({ type: String, nullable: true }) error: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'The first 1 KiB of the response body' }) responseBody: string | null;
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
