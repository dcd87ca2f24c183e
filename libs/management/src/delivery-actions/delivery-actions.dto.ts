import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsOptional } from 'class-validator';

export class RecoverDto {
  @ApiProperty({ description: 'RFC 3339; replays failed and dead deliveries created at or after this time' })
  @Type(() => Date)
  @IsDate({ message: 'since must be an RFC 3339 date-time' })
  since!: Date;

  @ApiPropertyOptional({ description: 'RFC 3339; created before this time (default: now)' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'until must be an RFC 3339 date-time' })
  until?: Date;
}

export class RecoverResultDto {
  @ApiProperty({ description: 'Deliveries queued for a new attempt chain' }) queued!: number;
}

export class ReplayResultDto {
  @ApiProperty() id!: string;
  @ApiProperty({ description: 'Always pending: the new attempt chain is queued' }) status!: 'pending';
  @ApiProperty({ description: 'Which attempt chain this is (1 = first replay)' }) replay!: number;
}

export class TestResultDto {
  @ApiProperty() ok!: boolean;
  @ApiPropertyOptional({ description: 'The HTTP status the endpoint answered, when it answered' }) statusCode?: number;
  @ApiProperty() durationMs!: number;
  @ApiPropertyOptional({ description: 'Why it failed; names the host, never the stored URL' }) error?: string;
  @ApiPropertyOptional({ description: 'The first 1 KiB of the response body, when the endpoint answered' }) responseBody?: string;
}
